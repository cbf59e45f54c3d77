//! The template functions. Arguments are evaluated here, not by the caller, so that
//! `if`, `and`, `or` and `coalesce` evaluate only what they need and lambdas bind
//! their variables. An unknown argument makes the result unknown (with its reason)
//! unless the function's answer does not depend on it.

use std::rc::Rc;

use super::eval::{INVALID, MAX_COPIES};
use super::parse::Expr;
use super::scope::{Env, Locals};
use super::value::{Kind, Value};

/// Calls function `name` (case-insensitive) with unevaluated `args`.
pub fn call(env: &Env<'_>, name: &str, args: &[Expr]) -> Value {
    let lower = name.to_ascii_lowercase();
    // Functions that control evaluation of their arguments.
    match lower.as_str() {
        "if" => return if_(env, args),
        "and" => return logical(env, args, false),
        "or" => return logical(env, args, true),
        "coalesce" => return coalesce(env, args),
        "filter" | "map" | "sort" | "reduce" | "toobject" | "mapvalues" | "groupby" => return lambda_function(env, &lower, args),
        "lambda" => return Value::unknown("a lambda can only be an argument of filter, map, reduce, sort, toObject, mapValues or groupBy"),
        _ => {}
    }
    // `tryGet(reference(<module>), 'outputs', '<name>', …)`: that output only.
    if lower == "tryget" {
        if let [target, Expr::Str(outputs, _), output, rest @ ..] = args {
            if let Some(reference_args) =
                reference_call(target).filter(|_| outputs.eq_ignore_ascii_case("outputs"))
            {
                let output = env.eval(output);
                if let Some(found) = output
                    .as_text()
                    .and_then(|o| module_output(env, reference_args, o))
                {
                    // `tryGet` of an output the module does not have is null.
                    let found = found.unwrap_or_else(|_| Value::null());
                    let mut values = vec![found];
                    values.extend(rest.iter().map(|a| env.eval(a)));
                    return try_get(&values).unwrap_or_else(Value::unknown);
                }
            }
        }
    }
    let values: Vec<Value> = args.iter().map(|a| env.eval(a)).collect();
    // A hash of deployment-time values is itself known only at deployment time: show
    // the call (equal calls still give equal names within a template).
    if matches!(lower.as_str(), "uniquestring" | "guid")
        && values
            .iter()
            .any(|v| matches!(v.kind, Kind::Placeholder(_)))
    {
        let shown: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        return Value::placeholder(format!("{{{name}({})}}", shown.join(", ")));
    }
    // A user-defined function's output, like an object or array built by these
    // functions, keeps the parts that do not depend on an unknown argument.
    if lower.contains('.') {
        return env.user_function(name, values);
    }
    match lower.as_str() {
        "createobject" => return create_object(&values).unwrap_or_else(Value::unknown),
        "createarray" => return Value::array(values),
        "union" => return union(&values).unwrap_or_else(Value::unknown),
        // An object known in part: not empty when a property is known, and holding a
        // key that is among the known ones.
        "empty" if matches!(values.as_slice(), [v] if v.as_partial().is_some()) => {
            return Value::bool(false)
        }
        "contains" => {
            if let [target, key] = values.as_slice() {
                if let (Kind::Partial { known, .. }, Some(k)) = (&target.kind, key.as_str()) {
                    if known.iter().any(|(name, _)| name.eq_ignore_ascii_case(k)) {
                        return Value::bool(true);
                    }
                }
            }
        }
        // Reads the known part of an object known in part.
        "tryget" => return try_get(&values).unwrap_or_else(Value::unknown),
        _ => {}
    }
    // Functions whose answer needs no argument values, or tolerates unknown ones.
    match lower.as_str() {
        "utcnow" | "newguid" => {
            return Value::unknown(format!("`{name}()` differs on every deployment"))
        }
        "reference" => return reference(env, &values),
        "resourceinfo" => return Value::unknown("`resourceInfo` is resolved by the deployment"),
        "pickzones" | "providers" | "deployer" if values.iter().all(|v| !v.is_unknown()) => {
            return context_object(&lower).unwrap_or_else(|| {
                Value::unknown(format!("`{name}()` is resolved by the deployment"))
            })
        }
        n if n.starts_with("list") => {
            return Value::unknown(format!(
                "`{name}()` reads secrets or state from Azure at deployment time"
            ))
        }
        _ => {}
    }
    if let Some(u) = first_unknown(&values) {
        return u;
    }
    let result = match lower.as_str() {
        "parameters" => one_str(&values).map(|n| env.parameter(n)),
        "variables" => one_str(&values).map(|n| env.variable(n)),
        "lambdavariables" => one_str(&values).map(|n| env.lambda_variable(n)),
        "copyindex" => copy_index(env, &values),
        "null" => Ok(Value::null()),
        "true" => Ok(Value::bool(true)),
        "false" => Ok(Value::bool(false)),
        "equals" => two(&values).map(|(a, b)| match a.equals(b) {
            Some(eq) => Value::bool(eq),
            None => Value::unknown(undecided_comparison(a, b)),
        }),
        "not" => one(&values).and_then(|v| match v.kind {
            Kind::Bool(b) => Ok(Value::bool(!b)),
            _ => Err(format!("`not` needs a bool, got {}", v.type_name())),
        }),
        "bool" => one(&values).and_then(to_bool),
        "int" => one(&values).and_then(to_int),
        "float" => one(&values).and_then(|v| match &v.kind {
            Kind::Int(i) => Ok(Value::new(Kind::Float(*i as f64))),
            Kind::Float(_) => Ok(v.clone()),
            Kind::Str(s) => s
                .parse::<f64>()
                .map(|f| Value::new(Kind::Float(f)))
                .map_err(|_| format!("`{s}` is not a number")),
            _ => Err("`float` needs a number or string".to_owned()),
        }),
        "string" => one(&values).map(to_string_value),
        "json" => one(&values).and_then(|v| match &v.kind {
            Kind::Str(s) => serde_json::from_str::<serde_json::Value>(s)
                .map(|j| from_json(&j))
                .map_err(|e| format!("`json` got text that is not JSON: {e}")),
            _ => Err("`json` needs a string".to_owned()),
        }),
        "empty" => one(&values).map(|v| {
            Value::bool(match &v.kind {
                Kind::Null => true,
                Kind::Str(s) => s.is_empty(),
                Kind::Array(a) => a.is_empty(),
                Kind::Object(o) => o.is_empty(),
                _ => false,
            })
        }),
        "contains" => two(&values).and_then(|(c, item)| contains(c, item)),
        "intersection" => intersection(&values),
        "array" => one(&values).map(|v| match v.kind {
            Kind::Array(_) => v.clone(),
            _ => Value::array(vec![v.clone()]),
        }),
        "first" | "last" => one(&values).and_then(|v| first_last(v, lower == "first")),
        "length" => one(&values).and_then(|v| match &v.kind {
            Kind::Str(s) => Ok(Value::int(s.chars().count() as i64)),
            Kind::Array(a) => Ok(Value::int(a.len() as i64)),
            Kind::Object(o) => Ok(Value::int(o.len() as i64)),
            Kind::Placeholder(_) => {
                Err("the length of a deployment-time name is not known".to_owned())
            }
            _ => Err(format!("`length` of a {}", v.type_name())),
        }),
        "tolower" => map_text(&values, |s| s.to_lowercase()),
        "toupper" => map_text(&values, |s| s.to_uppercase()),
        "trim" => map_text(&values, |s| s.trim().to_owned()),
        "concat" => concat(&values),
        "format" => format_(&values),
        "replace" => three_str(&values).and_then(|(s, a, b)| {
            if !a.is_empty() && b.len() > a.len() {
                fits(s.len() as u64 + s.matches(a).count() as u64 * (b.len() - a.len()) as u64)?;
            }
            Ok(text_like(&values[0], s.replace(a, b)))
        }),
        "split" => split(&values),
        "join" => join(&values),
        "startswith" => two_str(&values)
            .map(|(s, p)| Value::bool(s.to_lowercase().starts_with(&p.to_lowercase()))),
        "endswith" => two_str(&values)
            .map(|(s, p)| Value::bool(s.to_lowercase().ends_with(&p.to_lowercase()))),
        "indexof" | "lastindexof" => index_of(&values, lower == "indexof"),
        "substring" => substring(&values),
        "take" | "skip" => take_skip(&values, lower == "take"),
        "min" | "max" => min_max(&values, lower == "min"),
        "range" => two(&values).and_then(|(a, b)| match (&a.kind, &b.kind) {
            (Kind::Int(start), Kind::Int(count)) if (0..=10_000).contains(count) => {
                Ok(Value::array(
                    (0..*count)
                        .map(|i| Value::int(start.saturating_add(i)))
                        .collect(),
                ))
            }
            _ => Err("`range` needs a start and a count from 0 to 10000".to_owned()),
        }),
        "add" | "sub" | "mul" | "div" | "mod" => arithmetic(&lower, &values),
        "greater" | "less" | "greaterorequals" | "lessorequals" => compare(&lower, &values),
        "shallowmerge" => one(&values).and_then(shallow_merge),
        "objectkeys" => one(&values).and_then(|v| match &v.kind {
            Kind::Object(o) => Ok(Value::array(
                o.iter().map(|(k, _)| Value::str(k.clone())).collect(),
            )),
            _ => Err("`objectKeys` needs an object".to_owned()),
        }),
        "items" => one(&values).and_then(items),
        "base64" => one_str(&values).map(|s| Value::str(base64_encode(s.as_bytes()))),
        "base64tostring" => one_str(&values).and_then(|s| base64_decode(s).map(Value::str)),
        "base64tojson" => one_str(&values).and_then(|s| {
            let text = base64_decode(s)?;
            serde_json::from_str::<serde_json::Value>(&text)
                .map(|j| from_json(&j))
                .map_err(|e| format!("`base64ToJson` decoded text that is not JSON: {e}"))
        }),
        "uricomponent" => one_str(&values).map(|s| Value::str(uri_component(s))),
        "uricomponenttostring" => one_str(&values).map(|s| Value::str(uri_component_to_string(s))),
        "datauritostring" => one_str(&values)
            .and_then(data_uri_to_string)
            .map(Value::str),
        "flatten" => one(&values).and_then(flatten),
        "fail" => one_str(&values).map(|m| Value::unknown(format!("{}{m}", super::eval::FAILS))),
        "parsecidr" => one_str(&values)
            .and_then(super::cidr::parse_cidr)
            .map(|fields| {
                Value::object(
                    fields
                        .into_iter()
                        .map(|(k, v)| {
                            let v = match v {
                                super::cidr::Field::Text(t) => Value::str(t),
                                super::cidr::Field::Int(i) => Value::int(i),
                            };
                            (Rc::from(k), v)
                        })
                        .collect(),
                )
            }),
        "cidrsubnet" => cidr_subnet(&values),
        "cidrhost" => two(&values)
            .and_then(|(n, i)| super::cidr::cidr_host(text(n)?, int_arg(i)?).map(Value::str)),
        "datetimeadd" => date_time_add(&values),
        "datetimetoepoch" => one_str(&values)
            .and_then(super::datetime::parse_utc)
            .map(Value::int),
        "datetimefromepoch" => one(&values)
            .and_then(int_arg)
            .and_then(super::datetime::format_utc)
            .map(Value::str),
        "uri" => linked_uri(&values)
            .map(Ok)
            .unwrap_or_else(|| two_str(&values).map(|(base, rel)| Value::str(join_uri(base, rel)))),
        "datauri" => one_str(&values).map(|s| {
            Value::str(format!(
                "data:text/plain;charset=utf8;base64,{}",
                base64_encode(s.as_bytes())
            ))
        }),
        "padleft" => pad_left(&values),
        "uniquestring" => hashed(&values, unique_string),
        "guid" => hashed(&values, guid),
        "resourceid" => resource_id(&values, Scope::ResourceGroup),
        "subscriptionresourceid" => resource_id(&values, Scope::Subscription),
        "tenantresourceid" => resource_id(&values, Scope::Tenant),
        "managementgroupresourceid" => resource_id(&values, Scope::ManagementGroup),
        "extensionresourceid" => extension_resource_id(&values),
        "environment" | "resourcegroup" | "subscription" | "tenant" | "deployment"
        | "managementgroup" => Ok(match lower.as_str() {
            "deployment" => deployment(env),
            other => context_object(other).unwrap_or_else(|| Value::unknown("not known")),
        }),
        _ => Err(format!("trustlint does not evaluate the function `{name}`")),
    };
    result.unwrap_or_else(Value::unknown)
}

