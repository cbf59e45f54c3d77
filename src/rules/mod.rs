//! The rules, their metadata and the registry.
//!
//! Each rule lives in its own file under an area folder and documents itself in
//! `rules/<ID>.md`. [`ALL`] lists every rule in ID order; tests enforce that.

use crate::date::Date;
use crate::diagnostic::{CopyInstances, Diagnostic, Level, ResourceInfo};
use crate::template::{Resource, Template};

pub mod analysis;
pub mod apim;
pub mod apim_network;
pub mod common;
pub mod container_registry;
pub mod data_factory;
pub mod facts;
pub mod key_vault;
pub mod messaging;
pub mod storage;
pub mod tool;

/// Provider namespaces rules read for context without reporting on them: virtual
/// networks, subnets, network security groups, route tables, public IP addresses and
/// private endpoints (line of sight, API Management's network). See [`walks_namespace`].
pub const CONTEXT_NAMESPACES: &[&str] = &["Microsoft.Network"];

/// The rules whose findings can depend on another file of the run (callers and
/// targets meet across files: see [`crate::estate`]).
pub const ESTATE_RULES: &[&str] = &[
    "ACR001", "ADF002", "ADF005", "APIM003", "EH001", "HSM001", "KV001", "SB001", "STG001",
];

/// The provider namespaces of the estate's callers and targets: a file declaring one is
/// evaluated whenever an [`ESTATE_RULES`] rule runs, whichever rules are selected (with
/// `--select ADF`, the storage accounts of `infra/` are still targets).
pub const ESTATE_NAMESPACES: &[&str] = &[
    "Microsoft.ApiManagement",
    "Microsoft.ContainerRegistry",
    "Microsoft.DataFactory",
    "Microsoft.EventHub",
    "Microsoft.KeyVault",
    "Microsoft.ServiceBus",
    "Microsoft.Storage",
];

/// Whether a nested deployment declaring a resource in `namespace` is walked: one any
/// rule is about (enabled or not — a rule reads targets and callers of other rules'
/// namespaces) or one read for context.
pub fn walks_namespace(namespace: &str) -> bool {
    static WALKED: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let walked = WALKED.get_or_init(|| namespaces_of(ALL, CONTEXT_NAMESPACES));
    names_namespace(walked, namespace)
}

/// The provider namespaces `rules` are about, and `more`, each once.
pub fn namespaces_of(rules: &[&'static dyn Rule], more: &[&'static str]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = rules
        .iter()
        .flat_map(|r| r.meta().namespaces.iter().copied())
        .chain(more.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Is `namespace` among `namespaces` (compared without case, as ARM does)?
pub fn names_namespace(namespaces: &[&str], namespace: &str) -> bool {
    namespaces.iter().any(|n| n.eq_ignore_ascii_case(namespace))
}

/// A rule's fixed description: what SARIF, `trustlint rules` and the docs show.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable identifier, never reused: `STG001`.
    pub id: &'static str,
    /// Kebab-case name: `storage-trusted-services-bypass`.
    pub name: &'static str,
    /// One line, for tables and SARIF `shortDescription`.
    pub summary: &'static str,
    /// The catalogue level; date-aware rules adjust it in [`Rule::level_on`].
    pub default_level: Level,
    /// Resource types [`Rule::check_resource`] is called for (case-insensitive).
    pub resource_types: &'static [&'static str],
    /// The provider namespaces (`Microsoft.Storage`) of the resources the rule is about:
    /// it can report on a template only if the template declares a resource of one of
    /// them. A template that declares none for any enabled rule is not evaluated.
    /// Empty for rules that read only the written document.
    pub namespaces: &'static [&'static str],
    /// SARIF `security-severity` (0.0–10.0) for GitHub code scanning.
    pub security_severity: &'static str,
    /// The rule's documentation, `rules/<ID>.md`.
    pub docs: &'static str,
}

/// A lint rule. Rules only see the template model and report through the context.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;

    /// Called once per template, on the parsed document, before the template model is
    /// built: for rules that read only what is written (while the parsed file is still
    /// in the cache).
    fn check_document(&self, _root: &jsonc_parser::ast::Object<'_>, _cx: &mut LintContext<'_>) {}

    /// Called once per template.
    fn check_template(&self, _template: &Template<'_>, _cx: &mut LintContext<'_>) {}

    /// Called for each deployed resource whose type is in `meta().resource_types`.
    fn check_resource(
        &self,
        _resource: &Resource<'_>,
        _template: &Template<'_>,
        _cx: &mut LintContext<'_>,
    ) {
    }

    /// The level the rule reports at on `as_of` when nothing about the resource changes
    /// it (shown by `trustlint rules` and SARIF `defaultConfiguration`).
    fn level_on(&self, _as_of: Date) -> Level {
        self.meta().default_level
    }
}

/// Settings that affect what rules report.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// The date date-aware levels and messages are computed for.
    pub as_of: Date,
    /// Storage account names API Management backs up to and restores from (config
    /// `apim-backup-storage`), compared case-insensitively.
    pub apim_backup_storage: Vec<String>,
}

impl RuleOptions {
    pub fn new(as_of: Date) -> RuleOptions {
        RuleOptions {
            as_of,
            apim_backup_storage: Vec::new(),
        }
    }

    /// Is this storage account declared as API Management backup/restore storage?
    pub fn is_apim_backup_storage(&self, account_name: &str) -> bool {
        self.apim_backup_storage
            .iter()
            .any(|n| n.eq_ignore_ascii_case(account_name))
    }
}

/// What a rule reports into while it checks one template.
pub struct LintContext<'o> {
    pub options: &'o RuleOptions,
    rule: &'static RuleMeta,
    diagnostics: Vec<Diagnostic>,
}

