//! What one evaluated file contributes to the estate: its targets, its callers' calls
//! and its factories, as owned data (names, states, spans) — never the parsed file.
//! Built by [`crate::rules::facts::collect`] after the file's rules ran.

use crate::diagnostic::ResourceInfo;
use crate::rules::data_factory::factory_calls::Mode;
use crate::source::Span;
use crate::suppress::Suppression;
use crate::template::Tri;

/// One file's part of the estate.
#[derive(Debug, Default)]
pub struct FileFacts {
    pub targets: Vec<TargetFact>,
    pub calls: Vec<CallFact>,
    /// Data Factory factories the file deploys, with their trusted-service mode.
    pub factories: Vec<FactoryFact>,
    /// API Management services the file deploys, by lowercase name, with what gives
    /// their gateway a network path (a policy repository calls through them).
    pub gateways: Vec<(String, GatewaySight)>,
    /// What API Management's control plane reads from Key Vault.
    pub control_uses: Vec<ControlUse>,
    /// Linked services on a managed virtual network runtime whose Storage account or
    /// vault the file does not deploy (ADF004 across files).
    pub managed_links: Vec<ManagedLink>,
    /// The file's inline suppressions, applied to findings the estate adds.
    pub suppressions: Vec<Suppression>,
}

/// A linked service on an integration runtime in a managed virtual network, reaching a
/// Storage account or vault in another file.
#[derive(Debug, Clone)]
pub struct ManagedLink {
    pub linked_service: String,
    pub runtime: String,
    pub network: String,
    /// The endpoint value, and its JSON pointer.
    pub span: Span,
    pub pointer: String,
    pub holder: ResourceInfo,
    pub qualifier: String,
    /// The runtime's `managedVirtualNetwork`, when it is in the same file.
    pub runtime_span: Option<Span>,
    pub target_kinds: Vec<&'static str>,
    pub target: String,
    /// What the network's managed private endpoints connect to, as (type, name),
    /// lowercase.
    pub private_endpoint_targets: Vec<(String, String)>,
}

/// A Key Vault reference of an API Management service (a hostname certificate, a named
/// value, a certificate) to a vault the file does not deploy.
#[derive(Debug, Clone)]
pub struct ControlUse {
    /// The API Management service.
    pub service: String,
    /// "the certificate of hostname `api.contoso.com`".
    pub what: String,
    /// A custom-hostname certificate: read through the trusted path even with a line of
    /// sight.
    pub hostname: bool,
    /// The `keyVaultId` / `secretIdentifier` value, and its JSON pointer.
    pub span: Span,
    pub pointer: String,
    /// `identityClientId` (a user-assigned identity), and its JSON pointer.
    pub identity: Option<(Span, String)>,
    pub holder: ResourceInfo,
    pub qualifier: String,
    /// The vault's kinds and name, from the reference's host.
    pub vault_kinds: Vec<&'static str>,
    pub vault: String,
    /// The vault in the same file (by index in [`FileFacts::targets`]): the file's own
    /// rules decided the use, the inventory lists it.
    pub local_vault: Option<usize>,
    /// The line of `span`, when recorded ([`FileFacts::fill_lines`]); 0 when not.
    pub line: usize,
    /// The service's network, when the file deploys it.
    pub sight: Option<GatewaySight>,
}

impl FileFacts {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
            && self.calls.is_empty()
            && self.control_uses.is_empty()
            && self.managed_links.is_empty()
            && self.factories.is_empty()
            && self.gateways.is_empty()
    }

    /// Records the line of every call and target, from the file's text (the inventory
    /// shows them without keeping every file's text).
    pub fn fill_lines(&mut self, source: &crate::source::SourceFile) {
        for call in &mut self.calls {
            call.line = source.line_col(call.span.start as usize).0;
        }
        for target in &mut self.targets {
            target.line = source.line_col(target.access.span.start as usize).0;
        }
        for u in &mut self.control_uses {
            u.line = source.line_col(u.span.start as usize).0;
        }
    }

    /// Does another file's finding need this file's text (a related span here)?
    pub fn needs_source(&self) -> bool {
        !self.calls.is_empty()
            || !self.control_uses.is_empty()
            || !self.managed_links.is_empty()
            || self
                .targets
                .iter()
                .any(|t| t.access.admits.is_yes() || t.locked_at.is_some())
    }
}

/// A Storage account, Key Vault, Managed HSM, Service Bus or Event Hubs namespace, or
/// container registry the file deploys.
#[derive(Debug, Clone)]
pub struct TargetFact {
    /// Its resource type, as [`crate::template::endpoint_service`] names it.
    pub kind: &'static str,
    /// Its name, lowercase; `None` when not known offline or built from placeholders
    /// (then it matches nothing across files).
    pub name: Option<String>,
    /// Its name for messages.
    pub display: String,
    pub access: Access,
    /// What could give a caller a network line of sight to it.
    pub network: TargetNetwork,
    /// The target rule whose finding sits at [`Access::span`] when the target admits
    /// trusted services (`STG001`, …): callers in other files are named in it.
    pub rule: Option<&'static str>,
    /// The line of [`Access::span`], when recorded ([`FileFacts::fill_lines`]); 0 when not.
    pub line: usize,
    /// The resource, for findings reported on it from another file (APIM006).
    pub holder: ResourceInfo,
    /// The JSON pointer of [`Access::span`] (for such a finding's fingerprint).
    pub pointer: String,
    /// For a vault, Managed HSM or Storage account that is locked down: the setting that
    /// locks it and what to say there.
    pub locked_at: Option<(Span, String)>,
}

