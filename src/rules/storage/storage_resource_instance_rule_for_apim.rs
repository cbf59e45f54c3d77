//! STG002: a storage account that admits API Management through a resource-instance rule.

use crate::diagnostic::{Diagnostic, Level};
use crate::rules::common::apim_phrase;
use crate::rules::{LintContext, Rule, RuleMeta};
use crate::template::{eq_ci, parse_resource_id, Resource, Template, Tri};

pub struct StorageResourceInstanceRuleForApim;

pub static META: RuleMeta = RuleMeta {
    id: "STG002",
    name: "storage-resource-instance-rule-for-apim",
    summary: "Storage account admits an API Management service through a resource-instance rule, a trusted path the gateway lost",
    default_level: Level::Warning,
    resource_types: &["Microsoft.Storage/storageAccounts"],
    namespaces: &["Microsoft.Storage"],
    security_severity: "5.0",
    docs: include_str!("../../../rules/STG002.md"),
};

impl Rule for StorageResourceInstanceRuleForApim {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_resource(
        &self,
        account: &Resource<'_>,
        _template: &Template<'_>,
        cx: &mut LintContext<'_>,
    ) {
        // Resource-instance rules apply with public access enabled from selected networks.
        let public = account
            .path("properties.publicNetworkAccess")
            .map_or(Tri::Yes, |v| v.is_one_of(&["Enabled"]));
        let deny = account
            .path("properties.networkAcls.defaultAction")
            .map_or(Tri::No, |v| v.is_one_of(&["Deny"]));
        if public.and(deny) != Tri::Yes {
            return;
        }
        let rules = account
            .path("properties.networkAcls.resourceAccessRules")
            .and_then(|r| r.elements())
            .unwrap_or_default();
        for rule in rules {
            let Some(id) = rule.get("resourceId") else {
                continue;
            };
            let Some((ty, name)) = id.name_text().and_then(|t| parse_resource_id(&t)) else {
                continue;
            };
            let (level, message, help) = if eq_ci(&ty, "Microsoft.ApiManagement/service") {
                (
                    META.default_level,
                    format!(
                        "storage account `{}` admits API Management service `{name}` through a resource-instance rule, a trusted-connectivity path: {}",
                        account.display_name(),
                        apim_phrase(cx.as_of())
                    ),
                    "give the gateway a network line of sight to the account (a private endpoint in its virtual network, a `virtualNetworkRules` entry for its subnet, \
                     or a network security perimeter), then remove this rule",
                )
            } else if eq_ci(&ty, "Microsoft.DataFactory/factories") {
                (
                    Level::Note,
                    format!(
                        "storage account `{}` admits Data Factory `{name}` through a resource-instance rule; Microsoft does not list this among the configurations that rely on the legacy trusted service — verify it still works in Modern mode",
                        account.display_name()
                    ),
                    "check the factory's access in Modern mode (Data Factory Studio → Manage → Factory settings → Trusted service) before Legacy is removed after 2027-08-01",
                )
            } else {
                continue;
            };
            cx.report(
                account,
                Diagnostic::new(level, id.span(), message)
                    .with_label("resource-instance rule")
                    .with_origin(id.origin())
                    .with_help(help),
            );
        }
    }
}
