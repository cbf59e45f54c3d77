//! APIM106: a forced-tunnelled classic injection subnet without service endpoints to
//! the services API Management depends on (seed apim-vnet-external-mode, "Force tunnel
//! traffic to on-premises firewall").

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim_network::{forced_tunnel, in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{eq_ci, Resource, Template};

pub struct ApimForcedTunnelWithoutServiceEndpoints;

pub static META: RuleMeta = RuleMeta {
    id: "APIM106",
    name: "apim-forced-tunnel-without-service-endpoints",
    summary: "Forced-tunnelled API Management subnet lacks service endpoints for Storage, SQL, Event Hubs or Key Vault",
    default_level: Level::Warning,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "3.0",
    docs: include_str!("../../../rules/APIM106.md"),
};

const NEEDED: &[&str] = &[
    "Microsoft.Storage",
    "Microsoft.Sql",
    "Microsoft.EventHub",
    "Microsoft.KeyVault",
];

impl Rule for ApimForcedTunnelWithoutServiceEndpoints {
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
            let endpoints = subnet.get("serviceEndpoints");
            let Some(present) = (match &endpoints {
                None => Some(Vec::new()),
                Some(list) => list.elements().and_then(|items| {
                    items
                        .iter()
                        .map(|e| e.get("service").and_then(|s| s.as_str().map(str::to_owned)))
                        .collect::<Option<Vec<String>>>()
                }),
            }) else {
                continue;
            };
            let missing: Vec<&str> = NEEDED
                .iter()
                .copied()
                .filter(|n| !present.iter().any(|p| eq_ci(p, n)))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let diagnostic = Diagnostic::new(
                META.default_level,
                endpoints.as_ref().map_or_else(|| subnet.properties_span(), |e| e.span()),
                format!(
                    "subnet `{}` of API Management service `{}` ({}) sends internet-bound traffic to `{}` through route table `{}`, but has no service endpoint for `{}`",
                    subnet.name,
                    service.display_name(),
                    placement.label,
                    tunnel.default_route.next_hop.as_deref().unwrap_or_default(),
                    template.resources[tunnel.route_table].display_name(),
                    missing.join("`, `")
                ),
            )
            .with_label("missing service endpoints")
            .with_related(tunnel.default_route.value.span(), "the forced-tunnel route")
            .with_help(
                "enable service endpoints on the API Management subnet for `Microsoft.Storage`, `Microsoft.Sql` (primary region), `Microsoft.EventHub` and `Microsoft.KeyVault`, \
                 so that traffic to those dependencies stays on the Azure backbone; otherwise the firewall or appliance must allow all of their address ranges",
            );
            cx.report(service, diagnostic);
        }
    }
}
