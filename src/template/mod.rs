//! The template model: which resources a template deploys, with their spans, evaluated
//! in the environment Azure would evaluate them in.
//!
//! Resources come from a top-level `resources` array or symbolic-name object
//! (`languageVersion` 2.0), from child `resources` nested in a parent (type and name
//! joined to the parent's), and from inline `properties.template` of
//! `Microsoft.Resources/deployments`, at any depth — with `inner` expression scope a
//! new scope whose parameters are bound from the deployment's `parameters`, with
//! `outer` scope (the default) the parent's. Resources that are `existing`, whose
//! `condition` is `false` or whose copy loop has a count of 0 are not deployed and not
//! listed; every instance of a copy loop is listed.

pub mod expr;
pub mod graph;
pub mod linked;
pub mod value;

use std::collections::HashMap;
use std::rc::Rc;

use jsonc_parser::ast::{Object, Value as Ast};

use crate::source::Span;
use expr::eval::copy_count;
use expr::scope::{Binding, Caseless};
pub use expr::{Env, Kind, Origin, Scope, Value};
pub use graph::{endpoint_service, endpoint_targets, same_region};
use value::{ast_span, find_prop};
pub use value::{eq_ci, is_expression, Tri, ValueRef};

/// What kind of ARM document a parsed JSON file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Template,
    Parameters,
    Other,
}

/// Whether `template` declares, anywhere the model reaches (child resources, the inline
/// templates of nested deployments), a resource whose provider namespace (`Microsoft.
/// Storage`) `wanted` accepts, or one whose type is an expression, which only
/// evaluation can read. Read from the document alone: a template that declares nothing
/// any rule is about need not be evaluated.
pub fn declares_namespace(template: &Object<'_>, wanted: &dyn Fn(&str) -> bool) -> bool {
    any_resource(template, &|_, namespace| match namespace {
        Namespace::Expression => true,
        Namespace::Named(n) => wanted(n),
        Namespace::Unknown => false,
    })
}

/// What the linter reads from a template's document before evaluating it, in one walk
/// over its resources (child resources, the inline templates of nested deployments).
pub struct Survey<'t> {
    /// It declares a resource whose provider namespace `wanted` accepts, or one whose
    /// type is an expression, which only evaluation can read (see
    /// [`declares_namespace`]).
    pub declares: bool,
    /// The `properties.templateLink` objects of its deployments, in declaration order.
    pub links: Vec<&'t Object<'t>>,
}

/// Surveys a template's resources: see [`Survey`].
pub fn survey<'t>(template: &'t Object<'t>, wanted: &dyn Fn(&str) -> bool) -> Survey<'t> {
    let declares = std::cell::Cell::new(false);
    let links = std::cell::RefCell::new(Vec::new());
    any_resource(template, &|resource, namespace| {
        let deployment = match namespace {
            Namespace::Named(n) => {
                if !declares.get() && wanted(n) {
                    declares.set(true);
                }
                n.eq_ignore_ascii_case("Microsoft.Resources")
            }
            Namespace::Expression => {
                declares.set(true);
                true
            }
            Namespace::Unknown => false,
        };
        if deployment {
            if let Some(Ast::Object(props)) = find_prop(resource, "properties").map(|p| &p.value) {
                if let Some(Ast::Object(link)) = find_prop(props, "templateLink").map(|l| &l.value)
                {
                    links.borrow_mut().push(link);
                }
            }
        }
        false
    });
    Survey {
        declares: declares.get(),
        links: links.into_inner(),
    }
}

/// A resource's provider namespace as written.
enum Namespace<'t> {
    Named(&'t str),
    /// The type is an expression: only evaluation can read it.
    Expression,
    Unknown,
}

