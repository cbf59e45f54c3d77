//! Service Bus and Event Hubs namespace network rule sets (`trustedServiceAccessEnabled`).

pub mod eventhub_trusted_service_access;
pub mod servicebus_trusted_service_access;

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::common::{apim_phrase, target_help, undecided_help, Callers};
use crate::rules::LintContext;
use crate::template::{Resource, Template, Tri, ValueRef};

/// How a namespace's SKU gates the rule.
pub enum SkuGate {
    /// Service Bus: only Premium namespaces have network rules and trusted access.
    PremiumOnly,
    /// Event Hubs: every tier but Basic.
    NotBasic,
}

/// API versions up to 2021-01-01-preview treat `Deny` as effective only with IP or
/// virtual network rules, and default an absent `defaultAction` to `Deny`.
pub fn is_legacy_rule_set_api(api_version: Option<&str>) -> bool {
    let Some(v) = api_version else { return false };
    let date = v.get(..10).unwrap_or(v);
    date < "2021-01-01" || (date == "2021-01-01" && v.len() > 10)
}

pub struct NamespaceSpec {
    pub noun: &'static str,
    pub namespace_type: &'static str,
    pub gate: SkuGate,
    pub line_of_sight: &'static str,
}

pub fn check_rule_set(
    spec: &NamespaceSpec,
    rule_set: &Resource<'_>,
    template: &Template<'_>,
    level: Level,
    cx: &mut LintContext<'_>,
) {
    let Some(trusted) = rule_set.path("properties.trustedServiceAccessEnabled") else {
        return;
    };
    let trusted_state = trusted.is_true();
    if trusted_state == Tri::No {
        return;
    }
    let namespace = template.parent_of(rule_set, spec.namespace_type);
    // The namespace's name: from the namespace itself, else the literal `ns/default`
    // name's first part; an expression name is shown whole rather than cut apart.
    let namespace_name =
        namespace
            .map(|n| n.display_name())
            .unwrap_or_else(|| match rule_set.literal_name() {
                Some(name) => name
                    .rsplit_once('/')
                    .map_or(name.clone(), |(ns, _)| ns.to_owned()),
                None => rule_set.display_name(),
            });

    let sku = namespace.and_then(|n| n.path("sku.name"));
    let sku_note = match (&spec.gate, &sku) {
        (SkuGate::PremiumOnly, Some(s)) => match s.is_one_of(&["Premium"]) {
            Tri::No => return,
            Tri::Yes => None,
            Tri::Unknown(r) => Some(format!("the namespace's SKU is not known ({r})")),
        },
        (SkuGate::PremiumOnly, None) => Some(match namespace {
            Some(_) => "the namespace's SKU is not set".to_owned(),
            None => {
                "the namespace is not in this template, so its SKU could not be checked".to_owned()
            }
        }),
        (SkuGate::NotBasic, Some(s)) => {
            if s.is_one_of(&["Basic"]) == Tri::Yes {
                return;
            }
            None
        }
        (SkuGate::NotBasic, None) => None,
    };

    let (locked_state, locked_at, locked_label) = locked_down(rule_set, namespace);
    let decision = trusted_state.clone().and(locked_state.clone());
    if decision == Tri::No {
        return;
    }
    if let (Tri::Yes, Some(why)) = (&decision, &sku_note) {
        let diagnostic = Diagnostic::new(
            Level::Note,
            trusted.span(),
            format!(
                "{} `{namespace_name}` is locked down and admits trusted Microsoft services, which matters only on the Premium tier, but {why}",
                spec.noun
            ),
        )
        .with_label("trusted service access enabled")
        .with_help("if the namespace is Premium, this is a finding: API Management gateways can no longer use this path; otherwise the setting has no effect");
        cx.report(rule_set, diagnostic);
        return;
    }
    match decision {
        Tri::Yes => {
            let mut diagnostic = Diagnostic::new(
                level,
                trusted.span(),
                format!(
                    "{} `{namespace_name}` is locked down but lets trusted Microsoft services through its firewall (`trustedServiceAccessEnabled` is `{}`): {}",
                    spec.noun,
                    trusted.display(),
                    apim_phrase(cx.as_of())
                ),
            )
            .with_label("trusted service access enabled")
            .with_origin(trusted.origin())
            .with_help(target_help(Callers::ApiManagement, spec.line_of_sight));
            if let Some(at) = locked_at {
                diagnostic = diagnostic
                    .with_related(at.span(), locked_label)
                    .with_origin(at.origin());
            }
            if let Some(ns) = namespace {
                for (span, who) in crate::rules::common::trusted_path_callers(template, ns) {
                    diagnostic
                        .message
                        .push_str(&format!("; {who} relies on it"));
                    diagnostic = diagnostic.with_related(*span, format!("{who} calls it here"));
                }
            }
            cx.report(rule_set, diagnostic);
        }
        Tri::Unknown(reason) => {
            let at = if matches!(trusted_state, Tri::Unknown(_)) {
                trusted.span()
            } else {
                locked_at.map_or(rule_set.span(), |v| v.span())
            };
            let diagnostic = Diagnostic::new(
                Level::Note,
                at,
                format!(
                    "could not decide whether {} `{namespace_name}` relies on trusted service access: {reason}",
                    spec.noun
                ),
            )
            .with_label("not known offline")
            .with_help(undecided_help(&reason));
            cx.report(rule_set, diagnostic);
        }
        Tri::No => {}
    }
}

