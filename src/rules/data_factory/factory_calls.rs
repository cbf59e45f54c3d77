//! Data Factory's configurations that rely on the legacy trusted service (seed
//! adf-modern-trusted-service, "Changes in trusted service bypass behavior"), the
//! integration runtime each runs on, and whether that runtime has a network line of
//! sight to the Storage account or Key Vault it calls.
//!
//! The configurations, as the seed lists them:
//! - a linked service on a self-hosted integration runtime that reaches Storage with the
//!   factory's system-assigned identity;
//! - a REST linked service with managed-identity authentication (Storage: system-assigned
//!   only; Key Vault: system- or user-assigned);
//! - a Web or Azure Function activity with managed-identity authentication (`MSI`:
//!   Storage or Key Vault; `UserAssignedManagedIdentity`: Key Vault).
//!
//! Native Blob / ADLS / Key Vault linked services on the Azure integration runtime are
//! not listed, and are not collected here.

use crate::template::{endpoint_service, eq_ci, Resource, Template, Tri, ValueRef};

pub const FACTORY: &str = "Microsoft.DataFactory/factories";
pub const LINKED_SERVICE: &str = "Microsoft.DataFactory/factories/linkedservices";
pub const INTEGRATION_RUNTIME: &str = "Microsoft.DataFactory/factories/integrationRuntimes";
const PIPELINE: &str = "Microsoft.DataFactory/factories/pipelines";
pub const MANAGED_PRIVATE_ENDPOINT: &str =
    "Microsoft.DataFactory/factories/managedVirtualNetworks/managedPrivateEndpoints";
pub const STORAGE: &str = "Microsoft.Storage/storageAccounts";
pub const KEY_VAULT: &str = "Microsoft.KeyVault/vaults";

/// Linked-service types that reach a Storage account and can use the factory's
/// system-assigned identity.
const STORAGE_LINKED_SERVICES: &[&str] = &["AzureBlobStorage", "AzureBlobFS", "AzureFileStorage"];

/// `typeProperties` keys that mean the linked service does not use the factory's
/// system-assigned identity (keys, SAS, connection strings, service principals, or a
/// `credential`, i.e. a user-assigned identity).
const NON_SYSTEM_IDENTITY_KEYS: &[&str] = &[
    "connectionString",
    "accountKey",
    "sasUri",
    "sasToken",
    "servicePrincipalId",
    "servicePrincipalKey",
    "servicePrincipalCredential",
    "credential",
];

/// Where a linked service writes the endpoint it connects to.
const ENDPOINT_KEYS: &[&str] = &["serviceEndpoint", "url", "baseUrl", "functionAppUrl"];

/// Nested activity lists of control-flow activities (If Condition, ForEach, Until,
/// Switch).
const NESTED_ACTIVITY_KEYS: &[&str] = &[
    "activities",
    "ifTrueActivities",
    "ifFalseActivities",
    "defaultActivities",
];

/// The factory's trusted-service mode (`trustModeClaimForMi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `Enabled` / `Legacy`.
    Legacy,
    /// `Disabled` / `Modern`.
    Modern,
    /// The template does not say.
    Unstated,
    /// The value cannot be known offline, or the factory is not in the template.
    Unknown(String),
}

/// The factory's trusted-service mode and the value that states it.
pub fn trust_mode<'a>(factory: &Resource<'a>) -> (Mode, Option<ValueRef<'a>>) {
    let Some(setting) = factory.path("properties.trustModeClaimForMi") else {
        return (Mode::Unstated, None);
    };
    // Observed shape: `{ "value": "Enabled", "editable": true }`; a plain string too.
    let value = if setting.is_object() {
        match setting.get("value") {
            Some(v) => v,
            None => return (Mode::Unstated, None),
        }
    } else {
        setting
    };
    let mode = match value.is_one_of(&["Enabled", "Legacy"]) {
        Tri::Yes => Mode::Legacy,
        Tri::Unknown(reason) => Mode::Unknown(reason.to_string()),
        Tri::No if value.is_one_of(&["Disabled", "Modern"]) == Tri::Yes => Mode::Modern,
        Tri::No => Mode::Unknown(format!("`{}` is not a known mode", value.display())),
    };
    (mode, Some(value))
}