/// A target's firewall, as far as trusted callers are concerned.
#[derive(Debug, Clone)]
pub struct Access {
    pub locked: Tri,
    /// Locked down and admitting trusted Microsoft services.
    pub admits: Tri,
    /// Its bypass setting (or where the default applies).
    pub span: Span,
}

/// The parts of a target's network rules that can admit a caller.
#[derive(Debug, Clone)]
pub struct TargetNetwork {
    /// Its IP rules are non-empty (or may be).
    pub ip_rules: Tri,
    /// Its virtual network rules, as the subnet or network IDs written, lowercase.
    pub virtual_network_rules: Vec<String>,
    /// Whether any virtual network rule is written (IDs may be unknown).
    pub has_virtual_network_rules: Tri,
    /// The virtual networks (IDs, lowercase) of private endpoints to it.
    pub private_endpoint_networks: Vec<String>,
    /// Its `location`, when known.
    pub location: Option<String>,
}

/// Who makes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// An API Management gateway (a policy or logger, with the managed identity).
    ApimGateway,
    /// A Data Factory linked service (self-hosted runtime to Storage, REST).
    AdfLinkedService,
    /// A Data Factory Web or Azure Function activity.
    AdfActivity,
}

impl CallerKind {
    /// For the inventory's `caller_kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::ApimGateway => "API Management gateway",
            CallerKind::AdfLinkedService => "Data Factory linked service",
            CallerKind::AdfActivity => "Data Factory activity",
        }
    }

    pub fn is_data_factory(self) -> bool {
        !matches!(self, CallerKind::ApimGateway)
    }
}

/// One managed-identity call to a target service.
#[derive(Debug, Clone)]
pub struct CallFact {
    pub kind: CallerKind,
    /// The API Management service or the Data Factory, for messages.
    pub caller: String,
    /// "the REST linked service `rest`", "a `send-request` to `https://…`".
    pub how: String,
    /// The endpoint value (URL, `serviceEndpoint`), else the configuration object.
    pub span: Span,
    /// The JSON pointer of the value at `span` (for the finding's fingerprint).
    pub pointer: String,
    /// The policy, logger, linked service or pipeline that holds the call.
    pub holder: ResourceInfo,
    /// " (deployed only if …)" when the holder's deployment is conditional.
    pub qualifier: String,
    /// The target's kind(s): one, except for `*.servicebus.windows.net`, which Service
    /// Bus and Event Hubs share.
    pub target_kinds: Vec<&'static str>,
    /// The target's name from the endpoint host, lowercase; `None` when not known.
    pub target_name: Option<String>,
    /// The endpoint as written, for messages about a target nobody declares.
    pub target_written: String,
    /// The target in the same file, by index in [`FileFacts::targets`].
    pub local_target: Option<usize>,
    /// The file's own rules decided the call (its target, and its API Management
    /// service, are in the file): the estate only lists it.
    pub decided_in_file: bool,
    pub system_identity: bool,
    pub sight: CallerSight,
    /// The line of `span`, when recorded ([`FileFacts::fill_lines`]); 0 when not.
    pub line: usize,
}

/// What gives the caller a network path.
#[derive(Debug, Clone)]
pub enum CallerSight {
    /// An API Management service: as the file deploys it, or `None` when the file
    /// holds only its policies (the estate looks the service up by name).
    Gateway(Option<GatewaySight>),
    /// A Data Factory integration runtime.
    Runtime {
        runtime: RuntimeKind,
        /// "the self-hosted integration runtime `shir`".
        described: String,
        /// The factory's name, lowercase (to find its mode in another file).
        factory: String,
        /// The factory's mode when its resource is in the same file.
        mode: Option<Mode>,
    },
}

/// What gives an API Management gateway a network path: its subnet (`Yes` with the
/// subnet ID, lowercase), none, or unknown; and whether it already disables trusted
/// connectivity.
#[derive(Debug, Clone)]
pub struct GatewaySight {
    pub in_network: Tri,
    pub subnet: Option<String>,
    pub location: Option<String>,
    pub already_disabled: bool,
}

/// The kind of integration runtime a Data Factory call runs on.
#[derive(Debug, Clone)]
pub enum RuntimeKind {
    Azure,
    SelfHosted,
    /// In a managed virtual network, with the targets its managed private endpoints
    /// connect to, as (resource type lowercase, name lowercase).
    ManagedNetwork {
        private_endpoint_targets: Vec<(String, String)>,
    },
    Unknown(String),
}

/// A Data Factory the file deploys.
#[derive(Debug, Clone)]
pub struct FactoryFact {
    /// Its name, lowercase.
    pub name: String,
    pub mode: Mode,
}
