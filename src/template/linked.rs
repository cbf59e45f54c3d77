//! Linked templates: a `Microsoft.Resources/deployments` whose `templateLink` names a
//! file beside the template (`relativePath`, or a `uri` built from
//! `deployment().properties.templateLink.uri`, also through `_artifactsLocation`), and
//! the parameter values the deployment passes to it.
//!
//! The linter evaluates each linked file through the parents that deploy it. Values
//! cross from the parent's evaluation to the child's, which run on different threads:
//! they travel as [`Frozen`] values (owned, `Send`), with their origins pinned to the
//! file they were written in.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use jsonc_parser::ast::{Object, Value as Ast};

use super::expr::functions::TEMPLATE_LINK;
use super::value::find_prop;
use super::{is_expression, Kind, Origin, Template, Value};
use crate::source::{SourceFile, Span};

/// The files a template's deployments may link, read from what is written, without
/// evaluating anything: a `relativePath` string, or the quoted `….json` literals of a
/// `relativePath` or `uri` expression (`uri(parameters('_artifactsLocation'),
/// 'nested/x.json')`). A link built elsewhere (`[variables('templateUri')]`) may name
/// any `….json` the template's variables and parameter defaults write: all of them are
/// candidates. A plain `uri` string
/// is a URL, never a file of the run. Evaluation decides which candidates are linked.
/// `links` are the template's `templateLink` objects ([`super::Survey::links`]).
pub fn candidates(template: &Object<'_>, links: &[&Object<'_>], parent: &Path) -> Vec<PathBuf> {
    if links.is_empty() {
        return Vec::new();
    }
    let folder = parent.parent().unwrap_or(Path::new(""));
    let mut found: Vec<PathBuf> = Vec::new();
    let mut built_elsewhere = false;
    for link in links {
        for key in ["relativePath", "uri"] {
            let Some(value) = find_prop(link, key).map(|p| &p.value) else {
                continue;
            };
            match value {
                Ast::StringLit(s) if is_expression(&s.value) => {
                    let before = found.len();
                    found.extend(quoted_json_files(&s.value).map(|l| beside_folder(folder, l)));
                    built_elsewhere |= found.len() == before;
                }
                Ast::StringLit(s) if key == "relativePath" => {
                    found.push(beside_folder(folder, &s.value));
                }
                Ast::StringLit(_) => {}
                _ => built_elsewhere = true,
            }
        }
    }
    if built_elsewhere {
        // Where link URIs are built: variables and parameter defaults.
        let mut literals = Vec::new();
        for section in ["variables", "parameters"] {
            if let Some(p) = find_prop(template, section) {
                json_literals(&p.value, 0, &mut literals);
            }
        }
        found.extend(literals.into_iter().map(|l| beside_folder(folder, l)));
    }
    found.sort();
    found.dedup();
    found
}

/// Every `….json` the document writes: strings, and quoted literals in expressions.
fn json_literals<'t>(value: &'t Ast<'t>, depth: usize, out: &mut Vec<&'t str>) {
    if depth > 256 {
        return;
    }
    match value {
        Ast::StringLit(s) if is_expression(&s.value) => out.extend(quoted_json_files(&s.value)),
        Ast::StringLit(s) => {
            out.extend(std::iter::once(s.value.as_ref()).filter(|s| is_json_name(s)))
        }
        Ast::Object(o) => o
            .properties
            .iter()
            .for_each(|p| json_literals(&p.value, depth + 1, out)),
        Ast::Array(a) => a
            .elements
            .iter()
            .for_each(|e| json_literals(e, depth + 1, out)),
        _ => {}
    }
}

/// A relative file name ending in `.json` (a URL is never a file of the run).
fn is_json_name(text: &str) -> bool {
    !text.contains("://")
        && text.len() > 5
        && text.is_char_boundary(text.len() - 5)
        && text[text.len() - 5..].eq_ignore_ascii_case(".json")
}

/// The quoted literals of an expression that name a `.json` file (query dropped).
fn quoted_json_files(expression: &str) -> impl Iterator<Item = &str> {
    expression
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(|literal| literal.split(['?', '#']).next().unwrap_or_default())
        .filter(|literal| is_json_name(literal))
}

/// How many deployments of one file a template's links keep (each is an evaluation of
/// the file; the linter caps the total per file too).
pub const MAX_DEPLOYMENTS_PER_FILE: usize = 16;

/// A deployment of a template file beside its parent.
#[derive(Debug, Clone)]
pub struct TemplateLink {
    /// The linked file: the parent's folder joined with the link's relative path.
    pub path: PathBuf,
    /// The values the deployment passes, by parameter name.
    pub parameters: Vec<(String, Frozen)>,
    /// A `parametersLink` to a file beside the parent, when the deployment uses one.
    pub parameters_file: Option<PathBuf>,
}

