//! Span-carrying, case-insensitive access to the values a rule looks at.
//!
//! A [`ValueRef`] is a value written literally in the file, or the evaluated value of an
//! expression (`"[...]"`) written there. Rules only use the methods here, so they see
//! the values Azure would deploy: the primary span ([`ValueRef::span`]) always stays on
//! what is written in the resource, and [`ValueRef::origin`] says where a deciding value
//! was written when an expression brought it from elsewhere (a parameter default, a
//! parameters file, a variable, a nested deployment's parameters).

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use jsonc_parser::ast::{self, Value as Ast};

use super::expr::{Env, Kind, Origin, Value};
use crate::source::Span;

/// A value a rule can inspect. Cheap to clone.
#[derive(Clone)]
pub struct ValueRef<'a> {
    inner: Inner<'a>,
    /// The primary span: the nearest value written in the resource itself.
    anchor: Span,
    /// The expression written at the anchor, when the value came from one.
    expression: Option<&'a str>,
    env: Env<'a>,
}

impl std::fmt::Debug for ValueRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueRef")
            .field("anchor", &self.anchor)
            .field("value", &self.display())
            .finish()
    }
}

#[derive(Clone)]
enum Inner<'a> {
    Written(&'a Ast<'a>),
    Evaluated(Value),
}

/// A three-valued answer: known yes, known no, or not decidable offline (with the reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Unknown(Arc<str>),
}

impl Tri {
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    /// Either is yes → yes; otherwise any unknown → unknown; otherwise no.
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::Unknown(r), _) | (_, Tri::Unknown(r)) => Tri::Unknown(r),
            _ => Tri::No,
        }
    }

    /// Either is no → no; otherwise any unknown → unknown; otherwise yes.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Unknown(r), _) | (_, Tri::Unknown(r)) => Tri::Unknown(r),
            _ => Tri::Yes,
        }
    }

    pub fn is_yes(&self) -> bool {
        matches!(self, Tri::Yes)
    }
}

/// Is this string an ARM template expression (`[...]`, but not the `[[` escape)?
pub fn is_expression(s: &str) -> bool {
    super::expr::parse::is_expression(s)
}

/// Compares names and enum-like values the way Azure does: ASCII case-insensitively.
pub fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Finds a property by name, case-insensitively; the last duplicate wins, as in Azure.
pub fn find_prop<'o, 'a>(obj: &'o ast::Object<'a>, key: &str) -> Option<&'o ast::ObjectProp<'a>> {
    obj.properties
        .iter()
        .rev()
        .find(|p| eq_ci(p.name.as_str(), key))
}

pub fn ast_span(value: &Ast<'_>) -> Span {
    let r = match value {
        Ast::StringLit(v) => v.range,
        Ast::NumberLit(v) => v.range,
        Ast::BooleanLit(v) => v.range,
        Ast::Object(v) => v.range,
        Ast::Array(v) => v.range,
        Ast::NullKeyword(v) => v.range,
    };
    Span::new(r.start, r.end)
}

impl<'a> ValueRef<'a> {
    /// A value written in the file, evaluated in `env` when it is an expression.
    pub fn new(value: &'a Ast<'a>, env: &Env<'a>) -> ValueRef<'a> {
        let anchor = ast_span(value);
        match value {
            Ast::StringLit(s) if env.scope.literal_strings => ValueRef {
                inner: Inner::Evaluated(Value::str(s.value.as_ref())),
                anchor,
                expression: None,
                env: env.clone(),
            },
            Ast::StringLit(s) if is_expression(&s.value) => ValueRef {
                inner: Inner::Evaluated(env.eval_written(s, &Rc::from("the value, written here"))),
                anchor,
                expression: Some(cow_str(&s.value)),
                env: env.clone(),
            },
            Ast::StringLit(s) if s.value.starts_with("[[") => ValueRef {
                inner: Inner::Evaluated(Value::str(&s.value[1..])),
                anchor,
                expression: None,
                env: env.clone(),
            },
            _ => ValueRef {
                inner: Inner::Written(value),
                anchor,
                expression: None,
                env: env.clone(),
            },
        }
    }

    fn evaluated(&self, value: Value) -> ValueRef<'a> {
        ValueRef {
            inner: Inner::Evaluated(value),
            anchor: self.anchor,
            expression: self.expression,
            env: self.env.clone(),
        }
    }

    /// The primary span: where this value, or the expression that produced it, is written.
    pub fn span(&self) -> Span {
        self.anchor
    }

