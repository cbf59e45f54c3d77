//! Network security group evaluation: the user's rules plus the platform's default
//! rules, in priority order; the first rule that matches the traffic decides.

use crate::source::Span;
use crate::template::{eq_ci, same_region, Template, ValueRef};

const SECURITY_RULE: &str = "Microsoft.Network/networkSecurityGroups/securityRules";
const NSG: &str = "Microsoft.Network/networkSecurityGroups";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Traffic the service needs: TCP on `port` between its subnet (`VirtualNetwork`) and
/// the service tag `remote` (the source of inbound traffic, the destination of
/// outbound traffic).
#[derive(Debug, Clone, Copy)]
pub struct Requirement {
    pub direction: Direction,
    pub port: u16,
    pub remote: &'static str,
    pub purpose: &'static str,
    /// Client traffic: the owner chooses its sources (see [`narrower_client_allow`]).
    pub clients: bool,
}

impl Requirement {
    /// "inbound TCP 3443 from `ApiManagement`".
    pub fn describe(&self) -> String {
        match self.direction {
            Direction::Inbound => format!(
                "inbound TCP {} from `{}` to `VirtualNetwork`",
                self.port, self.remote
            ),
            Direction::Outbound => format!(
                "outbound TCP {} from `VirtualNetwork` to `{}`",
                self.port, self.remote
            ),
        }
    }
}

/// One security rule, as the evaluation needs it. A field that could not be
/// evaluated offline is `None`.
#[derive(Debug, Clone)]
pub struct SecurityRule {
    pub name: String,
    pub priority: Option<i64>,
    pub direction: Option<Direction>,
    pub allow: Option<bool>,
    pub protocol: Option<String>,
    pub sources: Option<Vec<String>>,
    pub destinations: Option<Vec<String>>,
    pub source_ports: Option<Vec<String>>,
    pub destination_ports: Option<Vec<String>>,
    /// Where the rule is written; `None` for the platform's default rules.
    pub span: Option<Span>,
}

impl SecurityRule {
    /// For messages: "`deny-internet` (priority 999)" or "the default rule `DenyAllOutBound` (65500)".
    pub fn describe(&self) -> String {
        let priority = self.priority.map_or("?".to_owned(), |p| p.to_string());
        if self.span.is_none() {
            format!("the default rule `{}` ({priority})", self.name)
        } else {
            format!("`{}` (priority {priority})", self.name)
        }
    }
}

/// The platform's default rules, which every NSG has after its own.
pub fn default_rules() -> Vec<SecurityRule> {
    let rule =
        |name: &str, priority, direction, allow, source: &str, destination: &str| SecurityRule {
            name: name.to_owned(),
            priority: Some(priority),
            direction: Some(direction),
            allow: Some(allow),
            protocol: Some("*".to_owned()),
            sources: Some(vec![source.to_owned()]),
            destinations: Some(vec![destination.to_owned()]),
            source_ports: Some(vec!["*".to_owned()]),
            destination_ports: Some(vec!["*".to_owned()]),
            span: None,
        };
    use Direction::{Inbound, Outbound};
    vec![
        rule(
            "AllowVNetInBound",
            65000,
            Inbound,
            true,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        rule(
            "AllowAzureLoadBalancerInBound",
            65001,
            Inbound,
            true,
            "AzureLoadBalancer",
            "*",
        ),
        rule("DenyAllInBound", 65500, Inbound, false, "*", "*"),
        rule(
            "AllowVnetOutBound",
            65000,
            Outbound,
            true,
            "VirtualNetwork",
            "VirtualNetwork",
        ),
        rule(
            "AllowInternetOutBound",
            65001,
            Outbound,
            true,
            "*",
            "Internet",
        ),
        rule("DenyAllOutBound", 65500, Outbound, false, "*", "*"),
    ]
}

/// A single value or a list (`xPrefix` / `xPrefixes`), as strings; `None` if unknown.
fn one_or_many(properties: &ValueRef<'_>, single: &str, plural: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    if let Some(v) = properties.get(single) {
        out.push(v.as_str()?.to_owned());
    }
    if let Some(list) = properties.get(plural) {
        for item in list.elements()? {
            out.push(item.as_str()?.to_owned());
        }
    }
    Some(out)
}

