//! A template's part of the estate ([`crate::estate::FileFacts`]): its targets, the
//! managed-identity calls of its API Management gateways and Data Factory
//! configurations, and its factories — read once, after the template's own rules ran,
//! from the same call lists those rules use.

use std::collections::HashMap;

use jsonc_parser::ast::Value as Ast;

use crate::estate::{
    Access, CallFact, CallerKind, CallerSight, ControlUse, FactoryFact, FileFacts, GatewaySight,
    ManagedLink, RuntimeKind, TargetFact, TargetNetwork,
};
use crate::rules::apim::control_plane::{key_vault_uses, Use};
use crate::rules::apim::gateway_calls::{gateway_calls, target_access};
use crate::rules::apim::APIM_SERVICE;
use crate::rules::apim::{disable_setting, DisableSetting};
use crate::rules::data_factory::factory_calls::{
    factory_calls, factory_of, linked_service_endpoint, runtime_of, trust_mode, FactoryCall,
    Runtime, FACTORY, KEY_VAULT, LINKED_SERVICE, MANAGED_PRIVATE_ENDPOINT, STORAGE,
};
use crate::rules::{deployed_only_if, resource_info};
use crate::template::{
    endpoint_targets, eq_ci, parse_resource_id, Resource, Template, Tri, ValueRef,
};

/// The target services and the rule that reports each one's bypass.
const TARGETS: &[(&str, &str)] = &[
    ("Microsoft.Storage/storageAccounts", "STG001"),
    ("Microsoft.KeyVault/vaults", "KV001"),
    ("Microsoft.KeyVault/managedHSMs", "HSM001"),
    ("Microsoft.ServiceBus/namespaces", "SB001"),
    ("Microsoft.EventHub/namespaces", "EH001"),
    ("Microsoft.ContainerRegistry/registries", "ACR001"),
];

