//! Logic shared by several rules: "locked down" and "admits trusted services" for the
//! target services, and the date-aware phrases that say which callers lost the path.

use crate::date::{Date, ADF_LEGACY_REMOVED_AFTER, ADF_MODERN_DEFAULT, APIM_RETIREMENT};
use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::control_plane::reason_to_keep_bypass;
use crate::rules::data_factory::adf_relies_on_legacy_trusted_service::relies_on_trusted_path;
use crate::rules::data_factory::factory_calls::factory_calls;
use crate::rules::LintContext;
use crate::source::Span;
use crate::template::{Resource, Template, Tri, ValueRef};

/// A finding's deciding value: the value as written, or the object a missing setting
/// belongs in (with the platform default that then applies).
pub struct Setting<'a> {
    pub state: Tri,
    /// The span to point at.
    pub span: Span,
    pub label: String,
    pub value: Option<ValueRef<'a>>,
    /// No value because it is written as (or evaluates to) `null`, which a provider
    /// reads as absent.
    pub written_null: bool,
}

/// Is the resource locked down: `publicNetworkAccess` `Disabled`/`SecuredByPerimeter`
/// (at `pna_path`), or the firewall's default action `Deny` (at `default_action_path`)?
/// Absent settings mean open (`Enabled`, `Allow`).
pub fn locked_down<'a>(
    resource: &Resource<'a>,
    pna_path: &str,
    default_action_path: &str,
) -> Setting<'a> {
    let pna = resource.path(pna_path);
    let action = resource.path(default_action_path);
    let pna_state = pna.as_ref().map_or(Tri::No, |v| {
        v.is_one_of(&["Disabled", "SecuredByPerimeter"])
    });
    let action_state = action.as_ref().map_or(Tri::No, |v| v.is_one_of(&["Deny"]));
    let (decider, label) = match (&pna_state, &action_state) {
        (Tri::Yes, _) => (pna, "public network access is off here".to_owned()),
        (_, Tri::Yes) => (
            action,
            "the firewall denies other traffic by default".to_owned(),
        ),
        (Tri::Unknown(_), _) => (
            pna,
            "public network access could not be determined".to_owned(),
        ),
        (_, Tri::Unknown(_)) => (
            action,
            "the firewall's default action could not be determined".to_owned(),
        ),
        _ => (None, String::new()),
    };
    Setting {
        state: pna_state.or(action_state),
        span: decider.as_ref().map(|v| v.span()).unwrap_or_default(),
        label,
        value: decider,
        written_null: false,
    }
}

/// Does the resource admit trusted Microsoft services? Looks at the flag list at
/// `bypass_path`; when absent, the platform default `AzureServices` applies and the
/// span is the nearest enclosing object that exists.
pub fn trusted_bypass<'a>(resource: &Resource<'a>, bypass_path: &str) -> Setting<'a> {
    let key = bypass_path.rsplit('.').next().unwrap_or(bypass_path);
    match resource.value.path_written(bypass_path) {
        Some(v) if !v.is_null() => Setting {
            state: v.has_flag("AzureServices"),
            span: v.span(),
            label: format!("`{key}` admits trusted Microsoft services"),
            value: Some(v),
            written_null: false,
        },
        // Written as `null`: absent for the provider.
        Some(null) => Setting {
            state: Tri::Yes,
            span: null.span(),
            label: format!("`{key}` is null here: the platform default `AzureServices` applies"),
            value: None,
            written_null: true,
        },
        None => Setting {
            state: Tri::Yes,
            span: nearest_existing(resource, bypass_path),
            label: format!("no `{key}` here: the platform default `AzureServices` applies"),
            value: None,
            written_null: false,
        },
    }
}

/// The span of the innermost object on `dotted_path` (excluding its last key) that
/// exists in the resource, else the resource object.
pub fn nearest_existing(resource: &Resource<'_>, dotted_path: &str) -> Span {
    let keys: Vec<&str> = dotted_path.split('.').collect();
    let mut span = resource.span();
    let mut current = resource.value.clone();
    for key in &keys[..keys.len().saturating_sub(1)] {
        match current.get(key) {
            Some(next) if next.is_object() => {
                span = next.span();
                current = next;
            }
            _ => break,
        }
    }
    span
}

/// The callers in the deployment that rely on `target`'s trusted-services bypass — API
/// Management gateways calling it with their system-assigned identity, and Data Factory
/// configurations the seed lists — without a line of sight: where, and who.
pub fn trusted_path_callers<'t>(
    template: &'t Template<'_>,
    target: &Resource<'_>,
) -> &'t [(Span, String)] {
    crate::rules::analysis::Analysis::trusted_path_callers(template, target.index)
}