/// Is the rule set (or its namespace) locked down? Returns the state, the deciding value
/// and a label for it.
pub(crate) fn locked_down<'a>(
    rule_set: &Resource<'a>,
    namespace: Option<&Resource<'a>>,
) -> (Tri, Option<ValueRef<'a>>, String) {
    let legacy = is_legacy_rule_set_api(rule_set.api_version);
    let action = rule_set.path("properties.defaultAction");
    let deny = match (&action, legacy) {
        (Some(a), false) => a.is_one_of(&["Deny"]),
        (Some(a), true) => a.is_one_of(&["Deny"]).and(has_network_rules(rule_set)),
        (None, false) => Tri::No,
        (None, true) => has_network_rules(rule_set),
    };
    let closed = |v: &Option<ValueRef<'a>>| {
        v.as_ref().map_or(Tri::No, |v| {
            v.is_one_of(&["Disabled", "SecuredByPerimeter"])
        })
    };
    let rs_pna = rule_set.path("properties.publicNetworkAccess");
    let ns_pna = namespace.and_then(|n| n.path("properties.publicNetworkAccess"));
    let options = [
        (closed(&rs_pna), rs_pna, "public network access is off here"),
        (
            closed(&ns_pna),
            ns_pna,
            "public network access is off on the namespace",
        ),
        (
            deny,
            action,
            if legacy {
                "the firewall denies other traffic (with IP or virtual network rules, as this API version requires)"
            } else {
                "the firewall denies other traffic by default"
            },
        ),
    ];
    let state = options
        .iter()
        .fold(Tri::No, |acc, (s, _, _)| acc.or(s.clone()));
    let decider = options.iter().find(|(s, _, _)| s.is_yes()).or_else(|| {
        options
            .iter()
            .find(|(s, _, _)| matches!(s, Tri::Unknown(_)))
    });
    match decider {
        Some((_, v, label)) => (state, v.clone(), (*label).to_owned()),
        None => (state, None, String::new()),
    }
}

fn has_network_rules(rule_set: &Resource<'_>) -> Tri {
    let non_empty = |key: &str| {
        rule_set
            .path(key)
            .map_or(Tri::No, |v: ValueRef<'_>| v.is_non_empty_array())
    };
    non_empty("properties.ipRules").or(non_empty("properties.virtualNetworkRules"))
}
