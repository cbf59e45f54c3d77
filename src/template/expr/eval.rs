//! Evaluating template JSON and expressions to [`Value`]s.

use std::borrow::Cow;
use std::rc::Rc;

use jsonc_parser::ast::{Object, StringLit, Value as Ast};
use rustc_hash::FxHashMap;

use super::functions;
use super::parse::{is_expression, parse_template_string, At, Expr, Template};
use super::scope::{
    find, origin_here, Binding, Caseless, CopyLoop, Declared, Env, Locals, Memo, Param,
    WrittenString,
};
use super::value::{Kind, Origin, Value};
use crate::template::value::ast_span;

/// How deep evaluation may nest — JSON values, calls, and the variables, parameters and
/// functions they reach, counted together and never restarted at a reference — before
/// the value is unknown. Worker threads have the stack for it (`lib.rs`).
pub const MAX_DEPTH: u32 = 8_000;

/// Copy loops (`copy.count`, property and variable copies) expand at most this many.
pub const MAX_COPIES: i64 = 800;

/// Function calls one template may evaluate before the rest is treated as unknown, so
/// that no template, however contrived, makes linting slow.
const CALL_BUDGET: u64 = 2_000_000;

/// Bytes of evaluated values one template may build (strings, array and object entries).
pub const BYTE_BUDGET: u64 = 64 << 20;

/// Reasons no parameters file can change: the template itself is invalid, or too costly
/// to evaluate. Rules do not advise `--parameters` for them.
pub const INVALID: &str = "the template is invalid: ";
pub const OVER_BUDGET: &str = "evaluation budget exceeded: ";
/// A value Azure rejects for a parameter (its type contradicts the declaration).
pub const REJECTED: &str = "Azure rejects this deployment: ";
/// A `fail()` the template reaches with these values.
pub const FAILS: &str = "the deployment fails: ";

/// One template's evaluation budget. A template is built and evaluated on one thread
/// (its values are `Rc`), so the budget is kept per thread and reset per template.
struct Budget {
    calls: std::cell::Cell<u64>,
    depth: std::cell::Cell<u32>,
    bytes: std::cell::Cell<u64>,
}

thread_local! {
    static BUDGET: Budget = const {
        Budget {
            calls: std::cell::Cell::new(0),
            depth: std::cell::Cell::new(0),
            bytes: std::cell::Cell::new(0),
        }
    };
}

/// Starts a new evaluation budget; called once per template, on the thread linting it.
pub fn reset_budget() {
    BUDGET.with(|b| {
        b.calls.set(0);
        b.depth.set(0);
        b.bytes.set(0);
    });
}

/// Which budget is gone, if any.
enum Spent {
    No,
    Calls,
    Bytes,
}

/// Spends one function call (one thread-local access for both budgets: this runs for
/// every call of every template).
fn spend_call() -> Spent {
    BUDGET.with(|b| {
        let calls = b.calls.get() + 1;
        b.calls.set(calls);
        if calls > CALL_BUDGET {
            Spent::Calls
        } else if b.bytes.get() > BYTE_BUDGET {
            Spent::Bytes
        } else {
            Spent::No
        }
    })
}

/// Spends `n` calls' worth of work (walking a value, comparing, copying); false once the
/// template's call budget is gone.
pub fn spend_calls(n: u64) -> bool {
    BUDGET.with(|b| {
        let spent = b.calls.get().saturating_add(n);
        b.calls.set(spent);
        spent <= CALL_BUDGET
    })
}

/// Charges `n` bytes of built values; false once the template's byte budget is gone.
/// Callers charge before they allocate when the size is known in advance.
pub fn charge_bytes(n: u64) -> bool {
    BUDGET.with(|b| {
        let spent = b.bytes.get().saturating_add(n);
        b.bytes.set(spent);
        spent <= BYTE_BUDGET
    })
}