type R = Result<Value, String>;

fn first_unknown(values: &[Value]) -> Option<Value> {
    values.iter().find_map(Value::as_unknown)
}

fn undecided_comparison(a: &Value, b: &Value) -> String {
    let p = if matches!(a.kind, Kind::Placeholder(_)) {
        a
    } else {
        b
    };
    format!("the comparison depends on `{p}`, which is known only at deployment time")
}

fn one(values: &[Value]) -> Result<&Value, String> {
    match values {
        [v] => Ok(v),
        _ => Err(format!("expected 1 argument, got {}", values.len())),
    }
}

fn two(values: &[Value]) -> Result<(&Value, &Value), String> {
    match values {
        [a, b] => Ok((a, b)),
        _ => Err(format!("expected 2 arguments, got {}", values.len())),
    }
}

fn text(v: &Value) -> Result<&str, String> {
    match &v.kind {
        Kind::Str(s) => Ok(s),
        Kind::Placeholder(p) => Err(format!("`{p}` is known only at deployment time")),
        _ => Err(format!("expected a string, got {}", v.type_name())),
    }
}

fn one_str(values: &[Value]) -> Result<&str, String> {
    one(values).and_then(text)
}

fn two_str(values: &[Value]) -> Result<(&str, &str), String> {
    two(values).and_then(|(a, b)| Ok((text(a)?, text(b)?)))
}

fn three_str(values: &[Value]) -> Result<(&str, &str, &str), String> {
    match values {
        [a, b, c] => Ok((text(a)?, text(b)?, text(c)?)),
        _ => Err(format!("expected 3 arguments, got {}", values.len())),
    }
}

fn int_arg(v: &Value) -> Result<i64, String> {
    match &v.kind {
        Kind::Int(i) => Ok(*i),
        _ => Err(format!("expected an integer, got {}", v.type_name())),
    }
}

/// A string result that stays a placeholder when its input was one.
fn text_like(input: &Value, s: String) -> Value {
    match input.kind {
        Kind::Placeholder(_) => Value::placeholder(s),
        _ => Value::str(s),
    }
}

fn map_text(values: &[Value], f: impl Fn(&str) -> String) -> R {
    let v = one(values)?;
    match v.as_text() {
        Some(s) => Ok(text_like(v, f(s))),
        None => Err(format!("expected a string, got {}", v.type_name())),
    }
}

fn if_(env: &Env<'_>, args: &[Expr]) -> Value {
    let [cond, yes, no] = args else {
        return Value::unknown("`if` takes 3 arguments");
    };
    let c = env.eval(cond);
    match &c.kind {
        Kind::Bool(true) => env.eval(yes),
        Kind::Bool(false) => env.eval(no),
        Kind::Unknown(r) | Kind::Partial { rest: r, .. } => Value::unknown(r.clone()),
        _ => Value::unknown(format!(
            "`if` needs a bool condition, got {}",
            c.type_name()
        )),
    }
}

fn logical(env: &Env<'_>, args: &[Expr], is_or: bool) -> Value {
    let mut unknown = None;
    for a in args {
        let v = env.eval(a);
        match &v.kind {
            Kind::Bool(b) if *b == is_or => return Value::bool(is_or),
            Kind::Bool(_) => {}
            Kind::Unknown(r) | Kind::Partial { rest: r, .. } => {
                unknown = unknown.or(Some(r.clone()))
            }
            _ => {
                return Value::unknown(format!(
                    "`{}` needs bools, got {}",
                    if is_or { "or" } else { "and" },
                    v.type_name()
                ))
            }
        }
    }
    match unknown {
        Some(r) => Value::unknown(r),
        None => Value::bool(!is_or),
    }
}

fn coalesce(env: &Env<'_>, args: &[Expr]) -> Value {
    for a in args {
        let v = env.eval(a);
        match v.kind {
            Kind::Null => continue,
            _ => return v,
        }
    }
    Value::null()
}

