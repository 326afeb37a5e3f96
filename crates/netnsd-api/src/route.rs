//! Routes: what AddRoute and RemoveRoute take ([`Route`]) and what
//! GetRoutes answers ([`RouteEntry`]), and their `a{sv}` form.
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `destination` | s | CIDR, or `default` (required) |
//! | `family` | s | `inet` or `inet6`; needed only for a default route without gateway |
//! | `gateway` | s | next hop address |
//! | `device` | o | output device (a Device object in this namespace) |
//! | `table` | u | routing table, default 254 (main) |
//! | `metric` | u | route priority |
//! | `scope` | s | `global`, `link` or `host` |
//! | `protocol` | s | (GetRoutes; RemoveRoute may give it) who installed it: kernel, boot, static, … |
//! | `type` | s | (GetRoutes only, when not unicast) unreachable, blackhole, … |
//!
//! The daemon checks every value and is the authority; a client only puts
//! the keys together.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use zbus::wire::{OwnedObjectPath, OwnedVariant};

use crate::Error;
use crate::cidr::{Cidr, Family, invalid, no_host_bits};
use crate::dict::{Dict, Dictionary, Reply, string_value};

/// The keys of a route dictionary.
pub mod key {
    pub const DESTINATION: &str = "destination";
    pub const FAMILY: &str = "family";
    pub const GATEWAY: &str = "gateway";
    pub const DEVICE: &str = "device";
    pub const TABLE: &str = "table";
    pub const METRIC: &str = "metric";
    pub const SCOPE: &str = "scope";
    /// GetRoutes and GetRules; RemoveRoute and RemoveRule may give it
    /// (default `netnsd`), AddRoute and AddRule may not.
    pub const PROTOCOL: &str = "protocol";
    /// GetRoutes only, when the route is not unicast.
    pub const TYPE: &str = "type";
}

/// The routing protocol number netnsd marks its routes and rules with
/// (`ip route show proto 110`); named `netnsd` in GetRoutes and GetRules.
pub const PROTOCOL_NETNSD: u8 = 110;

/// Routing protocols by the names GetRoutes and GetRules give them.
pub const PROTOCOLS: &[(&str, u8)] = &[
    ("unspec", 0),
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("ra", 9),
    ("zebra", 11),
    ("bird", 12),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("netnsd", PROTOCOL_NETNSD),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// The protocol a RemoveRoute or RemoveRule dictionary names (key
/// `protocol`: a name of [`PROTOCOLS`] or a number 0–255), taken out of
/// `dict` so that the rest reads as an AddRoute or AddRule dictionary.
/// Without the key: [`PROTOCOL_NETNSD`], what AddRoute and AddRule give.
pub fn take_protocol(dict: &mut Dictionary, noun: &'static str) -> Result<u8, Error> {
    let Some(v) = dict.remove(key::PROTOCOL) else {
        return Ok(PROTOCOL_NETNSD);
    };
    let one: Dictionary = [(key::PROTOCOL.to_owned(), v)].into();
    let d = Dict::new(&one, noun, &[key::PROTOCOL])?;
    let name = d.str(key::PROTOCOL)?.unwrap_or_default();
    PROTOCOLS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .or_else(|| name.parse().ok())
        .ok_or_else(|| {
            d.invalid(
                key::PROTOCOL,
                format!("'{name}' is neither a protocol name (kernel, boot, static, netnsd, …) nor a number 0-255"),
            )
        })
}

/// The `destination` of the default route.
pub const DEFAULT: &str = "default";

/// The table `ip route` calls `default`.
pub const TABLE_DEFAULT: u32 = 253;
/// The main routing table (`ip route` without `table`).
pub const TABLE_MAIN: u32 = 254;
/// The local routing table: addresses of this host, broadcast addresses.
pub const TABLE_LOCAL: u32 = 255;

/// Route scopes a caller may ask for, as `ip route … scope S` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Scope {
    /// Anywhere (the default for a route via a gateway)
    Global,
    /// On the link (the default for a route on a device without gateway)
    Link,
    /// On this host
    Host,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Link => "link",
            Scope::Host => "host",
        }
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "global" => Ok(Scope::Global),
            "link" => Ok(Scope::Link),
            "host" => Ok(Scope::Host),
            _ => Err(format!("'{s}' is not a route scope (global, link, host)")),
        }
    }
}

/// A route to add or remove: `ip route add DEST [via GW] [dev DEV] [table T]
/// [metric M] [scope S]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    /// None: the default route.
    pub destination: Option<Cidr>,
    pub family: Family,
    pub gateway: Option<IpAddr>,
    /// ifindex of the output device, in the route's namespace.
    pub oif: Option<u32>,
    pub table: u32,
    pub metric: Option<u32>,
    pub scope: Option<Scope>,
}

