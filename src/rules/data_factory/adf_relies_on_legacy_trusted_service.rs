//! ADF002: a Data Factory configuration that reaches a locked-down Storage account or
//! Key Vault in the same deployment only through the legacy trusted-services exception.

use crate::date::{Date, ADF_LEGACY_GONE, ADF_LEGACY_REMOVED_AFTER, ADF_MODERN_DEFAULT};
use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::gateway_calls::admits_trusted_services;
use crate::rules::common::noun;
use crate::rules::data_factory::factory_calls::{
    factory_calls, factory_line_of_sight, trust_mode, FactoryCall, Mode,
};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::source::Span;
use crate::template::{Template, Tri};

pub struct AdfReliesOnLegacyTrustedService;

pub static META: RuleMeta = RuleMeta {
    id: "ADF002",
    name: "adf-relies-on-legacy-trusted-service",
    summary: "Data Factory reaches a locked-down Storage account or Key Vault with a managed identity through the legacy trusted-services exception only",
    default_level: Level::Warning,
    resource_types: &[],
    namespaces: &["Microsoft.DataFactory"],
    security_severity: "7.0",
    docs: include_str!("../../../rules/ADF002.md"),
};

/// The level and the "when does it break" phrase for a factory in `mode` on `as_of`
/// (the date table in the rule catalogue).
pub fn level_and_when(mode: &Mode, as_of: Date) -> (Level, String) {
    let unstated = |prefix: &str| {
        if as_of < ADF_MODERN_DEFAULT {
            (
                Level::Warning,
                format!("{prefix}this access will break on {ADF_MODERN_DEFAULT}, when factories that did not opt in switch to Modern, unless the factory is switched to Legacy in Data Factory Studio, and Legacy is removed after {ADF_LEGACY_REMOVED_AFTER}"),
            )
        } else {
            (
                Level::Error,
                format!("{prefix}factories that did not opt in switched to Modern on {ADF_MODERN_DEFAULT}; this access fails unless the factory was switched to Legacy in Data Factory Studio, and then it fails after {ADF_LEGACY_REMOVED_AFTER}"),
            )
        }
    };
    match mode {
        Mode::Modern => (
            Level::Error,
            "the factory states Modern mode, in which this access no longer passes the firewall: it is failing".to_owned(),
        ),
        Mode::Unstated => unstated("the template does not state the factory's trusted-service mode; "),
        Mode::Unknown(reason) => unstated(&format!(
            "the factory's trusted-service mode is not known ({reason}); "
        )),
        Mode::Legacy if as_of <= ADF_LEGACY_REMOVED_AFTER => (
            Level::Warning,
            format!("the factory states Legacy mode, so this access works until Legacy is removed: it fails after {ADF_LEGACY_REMOVED_AFTER}"),
        ),
        Mode::Legacy => (
            Level::Error,
            format!("the factory states Legacy mode, which was removed after {ADF_LEGACY_REMOVED_AFTER}: this access broke on {ADF_LEGACY_GONE}"),
        ),
    }
}

/// The factory's mode for a call (unknown when the factory is not in the template).
pub fn mode_of(template: &Template<'_>, call: &FactoryCall<'_>) -> Mode {
    match call.factory {
        Some(i) => trust_mode(&template.resources[i]).0,
        None => Mode::Unknown(format!(
            "factory `{}` is not in this template",
            call.factory_name
        )),
    }
}

/// The ADF002 decision for a call: does it rely on the trusted path to its declared,
/// locked-down target? Returns the target and the line-of-sight answer (`No` relies,
/// `Unknown` may rely).
pub fn relies_on_trusted_path(
    template: &Template<'_>,
    call: &FactoryCall<'_>,
) -> Option<(usize, Tri)> {
    let target = call.target?;
    let (admits, _, _) = admits_trusted_services(template, &template.resources[target]);
    if admits != Tri::Yes {
        return None;
    }
    match factory_line_of_sight(template, call, target) {
        Tri::Yes => None,
        other => Some((target, other)),
    }
}

