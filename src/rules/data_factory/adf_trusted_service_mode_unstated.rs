//! ADF003: a factory with a configuration that relies on the trusted-service mode, whose
//! template does not say which mode it uses.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::common::{nearest_existing, noun};
use crate::rules::data_factory::factory_calls::{factory_calls, trust_mode, Mode, FACTORY};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::Template;

pub struct AdfTrustedServiceModeUnstated;

pub static META: RuleMeta = RuleMeta {
    id: "ADF003",
    name: "adf-trusted-service-mode-unstated",
    summary: "Data Factory uses a configuration affected by the trusted-service change but does not state its trusted-service mode",
    default_level: Level::Warning,
    resource_types: &[],
    namespaces: &["Microsoft.DataFactory"],
    security_severity: "3.0",
    docs: include_str!("../../../rules/ADF003.md"),
};

impl Rule for AdfTrustedServiceModeUnstated {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        let calls = factory_calls(template);
        for (index, factory) in template.of_type(FACTORY) {
            if trust_mode(factory).0 != Mode::Unstated {
                continue;
            }
            let affected: Vec<_> = calls.iter().filter(|c| c.factory == Some(index)).collect();
            let Some(first) = affected.first() else {
                continue;
            };
            let name = factory.display_name();
            let (more, verb) = match affected.len() {
                1 => (String::new(), "uses"),
                n => (format!(" and {} more", n - 1), "use"),
            };
            let mut diagnostic = Diagnostic::new(
                META.default_level,
                nearest_existing(factory, "properties.trustModeClaimForMi"),
                format!(
                    "Data Factory `{name}` does not state its trusted-service mode, and {}{more} {verb} a managed identity to reach {} in a way the trusted-service change affects",
                    first.how,
                    if affected.iter().all(|c| c.service == first.service) {
                        noun(first.service).to_owned() + "s"
                    } else {
                        "Storage and Key Vault".to_owned()
                    }
                ),
            )
            .with_label("no `trustModeClaimForMi` here")
            .with_help(
                "check the factory's mode in Data Factory Studio (Manage → Factory settings → Trusted service): factories that did not opt in use Modern since 2026-08-01, \
                 and Legacy is removed after 2027-08-01. Then state it in the template — `\"trustModeClaimForMi\": { \"value\": \"Disabled\" }` for Modern, `\"Enabled\"` for Legacy — \
                 so reviews and trustlint see the mode the factory runs in. The property is in no published API spec (Bicep flags it as unknown); \
                 if the template cannot carry it, suppress this finding with a reason",
            );
            for call in &affected {
                diagnostic = diagnostic.with_related(
                    call.at.span(),
                    format!("{} uses a managed identity here", call.how),
                );
            }
            cx.report(factory, diagnostic);
        }
    }
}