fn lambda_function(env: &Env<'_>, name: &str, args: &[Expr]) -> Value {
    let (input, lambdas) = match args.split_first() {
        Some((input, rest)) if !rest.is_empty() => (env.eval(input), rest),
        _ => return Value::unknown(format!("`{name}` needs an input and a lambda")),
    };
    if let Some(r) = input.unknown_reason() {
        return Value::unknown(r.clone());
    }
    let parse_lambda = |e: &Expr| -> Option<(Vec<Rc<str>>, Expr)> {
        let Expr::Call { name, args } = e else {
            return None;
        };
        if !name.eq_ignore_ascii_case("lambda") {
            return None;
        }
        let (body, names) = args.split_last()?;
        let names = names
            .iter()
            .map(|n| match n {
                Expr::Str(s, _) => Some(Rc::from(s.as_str())),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some((names, body.clone()))
    };
    let apply = |lambda: &(Vec<Rc<str>>, Expr), bound: Vec<Value>| -> Value {
        let mut vars: Vec<(Rc<str>, Value)> = env
            .locals
            .as_ref()
            .map(|l| l.lambda.clone())
            .unwrap_or_default();
        vars.extend(lambda.0.iter().cloned().zip(bound));
        let function_parameters = env
            .locals
            .as_ref()
            .and_then(|l| l.function_parameters.clone());
        env.with_locals(Locals {
            lambda: vars,
            function_parameters,
        })
        .eval(&lambda.1)
    };
    let items: Vec<Value> = match (&input.kind, name) {
        (Kind::Array(a), _) => a.as_ref().clone(),
        (Kind::Object(o), "mapvalues") => o.iter().map(|(_, v)| v.clone()).collect(),
        _ => {
            return Value::unknown(format!(
                "`{name}` needs an array, got {}",
                input.type_name()
            ))
        }
    };
    if name == "reduce" {
        let init = env.eval(&lambdas[0]);
        let Some(lambda) = lambdas.get(1).and_then(parse_lambda) else {
            return Value::unknown("`reduce` needs an initial value and a lambda");
        };
        return items.iter().enumerate().fold(init, |acc, (i, item)| {
            let mut bound = vec![acc, item.clone()];
            if lambda.0.len() > 2 {
                bound.push(Value::int(i as i64));
            }
            apply(&lambda, bound)
        });
    }
    let Some(first) = parse_lambda(&lambdas[0]) else {
        return Value::unknown(format!("`{name}` needs a lambda"));
    };
    let with_index = |item: &Value, i: usize| {
        let mut b = vec![item.clone()];
        if first.0.len() > 1 {
            b.push(Value::int(i as i64));
        }
        b
    };
    match name {
        "filter" => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match &apply(&first, with_index(item, i)).kind {
                    Kind::Bool(true) => out.push(item.clone()),
                    Kind::Bool(false) => {}
                    Kind::Unknown(r) => return Value::unknown(r.clone()),
                    _ => return Value::unknown("the `filter` lambda must return a bool"),
                }
            }
            Value::array(out)
        }
        "map" => {
            let out: Vec<Value> = items
                .iter()
                .enumerate()
                .map(|(i, item)| apply(&first, with_index(item, i)))
                .collect();
            Value::array(out)
        }
        "mapvalues" => {
            let Kind::Object(o) = &input.kind else {
                unreachable!()
            };
            Value::object(
                o.iter()
                    .map(|(k, v)| (k.clone(), apply(&first, vec![v.clone()])))
                    .collect(),
            )
        }
        "sort" => {
            // The lambda says whether its first argument goes first. A template may
            // give one that is no order at all (`lambda('a', 'b', true())`): a merge
            // sort of our own takes any answers without panicking, as the standard
            // sorts may.
            let mut before =
                |a: &Value, b: &Value| match apply(&first, vec![a.clone(), b.clone()]).kind {
                    Kind::Bool(b) => Some(b),
                    _ => None,
                };
            match merge_sort(items.to_vec(), &mut before) {
                Some(sorted) => Value::array(sorted),
                None => Value::unknown("the `sort` lambda's result is not known"),
            }
        }
        "toobject" => {
            let value_lambda = lambdas.get(1).and_then(parse_lambda);
            let mut entries = Vec::new();
            for item in &items {
                let key = apply(&first, vec![item.clone()]);
                let Some(k) = key.as_text() else {
                    return Value::unknown(
                        key.unknown_reason()
                            .map(|r| r.to_string())
                            .unwrap_or_else(|| "`toObject` keys must be strings".to_owned()),
                    );
                };
                let v = match &value_lambda {
                    Some(l) => apply(l, vec![item.clone()]),
                    None => item.clone(),
                };
                entries.push((Rc::from(k), v));
            }
            Value::object(entries)
        }
        "groupby" => {
            let mut groups: Vec<(Rc<str>, Vec<Value>)> = Vec::new();
            for item in &items {
                let key = apply(&first, vec![item.clone()]);
                let Some(k) = key.as_text() else {
                    return Value::unknown("`groupBy` keys must be known strings");
                };
                match groups.iter_mut().find(|(g, _)| g.as_ref() == k) {
                    Some((_, members)) => members.push(item.clone()),
                    None => groups.push((Rc::from(k), vec![item.clone()])),
                }
            }
            Value::object(
                groups
                    .into_iter()
                    .map(|(k, v)| (k, Value::array(v)))
                    .collect(),
            )
        }
        _ => Value::unknown(format!("`{name}` is not supported")),
    }
}

fn copy_index(env: &Env<'_>, values: &[Value]) -> R {
    let (name, offset) = match values {
        [] => (None, 0),
        [v] => match &v.kind {
            Kind::Int(i) => (None, *i),
            Kind::Str(s) => (Some(s.as_ref()), 0),
            _ => return Err("`copyIndex` takes a loop name and/or an offset".to_owned()),
        },
        [n, o] => (Some(text(n)?), int_arg(o)?),
        _ => return Err("`copyIndex` takes at most 2 arguments".to_owned()),
    };
    env.copy_index(name)
        .map(|i| Value::int(i.saturating_add(offset)))
        .ok_or_else(|| match name {
            Some(n) => format!("`copyIndex('{n}')` is used outside that copy loop"),
            None => "`copyIndex()` is used outside a copy loop".to_owned(),
        })
}

fn to_bool(v: &Value) -> R {
    match &v.kind {
        Kind::Bool(_) => Ok(v.clone()),
        Kind::Int(i) => Ok(Value::bool(*i != 0)),
        Kind::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Value::bool(true)),
        Kind::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Value::bool(false)),
        _ => Err(format!("`bool` cannot convert {}", v)),
    }
}

fn to_int(v: &Value) -> R {
    match &v.kind {
        Kind::Int(_) => Ok(v.clone()),
        Kind::Float(f) => Ok(Value::int(*f as i64)),
        Kind::Str(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::int)
            .map_err(|_| format!("`int` cannot convert `{s}`")),
        _ => Err(format!("`int` cannot convert a {}", v.type_name())),
    }
}

/// `string()`: strings as they are, booleans as `True`/`False`, others as compact JSON.
/// The text `string()` gives for a value, or why it is not known (an array or object
/// with an unknown part has no known text).
fn text_of(v: &Value) -> Result<String, String> {
    let t = to_string_value(v);
    match (t.as_text(), t.unknown_reason()) {
        (Some(text), _) => Ok(text.to_owned()),
        (None, Some(reason)) => Err(reason.to_string()),
        (None, None) => Ok(String::new()),
    }
}

pub fn to_string_value(v: &Value) -> Value {
    match &v.kind {
        Kind::Str(_) | Kind::Placeholder(_) => v.clone(),
        Kind::Bool(b) => Value::str(if *b { "True" } else { "False" }),
        Kind::Null => Value::str(""),
        // The text of an array or object is known only if every part of it is.
        _ => match v.unknown_within() {
            Some(reason) => Value::unknown(reason),
            None => Value::str(v.to_json().to_string()),
        },
    }
}

fn from_json(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::null(),
        J::Bool(b) => Value::bool(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::int)
            .unwrap_or_else(|| Value::new(Kind::Float(n.as_f64().unwrap_or(0.0)))),
        J::String(s) => Value::str(s.as_str()),
        J::Array(a) => Value::array(a.iter().map(from_json).collect()),
        J::Object(o) => Value::object(
            o.iter()
                .map(|(k, v)| (Rc::from(k.as_str()), from_json(v)))
                .collect(),
        ),
    }
}

/// Charges `work` steps (element comparisons, kilobytes scanned) to the template's call
/// budget: a single call can do work quadratic in its arguments.
fn spend(work: usize) -> Result<(), String> {
    if super::eval::spend_calls(work as u64) {
        Ok(())
    } else {
        Err(super::eval::too_many_calls())
    }
}

fn contains(container: &Value, item: &Value) -> R {
    match &container.kind {
        Kind::Str(s) => {
            spend(s.len() / 1024)?;
            Ok(Value::bool(s.contains(text(&to_string_value(item))?)))
        }
        Kind::Array(items) => {
            spend(items.len())?;
            contains_equal(items, item).map(Value::bool)
        }
        Kind::Object(_) => Ok(Value::bool(container.get(text(item)?).is_some())),
        Kind::Placeholder(p) => Err(format!("`{p}` is known only at deployment time")),
        _ => Err(format!(
            "`contains` cannot search a {}",
            container.type_name()
        )),
    }
}

/// `union`: objects merged recursively (a later argument wins), arrays without
/// duplicates. Among objects, an unknown argument could set any property: the
/// properties later arguments set stay known, the others become unknown.
fn union(values: &[Value]) -> R {
    let objectish = |v: &Value| matches!(v.kind, Kind::Object(_) | Kind::Partial { .. });
    let mergeable = values
        .iter()
        .all(|v| objectish(v) || matches!(v.kind, Kind::Unknown(_)));
    if mergeable && values.iter().any(objectish) {
        let mut out: Value = Value::object(Vec::new());
        for v in values {
            out = merge_objects(&out, v);
        }
        return Ok(out);
    }
    if let Some(unknown) = first_unknown(values) {
        return Ok(unknown);
    }
    if values.iter().all(|v| matches!(v.kind, Kind::Array(_))) {
        let mut out: Vec<Value> = Vec::new();
        for v in values {
            if let Kind::Array(items) = &v.kind {
                for i in items.iter() {
                    spend(out.len())?;
                    if !contains_equal(&out, i)? {
                        out.push(i.clone());
                    }
                }
            }
        }
        return Ok(Value::array(out));
    }
    Err("`union` needs all objects or all arrays".to_owned())
}

/// An object's properties, in written order.
type Entries = [(Rc<str>, Value)];

