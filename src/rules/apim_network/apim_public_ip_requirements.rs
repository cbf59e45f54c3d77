//! APIM104: the public IP address of an injected service does not meet API Management's
//! requirements, or zone-redundant injection has none (seed apim-vnet-external-mode,
//! "Prerequisites").

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim_network::{in_network, SERVICE_TYPES};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::source::Span;
use crate::template::{eq_ci, Resource, Template};

pub struct ApimPublicIpRequirements;

pub static META: RuleMeta = RuleMeta {
    id: "APIM104",
    name: "apim-public-ip-requirements",
    summary:
        "Public IP address of an injected API Management service does not meet its requirements",
    default_level: Level::Error,
    resource_types: SERVICE_TYPES,
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "3.0",
    docs: include_str!("../../../rules/APIM104.md"),
};

/// The requirements a public IP address fails: (span, what is wrong).
fn problems(ip: &Resource<'_>) -> Vec<(Span, String)> {
    let mut out = Vec::new();
    let properties_span = ip.get("properties").map_or_else(|| ip.span(), |p| p.span());
    match ip.path("sku.name") {
        None => out.push((
            ip.span(),
            "has no `sku`, so it is a Basic SKU address; API Management needs Standard".to_owned(),
        )),
        Some(sku) => {
            if let Some(name) = sku.as_str() {
                if !eq_ci(name, "Standard") {
                    out.push((
                        sku.span(),
                        format!("is `{name}` SKU; API Management needs Standard"),
                    ));
                }
            }
        }
    }
    if let Some(version) = ip.path("properties.publicIPAddressVersion") {
        if version.as_str().is_some_and(|v| !eq_ci(v, "IPv4")) {
            out.push((
                version.span(),
                format!(
                    "is `{}`; API Management needs an IPv4 address",
                    version.display()
                ),
            ));
        }
    }
    if let Some(method) = ip.path("properties.publicIPAllocationMethod") {
        if method.as_str().is_some_and(|m| eq_ci(m, "Dynamic")) {
            out.push((
                method.span(),
                "is dynamically allocated; API Management needs a static address".to_owned(),
            ));
        }
    }
    let label = ip.path("properties.dnsSettings.domainNameLabel");
    if label
        .as_ref()
        .is_none_or(|l| l.as_str().is_some_and(str::is_empty))
    {
        let span = ip
            .path("properties.dnsSettings")
            .map_or(properties_span, |d| d.span());
        out.push((
            span,
            "has no DNS name label (`dnsSettings.domainNameLabel`); API Management needs one"
                .to_owned(),
        ));
    }
    out
}

impl Rule for ApimPublicIpRequirements {
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
        let name = service.display_name();
        for placement in &network.placements {
            match &placement.public_ip {
                Some(id) => {
                    let Some(index) = id.name_text().and_then(|t| template.resource_by_id(&t))
                    else {
                        continue;
                    };
                    let ip = &template.resources[index];
                    if !ip.is_type("Microsoft.Network/publicIPAddresses") {
                        continue;
                    }
                    for (span, problem) in problems(ip) {
                        let diagnostic = Diagnostic::new(
                            META.default_level,
                            span,
                            format!(
                                "public IP address `{}` of API Management service `{name}` ({}) {problem}",
                                ip.display_name(),
                                placement.label
                            ),
                        )
                        .with_label("does not meet API Management's requirement")
                        .with_related(id.span(), "the service uses this address")
                        .with_help(
                            "use a Standard SKU, static IPv4 public IP address with a DNS name label (usually the service's name), in the service's region and subscription; \
                             for zone redundancy, make the address zone-redundant too",
                        );
                        cx.report(service, diagnostic);
                    }
                }
                None => {
                    let Some(zones) = &placement.zones else {
                        continue;
                    };
                    let diagnostic = Diagnostic::new(
                        META.default_level,
                        zones.span(),
                        format!(
                            "API Management service `{name}` is zone-redundant and injected into a virtual network ({}), but sets no `publicIpAddressId`",
                            placement.label
                        ),
                    )
                    .with_label("zones set")
                    .with_help("create a Standard SKU, static, zone-redundant IPv4 public IP address with a DNS name label and set `publicIpAddressId` for this location");
                    cx.report(service, diagnostic);
                }
            }
        }
    }
}
