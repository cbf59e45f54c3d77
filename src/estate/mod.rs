//! The estate: every file of one run, connected. After each file is linted on its own
//! (in parallel), one pass over the files' [`FileFacts`] matches callers to targets in
//! other files — by resource type and name, the names being global DNS names — or to
//! targets declared in the config's `[estate]`, and:
//!
//! - reports the calls that rely on the trusted path to a target in another file
//!   (`APIM003`, `ADF002`), with a related span in the target's file;
//! - names those callers in the target's own finding (`STG001`, `KV001`, …);
//! - reports Data Factory calls whose target no file deploys and no config declares
//!   (`ADF005`);
//! - lists every caller→target edge for `trustlint inventory`.
//!
//! The pass visits files, calls and targets in file order, with hash lookups: linear
//! in targets and calls, deterministic, and it never touches a parsed file.

mod facts;

use std::collections::HashMap;

pub use facts::{
    Access, CallFact, CallerKind, CallerSight, ControlUse, FactoryFact, FileFacts, GatewaySight,
    ManagedLink, RuntimeKind, TargetFact, TargetNetwork,
};

use crate::date::Date;
use crate::diagnostic::{Diagnostic, Level, Related};
use crate::linter::{FileReport, LintOptions};
use crate::rules::apim::apim_gateway_relies_on_trusted_connectivity::GatewayReliance;
use crate::rules::common::noun;
use crate::rules::data_factory::adf_relies_on_legacy_trusted_service::Reliance;
use crate::rules::data_factory::factory_calls::Mode;
use crate::rules::facts::network_of;
use crate::template::{eq_ci, same_region, Tri};

/// Where a call's target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPlace {
    /// Deployed by a file of the run: (file index, index in its facts' targets).
    InRun { file: usize, target: usize },
    /// Named in `[estate]` `trusted-bypass-targets` (`true`) or `open-targets`.
    Declared { trusted_bypass: bool },
    /// In no file of the run and not declared.
    NotInRun,
}

/// One caller→target edge, decided.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The caller's file (index in the run's reports) and call (index in its facts).
    pub file: usize,
    pub call: usize,
    pub target: TargetPlace,
    /// The caller's network line of sight to the target (`No` when not asked).
    pub line_of_sight: Tri,
    /// What trustlint concludes, for the inventory.
    pub verdict: String,
    /// The rule that reports it, if any, and the finding's level.
    pub rule: Option<&'static str>,
    pub level: Option<Level>,
    /// The factory's trusted-service mode, for Data Factory callers.
    pub factory_mode: Option<Mode>,
}

/// One Key Vault read of API Management's control plane, decided.
#[derive(Debug, Clone)]
pub struct ControlEdge {
    /// The caller's file and use (index in its facts' `control_uses`).
    pub file: usize,
    pub control_use: usize,
    /// The vault: (file, index in its facts' targets), when the run deploys it.
    pub target: Option<(usize, usize)>,
    pub verdict: String,
    pub rule: Option<&'static str>,
}

/// What connecting the estate found: every gateway and Data Factory call, and every
/// control-plane read of Key Vault.
#[derive(Debug, Default)]
pub struct Connected {
    pub edges: Vec<Edge>,
    pub control: Vec<ControlEdge>,
}

