//! APIM103: the NSG on a classic injection subnet does not allow traffic API Management
//! needs (seed apim-vnet-external-mode, "Configure NSG rules").

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::APIM_SERVICE;
use crate::rules::apim_network::nsg::{
    default_rules, evaluate, narrower_client_allow, user_rules, Direction, Requirement, Verdict,
};
use crate::rules::apim_network::placement::Linked;
use crate::rules::apim_network::{in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{eq_ci, Resource, Template};

pub struct ApimNsgMissingRequiredRule;

pub static META: RuleMeta = RuleMeta {
    id: "APIM103",
    name: "apim-nsg-missing-required-rule",
    summary: "Network security group on the API Management subnet blocks traffic the service needs",
    default_level: Level::Warning,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "4.0",
    docs: include_str!("../../../rules/APIM103.md"),
};

const fn inbound(port: u16, remote: &'static str, purpose: &'static str) -> Requirement {
    Requirement {
        direction: Direction::Inbound,
        port,
        remote,
        purpose,
        clients: false,
    }
}
const fn outbound(port: u16, remote: &'static str, purpose: &'static str) -> Requirement {
    Requirement {
        direction: Direction::Outbound,
        port,
        remote,
        purpose,
        clients: false,
    }
}

/// What classic injection needs, for a service of `sku` in `vnet_type` mode.
fn requirements(sku: &str, vnet_type: &str, http_api: bool) -> Vec<Requirement> {
    let mut out = vec![inbound(
        3443,
        "ApiManagement",
        "the management endpoint for the Azure portal and PowerShell",
    )];
    if !eq_ci(sku, "Developer") {
        out.push(inbound(
            6390,
            "AzureLoadBalancer",
            "the Azure infrastructure load balancer",
        ));
    }
    if eq_ci(vnet_type, "External") {
        out.push(Requirement {
            clients: true,
            ..inbound(443, "Internet", "client communication to the gateway")
        });
        if http_api {
            out.push(Requirement {
                clients: true,
                ..inbound(
                    80,
                    "Internet",
                    "client communication over HTTP, which an API of the service allows",
                )
            });
        }
    }
    out.extend([
        outbound(80, "Internet", "certificate validation and management"),
        outbound(
            443,
            "Storage",
            "Azure Storage, a dependency for core service functionality",
        ),
        outbound(
            1433,
            "Sql",
            "Azure SQL endpoints for core service functionality",
        ),
        outbound(
            443,
            "AzureKeyVault",
            "Azure Key Vault, a dependency for core service functionality",
        ),
        outbound(
            1886,
            "AzureMonitor",
            "diagnostics logs and metrics, Resource Health and Application Insights",
        ),
        outbound(
            443,
            "AzureMonitor",
            "diagnostics logs and metrics, Resource Health and Application Insights",
        ),
    ]);
    out
}

/// Does an API of the service list `http` among its protocols?
fn has_http_api(template: &Template<'_>, service: usize) -> bool {
    template
        .of_type("Microsoft.ApiManagement/service/apis")
        .filter(|(_, api)| template.owner_of(api, APIM_SERVICE) == Some(service))
        .any(|(_, api)| {
            api.path("properties.protocols")
                .and_then(|p| p.elements())
                .unwrap_or_default()
                .iter()
                .any(|p| p.as_str().is_some_and(|s| eq_ci(s, "http")))
        })
}

impl Rule for ApimNsgMissingRequiredRule {
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
        let http_api = template
            .index_of(service)
            .is_some_and(|i| has_http_api(template, i));
        for (placement, subnet) in network.subnets() {
            let Linked::Declared(nsg) = subnet.linked(template, "networkSecurityGroup") else {
                continue;
            };
            let nsg_resource = &template.resources[nsg];
            let mut rules = user_rules(template, nsg);
            rules.extend(default_rules());
            let subnet_range = subnet
                .get("addressPrefix")
                .and_then(|p| p.as_str().map(str::to_owned));
            let fallback_span = nsg_resource
                .path("properties.securityRules")
                .map_or_else(|| nsg_resource.span(), |r| r.span());
            for requirement in requirements(&network.sku, &network.vnet_type, http_api) {
                let Verdict::Denied(rule) = evaluate(
                    &rules,
                    &requirement,
                    placement.location.as_deref(),
                    subnet_range.as_deref(),
                ) else {
                    continue;
                };
                let clients_chosen = requirement.clients
                    && narrower_client_allow(
                        &rules,
                        &requirement,
                        subnet_range.as_deref(),
                        rule.priority,
                    )
                    .is_some();
                if clients_chosen {
                    continue;
                }
                let mut diagnostic = Diagnostic::new(
                    META.default_level,
                    rule.span.unwrap_or(fallback_span),
                    format!(
                        "network security group `{}` on subnet `{}` ({} of API Management service `{}`) does not allow {}, which API Management needs for {}: {} denies it first",
                        nsg_resource.display_name(),
                        subnet.name,
                        placement.label,
                        service.display_name(),
                        requirement.describe(),
                        requirement.purpose,
                        rule.describe()
                    ),
                )
                .with_label(if rule.span.is_some() {
                    "this rule denies it"
                } else {
                    "no rule allows it before the default deny"
                })
                .with_help(format!(
                    "add a security rule that allows {} with a priority before {} (a lower number); use the service tag, not IP addresses",
                    requirement.describe(),
                    rule.describe()
                ));
                if let Some(id) = &placement.subnet_id {
                    diagnostic = diagnostic.with_related(id.span(), "the service is injected here");
                }
                cx.report(service, diagnostic);
            }
        }
    }
}
