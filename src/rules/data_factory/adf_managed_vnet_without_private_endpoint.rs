//! ADF004: a linked service on an integration runtime in the factory's managed virtual
//! network whose locked-down Storage account or Key Vault has no managed private
//! endpoint in that network.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::common::{locked_down, noun};
use crate::rules::data_factory::factory_calls::{
    factory_of, linked_service_endpoint, managed_private_endpoint, runtime_of, Runtime, KEY_VAULT,
    LINKED_SERVICE, STORAGE,
};
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{Template, Tri};

pub struct AdfManagedVnetWithoutPrivateEndpoint;

pub static META: RuleMeta = RuleMeta {
    id: "ADF004",
    name: "adf-managed-vnet-without-private-endpoint",
    summary: "Linked service in a Data Factory managed virtual network reaches a locked-down Storage account or Key Vault without a managed private endpoint",
    default_level: Level::Warning,
    resource_types: &[],
    namespaces: &["Microsoft.DataFactory"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/ADF004.md"),
};

impl Rule for AdfManagedVnetWithoutPrivateEndpoint {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_template(&self, template: &Template<'_>, cx: &mut LintContext<'_>) {
        for (_, linked_service) in template.of_type(LINKED_SERVICE) {
            let runtime = runtime_of(
                template,
                linked_service,
                linked_service.path("properties.connectVia"),
            );
            let Runtime::ManagedVnet {
                runtime: runtime_index,
                network,
            } = runtime
            else {
                continue;
            };
            let Some((endpoint, Some(target_index))) =
                linked_service_endpoint(template, linked_service)
            else {
                continue;
            };
            let target = &template.resources[target_index];
            if !(target.is_type(STORAGE) || target.is_type(KEY_VAULT)) {
                continue;
            }
            let locked = locked_down(
                target,
                "properties.publicNetworkAccess",
                "properties.networkAcls.defaultAction",
            );
            if locked.state != Tri::Yes {
                continue;
            }
            let (_, factory_name) = factory_of(template, linked_service);
            if managed_private_endpoint(template, &factory_name, &network, target_index).is_some() {
                continue;
            }
            let (kind, target_name) = (noun(&target.full_type), target.display_name());
            let runtime = &template.resources[runtime_index];
            let diagnostic = no_private_endpoint(
                &linked_service.short_name(),
                &runtime.short_name(),
                &network,
                kind,
                &target_name,
                endpoint.span(),
            )
            .with_related(
                locked.span,
                format!("{kind} `{target_name}`: {}", locked.label),
            )
            .with_related(
                runtime
                    .path("properties.managedVirtualNetwork")
                    .map_or_else(|| runtime.span(), |v| v.span()),
                "integration runtime bound to the managed virtual network",
            );
            cx.report(linked_service, diagnostic);
        }
    }
}

/// ADF004's finding at the linked service's endpoint: the caller adds where the target
/// is locked down (in this file or another) and the runtime's network binding.
pub fn no_private_endpoint(
    linked_service: &str,
    runtime: &str,
    network: &str,
    kind: &str,
    target: &str,
    endpoint: crate::source::Span,
) -> Diagnostic {
    Diagnostic::new(
        META.default_level,
        endpoint,
        format!(
            "linked service `{linked_service}` runs on integration runtime `{runtime}` in the managed virtual network `{network}`, \
             but the managed virtual network has no managed private endpoint to the locked-down {kind} `{target}`"
        ),
    )
    .with_label(format!("{kind} reached from the managed virtual network"))
    .with_help(format!(
        "add a `Microsoft.DataFactory/factories/managedVirtualNetworks/managedPrivateEndpoints` resource in `{network}` \
         whose `privateLinkResourceId` is the {kind}, with the `groupId` the linked service uses (`blob`, `dfs`, `vault`, …), \
         and approve the private endpoint connection on the {kind}"
    ))
}
