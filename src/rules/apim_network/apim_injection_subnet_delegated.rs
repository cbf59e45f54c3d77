//! APIM101: a classic-tier service injected into a subnet that has a delegation.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim_network::{delegations, in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct ApimInjectionSubnetDelegated;

pub static META: RuleMeta = RuleMeta {
    id: "APIM101",
    name: "apim-injection-subnet-delegated",
    summary: "API Management injected into a virtual network subnet that is delegated to a service",
    default_level: Level::Error,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/APIM101.md"),
};

impl Rule for ApimInjectionSubnetDelegated {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        service: &Resource<'_>,
        template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        let Some(network) = in_network(template, service) else {
            return;
        };
        if !network.classic() {
            return;
        }
        for (placement, subnet) in network.subnets() {
            let Some(value) = subnet.get("delegations") else {
                continue;
            };
            let Some(services) = delegations(&value) else {
                continue;
            };
            if services.is_empty() {
                continue;
            }
            let mut diagnostic = Diagnostic::new(
                META.default_level,
                value.span(),
                format!(
                    "API Management service `{}` ({}, {} virtual network) is injected into subnet `{}` in {}, which is delegated to `{}`: the injection subnet must have no delegations",
                    service.display_name(),
                    network.sku,
                    network.vnet_type,
                    subnet.name,
                    placement.label,
                    services.join("`, `")
                ),
            )
            .with_label("delegation on the API Management subnet")
            .with_help("remove the delegation (set \"Delegate subnet to a service\" to None), or give API Management its own subnet without delegations");
            if let Some(id) = &placement.subnet_id {
                diagnostic = diagnostic.with_related(id.span(), "the service is injected here");
            }
            cx.report(service, diagnostic);
        }
    }
}