/// Whether `found` holds for any resource the model reaches (child resources, the
/// inline templates of nested deployments), given its provider namespace.
fn any_resource<'t>(
    template: &'t Object<'t>,
    found: &dyn Fn(&'t Object<'t>, Namespace<'t>) -> bool,
) -> bool {
    type Found<'f, 't> = &'f dyn Fn(&'t Object<'t>, Namespace<'t>) -> bool;
    // Nesting is bounded by the parser's depth limit.
    fn any_in<'t>(
        resources: Option<&'t Ast<'t>>,
        parent: Option<&'t str>,
        found: Found<'_, 't>,
    ) -> bool {
        match resources {
            Some(Ast::Array(a)) => a.elements.iter().any(|r| visit(r, parent, found)),
            Some(Ast::Object(o)) => o.properties.iter().any(|p| visit(&p.value, parent, found)),
            _ => false,
        }
    }
    fn visit<'t>(resource: &'t Ast<'t>, parent: Option<&'t str>, found: Found<'_, 't>) -> bool {
        let Ast::Object(r) = resource else {
            return false;
        };
        let (namespace, own) = match find_prop(r, "type").map(|t| &t.value) {
            Some(Ast::StringLit(t)) if is_expression(&t.value) => (parent, Namespace::Expression),
            // `subnets` under its parent; `Microsoft.Network/virtualNetworks/subnets`.
            Some(Ast::StringLit(t)) => match t.value.split_once('/') {
                Some((first, _)) if first.contains('.') => (Some(first), Namespace::Named(first)),
                _ => (parent, parent.map_or(Namespace::Unknown, Namespace::Named)),
            },
            _ => (parent, parent.map_or(Namespace::Unknown, Namespace::Named)),
        };
        if found(r, own)
            || any_in(
                find_prop(r, "resources").map(|p| &p.value),
                namespace,
                found,
            )
        {
            return true;
        }
        let inline = find_prop(r, "properties")
            .and_then(|p| match &p.value {
                Ast::Object(props) => find_prop(props, "template"),
                _ => None,
            })
            .map(|t| &t.value);
        match inline {
            Some(Ast::Object(inner)) => {
                any_in(find_prop(inner, "resources").map(|p| &p.value), None, found)
            }
            _ => false,
        }
    }
    any_in(
        find_prop(template, "resources").map(|p| &p.value),
        None,
        found,
    )
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

/// One instance of a copy loop.
#[derive(Debug, Clone)]
pub struct CopyInstance {
    pub loop_name: Rc<str>,
    pub index: i64,
    /// Why the count could not be evaluated (then only instance 0 is linted).
    pub unknown_count: Option<String>,
}

/// One resource the template deploys (one copy-loop instance of it).
#[derive(Debug, Clone)]
pub struct Resource<'a> {
    /// The resource object as written.
    pub object: &'a Object<'a>,
    /// The whole resource value, for property access.
    pub value: ValueRef<'a>,
    /// Full type, e.g. `Microsoft.ServiceBus/namespaces/networkRuleSets`.
    pub full_type: String,
    /// Full name segments, outermost parent first (a nested child's own name is last),
    /// evaluated when first asked for: most resources' names are never needed.
    pub name_parts: Vec<LazyValue<'a>>,
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
    pub copy: Option<CopyInstance>,
    /// What its deployment still depends on, when the template does not decide it:
    /// its own `condition` or an enclosing deployment's, when they could not be
    /// evaluated, or a parent the template does not deploy.
    pub conditions: Vec<Condition<'a>>,
    /// Its position in [`Template::resources`].
    pub index: usize,
    /// [`Resource::literal_name`] and [`Resource::display_name`], evaluated once.
    literal: std::cell::OnceCell<Option<String>>,
    display: std::cell::OnceCell<String>,
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

    /// The full name joined with `/` when every part is known (deployment-time
    /// placeholders included, so names built from `resourceGroup()` match each other).
    pub fn literal_name(&self) -> Option<String> {
        self.literal_name_ref().map(str::to_owned)
    }

    /// [`Resource::literal_name`] without a copy.
    pub fn literal_name_ref(&self) -> Option<&str> {
        self.literal
            .get_or_init(|| {
                let parts: Option<Vec<String>> = self
                    .name_parts
                    .iter()
                    .map(|p| p.get().name_text())
                    .collect();
                parts.map(|p| p.join("/"))
            })
            .as_deref()
    }

    /// The last segment of the display name (a child's own name), for messages:
    /// `orders` for `apim-contoso/orders`.
    pub fn short_name(&self) -> String {
        let name = self.display_name();
        name.rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// The full name for messages: evaluated where known, expressions as written.
    pub fn display_name(&self) -> String {
        self.display
            .get_or_init(|| match self.name_parts.is_empty() {
                true => self.symbolic_name.unwrap_or("(unnamed)").to_owned(),
                false => display_of(&self.name_parts),
            })
            .clone()
    }
}

/// Something a resource is deployed only if.
#[derive(Clone, Debug)]
pub enum Condition<'a> {
    /// A `condition` (the resource's own, or an enclosing deployment's) that could not
    /// be evaluated: deployed only if it is true.
    Written(ValueRef<'a>),
    /// A nested child whose parent the template does not deploy (its `condition` is
    /// false): ARM still deploys the child, which then needs the parent to exist.
    ParentExists { parent: String },
}

impl Condition<'_> {
    /// How a message says it: "deployed only if …".
    pub fn describe(&self) -> String {
        match self {
            Condition::Written(c) => format!("`{}`", c.written_text()),
            Condition::ParentExists { parent } => {
                format!(
                    "its parent `{parent}`, which this template does not deploy, already exists"
                )
            }
        }
    }
}