/// The known properties of an object (all of them) or of an object known in part, and
/// why the others are not known; `None` for other values.
fn object_parts(v: &Value) -> Option<(&Entries, Option<&Rc<str>>)> {
    match &v.kind {
        Kind::Object(entries) => Some((entries.as_slice(), None)),
        Kind::Partial { known, rest } => Some((known.as_slice(), Some(rest))),
        Kind::Unknown(rest) => Some((&[], Some(rest))),
        _ => None,
    }
}

/// Merges `b` into `a` as `union` does: nested objects recursively, anything else
/// replaced. Either may be unknown, or known only in part: a property `b` may hold
/// without saying so replaces whatever `a` knew of it.
fn merge_objects(a: &Value, b: &Value) -> Value {
    merge_objects_within(a, b, 0)
}

/// Objects nest at most this deep where `union` merges them (values built by a
/// `reduce` can nest deeper than the stack allows).
const MAX_MERGE_DEPTH: u32 = 512;

fn merge_objects_within(a: &Value, b: &Value, depth: u32) -> Value {
    if depth > MAX_MERGE_DEPTH {
        return Value::unknown(format!(
            "{}`union` merges objects nested deeper than {MAX_MERGE_DEPTH} levels",
            super::eval::OVER_BUDGET
        ));
    }
    let (Some((ea, a_rest)), Some((eb, b_rest))) = (object_parts(a), object_parts(b)) else {
        return b.clone();
    };
    let is_object = |v: &Value| matches!(v.kind, Kind::Object(_) | Kind::Partial { .. });
    // What `a` contributes: all of it, unless `b`'s unknown part may replace it.
    let mut entries: Vec<(Rc<str>, Value)> = match b_rest {
        None => ea.to_vec(),
        Some(_) => Vec::new(),
    };
    for (k, v) in eb.iter() {
        if let Err(reason) = spend(entries.len()) {
            return Value::unknown(reason);
        }
        let before = ea.iter().rev().find(|(ek, _)| ek.eq_ignore_ascii_case(k));
        let merged = match (before, a_rest) {
            (Some((_, old)), _) if is_object(old) && is_object(v) => {
                merge_objects_within(old, v, depth + 1)
            }
            // `a` may hold this property in its unknown part, as an object to merge.
            (None, Some(rest)) if is_object(v) => {
                merge_objects_within(&Value::unknown(rest.clone()), v, depth + 1)
            }
            _ => v.clone(),
        };
        set_property(&mut entries, k, merged);
    }
    let origin = b.origin.clone().or_else(|| a.origin.clone());
    match b_rest.or(a_rest) {
        None => Value::object(entries).with_origin(origin),
        Some(rest) => Value::partial(entries, rest.clone()).with_origin(origin),
    }
}

/// Sets property `key` (in any case) of an object's entries, in place when it is
/// there, else at the end, as a merge does.
fn set_property(entries: &mut Vec<(Rc<str>, Value)>, key: &Rc<str>, value: Value) {
    match entries
        .iter_mut()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
    {
        Some((_, existing)) => *existing = value,
        None => entries.push((key.clone(), value)),
    }
}

/// `shallowMerge`: objects merged one level deep, a later one winning. An unknown
/// element could set any property: only what later elements set stays known.
fn shallow_merge(v: &Value) -> R {
    let Kind::Array(items) = &v.kind else {
        return Err("`shallowMerge` needs an array of objects".to_owned());
    };
    let mut entries: Vec<(Rc<str>, Value)> = Vec::new();
    let mut rest: Option<Rc<str>> = None;
    for item in items.iter() {
        let Some((known, unknown)) = object_parts(item) else {
            return Err("`shallowMerge` needs an array of objects".to_owned());
        };
        if let Some(reason) = unknown {
            entries.clear();
            rest = Some(reason.clone());
        }
        for (k, v) in known.iter() {
            spend(entries.len())?;
            set_property(&mut entries, k, v.clone());
        }
    }
    Ok(match rest {
        None => Value::object(entries),
        Some(rest) => Value::partial(entries, rest),
    })
}

/// A stable merge sort by `before(a, b)` ("a goes first"); `None` as soon as an answer
/// is not known. Any answers are taken, consistent or not.
fn merge_sort(
    items: Vec<Value>,
    before: &mut dyn FnMut(&Value, &Value) -> Option<bool>,
) -> Option<Vec<Value>> {
    if items.len() <= 1 {
        return Some(items);
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let left = merge_sort(left, before)?;
    let right = merge_sort(right, before)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        // Stable: an element of the right half goes first only if it must.
        if before(b, a)? {
            out.extend(r.next());
        } else {
            out.extend(l.next());
        }
    }
    out.extend(l);
    out.extend(r);
    Some(out)
}

/// Whether `items` holds an element equal to `item`; an error when that depends on an
/// unknown part (functions that compare elements cannot tell what it equals).
fn contains_equal(items: &[Value], item: &Value) -> Result<bool, String> {
    let mut undecided = false;
    for other in items {
        match other.equals(item) {
            Some(true) => return Ok(true),
            Some(false) => {}
            None => undecided = true,
        }
    }
    match undecided {
        true => Err(item
            .unknown_within()
            .or_else(|| items.iter().find_map(Value::unknown_within))
            .map_or_else(
                || "the array holds values known only at deployment time".to_owned(),
                |r| r.to_string(),
            )),
        false => Ok(false),
    }
}

fn intersection(values: &[Value]) -> R {
    let (first, rest) = values
        .split_first()
        .ok_or("`intersection` needs arguments")?;
    let size = |v: &Value| match &v.kind {
        Kind::Array(a) => a.len(),
        Kind::Object(o) => o.len(),
        _ => 0,
    };
    spend(size(first).saturating_mul(rest.iter().map(size).sum::<usize>().max(1)))?;
    match &first.kind {
        Kind::Object(o) => {
            let mut kept = Vec::new();
            for (k, v) in o.iter() {
                let mut everywhere = true;
                for r in rest {
                    let same = match r.get(k) {
                        Some(w) => contains_equal(std::slice::from_ref(w), v)?,
                        None => false,
                    };
                    everywhere &= same;
                }
                if everywhere {
                    kept.push((k.clone(), v.clone()));
                }
            }
            Ok(Value::object(kept))
        }
        Kind::Array(a) => {
            let mut kept = Vec::new();
            for v in a.iter() {
                let mut everywhere = true;
                for r in rest {
                    everywhere &= match &r.kind {
                        Kind::Array(b) => contains_equal(b, v)?,
                        _ => false,
                    };
                }
                if everywhere {
                    kept.push(v.clone());
                }
            }
            Ok(Value::array(kept))
        }
        _ => Err("`intersection` needs objects or arrays".to_owned()),
    }
}

fn create_object(values: &[Value]) -> R {
    if values.len() % 2 != 0 {
        return Err("`createObject` needs key-value pairs".to_owned());
    }
    // Known parts stay known: an unknown value makes only its entry unknown, but an
    // unknown key could be any key, so the whole object is unknown.
    if let Some(key) = values.iter().step_by(2).find(|k| k.is_unknown()) {
        return Ok(key.as_unknown().unwrap_or_else(Value::null));
    }
    let mut entries = Vec::new();
    for pair in values.chunks(2) {
        entries.push((Rc::from(text(&pair[0])?), pair[1].clone()));
    }
    Ok(Value::object(entries))
}

fn first_last(v: &Value, first: bool) -> R {
    match &v.kind {
        Kind::Array(a) => Ok(if first { a.first() } else { a.last() }
            .cloned()
            .unwrap_or_else(Value::null)),
        Kind::Str(s) => Ok(Value::str(
            if first {
                s.chars().next()
            } else {
                s.chars().last()
            }
            .map(String::from)
            .unwrap_or_default(),
        )),
        _ => Err(format!("`first`/`last` of a {}", v.type_name())),
    }
}

/// Refuses to build a single value larger than the whole per-template byte budget:
/// checked before allocating, so that `padLeft('', 1000000000000)` costs nothing.
fn fits(bytes: u64) -> Result<(), String> {
    if bytes > super::eval::BYTE_BUDGET {
        Err(format!(
            "{}the value would be larger than {} MiB",
            super::eval::OVER_BUDGET,
            super::eval::BYTE_BUDGET >> 20
        ))
    } else {
        Ok(())
    }
}

fn concat(values: &[Value]) -> R {
    let total: u64 = values.iter().map(super::eval::shallow_size).sum();
    fits(total)?;
    if !values.is_empty()
        && values
            .iter()
            .all(|v| matches!(v.kind, Kind::Array(_) | Kind::Null))
    {
        let mut out = Vec::new();
        for v in values {
            if let Kind::Array(a) = &v.kind {
                out.extend(a.iter().cloned());
            }
        }
        return Ok(Value::array(out));
    }
    let mut s = String::new();
    let mut placeholder = false;
    for v in values {
        match &v.kind {
            Kind::Str(t) => s.push_str(t),
            Kind::Placeholder(t) => {
                placeholder = true;
                s.push_str(t);
            }
            Kind::Int(i) => s.push_str(&i.to_string()),
            Kind::Bool(_) | Kind::Float(_) | Kind::Null => {
                s.push_str(to_string_value(v).as_text().unwrap_or_default())
            }
            _ => {
                return Err(format!(
                    "`concat` cannot join a {} to strings",
                    v.type_name()
                ))
            }
        }
    }
    Ok(if placeholder {
        Value::placeholder(s)
    } else {
        Value::str(s)
    })
}

