//! APIM004: a user-assigned identity reading from a Key Vault behind its firewall.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::control_plane::key_vault_uses;
use crate::rules::common::locked_down;
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Template, Tri};

pub struct ApimUserIdentityKeyVaultBehindFirewall;

pub static META: RuleMeta = RuleMeta {
    id: "APIM004",
    name: "apim-user-identity-keyvault-behind-firewall",
    summary: "API Management reads from a locked-down Key Vault with a user-assigned identity, which its firewall does not admit",
    default_level: Level::Error,
    resource_types: &[],
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/APIM004.md"),
};

impl Rule for ApimUserIdentityKeyVaultBehindFirewall {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        for u in key_vault_uses(template) {
            let (Some(client_id), Some(vault_index)) = (&u.identity_client_id, u.vault) else {
                continue;
            };
            let vault = &template.resources[vault_index];
            let locked = locked_down(
                vault,
                "properties.publicNetworkAccess",
                "properties.networkAcls.defaultAction",
            );
            if locked.state != Tri::Yes {
                continue;
            }
            let vault_name = vault.display_name();
            let diagnostic = user_identity_behind_firewall(
                &template.resources[u.service].display_name(),
                &u.what,
                &vault_name,
                client_id.span(),
            )
            .with_related(
                locked.span,
                format!("key vault `{vault_name}`: {}", locked.label),
            );
            cx.report(&template.resources[u.holder], diagnostic);
        }
    }
}

/// APIM004's finding at `identity` (the `identityClientId`): the caller adds where the
/// vault is locked down (in this file or, through the estate, another).
pub fn user_identity_behind_firewall(
    service: &str,
    what: &str,
    vault: &str,
    identity: crate::source::Span,
) -> Diagnostic {
    Diagnostic::new(
        META.default_level,
        identity,
        format!(
            "API Management service `{service}` reads {what} from key vault `{vault}` with a user-assigned identity, but the vault is behind its firewall, where only the system-assigned identity is admitted"
        ),
    )
    .with_label("a user-assigned identity")
    .with_help(
        "remove `identityClientId` so the service's system-assigned identity is used (and keep the vault's trusted-services bypass), \
         or open the vault's firewall to the service",
    )
}