impl<'o> LintContext<'o> {
    pub fn new(options: &'o RuleOptions) -> Self {
        LintContext {
            options,
            rule: &tool::invalid_json::META,
            diagnostics: Vec::new(),
        }
    }

    pub fn as_of(&self) -> Date {
        self.options.as_of
    }

    /// Sets the rule that subsequent reports belong to.
    pub fn set_rule(&mut self, rule: &'static RuleMeta) {
        self.rule = rule;
    }

    /// Reports a finding about `resource`; qualifies the message when the resource is
    /// deployed only under a condition, and records its copy-loop instance.
    pub fn report(&mut self, resource: &Resource<'_>, mut diagnostic: Diagnostic) {
        diagnostic.message.push_str(&deployed_only_if(resource));
        if let Some(copy) = &resource.copy {
            diagnostic.copies = Some(CopyInstances {
                loop_name: copy.loop_name.to_string(),
                instances: vec![resource.display_name()],
                unknown_count: copy.unknown_count.clone(),
            });
        }
        diagnostic.resource = Some(resource_info(resource));
        self.report_file(diagnostic);
    }

    /// Reports a finding that belongs to no resource (e.g. a parse error).
    pub fn report_file(&mut self, mut diagnostic: Diagnostic) {
        diagnostic.rule = self.rule.id;
        self.diagnostics.push(diagnostic);
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

/// " (deployed only if …)" for a resource whose deployment the template does not
/// decide; empty otherwise.
pub fn deployed_only_if(resource: &Resource<'_>) -> String {
    if resource.conditions.is_empty() {
        return String::new();
    }
    let each: Vec<String> = resource.conditions.iter().map(|c| c.describe()).collect();
    format!(" (deployed only if {})", each.join(" and "))
}

/// The resource a finding is about, as reports show it.
pub fn resource_info(resource: &Resource<'_>) -> ResourceInfo {
    ResourceInfo {
        full_type: resource.full_type.clone(),
        name: resource.display_name(),
        pointer: resource.pointer.clone(),
    }
}

/// Every rule, sorted by ID.
pub static ALL: &[&dyn Rule] = &[
    &container_registry::acr_trusted_services_bypass::AcrTrustedServicesBypass,
    &data_factory::adf_legacy_trusted_service_mode::AdfLegacyTrustedServiceMode,
    &data_factory::adf_relies_on_legacy_trusted_service::AdfReliesOnLegacyTrustedService,
    &data_factory::adf_trusted_service_mode_unstated::AdfTrustedServiceModeUnstated,
    &data_factory::adf_managed_vnet_without_private_endpoint::AdfManagedVnetWithoutPrivateEndpoint,
    &data_factory::adf_trusted_service_target_unseen::AdfTrustedServiceTargetUnseen,
    &apim::apim_trusted_connectivity_not_disabled::ApimTrustedConnectivityNotDisabled,
    &apim::apim_trusted_connectivity_invalid_value::ApimTrustedConnectivityInvalidValue,
    &apim::apim_gateway_relies_on_trusted_connectivity::ApimGatewayReliesOnTrustedConnectivity,
    &apim::apim_user_identity_keyvault_behind_firewall::ApimUserIdentityKeyVaultBehindFirewall,
    &apim::apim_keyvault_certificate_without_identity::ApimKeyVaultCertificateWithoutIdentity,
    &apim::apim_control_plane_bypass_required::ApimControlPlaneBypassRequired,
    &apim_network::apim_injection_subnet_delegated::ApimInjectionSubnetDelegated,
    &apim_network::apim_subnet_without_nsg::ApimSubnetWithoutNsg,
    &apim_network::apim_nsg_missing_required_rule::ApimNsgMissingRequiredRule,
    &apim_network::apim_public_ip_requirements::ApimPublicIpRequirements,
    &apim_network::apim_v2_network_configuration::ApimV2NetworkConfiguration,
    &apim_network::apim_forced_tunnel_without_service_endpoints::ApimForcedTunnelWithoutServiceEndpoints,
    &apim_network::apim_forced_tunnel_management_route::ApimForcedTunnelManagementRoute,
    &messaging::eventhub_trusted_service_access::EventHubTrustedServiceAccess,
    &tool::expression_parse_error::ExpressionParseError,
    &key_vault::managed_hsm_trusted_services_bypass::ManagedHsmTrustedServicesBypass,
    &tool::invalid_json::InvalidJson,
    &key_vault::keyvault_trusted_services_bypass::KeyVaultTrustedServicesBypass,
    &messaging::servicebus_trusted_service_access::ServiceBusTrustedServiceAccess,
    &storage::storage_trusted_services_bypass::StorageTrustedServicesBypass,
    &storage::storage_resource_instance_rule_for_apim::StorageResourceInstanceRuleForApim,
    &tool::invalid_suppression::InvalidSuppression,
];

/// The IDs of the rules an ID or prefix names (case-insensitive); an error with a
/// suggestion when it names none.
pub fn matching(pattern: &str) -> Result<Vec<&'static str>, String> {
    let found: Vec<&'static str> = ALL
        .iter()
        .map(|r| r.meta().id)
        .filter(|id| id.len() >= pattern.len() && id[..pattern.len()].eq_ignore_ascii_case(pattern))
        .collect();
    if found.is_empty() || pattern.is_empty() {
        let hint = crate::suggest(pattern)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!(
            "no rule matches `{pattern}`{hint} (see `trustlint rules`)"
        ));
    }
    Ok(found)
}

/// Looks a rule up by ID, case-insensitively.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id))
}