/// The integration runtime a linked service or activity runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// No `connectVia`, or `AutoResolveIntegrationRuntime`: the default Azure runtime.
    DefaultAzure,
    /// An Azure integration runtime declared in the template, outside any managed
    /// virtual network.
    Azure,
    /// An Azure integration runtime bound to the factory's managed virtual network.
    ManagedVnet { runtime: usize, network: String },
    /// A self-hosted integration runtime (also a linked, shared one).
    SelfHosted { runtime: usize },
    /// The runtime is not in the template, or its type is not known.
    Unknown(String),
}

impl Runtime {
    /// For messages: "the self-hosted integration runtime `shir-onprem`".
    pub fn describe(&self, template: &Template<'_>) -> String {
        match self {
            Runtime::DefaultAzure | Runtime::Azure => "the Azure integration runtime".to_owned(),
            Runtime::ManagedVnet { runtime, network } => format!(
                "the integration runtime `{}` in the managed virtual network `{network}`",
                template.resources[*runtime].short_name()
            ),
            Runtime::SelfHosted { runtime } => format!(
                "the self-hosted integration runtime `{}`",
                template.resources[*runtime].short_name()
            ),
            Runtime::Unknown(_) => "its integration runtime".to_owned(),
        }
    }
}

/// Which of the seed's listed configurations a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    SelfHostedStorage,
    RestService,
    WebActivity,
    AzureFunctionActivity,
}

/// One affected configuration of a factory: a call to Storage or Key Vault with a
/// managed identity.
pub struct FactoryCall<'a> {
    /// The factory, when it is in the template.
    pub factory: Option<usize>,
    /// The factory's name (from the child's name when the factory is not declared).
    pub factory_name: String,
    /// The linked service or pipeline that holds the configuration.
    pub holder: usize,
    /// The value to point at: the endpoint URL, else the configuration object.
    pub at: ValueRef<'a>,
    pub config: Config,
    /// The target's resource type ([`STORAGE`] or [`KEY_VAULT`]).
    pub service: &'static str,
    /// The target, when it is declared in this deployment.
    pub target: Option<usize>,
    pub runtime: Runtime,
    /// `false` for a user-assigned identity (a `credential`).
    pub system_identity: bool,
    /// For messages: "the REST linked service `rest`".
    pub how: String,
}

/// Every affected configuration of every factory in the template.
pub fn factory_calls<'a>(template: &Template<'a>) -> Vec<FactoryCall<'a>> {
    let mut calls = Vec::new();
    for (holder, linked_service) in template.of_type(LINKED_SERVICE) {
        if let Some(call) = linked_service_call(template, holder, linked_service) {
            calls.push(call);
        }
    }
    for (holder, pipeline) in template.of_type(PIPELINE) {
        let mut activities = Vec::new();
        if let Some(list) = pipeline.path("properties.activities") {
            collect_activities(list, 0, &mut activities);
        }
        for activity in activities {
            if let Some(call) = activity_call(template, holder, pipeline, &activity) {
                calls.push(call);
            }
        }
    }
    calls
}

/// The factory a child belongs to, and its name for messages.
pub fn factory_of(template: &Template<'_>, child: &Resource<'_>) -> (Option<usize>, String) {
    match template.owner_of(child, FACTORY) {
        Some(i) => (Some(i), template.resources[i].display_name()),
        None => {
            let name = child.display_name();
            let first = name.split('/').next().unwrap_or_default().to_owned();
            (None, first)
        }
    }
}

/// A property that may be written as a plain value or as an ADF typed value
/// (`{ "value": …, "type": "Expression" | "SecureString" }`).
fn plain<'a>(value: ValueRef<'a>) -> ValueRef<'a> {
    match value.get("value") {
        Some(inner) if value.is_object() => inner,
        _ => value,
    }
}

