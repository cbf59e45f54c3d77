//! ADF001: a Data Factory that states the Legacy trusted-service mode.

use crate::date::ADF_LEGACY_REMOVED_AFTER;
use crate::diagnostic::{Diagnostic, Level};
use crate::rules::common::undecided_help;
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template, Tri};

pub struct AdfLegacyTrustedServiceMode;

pub static META: RuleMeta = RuleMeta {
    id: "ADF001",
    name: "adf-legacy-trusted-service-mode",
    summary: "Data Factory keeps the Legacy trusted-service mode (trustModeClaimForMi Enabled), retired after 2027-08-01",
    default_level: Level::Warning,
    resource_types: &["Microsoft.DataFactory/factories"],
    namespaces: &["Microsoft.DataFactory"],
    security_severity: "4.0",
    docs: include_str!("../../../rules/ADF001.md"),
};

impl Rule for AdfLegacyTrustedServiceMode {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        factory: &Resource<'_>,
        _template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        let Some(setting) = factory.path("properties.trustModeClaimForMi") else {
            return;
        };
        // Observed shape: `{ "value": "Enabled", "editable": true }`; a plain string is accepted too.
        let mode = if setting.is_object() {
            setting.get("value")
        } else {
            Some(setting)
        };
        let Some(mode) = mode else { return };
        let name = factory.display_name();
        let diagnostic = match mode.is_one_of(&["Enabled", "Legacy"]) {
            Tri::No => return,
            Tri::Unknown(reason) => Diagnostic::new(
                Level::Note,
                mode.span(),
                format!("could not decide which trusted-service mode Data Factory `{name}` uses: {reason}"),
            )
            .with_label("not known offline")
            .with_help(format!("{}; `Enabled` is the Legacy mode, retired after 2027-08-01", undecided_help(&reason))),
            Tri::Yes => {
                let when = if cx.as_of() <= ADF_LEGACY_REMOVED_AFTER {
                    format!("Legacy is retired after {ADF_LEGACY_REMOVED_AFTER}")
                } else {
                    format!("Legacy was retired after {ADF_LEGACY_REMOVED_AFTER}; the setting no longer has an effect")
                };
                Diagnostic::new(
                    META.default_level,
                    mode.span(),
                    format!(
                        "Data Factory `{name}` keeps the Legacy trusted-service mode (`trustModeClaimForMi` is `{}`): {when}",
                        mode.display()
                    ),
                )
                .with_label("Legacy trusted-service mode")
                .with_help(
                    "adopt a supported access pattern for Storage and Key Vault — IP allow-listing for self-hosted and Azure-SSIS integration runtimes, \
                     a managed virtual network with managed private endpoints, or a customer-owned virtual network — then set the mode to `Disabled` (Modern)",
                )
            }
        };
        cx.report(factory, diagnostic.with_origin(mode.origin()));
    }
}
