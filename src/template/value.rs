//! Span-carrying, case-insensitive access to the values a rule looks at.
//!
//! A [`ValueRef`] is either a value written literally in the file or one that stands for
//! an expression (`"[...]"`). Rules only use the methods here, so the evaluator can
//! replace expression strings by the values Azure would deploy without changing any rule:
//! the primary span ([`ValueRef::span`]) always stays on what is written in the resource,
//! and [`ValueRef::origin`] says where a deciding value came from when it differs.

use std::borrow::Cow;
use std::sync::Arc;

use jsonc_parser::ast::{self, Value as Ast};

use crate::source::Span;

/// Where the deciding value was written, when an expression brought it to the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub span: Span,
    /// How the value got there, e.g. "default of parameter `bypass`".
    pub label: String,
}

/// A value a rule can inspect. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ValueRef<'a> {
    inner: Inner<'a>,
    /// The primary span: the nearest value written in the resource itself.
    anchor: Span,
    origin: Option<Arc<Origin>>,
}

#[derive(Debug, Clone)]
enum Inner<'a> {
    Written(&'a Ast<'a>),
    /// A value that cannot be known offline; `expression` is its text when it was
    /// written as an expression in the file.
    Unknown {
        reason: Arc<str>,
        expression: Option<&'a str>,
    },
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
    let t = s.trim();
    t.starts_with('[') && t.ends_with(']') && !t.starts_with("[[")
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
    /// A value as written in the file.
    pub fn written(value: &'a Ast<'a>) -> ValueRef<'a> {
        let anchor = ast_span(value);
        match value {
            Ast::StringLit(s) if is_expression(&s.value) => ValueRef {
                inner: Inner::Unknown {
                    reason: Arc::from(format!("`{}` is an expression", truncate(&s.value, 80))),
                    expression: Some(s.value.as_ref()),
                },
                anchor,
                origin: None,
            },
            _ => ValueRef {
                inner: Inner::Written(value),
                anchor,
                origin: None,
            },
        }
    }

    /// The primary span: where this value, or the expression that produced it, is written.
    pub fn span(&self) -> Span {
        self.anchor
    }

    /// Where the deciding value was written, when it is not at [`Self::span`].
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_deref()
    }

    /// Why the value cannot be known offline, or `None` when it is known.
    pub fn unknown_reason(&self) -> Option<Arc<str>> {
        match &self.inner {
            Inner::Unknown { reason, .. } => Some(reason.clone()),
            Inner::Written(_) => None,
        }
    }

    /// A property of this object (case-insensitive). `None` when this is a known value
    /// without that property; an unknown value yields an unknown property.
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        match &self.inner {
            Inner::Written(Ast::Object(obj)) => {
                find_prop(obj, key).map(|p| ValueRef::written(&p.value))
            }
            Inner::Written(_) => None,
            Inner::Unknown { .. } => Some(self.clone()),
        }
    }

    /// Follows a dotted path of property names, e.g. `"networkAcls.bypass"`.
    pub fn path(&self, dotted: &str) -> Option<ValueRef<'a>> {
        dotted
            .split('.')
            .try_fold(self.clone(), |value, key| value.get(key))
    }

    /// The object's properties with their names, in written order; empty when not an object.
    pub fn entries(&self) -> Vec<(&'a str, ValueRef<'a>)> {
        match &self.inner {
            Inner::Written(Ast::Object(obj)) => obj
                .properties
                .iter()
                .map(|p| (p.name.as_str(), ValueRef::written(&p.value)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The span of a property's name in this object, for pointing at keys.
    pub fn key_span(&self, key: &str) -> Option<Span> {
        match &self.inner {
            Inner::Written(Ast::Object(obj)) => find_prop(obj, key).map(|p| match &p.name {
                ast::ObjectPropName::String(s) => Span::new(s.range.start, s.range.end),
                ast::ObjectPropName::Word(w) => Span::new(w.range.start, w.range.end),
            }),
            _ => None,
        }
    }

    /// The array's elements; `None` when not an array (or unknown).
    pub fn elements(&self) -> Option<Vec<ValueRef<'a>>> {
        match &self.inner {
            Inner::Written(Ast::Array(arr)) => {
                Some(arr.elements.iter().map(ValueRef::written).collect())
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match &self.inner {
            Inner::Written(Ast::StringLit(s)) => Some(cow_str(&s.value)),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.inner {
            Inner::Written(Ast::BooleanLit(b)) => Some(b.value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.inner, Inner::Written(Ast::NullKeyword(_)))
    }

    pub fn is_object(&self) -> bool {
        matches!(&self.inner, Inner::Written(Ast::Object(_)))
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

    /// Is this a non-empty array? Unknown values and non-arrays are answered as such.
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
            Inner::Unknown { .. } => "(unknown)".to_owned(),
        }
    }
}

/// The `&'a str` inside a string literal. Literals without escapes borrow the source;
/// escaped ones are owned by the AST node, which lives as long as the source.
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

impl ValueRef<'_> {
    /// The value as written, for messages: an expression's text, or a literal.
    pub fn written_text(&self) -> String {
        match &self.inner {
            Inner::Unknown {
                expression: Some(e),
                ..
            } => truncate(e, 120).into_owned(),
            _ => self.display(),
        }
    }
}
