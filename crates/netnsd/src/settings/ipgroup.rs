//! A profile's `[ipv4]` and `[ipv6]` groups read as NetworkManager's
//! keyfile plugin reads them: addresses (`address`, `addresses`,
//! `addressN`, `addressesN`: `ADDR[/PREFIX][,GATEWAY]`), routes (`route`,
//! `routes`, `routeN`, `routesN`: `DEST[/PREFIX][,NEXT-HOP[,METRIC]]`),
//! `dns` (also in the `ADDR#SERVER-NAME` form of DNS over TLS),
//! `dns-search` (where `~` alone, written by NetworkManager's WireGuard
//! importer, is no domain, and `~DOMAIN` is a routing domain),
//! `never-default`, `ignore-auto-routes`, `ignore-auto-dns` and
//! `route-metric`.

use std::net::IpAddr;

use netnsd_api::{Cidr, Error, Family};

use super::{Profile, Value};

/// One route of `routeN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRoute {
    pub destination: Cidr,
    pub next_hop: Option<IpAddr>,
    pub metric: Option<u32>,
}

/// What one `[ipv4]` or `[ipv6]` group says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpGroup {
    pub addresses: Vec<Cidr>,
    pub routes: Vec<IpRoute>,
    pub dns: Vec<IpAddr>,
    pub search: Vec<String>,
    pub never_default: bool,
    pub ignore_auto_routes: bool,
    pub ignore_auto_dns: bool,
    /// route-metric; -1 (NetworkManager's "default") is None.
    pub route_metric: Option<u32>,
}

fn bad(group: &str, key: &str, problem: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{group}.{key}: {problem}"))
}

/// The items of a value: a list's, or a string's split at ';'.
fn items(v: &Value) -> Vec<String> {
    let all: Vec<String> = match v {
        Value::StrList(l) => l.clone(),
        Value::Str(s) => s.split(';').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    all.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The number after `base` in a key (`address12` → 12; `address` → 0),
/// for the forms `base`, `plural`, `baseN` and `pluralN`.
fn numbered(key: &str, base: &str, plural: &str) -> Option<u32> {
    let rest = key
        .strip_prefix(plural)
        .or_else(|| key.strip_prefix(base))?;
    if rest.is_empty() {
        return Some(0);
    }
    if rest.starts_with('0') || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

fn ip_of(family: Family, group: &str, key: &str, s: &str) -> Result<IpAddr, Error> {
    let ip: IpAddr = s
        .parse()
        .map_err(|_| bad(group, key, format!("{s:?} is not an IP address")))?;
    if Family::of(&ip) != family {
        return Err(bad(
            group,
            key,
            format!("{s:?} is not an {} address", family_word(family)),
        ));
    }
    Ok(ip)
}

fn family_word(f: Family) -> &'static str {
    match f {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    }
}

fn cidr_of(family: Family, group: &str, key: &str, s: &str) -> Result<Cidr, Error> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = ip_of(family, group, key, addr.trim())?;
    let prefix = match prefix {
        None => family.max_prefix(),
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= family.max_prefix())
            .ok_or_else(|| bad(group, key, format!("{p:?} is not a prefix length")))?,
    };
    Ok(Cidr { addr, prefix })
}

/// A DNS server as NetworkManager writes it: `ADDR` or `ADDR#SERVER-NAME`
/// (DNS over TLS; the name is not used here).
pub fn dns_server(s: &str) -> Option<IpAddr> {
    let addr = s.split('#').next().unwrap_or_default().trim();
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    addr.parse().ok()
}

/// A dns-search entry as a domain: `~` alone is none (it makes the
/// connection's DNS the default for every name), `~DOMAIN` is DOMAIN.
pub fn search_domain(s: &str) -> Option<&str> {
    let d = s.trim();
    let d = d.strip_prefix('~').unwrap_or(d).trim_end_matches('.');
    (!d.is_empty()).then_some(d)
}

fn flag(p: &Profile, group: &str, key: &str) -> bool {
    match p.get(group, key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Str(s)) => matches!(s.as_str(), "true" | "yes" | "1"),
        _ => false,
    }
}

impl IpGroup {
    /// The `ipv4` or `ipv6` group of a profile (empty if it has none).
    pub fn of(p: &Profile, family: Family) -> Result<IpGroup, Error> {
        let group = match family {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        };
        let mut g = IpGroup::default();
        let Some(keys) = p.settings().get(group) else {
            return Ok(g);
        };
        let mut addrs: Vec<(u32, usize, Cidr)> = Vec::new();
        let mut routes: Vec<(u32, usize, IpRoute)> = Vec::new();
        for (key, v) in keys {
            if let Some(n) = numbered(key, "address", "addresses") {
                for (i, item) in items(v).iter().enumerate() {
                    let a = item.split(',').next().unwrap_or_default();
                    addrs.push((n, i, cidr_of(family, group, key, a)?));
                }
            } else if let Some(n) = numbered(key, "route", "routes") {
                for (i, item) in items(v).iter().enumerate() {
                    let mut parts = item.split(',').map(str::trim);
                    let destination =
                        cidr_of(family, group, key, parts.next().unwrap_or_default())?.network();
                    let next_hop = match parts.next().filter(|h| !h.is_empty()) {
                        None => None,
                        Some(h) => {
                            let ip = ip_of(family, group, key, h)?;
                            (!ip.is_unspecified()).then_some(ip)
                        }
                    };
                    let metric = match parts.next().filter(|m| !m.is_empty()) {
                        None => None,
                        Some(m) => Some(m.parse::<u32>().map_err(|_| {
                            bad(group, key, format!("metric {m:?} is not a number"))
                        })?),
                    };
                    routes.push((
                        n,
                        i,
                        IpRoute {
                            destination,
                            next_hop,
                            metric,
                        },
                    ));
                }
            }
        }
        addrs.sort_by_key(|(n, i, _)| (*n, *i));
        routes.sort_by_key(|(n, i, _)| (*n, *i));
        g.addresses = addrs.into_iter().map(|(_, _, a)| a).collect();
        g.routes = routes.into_iter().map(|(_, _, r)| r).collect();
        if let Some(v) = keys.get("dns") {
            for d in items(v) {
                let ip = dns_server(&d)
                    .ok_or_else(|| bad(group, "dns", format!("{d:?} is not an IP address")))?;
                if !g.dns.contains(&ip) {
                    g.dns.push(ip);
                }
            }
        }
        if let Some(v) = keys.get("dns-search") {
            for d in items(v) {
                if let Some(d) = search_domain(&d)
                    && !g.search.iter().any(|x| x == d)
                {
                    crate::dns::check_search(d)
                        .map_err(|e| bad(group, "dns-search", format!("{d:?}: {e}")))?;
                    g.search.push(d.to_string());
                }
            }
        }
        g.never_default = flag(p, group, "never-default");
        g.ignore_auto_routes = flag(p, group, "ignore-auto-routes");
        g.ignore_auto_dns = flag(p, group, "ignore-auto-dns");
        g.route_metric = match p.get(group, "route-metric") {
            Some(Value::I64(m)) => u32::try_from(*m).ok(),
            Some(Value::I32(m)) => u32::try_from(*m).ok(),
            Some(Value::U32(m)) => Some(*m),
            Some(Value::Str(s)) => s
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|m| u32::try_from(m).ok()),
            _ => None,
        };
        Ok(g)
    }
}
