//! Evaluation scopes: one per template (the root, and each nested deployment with
//! `inner` scope), holding its parameters, variables and user-defined functions; and
//! the [`Env`] an expression is evaluated in (scope, copy loop index, lambda and
//! function-parameter bindings).

use std::cell::RefCell;
use std::collections::HashMap;

use rustc_hash::FxHashMap;
use std::rc::Rc;

use jsonc_parser::ast::{Object, Value as Ast};

use super::value::{Origin, Value};
use crate::source::Span;

/// A parameter: what the template declares, and what the deployment binds to it.
pub struct Param<'a> {
    pub declared: Declared<'a>,
    /// The declared `type` (`string`, `secureObject`, …), through `$ref` when needed.
    pub ty: Option<&'a str>,
    pub bound: Option<Binding<'a>>,
}

/// What a template declares for a parameter.
pub enum Declared<'a> {
    /// A `defaultValue`, evaluated when first used.
    Default(&'a Ast<'a>),
    /// No default: unknown when nothing is bound (or null when the parameter is
    /// nullable, on itself or on the type it reaches through `$ref`).
    NoDefault { nullable: bool },
    /// Not declared at all (a nested deployment passed a name its template lacks).
    Undeclared,
}

/// The value a deployment binds to a parameter.
pub enum Binding<'a> {
    /// From a parameters file.
    Given(Value),
    /// A nested deployment's `parameters` entry, evaluated in the parent's environment
    /// when first used.
    Passed {
        value: &'a Ast<'a>,
        env: Box<Env<'a>>,
        /// The parameter's name as written, for the origin's label.
        name: Rc<str>,
    },
    /// A nested deployment's `parameters` entry whose `value` comes out of evaluating
    /// the whole entry: one expression yielding `{ "value": … }` (compiled Bicep does
    /// this for conditional module parameters), or a property copy named `value` (what
    /// Bicep emits for a `for` in a module parameter).
    PassedEntry {
        entry: &'a Ast<'a>,
        env: Box<Env<'a>>,
        name: Rc<str>,
    },
}

impl<'a> Param<'a> {
    /// A parameter the template does not declare, bound by a nested deployment.
    pub fn undeclared(bound: Binding<'a>) -> Param<'a> {
        Param {
            declared: Declared::Undeclared,
            ty: None,
            bound: Some(bound),
        }
    }

    /// Why Azure rejects `value` for this parameter, when its JSON type contradicts the
    /// declared `type` ("parameter `acl` is a string, the parameters file gives an
    /// array"). `null` is not checked: it means "not given".
    pub fn type_mismatch(&self, name: &str, value: &Value, source: &str) -> Option<String> {
        use super::value::Kind;
        let ty = self.ty?.to_ascii_lowercase();
        let fits = match (&value.kind, ty.as_str()) {
            (Kind::Null | Kind::Unknown(_) | Kind::Placeholder(_), _) => true,
            (Kind::Str(_), "string" | "securestring") => true,
            (Kind::Int(_), "int") => true,
            (Kind::Bool(_), "bool") => true,
            (Kind::Object(_), "object" | "secureobject") => true,
            (Kind::Array(_), "array") => true,
            (
                _,
                "string" | "securestring" | "int" | "bool" | "object" | "secureobject" | "array",
            ) => false,
            // A type trustlint does not know: Azure decides.
            _ => true,
        };
        let article = |t: &str| match t {
            "int" => "an int",
            "array" => "an array",
            "object" | "secureobject" => "an object",
            "bool" => "a bool",
            _ => "a string",
        };
        (!fits).then(|| {
            format!(
                "{}parameter `{name}` is {}, {source} gives {}",
                super::eval::REJECTED,
                article(&ty),
                match &value.kind {
                    Kind::Str(_) => "a string",
                    Kind::Int(_) | Kind::Float(_) => "a number",
                    Kind::Bool(_) => "a bool",
                    Kind::Array(_) => "an array",
                    _ => "an object",
                }
            )
        })
    }
}

/// The longest chain of `$ref`s followed to a parameter's type: definitions that
/// refer to each other in a cycle must not loop.
const MAX_REF_HOPS: usize = 64;

/// A parameter declaration and the definitions it reaches through `$ref` into the
/// template's `definitions`, nearest first.
fn declaration_chain<'a>(
    template: &'a Object<'a>,
    declaration: &'a Object<'a>,
) -> impl Iterator<Item = &'a Object<'a>> {
    std::iter::successors(Some(declaration), move |current| {
        let Some(Ast::StringLit(target)) = find(current, "$ref") else {
            return None;
        };
        // `#/definitions/t`, or a path below it (`#/definitions/t/properties/p`, as
        // Bicep writes for a property of a user-defined type).
        let path = target.value.strip_prefix("#/")?;
        path.split('/')
            .try_fold(template, |object, key| match find(object, key) {
                Some(Ast::Object(next)) => Some(next),
                _ => None,
            })
    })
    .take(MAX_REF_HOPS)
}