/// Evaluates one template string in an empty template (for fuzzing and tests): a fresh
/// budget, no parameters or variables.
pub fn evaluate_alone(text: &str) -> Value {
    static EMPTY: &str = "{}";
    reset_budget();
    let root = crate::parse::parse(EMPTY).ok().flatten();
    let Some(Ast::Object(obj)) = &root else {
        return Value::unknown("no template");
    };
    let env = Env::new(Rc::new(super::Scope::new(obj, Value::str("fuzz"))));
    let value = env.eval_string(text);
    // Walk it as the reporters would.
    let _ = value.to_json();
    let _ = value.to_string();
    value
}

/// Why a value past the call budget is unknown.
pub fn too_many_calls() -> String {
    format!("{OVER_BUDGET}the template needs more than {CALL_BUDGET} function calls to evaluate")
}

/// The unknown value for a value past the byte budget.
pub fn too_large() -> Value {
    Value::unknown(format!(
        "{OVER_BUDGET}the template builds more than {} MiB of values",
        BYTE_BUDGET >> 20
    ))
}

/// One level of live evaluation depth, released on drop.
pub struct DepthGuard(());

impl Drop for DepthGuard {
    fn drop(&mut self) {
        BUDGET.with(|b| b.depth.set(b.depth.get() - 1));
    }
}

/// Enters one level of evaluation; `None` past [`MAX_DEPTH`].
pub fn enter() -> Option<DepthGuard> {
    BUDGET.with(|b| {
        let depth = b.depth.get();
        if depth >= MAX_DEPTH {
            return None;
        }
        b.depth.set(depth + 1);
        Some(DepthGuard(()))
    })
}

fn too_deep() -> Value {
    Value::unknown(format!(
        "{OVER_BUDGET}evaluation nests deeper than {MAX_DEPTH} levels (counted across variables, parameters and functions)"
    ))
}

/// What one array element or object entry costs in the byte budget.
const ENTRY: u64 = std::mem::size_of::<Value>() as u64;

/// The bytes a value adds on top of the values it shares: its own text, or one entry
/// per element.
pub fn shallow_size(v: &Value) -> u64 {
    match &v.kind {
        Kind::Str(s) | Kind::Placeholder(s) => s.len() as u64,
        Kind::Array(items) => items.len() as u64 * ENTRY,
        Kind::Object(entries) | Kind::Partial { known: entries, .. } => {
            entries.iter().map(|(k, _)| ENTRY + k.len() as u64).sum()
        }
        _ => 0,
    }
}

impl<'a> Env<'a> {
    /// Evaluates a JSON value from the template. Literals get an origin labelled
    /// `label`; expression strings are evaluated.
    pub fn eval_json(&self, ast: &'a Ast<'a>, label: &Rc<str>) -> Value {
        let Some(_level) = enter() else {
            return too_deep();
        };
        let origin = || origin_here(ast_span(ast), label.clone());
        match ast {
            Ast::StringLit(s) => {
                let v = self.eval_written(s, label);
                if v.origin.is_none() && !crate::template::expr::parse::is_expression(&s.value) {
                    v.with_origin(origin())
                } else {
                    v
                }
            }
            Ast::NumberLit(n) => number(n.value).with_origin(origin()),
            Ast::BooleanLit(b) => Value::bool(b.value).with_origin(origin()),
            Ast::NullKeyword(_) => Value::null().with_origin(origin()),
            Ast::Array(arr) => {
                if !self.charge_literal(arr.elements.len()) {
                    return too_large();
                }
                Value::array(
                    arr.elements
                        .iter()
                        .map(|e| self.eval_json(e, label))
                        .collect(),
                )
                .with_origin(origin())
            }
            Ast::Object(obj) => {
                if !self.charge_literal(obj.properties.len()) {
                    return too_large();
                }
                let mut entries: Vec<(Rc<str>, Value)> = Vec::with_capacity(obj.properties.len());
                for p in &obj.properties {
                    let key = p.name.as_str();
                    if key.eq_ignore_ascii_case("copy") {
                        if let Some(expanded) = self.property_copies(&p.value, label) {
                            entries.extend(expanded);
                            continue;
                        }
                    }
                    entries.push((Rc::from(key), self.eval_json(&p.value, label)));
                }
                Value::object(entries).with_origin(origin())
            }
        }
    }