/// A value written in the file, evaluated only when asked for (each time: names are
/// short, and most resources' names are never needed).
#[derive(Clone)]
pub struct LazyValue<'a> {
    ast: &'a Ast<'a>,
    env: Env<'a>,
}

impl<'a> LazyValue<'a> {
    pub fn new(ast: &'a Ast<'a>, env: &Env<'a>) -> LazyValue<'a> {
        LazyValue {
            ast,
            env: env.clone(),
        }
    }

    pub fn get(&self) -> ValueRef<'a> {
        ValueRef::new(self.ast, &self.env)
    }
}

impl std::fmt::Debug for LazyValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// A parsed deployment template and every resource it deploys.
pub struct Template<'a> {
    pub root: &'a Object<'a>,
    /// `languageVersion` 2.0 or later (compiled Bicep with symbolic names).
    pub symbolic: bool,
    pub resources: Vec<Resource<'a>>,
    /// Resources by type, built on first use: a short list (a template uses a few
    /// dozen types at most), searched without allocating a lowercase key.
    by_type: std::cell::OnceCell<TypeIndex>,
    /// Lookups by name (which evaluates every name), built on first use.
    by_name: std::cell::OnceCell<NameIndex>,
    /// The private endpoints connecting to each resource, built on first use.
    private_endpoints: std::cell::OnceCell<HashMap<usize, Vec<usize>>>,
    /// What the cross-resource rules derive from the whole template (call lists and
    /// who relies on which target), computed once rather than per finding.
    pub analysis: crate::rules::analysis::Analysis,
}

/// Resources by type: a short list searched without allocating a lowercase key (a
/// template uses a few dozen types), with a map beside it once there are many.
#[derive(Default)]
struct TypeIndex {
    list: Vec<(String, Vec<usize>)>,
    /// Lowercase type → position in `list`, once `list` outgrows [`TypeIndex::SHORT`].
    map: HashMap<String, usize>,
}

impl TypeIndex {
    const SHORT: usize = 32;

    fn position(&self, full_type: &str) -> Option<usize> {
        if self.list.len() <= Self::SHORT {
            self.list.iter().position(|(t, _)| eq_ci(t, full_type))
        } else {
            self.map.get(&full_type.to_ascii_lowercase()).copied()
        }
    }

    fn add(&mut self, full_type: &str, index: usize) {
        if let Some(at) = self.position(full_type) {
            self.list[at].1.push(index);
            return;
        }
        self.list.push((full_type.to_owned(), vec![index]));
        if self.list.len() > Self::SHORT {
            if self.map.is_empty() {
                for (at, (t, _)) in self.list.iter().enumerate() {
                    self.map.entry(t.to_ascii_lowercase()).or_insert(at);
                }
            } else {
                self.map
                    .insert(full_type.to_ascii_lowercase(), self.list.len() - 1);
            }
        }
    }
}

/// Resources by lowercase type and name (the first declared wins, as a scan in
/// declaration order would find), and by lowercase symbolic name.
#[derive(Default)]
struct NameIndex {
    by_type_name: HashMap<(String, String), usize>,
    /// Every resource declared under each symbolic name (nested templates reuse names).
    by_symbol: HashMap<String, Vec<usize>>,
}

