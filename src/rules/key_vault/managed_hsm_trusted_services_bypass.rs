//! HSM001: a locked-down Managed HSM that admits trusted Microsoft services.

use crate::diagnostic::Level;
use crate::rules::common::{check_bypass_target, Callers, TargetSpec};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct ManagedHsmTrustedServicesBypass;

pub static META: RuleMeta = RuleMeta {
    id: "HSM001",
    name: "managed-hsm-trusted-services-bypass",
    summary: "Locked-down Managed HSM lets trusted Microsoft services bypass its firewall",
    default_level: Level::Warning,
    resource_types: &["Microsoft.KeyVault/managedHSMs"],
    namespaces: &["Microsoft.KeyVault"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/HSM001.md"),
};

static SPEC: TargetSpec = TargetSpec {
    noun: "managed HSM",
    provider: "Key Vault",
    bypass_path: "properties.networkAcls.bypass",
    public_network_access_path: "properties.publicNetworkAccess",
    default_action_path: "properties.networkAcls.defaultAction",
    callers: Callers::ApiManagement,
    line_of_sight:
        "a private endpoint in the caller's virtual network or a network security perimeter",
    control_plane_carve_out: true,
    rejects_null_bypass: false,
};

impl Rule for ManagedHsmTrustedServicesBypass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        resource: &Resource<'_>,
        template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        check_bypass_target(&SPEC, resource, template, META.default_level, cx);
    }
}