    /// Charges a literal array or object of `entries` written in the template. Outside
    /// copy loops these are bounded by the file's size and always free, so a template
    /// that exhausts its budget on computed values still has its literals evaluated;
    /// inside a copy loop each instance repeats them, so they count.
    fn charge_literal(&self, entries: usize) -> bool {
        self.copy.is_none() || charge_bytes(entries as u64 * ENTRY)
    }

    /// The property `name` a property copy (`copies`, the value of a `copy` key)
    /// makes, when it makes one, with the definition it comes from.
    pub fn property_copy(
        &self,
        copies: &'a Ast<'a>,
        name: &str,
    ) -> Option<(Value, &'a Object<'a>)> {
        let Ast::Array(defs) = copies else {
            return None;
        };
        let def = defs.elements.iter().rev().find_map(|def| match def {
            Ast::Object(def) => match find(def, "name") {
                Some(Ast::StringLit(n)) if n.value.eq_ignore_ascii_case(name) => Some(def),
                _ => None,
            },
            _ => None,
        })?;
        let label: Rc<str> = Rc::from(format!("in property copy `{name}`"));
        let value = match (find(def, "count"), find(def, "input")) {
            (Some(count), Some(input)) => {
                self.copy_array(CopyLoop::Values, name, count, input, &label)
            }
            _ => Value::unknown(format!("property copy `{name}` lacks `count` or `input`")),
        };
        Some((value, def))
    }

    /// Property iteration: `"copy": [{ "name": "rules", "count": 2, "input": {…} }]`
    /// inside an object becomes the property `rules` holding `count` evaluated inputs.
    fn property_copies(&self, ast: &'a Ast<'a>, label: &Rc<str>) -> Option<Vec<(Rc<str>, Value)>> {
        let Ast::Array(defs) = ast else { return None };
        let mut out = Vec::new();
        for def in &defs.elements {
            let Ast::Object(def) = def else { return None };
            let (Some(Ast::StringLit(name)), Some(count), Some(input)) =
                (find(def, "name"), find(def, "count"), find(def, "input"))
            else {
                return None;
            };
            let value = self.copy_array(CopyLoop::Values, &name.value, count, input, label);
            out.push((Rc::from(name.value.as_ref()), value));
        }
        Some(out)
    }

    /// `count` instances of `input`, each with its index bound in a copy loop `name`
    /// of kind `kind`.
    pub fn copy_array(
        &self,
        kind: CopyLoop,
        name: &str,
        count: &'a Ast<'a>,
        input: &'a Ast<'a>,
        label: &Rc<str>,
    ) -> Value {
        let count_value = self.eval_json(count, label);
        match copy_count(&count_value) {
            Ok(n) if !charge_bytes(n as u64 * ENTRY) => too_large(),
            Ok(n) => Value::array(
                (0..n)
                    .map(|i| self.in_copy(kind, name, i).eval_json(input, label))
                    .collect(),
            ),
            Err(reason) => Value::unknown(format!("copy `{name}`: {reason}")),
        }
    }

    /// Evaluates a string written in the template, so that the string literals of an
    /// expression in it carry where they are written (labelled `label`).
    pub fn eval_written(&self, lit: &'a StringLit<'a>, label: &Rc<str>) -> Value {
        if self.scope.literal_strings {
            return Value::str(lit.value.as_ref());
        }
        if !is_expression(&lit.value) {
            return self.eval_string(&lit.value);
        }
        let start = lit.range.start + 1;
        // A string with JSON escapes has its value's characters elsewhere than the
        // file's: literals are located through the text as written, when it is known.
        let escaped = match &lit.value {
            Cow::Borrowed(_) => None,
            Cow::Owned(_) => match self
                .scope
                .source
                .and_then(|text| text.get(start..lit.range.end.saturating_sub(1)))
            {
                Some(written) => Some(written),
                None => return self.eval_string(&lit.value),
            },
        };
        let env = Env {
            written: Some(Rc::new(WrittenString {
                start,
                label: label.clone(),
                escaped,
                offsets: std::cell::OnceCell::new(),
            })),
            ..self.clone()
        };
        env.eval_string(&lit.value)
    }