impl<'a> Template<'a> {
    /// Builds the model of `root` (already classified as a template), with parameter
    /// values from a parameters file (`given`, by parameter name).
    pub fn build(root: &'a Object<'a>, given: HashMap<String, Value>) -> Template<'a> {
        Template::build_with(root, None, given, None, false)
    }

    /// [`Template::build`] for linting: `source` is the file's text (literals inside
    /// strings with JSON escapes are located through it), and the inline templates of
    /// nested deployments that declare no resource in a provider namespace `wanted`
    /// accepts (see [`declares_namespace`]) are left out: no rule could read anything
    /// in them. Their outputs are still evaluated when `reference()` reads them.
    pub fn build_for(
        root: &'a Object<'a>,
        source: &'a str,
        given: HashMap<String, Value>,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Template<'a> {
        Template::build_with(root, Some(source), given, Some(wanted), false)
    }

    /// [`Template::build_for`] for a document whose strings are never expressions (a
    /// Data Factory git-mode folder read as a template).
    pub fn build_literal(
        root: &'a Object<'a>,
        source: &'a str,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Template<'a> {
        Template::build_with(root, Some(source), HashMap::new(), Some(wanted), true)
    }

    fn build_with(
        root: &'a Object<'a>,
        source: Option<&'a str>,
        given: HashMap<String, Value>,
        wanted: Option<&dyn Fn(&str) -> bool>,
        literal_strings: bool,
    ) -> Template<'a> {
        expr::eval::reset_budget();
        let mut scope = Scope::new(root, Value::placeholder("{deployment().name}"));
        scope.source = source;
        scope.literal_strings = literal_strings;
        // A value for a parameter the template does not declare is left out: Azure
        // rejects such a deployment, and no expression can read it.
        let given: rustc_hash::FxHashMap<Caseless<'_>, &Value> =
            given.iter().map(|(name, v)| (Caseless(name), v)).collect();
        if !given.is_empty() {
            for (name, param) in scope.parameters.iter_mut() {
                if let Some(value) = given.get(name) {
                    let value = match param.type_mismatch(name.0, value, "the parameters file") {
                        Some(reason) => Value::unknown(reason),
                        None => (*value).clone(),
                    };
                    param.bound = Some(Binding::Given(value));
                }
            }
        }
        let scope = Rc::new(scope);
        let mut builder = Builder {
            resources: Vec::new(),
            wanted,
        };
        builder.walk_template(root, "", None, &Env::new(scope));
        Template {
            root,
            symbolic: is_symbolic(root),
            resources: builder.resources,
            by_type: std::cell::OnceCell::new(),
            by_name: std::cell::OnceCell::new(),
            private_endpoints: std::cell::OnceCell::new(),
            analysis: Default::default(),
        }
    }

    fn by_name(&self) -> &NameIndex {
        self.by_name.get_or_init(|| {
            let mut index = NameIndex::default();
            for r in &self.resources {
                if let Some(name) = r.literal_name_ref() {
                    index
                        .by_type_name
                        .entry((r.full_type.to_ascii_lowercase(), name.to_ascii_lowercase()))
                        .or_insert(r.index);
                }
                if let Some(symbol) = r.symbolic_name {
                    index
                        .by_symbol
                        .entry(symbol.to_ascii_lowercase())
                        .or_default()
                        .push(r.index);
                }
            }
            index
        })
    }

    /// Resources of a type (case-insensitive), in declaration order.
    pub fn of_type<'t>(
        &'t self,
        full_type: &'t str,
    ) -> impl Iterator<Item = (usize, &'t Resource<'a>)> + 't {
        let index = self.by_type.get_or_init(|| {
            let mut index = TypeIndex::default();
            for r in &self.resources {
                index.add(&r.full_type, r.index);
            }
            index
        });
        index
            .position(full_type)
            .map(|at| index.list[at].1.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|&i| (i, &self.resources[i]))
    }

    /// The first resource of a type with a name (both compared case-insensitively).
    pub fn named(&self, full_type: &str, name: &str) -> Option<usize> {
        self.by_name()
            .by_type_name
            .get(&(full_type.to_ascii_lowercase(), name.to_ascii_lowercase()))
            .copied()
    }

    /// The resource of type `parent_type` that `child` belongs to, if it is in this
    /// template: the resource it is nested in, the resource its `parent/child` name
    /// names, or a resource of that type its `parent` / `dependsOn` names (by symbolic
    /// name, by plain name, or by resource ID).
    pub fn parent_of(&self, child: &Resource<'a>, parent_type: &str) -> Option<&Resource<'a>> {
        if let Some(p) = child.parent.map(|i| &self.resources[i]) {
            if p.is_type(parent_type) {
                return Some(p);
            }
        }
        if let Some(name) = child.literal_name_ref() {
            if let Some((parent_name, _)) = name.rsplit_once('/') {
                if let Some(i) = self.named(parent_type, parent_name) {
                    return Some(&self.resources[i]);
                }
            }
        }
        let references: Vec<String> = ["parent", "dependsOn"]
            .iter()
            .filter_map(|k| child.get(k))
            .flat_map(|v| v.elements().unwrap_or_else(|| vec![v]))
            .filter_map(|v| v.name_text())
            .collect();
        // The first resource of the type (in declaration order) that a reference names
        // by symbolic name, by name or by resource ID.
        let by_symbol = &self.by_name().by_symbol;
        references
            .iter()
            .filter_map(|reference| {
                let symbol = by_symbol
                    .get(&reference.to_ascii_lowercase())
                    .and_then(|list| {
                        list.iter()
                            .copied()
                            .find(|&i| self.resources[i].is_type(parent_type))
                    });
                let name = self.named(parent_type, reference);
                let id = parse_resource_id(reference)
                    .filter(|(t, _)| eq_ci(t, parent_type))
                    .and_then(|(t, n)| self.named(&t, &n));
                [symbol, name, id].into_iter().flatten().min()
            })
            .min()
            .map(|i| &self.resources[i])
    }
}