fn format_(values: &[Value]) -> R {
    let (fmt, args) = values
        .split_first()
        .ok_or("`format` needs a format string")?;
    let fmt = text(fmt)?;
    let mut out = String::new();
    let mut placeholder = false;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                fits(out.len() as u64)?;
                let mut spec = String::new();
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                    spec.push(d);
                }
                let (index, format) = spec.split_once(':').unwrap_or((spec.as_str(), ""));
                let i: usize = index
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad placeholder `{{{spec}}}` in format string"))?;
                let arg = args
                    .get(i)
                    .ok_or_else(|| format!("format placeholder {{{i}}} has no argument"))?;
                if matches!(arg.kind, Kind::Placeholder(_)) {
                    placeholder = true;
                }
                out.push_str(&format_arg(arg, format)?);
            }
            other => out.push(other),
        }
    }
    Ok(if placeholder {
        Value::placeholder(out)
    } else {
        Value::str(out)
    })
}

/// One argument of `format`, with the .NET numeric format specifiers templates use.
fn format_arg(arg: &Value, spec: &str) -> Result<String, String> {
    if let (Kind::Int(i), Some(kind)) = (&arg.kind, spec.chars().next()) {
        let width: usize = spec[kind.len_utf8()..].parse().unwrap_or(0);
        // Rust's formatter takes widths up to 65,535; ARM's own limit is lower.
        if width > u16::MAX as usize {
            return Err(format!("format width {width} is too large"));
        }
        return Ok(match kind.to_ascii_uppercase() {
            'D' => format!("{:0width$}", i, width = width),
            'X' => format!("{:0width$X}", i, width = width),
            'N' => {
                let digits = i.abs().to_string();
                let mut grouped = String::new();
                for (n, ch) in digits.chars().enumerate() {
                    if n > 0 && (digits.len() - n) % 3 == 0 {
                        grouped.push(',');
                    }
                    grouped.push(ch);
                }
                let sign = if *i < 0 { "-" } else { "" };
                let places: usize = if spec.len() > 1 { width } else { 2 };
                if places > 0 {
                    format!("{sign}{grouped}.{}", "0".repeat(places))
                } else {
                    format!("{sign}{grouped}")
                }
            }
            _ => i.to_string(),
        });
    }
    text_of(arg)
}

fn split(values: &[Value]) -> R {
    let (s, delims) = two(values)?;
    let input = s.as_text().ok_or("`split` needs a string")?;
    let delimiters: Vec<String> = match &delims.kind {
        Kind::Str(d) => vec![d.to_string()],
        Kind::Array(a) => a
            .iter()
            .map(|d| text(d).map(str::to_owned))
            .collect::<Result<_, _>>()?,
        _ => return Err("`split` needs a delimiter string or array".to_owned()),
    };
    let mut parts = vec![input.to_owned()];
    for d in delimiters.iter().filter(|d| !d.is_empty()) {
        parts = parts
            .iter()
            .flat_map(|p| p.split(d.as_str()).map(str::to_owned).collect::<Vec<_>>())
            .collect();
    }
    Ok(Value::array(
        parts.into_iter().map(|p| text_like(s, p)).collect(),
    ))
}

fn join(values: &[Value]) -> R {
    let (arr, delim) = two(values)?;
    let Kind::Array(items) = &arr.kind else {
        return Err("`join` needs an array".to_owned());
    };
    let parts: Vec<Value> = items.iter().map(to_string_value).collect();
    if let Some(unknown) = first_unknown(&parts) {
        return Ok(unknown);
    }
    concat(&itertools_intersperse(parts, Value::str(text(delim)?)))
}

fn itertools_intersperse(items: Vec<Value>, sep: Value) -> Vec<Value> {
    let mut out = Vec::with_capacity(items.len() * 2);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(sep.clone());
        }
        out.push(item);
    }
    if out.is_empty() {
        out.push(Value::str(""));
    }
    out
}

fn index_of(values: &[Value], first: bool) -> R {
    let (hay, needle) = two(values)?;
    match &hay.kind {
        Kind::Array(items) => {
            // The first (or last) element equal to the needle; an element before it whose
            // equality is not known could be the one.
            let mut order: Vec<(usize, &Value)> = items.iter().enumerate().collect();
            if !first {
                order.reverse();
            }
            for (i, v) in order {
                if contains_equal(std::slice::from_ref(v), needle)? {
                    return Ok(Value::int(i as i64));
                }
            }
            Ok(Value::int(-1))
        }
        _ => {
            let (h, n) = (text(hay)?.to_lowercase(), text(needle)?.to_lowercase());
            let found = if first { h.find(&n) } else { h.rfind(&n) };
            Ok(Value::int(
                found.map_or(-1, |b| h[..b].chars().count() as i64),
            ))
        }
    }
}

fn substring(values: &[Value]) -> R {
    let (s, start, len) = match values {
        [s, start] => (text(s)?, int_arg(start)?, None),
        [s, start, len] => (text(s)?, int_arg(start)?, Some(int_arg(len)?)),
        _ => return Err("`substring` takes 2 or 3 arguments".to_owned()),
    };
    let chars: Vec<char> = s.chars().collect();
    let start = usize::try_from(start).map_err(|_| "`substring` start is negative")?;
    let len = match len {
        Some(l) => usize::try_from(l).map_err(|_| "`substring` length is negative")?,
        None => chars.len().saturating_sub(start),
    };
    if start + len > chars.len() {
        return Err(format!(
            "`substring` of {} characters from {start} runs past the end",
            len
        ));
    }
    Ok(Value::str(
        chars[start..start + len].iter().collect::<String>(),
    ))
}

fn take_skip(values: &[Value], take: bool) -> R {
    let (v, n) = two(values)?;
    let n = usize::try_from(int_arg(n)?.max(0)).unwrap_or(0);
    match &v.kind {
        Kind::Array(a) => Ok(Value::array(if take {
            a.iter().take(n).cloned().collect()
        } else {
            a.iter().skip(n).cloned().collect()
        })),
        Kind::Str(s) => Ok(Value::str(if take {
            s.chars().take(n).collect::<String>()
        } else {
            s.chars().skip(n).collect::<String>()
        })),
        _ => Err(format!("`take`/`skip` of a {}", v.type_name())),
    }
}

fn min_max(values: &[Value], min: bool) -> R {
    // An unknown element keeps its reason (it could be the smallest or the largest).
    if let [v] = values {
        if let Some(reason) = v.unknown_within() {
            return Err(reason.to_string());
        }
    }
    let ints: Vec<i64> = match values {
        [v] if matches!(v.kind, Kind::Array(_)) => {
            let Kind::Array(a) = &v.kind else {
                unreachable!()
            };
            a.iter().map(int_arg).collect::<Result<_, _>>()?
        }
        _ => values.iter().map(int_arg).collect::<Result<_, _>>()?,
    };
    let r = if min {
        ints.iter().min()
    } else {
        ints.iter().max()
    };
    r.map(|i| Value::int(*i))
        .ok_or_else(|| "`min`/`max` of nothing".to_owned())
}

fn arithmetic(op: &str, values: &[Value]) -> R {
    let (a, b) = two(values)?;
    let (a, b) = (int_arg(a)?, int_arg(b)?);
    let r = match op {
        "add" => a.checked_add(b),
        "sub" => a.checked_sub(b),
        "mul" => a.checked_mul(b),
        "div" => a.checked_div(b),
        _ => a.checked_rem(b),
    };
    r.map(Value::int)
        .ok_or_else(|| format!("`{op}({a}, {b})` overflows or divides by zero"))
}

fn compare(op: &str, values: &[Value]) -> R {
    let (a, b) = two(values)?;
    let ord = match (&a.kind, &b.kind) {
        (Kind::Int(x), Kind::Int(y)) => x.cmp(y),
        (Kind::Str(x), Kind::Str(y)) => x.cmp(y),
        _ => return Err(format!("`{op}` compares two integers or two strings")),
    };
    use std::cmp::Ordering::*;
    Ok(Value::bool(match op {
        "greater" => ord == Greater,
        "less" => ord == Less,
        "greaterorequals" => ord != Less,
        _ => ord != Greater,
    }))
}

fn try_get(values: &[Value]) -> R {
    let (target, keys) = values.split_first().ok_or("`tryGet` needs arguments")?;
    let mut current = target.clone();
    for key in keys {
        if let Some(unknown) = key.as_unknown() {
            return Ok(unknown);
        }
        if let (Some(part), Kind::Str(k)) = (current.as_partial(), &key.kind) {
            current = part.partial_get(k).unwrap_or_else(Value::null);
            continue;
        }
        if let Some(unknown) = current.as_unknown() {
            return Ok(unknown);
        }
        current = match (&current.kind, &key.kind) {
            (Kind::Object(_), Kind::Str(k)) => current.get(k).cloned().unwrap_or_else(Value::null),
            (Kind::Array(a), Kind::Int(i)) => usize::try_from(*i)
                .ok()
                .and_then(|i| a.get(i))
                .cloned()
                .unwrap_or_else(Value::null),
            (Kind::Null, _) => Value::null(),
            _ => return Err("`tryGet` needs an object or array".to_owned()),
        };
    }
    Ok(current)
}

