//! API Management network line of sight: virtual network injection (Developer,
//! Premium, Isolated) and v2 virtual network integration, checked against the subnet,
//! network security group, route table and public IP the deployment declares (seeds
//! apim-vnet-external-mode and apim-standard-v2-vnet-integration).

pub mod apim_forced_tunnel_management_route;
pub mod apim_forced_tunnel_without_service_endpoints;
pub mod apim_injection_subnet_delegated;
pub mod apim_nsg_missing_required_rule;
pub mod apim_public_ip_requirements;
pub mod apim_subnet_without_nsg;
pub mod apim_v2_network_configuration;
pub mod nsg;
pub mod placement;

use crate::rules::apim::APIM_SERVICE;
use crate::template::{eq_ci, Resource, Template, ValueRef};
use placement::{placements, sku_name, vnet_type, Placement, CLASSIC_INJECTION_SKUS};

/// The resource types the networking rules are called for.
pub const SERVICE_TYPES: &[&str] = &[APIM_SERVICE];

/// A service in a virtual network: its SKU, network type and locations.
pub struct InNetwork<'a> {
    pub sku: String,
    /// `External` or `Internal`.
    pub vnet_type: String,
    pub placements: Vec<Placement<'a>>,
}

impl<'a> InNetwork<'a> {
    /// Each location whose subnet the deployment declares, with that subnet.
    pub fn subnets(&self) -> impl Iterator<Item = (&Placement<'a>, &placement::Subnet<'a>)> {
        self.placements
            .iter()
            .filter_map(|p| p.subnet.as_ref().map(|s| (p, s)))
    }

    /// Classic injection: a Developer, Premium or Isolated service.
    pub fn classic(&self) -> bool {
        CLASSIC_INJECTION_SKUS.iter().any(|s| eq_ci(s, &self.sku))
    }
}

/// The service's network placement, when its SKU is known and its
/// `virtualNetworkType` is `External` or `Internal`.
pub fn in_network<'a>(template: &Template<'a>, service: &Resource<'a>) -> Option<InNetwork<'a>> {
    let sku = sku_name(service)?;
    let vnet_type = vnet_type(service)?;
    if !(eq_ci(&vnet_type, "External") || eq_ci(&vnet_type, "Internal")) {
        return None;
    }
    Some(InNetwork {
        sku,
        vnet_type,
        placements: placements(template, service),
    })
}

/// The `serviceName` of each of the subnet's delegations (`None` if unknown).
pub fn delegations(delegations: &ValueRef<'_>) -> Option<Vec<String>> {
    delegations
        .elements()?
        .iter()
        .map(|d| {
            d.path("properties.serviceName")
                .or_else(|| d.get("serviceName"))
                .and_then(|s| s.as_str().map(str::to_owned))
        })
        .collect()
}

/// One route of a route table: its address prefix, next hop type and where it is.
pub struct Route<'a> {
    pub address_prefix: Option<String>,
    pub next_hop: Option<String>,
    pub value: ValueRef<'a>,
}

/// The routes of a route table: `properties.routes` and `routeTables/routes` children.
pub fn routes<'a>(template: &Template<'a>, route_table: usize) -> Vec<Route<'a>> {
    let route = |properties: Option<ValueRef<'a>>, value: ValueRef<'a>| {
        let text = |key: &str| {
            properties
                .as_ref()
                .and_then(|p| p.get(key))
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        Route {
            address_prefix: text("addressPrefix"),
            next_hop: text("nextHopType"),
            value,
        }
    };
    let table = &template.resources[route_table];
    let mut out: Vec<Route<'a>> = table
        .path("properties.routes")
        .and_then(|r| r.elements())
        .unwrap_or_default()
        .into_iter()
        .map(|entry| route(entry.get("properties"), entry))
        .collect();
    for (_, child) in template.of_type("Microsoft.Network/routeTables/routes") {
        if template.owner_of(child, "Microsoft.Network/routeTables") == Some(route_table) {
            out.push(route(child.get("properties"), child.value.clone()));
        }
    }
    out
}

/// A classic injection subnet whose route table forces internet-bound traffic
/// (`0.0.0.0/0`) to a virtual appliance or a virtual network gateway.
pub struct ForcedTunnel<'a> {
    pub route_table: usize,
    pub default_route: Route<'a>,
    pub routes: Vec<Route<'a>>,
}

/// The forced tunnel on a placement's subnet, if its route table has one.
pub fn forced_tunnel<'a>(
    template: &Template<'a>,
    subnet: &placement::Subnet<'a>,
) -> Option<ForcedTunnel<'a>> {
    let placement::Linked::Declared(route_table) = subnet.linked(template, "routeTable") else {
        return None;
    };
    let mut routes = routes(template, route_table);
    let at = routes.iter().position(|r| {
        r.address_prefix.as_deref() == Some("0.0.0.0/0")
            && r.next_hop
                .as_deref()
                .is_some_and(|h| eq_ci(h, "VirtualAppliance") || eq_ci(h, "VirtualNetworkGateway"))
    })?;
    let default_route = routes.remove(at);
    Some(ForcedTunnel {
        route_table,
        default_route,
        routes,
    })
}