fn parse_rule(name: String, properties: &ValueRef<'_>, span: Span) -> SecurityRule {
    let text = |key: &str| {
        properties
            .get(key)
            .and_then(|v| v.as_str().map(str::to_owned))
    };
    SecurityRule {
        name,
        priority: properties
            .get("priority")
            .and_then(|p| match p.value().kind {
                crate::template::Kind::Int(i) => Some(i),
                _ => p.as_str().and_then(|s| s.parse().ok()),
            }),
        direction: text("direction").and_then(|d| {
            if eq_ci(&d, "Inbound") {
                Some(Direction::Inbound)
            } else if eq_ci(&d, "Outbound") {
                Some(Direction::Outbound)
            } else {
                None
            }
        }),
        allow: text("access").map(|a| eq_ci(&a, "Allow")),
        protocol: text("protocol"),
        sources: one_or_many(properties, "sourceAddressPrefix", "sourceAddressPrefixes"),
        destinations: one_or_many(
            properties,
            "destinationAddressPrefix",
            "destinationAddressPrefixes",
        ),
        source_ports: one_or_many(properties, "sourcePortRange", "sourcePortRanges"),
        destination_ports: one_or_many(properties, "destinationPortRange", "destinationPortRanges"),
        span: Some(span),
    }
}

/// The NSG's own rules: `properties.securityRules` and `securityRules` child resources.
pub fn user_rules(template: &Template<'_>, nsg: usize) -> Vec<SecurityRule> {
    let resource = &template.resources[nsg];
    let mut rules: Vec<SecurityRule> = resource
        .path("properties.securityRules")
        .and_then(|r| r.elements())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            let name = entry
                .get("name")
                .map(|n| n.name_for_display())
                .unwrap_or_default();
            let properties = entry.get("properties")?;
            Some(parse_rule(name, &properties, entry.span()))
        })
        .collect();
    for (_, child) in template.of_type(SECURITY_RULE) {
        if template.owner_of(child, NSG) != Some(nsg) {
            continue;
        }
        if let Some(properties) = child.get("properties") {
            rules.push(parse_rule(child.short_name(), &properties, child.span()));
        }
    }
    rules
}

/// The decision for one requirement.
#[derive(Debug)]
pub enum Verdict<'r> {
    Allowed(&'r SecurityRule),
    Denied(&'r SecurityRule),
    /// A rule before the decision could not be evaluated offline.
    Unknown(&'r SecurityRule),
}

/// Does a port list contain `port`?
fn ports_match(ports: &[String], port: u16) -> bool {
    ports.iter().any(|p| {
        let p = p.trim();
        if p == "*" {
            return true;
        }
        match p.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                (Ok(a), Ok(b)) => a <= u32::from(port) && u32::from(port) <= b,
                _ => false,
            },
            None => p.parse::<u32>().is_ok_and(|n| n == u32::from(port)),
        }
    })
}

fn covers_all_ports(ports: &[String]) -> bool {
    ports
        .iter()
        .any(|p| p.trim() == "*" || p.trim() == "0-65535")
}

/// Does an address prefix cover the remote end, the service tag `tag`? `Internet`
/// covers Azure's public service tags; a regional tag (`Storage.WestEurope`) covers the
/// tag in that region (any region when the service's region is not known).
fn remote_matches(prefix: &str, tag: &str, region: Option<&str>) -> bool {
    let p = prefix.trim();
    if p == "*" || p == "0.0.0.0/0" || eq_ci(p, tag) {
        return true;
    }
    if eq_ci(p, "Internet") {
        return !eq_ci(tag, "AzureLoadBalancer");
    }
    match p.split_once('.') {
        Some((base, suffix)) if eq_ci(base, tag) && !suffix.chars().all(|c| c.is_ascii_digit()) => {
            region.is_none_or(|r| same_region(r, suffix))
        }
        _ => false,
    }
}

/// Does an address prefix cover the service's subnet (`VirtualNetwork`)? An address
/// range counts when it contains the subnet's range, or when that range is not known.
fn local_matches(prefix: &str, subnet_range: Option<&str>) -> bool {
    let p = prefix.trim();
    if p == "*" || eq_ci(p, "VirtualNetwork") {
        return true;
    }
    match (parse_cidr(p), subnet_range.and_then(parse_cidr)) {
        (Some(rule), Some(subnet)) => cidr_contains(rule, subnet),
        (Some(_), None) => true,
        _ => false,
    }
}

fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (addr, len) = s.split_once('/').unwrap_or((s, "32"));
    let octets: Vec<u8> = addr
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    if octets.len() != 4 {
        return None;
    }
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((
        u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]]),
        len,
    ))
}

fn cidr_contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    if inner.1 < outer.1 {
        return false;
    }
    let mask = if outer.1 == 0 {
        0
    } else {
        u32::MAX << (32 - outer.1)
    };
    (outer.0 & mask) == (inner.0 & mask)
}

