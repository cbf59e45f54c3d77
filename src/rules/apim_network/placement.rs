//! Where an API Management service sits in a virtual network: for its primary location
//! and each `additionalLocations[]` entry, the network type, the subnet (resolved to a
//! `Microsoft.Network/virtualNetworks/subnets` resource or an entry of a virtual
//! network's `properties.subnets`), its network security group and route table, and the
//! public IP address.

use crate::source::Span;
use crate::template::{eq_ci, parse_resource_id, Resource, Template, Tri, ValueRef};

pub const SUBNET: &str = "Microsoft.Network/virtualNetworks/subnets";
const VIRTUAL_NETWORK: &str = "Microsoft.Network/virtualNetworks";

/// API Management tiers that are injected into a virtual network (classic injection).
pub const CLASSIC_INJECTION_SKUS: &[&str] = &["Developer", "Premium", "Isolated"];
/// The v2 tiers.
pub const V2_SKUS: &[&str] = &["BasicV2", "StandardV2", "PremiumV2"];

/// A subnet declared in the deployment.
pub struct Subnet<'a> {
    /// The subnet's `properties`, or `None` when it has none.
    pub properties: Option<ValueRef<'a>>,
    /// The subnet object (a resource, or an entry of `properties.subnets`).
    pub span: Span,
    /// `vnet/subnet`.
    pub name: String,
}

impl<'a> Subnet<'a> {
    pub fn get(&self, key: &str) -> Option<ValueRef<'a>> {
        self.properties.as_ref().and_then(|p| p.get(key))
    }

    /// The span of the subnet's `properties`, else the subnet.
    pub fn properties_span(&self) -> Span {
        self.properties.as_ref().map_or(self.span, |p| p.span())
    }

    /// The resource a `{ "id": … }` reference of the subnet names (`networkSecurityGroup`,
    /// `routeTable`): `Yes(index)` when declared, `No` when the subnet has none,
    /// `Unknown` when it names something outside the deployment.
    pub fn linked(&self, template: &Template<'a>, key: &str) -> Linked {
        let Some(reference) = self.get(key) else {
            return Linked::None;
        };
        if reference.is_null() {
            return Linked::None;
        }
        match reference.get("id").and_then(|id| id.name_text()) {
            Some(id) => match template.resource_by_id(&id) {
                Some(i) => Linked::Declared(i),
                None => Linked::Elsewhere,
            },
            None => Linked::Elsewhere,
        }
    }
}

/// What a subnet's reference (NSG, route table) points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    None,
    Declared(usize),
    /// Outside the deployment, or not known offline.
    Elsewhere,
}

/// One location of an API Management service: the primary one, or an additional one.
pub struct Placement<'a> {
    /// "the primary location" or "additional location `northeurope`".
    pub label: String,
    pub subnet_id: Option<ValueRef<'a>>,
    pub subnet: Option<Subnet<'a>>,
    pub public_ip: Option<ValueRef<'a>>,
    pub zones: Option<ValueRef<'a>>,
    pub location: Option<String>,
}

/// Every location of the service that has a `virtualNetworkConfiguration`.
pub fn placements<'a>(template: &Template<'a>, service: &Resource<'a>) -> Vec<Placement<'a>> {
    let Some(properties) = service.get("properties") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let primary_location = service.get("location").and_then(|l| l.name_text());
    out.push(placement(
        template,
        "the primary location".to_owned(),
        properties.clone(),
        service.get("zones"),
        primary_location,
    ));
    for entry in properties
        .get("additionalLocations")
        .and_then(|a| a.elements())
        .unwrap_or_default()
    {
        let location = entry.get("location").and_then(|l| l.name_text());
        let label = format!(
            "additional location `{}`",
            location.as_deref().unwrap_or("(unknown)")
        );
        let zones = entry.get("zones");
        out.push(placement(template, label, entry, zones, location));
    }
    out
}

fn placement<'a>(
    template: &Template<'a>,
    label: String,
    holder: ValueRef<'a>,
    zones: Option<ValueRef<'a>>,
    location: Option<String>,
) -> Placement<'a> {
    let subnet_id = holder.path("virtualNetworkConfiguration.subnetResourceId");
    let subnet = subnet_id
        .as_ref()
        .and_then(|id| id.name_text())
        .and_then(|id| find_subnet(template, &id));
    Placement {
        label,
        public_ip: holder.get("publicIpAddressId").filter(|v| !v.is_null()),
        subnet_id,
        subnet,
        zones: zones.filter(|z| z.is_non_empty_array() != Tri::No),
        location,
    }
}

/// The subnet a subnet resource ID names, when the deployment declares it.
pub fn find_subnet<'a>(template: &Template<'a>, id: &str) -> Option<Subnet<'a>> {
    let (ty, name) = parse_resource_id(id)?;
    if !eq_ci(&ty, SUBNET) {
        return None;
    }
    let (vnet_name, subnet_name) = name.split_once('/')?;
    if let Some((_, resource)) = template
        .of_type(SUBNET)
        .find(|(_, r)| r.literal_name().is_some_and(|n| eq_ci(&n, &name)))
    {
        return Some(Subnet {
            properties: resource.get("properties"),
            span: resource.span(),
            name,
        });
    }
    let (_, vnet) = template
        .of_type(VIRTUAL_NETWORK)
        .find(|(_, r)| r.literal_name().is_some_and(|n| eq_ci(&n, vnet_name)))?;
    let entry = vnet
        .path("properties.subnets")
        .and_then(|s| s.elements())
        .unwrap_or_default()
        .into_iter()
        .find(|s| {
            s.get("name")
                .and_then(|n| n.name_text())
                .is_some_and(|n| eq_ci(&n, subnet_name))
        })?;
    Some(Subnet {
        properties: entry.get("properties"),
        span: entry.span(),
        name,
    })
}

/// The service's SKU name, when known.
pub fn sku_name(service: &Resource<'_>) -> Option<String> {
    service
        .path("sku.name")
        .and_then(|s| s.as_str().map(str::to_owned))
}

/// The service's `virtualNetworkType` (`None` when absent), when known.
pub fn vnet_type(service: &Resource<'_>) -> Option<String> {
    match service.path("properties.virtualNetworkType") {
        None => Some("None".to_owned()),
        Some(v) => v.as_str().map(str::to_owned),
    }
}