/// The linked service's endpoint and the declared resource it names, if any:
/// `serviceEndpoint` / `url` / `baseUrl` / `functionAppUrl`, or `AccountName=` in a
/// connection string.
pub fn linked_service_endpoint<'a>(
    template: &Template<'a>,
    linked_service: &Resource<'a>,
) -> Option<(ValueRef<'a>, Option<usize>)> {
    let properties = linked_service.path("properties.typeProperties")?;
    for key in ENDPOINT_KEYS {
        if let Some(value) = properties.get(key) {
            let value = plain(value);
            let target = value
                .name_text()
                .and_then(|url| template.resource_by_endpoint(&url));
            return Some((value, target));
        }
    }
    let connection = plain(properties.get("connectionString")?);
    let text = connection.name_text()?;
    let account = text.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        eq_ci(key.trim(), "AccountName").then(|| value.trim().to_owned())
    })?;
    let target = template
        .of_type(STORAGE)
        .find(|(_, r)| r.literal_name().is_some_and(|n| eq_ci(&n, &account)))
        .map(|(i, _)| i);
    Some((connection, target))
}

/// The integration runtime `connectVia` names, in the factory of `child`.
pub fn runtime_of(
    template: &Template<'_>,
    child: &Resource<'_>,
    connect_via: Option<ValueRef<'_>>,
) -> Runtime {
    let Some(reference) = connect_via.and_then(|c| c.get("referenceName")) else {
        return Runtime::DefaultAzure;
    };
    let Some(name) = reference.name_text() else {
        return Runtime::Unknown(format!(
            "the integration runtime `{}` is not known offline",
            reference.written_text()
        ));
    };
    if eq_ci(&name, "AutoResolveIntegrationRuntime") {
        return Runtime::DefaultAzure;
    }
    let (factory, factory_name) = factory_of(template, child);
    let found = template.of_type(INTEGRATION_RUNTIME).find(|(_, ir)| {
        let (ir_factory, ir_factory_name) = factory_of(template, ir);
        let same_factory = match (factory, ir_factory) {
            (Some(a), Some(b)) => a == b,
            _ => eq_ci(&factory_name, &ir_factory_name),
        };
        same_factory && eq_ci(&ir.short_name(), &name)
    });
    let Some((index, runtime)) = found else {
        return Runtime::Unknown(format!(
            "the integration runtime `{name}` is not in this template"
        ));
    };
    let kind = runtime.path("properties.type");
    match kind.as_ref().map(|k| k.is_one_of(&["SelfHosted"])) {
        Some(Tri::Yes) => return Runtime::SelfHosted { runtime: index },
        Some(Tri::Unknown(reason)) => return Runtime::Unknown(reason.to_string()),
        _ => {}
    }
    match runtime
        .path("properties.managedVirtualNetwork.referenceName")
        .map(|n| n.name_text())
    {
        Some(Some(network)) => Runtime::ManagedVnet {
            runtime: index,
            network,
        },
        Some(None) => Runtime::Unknown(format!(
            "the managed virtual network of integration runtime `{name}` is not known offline"
        )),
        None => Runtime::Azure,
    }
}

/// Collects the activities of a list, and of the lists nested in control-flow
/// activities (depth-limited: pipelines nest a few levels, not thousands).
fn collect_activities<'a>(list: ValueRef<'a>, depth: usize, out: &mut Vec<ValueRef<'a>>) {
    if depth > 32 {
        return;
    }
    for activity in list.elements().unwrap_or_default() {
        if let Some(properties) = activity.get("typeProperties") {
            for key in NESTED_ACTIVITY_KEYS {
                if let Some(nested) = properties.get(key) {
                    collect_activities(nested, depth + 1, out);
                }
            }
            for case in properties
                .get("cases")
                .and_then(|c| c.elements())
                .unwrap_or_default()
            {
                if let Some(nested) = case.get("activities") {
                    collect_activities(nested, depth + 1, out);
                }
            }
        }
        out.push(activity);
    }
}

/// The service a URL or Entra ID audience belongs to, when it is Storage or Key Vault.
fn storage_or_key_vault(text: Option<String>) -> Option<&'static str> {
    endpoint_service(&text?).filter(|ty| *ty == STORAGE || *ty == KEY_VAULT)
}