/// For client traffic, whose sources the owner chooses: the first user rule, before
/// `before` in priority order, that allows the requirement's port from a narrower public
/// source than `Internet` — a service tag such as `AzureFrontDoor.Backend`, or address
/// ranges — to the subnet. Such a rule restricts who the clients are (a Front Door
/// as the only client) rather than breaking the service.
pub fn narrower_client_allow<'r>(
    rules: &'r [SecurityRule],
    requirement: &Requirement,
    subnet_range: Option<&str>,
    before: Option<i64>,
) -> Option<&'r SecurityRule> {
    let broad = |p: &str| {
        let p = p.trim();
        p == "*"
            || ["Internet", "VirtualNetwork", "AzureLoadBalancer"]
                .iter()
                .any(|t| eq_ci(p, t))
    };
    rules
        .iter()
        .filter(|r| r.span.is_some() && r.priority.is_some())
        .filter(|r| before.is_none_or(|b| r.priority.is_some_and(|p| p < b)))
        .find(|r| {
            r.direction == Some(requirement.direction)
                && r.allow == Some(true)
                && r.protocol
                    .as_deref()
                    .is_some_and(|p| p == "*" || eq_ci(p, "Tcp"))
                && r.destination_ports
                    .as_deref()
                    .is_some_and(|ports| ports_match(ports, requirement.port))
                && r.source_ports.as_deref().is_some_and(covers_all_ports)
                && r.destinations
                    .as_deref()
                    .is_some_and(|d| d.iter().any(|p| local_matches(p, subnet_range)))
                && r.sources
                    .as_deref()
                    .is_some_and(|s| !s.is_empty() && s.iter().all(|p| !broad(p)))
        })
}

