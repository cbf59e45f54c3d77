//! Where an API Management gateway calls Azure services with a managed identity: the
//! `authentication-managed-identity` policy inside `send-request` /
//! `send-one-way-request`, or applied in a policy scope whose backend is the service,
//! and Event Hubs loggers. Policies under `service/workspaces` are not affected (seed
//! apim-trusted-service-connectivity-retirement: workspaces do not support managed
//! identity) and are skipped.

use crate::rules::apim::policy_xml::{elements, Element};
use crate::rules::apim::APIM_SERVICE;
use crate::rules::common::{locked_down, trusted_bypass};
use crate::source::Span;
use crate::template::{endpoint_service, eq_ci, Resource, Template, Tri, ValueRef};

/// One managed-identity call from a gateway to a target service (Storage, Key Vault,
/// Managed HSM, Service Bus, Event Hubs, Container Registry).
pub struct GatewayCall<'a> {
    /// The API Management service, when this template deploys it.
    pub service: Option<usize>,
    /// Its name (from the policy's or logger's name when it is not deployed here).
    pub service_name: String,
    /// The policy or logger resource that makes the call.
    pub holder: usize,
    /// The value that configures the call (the policy XML, the logger endpoint).
    pub at: ValueRef<'a>,
    /// The target, when this template deploys it.
    pub target: Option<usize>,
    /// The URL or host called, as evaluated.
    pub endpoint: String,
    /// `false` when a user-assigned identity (`client-id`, `identityClientId`) is used.
    pub system_identity: bool,
    /// For messages: "a `send-request` to `https://…`".
    pub how: String,
}

const POLICY_TYPES: &[&str] = &[
    "Microsoft.ApiManagement/service/policies",
    "Microsoft.ApiManagement/service/apis/policies",
    "Microsoft.ApiManagement/service/apis/operations/policies",
    "Microsoft.ApiManagement/service/products/policies",
];

/// Every managed-identity call of every gateway in the template.
pub fn gateway_calls<'a>(template: &Template<'a>) -> Vec<GatewayCall<'a>> {
    let mut calls = Vec::new();
    for (holder, policy) in template.resources.iter().enumerate() {
        if !POLICY_TYPES.iter().any(|t| policy.is_type(t)) {
            continue;
        }
        let (service, service_name) = service_of(template, policy);
        let Some(value) = policy.path("properties.value") else {
            continue;
        };
        let Some(xml) = value.as_str().map(str::to_owned) else {
            continue;
        };
        let doc = elements(&xml);
        for auth in doc
            .iter()
            .filter(|e| e.name == "authentication-managed-identity")
        {
            let system_identity = auth.attribute("client-id").is_none();
            let mut push = |endpoint: String, how: String| {
                calls.push(GatewayCall {
                    service,
                    service_name: service_name.clone(),
                    holder,
                    at: value.clone(),
                    target: template.resource_by_endpoint(&endpoint),
                    endpoint,
                    system_identity,
                    how,
                });
            };
            if let Some(send) = enclosing(&doc, auth, &["send-request", "send-one-way-request"]) {
                let url = doc
                    .iter()
                    .find(|e| e.name == "set-url" && e.parent == Some(send))
                    .map(|e| e.text.clone());
                if let Some(url) = url.filter(|u| endpoint_service(u).is_some()) {
                    let how = format!("a `{}` to `{url}`", doc[send].name);
                    push(url, how);
                }
                continue;
            }
            for (url, how) in scope_backends(template, &service_name, policy, &doc) {
                push(url, how);
            }
        }
    }
    for (holder, logger) in template.of_type("Microsoft.ApiManagement/service/loggers") {
        if logger
            .path("properties.loggerType")
            .is_none_or(|t| !t.is_one_of(&["azureEventHub"]).is_yes())
        {
            continue;
        }
        let (service, service_name) = service_of(template, logger);
        let Some(endpoint) = logger.path("properties.credentials.endpointAddress") else {
            continue;
        };
        let Some(address) = endpoint.name_text() else {
            continue;
        };
        if endpoint_service(&address).is_none() {
            continue;
        }
        let system_identity = logger
            .path("properties.credentials.identityClientId")
            .and_then(|c| c.as_str().map(|s| eq_ci(s, "SystemAssigned")))
            .unwrap_or(false);
        if logger
            .path("properties.credentials.identityClientId")
            .is_none()
        {
            continue; // a connection string, not a managed identity
        }
        calls.push(GatewayCall {
            service,
            service_name,
            holder,
            at: endpoint,
            target: template.resource_by_endpoint(&address),
            endpoint: address,
            system_identity,
            how: format!("the Event Hubs logger `{}`", logger.short_name()),
        });
    }
    calls
}

/// The API Management service a policy or logger belongs to: deployed by the template,
/// or named by the first segment of the child's name.
fn service_of(template: &Template<'_>, child: &Resource<'_>) -> (Option<usize>, String) {
    match template.owner_of(child, APIM_SERVICE) {
        Some(i) => (Some(i), template.resources[i].display_name()),
        None => {
            let name = child.display_name();
            (None, name.split('/').next().unwrap_or_default().to_owned())
        }
    }
}

/// The nearest enclosing element with one of `names`.
fn enclosing(doc: &[Element], element: &Element, names: &[&str]) -> Option<usize> {
    let mut current = element.parent;
    while let Some(i) = current {
        if names.iter().any(|n| doc[i].name == *n) {
            return Some(i);
        }
        current = doc[i].parent;
    }
    None
}

