//! Cross-resource lookups within one deployment: resources by resource ID and by
//! endpoint host name, and whether a caller has a network line of sight to a target.

use super::{eq_ci, parse_resource_id, Resource, Template, Tri, ValueRef};
use std::collections::HashMap;

/// Endpoint host suffixes and the resource type whose name comes before them.
const ENDPOINT_SUFFIXES: &[(&str, &str)] = &[
    (".vault.azure.net", "Microsoft.KeyVault/vaults"),
    (".managedhsm.azure.net", "Microsoft.KeyVault/managedHSMs"),
    (
        ".blob.core.windows.net",
        "Microsoft.Storage/storageAccounts",
    ),
    (".dfs.core.windows.net", "Microsoft.Storage/storageAccounts"),
    (
        ".queue.core.windows.net",
        "Microsoft.Storage/storageAccounts",
    ),
    (
        ".table.core.windows.net",
        "Microsoft.Storage/storageAccounts",
    ),
    (
        ".file.core.windows.net",
        "Microsoft.Storage/storageAccounts",
    ),
    (".servicebus.windows.net", "Microsoft.ServiceBus/namespaces"),
    (".servicebus.windows.net", "Microsoft.EventHub/namespaces"),
    (".azurecr.io", "Microsoft.ContainerRegistry/registries"),
];

/// The host of a URL (or of a bare host name), lowercased.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
    host.to_ascii_lowercase()
}

/// The kind of Azure service an endpoint URL or an Entra ID resource (audience) belongs
/// to, whether or not the resource is declared in the deployment:
/// `https://x.blob.core.windows.net/c` and `https://storage.azure.com/` are Storage.
pub fn endpoint_service(url: &str) -> Option<&'static str> {
    let host = host_of(url);
    let host = host.trim_end_matches('.');
    match host {
        "storage.azure.com" => return Some("Microsoft.Storage/storageAccounts"),
        "vault.azure.net" => return Some("Microsoft.KeyVault/vaults"),
        "managedhsm.azure.net" => return Some("Microsoft.KeyVault/managedHSMs"),
        _ => {}
    }
    ENDPOINT_SUFFIXES
        .iter()
        .find(|(suffix, _)| host.len() > suffix.len() && host.ends_with(suffix))
        .map(|(_, ty)| *ty)
}

/// The resource a URL's host names, as candidate (type, lowercase name) pairs: one,
/// except for `*.servicebus.windows.net`, which Service Bus and Event Hubs share.
/// Empty when the host is no resource's endpoint or its name is a placeholder.
pub fn endpoint_targets(url: &str) -> Vec<(&'static str, String)> {
    let host = host_of(url);
    ENDPOINT_SUFFIXES
        .iter()
        .filter_map(|(suffix, ty)| {
            let name = host.strip_suffix(suffix)?;
            let plain = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            plain.then(|| (*ty, name.to_owned()))
        })
        .collect()
}

impl<'a> Template<'a> {
    /// The resource of `owner_type` a child resource (an API Management policy, a Data
    /// Factory linked service, …) belongs to: by the first segment of its full name,
    /// else by nesting, `parent` or `dependsOn`.
    pub fn owner_of(&self, child: &Resource<'a>, owner_type: &str) -> Option<usize> {
        let first = child
            .literal_name()
            .and_then(|n| n.split('/').next().map(str::to_owned));
        if let Some(i) = first.and_then(|first| self.named(owner_type, &first)) {
            return Some(i);
        }
        self.parent_of(child, owner_type).map(|p| p.index)
    }

    /// The index of a resource of this template (by identity).
    pub fn index_of(&self, resource: &Resource<'a>) -> Option<usize> {
        self.resources
            .get(resource.index)
            .filter(|r| std::ptr::eq(*r, resource))
            .map(|r| r.index)
    }

