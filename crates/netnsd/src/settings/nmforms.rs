//! The `a{sa{sv}}` forms NetworkManager's clients send and expect, for
//! what a keyfile writes otherwise:
//!
//! | on the bus | stored (keyfile) |
//! |---|---|
//! | `ipvN.address-data` aa{sv} (`address` s, `prefix` u) | `addressN=ADDR/PREFIX` |
//! | `ipvN.route-data` aa{sv} (`dest` s, `prefix` u, `next-hop` s, `metric` u) | `routeN=DEST/PREFIX,NEXT-HOP[,METRIC]` |
//! | `ipv4.addresses`, `ipv4.routes` aau (the deprecated forms, used only without the -data ones) | the same |
//! | `ipv4.dns` au (network byte order), `ipv6.dns` aay | `dns=` list |
//! | `wireguard.peers` aa{sv} | `[wireguard-peer.PUBLIC-KEY]` groups |
//! | `ipv6.addr-gen-mode` i | `addr-gen-mode=NAME` |
//!
//! Incoming forms become the stored ones ([`from_dbus`]); GetSettings
//! adds the bus forms beside the stored keys ([`to_dbus`]).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use netnsd_api::{Error, Family};
use zbus::wire::{OwnedVariant, Variant};

use super::ipgroup::IpGroup;
use super::schema::WIREGUARD_PEER_PREFIX;
use super::{Profile, Settings, Value};

/// What an element of `wireguard.peers` can say of a peer besides its
/// public key: the keys of a `[wireguard-peer.KEY]` group it stands for.
pub(super) const PEER_ITEMS: &[&str] = &[
    "endpoint",
    "preshared-key",
    "preshared-key-flags",
    "persistent-keepalive",
    "allowed-ips",
];

/// ipv6.addr-gen-mode: NetworkManager's numbers and keyfile names.
const ADDR_GEN_MODES: &[(i32, &str)] = &[
    (0, "eui64"),
    (1, "stable-privacy"),
    (2, "default-or-eui64"),
    (3, "default"),
];

fn bad(setting: &str, key: &str, problem: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{setting}.{key}: {problem}"))
}

type Dict<'a> = HashMap<String, Variant<'a>>;

/// The elements of an aa{sv} as dictionaries.
fn dicts<'a>(setting: &str, key: &str, v: &Variant<'a>) -> Result<Vec<Dict<'a>>, Error> {
    let sig = v.value_signature().to_string();
    if sig != "aa{sv}" {
        return Err(bad(
            setting,
            key,
            format!("must be a list of dictionaries (aa{{sv}}), not of type {sig}"),
        ));
    }
    let Variant::Array(a) = v else {
        unreachable!("signature aa{{sv}}")
    };
    let mut out = Vec::new();
    for e in a.inner() {
        let Variant::Dict(d) = e else {
            unreachable!("signature aa{{sv}}")
        };
        let mut m = Dict::new();
        for (k, v) in d.iter() {
            let (Variant::Str(k), Variant::Variant(v)) = (k, v) else {
                unreachable!("signature a{{sv}}")
            };
            m.insert(k.to_string(), (**v).clone());
        }
        out.push(m);
    }
    Ok(out)
}

fn str_item(setting: &str, key: &str, d: &Dict<'_>, item: &str) -> Result<Option<String>, Error> {
    match d.get(item) {
        None => Ok(None),
        Some(Variant::Str(s)) => Ok(Some(s.to_string())),
        Some(v) => Err(bad(
            setting,
            key,
            format!(
                "{item:?} must be a string (s), not of type {}",
                v.value_signature()
            ),
        )),
    }
}

fn u32_item(setting: &str, key: &str, d: &Dict<'_>, item: &str) -> Result<Option<u32>, Error> {
    match d.get(item) {
        None => Ok(None),
        Some(Variant::U32(n)) => Ok(Some(*n)),
        Some(v) => Err(bad(
            setting,
            key,
            format!(
                "{item:?} must be a uint32 (u), not of type {}",
                v.value_signature()
            ),
        )),
    }
}

