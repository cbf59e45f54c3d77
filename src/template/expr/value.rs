//! Evaluated values: JSON plus "unknown" and "placeholder", each carrying where it was
//! written (its [`Origin`]) when that is not the expression that produced it.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use crate::source::{SourceFile, Span};

/// Where a value was written: a span, how it got into the expression, and the file
/// when it is not the template itself (a parameters file).
#[derive(Debug, Clone)]
pub struct Origin {
    pub span: Span,
    /// Shared by every value from the same place (one per evaluated literal otherwise).
    pub label: Rc<str>,
    pub file: Option<Arc<SourceFile>>,
}

/// Values nest at most this deep where they are walked (JSON, equality).
const MAX_VALUE_DEPTH: u32 = 512;

/// Element comparisons one `equals` may make.
const MAX_EQUALS_STEPS: u64 = 1_000_000;

/// An evaluated value.
#[derive(Debug, Clone)]
pub struct Value {
    pub kind: Kind,
    pub origin: Option<Rc<Origin>>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// A string that depends on the deployment's context (`resourceGroup().name`,
    /// `uniqueString(...)` of it, resource IDs): comparable with other placeholders,
    /// never with a literal setting value.
    Placeholder(Rc<str>),
    Array(Rc<Vec<Value>>),
    Object(Rc<Vec<(Rc<str>, Value)>>),
    /// An object whose `known` properties are known and whose other properties are not
    /// (`union(<unknown>, {bypass: 'None'})` has a known `bypass`), with the reason.
    /// Anything that needs the whole object treats it as unknown.
    Partial {
        known: Rc<Vec<(Rc<str>, Value)>>,
        rest: Rc<str>,
    },
    /// Not knowable offline, with the reason.
    Unknown(Rc<str>),
}

impl Value {
    pub fn new(kind: Kind) -> Value {
        Value { kind, origin: None }
    }

    pub fn null() -> Value {
        Value::new(Kind::Null)
    }

    pub fn bool(b: bool) -> Value {
        Value::new(Kind::Bool(b))
    }