/// Splits a resource ID into full type and full name:
/// `/subscriptions/…/providers/Microsoft.X/a/n1/b/n2` → (`Microsoft.X/a/b`, `n1/n2`).
pub fn parse_resource_id(id: &str) -> Option<(String, String)> {
    let at = id.rfind("/providers/")?;
    let segments: Vec<&str> = id[at + "/providers/".len()..].split('/').collect();
    if segments.len() < 3 || segments.len() % 2 == 0 {
        return None;
    }
    let mut ty = vec![segments[0]];
    let mut names = Vec::new();
    for pair in segments[1..].chunks(2) {
        ty.push(pair[0]);
        names.push(pair[1]);
    }
    Some((ty.join("/"), names.join("/")))
}

fn is_symbolic(template: &Object<'_>) -> bool {
    matches!(
        find_prop(template, "resources").map(|p| &p.value),
        Some(Ast::Object(_))
    )
}

struct Builder<'a, 'w> {
    resources: Vec<Resource<'a>>,
    /// Which provider namespaces the inline template of a nested deployment must
    /// declare to be walked (`None`: every one is).
    wanted: Option<&'w dyn Fn(&str) -> bool>,
}

/// Resource instances a template may expand to before further copy loops are checked at
/// instance 0 only (Azure allows 800 per deployment).
const MAX_COPY_INSTANCES: usize = 100_000;

/// Resources a template may hold at all (a million written ones is a 100 MB file);
/// past it, the rest of the template is not modelled.
const MAX_RESOURCES: usize = 1_000_000;

/// A parent's type and name parts, passed down to nested children.
struct ParentInfo<'a> {
    /// `None` when the template declares the parent but does not deploy it.
    index: Option<usize>,
    /// Set when the parent is not deployed: its children need it to exist already.
    absent: Option<Condition<'a>>,
    full_type: String,
    name_parts: Vec<LazyValue<'a>>,
}

/// Where a resource sits, passed down while walking.
struct Place<'p, 'a> {
    symbolic_name: Option<&'a str>,
    pointer: String,
    parent: Option<&'p ParentInfo<'a>>,
    deployment: Option<usize>,
}