/// Whether a parameter declaration (or a definition it reaches through `$ref`) says
/// `"nullable": true`.
fn is_nullable(template: &Object<'_>, declaration: &Object<'_>) -> bool {
    declaration_chain(template, declaration)
        .any(|d| find(d, "nullable").is_some_and(|v| matches!(v, Ast::BooleanLit(b) if b.value)))
}

/// The declared `type` of a parameter, from the nearest of its declaration and the
/// definitions it reaches through `$ref` that says one.
fn declared_type<'a>(template: &'a Object<'a>, declaration: &'a Object<'a>) -> Option<&'a str> {
    declaration_chain(template, declaration).find_map(|d| match find(d, "type") {
        Some(Ast::StringLit(t)) => Some(t.value.as_ref()),
        _ => None,
    })
}

/// One template's names: parameters, variables, functions and symbolic resources.
pub struct Scope<'a> {
    pub template: &'a Object<'a>,
    pub parameters: FxHashMap<Caseless<'a>, Param<'a>>,
    pub variables: FxHashMap<Caseless<'a>, &'a Ast<'a>>,
    /// `variables.copy` entries by name.
    pub variable_copies: FxHashMap<Caseless<'a>, &'a Object<'a>>,
    /// User-defined functions by lowercase `namespace.member`.
    pub functions: FxHashMap<String, &'a Object<'a>>,
    /// `languageVersion` 2.0 resources by symbolic name.
    pub symbols: FxHashMap<Caseless<'a>, &'a Object<'a>>,
    /// Every top-level resource declaration, for `reference()` by resource ID or name.
    pub declarations: Vec<&'a Object<'a>>,
    /// The text of the file, when known: where the characters of a string with JSON
    /// escapes are (see [`WrittenString`]).
    pub source: Option<&'a str>,
    /// Strings are what they say, never ARM expressions: a Data Factory git-mode folder
    /// read as a template (Studio writes `[[` in an export; a git-mode file has no
    /// expressions, and `"[dbo].[T]"` is a table name).
    pub literal_strings: bool,
    /// The deployment's name, for `deployment().name` and labels: evaluated when
    /// first asked for (most templates never ask).
    deployment_name: DeploymentName<'a>,
    pub(crate) cache: RefCell<FxHashMap<Memo, Value>>,
    /// The values being evaluated, outermost first, with what each is called in a
    /// message: a value met again closes a cycle.
    pub(crate) in_progress: RefCell<Vec<(Memo, String)>>,
}

/// A name compared and hashed without regard to ASCII case, as ARM compares the names
/// of parameters, variables and symbolic resources. It borrows the name as written,
/// so indexing a template makes no lowercase copies.
#[derive(Clone, Copy, Debug)]
pub struct Caseless<'a>(pub &'a str);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

impl std::hash::Hash for Caseless<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut lower = [0u8; 16];
        for chunk in self.0.as_bytes().chunks(lower.len()) {
            let lower = &mut lower[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
        state.write_u8(0xff);
    }
}

/// A value evaluated once per template, named by where it is declared: the address
/// of its entry in the scope's tables (fixed once the scope is built) or of the
/// resource declaration `reference()` reads.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Memo {
    Parameter(usize),
    Variable(usize),
    Reference(usize),
    /// One output of a nested deployment, by its declaration.
    Output(usize),
}

impl Memo {
    pub(crate) fn of<T>(kind: fn(usize) -> Memo, entry: &T) -> Memo {
        kind(entry as *const T as usize)
    }
}

