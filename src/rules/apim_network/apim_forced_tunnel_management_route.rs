//! APIM107: a forced tunnel on a classic injection subnet without a route that returns
//! management traffic (`ApiManagement` service tag) to the internet (seed
//! apim-vnet-external-mode, "Force tunnel traffic to on-premises firewall").

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim_network::{forced_tunnel, in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{eq_ci, Resource, Template};

pub struct ApimForcedTunnelManagementRoute;

pub static META: RuleMeta = RuleMeta {
    id: "APIM107",
    name: "apim-forced-tunnel-management-route",
    summary: "Forced-tunnelled API Management subnet has no route sending the ApiManagement service tag to the internet",
    default_level: Level::Warning,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "3.0",
    docs: include_str!("../../../rules/APIM107.md"),
};

impl Rule for ApimForcedTunnelManagementRoute {
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
            let Some(tunnel) = forced_tunnel(template, subnet) else {
                continue;
            };
            if tunnel
                .routes
                .iter()
                .any(|r| r.address_prefix.is_none() || r.next_hop.is_none())
            {
                continue; // a route that could not be evaluated might be the one
            }
            let returns_management = tunnel.routes.iter().any(|r| {
                let prefix = r.address_prefix.as_deref().unwrap_or_default();
                let tag = prefix.split('.').next().unwrap_or_default();
                eq_ci(tag, "ApiManagement")
                    && r.next_hop.as_deref().is_some_and(|h| eq_ci(h, "Internet"))
            });
            if returns_management {
                continue;
            }
            let table = &template.resources[tunnel.route_table];
            let diagnostic = Diagnostic::new(
                META.default_level,
                tunnel.default_route.value.span(),
                format!(
                    "route table `{}` forces internet-bound traffic from subnet `{}` of API Management service `{}` ({}) to `{}`, and no route sends the `ApiManagement` service tag to `Internet`: replies to the management endpoint are dropped",
                    table.display_name(),
                    subnet.name,
                    service.display_name(),
                    placement.label,
                    tunnel.default_route.next_hop.as_deref().unwrap_or_default(),
                ),
            )
            .with_label("forced tunnel")
            .with_help(
                "add a route with `addressPrefix` `ApiManagement` (or `ApiManagement.<Region>`) and `nextHopType` `Internet`, \
                 so that responses to the management endpoint (inbound TCP 3443) return to Azure instead of the firewall",
            );
            cx.report(service, diagnostic);
        }
    }
}
