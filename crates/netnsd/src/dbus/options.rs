//! The a{sv} options of AddNetworkNamespaceWithOptions and SetUplink.
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `uplink` | s | `none` | `none`, `veth` (routed, with NAT) or `macvlan` |
//! | `uplink-netns` | s | `rootns` | the namespace holding the host end / the parent |
//! | `uplink-parent` | s | — | macvlan: the parent's interface name there |
//! | `address` | s | — | macvlan: the namespace's address, CIDR |
//! | `gateway` | s | — | macvlan: the default gateway |
//! | `ipv6` | b | true | veth: IPv6 as well as IPv4 |
//! | `dhcp` | b | false | macvlan: address, gateway and DNS by DHCPv4 (not with `address`, `gateway`) |
//! | `dns` | as | — | name servers for /etc/netns/NAME/resolv.conf |
//! | `dns-search` | as | — | search domains |

use std::collections::HashMap;
use std::net::IpAddr;

use netnsd_api::dict::Dict;
use netnsd_api::{Error, ROOT_NS_NAME};
use zbus::wire::OwnedVariant;

use crate::dns::{self, Dns};
use crate::manager::{UplinkKind, UplinkSpec};

pub const UPLINK_KEYS: &[&str] = &[
    "uplink",
    "uplink-netns",
    "uplink-parent",
    "address",
    "gateway",
    "ipv6",
    "dhcp",
];
pub const NS_KEYS: &[&str] = &[
    "uplink",
    "uplink-netns",
    "uplink-parent",
    "address",
    "gateway",
    "ipv6",
    "dns",
    "dns-search",
    "dhcp",
];

/// An uplink as asked, before the uplink namespace's name is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkRequest {
    pub uplink_netns: String,
    pub spec: UplinkSpec,
}

fn parse_uplink(d: &Dict<'_>) -> Result<Option<UplinkRequest>, Error> {
    let kind = match d.str("uplink")?.unwrap_or("none") {
        "none" => None,
        "veth" => Some(UplinkKind::Veth),
        "macvlan" => Some(UplinkKind::Macvlan),
        other => {
            return Err(d.invalid(
                "uplink",
                format!("'{other}' is not one of none, veth, macvlan"),
            ));
        }
    };
    let parent = d.str("uplink-parent")?.map(str::to_owned);
    let address = d.cidr("address")?;
    let gateway = match d.str("gateway")? {
        None => None,
        Some(g) => Some(
            g.parse::<IpAddr>()
                .map_err(|_| d.invalid("gateway", format!("'{g}' is not an IP address")))?,
        ),
    };
    let ipv6 = d.bool("ipv6")?.unwrap_or(true);
    let dhcp = d.bool("dhcp")?.unwrap_or(false);
    let uplink_netns = d.str("uplink-netns")?.unwrap_or(ROOT_NS_NAME).to_owned();
    let Some(kind) = kind else {
        for k in [
            "uplink-parent",
            "address",
            "gateway",
            "uplink-netns",
            "ipv6",
            "dhcp",
        ] {
            if d.get(k).is_some() {
                return Err(d.invalid(k, "given without an uplink"));
            }
        }
        return Ok(None);
    };
    match kind {
        UplinkKind::Veth => {
            for k in ["uplink-parent", "address", "gateway", "dhcp"] {
                if d.get(k).is_some() {
                    return Err(d.invalid(k, "applies to a macvlan uplink, not veth"));
                }
            }
        }
        UplinkKind::Macvlan => {
            let Some(p) = &parent else {
                return Err(d.invalid("uplink-parent", "a macvlan uplink needs its parent device"));
            };
            netnsd_api::validate::ifname(p).map_err(|e| d.invalid("uplink-parent", e))?;
            if dhcp {
                for k in ["address", "gateway"] {
                    if d.get(k).is_some() {
                        return Err(d.invalid(k, "given together with dhcp, which sets it"));
                    }
                }
            }
            let Some(a) = address else {
                if dhcp {
                    return Ok(Some(UplinkRequest {
                        uplink_netns,
                        spec: UplinkSpec {
                            kind,
                            uplink_ns: 0,
                            parent,
                            address: None,
                            gateway: None,
                            ipv6,
                            dhcp,
                        },
                    }));
                }
                return Err(d.invalid("address", "a macvlan uplink needs an address (or dhcp)"));
            };
            if let Some(g) = gateway
                && netnsd_api::Family::of(&g) != a.family()
            {
                return Err(d.invalid(
                    "gateway",
                    format!("{g} is not of the family of address {a}"),
                ));
            }
            if d.get("ipv6").is_some() {
                return Err(d.invalid("ipv6", "applies to a veth uplink, not macvlan"));
            }
        }
    }
    Ok(Some(UplinkRequest {
        uplink_netns,
        spec: UplinkSpec {
            kind,
            uplink_ns: 0,
            parent,
            address,
            gateway,
            ipv6,
            dhcp,
        },
    }))
}

