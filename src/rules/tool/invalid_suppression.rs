//! SUP001: a suppression without a reason, naming an unknown rule, or suppressing
//! nothing. The check runs after every other rule, in [`crate::suppress::apply`]: it
//! needs their findings, so it has no per-template check of its own.

use crate::diagnostic::Level;
use crate::rules::{Rule, RuleMeta};

pub struct InvalidSuppression;

pub static META: RuleMeta = RuleMeta {
    id: "SUP001",
    name: "invalid-suppression",
    summary:
        "A trustlint suppression gives no reason, names an unknown rule, or suppresses nothing",
    default_level: Level::Warning,
    resource_types: &[],
    namespaces: &[],
    security_severity: "2.0",
    docs: include_str!("../../../rules/SUP001.md"),
};

impl Rule for InvalidSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
