//! APIM102: an injected or integrated subnet without a network security group.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim_network::placement::Linked;
use crate::rules::apim_network::{in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template};

pub struct ApimSubnetWithoutNsg;

pub static META: RuleMeta = RuleMeta {
    id: "APIM102",
    name: "apim-subnet-without-nsg",
    summary: "API Management subnet has no network security group",
    default_level: Level::Error,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/APIM102.md"),
};

impl Rule for ApimSubnetWithoutNsg {
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
        for (placement, subnet) in network.subnets() {
            if subnet.linked(template, "networkSecurityGroup") != Linked::None {
                continue;
            }
            let how = if network.classic() {
                "injected into"
            } else {
                "integrated with"
            };
            let mut diagnostic = Diagnostic::new(
                META.default_level,
                subnet.properties_span(),
                format!(
                    "API Management service `{}` ({}) is {how} subnet `{}` in {}, which has no network security group",
                    service.display_name(),
                    network.sku,
                    subnet.name,
                    placement.label,
                ),
            )
            .with_label("no `networkSecurityGroup` here")
            .with_help(
                "attach a network security group to the subnet (`properties.networkSecurityGroup.id`) with the rules API Management needs; \
                 the load balancer API Management uses is secure by default and rejects inbound traffic that no NSG rule allows",
            );
            if let Some(id) = &placement.subnet_id {
                diagnostic = diagnostic.with_related(id.span(), "the service's subnet");
            }
            cx.report(service, diagnostic);
        }
    }
}