fn items(v: &Value) -> R {
    let Kind::Object(o) = &v.kind else {
        return Err("`items` needs an object".to_owned());
    };
    let mut entries: Vec<&(Rc<str>, Value)> = o.iter().collect();
    entries.sort_by_key(|a| a.0.to_lowercase());
    Ok(Value::array(
        entries
            .into_iter()
            .map(|(k, v)| {
                Value::object(vec![
                    (Rc::from("key"), Value::str(k.clone())),
                    (Rc::from("value"), v.clone()),
                ])
            })
            .collect(),
    ))
}

fn pad_left(values: &[Value]) -> R {
    let (v, width, pad) = match values {
        [v, w] => (v, int_arg(w)?, " ".to_owned()),
        [v, w, p] => (v, int_arg(w)?, text(p)?.to_owned()),
        _ => return Err("`padLeft` takes 2 or 3 arguments".to_owned()),
    };
    let s = text_of(v)?;
    let missing = usize::try_from(width)
        .unwrap_or(0)
        .saturating_sub(s.chars().count());
    fits(missing as u64 * 4)?;
    let c = pad.chars().next().unwrap_or(' ');
    Ok(Value::str(format!("{}{s}", c.to_string().repeat(missing))))
}

/// A 64-bit FNV-1a hash of the arguments' texts: equal inputs give equal outputs.
fn hashed(values: &[Value], render: impl Fn(u64) -> String) -> R {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut placeholder = false;
    for v in values {
        if matches!(v.kind, Kind::Placeholder(_)) {
            placeholder = true;
        }
        let t = text_of(v)?;
        for b in t.bytes().chain([0xff]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    let s = render(hash);
    Ok(if placeholder {
        Value::placeholder(s)
    } else {
        Value::str(s)
    })
}

fn unique_string(mut h: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    (0..13)
        .map(|_| {
            let c = ALPHABET[(h % 32) as usize] as char;
            h = h.rotate_right(5) ^ 0x9e37_79b9_7f4a_7c15;
            c
        })
        .collect()
}

fn guid(h: u64) -> String {
    let lo = h ^ h.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) as u16,
        h as u16,
        (lo >> 48) as u16,
        lo & 0xffff_ffff_ffff
    )
}

#[derive(Clone, Copy)]
enum Scope {
    ResourceGroup,
    Subscription,
    Tenant,
    ManagementGroup,
}

/// `resourceId([subscriptionId], [resourceGroupName], type, name, …)` and friends.
fn resource_id(values: &[Value], scope: Scope) -> R {
    let strs: Vec<(String, bool)> = values
        .iter()
        .map(|v| match &v.kind {
            Kind::Str(s) => Ok((s.to_string(), false)),
            Kind::Placeholder(s) => Ok((s.to_string(), true)),
            _ => Err(format!("`resourceId` needs strings, got {}", v.type_name())),
        })
        .collect::<Result<_, _>>()?;
    let type_at = strs
        .iter()
        .position(|(s, _)| {
            s.contains('/') && s.split('/').next().is_some_and(|ns| ns.contains('.'))
        })
        .ok_or("`resourceId` needs a resource type")?;
    let (prefix, rest) = strs.split_at(type_at);
    let (ty, names) = rest
        .split_first()
        .ok_or("`resourceId` needs a resource type")?;
    // ARM reads `Microsoft.Network/routeTables/` as `Microsoft.Network/routeTables`.
    let type_segments: Vec<&str> = ty.0.trim_end_matches('/').split('/').collect();
    if type_segments.len() < 2 {
        return Err(format!("`{}` is not a resource type", ty.0));
    }
    if names.len() + 1 != type_segments.len() {
        return Err(format!(
            "`resourceId` of `{}` needs {} names, got {}",
            ty.0,
            type_segments.len() - 1,
            names.len()
        ));
    }
    let sub = "{subscription().subscriptionId}".to_owned();
    let rg = "{resourceGroup().name}".to_owned();
    let base = match (scope, prefix) {
        (Scope::ResourceGroup, []) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        (Scope::ResourceGroup, [g]) => format!("/subscriptions/{sub}/resourceGroups/{}", g.0),
        (Scope::ResourceGroup, [s, g]) => format!("/subscriptions/{}/resourceGroups/{}", s.0, g.0),
        (Scope::Subscription, []) => format!("/subscriptions/{sub}"),
        (Scope::Subscription, [s]) => format!("/subscriptions/{}", s.0),
        (Scope::Tenant, []) => String::new(),
        (Scope::ManagementGroup, []) => {
            "/providers/Microsoft.Management/managementGroups/{managementGroup().name}".to_owned()
        }
        (Scope::ManagementGroup, [m]) => {
            format!("/providers/Microsoft.Management/managementGroups/{}", m.0)
        }
        _ => return Err("`resourceId` got too many arguments before the type".to_owned()),
    };
    let mut id = format!("{base}/providers/{}/{}", type_segments[0], type_segments[1]);
    id.push('/');
    id.push_str(&names[0].0);
    for (seg, name) in type_segments[2..].iter().zip(&names[1..]) {
        id.push_str(&format!("/{seg}/{}", name.0));
    }
    // The ID always depends on the deployment's subscription unless all parts were given.
    Ok(Value::placeholder(id))
}

fn extension_resource_id(values: &[Value]) -> R {
    let (parent, rest) = values
        .split_first()
        .ok_or("`extensionResourceId` needs arguments")?;
    let parent = parent
        .as_text()
        .ok_or("`extensionResourceId` needs a resource ID")?
        .to_owned();
    let inner = resource_id(rest, Scope::Tenant)?;
    Ok(Value::placeholder(format!(
        "{parent}{}",
        inner.as_text().unwrap_or_default()
    )))
}

/// `reference()`: a resource declared in this template by symbolic name gives its
/// declared `properties`; anything else is known only at deployment time.
fn reference(env: &Env<'_>, values: &[Value]) -> Value {
    let Some(target) = values.first().and_then(|v| v.as_text()) else {
        return Value::unknown("`reference()` reads the deployed state of a resource");
    };
    let Some((resource, full_type, name)) = find_declaration(env, target) else {
        return Value::unknown(format!(
            "`reference('{target}')` reads the deployed state of a resource outside this template"
        ));
    };
    let existing = matches!(
        super::scope::find(resource, "existing"),
        Some(jsonc_parser::ast::Value::BooleanLit(b)) if b.value
    );
    if existing {
        // Never guess deployed state from a declaration.
        return Value::unknown(format!(
            "`reference('{target}')` reads the deployed state of existing resource `{name}`"
        ));
    }
    let key = super::scope::Memo::of(super::scope::Memo::Reference, resource);
    let full = values
        .get(2)
        .and_then(|v| v.as_str())
        .is_some_and(|s| s.eq_ignore_ascii_case("Full"));
    // `'Full'` puts the properties under `properties`, as ARM does.
    let shaped = |properties: Value| match full {
        true => Value::object(vec![(Rc::from("properties"), properties)]),
        false => properties,
    };
    if full_type.eq_ignore_ascii_case("Microsoft.Resources/deployments") {
        let describe = || format!("the outputs of deployment `{name}`");
        return shaped(
            env.scope
                .memoized(key, describe, || deployment_outputs(env, resource, &name))
                .unwrap_or_else(Value::unknown),
        );
    }
    let describe = || format!("`reference()` of `{name}`");
    let properties = env.scope.memoized(key, describe, || {
        let declared = match super::scope::find(resource, "properties") {
            Some(props) => {
                let label: Rc<str> = Rc::from(format!("in the properties of `{name}`"));
                Env::new(env.scope.clone()).eval_json(props, &label)
            }
            None => Value::object(Vec::new()),
        };
        with_runtime_endpoints(declared, &full_type, &name)
    });
    match properties {
        Ok(p) => shaped(p),
        Err(cycle) => Value::unknown(cycle),
    }
}

/// `reference()` of a nested deployment in this template: `{ "outputs": { name:
/// { "type", "value" } } }`, evaluated from its inline template as ARM would after
/// deploying it (a linked template's outputs stay unknown).
fn deployment_outputs<'a>(
    env: &Env<'a>,
    deployment: &'a jsonc_parser::ast::Object<'a>,
    name: &str,
) -> Value {
    let Some((inner_env, outputs)) = deployment_template(env, deployment) else {
        return outputs_later(name);
    };
    let entries = outputs
        .map(|o| o.properties.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|o| (Rc::from(o.name.as_str()), output_value(&inner_env, o, name)))
        .collect();
    Value::object(vec![(Rc::from("outputs"), Value::object(entries))])
}

fn outputs_later(name: &str) -> Value {
    Value::unknown(format!(
        "the outputs of deployment `{name}` are known only after it is deployed"
    ))
}