/// [`trusted_path_callers`] for every target at once: each call is checked once.
pub(crate) fn collect_trusted_path_callers(
    template: &Template<'_>,
) -> std::collections::HashMap<usize, Vec<(Span, String)>> {
    let mut by_target: std::collections::HashMap<usize, Vec<(Span, String)>> =
        std::collections::HashMap::new();
    for c in crate::rules::apim::gateway_calls::gateway_calls(template) {
        let (Some(service), Some(target)) = (c.service, c.target) else {
            continue;
        };
        if !c.system_identity
            || template.line_of_sight(&template.resources[service], &template.resources[target])
                != Tri::No
        {
            continue;
        }
        let who = format!("API Management service `{}` ({})", c.service_name, c.how);
        by_target
            .entry(target)
            .or_default()
            .push((c.at.span(), who));
    }
    for c in factory_calls(template) {
        if let Some((target, Tri::No)) = relies_on_trusted_path(template, &c) {
            let who = format!("Data Factory `{}` ({})", c.factory_name, c.how);
            by_target
                .entry(target)
                .or_default()
                .push((c.at.span(), who));
        }
    }
    by_target
}

/// A target's kind, for messages.
pub fn noun(full_type: &str) -> &'static str {
    match full_type.to_ascii_lowercase().as_str() {
        "microsoft.storage/storageaccounts" => "storage account",
        "microsoft.keyvault/vaults" => "key vault",
        "microsoft.keyvault/managedhsms" => "managed HSM",
        "microsoft.servicebus/namespaces" => "Service Bus namespace",
        "microsoft.eventhub/namespaces" => "Event Hubs namespace",
        "microsoft.containerregistry/registries" => "container registry",
        _ => "resource",
    }
}

/// Which callers lose the trusted path to a target service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callers {
    /// API Management gateways only (Service Bus, Event Hubs, Container Registry, HSM).
    ApiManagement,
    /// API Management gateways and Data Factory managed identities (Storage, Key Vault).
    ApiManagementAndDataFactory,
}

/// "API Management gateways lost this path on 2026-03-15", as of the date.
pub fn apim_phrase(as_of: Date) -> String {
    if as_of < APIM_RETIREMENT {
        format!("API Management gateways lose this path on {APIM_RETIREMENT}")
    } else {
        format!("API Management gateways lost this path on {APIM_RETIREMENT}")
    }
}

/// What Data Factory's managed identities have of the path, as of the date.
pub fn adf_phrase(as_of: Date) -> String {
    if as_of < ADF_MODERN_DEFAULT {
        format!(
            "Data Factory managed identities lose it on {ADF_MODERN_DEFAULT} unless the factory opts into Legacy mode, which is removed after {ADF_LEGACY_REMOVED_AFTER}"
        )
    } else if as_of <= ADF_LEGACY_REMOVED_AFTER {
        format!(
            "Data Factory managed identities keep it only in Legacy mode, which is removed after {ADF_LEGACY_REMOVED_AFTER}"
        )
    } else {
        format!("Data Factory managed identities lost it when Legacy mode was removed after {ADF_LEGACY_REMOVED_AFTER}")
    }
}

fn callers_phrase(callers: Callers, as_of: Date) -> String {
    match callers {
        Callers::ApiManagement => apim_phrase(as_of),
        Callers::ApiManagementAndDataFactory => {
            format!("{}, and {}", apim_phrase(as_of), adf_phrase(as_of))
        }
    }
}

/// Help for a note about a value trustlint could not decide offline, for `reason`:
/// values a parameters file could supply, a template Azure rejects, or a template too
/// costly to evaluate.
pub fn undecided_help(reason: &str) -> &'static str {
    use crate::template::expr::eval::{FAILS, INVALID, OVER_BUDGET, REJECTED};
    if reason.contains(INVALID) {
        "fix the template: Azure rejects it as written"
    } else if reason.contains(REJECTED) {
        "fix the parameters file: Azure rejects the deployment with these values"
    } else if reason.contains(FAILS) {
        "the template stops this deployment with `fail()` for these values: check the values it is given"
    } else if reason.contains(OVER_BUDGET) {
        "simplify how this value is computed, or check the deployed resource"
    } else {
        "give trustlint the deployment's values with `--parameters FILE` (or keep them next to the template as `X.parameters.json`), or check the deployed resource"
    }
}

/// A target rule's note that the bypass must stay: API Management's control plane (or
/// its backup and restore) uses it (`why`), at the bypass setting.
pub fn keep_bypass(noun: &str, name: &str, why: &str, bypass: Span) -> Diagnostic {
    Diagnostic::new(
        Level::Note,
        bypass,
        format!(
            "{noun} `{name}` lets trusted Microsoft services through its firewall, and API Management's control plane needs that: {why}"
        ),
    )
    .with_label("keep: API Management's control plane uses this path")
    .with_help(
        "keep the bypass: the retirement of trusted service connectivity covers the API Management gateway, not its control plane, \
         which still reads hostname certificates, named values and client certificates from Key Vault, and backs up to and restores from Storage, through the trusted path",
    )
}

/// The common help text of the target rules.
pub fn target_help(callers: Callers, line_of_sight: &str) -> String {
    let who = match callers {
        Callers::ApiManagement => "an API Management gateway",
        Callers::ApiManagementAndDataFactory => {
            "an API Management gateway or a Data Factory managed identity"
        }
    };
    format!(
        "if only other Azure services (Backup, Monitor, Defender, …) use this path, keep the bypass and suppress this finding with a reason; \
         if {who} calls this resource, give it a network line of sight — {line_of_sight}"
    )
}

