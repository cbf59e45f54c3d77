//! API Management's control plane and Key Vault: which vaults in the deployment an API
//! Management service reads hostname certificates, named values and certificates from.
//! That traffic keeps using trusted connectivity after the gateway retirement (seed
//! apim-trusted-service-connectivity-retirement, "Scenarios that are not affected").

use crate::rules::apim::APIM_SERVICE;
use crate::rules::RuleOptions;
use crate::template::{Resource, Template, Tri, ValueRef};

/// What an API Management service reads from Key Vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `hostnameConfigurations[].keyVaultId`: a custom-domain certificate.
    Hostname,
    /// `service/namedValues` with `properties.keyVault`.
    NamedValue,
    /// `service/certificates` with `properties.keyVault`.
    Certificate,
}

/// One Key Vault reference of an API Management service.
pub struct KeyVaultUse<'a> {
    /// Index of the API Management service in the template.
    pub service: usize,
    /// Index of the resource that holds the reference (the service, or its child).
    pub holder: usize,
    pub kind: Use,
    /// The `keyVaultId` / `secretIdentifier` value.
    pub reference: ValueRef<'a>,
    /// `identityClientId`, when written (any non-null value means a user-assigned identity).
    pub identity_client_id: Option<ValueRef<'a>>,
    /// The vault (or Managed HSM) in this deployment the reference points at.
    pub vault: Option<usize>,
    /// For messages: "the certificate of hostname `api.contoso.com`".
    pub what: String,
}

/// Every Key Vault reference of every API Management service in the template.
pub fn key_vault_uses<'a>(template: &Template<'a>) -> Vec<KeyVaultUse<'a>> {
    let mut uses = Vec::new();
    for (index, service) in template.of_type("Microsoft.ApiManagement/service") {
        for config in service
            .path("properties.hostnameConfigurations")
            .and_then(|h| h.elements())
            .unwrap_or_default()
        {
            let Some(reference) = config.get("keyVaultId").filter(|v| !v.is_null()) else {
                continue;
            };
            let host = config
                .get("hostName")
                .map(|h| h.name_for_display())
                .unwrap_or_default();
            uses.push(KeyVaultUse {
                service: index,
                holder: index,
                kind: Use::Hostname,
                vault: template.resource_referenced_by(&reference),
                identity_client_id: config.get("identityClientId").filter(|v| !v.is_null()),
                reference,
                what: format!("the certificate of hostname `{host}`"),
            });
        }
    }
    for (ty, kind, noun) in [
        (
            "Microsoft.ApiManagement/service/namedValues",
            Use::NamedValue,
            "named value",
        ),
        (
            "Microsoft.ApiManagement/service/certificates",
            Use::Certificate,
            "certificate",
        ),
    ] {
        for (holder, child) in template.of_type(ty) {
            let Some(key_vault) = child.path("properties.keyVault").filter(|v| !v.is_null()) else {
                continue;
            };
            let Some(reference) = key_vault.get("secretIdentifier").filter(|v| !v.is_null()) else {
                continue;
            };
            let Some(service) = template.owner_of(child, APIM_SERVICE) else {
                continue;
            };
            uses.push(KeyVaultUse {
                service,
                holder,
                kind,
                vault: template.resource_referenced_by(&reference),
                identity_client_id: key_vault.get("identityClientId").filter(|v| !v.is_null()),
                reference,
                what: format!("{noun} `{}`", child.short_name()),
            });
        }
    }
    uses
}

/// Does this use need the vault's trusted-services bypass? Hostname certificates always
/// do (even with a line of sight); named values and certificates do when the service
/// has no line of sight to the vault.
pub fn needs_bypass(template: &Template<'_>, u: &KeyVaultUse<'_>) -> Tri {
    let Some(vault) = u.vault else { return Tri::No };
    match u.kind {
        Use::Hostname => Tri::Yes,
        Use::NamedValue | Use::Certificate => {
            match template.line_of_sight(&template.resources[u.service], &template.resources[vault])
            {
                Tri::Yes => Tri::No,
                Tri::No => Tri::Yes,
                unknown => unknown,
            }
        }
    }
}

/// Why a target's bypass must be kept: the API Management control-plane uses of a
/// vault, or a storage account declared as backup/restore storage in the config file.
pub fn reason_to_keep_bypass(
    template: &Template<'_>,
    target: &Resource<'_>,
    options: &RuleOptions,
) -> Option<String> {
    if target.is_type("Microsoft.Storage/storageAccounts") {
        let name = target.short_name();
        return options.is_apim_backup_storage(&name).then(|| {
            format!("`{name}` is listed in `apim-backup-storage` in the config file, and API Management backs up to and restores from it through the trusted path")
        });
    }
    let uses = crate::rules::analysis::Analysis::control_plane_uses(template, target.index);
    (!uses.is_empty()).then(|| uses.join("; "))
}

/// For every vault, what API Management reads from it through the trusted path (the
/// uses that need its bypass), computed once per template.
pub(crate) fn collect_bypass_uses(
    template: &Template<'_>,
) -> std::collections::HashMap<usize, Vec<String>> {
    let mut by_vault: std::collections::HashMap<usize, Vec<String>> =
        std::collections::HashMap::new();
    for u in key_vault_uses(template) {
        if let Some(vault) = u.vault.filter(|_| needs_bypass(template, &u) == Tri::Yes) {
            by_vault.entry(vault).or_default().push(format!(
                "API Management service `{}` reads {}",
                template.resources[u.service].display_name(),
                u.what
            ));
        }
    }
    by_vault
}
