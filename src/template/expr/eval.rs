//! Evaluating template JSON and expressions to [`Value`]s.

use std::rc::Rc;

use jsonc_parser::ast::Value as Ast;

use super::functions;
use super::parse::{parse_template_string, Expr, Template};
use super::scope::{find, origin_here, Env, Locals, Param};
use super::value::{Kind, Origin, Value};
use crate::template::value::ast_span;

/// How deep variables, functions and nested values may recurse before evaluation gives up.
const MAX_DEPTH: u32 = 64;

/// Copy loops (`copy.count`, property and variable copies) expand at most this many.
pub const MAX_COPIES: i64 = 800;

/// Function calls one template may evaluate before the rest is treated as unknown, so
/// that no template, however contrived, makes linting slow.
const CALL_BUDGET: u64 = 2_000_000;

thread_local! {
    static CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Starts a new evaluation budget; called once per template, on the thread linting it.
pub fn reset_budget() {
    CALLS.with(|c| c.set(0));
}

fn spend_call() -> bool {
    CALLS.with(|c| {
        let n = c.get() + 1;
        c.set(n);
        n <= CALL_BUDGET
    })
}

impl<'a> Env<'a> {
    /// Evaluates a JSON value from the template. Literals get an origin labelled
    /// `label`; expression strings are evaluated.
    pub fn eval_json(&self, ast: &'a Ast<'a>, label: &Rc<str>) -> Value {
        if self.depth > MAX_DEPTH {
            return Value::unknown(
                "the template nests values or expressions too deeply to evaluate",
            );
        }
        let origin = || origin_here(ast_span(ast), label.to_string());
        match ast {
            Ast::StringLit(s) => {
                let v = self.eval_string(&s.value);
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
                let deeper = self.deeper();
                Value::array(
                    arr.elements
                        .iter()
                        .map(|e| deeper.eval_json(e, label))
                        .collect(),
                )
                .with_origin(origin())
            }
            Ast::Object(obj) => {
                let deeper = self.deeper();
                let mut entries: Vec<(Rc<str>, Value)> = Vec::with_capacity(obj.properties.len());
                for p in &obj.properties {
                    let key = p.name.as_str();
                    if key.eq_ignore_ascii_case("copy") {
                        if let Some(expanded) = deeper.property_copies(&p.value, label) {
                            entries.extend(expanded);
                            continue;
                        }
                    }
                    entries.push((Rc::from(key), deeper.eval_json(&p.value, label)));
                }
                Value::object(entries).with_origin(origin())
            }
        }
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
            let value = self.copy_array(&name.value, count, input, label);
            out.push((Rc::from(name.value.as_ref()), value));
        }
        Some(out)
    }

    /// `count` instances of `input` with `copyIndex(name)` bound.
    pub fn copy_array(
        &self,
        name: &str,
        count: &'a Ast<'a>,
        input: &'a Ast<'a>,
        label: &Rc<str>,
    ) -> Value {
        let count_value = self.eval_json(count, label);
        match copy_count(&count_value) {
            Ok(n) => Value::array(
                (0..n)
                    .map(|i| self.with_copy(name, i).eval_json(input, label))
                    .collect(),
            ),
            Err(reason) => Value::unknown(format!("copy `{name}`: {reason}")),
        }
    }

    /// Evaluates a string as ARM reads it: a literal, a `[[` escape, or an expression
    /// (unknown when it cannot be parsed: `EXPR001` reports that).
    pub fn eval_string(&self, s: &str) -> Value {
        match parse_template_string(s) {
            Ok(Template::Literal(text)) => Value::str(text),
            Ok(Template::Expression(expr)) => self.eval(&expr),
            Err(error) => Value::unknown(format!("the expression cannot be parsed: {error}")),
        }
    }

    /// Evaluates a parsed expression.
    pub fn eval(&self, expr: &Expr) -> Value {
        match expr {
            Expr::Str(s) => Value::str(s.as_str()),
            Expr::Int(i) => Value::int(*i),
            Expr::Bool(b) => Value::bool(*b),
            Expr::Null => Value::null(),
            Expr::Call { name, args } => {
                if self.depth > MAX_DEPTH {
                    return Value::unknown("expressions nest too deeply to evaluate");
                }
                if !spend_call() {
                    return Value::unknown(
                        "the template needs more evaluation than trustlint allows per file",
                    );
                }
                functions::call(&self.deeper(), name, args)
            }
            Expr::Property(target, name) => {
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
        let key = name.to_ascii_lowercase();
        if let Some(params) = self
            .locals
            .as_ref()
            .and_then(|l| l.function_parameters.as_ref())
        {
            return params.get(&key).cloned().unwrap_or_else(|| {
                Value::unknown(format!("the function has no parameter `{name}`"))
            });
        }
        let value = self.scope.memoized(format!("p:{key}"), || {
            match self.scope.parameters.get(&key) {
                Some(Param::Given(v)) => v.clone(),
                Some(Param::Passed { value, env, label }) => env.deeper().eval_json(value, label),
                Some(Param::PassedEntry { entry, env, label }) => {
                    let whole = env.deeper().eval_json(entry, label);
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
                Some(Param::Default(ast)) => {
                    let label: Rc<str> = Rc::from(format!("default value of parameter `{name}`"));
                    // Defaults see parameters and functions, not copy loops or lambdas.
                    Env::new(self.scope.clone()).deeper().eval_json(ast, &label)
                }
                Some(Param::Absent { nullable: true }) => Value::null(),
                Some(Param::Absent { nullable: false }) => Value::unknown(format!(
                    "parameter `{name}` has no default value and no parameters file gives it one"
                )),
                None => Value::unknown(format!("the template declares no parameter `{name}`")),
            }
        });
        value.unwrap_or_else(|| Value::unknown(format!("parameter `{name}` refers to itself")))
    }

    /// `variables('name')`, including `copy` variables.
    pub fn variable(&self, name: &str) -> Value {
        let key = name.to_ascii_lowercase();
        let value = self.scope.memoized(format!("v:{key}"), || {
            let label: Rc<str> = Rc::from(format!("in variable `{name}`"));
            let env = Env::new(self.scope.clone()).deeper();
            if let Some((_, ast)) = self.scope.variables.get(&key) {
                env.eval_json(ast, &label)
            } else if let Some(def) = self.scope.variable_copies.get(&key) {
                match (find(def, "count"), find(def, "input")) {
                    (Some(count), Some(input)) => env.copy_array(name, count, input, &label),
                    _ => Value::unknown(format!("copy variable `{name}` lacks `count` or `input`")),
                }
            } else {
                Value::unknown(format!("the template declares no variable `{name}`"))
            }
        });
        value.unwrap_or_else(|| Value::unknown(format!("variable `{name}` refers to itself")))
    }

    /// `copyIndex()`, `copyIndex(offset)`, `copyIndex('loop')`, `copyIndex('loop', offset)`.
    pub fn copy_index(&self, loop_name: Option<&str>) -> Option<i64> {
        let mut frame = self.copy.as_deref();
        while let Some(f) = frame {
            if loop_name.is_none_or(|n| n.eq_ignore_ascii_case(&f.name)) {
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
        let env = Env::new(self.scope.clone())
            .with_locals(Locals {
                lambda: Vec::new(),
                function_parameters: Some(params),
            })
            .deeper();
        let env = Env {
            depth: self.depth + 1,
            ..env
        };
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
        Kind::Int(n) => Err(format!("count {n} is outside 0..={MAX_COPIES}")),
        Kind::Str(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=MAX_COPIES).contains(n))
            .ok_or_else(|| format!("count `{s}` is not a number from 0 to {MAX_COPIES}")),
        Kind::Unknown(r) => Err(r.to_string()),
        _ => Err(format!("count is a {}, not a number", count.type_name())),
    }
}

/// `target.name` / `target[index]`: properties case-insensitively, array elements by index.
fn member(target: Value, index: &Value, dotted: bool) -> Value {
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
            label: label.to_owned(),
            file: o.file.clone(),
        })
    })
}