    /// The origin of a string literal written at `at` of the string being evaluated.
    fn literal_origin(&self, at: At) -> Option<Rc<Origin>> {
        let written = self.written.as_ref()?;
        let span = written.span_of(at.start as usize, at.end as usize)?;
        origin_here(span, written.label.clone())
    }

    /// Evaluates a string as ARM reads it: a literal, a `[[` escape, or an expression
    /// (unknown when it cannot be parsed: `EXPR001` reports that).
    pub fn eval_string(&self, s: &str) -> Value {
        match parse_template_string(s) {
            Ok(Template::Literal(text)) => Value::str(text),
            Ok(Template::Expression(expr)) => self.eval(&expr),
            Err(error) => {
                Value::unknown(format!("{INVALID}the expression cannot be parsed: {error}"))
            }
        }
    }

    /// Evaluates a parsed expression.
    pub fn eval(&self, expr: &Expr) -> Value {
        let Some(_level) = enter() else {
            return too_deep();
        };
        match expr {
            Expr::Str(s, at) => Value::str(s.as_str()).with_origin(self.literal_origin(*at)),
            Expr::Int(i) => Value::int(*i),
            Expr::Bool(b) => Value::bool(*b),
            Expr::Null => Value::null(),
            Expr::Call { name, args } => {
                match spend_call() {
                    Spent::Calls => return Value::unknown(too_many_calls()),
                    // Calls stop at once rather than do work whose result would be
                    // unknown anyway.
                    Spent::Bytes => return too_large(),
                    Spent::No => {}
                }
                let value = functions::call(self, name, args);
                if charge_bytes(shallow_size(&value)) {
                    value
                } else {
                    too_large()
                }
            }
            Expr::Property(target, name) => {
                // `reference(<module>).outputs.<name>`: that output only.
                if let Expr::Property(call, outputs) = target.as_ref() {
                    let output = functions::reference_call(call)
                        .filter(|_| outputs.eq_ignore_ascii_case("outputs"))
                        .and_then(|args| functions::deployment_output(self, args, name));
                    if let Some(output) = output {
                        return output;
                    }
                }
                member(self.eval(target), &Value::str(name.as_str()), true)
            }
            Expr::Index(target, index) => {
                let index = self.eval(index);
                member(self.eval(target), &index, false)
            }
        }
    }

