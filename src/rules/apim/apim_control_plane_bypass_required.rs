//! APIM006: a vault API Management's control plane reads from is locked down with the
//! trusted-services bypass off.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::control_plane::{key_vault_uses, needs_bypass, Use};
use crate::rules::common::{locked_down, trusted_bypass, Setting};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Resource, Template, Tri};

pub struct ApimControlPlaneBypassRequired;

pub static META: RuleMeta = RuleMeta {
    id: "APIM006",
    name: "apim-control-plane-bypass-required",
    summary: "A Key Vault API Management reads certificates or named values from, or its declared backup storage, is locked down with the trusted-services bypass off",
    default_level: Level::Error,
    resource_types: &[],
    // Backup storage is named in the config: a template may declare it alone.
    namespaces: &["Microsoft.ApiManagement", "Microsoft.Storage"],
    security_severity: "6.0",
    docs: include_str!("../../../rules/APIM006.md"),
};

impl Rule for ApimControlPlaneBypassRequired {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        for u in key_vault_uses(template) {
            let Some(vault_index) = u.vault else { continue };
            let vault = &template.resources[vault_index];
            let Some((locked, bypass)) = locked_with_bypass_off(vault) else {
                continue;
            };
            if needs_bypass(template, &u) != Tri::Yes {
                continue;
            }
            let service = template.resources[u.service].display_name();
            let diagnostic = control_plane_blocked(
                &vault.display_name(),
                &service,
                &u.what,
                u.kind == Use::Hostname,
                bypass.span,
            )
            .with_related(locked.span, locked.label)
            .with_related(
                u.reference.span(),
                format!("API Management service `{service}` reads {} here", u.what),
            );
            cx.report(vault, diagnostic);
        }
        check_backup_storage(template, cx);
    }
}

/// APIM006's finding at the vault's `bypass`: API Management's control plane reads
/// `what` from it, which needs the trusted path (`hostname`: a custom-hostname
/// certificate, always; otherwise the service has no line of sight). The caller adds
/// where the vault is locked down and where the service reads it.
pub fn control_plane_blocked(
    vault: &str,
    service: &str,
    what: &str,
    hostname: bool,
    bypass: crate::source::Span,
) -> Diagnostic {
    let why = match hostname {
        true => "custom-hostname certificates are read through the trusted path even when the service has a network line of sight".to_owned(),
        false => format!("API Management service `{service}` has no network line of sight to the vault"),
    };
    Diagnostic::new(
        META.default_level,
        bypass,
        format!(
            "key vault `{vault}` is locked down with the trusted-services bypass off, so API Management service `{service}` cannot read {what}: {why}"
        ),
    )
    .with_label("the bypass is off")
    .with_help(
        "set the vault's `networkAcls.bypass` to `AzureServices`: API Management's control plane (certificates, named values) still uses trusted connectivity — \
         the March 2026 retirement covers only the gateway; or make the vault reachable from the service",
    )
}

/// The lock-down setting and the bypass of a Key Vault or storage account (both keep
/// them at the same paths) that is locked down with the trusted-services bypass off.
fn locked_with_bypass_off<'a>(target: &Resource<'a>) -> Option<(Setting<'a>, Setting<'a>)> {
    let locked = locked_down(
        target,
        "properties.publicNetworkAccess",
        "properties.networkAcls.defaultAction",
    );
    let bypass = trusted_bypass(target, "properties.networkAcls.bypass");
    (locked.state == Tri::Yes && bypass.state == Tri::No).then_some((locked, bypass))
}

/// Storage accounts declared in the config file (`apim-backup-storage`) as API
/// Management backup/restore storage: backup and restore use the trusted path.
fn check_backup_storage(template: &Template<'_>, cx: &mut LintContext<'_>) {
    if cx.options.apim_backup_storage.is_empty() {
        return;
    }
    for (_, account) in template.of_type("Microsoft.Storage/storageAccounts") {
        let name = account.short_name();
        if !cx.options.is_apim_backup_storage(&name) {
            continue;
        }
        let Some((locked, bypass)) = locked_with_bypass_off(account) else {
            continue;
        };
        let diagnostic = Diagnostic::new(
            META.default_level,
            bypass.span,
            format!(
                "storage account `{name}` is listed in `apim-backup-storage` but is locked down with the trusted-services bypass off, so API Management backup and restore to it fail"
            ),
        )
        .with_label("the bypass is off")
        .with_related(locked.span, locked.label)
        .with_help(
            "add `AzureServices` to the account's `networkAcls.bypass`: API Management's backup and restore still use trusted connectivity — \
             the March 2026 retirement covers only the gateway; or remove the account from `apim-backup-storage` if API Management no longer uses it",
        );
        cx.report(account, diagnostic);
    }
}