/// Connects the run's files: adds the findings that need another file (or the config)
/// to each report, and returns every edge. Call once, after every file is linted.
pub fn connect(reports: &mut [FileReport], options: &LintOptions) -> Connected {
    let index = TargetIndex::new(reports);
    let modes = factory_modes(reports);
    let gateways = gateway_sights(reports);
    let as_of = options.rule_options.as_of;
    let declared = &options.config.estate;
    let mut edges = Vec::new();
    // Per file: the findings to add. Per target: the callers in other files.
    let mut added: Vec<Vec<(Diagnostic, String)>> = vec![Vec::new(); reports.len()];
    let mut relied_on: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
    for (file, report) in reports.iter().enumerate() {
        let Some(facts) = report.facts.as_deref() else {
            continue;
        };
        for (call_index, call) in facts.calls.iter().enumerate() {
            let place = match call.local_target {
                Some(target) => TargetPlace::InRun { file, target },
                None => index.find(call).unwrap_or_else(|| {
                    match call
                        .target_name
                        .as_deref()
                        .and_then(|name| declared.declares(name))
                    {
                        Some(trusted_bypass) => TargetPlace::Declared { trusted_bypass },
                        None => TargetPlace::NotInRun,
                    }
                }),
            };
            let target = match place {
                TargetPlace::InRun { file, target } => {
                    reports[file].facts.as_deref().map(|f| &f.targets[target])
                }
                _ => None,
            };
            let mode = match &call.sight {
                CallerSight::Runtime { mode: Some(m), .. } => Some(m.clone()),
                CallerSight::Runtime { factory, .. } => {
                    Some(modes.get(factory).cloned().unwrap_or_else(|| {
                        Mode::Unknown(format!("factory `{factory}` is in no file of this run"))
                    }))
                }
                CallerSight::Gateway(_) => None,
            };
            let gateway = match &call.sight {
                CallerSight::Gateway(Some(sight)) => Some(sight.clone()),
                CallerSight::Gateway(None) => Some(
                    gateways
                        .get(&call.caller.to_ascii_lowercase())
                        .cloned()
                        .unwrap_or_else(|| GatewaySight {
                            in_network: Tri::Unknown(
                                format!(
                                    "API Management service `{}` is in no file of this run, so whether its gateway has a network path is not known",
                                    call.caller
                                )
                                .into(),
                            ),
                            subnet: None,
                            location: None,
                            already_disabled: false,
                        }),
                ),
                CallerSight::Runtime { .. } => None,
            };
            let decided = decide(call, &place, target, mode.as_ref(), gateway.as_ref(), as_of);
            let local = call.decided_in_file;
            if let (false, Some(mut diagnostic), Some(rule)) =
                (local, decided.diagnostic, decided.rule)
            {
                diagnostic.rule = rule;
                if let (
                    TargetPlace::InRun {
                        file: tf,
                        target: ti,
                    },
                    Some(t),
                ) = (&place, target)
                {
                    if let Some(source) = &reports[*tf].source {
                        diagnostic = diagnostic.with_related_in(
                            source.clone(),
                            t.access.span,
                            format!(
                                "{} `{}` admits trusted Microsoft services here",
                                noun(t.kind),
                                t.display
                            ),
                        );
                    }
                    if decided.relies {
                        relied_on
                            .entry((*tf, *ti))
                            .or_default()
                            .push((file, call_index));
                    }
                }
                diagnostic.message.push_str(&call.qualifier);
                diagnostic.resource = Some(call.holder.clone());
                added[file].push((diagnostic, call.pointer.clone()));
            }
            edges.push(Edge {
                file,
                call: call_index,
                target: place,
                line_of_sight: decided.line_of_sight,
                verdict: decided.verdict,
                rule: decided.rule,
                level: decided.level,
                factory_mode: mode,
            });
        }
    }
    let mut keeps: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    let control = control_plane(reports, &index, &mut added, &mut keeps);
    managed_networks(reports, &index, &mut added);
    keep_in_targets(reports, &keeps);
    name_callers_in_targets(reports, &relied_on);
    for (file, diagnostics) in added.into_iter().enumerate() {
        if !diagnostics.is_empty() {
            crate::linter::add_findings(&mut reports[file], diagnostics, options);
        }
    }
    Connected { edges, control }
}