impl<'a> Scope<'a> {
    pub fn new(template: &'a Object<'a>, deployment_name: Value) -> Scope<'a> {
        let known = DeploymentName {
            written: None,
            value: std::cell::OnceCell::from(deployment_name),
            display: std::cell::OnceCell::new(),
        };
        Scope::with_deployment_name(template, known)
    }

    /// The scope of a nested deployment's inner template, named by `name` (as written
    /// in the parent, evaluated in the parent's environment).
    pub fn nested(template: &'a Object<'a>, name: Option<(&'a Ast<'a>, Env<'a>)>) -> Scope<'a> {
        let source = name.as_ref().and_then(|(_, env)| env.scope.source);
        let lazy = DeploymentName {
            written: name,
            value: std::cell::OnceCell::new(),
            display: std::cell::OnceCell::new(),
        };
        Scope {
            source,
            ..Scope::with_deployment_name(template, lazy)
        }
    }

    /// The scope a nested deployment's inline template `inner` is evaluated in, when
    /// its `properties` (`props`) say `expressionEvaluationOptions.scope` `inner`: its own
    /// names, with the parameters the deployment passes bound (evaluated in `env`, the
    /// parent's environment, when first used). `None` for the default `outer` scope,
    /// where the inner template reads the parent's names.
    pub fn of_deployment(
        props: &'a Object<'a>,
        inner: &'a Object<'a>,
        name: Option<(&'a Ast<'a>, Env<'a>)>,
        env: &Env<'a>,
    ) -> Option<Scope<'a>> {
        let scope_is_inner = match find(props, "expressionEvaluationOptions") {
            Some(Ast::Object(o)) => {
                matches!(find(o, "scope"), Some(Ast::StringLit(v)) if v.value.eq_ignore_ascii_case("inner"))
            }
            _ => false,
        };
        if !scope_is_inner {
            return None;
        }
        let mut scope = Scope::nested(inner, name);
        scope.source = env.scope.source;
        let Some(Ast::Object(params)) = find(props, "parameters") else {
            return Some(scope);
        };
        for p in &params.properties {
            let name = p.name.as_str();
            let passed = |value| Binding::Passed {
                value,
                env: Box::new(env.clone()),
                name: Rc::from(name),
            };
            let entry = |entry| Binding::PassedEntry {
                entry,
                env: Box::new(env.clone()),
                name: Rc::from(name),
            };
            let binding = match &p.value {
                Ast::Object(def) => match (
                    find(def, "value"),
                    find(def, "reference"),
                    find(def, "copy"),
                ) {
                    (Some(v), _, _) => passed(v),
                    (None, Some(_), _) => Binding::Given(Value::unknown(format!(
                        "parameter `{name}` is a Key Vault reference, read at deployment time"
                    ))),
                    // `{"copy": [{"name": "value", …}]}`: expanded, it has a `value`.
                    (None, None, Some(_)) => entry(&p.value),
                    (None, None, None) => Binding::Given(Value::unknown(format!(
                        "parameter `{name}` of deployment `{}` has no `value`",
                        scope.deployment_display()
                    ))),
                },
                written @ Ast::StringLit(_) => entry(written),
                other => Binding::Given(Value::unknown(format!(
                    "parameter `{name}` is passed as {}, not an object with `value`",
                    kind_name(other)
                ))),
            };
            match scope.parameters.get_mut(&Caseless(name)) {
                Some(param) => param.bound = Some(binding),
                None => {
                    scope
                        .parameters
                        .insert(Caseless(name), Param::undeclared(binding));
                }
            }
        }
        Some(scope)
    }

    /// `deployment().name`.
    pub fn deployment_name(&self) -> Value {
        let d = &self.deployment_name;
        d.value
            .get_or_init(|| match &d.written {
                Some((ast, env)) => crate::template::ValueRef::new(ast, env).value(),
                None => Value::unknown("the deployment has no name"),
            })
            .clone()
    }

    /// The deployment's name for messages: evaluated where known, else as written.
    pub fn deployment_display(&self) -> Rc<str> {
        let d = &self.deployment_name;
        d.display
            .get_or_init(|| match (&d.written, d.value.get()) {
                (Some((ast, env)), _) => {
                    Rc::from(crate::template::ValueRef::new(ast, env).name_for_display())
                }
                (None, Some(v)) => Rc::from(v.to_string()),
                (None, None) => Rc::from(""),
            })
            .clone()
    }

    fn with_deployment_name(
        template: &'a Object<'a>,
        deployment_name: DeploymentName<'a>,
    ) -> Scope<'a> {
        let mut scope = Scope {
            template,
            parameters: FxHashMap::default(),
            variables: FxHashMap::default(),
            variable_copies: FxHashMap::default(),
            functions: FxHashMap::default(),
            symbols: FxHashMap::default(),
            declarations: Vec::new(),
            source: None,
            literal_strings: false,
            deployment_name,
            cache: RefCell::new(FxHashMap::default()),
            in_progress: RefCell::new(Vec::new()),
        };
        scope.index_template();
        scope
    }

    /// The value `key` names, evaluated once per template: from the cache, else by
    /// `evaluate` and then cached. When `key` is already being evaluated, the error
    /// names the cycle it closes (`describe` says what `key` is, as in "variable `a`").
    pub(crate) fn memoized(
        &self,
        key: Memo,
        describe: impl FnOnce() -> String,
        evaluate: impl FnOnce() -> Value,
    ) -> Result<Value, String> {
        if let Some(v) = self.cache.borrow().get(&key) {
            return Ok(v.clone());
        }
        if let Some(at) = self
            .in_progress
            .borrow()
            .iter()
            .position(|(k, _)| *k == key)
        {
            return Err(describe_cycle(&self.in_progress.borrow()[at..]));
        }
        self.in_progress.borrow_mut().push((key, describe()));
        let value = evaluate();
        self.in_progress.borrow_mut().pop();
        self.cache.borrow_mut().insert(key, value.clone());
        Ok(value)
    }

    fn index_template(&mut self) {
        for prop in &self.template.properties {
            let key = prop.name.as_str().to_ascii_lowercase();
            match (key.as_str(), &prop.value) {
                ("parameters", Ast::Object(params)) => {
                    // Sized up front: growing rehashes every name already in.
                    self.parameters.reserve(params.properties.len());
                    for p in &params.properties {
                        let def = match &p.value {
                            Ast::Object(o) => Some(o),
                            _ => None,
                        };
                        let declared = match def.and_then(|o| find(o, "defaultValue")) {
                            Some(d) => Declared::Default(d),
                            None => Declared::NoDefault {
                                nullable: def.is_some_and(|d| is_nullable(self.template, d)),
                            },
                        };
                        let param = Param {
                            declared,
                            ty: def.and_then(|d| declared_type(self.template, d)),
                            bound: None,
                        };
                        self.parameters.insert(Caseless(p.name.as_str()), param);
                    }
                }
                ("variables", Ast::Object(vars)) => {
                    self.variables.reserve(vars.properties.len());
                    for v in &vars.properties {
                        let name = v.name.as_str();
                        if name.eq_ignore_ascii_case("copy") {
                            if let Ast::Array(copies) = &v.value {
                                for c in &copies.elements {
                                    if let Ast::Object(def) = c {
                                        if let Some(Ast::StringLit(n)) = find(def, "name") {
                                            self.variable_copies.insert(Caseless(&n.value), def);
                                        }
                                    }
                                }
                            }
                            continue;
                        }
                        self.variables.insert(Caseless(name), &v.value);
                    }
                }
                ("functions", Ast::Array(namespaces)) => {
                    for ns in &namespaces.elements {
                        let Ast::Object(ns) = ns else { continue };
                        let Some(Ast::StringLit(namespace)) = find(ns, "namespace") else {
                            continue;
                        };
                        let Some(Ast::Object(members)) = find(ns, "members") else {
                            continue;
                        };
                        for m in &members.properties {
                            if let Ast::Object(def) = &m.value {
                                let key = format!("{}.{}", namespace.value, m.name.as_str())
                                    .to_ascii_lowercase();
                                self.functions.insert(key, def);
                            }
                        }
                    }
                }
                ("resources", Ast::Object(resources)) => {
                    self.symbols.reserve(resources.properties.len());
                    for r in &resources.properties {
                        if let Ast::Object(def) = &r.value {
                            self.symbols.insert(Caseless(r.name.as_str()), def);
                            self.declarations.push(def);
                        }
                    }
                }
                ("resources", Ast::Array(resources)) => {
                    self.declarations
                        .extend(resources.elements.iter().filter_map(|r| match r {
                            Ast::Object(def) => Some(def),
                            _ => None,
                        }));
                }
                _ => {}
            }
        }
    }
}

