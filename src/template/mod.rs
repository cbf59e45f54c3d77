//! The template model: which resources a template deploys, with their spans.
//!
//! Resources come from a top-level `resources` array or symbolic-name object
//! (`languageVersion` 2.0), from child `resources` nested in a parent (type and name
//! joined to the parent's), and from inline `properties.template` of
//! `Microsoft.Resources/deployments`, at any depth. Resources marked `existing` and
//! resources whose `condition` is literally `false` are not deployed and not listed.

pub mod value;

use jsonc_parser::ast::{Object, Value as Ast};

use crate::source::Span;
use value::{ast_span, find_prop};
pub use value::{eq_ci, is_expression, Origin, Tri, ValueRef};

/// What kind of ARM document a parsed JSON file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Template,
    Parameters,
    Other,
}

/// Classifies a parsed document by its top-level `$schema` (see `spec/cli.md`).
pub fn classify(root: &Ast<'_>) -> DocumentKind {
    let Ast::Object(obj) = root else {
        return DocumentKind::Other;
    };
    let schema = obj
        .properties
        .iter()
        .find(|p| p.name.as_str() == "$schema")
        .and_then(|p| match &p.value {
            Ast::StringLit(s) => Some(s.value.to_ascii_lowercase()),
            _ => None,
        });
    match schema {
        Some(s) if s.contains("deploymenttemplate.json") => DocumentKind::Template,
        Some(s) if s.contains("deploymentparameters.json") => DocumentKind::Parameters,
        Some(_) => DocumentKind::Other,
        None if find_prop(obj, "contentVersion").is_some()
            && find_prop(obj, "resources").is_some() =>
        {
            DocumentKind::Template
        }
        None => DocumentKind::Other,
    }
}

/// A `copy` loop on a resource.
#[derive(Debug, Clone)]
pub struct CopyLoop<'a> {
    /// The loop's `name`, as written.
    pub name: Option<&'a str>,
    pub count: ValueRef<'a>,
    pub span: Span,
}

/// One resource the template deploys.
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    /// The resource object as written.
    pub object: &'a Object<'a>,
    /// The whole resource value, for property access.
    pub value: ValueRef<'a>,
    /// Full type, e.g. `Microsoft.ServiceBus/namespaces/networkRuleSets`.
    pub full_type: String,
    /// Full name segments, outermost parent first (a nested child's own name is last).
    /// Each is the name as written, which may be an expression.
    pub name_parts: Vec<ValueRef<'a>>,
    /// The symbolic name, in `languageVersion` 2.0 templates.
    pub symbolic_name: Option<&'a str>,
    /// The `apiVersion` as written, when it is a literal.
    pub api_version: Option<&'a str>,
    /// JSON pointer of the resource in the file, e.g. `/resources/2/resources/0`.
    pub pointer: String,
    /// Index (in [`Template::resources`]) of the resource it is nested in, if any.
    pub parent: Option<usize>,
    /// Index of the `Microsoft.Resources/deployments` resource whose inline template
    /// holds this resource; `None` at the top level.
    pub deployment: Option<usize>,
    pub copy: Option<CopyLoop<'a>>,
    /// The `condition`, when present and not literally `true`.
    pub condition: Option<ValueRef<'a>>,
}

impl<'a> Resource<'a> {
    /// The span of the whole resource object.
    pub fn span(&self) -> Span {
        Span::new(self.object.range.start, self.object.range.end)
    }

    pub fn is_type(&self, full_type: &str) -> bool {
        eq_ci(&self.full_type, full_type)
    }

    /// A top-level property of the resource (`properties`, `sku`, `identity`, …).
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.value.get(key)
    }

    /// A property by dotted path from the resource, e.g. `"properties.networkAcls"`.
    pub fn path(&self, dotted: &str) -> Option<ValueRef<'a>> {
        self.value.path(dotted)
    }

    /// The full name joined with `/` when every part is a literal.
    pub fn literal_name(&self) -> Option<String> {
        let parts: Option<Vec<&str>> = self.name_parts.iter().map(|p| p.as_str()).collect();
        parts.map(|p| p.join("/"))
    }

    /// The full name for messages: literal parts as they are, expressions as written.
    pub fn display_name(&self) -> String {
        let parts: Vec<String> = self.name_parts.iter().map(|p| p.written_text()).collect();
        if parts.is_empty() {
            return self.symbolic_name.unwrap_or("(unnamed)").to_owned();
        }
        parts.join("/")
    }
}

