//! EH001: a locked-down Event Hubs namespace that admits trusted Microsoft services.

use crate::diagnostic::Level;
use crate::rules::messaging::{check_rule_set, NamespaceSpec, SkuGate};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct EventHubTrustedServiceAccess;

pub static META: RuleMeta = RuleMeta {
    id: "EH001",
    name: "eventhub-trusted-service-access",
    summary: "Locked-down Event Hubs namespace lets trusted Microsoft services bypass its firewall",
    default_level: Level::Warning,
    resource_types: &["Microsoft.EventHub/namespaces/networkRuleSets"],
    namespaces: &["Microsoft.EventHub"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/EH001.md"),
};

static SPEC: NamespaceSpec = NamespaceSpec {
    noun: "Event Hubs namespace",
    namespace_type: "Microsoft.EventHub/namespaces",
    gate: SkuGate::NotBasic,
    line_of_sight: "a private endpoint in the caller's virtual network, a `virtualNetworkRules` entry for its subnet with the `Microsoft.EventHub` service endpoint, or a network security perimeter",
};

impl Rule for EventHubTrustedServiceAccess {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        resource: &Resource<'_>,
        template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        check_rule_set(&SPEC, resource, template, META.default_level, cx);
    }
}