/// The facts of an evaluated template whose document is `root`. Targets are kept when
/// another file's call could name them (their name is plain) or a call here names
/// them; with `all_targets`, every one (the inventory lists targets nobody calls).
pub fn collect(template: &Template<'_>, root: &Ast<'_>, all_targets: bool) -> FileFacts {
    let mut facts = FileFacts::default();
    let gateway = gateway_calls(template);
    let factory = factory_calls(template);
    let uses = key_vault_uses(template);
    let called: std::collections::HashSet<usize> = gateway
        .iter()
        .filter_map(|c| c.target)
        .chain(factory.iter().filter_map(|c| c.target))
        .chain(uses.iter().filter_map(|u| u.vault))
        .collect();
    // Resource index → index in `facts.targets`.
    let mut targets: HashMap<usize, usize> = HashMap::new();
    for &(kind, rule) in TARGETS {
        for (index, resource) in template.of_type(kind) {
            let name = plain_name(resource);
            if name.is_none() && !all_targets && !called.contains(&index) {
                continue; // no call can name it
            }
            let access = target_access(template, resource);
            targets.insert(index, facts.targets.len());
            facts.targets.push(TargetFact {
                kind,
                display: match (&name, resource.literal_name_ref()) {
                    (Some(_), Some(written)) => written.to_owned(),
                    _ => resource.display_name(),
                },
                name,
                rule: access.admits.is_yes().then_some(rule),
                access: Access {
                    locked: access.locked,
                    admits: access.admits,
                    span: access.span,
                },
                network: target_network(template, index, resource),
                line: 0,
                holder: resource_info(resource),
                pointer: crate::fingerprint::json_path(root, access.span),
                locked_at: lock_of(resource),
            });
        }
    }
    for (_, service) in template.of_type(APIM_SERVICE) {
        if let Some(name) = plain_name(service) {
            facts
                .gateways
                .push((name, gateway_sight(template, service)));
        }
    }
    for call in gateway {
        let service = call.service.map(|s| &template.resources[s]);
        let holder = &template.resources[call.holder];
        let (target_kinds, target_name) = target_of(&call.endpoint);
        facts.calls.push(CallFact {
            kind: CallerKind::ApimGateway,
            caller: call.service_name,
            how: call.how,
            span: call.at.span(),
            pointer: crate::fingerprint::json_path(root, call.at.span()),
            holder: resource_info(holder),
            qualifier: deployed_only_if(holder),
            target_kinds,
            target_name,
            target_written: call.endpoint,
            local_target: call.target.and_then(|t| targets.get(&t).copied()),
            decided_in_file: call.target.is_some() && service.is_some(),
            system_identity: call.system_identity,
            sight: CallerSight::Gateway(service.map(|s| gateway_sight(template, s))),
            line: 0,
        });
    }
    for call in factory {
        let holder = &template.resources[call.holder];
        let written = call
            .at
            .name_text()
            .unwrap_or_else(|| call.at.written_text());
        let (mut target_kinds, target_name) = match account_name(&written) {
            Some(account) => (vec![call.service], Some(account)),
            None => target_of(&written),
        };
        target_kinds.retain(|k| eq_ci(k, call.service));
        if target_kinds.is_empty() {
            // The kind came from the `resource` / `aadResourceId` audience.
            target_kinds.push(call.service);
        }
        let kind = match holder.is_type("Microsoft.DataFactory/factories/pipelines") {
            true => CallerKind::AdfActivity,
            false => CallerKind::AdfLinkedService,
        };
        facts.calls.push(CallFact {
            kind,
            caller: call.factory_name.clone(),
            how: call.how.clone(),
            span: call.at.span(),
            pointer: crate::fingerprint::json_path(root, call.at.span()),
            holder: resource_info(holder),
            qualifier: deployed_only_if(holder),
            target_kinds,
            target_name,
            target_written: written,
            local_target: call.target.and_then(|t| targets.get(&t).copied()),
            decided_in_file: call.target.is_some(),
            system_identity: call.system_identity,
            sight: runtime_sight(template, &call),
            line: 0,
        });
    }
    for u in uses {
        let local_vault = u.vault.and_then(|v| targets.get(&v).copied());
        let Some(reference) = u.reference.name_text() else {
            continue;
        };
        let (vault_kinds, vault) = target_of(&reference);
        let Some(vault) = vault.or_else(|| local_vault.and_then(|i| facts.targets[i].name.clone()))
        else {
            continue;
        };
        let service = &template.resources[u.service];
        let holder = &template.resources[u.holder];
        facts.control_uses.push(ControlUse {
            service: service.display_name(),
            what: u.what.clone(),
            hostname: u.kind == Use::Hostname,
            span: u.reference.span(),
            pointer: crate::fingerprint::json_path(root, u.reference.span()),
            identity: u
                .identity_client_id
                .as_ref()
                .map(|c| (c.span(), crate::fingerprint::json_path(root, c.span()))),
            holder: resource_info(holder),
            qualifier: deployed_only_if(holder),
            vault_kinds,
            vault,
            local_vault,
            sight: Some(gateway_sight(template, service)),
            line: 0,
        });
    }
    for (_, linked_service) in template.of_type(LINKED_SERVICE) {
        let connect_via = linked_service.path("properties.connectVia");
        let Runtime::ManagedVnet { runtime, network } =
            runtime_of(template, linked_service, connect_via)
        else {
            continue;
        };
        let Some((endpoint, None)) = linked_service_endpoint(template, linked_service) else {
            continue; // no endpoint, or a target in this file (ADF004 decides it)
        };
        let written = endpoint.name_text().unwrap_or_default();
        let (mut target_kinds, target) = match account_name(&written) {
            Some(account) => (vec![STORAGE], Some(account)),
            None => target_of(&written),
        };
        target_kinds.retain(|k| *k == STORAGE || *k == KEY_VAULT);
        let (false, Some(target)) = (target_kinds.is_empty(), target) else {
            continue;
        };
        let (_, factory_name) = factory_of(template, linked_service);
        let runtime = &template.resources[runtime];
        facts.managed_links.push(ManagedLink {
            linked_service: linked_service.short_name(),
            runtime: runtime.short_name(),
            span: endpoint.span(),
            pointer: crate::fingerprint::json_path(root, endpoint.span()),
            holder: resource_info(linked_service),
            qualifier: deployed_only_if(linked_service),
            runtime_span: Some(
                runtime
                    .path("properties.managedVirtualNetwork")
                    .map_or_else(|| runtime.span(), |v| v.span()),
            ),
            target_kinds,
            target,
            private_endpoint_targets: managed_private_endpoint_targets(
                template,
                &factory_name,
                &network,
            ),
            network,
        });
    }
    for (_, factory) in template.of_type(FACTORY) {
        if let Some(name) = plain_name(factory) {
            facts.factories.push(FactoryFact {
                name,
                mode: trust_mode(factory).0,
            });
        }
    }
    facts
}

/// The setting that locks a vault, Managed HSM or Storage account down, and what to say
/// there.
fn lock_of(resource: &Resource<'_>) -> Option<(crate::source::Span, String)> {
    if !(resource.is_type("Microsoft.KeyVault/vaults")
        || resource.is_type("Microsoft.KeyVault/managedHSMs")
        || resource.is_type(STORAGE))
    {
        return None;
    }
    let locked = crate::rules::common::locked_down(
        resource,
        "properties.publicNetworkAccess",
        "properties.networkAcls.defaultAction",
    );
    locked.state.is_yes().then_some((locked.span, locked.label))
}

/// What gives an API Management service's gateway a network path.
fn gateway_sight(template: &Template<'_>, service: &Resource<'_>) -> GatewaySight {
    GatewaySight {
        in_network: template.vnet_subnet_of(service),
        subnet: service
            .path("properties.virtualNetworkConfiguration.subnetResourceId")
            .and_then(|s| s.name_text())
            .map(|s| s.to_ascii_lowercase()),
        location: location(service),
        already_disabled: matches!(disable_setting(service), DisableSetting::Present(v) if v.as_str().is_some_and(|s| eq_ci(s, "True"))),
    }
}

