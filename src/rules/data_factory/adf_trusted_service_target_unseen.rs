//! ADF005: a Data Factory configuration that relies on the trusted-service mode, whose
//! target no file of the run deploys and the config does not declare.
//!
//! The finding needs the whole run, so the estate reports it
//! ([`crate::estate::connect`]); the rule has no per-template check.

use crate::diagnostic::Level;
use crate::rules::{Rule, RuleMeta};

pub struct AdfTrustedServiceTargetUnseen;

pub static META: RuleMeta = RuleMeta {
    id: "ADF005",
    name: "adf-trusted-service-target-unseen",
    summary: "Data Factory calls Storage or Key Vault with a managed identity, and no linted file deploys the target",
    default_level: Level::Note,
    resource_types: &[],
    namespaces: &["Microsoft.DataFactory"],
    security_severity: "2.0",
    docs: include_str!("../../../rules/ADF005.md"),
};

impl Rule for AdfTrustedServiceTargetUnseen {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