fn linked_service_call<'a>(
    template: &Template<'a>,
    holder: usize,
    linked_service: &Resource<'a>,
) -> Option<FactoryCall<'a>> {
    let properties = linked_service.get("properties")?;
    let kind = properties.get("type")?;
    let type_properties = properties.get("typeProperties")?;
    let runtime = runtime_of(template, linked_service, properties.get("connectVia"));
    let (factory, factory_name) = factory_of(template, linked_service);
    let endpoint = linked_service_endpoint(template, linked_service);
    let name = linked_service.short_name();
    let (config, service, system_identity, how) = if kind.is_one_of(STORAGE_LINKED_SERVICES)
        == Tri::Yes
    {
        // (a) Storage through a self-hosted integration runtime, system-assigned identity.
        if !matches!(runtime, Runtime::SelfHosted { .. }) {
            return None;
        }
        if NON_SYSTEM_IDENTITY_KEYS
            .iter()
            .any(|k| type_properties.get(k).is_some())
        {
            return None;
        }
        let authentication = type_properties.get("authenticationType");
        if authentication.is_some_and(|a| {
            a.is_one_of(&["Msi", "ManagedIdentity", "SystemAssignedManagedIdentity"]) != Tri::Yes
        }) {
            return None;
        }
        (
            Config::SelfHostedStorage,
            STORAGE,
            true,
            format!("the {} linked service `{name}`", kind.display()),
        )
    } else if kind.is_one_of(&["RestService"]) == Tri::Yes {
        // (b) REST with managed-identity authentication.
        if type_properties
            .get("authenticationType")
            .is_none_or(|a| a.is_one_of(&["ManagedServiceIdentity"]) != Tri::Yes)
        {
            return None;
        }
        let system_identity = type_properties.get("credential").is_none();
        let service = endpoint
            .as_ref()
            .and_then(|(url, _)| storage_or_key_vault(url.name_text()))
            .or_else(|| {
                storage_or_key_vault(
                    type_properties
                        .get("aadResourceId")
                        .and_then(|a| plain(a).name_text()),
                )
            })?;
        if service == STORAGE && !system_identity {
            return None;
        }
        (
            Config::RestService,
            service,
            system_identity,
            format!("the REST linked service `{name}`"),
        )
    } else {
        return None;
    };
    let (at, target) = match endpoint {
        Some((value, target)) => (value, target),
        None => (type_properties, None),
    };
    Some(FactoryCall {
        factory,
        factory_name,
        holder,
        at,
        config,
        service,
        target: target.filter(|t| template.resources[*t].is_type(service)),
        runtime,
        system_identity,
        how,
    })
}

fn activity_call<'a>(
    template: &Template<'a>,
    holder: usize,
    pipeline: &Resource<'a>,
    activity: &ValueRef<'a>,
) -> Option<FactoryCall<'a>> {
    let kind = activity.get("type")?;
    let type_properties = activity.get("typeProperties")?;
    let activity_name = activity
        .get("name")
        .map(|n| n.name_for_display())
        .unwrap_or_default();
    let pipeline_name = pipeline.short_name();
    let (factory, factory_name) = factory_of(template, pipeline);
    // The Entra ID audience the token is for: a Web activity's `authentication.resource`,
    // an Azure Function linked service's `resourceId`.
    let (config, url, authentication, audience, connect_via, noun, url_holder_has_credential) =
        if kind.is_one_of(&["WebActivity"]) == Tri::Yes {
            let authentication = type_properties.get("authentication")?;
            (
                Config::WebActivity,
                type_properties.get("url").map(plain),
                authentication.clone(),
                authentication.get("resource"),
                type_properties.get("connectVia"),
                "Web",
                false,
            )
        } else if kind.is_one_of(&["AzureFunctionActivity"]) == Tri::Yes {
            // The function app, its URL and its authentication are in the Azure Function
            // linked service the activity names.
            let reference = activity
                .path("linkedServiceName.referenceName")?
                .name_text()?;
            let (_, linked_service) = template.of_type(LINKED_SERVICE).find(|(_, ls)| {
                eq_ci(&ls.short_name(), &reference)
                    && eq_ci(&factory_of(template, ls).1, &factory_name)
            })?;
            let ls_properties = linked_service.path("properties.typeProperties")?;
            let authentication = ls_properties.get("authentication")?;
            let runtime = linked_service.path("properties.connectVia");
            (
                Config::AzureFunctionActivity,
                ls_properties.get("functionAppUrl").map(plain),
                authentication,
                ls_properties.get("resourceId"),
                runtime,
                "Azure Function",
                ls_properties.get("credential").is_some(),
            )
        } else {
            return None;
        };
    // Web activities write `{ "type": "MSI", "resource": … }`; Azure Function linked
    // services write the type as a plain string.
    // A `credential` names a user-assigned identity.
    let auth_type = authentication
        .get("type")
        .unwrap_or_else(|| authentication.clone());
    let has_credential = authentication.get("credential").is_some()
        || (config == Config::AzureFunctionActivity && url_holder_has_credential);
    let system_identity = match auth_type.is_one_of(&["MSI", "ManagedServiceIdentity"]) {
        Tri::Yes => !has_credential,
        _ if auth_type.is_one_of(&["UserAssignedManagedIdentity"]) == Tri::Yes => false,
        _ => return None,
    };
    let service = storage_or_key_vault(url.as_ref().and_then(|u| u.name_text()))
        .or_else(|| storage_or_key_vault(audience.and_then(|r| plain(r).name_text())))?;
    if service == STORAGE && !system_identity {
        return None;
    }
    let target = url
        .as_ref()
        .and_then(|u| u.name_text())
        .and_then(|u| template.resource_by_endpoint(&u))
        .filter(|t| template.resources[*t].is_type(service));
    Some(FactoryCall {
        factory,
        factory_name,
        holder,
        at: url.unwrap_or_else(|| authentication.clone()),
        config,
        service,
        target,
        runtime: runtime_of(template, pipeline, connect_via),
        system_identity,
        how: format!("the {noun} activity `{activity_name}` of pipeline `{pipeline_name}`"),
    })
}

