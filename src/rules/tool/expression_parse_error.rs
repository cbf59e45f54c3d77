//! EXPR001: an ARM expression trustlint cannot parse. The value is treated as unknown.

use jsonc_parser::ast::{Object, Value as Ast};

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::expr::parse::{check_expression, is_expression};
use crate::template::span_of;

pub struct ExpressionParseError;

pub static META: RuleMeta = RuleMeta {
    id: "EXPR001",
    name: "expression-parse-error",
    summary: "An ARM template expression cannot be parsed; its value is treated as unknown",
    default_level: Level::Note,
    resource_types: &[],
    namespaces: &[],
    security_severity: "1.0",
    docs: include_str!("../../../rules/EXPR001.md"),
};

impl Rule for ExpressionParseError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// Parses every expression string in the template (property names excluded). This
    /// walk touches every value of the file: it runs right after parsing, and depth
    /// first in the order the values were written (and allocated), so that it finds
    /// them still in the cache.
    fn check_document(&self, root: &Object<'_>, cx: &mut LintContext<'_>) {
        // Templates repeat expressions (`[parameters('location')]` in every resource):
        // about a third of their text is an expression already checked in the file.
        let mut valid: rustc_hash::FxHashSet<&str> = Default::default();
        let mut stack = vec![Children::Properties(root.properties.iter())];
        while let Some(top) = stack.last_mut() {
            let next = match top {
                Children::Properties(properties) => properties.next().map(|p| &p.value),
                Children::Elements(elements) => elements.next(),
            };
            let Some(value) = next else {
                stack.pop();
                continue;
            };
            match value {
                Ast::StringLit(s) if is_expression(&s.value) => {
                    // Short ones are checked faster than they are looked up.
                    let remembered = s.value.len() >= REMEMBERED_LENGTH;
                    if remembered && valid.contains(s.value.as_ref()) {
                        continue;
                    }
                    if let Err(error) = check_expression(&s.value) {
                        cx.report_file(
                            Diagnostic::new(META.default_level, span_of(value), format!("this expression cannot be parsed: {error}"))
                                .with_label(error.message.clone())
                                .with_help("fix the expression; until then trustlint treats its value as unknown and cannot decide the rules that depend on it"),
                        );
                    } else if remembered {
                        valid.insert(s.value.as_ref());
                    }
                }
                Ast::Object(o) => stack.push(Children::Properties(o.properties.iter())),
                Ast::Array(a) => stack.push(Children::Elements(a.elements.iter())),
                _ => {}
            }
        }
    }
}

/// Expressions at least this long are remembered once checked (measured on the corpus:
/// below it, checking again costs less than hashing).
const REMEMBERED_LENGTH: usize = 64;

/// The values of an object or array still to visit.
enum Children<'t, 'a> {
    Properties(std::slice::Iter<'t, jsonc_parser::ast::ObjectProp<'a>>),
    Elements(std::slice::Iter<'t, Ast<'a>>),
}
