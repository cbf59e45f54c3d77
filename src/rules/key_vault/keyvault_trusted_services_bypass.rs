//! KV001: a locked-down key vault that admits trusted Microsoft services.

use crate::diagnostic::Level;
use crate::rules::common::{check_bypass_target, Callers, TargetSpec};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct KeyVaultTrustedServicesBypass;

pub static META: RuleMeta = RuleMeta {
    id: "KV001",
    name: "keyvault-trusted-services-bypass",
    summary: "Locked-down key vault lets trusted Microsoft services bypass its firewall",
    default_level: Level::Warning,
    resource_types: &["Microsoft.KeyVault/vaults"],
    namespaces: &["Microsoft.KeyVault"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/KV001.md"),
};

static SPEC: TargetSpec = TargetSpec {
    noun: "key vault",
    provider: "Key Vault",
    bypass_path: "properties.networkAcls.bypass",
    public_network_access_path: "properties.publicNetworkAccess",
    default_action_path: "properties.networkAcls.defaultAction",
    callers: Callers::ApiManagementAndDataFactory,
    line_of_sight: "a private endpoint in the caller's virtual network, a `virtualNetworkRules` entry for its subnet with the `Microsoft.KeyVault` service endpoint, or a network security perimeter",
    control_plane_carve_out: true,
    rejects_null_bypass: false,
};

impl Rule for KeyVaultTrustedServicesBypass {
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
