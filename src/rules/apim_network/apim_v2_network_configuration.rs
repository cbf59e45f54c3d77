//! APIM105: v2 tiers in a virtual network: the subnet delegation each needs, and the
//! network types a tier does not offer (seed apim-standard-v2-vnet-integration).

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim_network::placement::{sku_name, vnet_type};
use crate::rules::apim_network::{delegations, in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{eq_ci, Resource, Template};

pub struct ApimV2NetworkConfiguration;

pub static META: RuleMeta = RuleMeta {
    id: "APIM105",
    name: "apim-v2-network-configuration",
    summary: "v2-tier API Management in a virtual network without the subnet delegation or network type the tier needs",
    default_level: Level::Error,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "3.0",
    docs: include_str!("../../../rules/APIM105.md"),
};

impl Rule for ApimV2NetworkConfiguration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        service: &Resource<'_>,
        template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        let (Some(sku), Some(mode)) = (sku_name(service), vnet_type(service)) else {
            return;
        };
        let name = service.display_name();
        let mode_value = service.path("properties.virtualNetworkType");
        let unsupported = (eq_ci(&sku, "BasicV2") && !eq_ci(&mode, "None"))
            || (eq_ci(&sku, "StandardV2") && eq_ci(&mode, "Internal"));
        if unsupported {
            if let Some(value) = &mode_value {
                let offered = if eq_ci(&sku, "BasicV2") {
                    "Basic v2 offers no virtual network option"
                } else {
                    "Standard v2 offers outbound integration (`External`) only"
                };
                cx.report(
                    service,
                    Diagnostic::new(
                        META.default_level,
                        value.span(),
                        format!("API Management service `{name}` is `{sku}` with `virtualNetworkType` `{mode}`: {offered}"),
                    )
                    .with_label("not offered for this tier")
                    .with_help("use `virtualNetworkType` `External` with a subnet delegated to `Microsoft.Web/serverFarms` (Standard v2, Premium v2), or Premium v2 for injection"),
                );
            }
            return;
        }
        let needed = if (eq_ci(&sku, "StandardV2") || eq_ci(&sku, "PremiumV2"))
            && eq_ci(&mode, "External")
        {
            (
                "Microsoft.Web/serverFarms",
                "outbound virtual network integration",
            )
        } else if eq_ci(&sku, "PremiumV2") && eq_ci(&mode, "Internal") {
            (
                "Microsoft.Web/hostingEnvironments",
                "virtual network injection",
            )
        } else {
            return;
        };
        let Some(network) = in_network(template, service) else {
            return;
        };
        for (placement, subnet) in network.subnets() {
            let value = subnet.get("delegations");
            let services = match &value {
                Some(v) => match delegations(v) {
                    Some(s) => s,
                    None => continue,
                },
                None => Vec::new(),
            };
            if services.iter().any(|s| eq_ci(s, needed.0)) {
                continue;
            }
            let has = if services.is_empty() {
                "has no delegation".to_owned()
            } else {
                format!("is delegated to `{}`", services.join("`, `"))
            };
            let mut diagnostic = Diagnostic::new(
                META.default_level,
                value.as_ref().map_or_else(|| subnet.properties_span(), |v| v.span()),
                format!(
                    "API Management service `{name}` (`{sku}`, `virtualNetworkType` `{mode}`: {}) uses subnet `{}`, which {has}; it must be delegated to `{}`",
                    needed.1, subnet.name, needed.0
                ),
            )
            .with_label(format!("needs a delegation to `{}`", needed.0))
            .with_help(format!(
                "delegate the subnet to `{}` (`properties.delegations[].properties.serviceName`) and use it for API Management only",
                needed.0
            ));
            if let Some(id) = &placement.subnet_id {
                diagnostic = diagnostic.with_related(id.span(), "the service's subnet");
            }
            cx.report(service, diagnostic);
        }
    }
}