/// The targets of the run with a usable name, by (kind, name).
struct TargetIndex {
    by_name: HashMap<(&'static str, String), Vec<(usize, usize)>>,
}

impl TargetIndex {
    fn new(reports: &[FileReport]) -> TargetIndex {
        let mut by_name: HashMap<(&'static str, String), Vec<(usize, usize)>> = HashMap::new();
        for (file, report) in reports.iter().enumerate() {
            let Some(facts) = report.facts.as_deref() else {
                continue;
            };
            for (i, target) in facts.targets.iter().enumerate() {
                if let Some(name) = &target.name {
                    by_name
                        .entry((target.kind, name.clone()))
                        .or_default()
                        .push((file, i));
                }
            }
        }
        TargetIndex { by_name }
    }

    /// The target a call names in the run: the first in file order.
    fn find(&self, call: &CallFact) -> Option<TargetPlace> {
        let name = call.target_name.as_ref()?;
        self.find_named(&call.target_kinds, name)
            .map(|(file, target)| TargetPlace::InRun { file, target })
    }

    /// The first target of the run of one of `kinds` named `name` (lowercase).
    fn find_named(&self, kinds: &[&'static str], name: &str) -> Option<(usize, usize)> {
        kinds.iter().find_map(|kind| {
            self.by_name
                .get(&(*kind, name.to_owned()))?
                .first()
                .copied()
        })
    }
}

/// Every factory of the run by lowercase name, with its mode (the first file's).
fn factory_modes(reports: &[FileReport]) -> HashMap<String, Mode> {
    let mut modes = HashMap::new();
    for facts in reports.iter().filter_map(|r| r.facts.as_deref()) {
        for factory in &facts.factories {
            modes
                .entry(factory.name.clone())
                .or_insert_with(|| factory.mode.clone());
        }
    }
    modes
}

/// Every API Management service of the run by lowercase name (the first file's).
fn gateway_sights(reports: &[FileReport]) -> HashMap<String, GatewaySight> {
    let mut sights = HashMap::new();
    for facts in reports.iter().filter_map(|r| r.facts.as_deref()) {
        for (name, sight) in &facts.gateways {
            sights.entry(name.clone()).or_insert_with(|| sight.clone());
        }
    }
    sights
}

/// What the estate concludes about one call.
struct Decided {
    diagnostic: Option<Diagnostic>,
    /// The call relies on the target's trusted path (it is named in the target's finding).
    relies: bool,
    line_of_sight: Tri,
    verdict: String,
    rule: Option<&'static str>,
    level: Option<Level>,
}

fn decide(
    call: &CallFact,
    place: &TargetPlace,
    target: Option<&TargetFact>,
    mode: Option<&Mode>,
    gateway: Option<&GatewaySight>,
    as_of: Date,
) -> Decided {
    let kind = noun(call.target_kinds.first().copied().unwrap_or_default());
    let undecided = |verdict: String| Decided {
        diagnostic: None,
        relies: false,
        line_of_sight: Tri::No,
        verdict,
        rule: None,
        level: None,
    };
    let admits = match (place, target) {
        (TargetPlace::InRun { .. }, Some(t)) => t.access.admits.clone(),
        (TargetPlace::Declared { trusted_bypass }, _) => Tri::from_bool(*trusted_bypass),
        _ => {
            if !call.kind.is_data_factory() {
                return undecided("not in the run: check the target's firewall".to_owned());
            }
            let diagnostic = unseen_target(call, kind);
            return Decided {
                level: Some(diagnostic.level),
                diagnostic: Some(diagnostic),
                relies: false,
                line_of_sight: Tri::No,
                verdict: "target not in the run: check its firewall, or declare it in `[estate]`"
                    .to_owned(),
                rule: Some("ADF005"),
            };
        }
    };
    match admits {
        Tri::No => {
            return undecided(
                "not affected: the target is not locked down with the trusted bypass".to_owned(),
            )
        }
        Tri::Unknown(reason) => {
            return undecided(format!(
                "undecided: the target's firewall is not known ({reason})"
            ))
        }
        Tri::Yes => {}
    }
    let target_name = target.map_or_else(
        || call.target_name.clone().unwrap_or_default(),
        |t| t.display.clone(),
    );
    let line_of_sight = line_of_sight(call, gateway, target);
    let (diagnostic, rule) = match (&call.sight, gateway) {
        (
            CallerSight::Gateway(_),
            Some(GatewaySight {
                already_disabled, ..
            }),
        ) => {
            let reliance = GatewayReliance {
                service: &call.caller,
                how: &call.how,
                kind,
                target: &target_name,
                system_identity: call.system_identity,
                already_disabled: *already_disabled,
            };
            (
                reliance.diagnostic(call.span, line_of_sight.clone(), as_of),
                "APIM003",
            )
        }
        (CallerSight::Gateway(_), None) => (None, "APIM003"),
        (CallerSight::Runtime { described, .. }, _) => {
            let unstated = Mode::Unstated;
            let reliance = Reliance {
                factory: &call.caller,
                how: &call.how,
                kind,
                target: &target_name,
                system_identity: call.system_identity,
                runtime: described,
                mode: mode.unwrap_or(&unstated),
            };
            (
                reliance.diagnostic(call.span, line_of_sight.clone(), as_of),
                "ADF002",
            )
        }
    };
    let relies = line_of_sight == Tri::No
        && (call.system_identity || call.kind.is_data_factory())
        && diagnostic.is_some();
    let verdict = match (&line_of_sight, &diagnostic) {
        (Tri::Yes, _) | (_, None) => "not affected: network line of sight".to_owned(),
        (_, Some(_)) if !call.system_identity && !call.kind.is_data_factory() => {
            "fails: a user-assigned identity never passed as a trusted service".to_owned()
        }
        (Tri::Unknown(reason), _) => format!("undecided: {reason}"),
        (Tri::No, _) => "affected: relies on the trusted-services path".to_owned(),
    };
    Decided {
        level: diagnostic.as_ref().map(|d| d.level),
        rule: diagnostic.as_ref().map(|_| rule),
        diagnostic,
        relies,
        line_of_sight,
        verdict,
    }
}

/// ADF005: a Data Factory call whose target no file of the run deploys.
fn unseen_target(call: &CallFact, kind: &str) -> Diagnostic {
    let identity = if call.system_identity {
        "its system-assigned identity"
    } else {
        "a user-assigned identity"
    };
    let target = match &call.target_name {
        Some(name) => format!("{kind} `{name}`"),
        None => format!("a {kind} not known offline (`{}`)", call.target_written),
    };
    Diagnostic::new(
        Level::Note,
        call.span,
        format!(
            "Data Factory `{}` calls {target} through {} with {identity}; no file of this run deploys it and the config does not declare it: \
             the call relies on the legacy trusted service if the {kind} admits it only as a trusted service",
            call.caller, call.how
        ),
    )
    .with_label("target not in the run")
    .with_help(format!(
        "check the {kind}'s firewall; lint the files that deploy it in the same run (`trustlint check infra/ adf/`), \
         or declare it in trustlint.toml: `[estate]` `trusted-bypass-targets = [\"<name>\"]` (locked down, admitting trusted services) or `open-targets = [\"<name>\"]`"
    ))
}

/// Does the caller reach the target through its network? A declared target
/// (`target` is `None`) has no network rules of its own.
fn line_of_sight(
    call: &CallFact,
    gateway: Option<&GatewaySight>,
    target: Option<&TargetFact>,
) -> Tri {
    let network = target.map(|t| &t.network);
    match &call.sight {
        CallerSight::Gateway(_) => match gateway {
            Some(sight) => gateway_line_of_sight(sight, target),
            None => Tri::No,
        },
        CallerSight::Runtime { runtime, .. } => match runtime {
            RuntimeKind::ManagedNetwork {
                private_endpoint_targets,
            } => Tri::from_bool(target.is_some_and(|t| {
                t.name.as_ref().is_some_and(|name| {
                    private_endpoint_targets
                        .iter()
                        .any(|(ty, n)| eq_ci(ty, t.kind) && n == name)
                })
            })),
            RuntimeKind::SelfHosted => {
                let Some(network) = network else {
                    return Tri::No;
                };
                if network.ip_rules != Tri::No {
                    Tri::Unknown("the target's IP rules might admit the self-hosted integration runtime's machines".into())
                } else if network.has_virtual_network_rules != Tri::No
                    || !network.private_endpoint_networks.is_empty()
                {
                    Tri::Unknown("the self-hosted integration runtime's machines might reach the target through a virtual network rule or a private endpoint".into())
                } else {
                    Tri::No
                }
            }
            RuntimeKind::Azure => match network.map_or(Tri::No, |n| n.ip_rules.clone()) {
                Tri::No => Tri::No,
                _ => Tri::Unknown(
                    "the target's IP rules might admit the Azure integration runtime's addresses"
                        .into(),
                ),
            },
            RuntimeKind::Unknown(reason) => Tri::Unknown(reason.as_str().into()),
        },
    }
}

/// Does an API Management gateway (its network: `sight`) reach `target` through its
/// network? A declared target (`None`) has no network rules of its own.
fn gateway_line_of_sight(sight: &GatewaySight, target: Option<&TargetFact>) -> Tri {
    let GatewaySight {
        in_network,
        subnet,
        location,
        ..
    } = sight;
    match in_network {
        Tri::No => return Tri::No,
        Tri::Unknown(reason) => return Tri::Unknown(reason.clone()),
        Tri::Yes => {}
    }
    let Some(subnet) = subnet else {
        return Tri::Unknown("the service's subnet is not known".into());
    };
    let Some(network) = target.map(|t| &t.network) else {
        return Tri::No;
    };
    let vnet = network_of(subnet);
    if network.virtual_network_rules.iter().any(|id| id == subnet)
        || network.private_endpoint_networks.contains(&vnet)
    {
        return Tri::Yes;
    }
    let same_region_storage = target.is_some_and(|t| {
        eq_ci(t.kind, "Microsoft.Storage/storageAccounts")
            && matches!((location, &network.location), (Some(a), Some(b)) if same_region(a, b))
    });
    match network.ip_rules {
        Tri::No => Tri::No,
        _ if same_region_storage => Tri::No,
        _ => Tri::Unknown(
            "the target's IP rules might admit the service's outbound addresses".into(),
        ),
    }
}

/// API Management's control plane reading Key Vault in another file of the run: APIM004
/// (a user-assigned identity to a locked-down vault) in the caller's file, APIM006 (the
/// vault's bypass off) in the vault's file, and the reasons the vault's own finding must
/// say to keep the bypass.
fn control_plane(
    reports: &[FileReport],
    index: &TargetIndex,
    added: &mut [Vec<(Diagnostic, String)>],
    keeps: &mut HashMap<(usize, usize), Vec<String>>,
) -> Vec<ControlEdge> {
    use crate::rules::apim::apim_control_plane_bypass_required::control_plane_blocked;
    use crate::rules::apim::apim_user_identity_keyvault_behind_firewall::user_identity_behind_firewall;
    let mut control = Vec::new();
    for (file, report) in reports.iter().enumerate() {
        let Some(facts) = report.facts.as_deref() else {
            continue;
        };
        for (use_index, u) in facts.control_uses.iter().enumerate() {
            let found = match u.local_vault {
                Some(local) => Some((file, local)),
                None => index.find_named(&u.vault_kinds, &u.vault),
            };
            let mut edge = ControlEdge {
                file,
                control_use: use_index,
                target: found,
                verdict: "vault not in the run: check its firewall".to_owned(),
                rule: None,
            };
            let Some((target_file, target_index)) = found else {
                control.push(edge);
                continue;
            };
            let holder = &reports[target_file];
            let Some(t) = holder.facts.as_deref().map(|f| &f.targets[target_index]) else {
                continue;
            };
            let local = u.local_vault.is_some();
            edge.verdict = control_verdict(u, t);
            edge.rule = match (&u.identity, &t.locked_at, &t.access.admits) {
                (Some(_), Some(_), _) => Some("APIM004"),
                (_, Some(_), Tri::No) if edge.verdict.starts_with("fails") => Some("APIM006"),
                _ => None,
            };
            control.push(edge);
            if local {
                continue; // the file's own rules reported it
            }
            if let (Some((identity, pointer)), Some((locked, label))) = (&u.identity, &t.locked_at)
            {
                let mut d =
                    user_identity_behind_firewall(&u.service, &u.what, &t.display, *identity);
                if let Some(source) = &holder.source {
                    d = d.with_related_in(
                        source.clone(),
                        *locked,
                        format!("key vault `{}`: {label}", t.display),
                    );
                }
                d.rule = "APIM004";
                d.message.push_str(&u.qualifier);
                d.resource = Some(u.holder.clone());
                added[file].push((d, pointer.clone()));
            }
            let needs = u.hostname
                || u.sight
                    .as_ref()
                    .is_some_and(|s| gateway_line_of_sight(s, Some(t)) == Tri::No);
            if !needs {
                continue;
            }
            let reads_here = format!(
                "API Management service `{}` reads {} here",
                u.service, u.what
            );
            match (&t.access.admits, &t.locked_at) {
                (Tri::Yes, _) => {
                    keeps
                        .entry((target_file, target_index))
                        .or_default()
                        .push(format!(
                            "API Management service `{}` reads {} (in `{}`)",
                            u.service,
                            u.what,
                            crate::paths::display_path(&report.path)
                        ))
                }
                (Tri::No, Some((locked, label))) => {
                    let mut d = control_plane_blocked(
                        &t.display,
                        &u.service,
                        &u.what,
                        u.hostname,
                        t.access.span,
                    )
                    .with_related(*locked, label.clone());
                    if let Some(source) = &report.source {
                        d = d.with_related_in(source.clone(), u.span, reads_here);
                    }
                    d.rule = "APIM006";
                    d.resource = Some(t.holder.clone());
                    added[target_file].push((d, t.pointer.clone()));
                }
                _ => {}
            }
        }
    }
    control
}

/// ADF004 across files: a linked service on a managed virtual network runtime whose
/// locked-down Storage account or vault, in another file, has no managed private
/// endpoint in that network.
fn managed_networks(
    reports: &[FileReport],
    index: &TargetIndex,
    added: &mut [Vec<(Diagnostic, String)>],
) {
    use crate::rules::data_factory::adf_managed_vnet_without_private_endpoint::no_private_endpoint;
    for (file, report) in reports.iter().enumerate() {
        let Some(facts) = report.facts.as_deref() else {
            continue;
        };
        for link in &facts.managed_links {
            let Some((target_file, target_index)) =
                index.find_named(&link.target_kinds, &link.target)
            else {
                continue;
            };
            let holder = &reports[target_file];
            let Some(t) = holder.facts.as_deref().map(|f| &f.targets[target_index]) else {
                continue;
            };
            let covered = link
                .private_endpoint_targets
                .iter()
                .any(|(ty, name)| eq_ci(ty, t.kind) && Some(name) == t.name.as_ref());
            if t.access.locked != Tri::Yes || covered {
                continue;
            }
            let kind = noun(t.kind);
            let mut d = no_private_endpoint(
                &link.linked_service,
                &link.runtime,
                &link.network,
                kind,
                &t.display,
                link.span,
            );
            if let (Some(source), Some((locked, label))) = (&holder.source, &t.locked_at) {
                d = d.with_related_in(
                    source.clone(),
                    *locked,
                    format!("{kind} `{}`: {label}", t.display),
                );
            }
            if let Some(span) = link.runtime_span {
                d = d.with_related(
                    span,
                    "integration runtime bound to the managed virtual network",
                );
            }
            d.rule = "ADF004";
            d.message.push_str(&link.qualifier);
            d.resource = Some(link.holder.clone());
            added[file].push((d, link.pointer.clone()));
        }
    }
}

/// What the inventory says of a control-plane read of a vault.
fn control_verdict(u: &ControlUse, t: &TargetFact) -> String {
    if u.identity.is_some() && t.locked_at.is_some() {
        return "fails: a user-assigned identity is not admitted through the vault's firewall"
            .to_owned();
    }
    let needs = u.hostname
        || u.sight
            .as_ref()
            .is_some_and(|s| gateway_line_of_sight(s, Some(t)) == Tri::No);
    match (&t.access.admits, &t.locked_at, needs) {
        (_, _, false) => "not affected: network line of sight".to_owned(),
        (Tri::Yes, _, true) => {
            "keep the bypass: the control plane reads this vault through the trusted path"
                .to_owned()
        }
        (Tri::No, Some(_), true) => {
            "fails: the vault's bypass is off and the control plane needs it".to_owned()
        }
        (Tri::No, None, true) => "not affected: the vault is not locked down".to_owned(),
        (Tri::Unknown(reason), _, true) => {
            format!("undecided: the vault's firewall is not known ({reason})")
        }
    }
}

/// Turns a target's finding into the note that says to keep its bypass, for the
/// control-plane reads in other files (`keeps`).
fn keep_in_targets(reports: &mut [FileReport], keeps: &HashMap<(usize, usize), Vec<String>>) {
    let mut keys: Vec<&(usize, usize)> = keeps.keys().collect();
    keys.sort_unstable();
    for &(target_file, target_index) in keys {
        let Some(t) = reports[target_file]
            .facts
            .as_deref()
            .map(|f| f.targets[target_index].clone())
        else {
            continue;
        };
        let Some(rule) = t.rule else { continue };
        let why = keeps[&(target_file, target_index)].join("; ");
        let keep = crate::rules::common::keep_bypass(noun(t.kind), &t.display, &why, t.access.span);
        if let Some(d) = reports[target_file]
            .diagnostics
            .iter_mut()
            .find(|d| d.rule == rule && d.span == t.access.span && d.level > Level::Note)
        {
            let mut message = keep.message;
            crate::diagnostic::escape_in_place(&mut message);
            d.message = message;
            d.label = keep.label;
            d.help = keep.help;
            d.level = Level::Note;
        }
    }
}

/// Names the callers in other files in each target's own finding, with a related span
/// at each call.
fn name_callers_in_targets(
    reports: &mut [FileReport],
    relied_on: &HashMap<(usize, usize), Vec<(usize, usize)>>,
) {
    let mut keys: Vec<&(usize, usize)> = relied_on.keys().collect();
    keys.sort_unstable();
    for &(target_file, target_index) in keys {
        let callers = &relied_on[&(target_file, target_index)];
        let (who, related): (Vec<String>, Vec<Related>) = callers
            .iter()
            .filter_map(|&(file, call)| {
                let report = &reports[file];
                let c = &report.facts.as_deref()?.calls[call];
                let who = format!(
                    "{} ({}, in `{}`)",
                    caller_phrase(c),
                    c.how,
                    crate::paths::display_path(&report.path)
                );
                let related = Related {
                    span: c.span,
                    label: format!("{} calls it here", caller_phrase(c)),
                    file: report.source.clone(),
                };
                Some((who, related))
            })
            .unzip();
        let Some(facts) = reports[target_file].facts.as_deref() else {
            continue;
        };
        let target = &facts.targets[target_index];
        let (Some(rule), span) = (target.rule, target.access.span) else {
            continue;
        };
        let suffix = match who.as_slice() {
            [] => continue,
            [one] => format!("; {one} relies on it"),
            [first, rest @ ..] => format!(
                "; {first} and {} more caller(s) in other files rely on it",
                rest.len()
            ),
        };
        let report = &mut reports[target_file];
        if let Some(d) = report
            .diagnostics
            .iter_mut()
            .find(|d| d.rule == rule && d.span == span && d.level > Level::Note)
        {
            // The finding was escaped already: escape what is added (names from files).
            let mut suffix = suffix;
            crate::diagnostic::escape_in_place(&mut suffix);
            d.message.push_str(&suffix);
            d.related.extend(related.into_iter().map(|mut r| {
                crate::diagnostic::escape_in_place(&mut r.label);
                r
            }));
        }
    }
}

/// "API Management service `apim`", "Data Factory `adf`".
fn caller_phrase(call: &CallFact) -> String {
    match call.kind {
        CallerKind::ApimGateway => format!("API Management service `{}`", call.caller),
        _ => format!("Data Factory `{}`", call.caller),
    }
}

impl crate::config::EstateTargets {
    /// Whether `name` (lowercase) is declared: `Some(true)` locked down with the
    /// trusted bypass, `Some(false)` open.
    pub fn declares(&self, name: &str) -> Option<bool> {
        if self.trusted_bypass.iter().any(|n| n == name) {
            Some(true)
        } else if self.open.iter().any(|n| n == name) {
            Some(false)
        } else {
            None
        }
    }
}
