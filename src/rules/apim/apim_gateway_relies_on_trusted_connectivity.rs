//! APIM003: an API Management gateway that calls a locked-down service in the same
//! deployment with its managed identity, through the trusted-services path only.

use crate::date::{Date, APIM_RETIREMENT};
use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::gateway_calls::{admits_trusted_services, gateway_calls};
use crate::rules::apim::{disable_setting, DisableSetting};
use crate::rules::common::noun;
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::source::Span;
use crate::template::{eq_ci, Template, Tri};

pub struct ApimGatewayReliesOnTrustedConnectivity;

pub static META: RuleMeta = RuleMeta {
    id: "APIM003",
    name: "apim-gateway-relies-on-trusted-connectivity",
    summary: "API Management gateway calls a locked-down service with its managed identity through trusted connectivity only",
    default_level: Level::Warning,
    resource_types: &[],
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "8.0",
    docs: include_str!("../../../rules/APIM003.md"),
};

impl Rule for ApimGatewayReliesOnTrustedConnectivity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn level_on(&self, as_of: Date) -> Level {
        if as_of < APIM_RETIREMENT {
            Level::Warning
        } else {
            Level::Error
        }
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        for call in gateway_calls(template) {
            let Some(service) = call.service.map(|s| &template.resources[s]) else {
                continue; // not in this template: the estate looks for it
            };
            let Some(target) = call.target.map(|t| &template.resources[t]) else {
                continue; // not in this template: the estate looks for it
            };
            let (admits, bypass_span, _) = admits_trusted_services(template, target);
            if admits != Tri::Yes {
                continue;
            }
            let line_of_sight = match call.system_identity {
                true => template.line_of_sight(service, target),
                false => Tri::No,
            };
            let already_disabled = matches!(disable_setting(service), DisableSetting::Present(v) if v.as_str().is_some_and(|s| eq_ci(s, "True")));
            let call_view = GatewayReliance {
                service: &service.display_name(),
                how: &call.how,
                kind: noun(&target.full_type),
                target: &target.display_name(),
                system_identity: call.system_identity,
                already_disabled,
            };
            let Some(diagnostic) = call_view.diagnostic(call.at.span(), line_of_sight, cx.as_of())
            else {
                continue;
            };
            cx.report(
                &template.resources[call.holder],
                diagnostic.with_related(bypass_span, call_view.related_label()),
            );
        }
    }
}

/// A gateway call to a locked-down target admitting trusted services: what APIM003
/// says about it, whether the target is in the same template or, through the estate,
/// in another file.
pub struct GatewayReliance<'r> {
    pub service: &'r str,
    /// "a `send-request` to `https://…`".
    pub how: &'r str,
    pub kind: &'r str,
    pub target: &'r str,
    pub system_identity: bool,
    /// The service sets `DisableOverPrivilegedAccess` to "True" already.
    pub already_disabled: bool,
}

impl GatewayReliance<'_> {
    /// The finding at `at` given the gateway's line of sight to the target (ignored for
    /// a user-assigned identity, which never passed as a trusted service).
    pub fn diagnostic(&self, at: Span, line_of_sight: Tri, as_of: Date) -> Option<Diagnostic> {
        let GatewayReliance {
            service: service_name,
            how,
            kind,
            target: target_name,
            ..
        } = self;
        if !self.system_identity {
            return Some(
                Diagnostic::new(
                    Level::Note,
                    at,
                    format!(
                        "API Management service `{service_name}` calls {kind} `{target_name}` through {how} with a user-assigned identity, which never passed the firewall through the trusted path"
                    ),
                )
                .with_label("user-assigned identity")
                .with_help("a locked-down target admits only the gateway's system-assigned identity as a trusted service; give the gateway a network line of sight to it"),
            );
        }
        Some(match line_of_sight {
            Tri::Yes => return None,
            Tri::Unknown(reason) => Diagnostic::new(
                Level::Note,
                at,
                format!(
                    "could not decide whether API Management service `{service_name}` has a network line of sight to {kind} `{target_name}`, which it calls through {how}: {reason}"
                ),
            )
            .with_label("gateway call with the system-assigned identity")
            .with_help("check that the gateway reaches the target through its network (private endpoint, virtual network rule or network security perimeter), not as a trusted service"),
            Tri::No => {
                let (level, when) = if self.already_disabled {
                    (Level::Error, "the service already disables trusted connectivity (`DisableOverPrivilegedAccess` is \"True\"), so these calls fail now".to_owned())
                } else if as_of < APIM_RETIREMENT {
                    (Level::Warning, format!("these calls will break on {APIM_RETIREMENT}, when gateway trusted connectivity ends"))
                } else {
                    (Level::Error, format!("these calls broke on {APIM_RETIREMENT}, when gateway trusted connectivity ended, and fail now"))
                };
                Diagnostic::new(
                    level,
                    at,
                    format!(
                        "API Management service `{service_name}` calls {kind} `{target_name}` through {how} with its system-assigned identity, and has no network line of sight to it: {when}"
                    ),
                )
                .with_label("gateway call with the system-assigned identity")
                .with_help(format!(
                    "give the gateway a network line of sight to {kind} `{target_name}`: inject or integrate it into a virtual network that holds a private endpoint to the {kind}, \
                     add its subnet to the {kind}'s virtual network rules, or put both in a network security perimeter; then set `DisableOverPrivilegedAccess` to \"True\""
                ))
            }
        })
    }

    /// The label of the related span at the target's bypass setting.
    pub fn related_label(&self) -> String {
        format!(
            "{} `{}` admits trusted Microsoft services here",
            self.kind, self.target
        )
    }
}