    /// Where the deciding value was written, when an expression brought it here.
    pub fn origin(&self) -> Option<&Origin> {
        match &self.inner {
            Inner::Evaluated(v) => v.origin.as_deref(),
            Inner::Written(_) => None,
        }
    }

    /// The evaluated value (literals converted), for `expand` and cross-checks.
    pub fn value(&self) -> Value {
        match &self.inner {
            Inner::Evaluated(v) => v.clone(),
            Inner::Written(ast) => self.env.eval_json(ast, &Rc::from("in the resource")),
        }
    }

    /// Why the value cannot be known offline, or `None` when it is known.
    /// Deployment-time placeholders (`resourceGroup().location`, …) count as unknown here:
    /// they are never a deciding setting value.
    pub fn unknown_reason(&self) -> Option<Arc<str>> {
        match &self.inner {
            Inner::Evaluated(v) => match &v.kind {
                Kind::Unknown(r) | Kind::Partial { rest: r, .. } => Some(Arc::from(r.as_ref())),
                Kind::Placeholder(p) => {
                    Some(Arc::from(format!("`{p}` is known only at deployment time")))
                }
                _ => None,
            },
            Inner::Written(_) => None,
        }
    }

    /// A property of this object (case-insensitive). `None` when this is a known value
    /// without that property; an unknown value yields an unknown property.
    ///
    /// A property whose value is `null` is absent, as it is for the resource provider
    /// (the platform default applies); [`ValueRef::get_written`] keeps it.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.get_written(key).filter(|v| !v.is_null())
    }

    /// [`ValueRef::get`], keeping a property whose value is `null`. A property made by
    /// a property copy (`"copy": [{ "name": key, … }]`) counts as written.
    pub fn get_written(&self, key: &str) -> Option<ValueRef<'a>> {
        match &self.inner {
            Inner::Written(Ast::Object(obj)) => match find_prop(obj, key) {
                Some(p) => Some(ValueRef::new(&p.value, &self.env)),
                None => {
                    let copies = find_prop(obj, "copy")?;
                    let (expanded, def) = self.env.property_copy(&copies.value, key)?;
                    // Findings about it point at the copy's `input`, which makes it.
                    let anchor = find_prop(def, "input").map_or_else(
                        || Span::new(def.range.start, def.range.end),
                        |p| ast_span(&p.value),
                    );
                    Some(ValueRef {
                        inner: Inner::Evaluated(expanded),
                        anchor,
                        expression: None,
                        env: self.env.clone(),
                    })
                }
            },
            Inner::Written(_) => None,
            Inner::Evaluated(v) => match &v.kind {
                Kind::Object(_) => v.get(key).map(|child| self.evaluated(child.clone())),
                Kind::Partial { .. } => v.partial_get(key).map(|child| self.evaluated(child)),
                Kind::Unknown(_) | Kind::Placeholder(_) => Some(self.clone()),
                _ => None,
            },
        }
    }

    /// Follows a dotted path of property names, e.g. `"networkAcls.bypass"`.
    pub fn path(&self, dotted: &str) -> Option<ValueRef<'a>> {
        dotted
            .split('.')
            .try_fold(self.clone(), |value, key| value.get(key))
    }

    /// [`ValueRef::path`] whose last property may be `null`.
    pub fn path_written(&self, dotted: &str) -> Option<ValueRef<'a>> {
        let (parent, last) = match dotted.rsplit_once('.') {
            Some((parent, last)) => (self.path(parent)?, last),
            None => (self.clone(), dotted),
        };
        parent.get_written(last)
    }

    /// The object's properties with their names, in written order; empty when not an object.
    pub fn entries(&self) -> Vec<(String, ValueRef<'a>)> {
        match &self.inner {
            Inner::Written(Ast::Object(obj)) => obj
                .properties
                .iter()
                .map(|p| {
                    (
                        p.name.as_str().to_owned(),
                        ValueRef::new(&p.value, &self.env),
                    )
                })
                .collect(),
            Inner::Evaluated(Value {
                kind: Kind::Object(entries),
                ..
            }) => entries
                .iter()
                .map(|(k, v)| (k.to_string(), self.evaluated(v.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The array's elements; `None` when not an array (or unknown).
    pub fn elements(&self) -> Option<Vec<ValueRef<'a>>> {
        match &self.inner {
            Inner::Written(Ast::Array(arr)) => Some(
                arr.elements
                    .iter()
                    .map(|e| ValueRef::new(e, &self.env))
                    .collect(),
            ),
            Inner::Evaluated(Value {
                kind: Kind::Array(items),
                ..
            }) => Some(items.iter().map(|v| self.evaluated(v.clone())).collect()),
            _ => None,
        }
    }

    /// The string value, when known (placeholders are not known strings).
    pub fn as_str(&self) -> Option<&str> {
        match &self.inner {
            Inner::Written(Ast::StringLit(s)) => Some(s.value.as_ref()),
            Inner::Evaluated(v) => v.as_str(),
            _ => None,
        }
    }

    /// A name's text: a known string, or a deployment-time placeholder's text (names
    /// built from placeholders still match each other within a template).
    pub fn name_text(&self) -> Option<String> {
        match &self.inner {
            Inner::Written(Ast::StringLit(s)) => Some(s.value.to_string()),
            Inner::Evaluated(v) => v.as_text().map(str::to_owned),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.inner {
            Inner::Written(Ast::BooleanLit(b)) => Some(b.value),
            Inner::Evaluated(Value {
                kind: Kind::Bool(b),
                ..
            }) => Some(*b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(
            &self.inner,
            Inner::Written(Ast::NullKeyword(_))
                | Inner::Evaluated(Value {
                    kind: Kind::Null,
                    ..
                })
        )
    }

    /// An object, also one known only in part.
    pub fn is_object(&self) -> bool {
        matches!(
            &self.inner,
            Inner::Written(Ast::Object(_))
                | Inner::Evaluated(Value {
                    kind: Kind::Object(_) | Kind::Partial { .. },
                    ..
                })
        )
    }

    /// Is the value a string equal (case-insensitively) to one of `options`?
    pub fn is_one_of(&self, options: &[&str]) -> Tri {
        if let Some(reason) = self.unknown_reason() {
            return Tri::Unknown(reason);
        }
        Tri::from_bool(
            self.as_str()
                .is_some_and(|s| options.iter().any(|o| eq_ci(s, o))),
        )
    }

    /// Is the value `true` — a JSON boolean or the string `"true"` (case-insensitive)?
    pub fn is_true(&self) -> Tri {
        if let Some(reason) = self.unknown_reason() {
            return Tri::Unknown(reason);
        }
        Tri::from_bool(
            self.as_bool() == Some(true) || self.as_str().is_some_and(|s| eq_ci(s, "true")),
        )
    }

    /// Does a comma-separated flag list (e.g. `"Logging, AzureServices"`) contain `flag`?
    pub fn has_flag(&self, flag: &str) -> Tri {
        if let Some(reason) = self.unknown_reason() {
            return Tri::Unknown(reason);
        }
        Tri::from_bool(
            self.as_str()
                .is_some_and(|s| s.split(',').any(|f| eq_ci(f.trim(), flag))),
        )
    }

    /// Is this a non-empty array? Unknown values are answered as such.
    pub fn is_non_empty_array(&self) -> Tri {
        if let Some(reason) = self.unknown_reason() {
            return Tri::Unknown(reason);
        }
        Tri::from_bool(self.elements().is_some_and(|e| !e.is_empty()))
    }

    /// A short rendering of the value for messages: strings unquoted, others as JSON text.
    pub fn display(&self) -> String {
        match &self.inner {
            Inner::Written(Ast::StringLit(s)) => truncate(&s.value, 80).into_owned(),
            Inner::Written(Ast::BooleanLit(b)) => b.value.to_string(),
            Inner::Written(Ast::NumberLit(n)) => n.value.to_owned(),
            Inner::Written(Ast::NullKeyword(_)) => "null".to_owned(),
            Inner::Written(Ast::Object(_)) => "{…}".to_owned(),
            Inner::Written(Ast::Array(_)) => "[…]".to_owned(),
            Inner::Evaluated(v) => match &v.kind {
                Kind::Object(_) => "{…}".to_owned(),
                Kind::Array(_) => "[…]".to_owned(),
                Kind::Unknown(_) | Kind::Partial { .. } => "(unknown)".to_owned(),
                _ => truncate(&v.to_string(), 80).into_owned(),
            },
        }
    }

    /// The value as written, for messages: an expression's text, or a literal.
    pub fn written_text(&self) -> String {
        match self.expression {
            Some(e) => truncate(e, 120).into_owned(),
            None => self.display(),
        }
    }

    /// A name for messages: the evaluated text when known, else the expression as written.
    pub fn name_for_display(&self) -> String {
        // An empty name says nothing: show how it is written.
        self.name_text()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| self.written_text())
    }
}

/// The `&'a str` inside a string literal, whether it borrows the source or not.
fn cow_str<'a>(value: &'a Cow<'a, str>) -> &'a str {
    value.as_ref()
}

/// Shortens long text for messages, on a character boundary.
pub fn truncate(s: &str, max_chars: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
        None => Cow::Borrowed(s),
    }
}