/// Every deployment of the template that links a file beside it that `in_run` accepts,
/// with the values it passes. `parent` is the template's own file (`source` its text),
/// which relative links are resolved against.
pub fn links_of(
    template: &Template<'_>,
    parent: &Path,
    source: &Arc<SourceFile>,
    in_run: &dyn Fn(&Path) -> bool,
) -> Vec<TemplateLink> {
    let folder = parent.parent().unwrap_or(Path::new(""));
    let mut links = Vec::new();
    // Deployments of each file read so far: past [`MAX_DEPLOYMENTS_PER_FILE`] (a copy
    // loop of 800 deployments), the values are not read.
    let mut per_file: std::collections::HashMap<PathBuf, usize> = Default::default();
    for (_, deployment) in template.of_type("Microsoft.Resources/deployments") {
        let Some(link) = deployment.path("properties.templateLink") else {
            continue;
        };
        let relative = link
            .get("relativePath")
            .and_then(|p| p.name_text())
            .or_else(|| link.get("uri").and_then(|u| beside(&u.value())));
        let Some(path) = relative.map(|r| beside_folder(folder, &r)) else {
            continue;
        };
        if !in_run(&path) {
            continue; // outside the estate: what it is passed does not matter
        }
        let seen = per_file.entry(path.clone()).or_default();
        *seen += 1;
        if *seen > MAX_DEPLOYMENTS_PER_FILE {
            continue;
        }
        let parameters_file = deployment
            .path("properties.parametersLink")
            .and_then(|l| {
                l.get("relativePath")
                    .and_then(|p| p.name_text())
                    .or_else(|| l.get("uri").and_then(|u| beside(&u.value())))
            })
            .map(|p| beside_folder(folder, &p));
        let parameters = deployment
            .path("properties.parameters")
            .map(|p| p.entries())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, definition)| {
                let value = definition.get("value")?.value();
                Some((name, freeze(&value, source)))
            })
            .collect();
        links.push(TemplateLink {
            path,
            parameters,
            parameters_file,
        });
    }
    links
}

/// The path a `uri` names relative to the template's folder, when it was built from
/// `deployment().properties.templateLink.uri`.
fn beside(uri: &Value) -> Option<String> {
    match &uri.kind {
        Kind::Placeholder(p) => p
            .strip_prefix(TEMPLATE_LINK)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_owned),
        _ => None,
    }
}

/// The file a link's relative path names beside the parent's `folder`, spelled as a
/// walk of the folder would spell it: a leading `/` is still relative (ARM resolves
/// `relativePath` against the parent's location), `\\` separates folders too, `.` parts
/// are dropped and `..` climbs out of `folder`.
pub fn beside_folder(folder: &Path, link: &str) -> PathBuf {
    let mut path = folder.to_path_buf();
    for part in link.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." if matches!(
                path.components().next_back(),
                Some(std::path::Component::Normal(_))
            ) =>
            {
                path.pop();
            }
            _ => path.push(part),
        }
    }
    path
}

/// A value that can cross threads: [`Value`] without its `Rc`s.
#[derive(Debug, Clone)]
pub struct Frozen {
    kind: FrozenKind,
    origin: Option<FrozenOrigin>,
}

#[derive(Debug, Clone)]
enum FrozenKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Placeholder(String),
    Array(Vec<Frozen>),
    Object(Vec<(String, Frozen)>),
    Partial {
        known: Vec<(String, Frozen)>,
        rest: String,
    },
    Unknown(String),
}

#[derive(Debug, Clone)]
struct FrozenOrigin {
    span: Span,
    label: String,
    file: Arc<SourceFile>,
}

/// Values nest at most this deep when frozen (deeper parts become unknown).
const MAX_DEPTH: u32 = 64;

/// A frozen value holds at most this many nodes (the rest becomes unknown): values are
/// copied per deployment, and an `Rc`-shared array of 100,000 elements would be copied
/// whole each time.
const MAX_NODES: usize = 20_000;

/// Freezes a value evaluated in the file `source`: origins without a file are pinned
/// to it.
pub fn freeze(value: &Value, source: &Arc<SourceFile>) -> Frozen {
    let mut budget = MAX_NODES;
    freeze_at(value, source, 0, &mut budget)
}

