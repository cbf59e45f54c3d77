//! APIM002: `DisableOverPrivilegedAccess` is present but not the string `"True"`.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::{disable_setting, DisableSetting, DISABLE_KEY};
use crate::rules::common::undecided_help;
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{eq_ci, Resource, Template};

pub struct ApimTrustedConnectivityInvalidValue;

pub static META: RuleMeta = RuleMeta {
    id: "APIM002",
    name: "apim-trusted-connectivity-invalid-value",
    summary: "DisableOverPrivilegedAccess is set to something other than the string \"True\"",
    default_level: Level::Error,
    resource_types: &["Microsoft.ApiManagement/service"],
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "6.0",
    docs: include_str!("../../../rules/APIM002.md"),
};

impl Rule for ApimTrustedConnectivityInvalidValue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        service: &Resource<'_>,
        _template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        let DisableSetting::Present(value) = disable_setting(service) else {
            return;
        };
        let name = service.display_name();
        let diagnostic = if let Some(reason) = value.unknown_reason() {
            Diagnostic::new(
                Level::Note,
                value.span(),
                format!("could not decide whether API Management service `{name}` disables gateway trusted connectivity: {reason}"),
            )
            .with_label("not known offline")
            .with_help(format!("the value must be the string \"True\"; {}", undecided_help(&reason)))
        } else if value.as_str().is_some_and(|s| eq_ci(s, "True")) {
            return;
        } else if value.as_bool() == Some(true) {
            Diagnostic::new(
                Level::Warning,
                value.span(),
                format!("API Management service `{name}` sets `DisableOverPrivilegedAccess` to the boolean `true` instead of the string \"True\""),
            )
            .with_label("a boolean, not a string")
            .with_help(format!("custom properties are a string map and the deployment may be rejected: write `\"{DISABLE_KEY}\": \"True\"`"))
        } else {
            Diagnostic::new(
                META.default_level,
                value.span(),
                format!(
                    "API Management service `{name}` sets `DisableOverPrivilegedAccess` to `{}`, so its gateway still relies on trusted service connectivity, which ended on 2026-03-15",
                    value.display()
                ),
            )
            .with_label("must be \"True\"")
            .with_help(format!(
                "after giving the gateway a network line of sight to the services it calls, set `\"{DISABLE_KEY}\": \"True\"`"
            ))
        };
        cx.report(service, diagnostic.with_origin(value.origin()));
    }
}
