//! The CIDR template functions: `parseCidr`, `cidrSubnet`, `cidrHost`, for IPv4 and
//! IPv6, as ARM's CIDR functions page documents them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network: its first address as a number, the prefix length and the address width.
struct Network {
    address: u128,
    prefix: u32,
    bits: u32,
}

impl Network {
    fn parse(s: &str) -> Result<Network, String> {
        let bad = || format!("`{s}` is not a network in CIDR notation");
        let (ip, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
        let (address, bits) = match ip.parse::<IpAddr>().map_err(|_| bad())? {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        };
        let prefix: u32 = prefix.parse().map_err(|_| bad())?;
        if prefix > bits {
            return Err(bad());
        }
        let network = Network {
            address: 0,
            prefix,
            bits,
        };
        Ok(Network {
            address: address & network.mask(),
            ..network
        })
    }

    fn mask(&self) -> u128 {
        let all = if self.bits == 128 {
            u128::MAX
        } else {
            (1u128 << self.bits) - 1
        };
        let host = self.host_count_minus_one();
        all & !host
    }

    /// The number of addresses in the network, less one (fits even for a /0 of IPv6).
    fn host_count_minus_one(&self) -> u128 {
        match self.bits - self.prefix {
            128 => u128::MAX,
            n => (1u128 << n) - 1,
        }
    }

    fn last(&self) -> u128 {
        self.address | self.host_count_minus_one()
    }

    fn show(&self, address: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(address as u32).to_string()
        } else {
            Ipv6Addr::from(address).to_string()
        }
    }
}

/// `parseCidr(network)`: the entries ARM returns, in its order.
pub fn parse_cidr(s: &str) -> Result<Vec<(&'static str, Field)>, String> {
    let n = Network::parse(s)?;
    let v4 = n.bits == 32;
    if v4 && n.prefix >= 31 {
        return Err(format!(
            "trustlint does not evaluate `parseCidr` of a /{} network",
            n.prefix
        ));
    }
    let mut out = vec![
        ("network", Field::Text(n.show(n.address))),
        ("netmask", Field::Text(n.show(n.mask()))),
    ];
    if v4 {
        out.push(("broadcast", Field::Text(n.show(n.last()))));
        out.push(("firstUsable", Field::Text(n.show(n.address + 1))));
        out.push(("lastUsable", Field::Text(n.show(n.last() - 1))));
    } else {
        // IPv6 has no broadcast address: every address of the range is usable.
        out.push(("firstUsable", Field::Text(n.show(n.address))));
        out.push(("lastUsable", Field::Text(n.show(n.last()))));
    }
    out.push(("cidr", Field::Int(i64::from(n.prefix))));
    Ok(out)
}

/// One entry of `parseCidr`'s object.
pub enum Field {
    Text(String),
    Int(i64),
}

/// `cidrSubnet(network, newCIDR, subnetIndex)`.
pub fn cidr_subnet(s: &str, new_prefix: i64, index: i64) -> Result<String, String> {
    let n = Network::parse(s)?;
    let new_prefix = u32::try_from(new_prefix)
        .ok()
        .filter(|p| (n.prefix..=n.bits).contains(p))
        .ok_or_else(|| format!("the new prefix /{new_prefix} does not fit in `{s}`"))?;
    let count_bits = new_prefix - n.prefix;
    let index = u128::try_from(index)
        .ok()
        .filter(|i| count_bits >= 128 || *i < (1u128 << count_bits))
        .ok_or_else(|| format!("`{s}` has no /{new_prefix} subnet number {index}"))?;
    let shift = n.bits - new_prefix;
    let offset = if shift >= 128 { 0 } else { index << shift };
    Ok(format!("{}/{new_prefix}", n.show(n.address | offset)))
}

/// `cidrHost(network, hostIndex)`: the usable address number `index` (counted from 0,
/// after the network's own address).
pub fn cidr_host(s: &str, index: i64) -> Result<String, String> {
    let n = Network::parse(s)?;
    let index = u128::try_from(index).map_err(|_| format!("host index {index} is negative"))?;
    // IPv4 keeps the last address for broadcast.
    let usable = n
        .host_count_minus_one()
        .saturating_sub(u128::from(n.bits == 32));
    if index >= usable {
        return Err(format!("`{s}` has no usable host number {index}"));
    }
    Ok(n.show(n.address + 1 + index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        parse_cidr(s)
            .unwrap()
            .into_iter()
            .map(|(k, v)| match v {
                Field::Text(t) => format!("{k}={t}"),
                Field::Int(i) => format!("{k}={i}"),
            })
            .collect()
    }

    #[test]
    fn the_documented_examples() {
        assert_eq!(
            texts("10.144.0.0/20"),
            [
                "network=10.144.0.0",
                "netmask=255.255.240.0",
                "broadcast=10.144.15.255",
                "firstUsable=10.144.0.1",
                "lastUsable=10.144.15.254",
                "cidr=20"
            ]
        );
        assert_eq!(
            texts("fdad:3236:5555::/48"),
            [
                "network=fdad:3236:5555::",
                "netmask=ffff:ffff:ffff::",
                "firstUsable=fdad:3236:5555::",
                "lastUsable=fdad:3236:5555:ffff:ffff:ffff:ffff:ffff",
                "cidr=48"
            ]
        );
        assert_eq!(
            cidr_subnet("10.144.0.0/20", 24, 4).unwrap(),
            "10.144.4.0/24"
        );
        assert_eq!(
            cidr_subnet("fdad:3236:5555::/48", 52, 1).unwrap(),
            "fdad:3236:5555:1000::/52"
        );
        assert_eq!(cidr_host("10.144.3.0/24", 4).unwrap(), "10.144.3.5");
        assert_eq!(
            cidr_host("fdad:3236:5555:3000::/52", 0).unwrap(),
            "fdad:3236:5555:3000::1"
        );
        assert!(
            cidr_host("10.0.0.0/24", 254).is_err(),
            "that is the broadcast address"
        );
        assert!(cidr_subnet("10.0.0.0/24", 16, 0).is_err());
        assert!(cidr_subnet("10.0.0.0/24", 26, 4).is_err());
        assert!(cidr_subnet("::/0", 128, i64::MAX).is_ok());
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("::/0").is_ok());
    }
}