    pub fn int(i: i64) -> Value {
        Value::new(Kind::Int(i))
    }

    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::new(Kind::Str(s.into()))
    }

    pub fn placeholder(s: impl Into<Rc<str>>) -> Value {
        Value::new(Kind::Placeholder(s.into()))
    }

    pub fn array(items: Vec<Value>) -> Value {
        Value::new(Kind::Array(Rc::new(items)))
    }

    pub fn object(entries: Vec<(Rc<str>, Value)>) -> Value {
        Value::new(Kind::Object(Rc::new(entries)))
    }

    pub fn unknown(reason: impl Into<Rc<str>>) -> Value {
        Value::new(Kind::Unknown(reason.into()))
    }

    pub fn with_origin(mut self, origin: Option<Rc<Origin>>) -> Value {
        if origin.is_some() {
            self.origin = origin;
        }
        self
    }

    /// An object known only in part, or (when nothing of it is known) unknown.
    pub fn partial(known: Vec<(Rc<str>, Value)>, rest: Rc<str>) -> Value {
        if known.is_empty() {
            return Value::new(Kind::Unknown(rest));
        }
        Value::new(Kind::Partial {
            known: Rc::new(known),
            rest,
        })
    }

    /// Not known as a whole (an object known in part counts).
    pub fn is_unknown(&self) -> bool {
        matches!(self.kind, Kind::Unknown(_) | Kind::Partial { .. })
    }

    pub fn unknown_reason(&self) -> Option<&Rc<str>> {
        match &self.kind {
            Kind::Unknown(r) | Kind::Partial { rest: r, .. } => Some(r),
            _ => None,
        }
    }

    /// The value as unknown as a whole (an object known in part loses its parts).
    pub fn as_unknown(&self) -> Option<Value> {
        self.unknown_reason().map(|r| Value::unknown(r.clone()))
    }

    /// This value, when it is an object known in part.
    pub fn as_partial(&self) -> Option<&Value> {
        matches!(self.kind, Kind::Partial { .. }).then_some(self)
    }

    /// Property `key` of an object known in part: its value, or unknown when it is not
    /// among the known properties. `None` for other values.
    pub fn partial_get(&self, key: &str) -> Option<Value> {
        let Kind::Partial { known, rest } = &self.kind else {
            return None;
        };
        Some(match property(known, key) {
            Some(v) => v.clone(),
            None => Value::unknown(rest.clone()),
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string or placeholder's text (names may be built from placeholders).
    pub fn as_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) | Kind::Placeholder(s) => Some(s),
            _ => None,
        }
    }

    /// The property `key`: the last one spelled exactly so, else the last one spelled
    /// in another case (`{"True": 1, "true": 2}['true']` is 2, `['True']` is 1).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.kind {
            Kind::Object(entries) => property(entries, key),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "bool",
            Kind::Int(_) | Kind::Float(_) => "int",
            Kind::Str(_) | Kind::Placeholder(_) => "string",
            Kind::Array(_) => "array",
            Kind::Object(_) => "object",
            Kind::Partial { .. } | Kind::Unknown(_) => "unknown",
        }
    }

    /// The value as JSON; unknowns become `{"$unknown": reason}` so nothing is dropped.
    /// Bounded: values that share parts can stand for more JSON than memory holds, and
    /// may nest deeper than the stack allows; past the bounds the part is unknown.
    pub fn to_json(&self) -> serde_json::Value {
        let mut allowance = super::eval::BYTE_BUDGET;
        self.json_within(&mut allowance, 0)
    }

    fn json_within(&self, allowance: &mut u64, depth: u32) -> serde_json::Value {
        use serde_json::Value as J;
        let over = |what: &str| serde_json::json!({ "$unknown": format!("{}{what}", super::eval::OVER_BUDGET) });
        if depth > MAX_VALUE_DEPTH {
            return over("the value nests too deeply to show");
        }
        // About what a `serde_json::Value` node and its map entry take in memory.
        let cost = 128
            + match &self.kind {
                Kind::Str(s) | Kind::Placeholder(s) => s.len() as u64,
                _ => 0,
            };
        if *allowance < cost {
            return over("the value is too large to show");
        }
        *allowance -= cost;
        match &self.kind {
            Kind::Null => J::Null,
            Kind::Bool(b) => J::Bool(*b),
            Kind::Int(i) => J::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Kind::Str(s) | Kind::Placeholder(s) => J::String(s.to_string()),
            Kind::Array(items) => J::Array(
                items
                    .iter()
                    .map(|v| v.json_within(allowance, depth + 1))
                    .collect(),
            ),
            Kind::Object(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries.iter() {
                    map.insert(k.to_string(), v.json_within(allowance, depth + 1));
                }
                J::Object(map)
            }
            Kind::Partial { known, rest } => {
                let mut map = serde_json::Map::new();
                for (k, v) in known.iter() {
                    map.insert(k.to_string(), v.json_within(allowance, depth + 1));
                }
                map.insert(
                    "$unknown".to_owned(),
                    J::String(format!("its other properties: {rest}")),
                );
                J::Object(map)
            }
            Kind::Unknown(r) => serde_json::json!({ "$unknown": r.to_string() }),
        }
    }

    /// The reason of the first unknown part of an array or object (or of the value),
    /// looked for within the same bounds as [`Value::to_json`].
    pub fn unknown_within(&self) -> Option<Rc<str>> {
        let mut steps = MAX_EQUALS_STEPS;
        let mut pending: Vec<(&Value, u32)> = vec![(self, 0)];
        while let Some((v, depth)) = pending.pop() {
            if steps == 0 || depth > MAX_VALUE_DEPTH {
                return Some(Rc::from(format!(
                    "{}the value is too large to show",
                    super::eval::OVER_BUDGET
                )));
            }
            steps -= 1;
            match &v.kind {
                Kind::Unknown(r) | Kind::Partial { rest: r, .. } => return Some(r.clone()),
                Kind::Array(items) => pending.extend(items.iter().map(|i| (i, depth + 1))),
                Kind::Object(entries) => {
                    pending.extend(entries.iter().map(|(_, e)| (e, depth + 1)))
                }
                _ => {}
            }
        }
        None
    }

    /// Structural equality as ARM's `equals`: strings case-sensitive, objects by key.
    /// `None` when the answer depends on something unknown or on a placeholder.
    pub fn equals(&self, other: &Value) -> Option<bool> {
        // Each comparison is charged to the template's budget: `union` and friends
        // compare every pair of elements.
        if !super::eval::spend_calls(1) {
            return None;
        }
        let mut steps = MAX_EQUALS_STEPS;
        self.equals_within(other, &mut steps, 0)
    }

    /// Bounded like [`Value::to_json`]: past the bounds the answer is unknown.
    fn equals_within(&self, other: &Value, steps: &mut u64, depth: u32) -> Option<bool> {
        if depth > MAX_VALUE_DEPTH || *steps == 0 {
            return None;
        }
        *steps -= 1;
        match (&self.kind, &other.kind) {
            (Kind::Unknown(_) | Kind::Partial { .. }, _)
            | (_, Kind::Unknown(_) | Kind::Partial { .. }) => None,
            (Kind::Placeholder(a), Kind::Placeholder(b)) => Some(a == b),
            (Kind::Placeholder(_), _) | (_, Kind::Placeholder(_)) => None,
            (Kind::Null, Kind::Null) => Some(true),
            (Kind::Bool(a), Kind::Bool(b)) => Some(a == b),
            (Kind::Int(a), Kind::Int(b)) => Some(a == b),
            (Kind::Float(a), Kind::Float(b)) => Some(a == b),
            (Kind::Int(a), Kind::Float(b)) | (Kind::Float(b), Kind::Int(a)) => {
                Some(*a as f64 == *b)
            }
            (Kind::Str(a), Kind::Str(b)) => Some(a == b),
            (Kind::Array(a), Kind::Array(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let mut all = Some(true);
                for (x, y) in a.iter().zip(b.iter()) {
                    match x.equals_within(y, steps, depth + 1) {
                        Some(false) => return Some(false),
                        None => all = None,
                        Some(true) => {}
                    }
                }
                all
            }
            (Kind::Object(a), Kind::Object(b)) => {
                if a.len() != b.len() {
                    return Some(false);
                }
                let mut all = Some(true);
                for (k, v) in a.iter() {
                    // `get` scans the other object's keys.
                    *steps = steps.saturating_sub(b.len() as u64);
                    if *steps == 0 {
                        return None;
                    }
                    match other.get(k).map(|w| v.equals_within(w, steps, depth + 1)) {
                        None | Some(Some(false)) => return Some(false),
                        Some(None) => all = None,
                        Some(Some(true)) => {}
                    }
                }
                all
            }
            _ => Some(false),
        }
    }
}