fn u32s(v: &Variant<'_>) -> Option<Vec<u32>> {
    let Variant::Array(a) = v else { return None };
    a.inner()
        .iter()
        .map(|e| match e {
            Variant::U32(n) => Some(*n),
            _ => None,
        })
        .collect()
}

fn ne4(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(n.to_ne_bytes())
}

/// Takes the bus-only forms out of one setting of an incoming dictionary
/// and returns the stored keys they stand for (and further settings:
/// WireGuard peers). `keys` keeps what wire::from_variant reads.
pub(crate) fn from_dbus(
    setting: &str,
    keys: &mut HashMap<String, OwnedVariant>,
) -> Result<(Vec<(String, Value)>, Settings), Error> {
    let mut out = Vec::new();
    let mut extra = Settings::new();
    let family = match setting {
        "ipv4" => Some(Family::V4),
        "ipv6" => Some(Family::V6),
        _ => None,
    };
    if let Some(family) = family {
        let zero = match family {
            Family::V4 => "0.0.0.0",
            Family::V6 => "::",
        };
        let has_address_data = keys.contains_key("address-data");
        let has_route_data = keys.contains_key("route-data");
        if has_address_data {
            // The -data form is the one NetworkManager uses when both come
            // (libnm sends both): the stored keys it replaces go.
            keys.retain(|k, _| !is_numbered(k, "address", "addresses"));
        }
        if has_route_data {
            keys.retain(|k, _| !is_numbered(k, "route", "routes"));
        }
        if let Some(v) = keys.remove("address-data") {
            for (i, d) in dicts(setting, "address-data", &v)?.iter().enumerate() {
                let a = str_item(setting, "address-data", d, "address")?
                    .ok_or_else(|| bad(setting, "address-data", "an entry has no \"address\""))?;
                let p = u32_item(setting, "address-data", d, "prefix")?
                    .ok_or_else(|| bad(setting, "address-data", "an entry has no \"prefix\""))?;
                out.push((format!("address{}", i + 1), Value::Str(format!("{a}/{p}"))));
            }
        }
        if let Some(v) = keys.remove("route-data") {
            for (i, d) in dicts(setting, "route-data", &v)?.iter().enumerate() {
                let dest = str_item(setting, "route-data", d, "dest")?
                    .ok_or_else(|| bad(setting, "route-data", "an entry has no \"dest\""))?;
                let p = u32_item(setting, "route-data", d, "prefix")?
                    .ok_or_else(|| bad(setting, "route-data", "an entry has no \"prefix\""))?;
                let nh = str_item(setting, "route-data", d, "next-hop")?;
                let metric = u32_item(setting, "route-data", d, "metric")?;
                let mut s = format!("{dest}/{p}");
                match (nh, metric) {
                    (Some(nh), Some(m)) => s.push_str(&format!(",{nh},{m}")),
                    (Some(nh), None) => s.push_str(&format!(",{nh}")),
                    (None, Some(m)) => s.push_str(&format!(",{zero},{m}")),
                    (None, None) => {}
                }
                out.push((format!("route{}", i + 1), Value::Str(s)));
            }
        }
        // The deprecated forms: used (IPv4) only without the -data ones.
        for (key, has_data) in [("addresses", has_address_data), ("routes", has_route_data)] {
            let Some(v) = keys.get(key) else { continue };
            if v.value_signature().to_string() == "s" {
                continue; // the keyfile form, read as it is
            }
            let v = keys.remove(key).expect("just seen");
            if has_data {
                continue;
            }
            let sig = v.value_signature().to_string();
            if family != Family::V4 || sig != "aau" {
                return Err(bad(
                    setting,
                    key,
                    format!(
                        "the deprecated form of type {sig} is not supported; send {} (aa{{sv}}) instead",
                        if key == "addresses" {
                            "address-data"
                        } else {
                            "route-data"
                        }
                    ),
                ));
            }
            let Variant::Array(a) = &*v else {
                unreachable!("aau")
            };
            for (i, e) in a.inner().iter().enumerate() {
                let n = u32s(e).unwrap_or_default();
                let s = match (key, n.as_slice()) {
                    ("addresses", [addr, prefix, ..]) => format!("{}/{prefix}", ne4(*addr)),
                    ("routes", [dest, prefix, nh, metric, ..]) => {
                        format!("{}/{prefix},{},{metric}", ne4(*dest), ne4(*nh))
                    }
                    _ => {
                        return Err(bad(setting, key, format!("entry {} is too short", i + 1)));
                    }
                };
                let base = if key == "addresses" {
                    "address"
                } else {
                    "route"
                };
                out.push((format!("{base}{}", i + 1), Value::Str(s)));
            }
        }
        if family == Family::V6
            && let Some(v) = keys.get("addr-gen-mode")
            && let Variant::I32(n) = &**v
        {
            let name = ADDR_GEN_MODES
                .iter()
                .find(|(m, _)| m == n)
                .map(|(_, s)| *s)
                .ok_or_else(|| {
                    bad(
                        setting,
                        "addr-gen-mode",
                        format!("{n} is not 0 (eui64), 1 (stable-privacy), 2 (default-or-eui64) or 3 (default)"),
                    )
                })?;
            keys.remove("addr-gen-mode");
            out.push(("addr-gen-mode".into(), Value::Str(name.into())));
        }
    }
    if setting == "wireguard"
        && let Some(v) = keys.remove("peers")
    {
        for d in dicts(setting, "peers", &v)? {
            let pk = str_item(setting, "peers", &d, "public-key")?
                .filter(|k| !k.is_empty())
                .ok_or_else(|| bad(setting, "peers", "a peer has no \"public-key\""))?;
            let mut peer = BTreeMap::new();
            for item in ["endpoint", "preshared-key"] {
                if let Some(s) = str_item(setting, "peers", &d, item)? {
                    peer.insert(item.to_string(), Value::Str(s));
                }
            }
            for item in ["preshared-key-flags", "persistent-keepalive"] {
                if let Some(n) = u32_item(setting, "peers", &d, item)? {
                    peer.insert(item.to_string(), Value::U32(n));
                }
            }
            match d.get("allowed-ips") {
                None => {}
                Some(v) if v.value_signature() == "as" => {
                    let Variant::Array(a) = v else {
                        unreachable!("as")
                    };
                    let l = a
                        .inner()
                        .iter()
                        .filter_map(|e| match e {
                            Variant::Str(s) => Some(s.to_string()),
                            _ => None,
                        })
                        .collect();
                    peer.insert("allowed-ips".into(), Value::StrList(l));
                }
                Some(v) => {
                    return Err(bad(
                        setting,
                        "peers",
                        format!(
                            "\"allowed-ips\" must be a list of strings (as), not of type {}",
                            v.value_signature()
                        ),
                    ));
                }
            }
            extra.insert(format!("{WIREGUARD_PEER_PREFIX}{pk}"), peer);
        }
    }
    Ok((out, extra))
}