/// The backends a policy scope sends to: `set-backend-service` (`base-url`, or
/// `backend-id` naming a `service/backends` resource), else the API's `serviceUrl`
/// (for API and operation policies) or every API's (for service policies) — those
/// that are a target service's endpoints, as (URL, how the call is made).
fn scope_backends(
    template: &Template<'_>,
    service_name: &str,
    policy: &Resource<'_>,
    doc: &[Element],
) -> Vec<(String, String)> {
    let mut urls: Vec<(String, String)> = Vec::new();
    for set in doc.iter().filter(|e| e.name == "set-backend-service") {
        if let Some(url) = set.attribute("base-url") {
            urls.push((
                url.to_owned(),
                format!("the backend `{url}` set by `set-backend-service`"),
            ));
        } else if let Some(id) = set.attribute("backend-id") {
            let backend = template.resources.iter().find(|r| {
                r.is_type("Microsoft.ApiManagement/service/backends")
                    && r.literal_name()
                        .is_some_and(|n| eq_ci(&n, &format!("{service_name}/{id}")))
            });
            if let Some(url) = backend
                .and_then(|b| b.path("properties.url"))
                .and_then(|u| u.name_text())
            {
                urls.push((url.clone(), format!("the backend `{id}` (`{url}`)")));
            }
        }
    }
    if urls.is_empty() {
        let policy_name = policy.literal_name().unwrap_or_default();
        let segments: Vec<&str> = policy_name.split('/').collect();
        let api_filter: Option<String> =
            if policy.is_type("Microsoft.ApiManagement/service/policies") {
                None
            } else if policy.is_type("Microsoft.ApiManagement/service/products/policies") {
                return Vec::new(); // which APIs a product holds is not followed
            } else {
                segments.get(..2).map(|s| s.join("/"))
            };
        for api in template
            .resources
            .iter()
            .filter(|r| r.is_type("Microsoft.ApiManagement/service/apis"))
        {
            let Some(name) = api.literal_name() else {
                continue;
            };
            let belongs = name
                .split('/')
                .next()
                .is_some_and(|s| eq_ci(s, service_name));
            if !belongs || api_filter.as_deref().is_some_and(|f| !eq_ci(f, &name)) {
                continue;
            }
            if let Some(url) = api
                .path("properties.serviceUrl")
                .and_then(|u| u.name_text())
            {
                let api_name = name.rsplit('/').next().unwrap_or_default().to_owned();
                urls.push((
                    url.clone(),
                    format!("the backend `{url}` of API `{api_name}`"),
                ));
            }
        }
    }
    urls.retain(|(url, _)| endpoint_service(url).is_some());
    urls
}

/// Does the target admit trusted Microsoft services while locked down? Returns the
/// answer and the span to point at (its bypass setting).
pub fn admits_trusted_services(
    template: &Template<'_>,
    target: &Resource<'_>,
) -> (Tri, Span, String) {
    let access = target_access(template, target);
    (access.admits, access.span, access.label)
}

/// What a target's network settings say about trusted callers.
pub struct TargetAccess {
    /// Locked down: public network access off, or the firewall denies by default.
    pub locked: Tri,
    /// Locked down and admitting trusted Microsoft services.
    pub admits: Tri,
    /// The span to point at (its bypass setting), and what to say there.
    pub span: Span,
    pub label: String,
}

/// [`admits_trusted_services`], with whether the target is locked down at all.
pub fn target_access(template: &Template<'_>, target: &Resource<'_>) -> TargetAccess {
    let none = |locked: Tri| TargetAccess {
        locked,
        admits: Tri::No,
        span: target.span(),
        label: String::new(),
    };
    let flag_list = |bypass_path: &str, action_path: &str| {
        let locked = locked_down(target, "properties.publicNetworkAccess", action_path);
        let bypass = trusted_bypass(target, bypass_path);
        TargetAccess {
            admits: locked.state.clone().and(bypass.state),
            locked: locked.state,
            span: bypass.span,
            label: bypass.label,
        }
    };
    let ty = target.full_type.to_ascii_lowercase();
    match ty.as_str() {
        "microsoft.storage/storageaccounts"
        | "microsoft.keyvault/vaults"
        | "microsoft.keyvault/managedhsms" => flag_list(
            "properties.networkAcls.bypass",
            "properties.networkAcls.defaultAction",
        ),
        "microsoft.containerregistry/registries" => flag_list(
            "properties.networkRuleBypassOptions",
            "properties.networkRuleSet.defaultAction",
        ),
        "microsoft.servicebus/namespaces" | "microsoft.eventhub/namespaces" => {
            let rule_set_type = format!("{}/networkRuleSets", target.full_type);
            let Some(rule_set) = template.resources.iter().find(|r| {
                r.is_type(&rule_set_type)
                    && template
                        .parent_of(r, &target.full_type)
                        .is_some_and(|p| std::ptr::eq(p, target))
            }) else {
                return none(Tri::No);
            };
            let (locked, _, _) = crate::rules::messaging::locked_down(rule_set, Some(target));
            let Some(trusted) = rule_set.path("properties.trustedServiceAccessEnabled") else {
                return none(locked);
            };
            TargetAccess {
                admits: trusted.is_true().and(locked.clone()),
                locked,
                span: trusted.span(),
                label: "trusted service access enabled".to_owned(),
            }
        }
        _ => none(Tri::No),
    }
}