impl Route {
    /// The keys a caller may send.
    pub const KEYS: &'static [&'static str] = &[
        key::DESTINATION,
        key::FAMILY,
        key::GATEWAY,
        key::DEVICE,
        key::TABLE,
        key::METRIC,
        key::SCOPE,
    ];

    /// Reads a route dictionary. `resolve_device` maps the `device` object
    /// path to an ifindex in this namespace, or answers the error to give
    /// (UnknownDevice, or InvalidArgument for a device of another namespace).
    pub fn from_dict(
        dict: &Dictionary,
        resolve_device: &dyn Fn(&str) -> Result<u32, Error>,
    ) -> Result<Self, Error> {
        let d = Dict::new(dict, "route key", Self::KEYS)?;
        let destination = match d.str(key::DESTINATION)? {
            None => {
                return Err(invalid(
                    "route key \"destination\" is required: a CIDR or \"default\"",
                ));
            }
            Some("default") => None,
            Some(s) => {
                let c: Cidr = s.parse().map_err(|e| d.invalid(key::DESTINATION, e))?;
                no_host_bits(key::DESTINATION, &c)?;
                Some(c)
            }
        };
        let gateway = match d.str(key::GATEWAY)? {
            None => None,
            Some(s) => {
                let gw: IpAddr = s.parse().map_err(|_| {
                    d.invalid(
                        key::GATEWAY,
                        format!("'{s}' is not an IPv4 or IPv6 address"),
                    )
                })?;
                if gw.is_unspecified() || gw.is_multicast() {
                    return Err(d.invalid(key::GATEWAY, format!("{gw} is not a unicast address")));
                }
                Some(gw)
            }
        };
        let asked = d.family(key::FAMILY)?;
        let family = destination
            .map(|c| c.family())
            .or(gateway.as_ref().map(Family::of))
            .or(asked)
            .unwrap_or(Family::V4);
        // A destination of prefix 0 is the default route.
        let destination = destination.filter(|c| c.prefix > 0);
        let dest_text = destination.map_or("default".to_string(), |c| c.to_string());
        if let Some(a) = asked.filter(|&a| a != family) {
            return Err(invalid(format!(
                "route key \"family\" is \"{}\" but the route to {dest_text} is {family}",
                a.as_str()
            )));
        }
        if let Some(gw) = gateway.filter(|gw| Family::of(gw) != family) {
            return Err(invalid(format!(
                "gateway {gw} is {} but the route to {dest_text} is {family}",
                Family::of(&gw)
            )));
        }
        let oif = d
            .path(key::DEVICE)?
            .map(|p| resolve_device(p.as_str()))
            .transpose()?;
        if gateway.is_none() && oif.is_none() {
            return Err(invalid(format!(
                "the route to {dest_text} needs a \"gateway\" or a \"device\""
            )));
        }
        let table = d.u32(key::TABLE)?.unwrap_or(TABLE_MAIN);
        if table == 0 {
            return Err(d.invalid(key::TABLE, "0 is not a routing table"));
        }
        let scope = d
            .str(key::SCOPE)?
            .map(|s| s.parse::<Scope>().map_err(|e| d.invalid(key::SCOPE, e)))
            .transpose()?;
        if let (Some(gw), Some(s @ (Scope::Link | Scope::Host))) = (gateway, scope) {
            return Err(invalid(format!(
                "a route via gateway {gw} cannot have scope {}",
                s.as_str()
            )));
        }
        Ok(Route {
            destination,
            family,
            gateway,
            oif,
            table,
            metric: d.u32(key::METRIC)?,
            scope,
        })
    }
}

impl fmt::Display for Route {
    /// In `ip route` syntax, the device by ifindex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.destination {
            Some(c) => write!(f, "{c}")?,
            None => write!(f, "default ({})", self.family.as_str())?,
        }
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(i) = self.oif {
            write!(f, " dev #{i}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(s) = self.scope {
            write!(f, " scope {}", s.as_str())?;
        }
        Ok(())
    }
}

/// A route as GetRoutes lists it: the keys of [`Route`] plus `protocol`, and
/// `type` when it is not unicast. Scopes, protocols and types are the names
/// `ip route` prints (or numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    /// None: the default route.
    pub destination: Option<Cidr>,
    pub family: Family,
    pub gateway: Option<IpAddr>,
    /// The Device object of the output device, when it has one.
    pub device: Option<OwnedObjectPath>,
    pub table: u32,
    pub metric: Option<u32>,
    pub scope: Option<String>,
    pub protocol: Option<String>,
    /// Only for routes that are not unicast: unreachable, blackhole, ...
    pub kind: Option<String>,
}