fn is_numbered(key: &str, base: &str, plural: &str) -> bool {
    let Some(rest) = key.strip_prefix(plural).or_else(|| key.strip_prefix(base)) else {
        return false;
    };
    rest.is_empty() || rest.bytes().all(|b| b.is_ascii_digit())
}

fn owned(v: Variant<'static>) -> OwnedVariant {
    OwnedVariant::try_from(v).expect("a variant without file descriptors")
}

fn a_sv(items: Vec<(&str, Variant<'static>)>) -> HashMap<String, OwnedVariant> {
    items
        .into_iter()
        .map(|(k, v)| (k.to_string(), owned(v)))
        .collect()
}

fn list_variant(l: Vec<HashMap<String, OwnedVariant>>) -> OwnedVariant {
    owned(Variant::from(l))
}

/// The bus forms GetSettings adds: ipvN.address-data and route-data (from
/// the stored addresses and routes), ipv4.dns as au and ipv6.dns as aay
/// (when every entry is a plain address), ipv6.addr-gen-mode as i, and
/// wireguard.peers. `with_secrets`: the peers' preshared keys too.
pub(crate) fn to_dbus(
    p: &Profile,
    out: &mut HashMap<String, HashMap<String, OwnedVariant>>,
    with_secrets: bool,
) {
    for (family, name) in [(Family::V4, "ipv4"), (Family::V6, "ipv6")] {
        let Some(keys) = out.get_mut(name) else {
            continue;
        };
        if let Ok(g) = IpGroup::of(p, family) {
            let addrs: Vec<_> = g
                .addresses
                .iter()
                .map(|a| {
                    a_sv(vec![
                        ("address", Variant::from(a.addr.to_string())),
                        ("prefix", Variant::from(u32::from(a.prefix))),
                    ])
                })
                .collect();
            if !addrs.is_empty() {
                keys.insert("address-data".into(), list_variant(addrs));
            }
            let routes: Vec<_> = g
                .routes
                .iter()
                .map(|r| {
                    let mut v = vec![
                        ("dest", Variant::from(r.destination.addr.to_string())),
                        ("prefix", Variant::from(u32::from(r.destination.prefix))),
                    ];
                    if let Some(nh) = r.next_hop {
                        v.push(("next-hop", Variant::from(nh.to_string())));
                    }
                    if let Some(m) = r.metric {
                        v.push(("metric", Variant::from(m)));
                    }
                    a_sv(v)
                })
                .collect();
            if !routes.is_empty() {
                keys.insert("route-data".into(), list_variant(routes));
            }
        }
        if let Some(Value::StrList(dns)) = p.get(name, "dns") {
            let ips: Option<Vec<IpAddr>> = dns.iter().map(|d| d.parse().ok()).collect();
            match (family, ips) {
                (Family::V4, Some(ips)) => {
                    let au: Option<Vec<u32>> = ips
                        .iter()
                        .map(|ip| match ip {
                            IpAddr::V4(a) => Some(u32::from_ne_bytes(a.octets())),
                            IpAddr::V6(_) => None,
                        })
                        .collect();
                    if let Some(au) = au {
                        keys.insert("dns".into(), owned(Variant::from(au)));
                    }
                }
                (Family::V6, Some(ips)) => {
                    let aay: Option<Vec<Vec<u8>>> = ips
                        .iter()
                        .map(|ip| match ip {
                            IpAddr::V6(a) => Some(a.octets().to_vec()),
                            IpAddr::V4(_) => None,
                        })
                        .collect();
                    if let Some(aay) = aay {
                        keys.insert("dns".into(), owned(Variant::from(aay)));
                    }
                }
                _ => {}
            }
        }
        if family == Family::V6
            && let Some(Value::Str(s)) = p.get(name, "addr-gen-mode")
            && let Some((n, _)) = ADDR_GEN_MODES.iter().find(|(_, m)| m == s)
        {
            keys.insert("addr-gen-mode".into(), OwnedVariant::from(*n));
        }
    }
    if p.kind() == "wireguard" {
        let mut peers = Vec::new();
        for (setting, keys) in p.settings() {
            let Some(pk) = setting.strip_prefix(WIREGUARD_PEER_PREFIX) else {
                continue;
            };
            let mut v: Vec<(&str, Variant<'static>)> =
                vec![("public-key", Variant::from(pk.to_string()))];
            for (k, val) in keys {
                if !with_secrets && super::is_secret(setting, k) {
                    continue;
                }
                let item: Option<Variant<'static>> = match (k.as_str(), val) {
                    ("endpoint" | "preshared-key", Value::Str(s)) => Some(Variant::from(s.clone())),
                    ("preshared-key-flags" | "persistent-keepalive", Value::U32(n)) => {
                        Some(Variant::from(*n))
                    }
                    ("preshared-key-flags" | "persistent-keepalive", Value::Str(s)) => {
                        s.parse::<u32>().ok().map(Variant::from)
                    }
                    ("allowed-ips", Value::StrList(l)) => Some(Variant::from(l.clone())),
                    ("allowed-ips", Value::Str(s)) => Some(Variant::from(
                        s.split(';')
                            .map(str::trim)
                            .filter(|x| !x.is_empty())
                            .map(str::to_string)
                            .collect::<Vec<_>>(),
                    )),
                    _ => None,
                };
                if let Some(item) = item {
                    v.push((k.as_str(), item));
                }
            }
            peers.push(a_sv(v));
        }
        if let Some(w) = out.get_mut("wireguard")
            && !peers.is_empty()
        {
            w.insert("peers".into(), list_variant(peers));
        }
    }
}
