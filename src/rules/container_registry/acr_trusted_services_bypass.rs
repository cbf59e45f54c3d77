//! ACR001: a locked-down Premium container registry that admits trusted Microsoft services.

use crate::diagnostic::Level;
use crate::rules::common::{check_bypass_target, Callers, TargetSpec};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template, Tri};

pub struct AcrTrustedServicesBypass;

pub static META: RuleMeta = RuleMeta {
    id: "ACR001",
    name: "acr-trusted-services-bypass",
    summary:
        "Locked-down Premium container registry lets trusted Microsoft services bypass its firewall",
    default_level: Level::Warning,
    resource_types: &["Microsoft.ContainerRegistry/registries"],
    namespaces: &["Microsoft.ContainerRegistry"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/ACR001.md"),
};

static SPEC: TargetSpec = TargetSpec {
    noun: "container registry",
    provider: "Container Registry",
    bypass_path: "properties.networkRuleBypassOptions",
    public_network_access_path: "properties.publicNetworkAccess",
    default_action_path: "properties.networkRuleSet.defaultAction",
    callers: Callers::ApiManagement,
    line_of_sight:
        "a private endpoint in the caller's virtual network, or a network security perimeter",
    control_plane_carve_out: false,
    rejects_null_bypass: false,
};

impl Rule for AcrTrustedServicesBypass {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        resource: &Resource<'_>,
        template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        // Only Premium registries have network rules; an unknown SKU counts as Premium.
        let premium = resource
            .path("sku.name")
            .map_or(Tri::Unknown("no `sku.name`".into()), |v| {
                v.is_one_of(&["Premium"])
            });
        if premium == Tri::No {
            return;
        }
        check_bypass_target(&SPEC, resource, template, META.default_level, cx);
    }
}