impl RouteEntry {
    /// The dictionary GetRoutes answers with.
    pub fn to_dict(&self) -> Dictionary {
        let mut d = Dictionary::new();
        d.insert(key::FAMILY.into(), string_value(self.family.as_str()));
        if let Some(gw) = self.gateway {
            d.insert(key::GATEWAY.into(), string_value(gw.to_string()));
        }
        if let Some(p) = &self.device {
            d.insert(
                key::DEVICE.into(),
                OwnedVariant::from(p.clone().into_inner()),
            );
        }
        if let Some(m) = self.metric {
            d.insert(key::METRIC.into(), OwnedVariant::from(m));
        }
        let destination = self.destination.map_or(DEFAULT.into(), |c| c.to_string());
        d.insert(key::DESTINATION.into(), string_value(destination));
        d.insert(key::TABLE.into(), OwnedVariant::from(self.table));
        for (k, v) in [
            (key::SCOPE, &self.scope),
            (key::PROTOCOL, &self.protocol),
            (key::TYPE, &self.kind),
        ] {
            if let Some(v) = v {
                d.insert(k.into(), string_value(v.as_str()));
            }
        }
        d
    }

    /// Reads a dictionary of GetRoutes; also answers the keys it does not
    /// know (a newer daemon's). A missing destination is the default route,
    /// a missing family inet, a missing table main.
    pub fn from_dict(dict: Dictionary) -> Result<(Self, Dictionary), Error> {
        let mut r = Reply::new(dict, "route");
        let destination = r
            .parsed(key::DESTINATION, |s| match s {
                DEFAULT => Ok(None),
                s => s.parse::<Cidr>().map(Some),
            })?
            .flatten();
        let family = r
            .parsed(key::FAMILY, |s| {
                Family::from_name(s).ok_or("neither \"inet\" nor \"inet6\"")
            })?
            .unwrap_or(Family::V4);
        let entry = RouteEntry {
            destination,
            family,
            gateway: r.parsed(key::GATEWAY, IpAddr::from_str)?,
            device: r.path(key::DEVICE)?,
            table: r.u32(key::TABLE)?.unwrap_or(TABLE_MAIN),
            metric: r.u32(key::METRIC)?,
            scope: r.str(key::SCOPE)?,
            protocol: r.str(key::PROTOCOL)?,
            kind: r.str(key::TYPE)?,
        };
        Ok((entry, r.rest()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict::tests::{assert_invalid, dict, o, s, u};

    fn v4(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    /// Resolves /dev/N to ifindex N; /other/N is a device of another
    /// namespace; anything else is unknown.
    fn resolver(path: &str) -> Result<u32, Error> {
        if let Some(n) = path.strip_prefix("/dev/") {
            Ok(n.parse().unwrap())
        } else if path.starts_with("/other/") {
            Err(Error::InvalidArgument(format!(
                "device {path} is in another namespace"
            )))
        } else {
            Err(Error::UnknownDevice(format!("no device {path}")))
        }
    }

    fn route(entries: &[(&str, OwnedVariant)]) -> Result<Route, Error> {
        Route::from_dict(&dict(entries), &resolver)
    }

    #[test]
    fn routes() {
        let r = route(&[
            ("destination", s("10.1.0.0/16")),
            ("gateway", s("10.0.0.1")),
            ("device", o("/dev/3")),
            ("table", u(100)),
            ("metric", u(50)),
            ("scope", s("global")),
        ])
        .unwrap();
        assert_eq!(
            r,
            Route {
                destination: Some("10.1.0.0/16".parse().unwrap()),
                family: Family::V4,
                gateway: Some(v4("10.0.0.1")),
                oif: Some(3),
                table: 100,
                metric: Some(50),
                scope: Some(Scope::Global),
            }
        );
        assert_eq!(
            r.to_string(),
            "10.1.0.0/16 via 10.0.0.1 dev #3 table 100 metric 50 scope global"
        );

        // Defaults: main table, no metric, no scope.
        let r = route(&[("destination", s("10.1.0.0/16")), ("device", o("/dev/2"))]).unwrap();
        assert_eq!(r.table, TABLE_MAIN);
        assert_eq!((r.metric, r.scope, r.gateway), (None, None, None));

        // Default route: family from the gateway, else from "family", else inet.
        let r = route(&[("destination", s("default")), ("gateway", s("fd00::1"))]).unwrap();
        assert_eq!((r.destination, r.family), (None, Family::V6));
        let r = route(&[
            ("destination", s("default")),
            ("family", s("inet6")),
            ("device", o("/dev/4")),
        ])
        .unwrap();
        assert_eq!(r.family, Family::V6);
        let r = route(&[("destination", s("default")), ("device", o("/dev/4"))]).unwrap();
        assert_eq!(r.family, Family::V4);
        // 0.0.0.0/0 is the default route.
        let r = route(&[("destination", s("0.0.0.0/0")), ("gateway", s("10.0.0.1"))]).unwrap();
        assert_eq!((r.destination, r.family), (None, Family::V4));
        let r = route(&[("destination", s("::/0")), ("device", o("/dev/4"))]).unwrap();
        assert_eq!((r.destination, r.family), (None, Family::V6));

        // The local table and a host route.
        let r = route(&[
            ("destination", s("10.0.0.1")),
            ("device", o("/dev/1")),
            ("table", u(255)),
            ("scope", s("host")),
        ])
        .unwrap();
        assert_eq!(r.table, TABLE_LOCAL);
        assert_eq!(r.destination.unwrap().prefix, 32);
        // A family that agrees is fine.
        route(&[
            ("destination", s("fd00::/64")),
            ("family", s("inet6")),
            ("device", o("/dev/1")),
        ])
        .unwrap();
    }

    #[test]
    fn routes_refuse() {
        assert_invalid(
            route(&[("device", o("/dev/1"))]),
            &["\"destination\"", "required"],
        );
        assert_invalid(
            route(&[("destination", s("10.0.0.1/24")), ("device", o("/dev/1"))]),
            &["destination 10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?"],
        );
        assert_invalid(
            route(&[("destination", s("fd00::1/64")), ("device", o("/dev/1"))]),
            &["did you mean fd00::/64?"],
        );
        assert_invalid(
            route(&[("destination", s("10.0.0.0/33")), ("device", o("/dev/1"))]),
            &["route key \"destination\"", "32 bits"],
        );
        assert_invalid(
            route(&[("destination", s("10.0.0.0/24"))]),
            &["10.0.0.0/24", "\"gateway\" or a \"device\""],
        );
        assert_invalid(
            route(&[("destination", s("10.0.0.0/24")), ("gateway", s("fd00::1"))]),
            &["gateway fd00::1 is IPv6", "10.0.0.0/24 is IPv4"],
        );
        assert_invalid(
            route(&[
                ("destination", s("default")),
                ("family", s("inet")),
                ("gateway", s("fd00::1")),
            ]),
            &["\"family\"", "inet", "IPv6"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("family", s("inet6")),
                ("device", o("/dev/1")),
            ]),
            &["\"family\" is \"inet6\"", "IPv4"],
        );
        assert_invalid(
            route(&[
                ("destination", s("default")),
                ("family", s("ipx")),
                ("device", o("/dev/1")),
            ]),
            &["route key \"family\"", "'ipx'"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("gateway", s("10.0.0.300")),
            ]),
            &["route key \"gateway\"", "'10.0.0.300'"],
        );
        assert_invalid(
            route(&[("destination", s("10.0.0.0/24")), ("gateway", s("0.0.0.0"))]),
            &["\"gateway\"", "not a unicast address"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("device", o("/dev/1")),
                ("table", u(0)),
            ]),
            &["route key \"table\"", "0 is not"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("device", o("/dev/1")),
                ("table", s("main")),
            ]),
            &["route key \"table\" must be u (uint32)"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("device", o("/dev/1")),
                ("metric", OwnedVariant::from(5u64)),
            ]),
            &["route key \"metric\" must be u (uint32)", "not t"],
        );
        assert_invalid(
            route(&[("destination", s("10.0.0.0/24")), ("device", s("/dev/1"))]),
            &["route key \"device\" must be o (object path)"],
        );
        assert_invalid(
            route(&[("destination", u(1)), ("device", o("/dev/1"))]),
            &["route key \"destination\" must be s (string)"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("device", o("/dev/1")),
                ("scope", s("site")),
            ]),
            &["route key \"scope\"", "'site'"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("gateway", s("10.0.0.1")),
                ("scope", s("link")),
            ]),
            &["gateway 10.0.0.1", "scope link"],
        );
        assert_invalid(
            route(&[
                ("destination", s("10.0.0.0/24")),
                ("device", o("/dev/1")),
                ("via", s("10.0.0.1")),
            ]),
            &["unknown route key \"via\"", "gateway"],
        );
        // The resolver decides about devices.
        assert_invalid(
            route(&[("destination", s("10.0.0.0/24")), ("device", o("/other/1"))]),
            &["another namespace"],
        );
        assert!(matches!(
            route(&[("destination", s("10.0.0.0/24")), ("device", o("/nope/1"))]),
            Err(Error::UnknownDevice(_))
        ));
    }

    #[test]
    fn scopes() {
        for s in [Scope::Global, Scope::Link, Scope::Host] {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert_eq!(
            "site".parse::<Scope>().unwrap_err(),
            "'site' is not a route scope (global, link, host)"
        );
    }

    fn entry() -> RouteEntry {
        RouteEntry {
            destination: Some("10.0.0.0/24".parse().unwrap()),
            family: Family::V4,
            gateway: None,
            device: Some(OwnedObjectPath::try_from("/dev/3").unwrap()),
            table: TABLE_MAIN,
            metric: None,
            scope: Some("link".into()),
            protocol: Some("kernel".into()),
            kind: None,
        }
    }

    /// What GetRoutes answers reads back as the same entry and, once the
    /// output-only keys are dropped, as a Route.
    #[test]
    fn entries_round_trip() {
        let e = entry();
        let mut d = e.to_dict();
        let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "destination",
                "device",
                "family",
                "protocol",
                "scope",
                "table"
            ]
        );
        let (back, rest) = RouteEntry::from_dict(e.to_dict()).unwrap();
        assert_eq!(back, e);
        assert!(rest.is_empty());

        d.remove(key::PROTOCOL);
        let r = Route::from_dict(&d, &resolver).unwrap();
        assert_eq!(r.destination, Some("10.0.0.0/24".parse().unwrap()));
        assert_eq!((r.oif, r.table, r.scope), (Some(3), 254, Some(Scope::Link)));

        let e = RouteEntry {
            destination: None,
            family: Family::V6,
            gateway: Some("fe80::1".parse().unwrap()),
            device: None,
            table: 1000,
            metric: Some(1024),
            kind: Some("unreachable".into()),
            ..entry()
        };
        let d = e.to_dict();
        match &**d.get("destination").unwrap() {
            zbus::wire::Variant::Str(s) => assert_eq!(s.as_str(), "default"),
            other => panic!("destination is {other:?}"),
        }
        assert_eq!(RouteEntry::from_dict(d).unwrap().0, e);
    }

    #[test]
    fn entries_keep_unknown_keys_and_refuse_wrong_types() {
        let d = dict(&[("future", u(7)), ("scope", s("link"))]);
        let (e, rest) = RouteEntry::from_dict(d).unwrap();
        assert_eq!(e.destination, None);
        assert_eq!((e.family, e.table), (Family::V4, TABLE_MAIN));
        assert_eq!(rest.keys().collect::<Vec<_>>(), ["future"]);
        let e = RouteEntry::from_dict(dict(&[("table", s("main"))])).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: route key \"table\" is not of type u"
        );
        let e = RouteEntry::from_dict(dict(&[("gateway", s("x"))])).unwrap_err();
        assert!(matches!(e, Error::Failed(_)), "{e:?}");
        let e = RouteEntry::from_dict(dict(&[("device", s("/dev/1"))])).unwrap_err();
        assert!(
            e.message().ends_with("\"device\" is not of type o"),
            "{e:?}"
        );
    }

    #[test]
    fn remove_protocols() {
        let mut d = dict(&[("destination", s("10.1.0.0/16")), ("table", u(7))]);
        assert_eq!(take_protocol(&mut d, "route key").unwrap(), PROTOCOL_NETNSD);
        let mut d = dict(&[("destination", s("10.1.0.0/16")), ("protocol", s("kernel"))]);
        assert_eq!(take_protocol(&mut d, "route key").unwrap(), 2);
        assert!(!d.contains_key("protocol") && d.contains_key("destination"));
        let mut d = dict(&[("protocol", s("99"))]);
        assert_eq!(take_protocol(&mut d, "rule key").unwrap(), 99);
        let mut d = dict(&[("protocol", s("netnsd"))]);
        assert_eq!(take_protocol(&mut d, "rule key").unwrap(), 110);
        assert_invalid(
            take_protocol(&mut dict(&[("protocol", s("nobody"))]), "route key"),
            &["route key \"protocol\"", "'nobody'"],
        );
        assert_invalid(
            take_protocol(&mut dict(&[("protocol", s("256"))]), "route key"),
            &["'256'"],
        );
        assert_invalid(
            take_protocol(&mut dict(&[("protocol", u(3))]), "rule key"),
            &["rule key \"protocol\" must be s"],
        );
    }
}