/// The property `key` of an object's entries: the last one spelled exactly so, else
/// the last one spelled in another case.
fn property<'v>(entries: &'v [(Rc<str>, Value)], key: &str) -> Option<&'v Value> {
    entries
        .iter()
        .rev()
        .find(|(k, _)| **k == *key)
        .or_else(|| {
            entries
                .iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
        })
        .map(|(_, v)| v)
}

/// Dropping a value frees its elements with a loop, not recursion: a value built by a
/// `reduce` or a long chain of variables can nest deeper than the stack.
impl Drop for Value {
    fn drop(&mut self) {
        let mut pending: Vec<Value> = Vec::new();
        take_children(&mut self.kind, &mut pending);
        while let Some(mut v) = pending.pop() {
            take_children(&mut v.kind, &mut pending);
        }
    }
}

/// Moves the elements of a container this value alone holds into `pending`.
fn take_children(kind: &mut Kind, pending: &mut Vec<Value>) {
    match kind {
        Kind::Array(items) => {
            if let Some(items) = Rc::get_mut(items) {
                pending.append(items);
            }
        }
        Kind::Object(entries) | Kind::Partial { known: entries, .. } => {
            if let Some(entries) = Rc::get_mut(entries) {
                pending.extend(entries.drain(..).map(|(_, v)| v));
            }
        }
        _ => {}
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Str(s) | Kind::Placeholder(s) => f.write_str(s),
            Kind::Unknown(r) | Kind::Partial { rest: r, .. } => write!(f, "(unknown: {r})"),
            _ => f.write_str(&self.to_json().to_string()),
        }
    }
}