impl<'a> Builder<'a, '_> {
    fn walk_template(
        &mut self,
        template: &'a Object<'a>,
        pointer: &str,
        deployment: Option<usize>,
        env: &Env<'a>,
    ) {
        let Some(resources) = find_prop(template, "resources") else {
            return;
        };
        let base = format!("{pointer}/{}", escape_pointer(resources.name.as_str()));
        match &resources.value {
            Ast::Array(arr) => {
                for (i, item) in arr.elements.iter().enumerate() {
                    if let Ast::Object(obj) = item {
                        let place = Place {
                            symbolic_name: None,
                            pointer: format!("{base}/{i}"),
                            parent: None,
                            deployment,
                        };
                        self.add_resource(item, obj, &place, env);
                    }
                }
            }
            Ast::Object(obj) => {
                for prop in &obj.properties {
                    if let Ast::Object(res) = &prop.value {
                        let symbol = prop.name.as_str();
                        let place = Place {
                            symbolic_name: Some(symbol),
                            pointer: format!("{base}/{}", escape_pointer(symbol)),
                            parent: None,
                            deployment,
                        };
                        self.add_resource(&prop.value, res, &place, env);
                    }
                }
            }
            _ => {}
        }
    }

    /// Adds a resource: every instance of its copy loop, unless it is not deployed.
    fn add_resource(
        &mut self,
        value: &'a Ast<'a>,
        obj: &'a Object<'a>,
        place: &Place<'_, 'a>,
        env: &Env<'a>,
    ) {
        if let Some(existing) = find_prop(obj, "existing") {
            if ValueRef::new(&existing.value, env).as_bool() == Some(true) {
                // Not deployed here, but children nested in it are (it exists).
                let (full_type, name_parts) = type_and_name(obj, place, env);
                let info = ParentInfo {
                    index: None,
                    absent: None,
                    full_type,
                    name_parts,
                };
                self.add_children(obj, &info, place, env);
                return;
            }
        }
        let Some(copy) = find_prop(obj, "copy").and_then(|p| match &p.value {
            Ast::Object(c) => Some(c),
            _ => None,
        }) else {
            self.add_instance(value, obj, place, env, None);
            return;
        };
        let loop_name: Rc<str> = match find_prop(copy, "name").map(|n| &n.value) {
            Some(Ast::StringLit(s)) => Rc::from(s.value.as_ref()),
            _ => Rc::from("copy"),
        };
        let count = find_prop(copy, "count").map(|c| ValueRef::new(&c.value, env).value());
        let count = count.as_ref().map(copy_count).map(|n| match n {
            // Copy loops nest (resources, their children, nested deployments): past the
            // budget of instances, a loop is checked at instance 0 only, with the reason.
            Ok(n) if self.resources.len() + n as usize > MAX_COPY_INSTANCES => Err(format!(
                "{}the template expands to more than {MAX_COPY_INSTANCES} resource instances",
                expr::eval::OVER_BUDGET
            )),
            other => other,
        });
        match count {
            Some(Ok(n)) => {
                for i in 0..n {
                    let instance = CopyInstance {
                        loop_name: loop_name.clone(),
                        index: i,
                        unknown_count: None,
                    };
                    self.add_instance(
                        value,
                        obj,
                        place,
                        &env.with_copy(&loop_name, i),
                        Some(instance),
                    );
                }
            }
            // An unknown count: lint instance 0 and say why the others are not known.
            unknown => {
                let reason = match unknown {
                    Some(Err(reason)) => reason,
                    _ => "the copy loop has no `count`".to_owned(),
                };
                let instance = CopyInstance {
                    loop_name: loop_name.clone(),
                    index: 0,
                    unknown_count: Some(reason),
                };
                self.add_instance(
                    value,
                    obj,
                    place,
                    &env.with_copy(&loop_name, 0),
                    Some(instance),
                );
            }
        }
    }

    fn add_instance(
        &mut self,
        value: &'a Ast<'a>,
        obj: &'a Object<'a>,
        place: &Place<'_, 'a>,
        env: &Env<'a>,
        copy: Option<CopyInstance>,
    ) {
        if self.resources.len() >= MAX_RESOURCES {
            return;
        }
        let condition = find_prop(obj, "condition").map(|p| ValueRef::new(&p.value, env));
        let (full_type, name_parts) = type_and_name(obj, place, env);
        if condition.as_ref().and_then(|c| c.as_bool()) == Some(false) {
            // Conditions do not cascade: children nested in a resource that is not
            // deployed still are (and need it to exist); a deployment's inline
            // template is not deployed with it.
            if !eq_ci(&full_type, "Microsoft.Resources/deployments") {
                let parent = display_of(&name_parts);
                let info = ParentInfo {
                    index: None,
                    absent: Some(Condition::ParentExists { parent }),
                    full_type,
                    name_parts,
                };
                self.add_children(obj, &info, place, env);
            }
            return;
        }
        // What deploying it depends on: the enclosing deployment's undecided
        // conditions, a parent this template does not deploy, its own condition.
        let mut conditions: Vec<Condition<'a>> = place
            .deployment
            .map(|d| self.resources[d].conditions.clone())
            .unwrap_or_default();
        conditions.extend(place.parent.and_then(|p| p.absent.clone()));
        conditions.extend(
            condition
                .filter(|c| c.as_bool() != Some(true))
                .map(Condition::Written),
        );
        let api_version = find_prop(obj, "apiVersion").and_then(|p| match &p.value {
            Ast::StringLit(s) => Some(s.value.as_ref()),
            _ => None,
        });

        // A resource of a module in a copy loop is one instance of that loop: its
        // findings are reported once per place, naming the instances.
        let copy = copy.or_else(|| {
            place
                .deployment
                .and_then(|d| self.resources[d].copy.clone())
        });
        let index = self.resources.len();
        self.resources.push(Resource {
            object: obj,
            value: ValueRef::new(value, env),
            full_type: full_type.clone(),
            name_parts: name_parts.clone(),
            symbolic_name: place.symbolic_name,
            api_version,
            pointer: place.pointer.clone(),
            parent: place.parent.and_then(|p| p.index),
            deployment: place.deployment,
            copy,
            conditions,
            index,
            literal: std::cell::OnceCell::new(),
            display: std::cell::OnceCell::new(),
        });

        let deployment = eq_ci(&full_type, "Microsoft.Resources/deployments");
        // A child deployed under a parent this template does not deploy passes that on:
        // its own children need the same parent to exist.
        let absent = self.resources[index]
            .conditions
            .iter()
            .find(|c| matches!(c, Condition::ParentExists { .. }))
            .cloned();
        let info = ParentInfo {
            index: Some(index),
            absent,
            full_type,
            name_parts,
        };
        self.add_children(obj, &info, place, env);
        if deployment {
            self.add_nested_deployment(obj, index, &place.pointer, &info.name_parts, env);
        }
    }

    /// Adds the children nested in a resource's `resources`.
    fn add_children(
        &mut self,
        obj: &'a Object<'a>,
        info: &ParentInfo<'a>,
        place: &Place<'_, 'a>,
        env: &Env<'a>,
    ) {
        let Some(children) = find_prop(obj, "resources") else {
            return;
        };
        let Ast::Array(arr) = &children.value else {
            return;
        };
        let base = format!(
            "{}/{}",
            place.pointer,
            escape_pointer(children.name.as_str())
        );
        for (i, item) in arr.elements.iter().enumerate() {
            if let Ast::Object(child) = item {
                let child_place = Place {
                    symbolic_name: None,
                    pointer: format!("{base}/{i}"),
                    parent: Some(info),
                    deployment: place.deployment,
                };
                self.add_resource(item, child, &child_place, env);
            }
        }
    }

    /// Walks the inline template of a nested deployment, in its own scope (`inner`) or
    /// in the parent's (`outer`, the default).
    fn add_nested_deployment(
        &mut self,
        obj: &'a Object<'a>,
        index: usize,
        pointer: &str,
        name_parts: &[LazyValue<'a>],
        env: &Env<'a>,
    ) {
        let Some(props_prop) = find_prop(obj, "properties") else {
            return;
        };
        let Ast::Object(props) = &props_prop.value else {
            return;
        };
        let Some(tpl) = find_prop(props, "template") else {
            return;
        };
        let Ast::Object(inner) = &tpl.value else {
            return;
        };
        if self
            .wanted
            .is_some_and(|wanted| !declares_namespace(inner, wanted))
        {
            return;
        }
        let ptr = format!(
            "{pointer}/{}/{}",
            escape_pointer(props_prop.name.as_str()),
            escape_pointer(tpl.name.as_str())
        );
        let name = name_parts.last().map(|n| (n.ast, n.env.clone()));
        match Scope::of_deployment(props, inner, name, env) {
            None => self.walk_template(inner, &ptr, Some(index), env),
            Some(scope) => self.walk_template(inner, &ptr, Some(index), &Env::new(Rc::new(scope))),
        }
    }
}