/// What a target rule checks: the service noun for messages and where its settings are.
pub struct TargetSpec {
    /// e.g. "storage account".
    pub noun: &'static str,
    /// The provider's name in messages, e.g. "Storage".
    pub provider: &'static str,
    pub bypass_path: &'static str,
    pub public_network_access_path: &'static str,
    pub default_action_path: &'static str,
    pub callers: Callers,
    /// Line-of-sight options for the help text.
    pub line_of_sight: &'static str,
    /// API Management's control plane may need this target's bypass (Key Vault and HSM
    /// for certificates and named values, Storage declared for backup/restore).
    pub control_plane_carve_out: bool,
    /// The provider rejects the bypass written as `null` (Storage answers
    /// `RequestIsNotValidJson`), where other providers read it as absent.
    pub rejects_null_bypass: bool,
}

/// The whole check of a target whose bypass is a flag list (Storage, Key Vault,
/// Managed HSM, Container Registry): reports when locked down and admitting trusted
/// services, and a note when either cannot be decided.
pub fn check_bypass_target(
    spec: &TargetSpec,
    resource: &Resource<'_>,
    template: &Template<'_>,
    level: Level,
    cx: &mut LintContext<'_>,
) {
    if spec.rejects_null_bypass {
        if let Some(null) = resource
            .value
            .path_written(spec.bypass_path)
            .filter(|v| v.is_null())
        {
            let key = spec.bypass_path.rsplit('.').next().unwrap_or_default();
            let diagnostic = Diagnostic::new(
                Level::Note,
                null.span(),
                format!(
                    "this deployment fails: the {} provider rejects `{key}: null` (`RequestIsNotValidJson`), so whether {} `{}` admits trusted Microsoft services is not decided here",
                    spec.provider, spec.noun, resource.display_name()
                ),
            )
            .with_label(format!("`{key}` is null here"))
            .with_origin(null.origin())
            .with_help(format!(
                "omit `{key}` (the platform default `AzureServices` then applies) or write a value such as `None` or `AzureServices`"
            ));
            cx.report(resource, diagnostic);
            return;
        }
    }
    let locked = locked_down(
        resource,
        spec.public_network_access_path,
        spec.default_action_path,
    );
    let bypass = trusted_bypass(resource, spec.bypass_path);
    let name = resource.display_name();
    let key = spec.bypass_path.rsplit('.').next().unwrap_or_default();
    let state = locked.state.clone().and(bypass.state.clone());
    let keep = match state {
        Tri::Yes if spec.control_plane_carve_out => {
            reason_to_keep_bypass(template, resource, cx.options)
        }
        _ => None,
    };
    match state {
        Tri::No => {}
        Tri::Yes if keep.is_some() => {
            let why = keep.unwrap_or_default();
            let diagnostic = keep_bypass(spec.noun, &name, &why, bypass.span)
                .with_related(locked.span, locked.label)
                .with_origin(bypass.value.as_ref().and_then(|v| v.origin()));
            cx.report(resource, diagnostic);
        }
        Tri::Yes => {
            let admits = match &bypass.value {
                Some(v) => format!("`{key}` is `{}`", v.display()),
                None => format!(
                    "`{key}` is {}, so the platform default `AzureServices` applies",
                    if bypass.written_null {
                        "null"
                    } else {
                        "absent"
                    }
                ),
            };
            let callers = trusted_path_callers(template, resource);
            let relies = match callers {
                [] => String::new(),
                [(_, who)] => format!("; {who} relies on it"),
                [(_, who), rest @ ..] => {
                    format!("; {who} and {} more caller(s) rely on it", rest.len())
                }
            };
            let mut diagnostic = Diagnostic::new(
                level,
                bypass.span,
                format!(
                    "{} `{name}` is locked down but lets trusted Microsoft services through its firewall ({admits}): {}{relies}",
                    spec.noun,
                    callers_phrase(spec.callers, cx.as_of())
                ),
            )
            .with_label(bypass.label)
            .with_related(locked.span, locked.label)
            .with_origin(bypass.value.as_ref().and_then(|v| v.origin()))
            .with_origin(locked.value.as_ref().and_then(|v| v.origin()))
            .with_help(target_help(spec.callers, spec.line_of_sight));
            for (span, who) in callers {
                diagnostic = diagnostic.with_related(*span, format!("{who} calls it here"));
            }
            cx.report(resource, diagnostic);
        }
        Tri::Unknown(reason) => {
            let undecided = if matches!(locked.state, Tri::Unknown(_)) {
                &locked
            } else {
                &bypass
            };
            let diagnostic = Diagnostic::new(
                Level::Note,
                undecided.span,
                format!(
                    "could not decide whether {} `{name}` relies on the trusted-services bypass: {reason}",
                    spec.noun
                ),
            )
            .with_label("not known offline")
            .with_help(undecided_help(&reason));
            cx.report(resource, diagnostic);
        }
    }
}