    /// `parameters('name')`.
    pub fn parameter(&self, name: &str) -> Value {
        if let Some(params) = self
            .locals
            .as_ref()
            .and_then(|l| l.function_parameters.as_ref())
        {
            return params
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or_else(|| {
                    Value::unknown(format!("the function has no parameter `{name}`"))
                });
        }
        // The tables hold names borrowed for the template's lifetime; looked up with a
        // name that lives shorter (covariance lets the table be seen at that lifetime).
        let parameters: &FxHashMap<Caseless<'_>, Param<'_>> = &self.scope.parameters;
        let Some(param) = parameters.get(&Caseless(name)) else {
            return Value::unknown(format!("the template declares no parameter `{name}`"));
        };
        let key = Memo::of(Memo::Parameter, param);
        let describe = || format!("parameter `{name}`");
        let value = self.scope.memoized(key, describe, || {
            let bound = param.bound.as_ref().map(|b| match b {
                Binding::Given(v) => v.clone(),
                Binding::Passed { value, env, name } => {
                    env.eval_json(value, &self.passed_label(name))
                }
                Binding::PassedEntry { entry, env, name } => {
                    let whole = env.eval_json(entry, &self.passed_label(name));
                    if let Some(value) = whole.partial_get("value") {
                        return value;
                    }
                    match (&whole.kind, whole.get("value"), whole.get("reference")) {
                        (Kind::Unknown(_), _, _) => whole,
                        (_, Some(v), _) => v.clone(),
                        (_, None, Some(_)) => Value::unknown(format!(
                            "parameter `{name}` is a Key Vault reference, read at deployment time"
                        )),
                        _ => Value::unknown(format!(
                            "parameter `{name}` is passed without a `value`"
                        )),
                    }
                }
            });
            // A value that is null counts as not given: the default applies.
            match (bound, &param.declared) {
                (Some(v), _) if !matches!(v.kind, Kind::Null) => v,
                (_, Declared::Default(ast)) => {
                    let label: Rc<str> = Rc::from(format!("default value of parameter `{name}`"));
                    // Defaults see parameters and functions, not copy loops or lambdas.
                    Env::new(self.scope.clone()).eval_json(ast, &label)
                }
                (Some(null), _) => null,
                (None, Declared::NoDefault { nullable: true }) => Value::null(),
                (None, _) => Value::unknown(format!(
                    "parameter `{name}` has no default value and no parameters file gives it one"
                )),
            }
        });
        value.unwrap_or_else(Value::unknown)
    }

    /// How a value passed by the parent deployment is labelled.
    fn passed_label(&self, name: &str) -> Rc<str> {
        Rc::from(format!(
            "passed to deployment `{}` as parameter `{name}`",
            self.scope.deployment_display()
        ))
    }

    /// `variables('name')`, including `copy` variables.
    pub fn variable(&self, name: &str) -> Value {
        // See `parameter` on the lifetimes.
        let variables: &FxHashMap<Caseless<'_>, &Ast<'_>> = &self.scope.variables;
        let copies: &FxHashMap<Caseless<'_>, &Object<'_>> = &self.scope.variable_copies;
        let (key, declared) = if let Some(ast) = variables.get(&Caseless(name)) {
            (Memo::of(Memo::Variable, *ast), Ok(*ast))
        } else if let Some(def) = copies.get(&Caseless(name)) {
            (Memo::of(Memo::Variable, *def), Err(*def))
        } else {
            return Value::unknown(format!("the template declares no variable `{name}`"));
        };
        let describe = || format!("variable `{name}`");
        let value = self.scope.memoized(key, describe, || {
            let label: Rc<str> = Rc::from(format!("in variable `{name}`"));
            let env = Env::new(self.scope.clone());
            match declared {
                Ok(ast) => env.eval_json(ast, &label),
                Err(def) => match (find(def, "count"), find(def, "input")) {
                    (Some(count), Some(input)) => {
                        env.copy_array(CopyLoop::Values, name, count, input, &label)
                    }
                    _ => Value::unknown(format!("copy variable `{name}` lacks `count` or `input`")),
                },
            }
        });
        value.unwrap_or_else(Value::unknown)
    }

    /// `copyIndex()`, `copyIndex(offset)`, `copyIndex('loop')`, `copyIndex('loop', offset)`.
    pub fn copy_index(&self, loop_name: Option<&str>) -> Option<i64> {
        let mut frame = self.copy.as_deref();
        while let Some(f) = frame {
            let matches = match loop_name {
                Some(n) => n.eq_ignore_ascii_case(&f.name),
                None => !f.named_only,
            };
            if matches {
                return Some(f.index);
            }
            frame = f.parent.as_deref();
        }
        None
    }