/// A resource's full type and the parts of its full name: a nested child written with
/// its full type is also written with its full name (`Microsoft.Network/
/// virtualNetworks/subnets` named `vnet/apim`); ARM joins the parent's type and name
/// only to a short type (`subnets` named `apim`).
fn type_and_name<'a>(
    obj: &'a Object<'a>,
    place: &Place<'_, 'a>,
    env: &Env<'a>,
) -> (String, Vec<LazyValue<'a>>) {
    let written_type = find_prop(obj, "type")
        .and_then(|p| match &p.value {
            Ast::StringLit(s) => Some(s.value.as_ref()),
            _ => None,
        })
        .unwrap_or("");
    let short_child = place.parent.filter(|_| !is_full_type(written_type));
    let full_type = match short_child {
        Some(p) => format!("{}/{}", p.full_type, written_type),
        None => written_type.to_owned(),
    };
    let mut name_parts = short_child
        .map(|p| p.name_parts.clone())
        .unwrap_or_default();
    if let Some(name) = find_prop(obj, "name") {
        name_parts.push(LazyValue::new(&name.value, env));
    }
    (full_type, name_parts)
}

/// A name for messages from its parts (as [`Resource::display_name`]).
fn display_of(parts: &[LazyValue<'_>]) -> String {
    let shown: Vec<String> = parts.iter().map(|p| p.get().name_for_display()).collect();
    shown.join("/")
}

/// A nested child's type is relative (`networkRuleSets`) unless it names a provider
/// namespace (`Microsoft.ServiceBus/namespaces/networkRuleSets`).
fn is_full_type(t: &str) -> bool {
    t.split('/').next().is_some_and(|ns| ns.contains('.')) && t.contains('/')
}

/// Escapes a JSON pointer token (RFC 6901).
pub(crate) fn escape_pointer(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        std::borrow::Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        std::borrow::Cow::Borrowed(token)
    }
}

