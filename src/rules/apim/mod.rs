//! API Management gateway: the `DisableOverPrivilegedAccess` custom property.

pub mod apim_control_plane_bypass_required;
pub mod apim_gateway_relies_on_trusted_connectivity;
pub mod apim_keyvault_certificate_without_identity;
pub mod apim_trusted_connectivity_invalid_value;
pub mod apim_trusted_connectivity_not_disabled;
pub mod apim_user_identity_keyvault_behind_firewall;
pub mod control_plane;
pub mod gateway_calls;
pub mod policy_xml;

use crate::template::{Resource, ValueRef};

/// The resource type of an API Management service.
pub const APIM_SERVICE: &str = "Microsoft.ApiManagement/service";

/// The custom property that disables trusted service connectivity for the gateway.
pub const DISABLE_KEY: &str =
    "Microsoft.WindowsAzure.ApiManagement.Gateway.ManagedIdentity.DisableOverPrivilegedAccess";

/// Where the custom property stands on an API Management service.
pub enum DisableSetting<'a> {
    /// The key is written; its value.
    Present(ValueRef<'a>),
    /// The key is not there; the span-carrying object that should hold it is
    /// `customProperties`, else `properties`, else the resource.
    Absent,
    /// `customProperties` (or `properties`) is an expression trustlint cannot see into.
    Unknown(ValueRef<'a>),
}

pub fn disable_setting<'a>(service: &Resource<'a>) -> DisableSetting<'a> {
    let Some(custom) = service.path("properties.customProperties") else {
        return match service.get("properties") {
            Some(p) if p.unknown_reason().is_some() => DisableSetting::Unknown(p),
            _ => DisableSetting::Absent,
        };
    };
    // Known in part: the key may still be among the known properties.
    match custom.get(DISABLE_KEY) {
        Some(v) if v.unknown_reason().is_none() || custom.unknown_reason().is_none() => {
            DisableSetting::Present(v)
        }
        _ if custom.unknown_reason().is_some() => DisableSetting::Unknown(custom),
        _ => DisableSetting::Absent,
    }
}