/// "variable `a` refers to itself", or the chain of a longer cycle, as Azure rejects it.
fn describe_cycle(keys: &[(Memo, String)]) -> String {
    let invalid = super::eval::INVALID;
    match keys {
        [(_, one)] => format!("{invalid}{one} refers to itself"),
        _ => {
            let chain: Vec<&str> = keys
                .iter()
                .chain(keys.first())
                .map(|(_, name)| name.as_str())
                .collect();
            format!("{invalid}a cycle: {}", chain.join(" → "))
        }
    }
}

/// A deployment's name: a known value, or written in the parent and evaluated once.
struct DeploymentName<'a> {
    written: Option<(&'a Ast<'a>, Env<'a>)>,
    value: std::cell::OnceCell<Value>,
    display: std::cell::OnceCell<Rc<str>>,
}

/// Finds a property case-insensitively (last duplicate wins).
pub fn find<'o, 'a>(obj: &'o Object<'a>, key: &str) -> Option<&'o Ast<'a>> {
    obj.properties
        .iter()
        .rev()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(key))
        .map(|p| &p.value)
}

/// The current copy loop instance (innermost first).
#[derive(Debug)]
pub struct CopyFrame {
    pub name: Rc<str>,
    pub index: i64,
    /// A property or variable copy loop: `copyIndex()` without a loop name means the
    /// resource's loop, not this one.
    pub named_only: bool,
    pub parent: Option<Rc<CopyFrame>>,
}