/// The environment a nested deployment's inline template is evaluated in, and its
/// `outputs`; `None` for a linked template.
fn deployment_template<'a>(
    env: &Env<'a>,
    deployment: &'a jsonc_parser::ast::Object<'a>,
) -> Option<(Env<'a>, Option<&'a jsonc_parser::ast::Object<'a>>)> {
    use super::scope::find;
    use jsonc_parser::ast::Value as Ast;
    let Some(Ast::Object(props)) = find(deployment, "properties") else {
        return None;
    };
    let Some(Ast::Object(inner)) = find(props, "template") else {
        return None;
    };
    let parent = Env::new(env.scope.clone());
    let written = find(deployment, "name").map(|n| (n, parent.clone()));
    let inner_env = match super::Scope::of_deployment(props, inner, written, &parent) {
        Some(scope) => Env::new(Rc::new(scope)),
        None => parent,
    };
    let outputs = match find(inner, "outputs") {
        Some(Ast::Object(o)) => Some(o),
        _ => None,
    };
    Some((inner_env, outputs))
}

/// One output, `{ "type", "value" }`, evaluated in the deployment's environment.
fn output_value<'a>(
    inner_env: &Env<'a>,
    output: &'a jsonc_parser::ast::ObjectProp<'a>,
    deployment: &str,
) -> Value {
    use super::scope::find;
    use jsonc_parser::ast::Value as Ast;
    let output_name = output.name.as_str();
    let label: Rc<str> = Rc::from(format!(
        "output `{output_name}` of deployment `{deployment}`"
    ));
    let Ast::Object(def) = &output.value else {
        return Value::unknown("the output is not an object");
    };
    let secure = matches!(find(def, "type"), Some(Ast::StringLit(t))
        if t.value.eq_ignore_ascii_case("securestring") || t.value.eq_ignore_ascii_case("secureObject"));
    if secure {
        return Value::unknown(format!(
            "output `{output_name}` of deployment `{deployment}` is secure: its value is not returned"
        ));
    }
    let value = match (find(def, "value"), find(def, "copy")) {
        (Some(v), _) => inner_env.eval_json(v, &label),
        (None, Some(Ast::Object(copy))) => match (find(copy, "count"), find(copy, "input")) {
            (Some(count), Some(input)) => inner_env.copy_array(
                super::scope::CopyLoop::Instances,
                output_name,
                count,
                input,
                &label,
            ),
            _ => Value::unknown(format!(
                "output `{output_name}` has a copy without `count` or `input`"
            )),
        },
        _ => Value::unknown(format!("output `{output_name}` has no `value`")),
    };
    let mut entry = vec![(Rc::from("value"), value)];
    if let Some(Ast::StringLit(t)) = find(def, "type") {
        entry.insert(0, (Rc::from("type"), Value::str(t.value.as_ref())));
    }
    Value::object(entry)
}

/// `reference(<deployment>).outputs.<output>` evaluating only that output (compiled
/// Bicep reads a module's outputs one at a time, and most are never needed). `None`
/// when the target is not a nested deployment of this template.
pub fn deployment_output(env: &Env<'_>, reference_args: &[Expr], output: &str) -> Option<Value> {
    module_output(env, reference_args, output)
        .map(|found| found.unwrap_or_else(|missing| Value::unknown(format!("{INVALID}{missing}"))))
}

/// [`deployment_output`], saying apart an output the module does not have (`Err`).
fn module_output(
    env: &Env<'_>,
    reference_args: &[Expr],
    output: &str,
) -> Option<Result<Value, String>> {
    let target = reference_args.first().map(|a| env.eval(a))?;
    let target = target.as_text()?;
    let (deployment, full_type, name) = find_declaration(env, target)?;
    if !full_type.eq_ignore_ascii_case("Microsoft.Resources/deployments") {
        return None;
    }
    let Some((inner_env, outputs)) = deployment_template(env, deployment) else {
        return Some(Ok(outputs_later(&name)));
    };
    let Some(def) = outputs.and_then(|o| {
        o.properties
            .iter()
            .rev()
            .find(|p| p.name.as_str().eq_ignore_ascii_case(output))
    }) else {
        return Some(Err(format!("deployment `{name}` has no output `{output}`")));
    };
    let key = super::scope::Memo::of(super::scope::Memo::Output, def);
    let describe = || format!("output `{output}` of deployment `{name}`");
    Some(Ok(env
        .scope
        .memoized(key, describe, || output_value(&inner_env, def, &name))
        .unwrap_or_else(Value::unknown)))
}

/// Is `e` a call of `reference()`? Its arguments.
pub fn reference_call(e: &Expr) -> Option<&[Expr]> {
    match e {
        Expr::Call { name, args } if name.eq_ignore_ascii_case("reference") => Some(args),
        _ => None,
    }
}

/// Finds a resource declared in this template by symbolic name, resource ID or plain
/// name; returns its declaration, full type and evaluated name.
fn find_declaration<'a>(
    env: &Env<'a>,
    target: &str,
) -> Option<(&'a jsonc_parser::ast::Object<'a>, String, String)> {
    use jsonc_parser::ast::Value as Ast;
    let text = |o: &jsonc_parser::ast::Object<'a>, key: &str| match super::scope::find(o, key) {
        Some(Ast::StringLit(s)) => Some(s.value.to_string()),
        _ => None,
    };
    let name_of = |o: &'a jsonc_parser::ast::Object<'a>| {
        super::scope::find(o, "name").and_then(|n| {
            let label: Rc<str> = Rc::from("resource name");
            Env::new(env.scope.clone())
                .eval_json(n, &label)
                .as_text()
                .map(str::to_owned)
        })
    };
    // See `Env::parameter` on looking up with a shorter-lived name.
    let symbols: &rustc_hash::FxHashMap<
        super::scope::Caseless<'_>,
        &jsonc_parser::ast::Object<'_>,
    > = &env.scope.symbols;
    if let Some(def) = symbols.get(&super::scope::Caseless(target)).copied() {
        return Some((
            def,
            text(def, "type")?,
            name_of(def).unwrap_or_else(|| target.to_owned()),
        ));
    }
    let wanted = crate::template::parse_resource_id(target);
    // Plain names only match one declaration; resource IDs match type and name.
    let mut found = None;
    for def in &env.scope.declarations {
        let ty = text(def, "type").unwrap_or_default();
        let matches_type = wanted
            .as_ref()
            .is_none_or(|(t, _)| t.eq_ignore_ascii_case(&ty));
        if !matches_type {
            continue;
        }
        let Some(name) = name_of(def) else { continue };
        let wanted_name = wanted.as_ref().map_or(target, |(_, n)| n.as_str());
        if name.eq_ignore_ascii_case(wanted_name) {
            if found.is_some() && wanted.is_none() {
                return None;
            }
            found = Some((*def, ty, name));
        }
    }
    found
}

/// Adds the endpoints Azure derives from a resource's name, so that
/// `reference(vault).vaultUri` and friends are known; other runtime-only properties
/// (`principalId`, keys, …) stay unknown.
fn with_runtime_endpoints(declared: Value, full_type: &str, name: &str) -> Value {
    let Kind::Object(entries) = &declared.kind else {
        return declared;
    };
    let mut entries = entries.as_ref().clone();
    let mut add = |key: &str, value: Value| {
        if !entries.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            entries.push((Rc::from(key), value));
        }
    };
    let host = |s: String| -> Value {
        if name.contains('{') {
            Value::placeholder(s)
        } else {
            Value::str(s)
        }
    };
    match full_type.to_ascii_lowercase().as_str() {
        "microsoft.keyvault/vaults" => {
            add("vaultUri", host(format!("https://{name}.vault.azure.net/")))
        }
        "microsoft.keyvault/managedhsms" => add(
            "hsmUri",
            host(format!("https://{name}.managedhsm.azure.net/")),
        ),
        "microsoft.keyvault/vaults/secrets" => {
            if let Some((vault, secret)) = name.split_once('/') {
                add(
                    "secretUri",
                    host(format!("https://{vault}.vault.azure.net/secrets/{secret}")),
                );
            }
        }
        "microsoft.containerregistry/registries" => {
            add("loginServer", host(format!("{name}.azurecr.io")))
        }
        "microsoft.servicebus/namespaces" | "microsoft.eventhub/namespaces" => add(
            "serviceBusEndpoint",
            host(format!("https://{name}.servicebus.windows.net:443/")),
        ),
        "microsoft.storage/storageaccounts" => {
            let endpoints = ["blob", "queue", "table", "file", "dfs"]
                .iter()
                .map(|svc| {
                    (
                        Rc::from(*svc),
                        host(format!("https://{name}.{svc}.core.windows.net/")),
                    )
                })
                .collect();
            add("primaryEndpoints", Value::object(endpoints));
        }
        _ => {}
    }
    Value::object(entries).with_origin(declared.origin.clone())
}

fn deployment(env: &Env<'_>) -> Value {
    Value::object(vec![
        (Rc::from("name"), env.scope.deployment_name()),
        (
            Rc::from("properties"),
            Value::object(vec![(
                Rc::from("templateLink"),
                Value::object(vec![(Rc::from("uri"), Value::placeholder(TEMPLATE_LINK))]),
            )]),
        ),
        (
            Rc::from("location"),
            Value::placeholder("{deployment().location}"),
        ),
    ])
}