    /// The private endpoints in the deployment whose `privateLinkServiceConnections`
    /// connect to the resource at `target`.
    pub fn private_endpoints_to<'t>(
        &'t self,
        target: usize,
    ) -> impl Iterator<Item = &'t Resource<'a>> + 't {
        // Indexed once per template: line of sight is asked per call, and a template
        // may hold thousands of calls and private endpoints.
        self.private_endpoints
            .get_or_init(|| {
                let mut by_target: HashMap<usize, Vec<usize>> = HashMap::new();
                for (index, pe) in self.of_type("Microsoft.Network/privateEndpoints") {
                    for connection in pe
                        .path("properties.privateLinkServiceConnections")
                        .and_then(|c| c.elements())
                        .unwrap_or_default()
                    {
                        let Some(id) = connection.path("properties.privateLinkServiceId") else {
                            continue;
                        };
                        if let Some(target) = self.resource_referenced_by(&id) {
                            let list = by_target.entry(target).or_default();
                            if list.last() != Some(&index) {
                                list.push(index);
                            }
                        }
                    }
                }
                by_target
            })
            .get(&target)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&i| &self.resources[i])
    }

    /// The resource a resource ID names, when it is declared in this deployment.
    pub fn resource_by_id(&self, id: &str) -> Option<usize> {
        let (ty, name) = parse_resource_id(id)?;
        self.named(&ty, &name)
    }

    /// The resource an endpoint URL (`https://{vault}.vault.azure.net/secrets/x`,
    /// `{name}.blob.core.windows.net`, …) belongs to, when it is in this deployment.
    pub fn resource_by_endpoint(&self, url: &str) -> Option<usize> {
        let host = host_of(url);
        for (suffix, ty) in ENDPOINT_SUFFIXES {
            if let Some(i) = host
                .strip_suffix(suffix)
                .and_then(|name| self.named(ty, name))
            {
                return Some(i);
            }
        }
        None
    }

    /// The resource a value refers to: a resource ID, or an endpoint URL.
    pub fn resource_referenced_by(&self, value: &ValueRef<'_>) -> Option<usize> {
        let text = value.name_text()?;
        if text.contains("/providers/") {
            self.resource_by_id(&text)
        } else {
            self.resource_by_endpoint(&text)
        }
    }

    /// The subnet an API Management service is injected into or integrated with
    /// (`virtualNetworkType` not `None`), as its resource ID text.
    pub fn vnet_subnet_of(&self, caller: &Resource<'a>) -> Tri {
        let vnet_type = caller.path("properties.virtualNetworkType");
        match vnet_type
            .as_ref()
            .map(|v| v.is_one_of(&["External", "Internal"]))
        {
            None | Some(Tri::No) => Tri::No,
            Some(other) => other,
        }
    }

    /// Does `caller` (an API Management service) have a network line of sight to the
    /// locked-down `target`? Yes when the target's `virtualNetworkRules` name the
    /// caller's subnet, or a private endpoint to the target sits in the caller's virtual
    /// network; no when the caller is in no virtual network (a private endpoint alone
    /// does not help it); unknown when IP rules or an unknown setting could admit it,
    /// except for Storage in the caller's region, whose IP rules never admit Azure
    /// services there.
    pub fn line_of_sight(&self, caller: &Resource<'a>, target: &Resource<'a>) -> Tri {
        match self.vnet_subnet_of(caller) {
            Tri::No => return Tri::No,
            Tri::Unknown(r) => return Tri::Unknown(r),
            Tri::Yes => {}
        }
        let Some(subnet) = caller
            .path("properties.virtualNetworkConfiguration.subnetResourceId")
            .and_then(|s| s.name_text())
        else {
            return Tri::Unknown("the service's subnet is not known".into());
        };
        let vnet = subnet
            .to_ascii_lowercase()
            .split("/subnets/")
            .next()
            .unwrap_or("")
            .to_owned();
        let acls = target
            .path("properties.networkAcls")
            .or_else(|| target.path("properties.networkRuleSet"));
        if let Some(rules) = acls
            .as_ref()
            .and_then(|a| a.get("virtualNetworkRules"))
            .and_then(|r| r.elements())
        {
            let named = rules.iter().any(|rule| {
                ["id", "subnetResourceId", "virtualNetworkResourceId"]
                    .iter()
                    .filter_map(|k| rule.get(k))
                    .filter_map(|v| v.name_text())
                    .any(|id| eq_ci(&id, &subnet))
            });
            if named {
                return Tri::Yes;
            }
        }
        let private_endpoint = self.index_of(target).is_some_and(|t| {
            self.private_endpoints_to(t).any(|pe| {
                pe.path("properties.subnet.id")
                    .and_then(|s| s.name_text())
                    .is_some_and(|s| {
                        s.to_ascii_lowercase()
                            .starts_with(&format!("{vnet}/subnets/"))
                    })
            })
        });
        if private_endpoint {
            return Tri::Yes;
        }
        let ip_rules = acls
            .as_ref()
            .and_then(|a| a.get("ipRules"))
            .map_or(Tri::No, |r| r.is_non_empty_array());
        // Storage ignores IP rules for requests from Azure services in its own region.
        let same_region_storage = target.is_type("Microsoft.Storage/storageAccounts")
            && match (
                caller.get("location").and_then(|l| l.name_text()),
                target.get("location").and_then(|l| l.name_text()),
            ) {
                (Some(a), Some(b)) => same_region(&a, &b),
                _ => false,
            };
        match ip_rules {
            Tri::No => Tri::No,
            _ if same_region_storage => Tri::No,
            _ => Tri::Unknown(
                "the target's IP rules might admit the service's outbound addresses".into(),
            ),
        }
    }
}

/// Do two `location` values name the same region? Compares Azure's region names
/// without case and spaces (`West Europe` = `westeurope`); placeholders such as
/// `{resourceGroup().location}` match only themselves.
pub fn same_region(a: &str, b: &str) -> bool {
    let normalize = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://KV1.vault.azure.net/secrets/cert"),
            "kv1.vault.azure.net"
        );
        assert_eq!(
            host_of("https://ns.servicebus.windows.net:443/"),
            "ns.servicebus.windows.net"
        );
        assert_eq!(host_of("cr.azurecr.io"), "cr.azurecr.io");
    }

    #[test]
    fn endpoint_services() {
        use super::endpoint_service;
        assert_eq!(
            endpoint_service("https://acct.dfs.core.windows.net/fs"),
            Some("Microsoft.Storage/storageAccounts")
        );
        assert_eq!(
            endpoint_service("https://vault.azure.net"),
            Some("Microsoft.KeyVault/vaults")
        );
        assert_eq!(
            endpoint_service("https://storage.azure.com/"),
            Some("Microsoft.Storage/storageAccounts")
        );
        assert_eq!(endpoint_service("https://management.azure.com/"), None);
        assert_eq!(endpoint_service("https://.vault.azure.net"), None);
    }
}