/// Evaluates a requirement against the rules (the user's and the defaults), in
/// priority order. `region` is the service's region, for regional service tags.
pub fn evaluate<'r>(
    rules: &'r [SecurityRule],
    requirement: &Requirement,
    region: Option<&str>,
    subnet_range: Option<&str>,
) -> Verdict<'r> {
    let mut ordered: Vec<&SecurityRule> = rules.iter().collect();
    // Unknown priorities sort first: they might come before anything else.
    ordered.sort_by_key(|r| r.priority.unwrap_or(i64::MIN));
    for rule in ordered {
        let (
            Some(direction),
            Some(allow),
            Some(protocol),
            Some(sources),
            Some(destinations),
            Some(source_ports),
            Some(ports),
        ) = (
            rule.direction,
            rule.allow,
            rule.protocol.as_deref(),
            rule.sources.as_deref(),
            rule.destinations.as_deref(),
            rule.source_ports.as_deref(),
            rule.destination_ports.as_deref(),
        )
        else {
            return Verdict::Unknown(rule);
        };
        if rule.priority.is_none() {
            return Verdict::Unknown(rule);
        }
        if direction != requirement.direction {
            continue;
        }
        if !(protocol == "*" || eq_ci(protocol, "Tcp")) {
            continue;
        }
        if !ports_match(ports, requirement.port) || !covers_all_ports(source_ports) {
            continue;
        }
        let (remote_side, local_side) = match requirement.direction {
            Direction::Inbound => (sources, destinations),
            Direction::Outbound => (destinations, sources),
        };
        let remote = remote_side
            .iter()
            .any(|p| remote_matches(p, requirement.remote, region));
        let local = local_side.iter().any(|p| local_matches(p, subnet_range));
        if remote && local {
            return if allow {
                Verdict::Allowed(rule)
            } else {
                Verdict::Denied(rule)
            };
        }
    }
    unreachable!("the default Deny rules match all traffic")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(
        name: &str,
        priority: i64,
        direction: Direction,
        allow: bool,
        source: &str,
        destination: &str,
        ports: &[&str],
    ) -> SecurityRule {
        SecurityRule {
            name: name.to_owned(),
            priority: Some(priority),
            direction: Some(direction),
            allow: Some(allow),
            protocol: Some("Tcp".to_owned()),
            sources: Some(vec![source.to_owned()]),
            destinations: Some(vec![destination.to_owned()]),
            source_ports: Some(vec!["*".to_owned()]),
            destination_ports: Some(ports.iter().map(|p| p.to_string()).collect()),
            span: Some(Span::default()),
        }
    }

    fn with_defaults(mut rules: Vec<SecurityRule>) -> Vec<SecurityRule> {
        rules.extend(default_rules());
        rules
    }

    const STORAGE: Requirement = Requirement {
        direction: Direction::Outbound,
        port: 443,
        remote: "Storage",
        purpose: "",
        clients: false,
    };
    const MANAGEMENT: Requirement = Requirement {
        direction: Direction::Inbound,
        port: 3443,
        remote: "ApiManagement",
        purpose: "",
        clients: false,
    };

    fn decided_by(verdict: Verdict<'_>) -> (bool, String) {
        match verdict {
            Verdict::Allowed(r) => (true, r.name.clone()),
            Verdict::Denied(r) => (false, r.name.clone()),
            Verdict::Unknown(r) => panic!("unknown at {}", r.name),
        }
    }

    #[test]
    fn default_rules_allow_outbound_internet_and_deny_inbound() {
        let rules = with_defaults(vec![]);
        assert_eq!(
            decided_by(evaluate(&rules, &STORAGE, None, None)),
            (true, "AllowInternetOutBound".into())
        );
        assert_eq!(
            decided_by(evaluate(&rules, &MANAGEMENT, None, None)),
            (false, "DenyAllInBound".into())
        );
    }

    #[test]
    fn the_first_matching_rule_by_priority_decides() {
        let rules = with_defaults(vec![
            user(
                "deny-internet",
                999,
                Direction::Outbound,
                false,
                "*",
                "Internet",
                &["*"],
            ),
            user(
                "allow-storage",
                1000,
                Direction::Outbound,
                true,
                "VirtualNetwork",
                "Storage",
                &["443"],
            ),
        ]);
        assert_eq!(
            decided_by(evaluate(&rules, &STORAGE, None, None)),
            (false, "deny-internet".into())
        );
        let rules = with_defaults(vec![
            user(
                "allow-storage",
                900,
                Direction::Outbound,
                true,
                "VirtualNetwork",
                "Storage",
                &["443"],
            ),
            user(
                "deny-internet",
                999,
                Direction::Outbound,
                false,
                "*",
                "Internet",
                &["*"],
            ),
        ]);
        assert_eq!(
            decided_by(evaluate(&rules, &STORAGE, None, None)),
            (true, "allow-storage".into())
        );
    }

    #[test]
    fn port_ranges_and_lists() {
        let rules = with_defaults(vec![user(
            "mgmt",
            100,
            Direction::Inbound,
            true,
            "ApiManagement",
            "VirtualNetwork",
            &["80", "3000-3500"],
        )]);
        assert_eq!(
            decided_by(evaluate(&rules, &MANAGEMENT, None, None)),
            (true, "mgmt".into())
        );
        let rules = with_defaults(vec![user(
            "mgmt",
            100,
            Direction::Inbound,
            true,
            "ApiManagement",
            "VirtualNetwork",
            &["3444-3500"],
        )]);
        assert!(!decided_by(evaluate(&rules, &MANAGEMENT, None, None)).0);
        let rules = with_defaults(vec![user(
            "any",
            100,
            Direction::Inbound,
            true,
            "*",
            "*",
            &["*"],
        )]);
        assert_eq!(
            decided_by(evaluate(&rules, &MANAGEMENT, None, None)),
            (true, "any".into())
        );
    }

    #[test]
    fn regional_tags_match_the_services_region() {
        let rules = with_defaults(vec![
            user(
                "deny-all-out",
                4000,
                Direction::Outbound,
                false,
                "*",
                "*",
                &["*"],
            ),
            user(
                "storage-we",
                100,
                Direction::Outbound,
                true,
                "VirtualNetwork",
                "Storage.WestEurope",
                &["443"],
            ),
        ]);
        assert!(decided_by(evaluate(&rules, &STORAGE, Some("westeurope"), None)).0);
        assert!(!decided_by(evaluate(&rules, &STORAGE, Some("northeurope"), None)).0);
        assert!(decided_by(evaluate(&rules, &STORAGE, None, None)).0);
    }

    #[test]
    fn address_ranges_on_the_subnet_side() {
        let rules = with_defaults(vec![user(
            "mgmt",
            100,
            Direction::Inbound,
            true,
            "ApiManagement",
            "10.0.1.0/24",
            &["3443"],
        )]);
        assert!(decided_by(evaluate(&rules, &MANAGEMENT, None, Some("10.0.1.0/24"))).0);
        assert!(!decided_by(evaluate(&rules, &MANAGEMENT, None, Some("10.0.2.0/24"))).0);
        assert!(decided_by(evaluate(&rules, &MANAGEMENT, None, None)).0);
    }

    #[test]
    fn an_unknown_rule_before_the_decision_makes_it_unknown() {
        let mut unknown = user(
            "from-param",
            100,
            Direction::Outbound,
            false,
            "*",
            "*",
            &["*"],
        );
        unknown.destinations = None;
        let rules = with_defaults(vec![unknown]);
        assert!(matches!(
            evaluate(&rules, &STORAGE, None, None),
            Verdict::Unknown(_)
        ));
    }
}