/// Checks DNS settings: servers are IP addresses, search domains are
/// domains. Errors name the argument or option (`servers_key`, `search_key`).
pub fn parse_dns(
    servers: &[String],
    search: &[String],
    servers_key: &str,
    search_key: &str,
) -> Result<Dns, Error> {
    let servers = servers
        .iter()
        .map(|s| {
            s.parse::<IpAddr>().map_err(|_| {
                Error::InvalidArgument(format!(
                    "{servers_key}: DNS server {s:?} is not an IP address"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for d in search {
        dns::check_search(d).map_err(|e| Error::InvalidArgument(format!("{search_key}: {e}")))?;
    }
    Ok(Dns {
        servers,
        search: search.to_vec(),
    })
}

/// SetUplink's dictionary.
pub fn uplink(dict: &HashMap<String, OwnedVariant>) -> Result<Option<UplinkRequest>, Error> {
    parse_uplink(&Dict::new(dict, "option", UPLINK_KEYS)?)
}

/// AddNetworkNamespaceWithOptions' dictionary.
pub fn namespace(
    dict: &HashMap<String, OwnedVariant>,
) -> Result<(Option<UplinkRequest>, Option<Dns>), Error> {
    let d = Dict::new(dict, "option", NS_KEYS)?;
    let up = parse_uplink(&d)?;
    let servers = d.strs("dns")?;
    let search = d.strs("dns-search")?;
    let dns = match (servers, search) {
        (None, None) => None,
        (s, q) => Some(parse_dns(
            &s.unwrap_or_default(),
            &q.unwrap_or_default(),
            "option \"dns\"",
            "option \"dns-search\"",
        )?),
    };
    Ok((up, dns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::wire::Variant;

    fn dict(items: &[(&str, Variant<'static>)]) -> HashMap<String, OwnedVariant> {
        items
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    OwnedVariant::try_from(v.try_clone().unwrap()).unwrap(),
                )
            })
            .collect()
    }

    fn err(r: Result<impl std::fmt::Debug, Error>) -> String {
        match r {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn veth_with_dns() {
        let (up, dns) = namespace(&dict(&[
            ("uplink", Variant::from("veth")),
            ("dns", Variant::from(vec!["10.0.0.53".to_string()])),
            ("dns-search", Variant::from(vec!["test".to_string()])),
        ]))
        .unwrap();
        let up = up.unwrap();
        assert_eq!(up.uplink_netns, "rootns");
        assert_eq!(up.spec.kind, UplinkKind::Veth);
        assert!(up.spec.ipv6);
        let dns = dns.unwrap();
        assert_eq!(dns.servers, vec!["10.0.0.53".parse::<IpAddr>().unwrap()]);
        assert_eq!(dns.search, vec!["test".to_string()]);
        assert_eq!(namespace(&dict(&[])).unwrap(), (None, None));
    }

    #[test]
    fn macvlan_needs_parent_and_address() {
        assert!(
            err(uplink(&dict(&[("uplink", Variant::from("macvlan"))]))).contains("uplink-parent")
        );
        assert!(
            err(uplink(&dict(&[
                ("uplink", Variant::from("macvlan")),
                ("uplink-parent", Variant::from("eth0"))
            ])))
            .contains("address")
        );
        let ok = uplink(&dict(&[
            ("uplink", Variant::from("macvlan")),
            ("uplink-parent", Variant::from("eth0")),
            ("address", Variant::from("192.0.2.10/24")),
            ("gateway", Variant::from("192.0.2.1")),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(ok.spec.gateway, Some("192.0.2.1".parse().unwrap()));
        assert!(
            err(uplink(&dict(&[
                ("uplink", Variant::from("macvlan")),
                ("uplink-parent", Variant::from("eth0")),
                ("address", Variant::from("192.0.2.10/24")),
                ("gateway", Variant::from("fd00::1")),
            ])))
            .contains("family")
        );
    }

    #[test]
    fn macvlan_by_dhcp() {
        let ok = uplink(&dict(&[
            ("uplink", Variant::from("macvlan")),
            ("uplink-parent", Variant::from("eth0")),
            ("dhcp", Variant::from(true)),
        ]))
        .unwrap()
        .unwrap();
        assert!(ok.spec.dhcp);
        assert_eq!(ok.spec.address, None);
        for (k, v) in [
            ("address", Variant::from("192.0.2.10/24")),
            ("gateway", Variant::from("192.0.2.1")),
        ] {
            let e = err(uplink(&dict(&[
                ("uplink", Variant::from("macvlan")),
                ("uplink-parent", Variant::from("eth0")),
                ("dhcp", Variant::from(true)),
                (k, v),
            ])));
            assert!(e.contains(k) && e.contains("dhcp"), "{e}");
        }
        assert!(
            err(uplink(&dict(&[
                ("uplink", Variant::from("veth")),
                ("dhcp", Variant::from(true))
            ])))
            .contains("\"dhcp\"")
        );
        assert!(err(uplink(&dict(&[("dhcp", Variant::from(true))]))).contains("without an uplink"));
        assert!(
            err(uplink(&dict(&[
                ("uplink", Variant::from("macvlan")),
                ("uplink-parent", Variant::from("eth0")),
                ("dhcp", Variant::from("yes")),
            ])))
            .contains("\"dhcp\"")
        );
    }

    #[test]
    fn refusals_name_the_key() {
        assert!(err(uplink(&dict(&[("uplink", Variant::from("gre"))]))).contains("\"uplink\""));
        assert!(err(uplink(&dict(&[("bogus", Variant::from(1u32))]))).contains("bogus"));
        assert!(err(uplink(&dict(&[("uplink", Variant::from(1u32))]))).contains("\"uplink\""));
        assert!(
            err(uplink(&dict(&[("address", Variant::from("10.0.0.1/24"))])))
                .contains("without an uplink")
        );
        assert!(
            err(uplink(&dict(&[
                ("uplink", Variant::from("veth")),
                ("address", Variant::from("10.0.0.1/24"))
            ])))
            .contains("macvlan")
        );
        assert!(
            err(namespace(&dict(&[(
                "dns",
                Variant::from(vec!["nope".to_string()])
            )])))
            .contains("nope")
        );
        assert!(err(namespace(&dict(&[("dns", Variant::from("10.0.0.1"))]))).contains("\"dns\""));
        assert!(
            err(namespace(&dict(&[(
                "dns-search",
                Variant::from(vec!["a b".to_string()])
            )])))
            .contains("a b")
        );
    }
}