    /// `lambdaVariables('x')`.
    pub fn lambda_variable(&self, name: &str) -> Value {
        self.locals
            .as_ref()
            .and_then(|l| {
                l.lambda
                    .iter()
                    .rev()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| Value::unknown(format!("no lambda variable `{name}`")))
    }

    /// Calls a user-defined function `namespace.member`.
    pub fn user_function(&self, name: &str, args: Vec<Value>) -> Value {
        let Some(def) = self
            .scope
            .functions
            .get(&name.to_ascii_lowercase())
            .copied()
        else {
            return Value::unknown(format!("no function `{name}` is defined in this template"));
        };
        let mut params = std::collections::HashMap::new();
        if let Some(Ast::Array(declared)) = find(def, "parameters") {
            for (p, arg) in declared.elements.iter().zip(args) {
                if let Ast::Object(p) = p {
                    if let Some(Ast::StringLit(n)) = find(p, "name") {
                        params.insert(n.value.to_ascii_lowercase(), arg);
                    }
                }
            }
        }
        let Some(Ast::Object(output)) = find(def, "output") else {
            return Value::unknown(format!("function `{name}` has no output"));
        };
        let Some(value) = find(output, "value") else {
            return Value::unknown(format!("function `{name}` has no output value"));
        };
        let env = Env::new(self.scope.clone()).with_locals(Locals {
            lambda: Vec::new(),
            function_parameters: Some(params),
        });
        let label: Rc<str> = Rc::from(format!("in function `{name}`"));
        env.eval_json(value, &label)
    }
}

/// A JSON number: an integer when it is one.
fn number(text: &str) -> Value {
    match text.parse::<i64>() {
        Ok(i) => Value::int(i),
        Err(_) => text
            .parse::<f64>()
            .map(|f| Value::new(Kind::Float(f)))
            .unwrap_or_else(|_| Value::unknown(format!("`{text}` is not a number"))),
    }
}

/// The number of copies a `count` asks for.
pub fn copy_count(count: &Value) -> Result<i64, String> {
    match &count.kind {
        Kind::Int(n) if (0..=MAX_COPIES).contains(n) => Ok(*n),
        Kind::Int(n) => Err(format!("{INVALID}count {n} is outside 0..{MAX_COPIES}")),
        Kind::Str(s) => match s.trim().parse::<i64>() {
            Ok(n) if (0..=MAX_COPIES).contains(&n) => Ok(n),
            Ok(n) => Err(format!("{INVALID}count {n} is outside 0..{MAX_COPIES}")),
            Err(_) => Err(format!("{INVALID}count `{s}` is not a number")),
        },
        Kind::Unknown(r) => Err(r.to_string()),
        _ => Err(format!(
            "{INVALID}count is a {}, not a number",
            count.type_name()
        )),
    }
}

/// `target.name` / `target[index]`: properties case-insensitively, array elements by index.
fn member(target: Value, index: &Value, dotted: bool) -> Value {
    if let (Kind::Partial { .. }, Kind::Str(key)) = (&target.kind, &index.kind) {
        return target.partial_get(key).unwrap_or_else(Value::null);
    }
    if let Some(r) = target.unknown_reason() {
        return Value::unknown(r.clone());
    }
    if let Some(r) = index.unknown_reason() {
        return Value::unknown(r.clone());
    }
    match (&target.kind, &index.kind) {
        (Kind::Object(_), Kind::Str(key)) => match target.get(key) {
            Some(v) => v.clone(),
            None => Value::unknown(format!("the object has no property `{key}`")),
        },
        (Kind::Array(items), Kind::Int(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| items.get(i))
            .cloned()
            .unwrap_or_else(|| {
                Value::unknown(format!("index {i} is outside the array of {}", items.len()))
            }),
        (Kind::Placeholder(p), _) => Value::placeholder(format!("{p}.{index}")),
        _ => Value::unknown(format!(
            "cannot take {} of a {}",
            if dotted {
                format!("property `{index}`")
            } else {
                format!("index `{index}`")
            },
            target.type_name()
        )),
    }
}

/// The origin of a value used as a whole in a new place, relabelled.
pub fn relabel(origin: &Option<Rc<Origin>>, label: &str) -> Option<Rc<Origin>> {
    origin.as_ref().map(|o| {
        Rc::new(Origin {
            span: o.span,
            label: Rc::from(label),
            file: o.file.clone(),
        })
    })
}