/// The span of a JSON value (re-exported for the linter).
pub fn span_of(ast: &Ast<'_>) -> Span {
    ast_span(ast)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use jsonc_parser::ast::Value as Ast;

    use super::Template;

    /// The copy-loop reasons of each resource a template deploys.
    fn unknown_counts(text: &str) -> Vec<Option<String>> {
        let ast = crate::parse::parse(text).unwrap().unwrap();
        let Ast::Object(root) = &ast else {
            unreachable!()
        };
        let template = Template::build(root, HashMap::new());
        template
            .resources
            .iter()
            .map(|r| r.copy.as_ref().and_then(|c| c.unknown_count.clone()))
            .collect()
    }

    fn declares_storage(text: &str) -> bool {
        let ast = crate::parse::parse(text).unwrap().unwrap();
        let Ast::Object(root) = &ast else {
            unreachable!()
        };
        super::declares_namespace(root, &|n| n.eq_ignore_ascii_case("microsoft.storage"))
    }

    #[test]
    fn children_of_a_parent_not_deployed_need_it_down_the_tree() {
        let text = r#"{ "resources": [
            { "type": "Microsoft.Network/virtualNetworks", "name": "vnet", "condition": false, "resources": [
                { "type": "subnets", "name": "a", "resources": [ { "type": "things", "name": "t" } ] } ] }
        ] }"#;
        let ast = crate::parse::parse(text).unwrap().unwrap();
        let Ast::Object(root) = &ast else {
            unreachable!()
        };
        let template = Template::build(root, HashMap::new());
        let described: Vec<(String, Vec<String>)> = template
            .resources
            .iter()
            .map(|r| {
                (
                    r.display_name(),
                    r.conditions.iter().map(|c| c.describe()).collect(),
                )
            })
            .collect();
        let needs_vnet = "its parent `vnet`, which this template does not deploy, already exists";
        assert_eq!(
            described,
            [
                ("vnet/a".to_owned(), vec![needs_vnet.to_owned()]),
                ("vnet/a/t".to_owned(), vec![needs_vnet.to_owned()]),
            ]
        );
    }

    #[test]
    fn build_for_leaves_out_modules_that_declare_nothing_wanted() {
        let text = r#"{ "resources": [
            { "type": "Microsoft.Storage/storageAccounts", "name": "st" },
            { "type": "Microsoft.Resources/deployments", "name": "web", "properties": { "template": {
                "resources": [ { "type": "Microsoft.Web/sites", "name": "app" } ] } } },
            { "type": "Microsoft.Resources/deployments", "name": "net", "properties": { "template": {
                "resources": [ { "type": "Microsoft.Network/virtualNetworks", "name": "vnet" } ] } } }
        ] }"#;
        let ast = crate::parse::parse(text).unwrap().unwrap();
        let Ast::Object(root) = &ast else {
            unreachable!()
        };
        let wanted = |n: &str| {
            n.eq_ignore_ascii_case("microsoft.storage")
                || n.eq_ignore_ascii_case("microsoft.network")
        };
        let types = |t: &Template<'_>| -> Vec<String> {
            t.resources.iter().map(|r| r.full_type.clone()).collect()
        };
        let some = Template::build_for(root, text, HashMap::new(), &wanted);
        assert_eq!(
            types(&some),
            [
                "Microsoft.Storage/storageAccounts",
                "Microsoft.Resources/deployments",
                "Microsoft.Resources/deployments",
                "Microsoft.Network/virtualNetworks"
            ]
        );
        let all = Template::build(root, HashMap::new());
        assert!(types(&all).iter().any(|t| t == "Microsoft.Web/sites"));
    }

    #[test]
    fn namespaces_are_found_wherever_the_model_would_find_a_resource() {
        let network = r#"{ "resources": [ { "type": "Microsoft.Network/virtualNetworks", "resources": [ { "type": "subnets" } ] } ] }"#;
        assert!(!declares_storage(network));
        let child = r#"{ "resources": [ { "type": "Microsoft.Network/virtualNetworks", "resources": [ { "type": "Microsoft.Storage/storageAccounts" } ] } ] }"#;
        assert!(declares_storage(child));
        let short_child = r#"{ "resources": [ { "type": "MICROSOFT.STORAGE/storageAccounts", "resources": [ { "type": "blobServices" } ] } ] }"#;
        assert!(declares_storage(short_child));
        let symbolic = r#"{ "languageVersion": "2.0", "resources": { "st": { "type": "Microsoft.Storage/storageAccounts" } } }"#;
        assert!(declares_storage(symbolic));
        let nested = r#"{ "resources": [ { "type": "Microsoft.Resources/deployments", "properties": { "template": { "resources": [ { "type": "Microsoft.Storage/storageAccounts" } ] } } } ] }"#;
        assert!(declares_storage(nested));
        // A type only evaluation can read may be anything.
        let computed = r#"{ "resources": [ { "type": "[variables('type')]" } ] }"#;
        assert!(declares_storage(computed));
        let escaped = r#"{ "resources": [ { "type": "[[not an expression" } ] }"#;
        assert!(!declares_storage(escaped));
    }

    #[test]
    fn a_copy_loop_without_a_known_count_lints_instance_zero_and_says_why() {
        let missing = r#"{ "resources": [ { "type": "Microsoft.Storage/storageAccounts", "name": "st", "copy": { "name": "accounts" } } ] }"#;
        assert_eq!(
            unknown_counts(missing),
            vec![Some("the copy loop has no `count`".to_owned())]
        );
        let from_parameter = r#"{ "parameters": { "n": { "type": "int" } },
            "resources": [ { "type": "Microsoft.Storage/storageAccounts", "name": "st", "copy": { "name": "accounts", "count": "[parameters('n')]" } } ] }"#;
        let reasons = unknown_counts(from_parameter);
        assert_eq!(reasons.len(), 1);
        assert!(reasons[0].is_some(), "{reasons:?}");
        let known = r#"{ "resources": [ { "type": "Microsoft.Storage/storageAccounts", "name": "[concat('st', copyIndex())]", "copy": { "name": "accounts", "count": 2 } } ] }"#;
        assert_eq!(unknown_counts(known), vec![None, None]);
    }
}
