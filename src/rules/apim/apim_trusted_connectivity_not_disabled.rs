//! APIM001: an API Management service that does not disable gateway trusted connectivity.

use crate::date::{Date, APIM_RETIREMENT};
use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::{disable_setting, DisableSetting, DISABLE_KEY};
use crate::rules::common::{nearest_existing, undecided_help};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template, Tri};

pub struct ApimTrustedConnectivityNotDisabled;

pub static META: RuleMeta = RuleMeta {
    id: "APIM001",
    name: "apim-trusted-connectivity-not-disabled",
    summary: "API Management service does not set DisableOverPrivilegedAccess to \"True\"",
    default_level: Level::Warning,
    resource_types: &["Microsoft.ApiManagement/service"],
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "6.0",
    docs: include_str!("../../../rules/APIM001.md"),
};

impl Rule for ApimTrustedConnectivityNotDisabled {
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

    fn check_resource(
        &self,
        service: &Resource<'_>,
        _template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        let name = service.display_name();
        let setting = disable_setting(service);
        if let DisableSetting::Unknown(value) = &setting {
            let reason = value.unknown_reason().unwrap_or_default();
            let diagnostic = Diagnostic::new(
                Level::Note,
                value.span(),
                format!("could not decide whether API Management service `{name}` disables gateway trusted connectivity: {reason}"),
            )
            .with_label("not known offline")
            .with_help(format!(
                "make sure the deployed `customProperties` contain `\"{DISABLE_KEY}\": \"True\"`; {}", undecided_help(&reason)
            ));
            cx.report(service, diagnostic);
            return;
        }
        if !matches!(setting, DisableSetting::Absent) {
            return;
        }
        let consumption = service
            .path("sku.name")
            .is_some_and(|s| s.is_one_of(&["Consumption"]) == Tri::Yes);
        let system_identity = service
            .path("identity.type")
            .map_or(Tri::No, |t| t.has_flag("SystemAssigned"));
        let as_of = cx.as_of();
        let level = if consumption {
            Level::Note
        } else if as_of < APIM_RETIREMENT {
            Level::Warning
        } else if system_identity != Tri::No {
            Level::Error
        } else {
            Level::Warning
        };
        let when = if as_of < APIM_RETIREMENT {
            format!("gateway calls that rely on trusted service connectivity will break on {APIM_RETIREMENT}")
        } else {
            format!("gateway calls that relied on trusted service connectivity broke on {APIM_RETIREMENT}")
        };
        let span = nearest_existing(service, "properties.customProperties.x");
        let mut help = format!(
            "after giving the gateway a network line of sight to the Storage, Key Vault, Service Bus, Event Hubs and Container Registry resources it calls, \
             add `\"{DISABLE_KEY}\": \"True\"` to `properties.customProperties`; keep the existing keys (TLS and cipher settings): \
             a deployment replaces the whole object, and a fix made in the portal or CLI is undone by the next deployment of a template without the key"
        );
        if consumption {
            help.push_str("; the Consumption tier rejects most custom properties, so verify the key is accepted before adding it");
        }
        let diagnostic = Diagnostic::new(
            level,
            span,
            format!(
                "API Management service `{name}` does not disable trusted service connectivity for its gateway: {when}{}",
                if consumption { " (Consumption tier: verify the key is accepted before adding it)" } else { "" }
            ),
        )
        .with_label("add the `DisableOverPrivilegedAccess` key here")
        .with_help(help);
        cx.report(service, diagnostic);
    }
}