/// The documented placeholder objects of `resourceGroup()`, `subscription()`,
/// `tenant()`, `managementGroup()`, `deployer()`, and the AzureCloud `environment()`.
fn context_object(name: &str) -> Option<Value> {
    let p = |s: &str| Value::placeholder(s);
    let obj = |entries: Vec<(&str, Value)>| {
        Value::object(entries.into_iter().map(|(k, v)| (Rc::from(k), v)).collect())
    };
    Some(match name {
        "resourcegroup" => obj(vec![
            ("id", p("/subscriptions/{subscription().subscriptionId}/resourceGroups/{resourceGroup().name}")),
            ("name", p("{resourceGroup().name}")),
            ("type", Value::str("Microsoft.Resources/resourceGroups")),
            ("location", p("{resourceGroup().location}")),
            ("managedBy", p("{resourceGroup().managedBy}")),
            ("tags", Value::unknown("the resource group's tags are known only at deployment time")),
            ("properties", obj(vec![("provisioningState", Value::str("Succeeded"))])),
        ]),
        "subscription" => obj(vec![
            ("id", p("/subscriptions/{subscription().subscriptionId}")),
            ("subscriptionId", p("{subscription().subscriptionId}")),
            ("tenantId", p("{subscription().tenantId}")),
            ("displayName", p("{subscription().displayName}")),
        ]),
        "tenant" => obj(vec![
            ("id", p("/tenants/{tenant().tenantId}")),
            ("tenantId", p("{tenant().tenantId}")),
            ("countryCode", p("{tenant().countryCode}")),
            ("displayName", p("{tenant().displayName}")),
        ]),
        "managementgroup" => obj(vec![
            ("id", p("/providers/Microsoft.Management/managementGroups/{managementGroup().name}")),
            ("name", p("{managementGroup().name}")),
            ("type", Value::str("Microsoft.Management/managementGroups")),
        ]),
        "deployer" => obj(vec![("objectId", p("{deployer().objectId}")), ("tenantId", p("{deployer().tenantId}"))]),
        "environment" => {
            let s = |v: &str| Value::str(v);
            obj(vec![
                ("name", s("AzureCloud")),
                ("gallery", s("https://gallery.azure.com/")),
                ("graph", s("https://graph.windows.net/")),
                ("portal", s("https://portal.azure.com")),
                ("graphAudience", s("https://graph.windows.net/")),
                ("activeDirectoryDataLake", s("https://datalake.azure.net/")),
                ("batch", s("https://batch.core.windows.net/")),
                ("media", s("https://rest.media.azure.net")),
                ("sqlManagement", s("https://management.core.windows.net:8443/")),
                ("vmImageAliasDoc", s("https://raw.githubusercontent.com/Azure/azure-rest-api-specs/main/arm-compute/quickstart-templates/aliases.json")),
                ("resourceManager", s("https://management.azure.com/")),
                (
                    "authentication",
                    obj(vec![
                        ("loginEndpoint", s("https://login.microsoftonline.com/")),
                        ("audiences", Value::array(vec![s("https://management.core.windows.net/"), s("https://management.azure.com/")])),
                        ("tenant", s("common")),
                        ("identityProvider", s("AAD")),
                    ]),
                ),
                (
                    "suffixes",
                    obj(vec![
                        ("acrLoginServer", s(".azurecr.io")),
                        ("azureDatalakeAnalyticsCatalogAndJob", s("azuredatalakeanalytics.net")),
                        ("azureDatalakeStoreFileSystem", s("azuredatalakestore.net")),
                        ("azureFrontDoorEndpointSuffix", s("azurefd.net")),
                        ("keyvaultDns", s(".vault.azure.net")),
                        ("sqlServerHostname", s(".database.windows.net")),
                        ("storage", s("core.windows.net")),
                    ]),
                ),
            ])
        }
        _ => return None,
    })
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Result<String, String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err("`base64ToString` got text that is not base64".to_owned()),
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    String::from_utf8(out)
        .map_err(|_| "`base64ToString` decoded bytes that are not UTF-8".to_owned())
}

/// `uriComponent`: percent-encodes every byte but the unreserved characters of RFC 3986,
/// as .NET's `Uri.EscapeDataString` does.
fn uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `uriComponentToString`: decodes `%XX` escapes; a `%` not followed by two hex digits,
/// or escapes that do not make UTF-8, stay as written (`Uri.UnescapeDataString`).
fn uri_component_to_string(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        // A run of escapes decodes as one byte sequence (a UTF-8 character may span several).
        let mut decoded = Vec::new();
        let mut j = i;
        while j + 3 <= bytes.len() && bytes[j] == b'%' {
            // Two hex digits exactly (`from_str_radix` would take a sign: `%+A`).
            let hex = std::str::from_utf8(&bytes[j + 1..j + 3])
                .ok()
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => decoded.push(b),
                None => break,
            }
            j += 3;
        }
        if j > i {
            match String::from_utf8(decoded) {
                Ok(text) => out.push_str(&text),
                Err(_) => out.push_str(&s[i..j]),
            }
            i = j;
            continue;
        }
        let c = s[i..].chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

/// `dataUriToString`: the text of a `data:` URI, base64 or percent-encoded.
fn data_uri_to_string(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("data:")
        .ok_or_else(|| format!("`{s}` is not a data URI"))?;
    let (meta, data) = rest
        .split_once(',')
        .ok_or_else(|| format!("`{s}` is not a data URI"))?;
    if meta.split(';').any(|p| p.eq_ignore_ascii_case("base64")) {
        base64_decode(data)
    } else {
        Ok(uri_component_to_string(data))
    }
}

fn cidr_subnet(values: &[Value]) -> R {
    match values {
        [n, p, i] => super::cidr::cidr_subnet(text(n)?, int_arg(p)?, int_arg(i)?).map(Value::str),
        _ => Err(format!("expected 3 arguments, got {}", values.len())),
    }
}

fn date_time_add(values: &[Value]) -> R {
    match values {
        [base, duration] => super::datetime::add(text(base)?, text(duration)?).map(Value::str),
        [_, _, _] => Err(
            "trustlint does not apply .NET date-time format strings (`dateTimeAdd`'s third argument)"
                .to_owned(),
        ),
        _ => Err(format!("expected 2 or 3 arguments, got {}", values.len())),
    }
}

/// `flatten`: an array of arrays, one level flattened.
fn flatten(v: &Value) -> R {
    let Kind::Array(outer) = &v.kind else {
        return Err(format!(
            "`flatten` needs an array of arrays, got {}",
            v.type_name()
        ));
    };
    let mut out = Vec::new();
    for inner in outer.iter() {
        match &inner.kind {
            Kind::Array(items) => out.extend(items.iter().cloned()),
            Kind::Unknown(r) => return Ok(Value::unknown(r.clone())),
            _ => {
                return Err(format!(
                    "`flatten` needs an array of arrays, got an array holding a {}",
                    inner.type_name()
                ))
            }
        }
    }
    Ok(Value::array(out))
}

/// `deployment().properties.templateLink.uri`: where the template being deployed was
/// linked from. A placeholder, so that `uri()` can say where a file beside it is (the
/// quickstart pattern for linked templates, also through `_artifactsLocation`).
pub const TEMPLATE_LINK: &str = "{deployment().properties.templateLink.uri}";

/// `uri(base, relative)` where `base` is [`TEMPLATE_LINK`] or a placeholder `uri()`
/// made from it: a placeholder `{deployment().properties.templateLink.uri}/<path>`
/// naming the file relative to the template's folder (a query, such as a SAS token,
/// dropped).
fn linked_uri(values: &[Value]) -> Option<Value> {
    let [base, relative] = values else {
        return None;
    };
    let base = match &base.kind {
        Kind::Placeholder(p) => p.strip_prefix(TEMPLATE_LINK)?,
        _ => return None,
    };
    let relative = relative.as_str()?;
    // Resolve as against a URL in the template's folder.
    const HERE: &str = "https://template-folder.invalid/";
    let base = format!("{HERE}{}", base.trim_start_matches('/'));
    let base = if base == HERE {
        format!("{HERE}self.json")
    } else {
        base
    };
    let joined = join_uri(&base, relative);
    let path = joined.strip_prefix(HERE)?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    Some(Value::placeholder(format!("{TEMPLATE_LINK}/{path}")))
}

fn join_uri(base: &str, relative: &str) -> String {
    if relative.contains("://") {
        return relative.to_owned();
    }
    match (base.ends_with('/'), relative.strip_prefix('/')) {
        (_, Some(rel)) => {
            let root_end = base
                .find("://")
                .map(|i| i + 3)
                .and_then(|i| base[i..].find('/').map(|j| i + j))
                .unwrap_or(base.len());
            format!("{}/{rel}", &base[..root_end])
        }
        (true, None) => format!("{base}{relative}"),
        (false, None) => match base.rfind('/') {
            Some(i) if i > base.find("://").map_or(0, |j| j + 2) => {
                format!("{}/{relative}", &base[..i])
            }
            _ => format!("{base}/{relative}"),
        },
    }
}

/// Keeps the compiler honest about the copy limit used by `range`-like functions.
const _: () = assert!(MAX_COPIES <= 10_000);
