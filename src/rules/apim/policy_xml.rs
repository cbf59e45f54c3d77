//! A small reader for API Management policy XML: the elements, their attributes, their
//! text and where they sit. Policies are short and machine-written; this reads tags and
//! text, ignores comments and CDATA, and never fails (bad markup yields what it could read).

/// One element of a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Lowercase element name.
    pub name: String,
    /// Attributes, names lowercased, values with XML entities decoded.
    pub attributes: Vec<(String, String)>,
    /// Names of the enclosing elements, outermost first.
    pub ancestors: Vec<String>,
    /// The index of the parent element in the document's list, if any.
    pub parent: Option<usize>,
    /// Text directly inside the element (entities decoded, trimmed).
    pub text: String,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_inside(&self, name: &str) -> bool {
        self.ancestors.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Every element of `xml`, in document order.
pub fn elements(xml: &str) -> Vec<Element> {
    let mut out: Vec<Element> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        if let Some(&open) = stack.last() {
            let text = decode(rest[..lt].trim());
            if !text.is_empty() {
                let e: &mut Element = &mut out[open];
                e.text.push_str(&text);
            }
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            rest = after.find("]]>").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let Some(gt) = tag_end(rest) else { break };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(pos) = stack.iter().rposition(|&i| out[i].name == name) {
                stack.truncate(pos);
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag
            .split_once(|c: char| c.is_whitespace())
            .unwrap_or((tag, ""));
        let element = Element {
            name: name.to_ascii_lowercase(),
            attributes: attributes(attrs),
            ancestors: stack.iter().map(|&i| out[i].name.clone()).collect(),
            parent: stack.last().copied(),
            text: String::new(),
        };
        out.push(element);
        if !self_closing {
            stack.push(out.len() - 1);
        }
    }
    out
}

/// The end of a tag, skipping `>` inside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn attributes(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].trim().to_ascii_lowercase();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(end) = after[1..].find(q) else { break };
        out.push((name, decode(&after[1..1 + end])));
        rest = after[end + 2..].trim_start();
    }
    out
}

fn decode(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_policy() {
        let xml = r#"<policies><inbound><base /><!-- call storage -->
            <send-request mode="new" response-variable-name="r">
              <set-url>https://st1.blob.core.windows.net/c/b?x=1&amp;y=2</set-url>
              <set-method>GET</set-method>
              <authentication-managed-identity resource="https://storage.azure.com/" />
            </send-request>
            <set-backend-service base-url="https://kv1.vault.azure.net" />
          </inbound></policies>"#;
        let e = elements(xml);
        let auth = e
            .iter()
            .find(|e| e.name == "authentication-managed-identity")
            .unwrap();
        assert!(auth.is_inside("send-request"));
        assert_eq!(
            auth.attribute("resource"),
            Some("https://storage.azure.com/")
        );
        let url = e.iter().find(|e| e.name == "set-url").unwrap();
        assert_eq!(url.text, "https://st1.blob.core.windows.net/c/b?x=1&y=2");
        assert_eq!(e[auth.parent.unwrap()].name, "send-request");
        let backend = e.iter().find(|e| e.name == "set-backend-service").unwrap();
        assert_eq!(
            backend.attribute("base-url"),
            Some("https://kv1.vault.azure.net")
        );
        assert!(elements("<a><b attr='x>y'>").len() == 2);
        assert!(elements("not xml").is_empty());
    }
}
