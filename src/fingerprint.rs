//! A finding's fingerprint: what it is about rather than where its lines are — its
//! rule, the resource's type and name, and the JSON path of the value it points at
//! inside the resource. Baselines match findings by it, and SARIF carries it; it sits
//! below both, and below the linter that computes it.

use jsonc_parser::ast::Value as Ast;

use crate::diagnostic::{stable_hash, Diagnostic};
use crate::source::Span;

/// The fingerprint of a finding in a parsed file (`root`), or in a file that did not
/// parse (`None`: then the message stands in for the path), and the JSON pointer of the
/// finding's value (empty without `root`).
pub fn fingerprint_and_pointer(root: Option<&Ast<'_>>, d: &Diagnostic) -> (String, String) {
    match root {
        Some(root) => {
            let path = json_path(root, d.span);
            (fingerprint_at(&path, d), path)
        }
        None => (fingerprint_at(&d.message, d), String::new()),
    }
}

/// The fingerprint of a finding whose value is at the JSON pointer `path` of its file
/// (found while the file was parsed: the estate adds findings after that).
pub fn fingerprint_at(path: &str, d: &Diagnostic) -> String {
    let within = match &d.resource {
        Some(r) => match path.strip_prefix(r.pointer.as_str()) {
            Some(rest) => format!(
                "{}|{}|{}",
                r.full_type.to_ascii_lowercase(),
                r.name.to_ascii_lowercase(),
                rest.to_ascii_lowercase()
            ),
            None => format!("{}|{}|{path}", r.full_type.to_ascii_lowercase(), r.name),
        },
        None => path.to_owned(),
    };
    stable_hash(&[d.rule, &within])
}

/// The JSON pointer of the innermost value or property enclosing `span`.
pub fn json_path(root: &Ast<'_>, span: Span) -> String {
    let mut path = String::new();
    let mut node = root;
    loop {
        // Children are in source order and do not overlap: the only one that can
        // enclose the span is the last that starts at or before it (a binary search,
        // not a scan: a template may hold 200,000 resources).
        let next = match node {
            Ast::Object(o) => {
                let i = o
                    .properties
                    .partition_point(|p| p.range.start <= span.start as usize);
                i.checked_sub(1).and_then(|i| {
                    let p = &o.properties[i];
                    let value = crate::template::span_of(&p.value);
                    let whole = Span::new(p.range.start, p.range.end);
                    whole
                        .encloses(span)
                        .then(|| (p.name.as_str().to_owned(), &p.value, value))
                })
            }
            Ast::Array(a) => {
                let i = a
                    .elements
                    .partition_point(|e| crate::template::span_of(e).start <= span.start);
                i.checked_sub(1).and_then(|i| {
                    let e = &a.elements[i];
                    let value = crate::template::span_of(e);
                    value.encloses(span).then(|| (i.to_string(), e, value))
                })
            }
            _ => None,
        };
        match next {
            Some((token, child, child_span)) => {
                path.push('/');
                path.push_str(&token.replace('~', "~0").replace('/', "~1"));
                if child_span == span || !child_span.encloses(span) {
                    return path;
                }
                node = child;
            }
            None => return path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Level, ResourceInfo};

    fn path_of(text: &str, needle: &str) -> String {
        let root = crate::parse::parse(text).unwrap().unwrap();
        let start = text.find(needle).unwrap();
        json_path(&root, Span::new(start, start + needle.len()))
    }

    #[test]
    fn paths_name_the_value() {
        let text = r#"{"resources": [{"properties": {"a": {"b": "x"}}}]}"#;
        assert_eq!(path_of(text, "\"x\""), "/resources/0/properties/a/b");
        assert_eq!(path_of(text, "{\"b\": \"x\"}"), "/resources/0/properties/a");
    }

    #[test]
    fn fingerprints_ignore_line_shifts_but_not_renames() {
        let finding = |text: &str, name: &str| {
            let root = crate::parse::parse(text).unwrap().unwrap();
            let start = text.find("\"AzureServices\"").unwrap();
            let mut d = Diagnostic::new(Level::Warning, Span::new(start, start + 15), "m");
            d.rule = "STG001";
            d.resource = Some(ResourceInfo {
                full_type: "Microsoft.Storage/storageAccounts".into(),
                name: name.into(),
                pointer: "/resources/0".into(),
            });
            fingerprint_and_pointer(Some(&root), &d).0
        };
        let a = finding(
            r#"{"resources": [{"properties": {"bypass": "AzureServices"}}]}"#,
            "st",
        );
        let b = finding(
            "{\n\n\n  \"resources\": [\n {\n \"properties\": {\"bypass\": \"AzureServices\"}}]}",
            "st",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            finding(
                r#"{"resources": [{"properties": {"bypass": "AzureServices"}}]}"#,
                "other"
            )
        );
    }
}