fn freeze_at(value: &Value, source: &Arc<SourceFile>, depth: u32, budget: &mut usize) -> Frozen {
    *budget = budget.saturating_sub(1);
    let list = |items: &[(Rc<str>, Value)], budget: &mut usize| -> Vec<(String, Frozen)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), freeze_at(v, source, depth + 1, budget)))
            .collect()
    };
    let kind = match &value.kind {
        _ if depth > MAX_DEPTH => FrozenKind::Unknown("the value nests too deeply".into()),
        _ if *budget == 0 => FrozenKind::Unknown("the value is too large to pass on".into()),
        Kind::Null => FrozenKind::Null,
        Kind::Bool(b) => FrozenKind::Bool(*b),
        Kind::Int(i) => FrozenKind::Int(*i),
        Kind::Float(f) => FrozenKind::Float(*f),
        Kind::Str(s) => FrozenKind::Str(s.to_string()),
        Kind::Placeholder(p) => FrozenKind::Placeholder(p.to_string()),
        Kind::Array(items) => FrozenKind::Array(
            items
                .iter()
                .map(|v| freeze_at(v, source, depth + 1, budget))
                .collect(),
        ),
        Kind::Object(entries) => FrozenKind::Object(list(entries, budget)),
        Kind::Partial { known, rest } => FrozenKind::Partial {
            known: list(known, budget),
            rest: rest.to_string(),
        },
        Kind::Unknown(reason) => FrozenKind::Unknown(reason.to_string()),
    };
    Frozen {
        kind,
        origin: value.origin.as_ref().map(|o| FrozenOrigin {
            span: o.span,
            label: o.label.to_string(),
            file: o.file.clone().unwrap_or_else(|| source.clone()),
        }),
    }
}

/// The value again, on this thread.
pub fn thaw(frozen: &Frozen) -> Value {
    let list = |items: &[(String, Frozen)]| -> Rc<Vec<(Rc<str>, Value)>> {
        Rc::new(
            items
                .iter()
                .map(|(k, v)| (Rc::from(k.as_str()), thaw(v)))
                .collect(),
        )
    };
    let kind = match &frozen.kind {
        FrozenKind::Null => Kind::Null,
        FrozenKind::Bool(b) => Kind::Bool(*b),
        FrozenKind::Int(i) => Kind::Int(*i),
        FrozenKind::Float(f) => Kind::Float(*f),
        FrozenKind::Str(s) => Kind::Str(Rc::from(s.as_str())),
        FrozenKind::Placeholder(p) => Kind::Placeholder(Rc::from(p.as_str())),
        FrozenKind::Array(items) => Kind::Array(Rc::new(items.iter().map(thaw).collect())),
        FrozenKind::Object(entries) => Kind::Object(list(entries)),
        FrozenKind::Partial { known, rest } => Kind::Partial {
            known: list(known),
            rest: Rc::from(rest.as_str()),
        },
        FrozenKind::Unknown(reason) => Kind::Unknown(Rc::from(reason.as_str())),
    };
    Value {
        kind,
        origin: frozen.origin.as_ref().map(|o| {
            Rc::new(Origin {
                span: o.span,
                label: Rc::from(o.label.as_str()),
                file: Some(o.file.clone()),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::beside_folder;
    use std::path::PathBuf;

    #[test]
    fn candidates_are_read_from_what_is_written() {
        let text = r#"{ "resources": [
            { "type": "Microsoft.Resources/deployments", "properties": { "templateLink": { "relativePath": "/modules/a.json" } } },
            { "type": "Microsoft.Resources/deployments", "properties": { "templateLink": { "uri": "[uri(parameters('_artifactsLocation'), concat('nested/b.json', parameters('sas')))]" } } },
            { "type": "Microsoft.Resources/deployments", "properties": { "templateLink": { "uri": "https://example.com/c.json" } } },
            { "type": "Microsoft.Resources/deployments", "properties": { "templateLink": { "relativePath": "[variables('path')]" } } }
        ] }"#;
        let ast = crate::parse::parse(text).unwrap().unwrap();
        let jsonc_parser::ast::Value::Object(obj) = &ast else {
            unreachable!()
        };
        let links = crate::template::survey(obj, &|_| false).links;
        assert_eq!(
            super::candidates(obj, &links, std::path::Path::new("p/main.json")),
            vec![
                PathBuf::from("p/modules/a.json"),
                PathBuf::from("p/nested/b.json"),
            ]
        );
    }

    #[test]
    fn link_paths_are_relative_to_the_parent() {
        let beside = |link: &str| beside_folder(std::path::Path::new("repo/infra"), link);
        assert_eq!(
            beside("nested/x.json"),
            PathBuf::from("repo/infra/nested/x.json")
        );
        assert_eq!(
            beside("/nested/x.json"),
            PathBuf::from("repo/infra/nested/x.json")
        );
        assert_eq!(beside("./a\\b.json"), PathBuf::from("repo/infra/a/b.json"));
        assert_eq!(
            beside("../shared/y.json"),
            PathBuf::from("repo/shared/y.json")
        );
        assert_eq!(
            beside_folder(std::path::Path::new(".."), "../y.json"),
            PathBuf::from("../../y.json")
        );
    }
}
