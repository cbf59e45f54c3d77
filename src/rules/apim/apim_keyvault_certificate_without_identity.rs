//! APIM005: Key Vault–backed certificates or named values on a service without a
//! managed identity.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::apim::control_plane::key_vault_uses;
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::Template;

pub struct ApimKeyVaultCertificateWithoutIdentity;

pub static META: RuleMeta = RuleMeta {
    id: "APIM005",
    name: "apim-keyvault-certificate-without-identity",
    summary: "API Management reads certificates or named values from Key Vault but has no managed identity",
    default_level: Level::Error,
    resource_types: &[],
    namespaces: &["Microsoft.ApiManagement"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/APIM005.md"),
};

impl Rule for ApimKeyVaultCertificateWithoutIdentity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        for u in key_vault_uses(template) {
            let service = &template.resources[u.service];
            let identity = service.path("identity.type");
            let without = match &identity {
                None => true,
                Some(t) => t.is_one_of(&["None"]).is_yes(),
            };
            if !without {
                continue;
            }
            let state = match &identity {
                Some(_) => "`identity.type` is `None`",
                None => "it declares no `identity`",
            };
            let mut diagnostic = Diagnostic::new(
                META.default_level,
                u.reference.span(),
                format!(
                    "API Management service `{}` reads {} from Key Vault but has no managed identity ({state})",
                    service.display_name(),
                    u.what
                ),
            )
            .with_label("read from Key Vault with the service's managed identity")
            .with_help(
                "give the service a managed identity (`\"identity\": { \"type\": \"SystemAssigned\" }` — the system-assigned one is the only identity that passes a Key Vault firewall) \
                 and grant it Key Vault access; removing the identity of a service that uses Key Vault certificates fails",
            );
            if let Some(t) = &identity {
                diagnostic = diagnostic.with_related(t.span(), "no managed identity");
            }
            cx.report(&template.resources[u.holder], diagnostic);
        }
    }
}
