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

use super::expr::functions::TEMPLATE_LINK;
use super::{Kind, Origin, Template, Value};
use crate::source::{SourceFile, Span};

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

/// Every deployment of the template that links a file beside it that `in_run` accepts.
/// `parent` is the template's own file (`source` its text), which relative links are
/// resolved against.
pub fn links_of(
    template: &Template<'_>,
    parent: &Path,
    source: &Arc<SourceFile>,
    in_run: &dyn Fn(&Path) -> bool,
) -> Vec<TemplateLink> {
    let folder = parent.parent().unwrap_or(Path::new(""));
    let mut links = Vec::new();
    for (_, deployment) in template.of_type("Microsoft.Resources/deployments") {
        let Some(link) = deployment.path("properties.templateLink") else {
            continue;
        };
        let relative = link
            .get("relativePath")
            .and_then(|p| p.name_text())
            .or_else(|| link.get("uri").and_then(|u| beside(&u.value())));
        let Some(path) = relative.map(|r| folder.join(relative_path(&r))) else {
            continue;
        };
        if !in_run(&path) {
            continue; // outside the estate: what it is passed does not matter
        }
        let parameters_file = deployment
            .path("properties.parametersLink")
            .and_then(|l| {
                l.get("relativePath")
                    .and_then(|p| p.name_text())
                    .or_else(|| l.get("uri").and_then(|u| beside(&u.value())))
            })
            .map(|p| folder.join(relative_path(&p)));
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

/// A link's path as a relative file path: a leading `/` is still relative (ARM resolves
/// `relativePath` against the parent's location), and `\` separates folders too.
fn relative_path(link: &str) -> PathBuf {
    link.trim_start_matches(['/', '\\'])
        .split(['/', '\\'])
        .filter(|part| !part.is_empty() && *part != ".")
        .collect()
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

/// Freezes a value evaluated in the file `source`: origins without a file are pinned
/// to it.
pub fn freeze(value: &Value, source: &Arc<SourceFile>) -> Frozen {
    freeze_at(value, source, 0)
}

fn freeze_at(value: &Value, source: &Arc<SourceFile>, depth: u32) -> Frozen {
    let list = |items: &[(Rc<str>, Value)]| -> Vec<(String, Frozen)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), freeze_at(v, source, depth + 1)))
            .collect()
    };
    let kind = match &value.kind {
        _ if depth > MAX_DEPTH => FrozenKind::Unknown("the value nests too deeply".into()),
        Kind::Null => FrozenKind::Null,
        Kind::Bool(b) => FrozenKind::Bool(*b),
        Kind::Int(i) => FrozenKind::Int(*i),
        Kind::Float(f) => FrozenKind::Float(*f),
        Kind::Str(s) => FrozenKind::Str(s.to_string()),
        Kind::Placeholder(p) => FrozenKind::Placeholder(p.to_string()),
        Kind::Array(items) => FrozenKind::Array(
            items
                .iter()
                .map(|v| freeze_at(v, source, depth + 1))
                .collect(),
        ),
        Kind::Object(entries) => FrozenKind::Object(list(entries)),
        Kind::Partial { known, rest } => FrozenKind::Partial {
            known: list(known),
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
    use super::relative_path;
    use std::path::PathBuf;

    #[test]
    fn link_paths_are_relative_to_the_parent() {
        assert_eq!(
            relative_path("nested/x.json"),
            PathBuf::from("nested/x.json")
        );
        assert_eq!(
            relative_path("/nested/x.json"),
            PathBuf::from("nested/x.json")
        );
        assert_eq!(relative_path("./a\\b.json"), PathBuf::from("a/b.json"));
        assert_eq!(
            relative_path("../shared/y.json"),
            PathBuf::from("../shared/y.json")
        );
    }
}