/// A parsed deployment template and every resource it deploys.
#[derive(Debug)]
pub struct Template<'a> {
    pub root: &'a Object<'a>,
    /// `languageVersion` is 2.0 or later (compiled Bicep with symbolic names).
    pub symbolic: bool,
    pub resources: Vec<Resource<'a>>,
}

impl<'a> Template<'a> {
    /// Builds the model of a template whose root is `root` (already classified as one).
    pub fn build(root: &'a Object<'a>) -> Template<'a> {
        let mut builder = Builder {
            resources: Vec::new(),
        };
        builder.walk_template(root, "", None);
        Template {
            root,
            symbolic: is_symbolic(root),
            resources: builder.resources,
        }
    }

    /// Resources of a type (case-insensitive).
    pub fn of_type<'t>(
        &'t self,
        full_type: &'t str,
    ) -> impl Iterator<Item = (usize, &'t Resource<'a>)> + 't {
        self.resources
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.is_type(full_type))
    }
}

fn is_symbolic(template: &Object<'_>) -> bool {
    matches!(
        find_prop(template, "resources").map(|p| &p.value),
        Some(Ast::Object(_))
    )
}

struct Builder<'a> {
    resources: Vec<Resource<'a>>,
}

/// A parent's type and name parts, passed down to nested children.
struct ParentInfo<'a> {
    index: usize,
    full_type: String,
    name_parts: Vec<ValueRef<'a>>,
}

impl<'a> Builder<'a> {
    fn walk_template(
        &mut self,
        template: &'a Object<'a>,
        pointer: &str,
        deployment: Option<usize>,
    ) {
        let Some(resources) = find_prop(template, "resources") else {
            return;
        };
        let base = format!("{pointer}/{}", escape_pointer(resources.name.as_str()));
        match &resources.value {
            Ast::Array(arr) => {
                for (i, item) in arr.elements.iter().enumerate() {
                    if let Ast::Object(obj) = item {
                        self.add_resource(item, obj, None, format!("{base}/{i}"), None, deployment);
                    }
                }
            }
            Ast::Object(obj) => {
                for prop in &obj.properties {
                    if let Ast::Object(res) = &prop.value {
                        let symbol = prop.name.as_str();
                        let ptr = format!("{base}/{}", escape_pointer(symbol));
                        self.add_resource(&prop.value, res, Some(symbol), ptr, None, deployment);
                    }
                }
            }
            _ => {}
        }
    }

