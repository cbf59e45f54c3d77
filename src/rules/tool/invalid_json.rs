//! JSON001: a file meant to be an ARM file that cannot be parsed or read as text.
//!
//! The linter pipeline reports it; there is nothing to check in a parsed template.

use crate::diagnostic::Level;
use crate::rules::{Rule, RuleMeta};

pub struct InvalidJson;

pub static META: RuleMeta = RuleMeta {
    id: "JSON001",
    name: "invalid-json",
    summary: "An ARM template or parameters file cannot be parsed",
    default_level: Level::Error,
    resource_types: &[],
    namespaces: &[],
    security_severity: "3.0",
    docs: include_str!("../../../rules/JSON001.md"),
};

impl Rule for InvalidJson {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
