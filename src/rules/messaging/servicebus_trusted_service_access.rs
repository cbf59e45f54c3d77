//! SB001: a locked-down Premium Service Bus namespace that admits trusted Microsoft services.

use crate::diagnostic::Level;
use crate::rules::messaging::{check_rule_set, NamespaceSpec, SkuGate};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct ServiceBusTrustedServiceAccess;

pub static META: RuleMeta = RuleMeta {
    id: "SB001",
    name: "servicebus-trusted-service-access",
    summary: "Locked-down Premium Service Bus namespace lets trusted Microsoft services bypass its firewall",
    default_level: Level::Warning,
    resource_types: &["Microsoft.ServiceBus/namespaces/networkRuleSets"],
    namespaces: &["Microsoft.ServiceBus"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/SB001.md"),
};

static SPEC: NamespaceSpec = NamespaceSpec {
    noun: "Service Bus namespace",
    namespace_type: "Microsoft.ServiceBus/namespaces",
    gate: SkuGate::PremiumOnly,
    line_of_sight: "a private endpoint in the caller's virtual network, a `virtualNetworkRules` entry for its subnet with the `Microsoft.ServiceBus` service endpoint, or a network security perimeter",
};

impl Rule for ServiceBusTrustedServiceAccess {
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