impl Rule for AdfReliesOnLegacyTrustedService {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// The level for a factory that states no mode, the most common case.
    fn level_on(&self, as_of: Date) -> Level {
        level_and_when(&Mode::Unstated, as_of).0
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        for call in factory_calls(template) {
            let Some((target_index, line_of_sight)) = relies_on_trusted_path(template, &call)
            else {
                continue;
            };
            let target = &template.resources[target_index];
            let (_, bypass_span, _) = admits_trusted_services(template, target);
            let reliance = Reliance {
                factory: &call.factory_name,
                how: &call.how,
                kind: noun(&target.full_type),
                target: &target.display_name(),
                system_identity: call.system_identity,
                runtime: &call.runtime.describe(template),
                mode: &mode_of(template, &call),
            };
            let Some(diagnostic) = reliance.diagnostic(call.at.span(), line_of_sight, cx.as_of())
            else {
                continue;
            };
            cx.report(
                &template.resources[call.holder],
                diagnostic.with_related(bypass_span, reliance.related_label()),
            );
        }
    }
}

/// A Data Factory call that reaches a locked-down target admitting trusted services:
/// what ADF002 says about it, whether the target is in the same template or, through
/// the estate, in another file.
pub struct Reliance<'r> {
    pub factory: &'r str,
    /// "the REST linked service `rest`".
    pub how: &'r str,
    /// The target's kind for messages ("key vault").
    pub kind: &'r str,
    pub target: &'r str,
    pub system_identity: bool,
    /// "the self-hosted integration runtime `shir`".
    pub runtime: &'r str,
    pub mode: &'r Mode,
}

impl Reliance<'_> {
    /// The finding at `at` (the endpoint), given the call's line of sight to the
    /// target: none when it has one, a note when that is unknown.
    pub fn diagnostic(&self, at: Span, line_of_sight: Tri, as_of: Date) -> Option<Diagnostic> {
        let Reliance {
            factory,
            how,
            kind,
            target,
            runtime,
            ..
        } = self;
        let identity = if self.system_identity {
            "its system-assigned identity"
        } else {
            "a user-assigned identity"
        };
        Some(match line_of_sight {
            Tri::Yes => return None,
            Tri::Unknown(reason) => Diagnostic::new(
                Level::Note,
                at,
                format!(
                    "could not decide whether Data Factory `{factory}` reaches {kind} `{target}` (called by {how} with {identity}) through its network or only as a trusted service: {reason}"
                ),
            )
            .with_label("managed identity call to a locked-down target")
            .with_help(format!(
                "check that {runtime} reaches the {kind} through an allowed IP address, a virtual network rule or a private endpoint; \
                 otherwise it relies on the legacy trusted-services exception"
            )),
            Tri::No => {
                let (level, when) = level_and_when(self.mode, as_of);
                Diagnostic::new(
                    level,
                    at,
                    format!(
                        "Data Factory `{factory}` calls {kind} `{target}` through {how} with {identity}, and {runtime} has no network line of sight to it: \
                         the {kind} admits this call only as a trusted service; {when}"
                    ),
                )
                .with_label("relies on the legacy trusted-services exception")
                .with_help(format!(
                    "give the call a network line of sight to {kind} `{target}` — an IP rule for the self-hosted integration runtime's outbound addresses, \
                     an integration runtime in the factory's managed virtual network with a managed private endpoint to the {kind}, \
                     or a customer-owned virtual network with a service endpoint or private endpoint — then set the factory's trusted service to Modern"
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

#[cfg(test)]
mod tests {
    use super::{level_and_when, Mode};
    use crate::date::Date;
    use crate::diagnostic::Level;

    fn level(mode: Mode, y: i32, m: u32, d: u32) -> Level {
        level_and_when(&mode, Date::new(y, m, d)).0
    }

    #[test]
    fn unstated_mode_turns_error_on_the_modern_default_date() {
        assert_eq!(level(Mode::Unstated, 2026, 7, 31), Level::Warning);
        assert_eq!(level(Mode::Unstated, 2026, 8, 1), Level::Error);
        assert_eq!(level(Mode::Unknown("x".into()), 2026, 8, 1), Level::Error);
    }

    #[test]
    fn legacy_mode_turns_error_after_its_removal() {
        assert_eq!(level(Mode::Legacy, 2027, 8, 1), Level::Warning);
        assert_eq!(level(Mode::Legacy, 2027, 8, 2), Level::Error);
        let (_, when) = level_and_when(&Mode::Legacy, Date::new(2027, 8, 1));
        assert!(when.contains("fails after 2027-08-01"), "{when}");
    }

    #[test]
    fn modern_mode_is_an_error_at_any_date() {
        assert_eq!(level(Mode::Modern, 2026, 1, 1), Level::Error);
        assert_eq!(level(Mode::Modern, 2028, 1, 1), Level::Error);
    }
}
