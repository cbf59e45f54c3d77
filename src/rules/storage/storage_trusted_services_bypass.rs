//! STG001: a locked-down storage account that admits trusted Microsoft services.

use crate::diagnostic::Level;
use crate::rules::common::{check_bypass_target, Callers, TargetSpec};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct StorageTrustedServicesBypass;

pub static META: RuleMeta = RuleMeta {
    id: "STG001",
    name: "storage-trusted-services-bypass",
    summary: "Locked-down storage account lets trusted Microsoft services bypass its firewall",
    default_level: Level::Warning,
    resource_types: &["Microsoft.Storage/storageAccounts"],
    namespaces: &["Microsoft.Storage"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/STG001.md"),
};

static SPEC: TargetSpec = TargetSpec {
    noun: "storage account",
    provider: "Storage",
    bypass_path: "properties.networkAcls.bypass",
    public_network_access_path: "properties.publicNetworkAccess",
    default_action_path: "properties.networkAcls.defaultAction",
    callers: Callers::ApiManagementAndDataFactory,
    line_of_sight: "a private endpoint in the caller's virtual network, a `virtualNetworkRules` entry for its subnet with the `Microsoft.Storage` service endpoint, or a network security perimeter",
    control_plane_carve_out: true,
    rejects_null_bypass: true,
};

impl Rule for StorageTrustedServicesBypass {
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