/// The factory's managed private endpoints in `network` that connect to `target`.
pub fn managed_private_endpoint<'a>(
    template: &Template<'a>,
    factory_name: &str,
    network: &str,
    target: usize,
) -> Option<usize> {
    template
        .of_type(MANAGED_PRIVATE_ENDPOINT)
        .find(|(_, endpoint)| {
            let name = endpoint.literal_name().unwrap_or_default();
            let mut segments = name.split('/');
            let in_network = segments.next().is_some_and(|f| eq_ci(f, factory_name))
                && segments.next().is_some_and(|n| eq_ci(n, network));
            in_network
                && endpoint
                    .path("properties.privateLinkResourceId")
                    .is_some_and(|id| template.resource_referenced_by(&id) == Some(target))
        })
        .map(|(i, _)| i)
}

/// Does the runtime a factory call uses have a network line of sight to its target?
/// A managed virtual network has one through a managed private endpoint to the target.
/// A self-hosted runtime's machines may be admitted by IP rules, virtual network rules
/// or a private endpoint in their network: trustlint cannot see them, so unknown. The
/// Azure runtime may be admitted by IP rules (unknown); otherwise no.
pub fn factory_line_of_sight(
    template: &Template<'_>,
    call: &FactoryCall<'_>,
    target: usize,
) -> Tri {
    let resource = &template.resources[target];
    let acls = resource.path("properties.networkAcls");
    let non_empty = |key: &str| {
        acls.as_ref()
            .and_then(|a| a.get(key))
            .map_or(Tri::No, |r| r.is_non_empty_array())
    };
    match &call.runtime {
        Runtime::ManagedVnet { network, .. } => Tri::from_bool(
            managed_private_endpoint(template, &call.factory_name, network, target).is_some(),
        ),
        Runtime::SelfHosted { .. } => {
            let private_endpoint = template.private_endpoints_to(target).next().is_some();
            if non_empty("ipRules") != Tri::No {
                Tri::Unknown("the target's IP rules might admit the self-hosted integration runtime's machines".into())
            } else if non_empty("virtualNetworkRules") != Tri::No || private_endpoint {
                Tri::Unknown("the self-hosted integration runtime's machines might reach the target through a virtual network rule or a private endpoint".into())
            } else {
                Tri::No
            }
        }
        Runtime::DefaultAzure | Runtime::Azure => match non_empty("ipRules") {
            Tri::No => Tri::No,
            _ => Tri::Unknown(
                "the target's IP rules might admit the Azure integration runtime's addresses"
                    .into(),
            ),
        },
        Runtime::Unknown(reason) => Tri::Unknown(reason.as_str().into()),
    }
}