    fn add_resource(
        &mut self,
        value: &'a Ast<'a>,
        obj: &'a Object<'a>,
        symbolic_name: Option<&'a str>,
        pointer: String,
        parent: Option<&ParentInfo<'a>>,
        deployment: Option<usize>,
    ) {
        if is_literal_true(obj, "existing") {
            return;
        }
        let condition = find_prop(obj, "condition").map(|p| ValueRef::written(&p.value));
        if condition.as_ref().and_then(|c| c.as_bool()) == Some(false) {
            return;
        }
        let condition = condition.filter(|c| c.as_bool() != Some(true));

        let written_type = find_prop(obj, "type")
            .and_then(|p| match &p.value {
                Ast::StringLit(s) => Some(s.value.as_ref()),
                _ => None,
            })
            .unwrap_or("");
        let full_type = match parent {
            Some(p) if !is_full_type(written_type) => format!("{}/{}", p.full_type, written_type),
            _ => written_type.to_owned(),
        };
        let mut name_parts = parent.map(|p| p.name_parts.clone()).unwrap_or_default();
        if let Some(name) = find_prop(obj, "name") {
            name_parts.push(ValueRef::written(&name.value));
        }
        let api_version = find_prop(obj, "apiVersion").and_then(|p| match &p.value {
            Ast::StringLit(s) => Some(s.value.as_ref()),
            _ => None,
        });
        let copy = find_prop(obj, "copy").and_then(|p| match &p.value {
            Ast::Object(c) => Some(CopyLoop {
                name: find_prop(c, "name").and_then(|n| match &n.value {
                    Ast::StringLit(s) => Some(s.value.as_ref()),
                    _ => None,
                }),
                count: find_prop(c, "count")
                    .map(|n| ValueRef::written(&n.value))
                    .unwrap_or_else(|| ValueRef::written(&p.value)),
                span: ast_span(&p.value),
            }),
            _ => None,
        });

        let index = self.resources.len();
        self.resources.push(Resource {
            object: obj,
            value: ValueRef::written(value),
            full_type: full_type.clone(),
            name_parts: name_parts.clone(),
            symbolic_name,
            api_version,
            pointer: pointer.clone(),
            parent: parent.map(|p| p.index),
            deployment,
            copy,
            condition,
        });

        // Children nested in this resource.
        if let Some(children) = find_prop(obj, "resources") {
            if let Ast::Array(arr) = &children.value {
                let info = ParentInfo {
                    index,
                    full_type: full_type.clone(),
                    name_parts,
                };
                let base = format!("{pointer}/{}", escape_pointer(children.name.as_str()));
                for (i, item) in arr.elements.iter().enumerate() {
                    if let Ast::Object(child) = item {
                        self.add_resource(
                            item,
                            child,
                            None,
                            format!("{base}/{i}"),
                            Some(&info),
                            deployment,
                        );
                    }
                }
            }
        }

        // The inline template of a nested deployment.
        if eq_ci(&full_type, "Microsoft.Resources/deployments") {
            if let Some(Ast::Object(props)) = find_prop(obj, "properties").map(|p| &p.value) {
                if let Some(tpl) = find_prop(props, "template") {
                    if let Ast::Object(inner) = &tpl.value {
                        let ptr = format!(
                            "{pointer}/{}/{}",
                            escape_pointer(
                                find_prop(obj, "properties")
                                    .map(|p| p.name.as_str())
                                    .unwrap_or("properties")
                            ),
                            escape_pointer(tpl.name.as_str())
                        );
                        self.walk_template(inner, &ptr, Some(index));
                    }
                }
            }
        }
    }
}

fn is_literal_true(obj: &Object<'_>, key: &str) -> bool {
    matches!(find_prop(obj, key).map(|p| &p.value), Some(Ast::BooleanLit(b)) if b.value)
}

/// A nested child's type is relative (`networkRuleSets`) unless it names a provider
/// namespace (`Microsoft.ServiceBus/namespaces/networkRuleSets`).
fn is_full_type(t: &str) -> bool {
    t.split('/').next().is_some_and(|ns| ns.contains('.')) && t.contains('/')
}

/// Escapes a JSON pointer token (RFC 6901).
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl<'a> Template<'a> {
    /// The resource of type `parent_type` that `child` belongs to, if it is in this
    /// template: the resource it is nested in, the resource its `parent/child` name or
    /// `parent` symbolic reference names, or a resource of that type it depends on by
    /// symbolic name.
    pub fn parent_of(&self, child: &Resource<'a>, parent_type: &str) -> Option<&Resource<'a>> {
        if let Some(p) = child.parent.map(|i| &self.resources[i]) {
            if p.is_type(parent_type) {
                return Some(p);
            }
        }
        let candidates = || self.resources.iter().filter(|r| r.is_type(parent_type));
        if let Some(name) = child.literal_name() {
            if let Some((parent_name, _)) = name.rsplit_once('/') {
                if let Some(p) =
                    candidates().find(|r| r.literal_name().is_some_and(|n| eq_ci(&n, parent_name)))
                {
                    return Some(p);
                }
            }
        }
        let symbols: Vec<&str> = ["parent", "dependsOn"]
            .iter()
            .filter_map(|k| child.get(k))
            .flat_map(|v| v.elements().unwrap_or_else(|| vec![v]))
            .filter_map(|v| v.as_str())
            .collect();
        // `dependsOn` may name a resource by symbolic name or by its plain name.
        candidates().find(|r| {
            r.symbolic_name.is_some_and(|s| symbols.contains(&s))
                || r.literal_name()
                    .is_some_and(|n| symbols.iter().any(|s| eq_ci(s, &n)))
        })
    }
}