/// A resource's full name, lowercase, when it is known and not built from
/// deployment-time placeholders (those match nothing across files).
fn plain_name(resource: &Resource<'_>) -> Option<String> {
    resource
        .literal_name_ref()
        .filter(|n| !n.is_empty() && !n.contains(['{', '[', ' ']))
        .map(str::to_ascii_lowercase)
}

fn location(resource: &Resource<'_>) -> Option<String> {
    resource.get("location").and_then(|l| l.name_text())
}

/// The kinds and name of the target a URL names.
fn target_of(url: &str) -> (Vec<&'static str>, Option<String>) {
    let found = endpoint_targets(url);
    let name = found.first().map(|(_, n)| n.clone());
    (found.into_iter().map(|(k, _)| k).collect(), name)
}

/// `AccountName=` of a Storage connection string, lowercase.
fn account_name(text: &str) -> Option<String> {
    text.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        let value = value.trim();
        (eq_ci(key.trim(), "AccountName") && !value.is_empty() && !value.contains(['{', '@']))
            .then(|| value.to_ascii_lowercase())
    })
}

/// What in a target's network rules can admit a caller.
fn target_network(template: &Template<'_>, index: usize, target: &Resource<'_>) -> TargetNetwork {
    let acls = target
        .path("properties.networkAcls")
        .or_else(|| target.path("properties.networkRuleSet"));
    let list = |key: &str| acls.as_ref().and_then(|a| a.get(key));
    let rules: Vec<ValueRef<'_>> = list("virtualNetworkRules")
        .and_then(|r| r.elements())
        .unwrap_or_default();
    let virtual_network_rules = rules
        .iter()
        .flat_map(|rule| {
            ["id", "subnetResourceId", "virtualNetworkResourceId"]
                .iter()
                .filter_map(|k| rule.get(k))
                .filter_map(|v| v.name_text())
                .map(|id| id.to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let private_endpoint_networks = template
        .private_endpoints_to(index)
        .filter_map(|pe| pe.path("properties.subnet.id").and_then(|s| s.name_text()))
        .map(|subnet| network_of(&subnet))
        .collect();
    TargetNetwork {
        ip_rules: list("ipRules").map_or(Tri::No, |r| r.is_non_empty_array()),
        has_virtual_network_rules: list("virtualNetworkRules")
            .map_or(Tri::No, |r| r.is_non_empty_array()),
        virtual_network_rules,
        private_endpoint_networks,
        // Only Storage ignores IP rules for callers in its own region.
        location: match target.is_type("Microsoft.Storage/storageAccounts") {
            true => location(target),
            false => None,
        },
    }
}

/// The virtual network ID of a subnet ID, lowercase.
pub fn network_of(subnet: &str) -> String {
    let lower = subnet.to_ascii_lowercase();
    lower.split("/subnets/").next().unwrap_or("").to_owned()
}

/// The runtime a Data Factory call runs on, as the estate needs it.
fn runtime_sight(template: &Template<'_>, call: &FactoryCall<'_>) -> CallerSight {
    let runtime = match &call.runtime {
        Runtime::DefaultAzure | Runtime::Azure => RuntimeKind::Azure,
        Runtime::SelfHosted { .. } => RuntimeKind::SelfHosted,
        Runtime::Unknown(reason) => RuntimeKind::Unknown(reason.clone()),
        Runtime::ManagedVnet { network, .. } => RuntimeKind::ManagedNetwork {
            private_endpoint_targets: managed_private_endpoint_targets(
                template,
                &call.factory_name,
                network,
            ),
        },
    };
    CallerSight::Runtime {
        runtime,
        described: call.runtime.describe(template),
        factory: call.factory_name.to_ascii_lowercase(),
        mode: call.factory.map(|f| trust_mode(&template.resources[f]).0),
    }
}

/// What the factory's managed private endpoints in `network` connect to, as (type,
/// name), lowercase.
fn managed_private_endpoint_targets(
    template: &Template<'_>,
    factory: &str,
    network: &str,
) -> Vec<(String, String)> {
    template
        .of_type(MANAGED_PRIVATE_ENDPOINT)
        .filter(|(_, endpoint)| {
            let name = endpoint.literal_name().unwrap_or_default();
            let mut segments = name.split('/');
            segments.next().is_some_and(|f| eq_ci(f, factory))
                && segments.next().is_some_and(|n| eq_ci(n, network))
        })
        .filter_map(|(_, endpoint)| {
            let id = endpoint
                .path("properties.privateLinkResourceId")?
                .name_text()?;
            let (ty, name) = parse_resource_id(&id)?;
            Some((ty.to_ascii_lowercase(), name.to_ascii_lowercase()))
        })
        .collect()
}
