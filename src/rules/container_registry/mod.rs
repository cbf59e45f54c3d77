pub mod acr_trusted_services_bypass;