/// What a copy loop makes, which decides what `copyIndex()` without a loop name counts.
#[derive(Debug, Clone, Copy)]
pub enum CopyLoop {
    /// Resource or output instances: `copyIndex()` counts them.
    Instances,
    /// A property's or a variable's values: only `copyIndex('<name>')` counts them.
    Values,
}

/// Lambda variables and user-defined function parameters in scope.
#[derive(Debug, Default)]
pub struct Locals {
    pub lambda: Vec<(Rc<str>, Value)>,
    pub function_parameters: Option<HashMap<String, Value>>,
}

/// Where an expression is evaluated.
#[derive(Clone)]
pub struct Env<'a> {
    pub scope: Rc<Scope<'a>>,
    pub copy: Option<Rc<CopyFrame>>,
    pub locals: Option<Rc<Locals>>,
    /// The template string being evaluated, when literals in it can be located.
    pub written: Option<Rc<WrittenString<'a>>>,
}

/// Where the expression string being evaluated is written, so that a string literal
/// in it gets an origin that covers exactly its characters (compiled Bicep writes
/// whole `properties` objects as one long expression).
#[derive(Debug)]
pub struct WrittenString<'a> {
    /// The file offset of the string's first character (after the opening quote).
    pub start: usize,
    /// How a value from it is labelled where it is used.
    pub label: Rc<str>,
    /// The string as written, when it has JSON escapes: its value's characters are
    /// then not where the file's are.
    pub escaped: Option<&'a str>,
    /// For an escaped string: the offset in `escaped` of each byte of the value (and
    /// of its end), made when a literal first needs it.
    pub offsets: std::cell::OnceCell<Option<Vec<u32>>>,
}

impl WrittenString<'_> {
    /// The file span of the value's bytes `start..end`.
    pub fn span_of(&self, start: usize, end: usize) -> Option<Span> {
        let Some(escaped) = self.escaped else {
            return Some(Span::new(self.start + start, self.start + end));
        };
        let offsets = self.offsets.get_or_init(|| value_offsets(escaped));
        let offsets = offsets.as_ref()?;
        let at = |i: usize| offsets.get(i).map(|o| self.start + *o as usize);
        Some(Span::new(at(start)?, at(end)?))
    }
}

