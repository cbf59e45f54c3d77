//! Azure Data Factory: the trusted-service mode and the configurations that rely on it.

pub mod adf_legacy_trusted_service_mode;
pub mod adf_managed_vnet_without_private_endpoint;
pub mod adf_relies_on_legacy_trusted_service;
pub mod adf_trusted_service_mode_unstated;
pub mod adf_trusted_service_target_unseen;
pub mod factory_calls;