/// Where each byte of a JSON string's value comes from in the string as written
/// (`\"` is one byte from two, `\u00e9` two from six, a surrogate pair four from
/// twelve), with one more entry for the end. `None` for text that is not a valid
/// string body (nothing is pointed at then).
fn value_offsets(escaped: &str) -> Option<Vec<u32>> {
    let b = escaped.as_bytes();
    let hex = |i: usize| {
        b.get(i..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    let mut offsets = Vec::with_capacity(b.len() + 1);
    let mut i = 0;
    while i < b.len() {
        let (written, value) = match (b[i], b.get(i + 1)) {
            (b'\\', Some(b'u')) => {
                let unit = hex(i + 2)?;
                let low = (b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u'))
                    .then(|| hex(i + 8))
                    .flatten()
                    .filter(|l| (0xDC00..0xE000).contains(l));
                match (unit, low) {
                    (0xD800..=0xDBFF, Some(_)) => (12, 4),
                    // A lone surrogate reads as U+FFFD, three bytes.
                    (0xD800..=0xDFFF, _) => (6, 3),
                    (u, _) => (6, char::from_u32(u)?.len_utf8()),
                }
            }
            (b'\\', Some(_)) => (2, 1),
            _ => (1, 1),
        };
        offsets.extend(std::iter::repeat_n(u32::try_from(i).ok()?, value));
        i += written;
    }
    offsets.push(u32::try_from(i).ok()?);
    Some(offsets)
}

impl<'a> Env<'a> {
    pub fn new(scope: Rc<Scope<'a>>) -> Env<'a> {
        Env {
            scope,
            copy: None,
            locals: None,
            written: None,
        }
    }

    /// This environment inside instance `index` of resource copy loop `name`.
    pub fn with_copy(&self, name: &str, index: i64) -> Env<'a> {
        self.in_copy(CopyLoop::Instances, name, index)
    }

    /// This environment inside instance `index` of copy loop `name` of kind `kind`.
    pub fn in_copy(&self, kind: CopyLoop, name: &str, index: i64) -> Env<'a> {
        Env {
            copy: Some(Rc::new(CopyFrame {
                name: Rc::from(name),
                index,
                named_only: matches!(kind, CopyLoop::Values),
                parent: self.copy.clone(),
            })),
            ..self.clone()
        }
    }

    pub fn with_locals(&self, locals: Locals) -> Env<'a> {
        Env {
            locals: Some(Rc::new(locals)),
            ..self.clone()
        }
    }
}

/// An [`Origin`] in the template file.
pub fn origin_here(span: Span, label: Rc<str>) -> Option<Rc<Origin>> {
    Some(Rc::new(Origin {
        span,
        label,
        file: None,
    }))
}

/// How a message names the JSON kind of a written value.
fn kind_name(ast: &Ast<'_>) -> &'static str {
    match ast {
        Ast::StringLit(_) => "a string",
        Ast::NumberLit(_) => "a number",
        Ast::BooleanLit(_) => "a bool",
        Ast::Object(_) => "an object",
        Ast::Array(_) => "an array",
        Ast::NullKeyword(_) => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_bytes_map_to_where_they_are_written_through_json_escapes() {
        // `a\"b` is the value `a"b`; `\u00e9` is `é` (two bytes); a surrogate pair is four.
        let offsets = value_offsets(r#"a\"b\u00e9\ud83d\ude00c\ud800"#).unwrap();
        assert_eq!(offsets, [0, 1, 3, 4, 4, 10, 10, 10, 10, 22, 23, 23, 23, 29]);
        assert!(
            value_offsets(r#"\u12"#).is_none(),
            "a cut escape points at nothing"
        );
        let written = WrittenString {
            start: 100,
            label: Rc::from("x"),
            escaped: Some(r#"[concat('\"', 'AzureServices')]"#),
            offsets: std::cell::OnceCell::new(),
        };
        // The value is `[concat('"', 'AzureServices')]`; its `'AzureServices'` is at 13..28,
        // written one byte later.
        assert_eq!(written.span_of(13, 28), Some(Span::new(114, 129)));
    }

    #[test]
    fn caseless_names_are_one_key_whatever_their_case_and_length() {
        let long = "storageAccountNameWithMoreThanSixteenBytes";
        let mut table = FxHashMap::default();
        table.insert(Caseless(long), 1);
        table.insert(Caseless("a"), 2);
        assert_eq!(table.get(&Caseless(&long.to_ascii_uppercase())), Some(&1));
        assert_eq!(table.get(&Caseless("A")), Some(&2));
        assert_eq!(table.get(&Caseless("storageAccountName")), None);
    }
}
