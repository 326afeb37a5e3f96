//! What the platform methods accept, parsed and checked before anything is
//! sent to the kernel: CIDRs, interface names, MTUs, stable MAC addresses, the
//! `a{sv}` options of the link methods and the `a{sv}` route and rule
//! dictionaries (and the dictionaries GetRoutes and GetRules answer with).
//!
//! Pure: no netlink I/O, no root. Errors are `InvalidArgument` with a message
//! that names the key and the problem.
//!
//! Link options (AddVeth, AddMacvlan, AddBridge, AddVlan):
//!
//! | key | type | default | meaning |
//! |---|---|---|---|
//! | `mtu` | u | kernel's | MTU, 68..=65535 |
//! | `up` | b | false | bring the link up once created |
//! | `stable-mac` | b | false | MAC derived from the namespace and interface names |
//! | `mode` | s | `bridge` | macvlan mode: bridge, private, vepa, passthru, source |
//!
//! Route dictionaries (AddRoute, RemoveRoute, GetRoutes):
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
//! | `protocol` | s | (GetRoutes only) who installed it: kernel, boot, static, … |
//! | `type` | s | (GetRoutes only, when not unicast) unreachable, blackhole, … |
//!
//! Rule dictionaries (AddRule, RemoveRule, GetRules):
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `family` | s | `inet` or `inet6`; taken from `from`/`to` when given |
//! | `from`, `to` | s | CIDR of the source / destination |
//! | `iif`, `oif` | s | input / output interface name |
//! | `fwmark`, `fwmask` | u | firewall mark and mask |
//! | `table` | u | table to look up (required, not 0) |
//! | `priority` | u | rule priority (`ip rule … pref`) |
//! | `action` | s | (GetRules only, when not a table lookup) blackhole, … |
//! | `invert` | b | (GetRules only, when set) the rule is negated (`not`) |

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleFlags, RuleMessage};
use netnsd_api::Error;
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant, Variant};

/// The main routing table (`ip route` without `table`).
pub const TABLE_MAIN: u32 = 254;
/// The local routing table: addresses of this host, broadcast addresses.
pub const TABLE_LOCAL: u32 = 255;

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The name `ip` uses: `inet` or `inet6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        }
    }

    /// The longest prefix of an address of this family.
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    pub fn address_family(self) -> AddressFamily {
        match self {
            Family::V4 => AddressFamily::Inet,
            Family::V6 => AddressFamily::Inet6,
        }
    }

    fn parse(s: &str) -> Option<Family> {
        match s {
            "inet" => Some(Family::V4),
            "inet6" => Some(Family::V6),
            _ => None,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// An address with a prefix length: `10.0.0.1/24`, `fd00::1/64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// The same prefix with the host bits cleared: 10.0.0.1/24 → 10.0.0.0/24.
    pub fn network(&self) -> Cidr {
        let addr = match self.addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Cidr {
            addr,
            prefix: self.prefix,
        }
    }

    /// True if the address has bits set past the prefix.
    pub fn has_host_bits(&self) -> bool {
        self.network() != *self
    }
}

impl FromStr for Cidr {
    type Err = String;

    /// `ADDR/PREFIX`, or a bare `ADDR` meaning /32 or /128.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty address".into());
        }
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{a}' is not an IPv4 or IPv6 address"))?;
        let max = Family::of(&addr).max_prefix();
        let prefix = match p {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("prefix '{p}' of '{s}' is not a number"));
                }
                let n: u8 = p.parse().unwrap_or(u8::MAX);
                if n > max {
                    return Err(format!(
                        "prefix /{p} of '{s}' is longer than the {max} bits of an {} address",
                        Family::of(&addr)
                    ));
                }
                n
            }
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Checks an interface name as the kernel's `dev_valid_name` does: 1 to 15
/// bytes, not `.` or `..`, no `/`, `:` or whitespace. `%` is refused as
/// well: the kernel would take the name as a pattern (`veth%d`) and choose
/// another.
pub fn ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty interface name".into());
    }
    if name.len() > 15 {
        return Err(format!(
            "interface name '{name}' is {} bytes long; the kernel allows at most 15",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("'{name}' is not a valid interface name"));
    }
    // The kernel's isspace() also counts VT and 0xa0, a byte that occurs
    // inside UTF-8 sequences.
    let bad = |b: u8| matches!(b, b'/' | b':' | b'%' | 0 | b' ' | b'\t'..=b'\r' | 0xa0);
    if let Some(b) = name.bytes().find(|&b| bad(b)) {
        let what = match b {
            b'/' | b':' | b'%' => format!("'{}'", b as char),
            0 => "a NUL byte".into(),
            _ => "whitespace".into(),
        };
        return Err(format!("interface name '{name}' contains {what}"));
    }
    Ok(())
}

/// Checks an MTU for a link that carries IPv4.
pub fn mtu(mtu: u32) -> Result<(), String> {
    if !(68..=65535).contains(&mtu) {
        return Err(format!(
            "MTU {mtu} is out of range: it must be between 68 (the IPv4 minimum) and 65535"
        ));
    }
    Ok(())
}

/// FNV-1a, 64 bits: fixed by its definition, so the same on every build.
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator, so ("ab", "c") and ("a", "bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// murmur3's fmix64 finalizer: FNV's low bits are weakly mixed.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A MAC address derived from the namespace and interface names: the same
/// names give the same address on every run, and it is a locally
/// administered unicast address (first octet: bit 0 clear, bit 1 set).
pub fn stable_mac(namespace: &str, ifname: &str) -> [u8; 6] {
    let h = fmix64(fnv1a64(&[namespace.as_bytes(), ifname.as_bytes()])).to_be_bytes();
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&h[..6]);
    mac[0] = (mac[0] & !0x01) | 0x02;
    mac
}

/// `aa:bb:cc:dd:ee:ff`, lowercase.
pub fn format_mac(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The a{sv} dictionaries, read key by key with typed errors.
pub(crate) struct Dict<'a> {
    dict: &'a HashMap<String, OwnedVariant>,
    /// How a key is called in messages: `option`, `route key`, `rule key`.
    noun: &'static str,
}

fn type_name(sig: &str) -> &'static str {
    match sig {
        "u" => "uint32",
        "s" => "string",
        "b" => "boolean",
        "o" => "object path",
        "as" => "array of strings",
        _ => "?",
    }
}

impl<'a> Dict<'a> {
    pub(crate) fn new(
        dict: &'a HashMap<String, OwnedVariant>,
        noun: &'static str,
        known: &[&str],
    ) -> Result<Self, Error> {
        let mut unknown: Vec<&str> = dict
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k))
            .collect();
        unknown.sort_unstable();
        if let Some(k) = unknown.first() {
            return Err(Error::InvalidArgument(format!(
                "unknown {noun} \"{k}\"; known: {}",
                known.join(", ")
            )));
        }
        Ok(Dict { dict, noun })
    }

    pub(crate) fn wrong_type(&self, key: &str, sig: &str, v: &Variant<'_>) -> Error {
        Error::InvalidArgument(format!(
            "{} \"{key}\" must be {sig} ({}), not {}",
            self.noun,
            type_name(sig),
            v.value_signature()
        ))
    }

    pub(crate) fn invalid(&self, key: &str, problem: impl fmt::Display) -> Error {
        Error::InvalidArgument(format!("{} \"{key}\": {problem}", self.noun))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Variant<'static>> {
        self.dict.get(key).map(|v| &**v)
    }

    pub(crate) fn u32(&self, key: &str) -> Result<Option<u32>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::U32(n)) => Ok(Some(*n)),
            Some(v) => Err(self.wrong_type(key, "u", v)),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong_type(key, "b", v)),
        }
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::Str(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong_type(key, "s", v)),
        }
    }

    pub(crate) fn path(&self, key: &str) -> Result<Option<&'a ObjectPath<'static>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Variant::ObjectPath(p)) => Ok(Some(p)),
            Some(v) => Err(self.wrong_type(key, "o", v)),
        }
    }

    pub(crate) fn strs(&self, key: &str) -> Result<Option<Vec<String>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                Vec::<String>::try_from(v.try_clone().map_err(|_| self.wrong_type(key, "as", v))?)
                    .map(Some)
                    .map_err(|_| self.wrong_type(key, "as", v))
            }
        }
    }

    pub(crate) fn cidr(&self, key: &str) -> Result<Option<Cidr>, Error> {
        self.str(key)?
            .map(|s| s.parse::<Cidr>().map_err(|e| self.invalid(key, e)))
            .transpose()
    }

    pub(crate) fn family(&self, key: &str) -> Result<Option<Family>, Error> {
        self.str(key)?
            .map(|s| {
                Family::parse(s).ok_or_else(|| {
                    self.invalid(key, format!("'{s}' is neither \"inet\" nor \"inet6\""))
                })
            })
            .transpose()
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

/// Refuses a prefix with host bits set, as `ip route` does.
fn no_host_bits(what: &str, c: &Cidr) -> Result<(), Error> {
    if c.has_host_bits() {
        return Err(invalid(format!(
            "{what} {c} has host bits set; did you mean {}?",
            c.network()
        )));
    }
    Ok(())
}

/// macvlan modes (`ip link add … type macvlan mode MODE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MacvlanMode {
    Private,
    Vepa,
    #[default]
    Bridge,
    Passthru,
    Source,
}

impl MacvlanMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MacvlanMode::Private => "private",
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Passthru => "passthru",
            MacvlanMode::Source => "source",
        }
    }
}

impl FromStr for MacvlanMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "private" => MacvlanMode::Private,
            "vepa" => MacvlanMode::Vepa,
            "bridge" => MacvlanMode::Bridge,
            "passthru" => MacvlanMode::Passthru,
            "source" => MacvlanMode::Source,
            _ => {
                return Err(format!(
                    "'{s}' is not a macvlan mode (bridge, private, vepa, passthru, source)"
                ));
            }
        })
    }
}

/// The options of the link-creating methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkOptions {
    pub mtu: Option<u32>,
    pub up: bool,
    pub stable_mac: bool,
    pub macvlan_mode: MacvlanMode,
    /// veth: bring the peer end up too.
    pub peer_up: bool,
}

impl LinkOptions {
    pub const KEYS: &'static [&'static str] = &["mtu", "up", "peer-up", "stable-mac", "mode"];

    /// Reads the options; `mode` is accepted for every kind and used by
    /// macvlan only.
    pub fn from_dict(dict: &HashMap<String, OwnedVariant>) -> Result<Self, Error> {
        let d = Dict::new(dict, "option", Self::KEYS)?;
        let mtu = d.u32("mtu")?;
        if let Some(m) = mtu {
            self::mtu(m).map_err(|e| d.invalid("mtu", e))?;
        }
        let macvlan_mode = match d.str("mode")? {
            Some(s) => s.parse().map_err(|e| d.invalid("mode", e))?,
            None => MacvlanMode::default(),
        };
        Ok(LinkOptions {
            mtu,
            up: d.bool("up")?.unwrap_or(false),
            stable_mac: d.bool("stable-mac")?.unwrap_or(false),
            macvlan_mode,
            peer_up: d.bool("peer-up")?.unwrap_or(false),
        })
    }
}

/// Route scopes a caller may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    Link,
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

    pub fn route_scope(self) -> RouteScope {
        match self {
            Scope::Global => RouteScope::Universe,
            Scope::Link => RouteScope::Link,
            Scope::Host => RouteScope::Host,
        }
    }
}

/// A route to add or remove: `ip route add DEST [via GW] [dev DEV] [table T]
/// [metric M] [scope S]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteSpec {
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

impl RouteSpec {
    pub const KEYS: &'static [&'static str] = &[
        "destination",
        "family",
        "gateway",
        "device",
        "table",
        "metric",
        "scope",
    ];

    /// Reads a route dictionary. `resolve_device` maps the `device` object
    /// path to an ifindex in this namespace, or answers the error to give
    /// (UnknownDevice, or InvalidArgument for a device of another namespace).
    pub fn from_dict(
        dict: &HashMap<String, OwnedVariant>,
        resolve_device: &dyn Fn(&str) -> Result<u32, Error>,
    ) -> Result<Self, Error> {
        let d = Dict::new(dict, "route key", Self::KEYS)?;
        let destination = match d.str("destination")? {
            None => {
                return Err(invalid(
                    "route key \"destination\" is required: a CIDR or \"default\"",
                ));
            }
            Some("default") => None,
            Some(s) => {
                let c: Cidr = s.parse().map_err(|e| d.invalid("destination", e))?;
                no_host_bits("destination", &c)?;
                Some(c)
            }
        };
        let gateway = match d.str("gateway")? {
            None => None,
            Some(s) => {
                let gw: IpAddr = s.parse().map_err(|_| {
                    d.invalid("gateway", format!("'{s}' is not an IPv4 or IPv6 address"))
                })?;
                if gw.is_unspecified() || gw.is_multicast() {
                    return Err(d.invalid("gateway", format!("{gw} is not a unicast address")));
                }
                Some(gw)
            }
        };
        let asked = d.family("family")?;
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
            .path("device")?
            .map(|p| resolve_device(p.as_str()))
            .transpose()?;
        if gateway.is_none() && oif.is_none() {
            return Err(invalid(format!(
                "the route to {dest_text} needs a \"gateway\" or a \"device\""
            )));
        }
        let table = d.u32("table")?.unwrap_or(TABLE_MAIN);
        if table == 0 {
            return Err(d.invalid("table", "0 is not a routing table"));
        }
        let scope = match d.str("scope")? {
            None => None,
            Some("global") => Some(Scope::Global),
            Some("link") => Some(Scope::Link),
            Some("host") => Some(Scope::Host),
            Some(s) => {
                return Err(d.invalid(
                    "scope",
                    format!("'{s}' is not a route scope (global, link, host)"),
                ));
            }
        };
        if let (Some(gw), Some(s @ (Scope::Link | Scope::Host))) = (gateway, scope) {
            return Err(invalid(format!(
                "a route via gateway {gw} cannot have scope {}",
                s.as_str()
            )));
        }
        Ok(RouteSpec {
            destination,
            family,
            gateway,
            oif,
            table,
            metric: d.u32("metric")?,
            scope,
        })
    }
}

impl fmt::Display for RouteSpec {
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

fn sv(s: impl Into<String>) -> OwnedVariant {
    OwnedVariant::try_from(Variant::from(s.into())).expect("a string variant is always owned")
}

fn route_address(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The table a route or rule is in: the 32-bit attribute when present,
/// else the 8-bit header field.
fn table_of(header: u8, attr: Option<u32>) -> u32 {
    attr.unwrap_or(u32::from(header))
}

/// The name `ip route` prints for a route protocol, or its number.
pub fn protocol_name(p: RouteProtocol) -> String {
    match p {
        RouteProtocol::Unspec => "unspec".into(),
        RouteProtocol::IcmpRedirect => "redirect".into(),
        RouteProtocol::Kernel => "kernel".into(),
        RouteProtocol::Boot => "boot".into(),
        RouteProtocol::Static => "static".into(),
        RouteProtocol::Ra => "ra".into(),
        RouteProtocol::Dhcp => "dhcp".into(),
        RouteProtocol::KeepAlived => "keepalived".into(),
        RouteProtocol::Babel => "babel".into(),
        RouteProtocol::Bird => "bird".into(),
        RouteProtocol::Zebra => "zebra".into(),
        RouteProtocol::Bgp => "bgp".into(),
        RouteProtocol::Isis => "isis".into(),
        RouteProtocol::Ospf => "ospf".into(),
        RouteProtocol::Rip => "rip".into(),
        RouteProtocol::Eigrp => "eigrp".into(),
        other if u8::from(other) == crate::netlink_ops::RTPROT_NETNSD => "netnsd".into(),
        other => u8::from(other).to_string(),
    }
}

fn scope_name(s: RouteScope) -> String {
    match s {
        RouteScope::Universe => "global".into(),
        RouteScope::Site => "site".into(),
        RouteScope::Link => "link".into(),
        RouteScope::Host => "host".into(),
        RouteScope::NoWhere => "nowhere".into(),
        other => u8::from(other).to_string(),
    }
}

fn route_type_name(t: RouteType) -> String {
    match t {
        RouteType::Unicast => "unicast".into(),
        RouteType::Local => "local".into(),
        RouteType::Broadcast => "broadcast".into(),
        RouteType::Anycast => "anycast".into(),
        RouteType::Multicast => "multicast".into(),
        RouteType::BlackHole => "blackhole".into(),
        RouteType::Unreachable => "unreachable".into(),
        RouteType::Prohibit => "prohibit".into(),
        RouteType::Throw => "throw".into(),
        RouteType::Nat => "nat".into(),
        other => u8::from(other).to_string(),
    }
}

/// A kernel route as GetRoutes answers it: the keys of [`RouteSpec`] plus
/// `protocol` (and `type` when not unicast). `device_path` maps an ifindex of
/// this namespace to its Device object; a device without one is left out.
pub fn route_to_dict(
    msg: &RouteMessage,
    device_path: &dyn Fn(u32) -> Option<OwnedObjectPath>,
) -> HashMap<String, OwnedVariant> {
    let h = &msg.header;
    let mut d = HashMap::new();
    let family = match h.address_family {
        AddressFamily::Inet6 => Family::V6,
        _ => Family::V4,
    };
    d.insert("family".into(), sv(family.as_str()));
    let mut destination = None;
    let mut table = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => destination = route_address(a),
            RouteAttribute::Gateway(a) => {
                if let Some(gw) = route_address(a) {
                    d.insert("gateway".into(), sv(gw.to_string()));
                }
            }
            RouteAttribute::Via(RouteVia::Inet6(gw)) => {
                d.insert("gateway".into(), sv(gw.to_string()));
            }
            RouteAttribute::Via(RouteVia::Inet(gw)) => {
                d.insert("gateway".into(), sv(gw.to_string()));
            }
            RouteAttribute::Oif(i) => {
                if let Some(p) = device_path(*i) {
                    d.insert("device".into(), OwnedVariant::from(p.into_inner()));
                }
            }
            RouteAttribute::Table(t) => table = Some(*t),
            RouteAttribute::Priority(m) => {
                d.insert("metric".into(), OwnedVariant::from(*m));
            }
            _ => {}
        }
    }
    let destination = match destination {
        Some(addr) if h.destination_prefix_length > 0 => Cidr {
            addr,
            prefix: h.destination_prefix_length,
        }
        .to_string(),
        _ => "default".into(),
    };
    d.insert("destination".into(), sv(destination));
    d.insert("table".into(), OwnedVariant::from(table_of(h.table, table)));
    d.insert("scope".into(), sv(scope_name(h.scope)));
    d.insert("protocol".into(), sv(protocol_name(h.protocol)));
    if h.kind != RouteType::Unicast {
        d.insert("type".into(), sv(route_type_name(h.kind)));
    }
    d
}

/// A policy-routing rule: `ip rule add [from C] [to C] [iif I] [oif O]
/// [fwmark M[/MASK]] lookup TABLE [pref P]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleSpec {
    pub family: Family,
    pub from: Option<Cidr>,
    pub to: Option<Cidr>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub table: u32,
    pub priority: Option<u32>,
}

impl RuleSpec {
    pub const KEYS: &'static [&'static str] = &[
        "family", "from", "to", "iif", "oif", "fwmark", "fwmask", "table", "priority",
    ];

    pub fn from_dict(dict: &HashMap<String, OwnedVariant>) -> Result<Self, Error> {
        let d = Dict::new(dict, "rule key", Self::KEYS)?;
        let from = d.cidr("from")?;
        let to = d.cidr("to")?;
        for (key, c) in [("from", &from), ("to", &to)] {
            if let Some(c) = c {
                no_host_bits(&format!("rule key \"{key}\""), c)?;
            }
        }
        if let (Some(f), Some(t)) = (&from, &to)
            && f.family() != t.family()
        {
            return Err(invalid(format!(
                "rule \"from\" {f} is {} but \"to\" {t} is {}",
                f.family(),
                t.family()
            )));
        }
        let asked = d.family("family")?;
        let family = from
            .or(to)
            .map(|c| c.family())
            .or(asked)
            .unwrap_or(Family::V4);
        if let Some(a) = asked.filter(|&a| a != family) {
            return Err(invalid(format!(
                "rule key \"family\" is \"{}\" but the rule's addresses are {family}",
                a.as_str()
            )));
        }
        let name = |key: &str| -> Result<Option<String>, Error> {
            let n = d.str(key)?;
            if let Some(n) = n {
                ifname(n).map_err(|e| d.invalid(key, e))?;
            }
            Ok(n.map(str::to_owned))
        };
        let iif = name("iif")?;
        let oif = name("oif")?;
        let fwmark = d.u32("fwmark")?;
        let fwmask = d.u32("fwmask")?;
        if fwmask.is_some() && fwmark.is_none() {
            return Err(invalid(
                "rule key \"fwmask\" needs \"fwmark\": a mask alone matches nothing",
            ));
        }
        let table = match d.u32("table")? {
            None => return Err(invalid("rule key \"table\" is required")),
            Some(0) => return Err(d.invalid("table", "0 is not a routing table")),
            Some(t) => t,
        };
        Ok(RuleSpec {
            family,
            from,
            to,
            iif,
            oif,
            fwmark,
            fwmask,
            table,
            priority: d.u32("priority")?,
        })
    }
}

impl fmt::Display for RuleSpec {
    /// In `ip rule` syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.priority {
            write!(f, "pref {p} ")?;
        }
        match self.from {
            Some(c) => write!(f, "from {c}")?,
            None => write!(f, "from all ({})", self.family.as_str())?,
        }
        if let Some(c) = self.to {
            write!(f, " to {c}")?;
        }
        if let Some(i) = &self.iif {
            write!(f, " iif {i}")?;
        }
        if let Some(o) = &self.oif {
            write!(f, " oif {o}")?;
        }
        if let Some(m) = self.fwmark {
            write!(f, " fwmark {m:#x}")?;
            if let Some(k) = self.fwmask {
                write!(f, "/{k:#x}")?;
            }
        }
        write!(f, " lookup {}", self.table)
    }
}

fn rule_action_name(a: RuleAction) -> String {
    match a {
        RuleAction::ToTable => "lookup".into(),
        RuleAction::Goto => "goto".into(),
        RuleAction::Nop => "nop".into(),
        RuleAction::Blackhole => "blackhole".into(),
        RuleAction::Unreachable => "unreachable".into(),
        RuleAction::Prohibit => "prohibit".into(),
        other => u8::from(other).to_string(),
    }
}

/// A kernel rule as GetRules answers it: the keys of [`RuleSpec`], plus
/// `action` when it is not a table lookup and `invert` when set.
pub fn rule_to_dict(msg: &RuleMessage) -> HashMap<String, OwnedVariant> {
    let h = &msg.header;
    let mut d = HashMap::new();
    let family = match h.family {
        AddressFamily::Inet6 => Family::V6,
        _ => Family::V4,
    };
    d.insert("family".into(), sv(family.as_str()));
    let mut table = None;
    for attr in &msg.attributes {
        match attr {
            RuleAttribute::Source(a) => {
                let c = Cidr {
                    addr: *a,
                    prefix: h.src_len,
                };
                d.insert("from".into(), sv(c.to_string()));
            }
            RuleAttribute::Destination(a) => {
                let c = Cidr {
                    addr: *a,
                    prefix: h.dst_len,
                };
                d.insert("to".into(), sv(c.to_string()));
            }
            RuleAttribute::Iifname(n) => {
                d.insert("iif".into(), sv(n.clone()));
            }
            RuleAttribute::Oifname(n) => {
                d.insert("oif".into(), sv(n.clone()));
            }
            RuleAttribute::FwMark(m) => {
                d.insert("fwmark".into(), OwnedVariant::from(*m));
            }
            RuleAttribute::FwMask(m) => {
                d.insert("fwmask".into(), OwnedVariant::from(*m));
            }
            RuleAttribute::Table(t) => table = Some(*t),
            RuleAttribute::Priority(p) => {
                d.insert("priority".into(), OwnedVariant::from(*p));
            }
            _ => {}
        }
    }
    // The kernel leaves FRA_PRIORITY out for priority 0 (the local rule).
    d.entry("priority".into())
        .or_insert_with(|| OwnedVariant::from(0u32));
    let table = table_of(h.table, table);
    if table != 0 {
        d.insert("table".into(), OwnedVariant::from(table));
    }
    if h.action != RuleAction::ToTable {
        d.insert("action".into(), sv(rule_action_name(h.action)));
    }
    if h.flags.contains(RuleFlags::Invert) {
        d.insert("invert".into(), OwnedVariant::from(true));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::route::RouteHeader;

    fn dict(entries: &[(&str, OwnedVariant)]) -> HashMap<String, OwnedVariant> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.try_clone().unwrap()))
            .collect()
    }

    fn s(v: &str) -> OwnedVariant {
        sv(v)
    }

    fn u(v: u32) -> OwnedVariant {
        OwnedVariant::from(v)
    }

    fn o(v: &str) -> OwnedVariant {
        OwnedVariant::from(ObjectPath::try_from(v.to_string()).unwrap())
    }

    /// Asserts an InvalidArgument whose message contains every one of `words`.
    #[track_caller]
    fn assert_invalid<T: fmt::Debug>(r: Result<T, Error>, words: &[&str]) {
        match r {
            Err(Error::InvalidArgument(m)) => {
                for w in words {
                    assert!(m.contains(w), "{m:?} should mention {w:?}");
                }
            }
            other => panic!("expected InvalidArgument mentioning {words:?}, got {other:?}"),
        }
    }

    fn v4(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    #[test]
    fn cidr_parses() {
        let c: Cidr = "10.0.0.1/24".parse().unwrap();
        assert_eq!(
            c,
            Cidr {
                addr: v4("10.0.0.1"),
                prefix: 24
            }
        );
        assert_eq!(c.family(), Family::V4);
        assert_eq!(c.to_string(), "10.0.0.1/24");
        assert_eq!(c.network().to_string(), "10.0.0.0/24");
        assert!(c.has_host_bits());

        let c: Cidr = "fd00::1/64".parse().unwrap();
        assert_eq!(c.family(), Family::V6);
        assert_eq!(c.network().to_string(), "fd00::/64");

        assert_eq!("10.0.0.1".parse::<Cidr>().unwrap().prefix, 32);
        assert_eq!("fd00::1".parse::<Cidr>().unwrap().prefix, 128);
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        let zero: Cidr = "192.168.1.7/0".parse().unwrap();
        assert_eq!(zero.network().to_string(), "0.0.0.0/0");
        let full: Cidr = "192.168.1.7/32".parse().unwrap();
        assert!(!full.has_host_bits());
        let v6zero: Cidr = "fd00::7/0".parse().unwrap();
        assert_eq!(v6zero.network().to_string(), "::/0");
    }

    #[test]
    fn cidr_refuses() {
        for (bad, word) in [
            ("", "empty"),
            ("10.0.0.256/24", "not an IPv4 or IPv6 address"),
            ("nonsense", "not an IPv4 or IPv6 address"),
            ("10.0.0.1/33", "longer than the 32 bits"),
            ("fd00::1/129", "longer than the 128 bits"),
            ("10.0.0.1/", "not a number"),
            ("10.0.0.1/x", "not a number"),
            ("10.0.0.1/-1", "not a number"),
            ("10.0.0.1/99999", "not a number"),
            ("10.0.0.1/24/1", "not a number"),
            (" 10.0.0.1/24", "not an IPv4 or IPv6 address"),
            ("fe80::1%eth0/64", "not an IPv4 or IPv6 address"),
        ] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.contains(word), "{bad:?}: {e:?} should say {word:?}");
        }
    }

    #[test]
    fn ifnames() {
        for good in ["eth0", "veth-ns1", "a", "fifteen-chars-x", "wg.0", "tun_1"] {
            assert_eq!(ifname(good), Ok(()), "{good}");
        }
        for (bad, word) in [
            ("", "empty"),
            ("sixteen-chars-xx", "at most 15"),
            (".", "not a valid"),
            ("..", "not a valid"),
            ("a/b", "'/'"),
            ("a:b", "':'"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\x0bb", "whitespace"),
            ("veth%d", "'%'"),
            ("a\0b", "NUL"),
            // U+00E0 is C3 A0 in UTF-8; the kernel's isspace() takes 0xa0.
            ("\u{e0}", "whitespace"),
        ] {
            let e = ifname(bad).unwrap_err();
            assert!(e.contains(word), "{bad:?}: {e:?} should say {word:?}");
        }
    }

    #[test]
    fn mtus() {
        assert!(mtu(68).is_ok());
        assert!(mtu(1500).is_ok());
        assert!(mtu(65535).is_ok());
        for bad in [0, 67, 65536] {
            let e = mtu(bad).unwrap_err();
            assert!(e.contains("68 (the IPv4 minimum)"), "{e}");
        }
    }

    #[test]
    fn stable_macs() {
        let a = stable_mac("vpn1", "veth0");
        assert_eq!(a, stable_mac("vpn1", "veth0"));
        assert_eq!(a[0] & 0x01, 0, "unicast");
        assert_eq!(a[0] & 0x02, 0x02, "locally administered");
        assert_ne!(a, stable_mac("vpn2", "veth0"));
        assert_ne!(a, stable_mac("vpn1", "veth1"));
        assert_ne!(stable_mac("ab", "c"), stable_mac("a", "bc"));
        // Pinned (computed independently): a change here changes every
        // stable address in the field.
        assert_eq!(format_mac(&a), "c6:33:21:34:58:79");
        // FNV-1a's published test vectors.
        assert_eq!(fnv1a64(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(&[b"foobar"]), 0x8594_4171_f739_67e8);
        for i in 0..200 {
            let m = stable_mac(&format!("ns{i}"), "eth0");
            assert_eq!(m[0] & 0x03, 0x02, "{}", format_mac(&m));
        }
    }

    #[test]
    fn macs_format() {
        assert_eq!(
            format_mac(&[0x02, 0xAB, 0, 1, 0x10, 0xff]),
            "02:ab:00:01:10:ff"
        );
        assert_eq!(format_mac(&[]), "");
    }

    #[test]
    fn link_options() {
        assert_eq!(
            LinkOptions::from_dict(&HashMap::new()).unwrap(),
            LinkOptions {
                mtu: None,
                up: false,
                stable_mac: false,
                macvlan_mode: MacvlanMode::Bridge,
                peer_up: false,
            }
        );
        let o = LinkOptions::from_dict(&dict(&[
            ("mtu", u(1400)),
            ("up", OwnedVariant::from(true)),
            ("stable-mac", OwnedVariant::from(true)),
            ("mode", s("private")),
        ]))
        .unwrap();
        assert_eq!(o.mtu, Some(1400));
        assert!(o.up && o.stable_mac);
        assert_eq!(o.macvlan_mode, MacvlanMode::Private);
        for m in ["bridge", "private", "vepa", "passthru", "source"] {
            let o = LinkOptions::from_dict(&dict(&[("mode", s(m))])).unwrap();
            assert_eq!(o.macvlan_mode.as_str(), m);
        }
    }

    #[test]
    fn link_options_refuse() {
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", s("1400"))])),
            &["option \"mtu\" must be u (uint32)", "not s"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", OwnedVariant::from(1400i32))])),
            &["option \"mtu\" must be u (uint32)", "not i"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", u(67))])),
            &["\"mtu\"", "68 (the IPv4 minimum)"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", u(70000))])),
            &["\"mtu\"", "65535"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("up", u(1))])),
            &["option \"up\" must be b (boolean)"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("stable-mac", s("yes"))])),
            &["option \"stable-mac\" must be b (boolean)"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mode", s("fast"))])),
            &["option \"mode\"", "'fast' is not a macvlan mode"],
        );
        assert_invalid(
            LinkOptions::from_dict(&dict(&[("mtu", u(1400)), ("colour", s("red"))])),
            &["unknown option \"colour\"", "mtu"],
        );
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

    fn route(entries: &[(&str, OwnedVariant)]) -> Result<RouteSpec, Error> {
        RouteSpec::from_dict(&dict(entries), &resolver)
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
            RouteSpec {
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

    fn kernel_route() -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = 24;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Kernel;
        m.header.scope = RouteScope::Link;
        m.header.kind = RouteType::Unicast;
        m.attributes = vec![
            RouteAttribute::Table(254),
            RouteAttribute::Destination(RouteAddress::Inet("10.0.0.0".parse().unwrap())),
            RouteAttribute::Oif(3),
            RouteAttribute::PrefSource(RouteAddress::Inet("10.0.0.1".parse().unwrap())),
        ];
        m
    }

    fn get_str(d: &HashMap<String, OwnedVariant>, k: &str) -> String {
        match &**d.get(k).unwrap_or_else(|| panic!("no {k} in {d:?}")) {
            Variant::Str(s) => s.as_str().to_owned(),
            other => panic!("{k} is {other:?}"),
        }
    }

    fn get_u32(d: &HashMap<String, OwnedVariant>, k: &str) -> u32 {
        u32::try_from(d.get(k).unwrap_or_else(|| panic!("no {k} in {d:?}"))).unwrap()
    }

    #[test]
    fn routes_to_dicts() {
        let path = |i: u32| {
            (i == 3).then(|| OwnedObjectPath::try_from("/net/netnsd/Netns1/Devices/7").unwrap())
        };
        let d = route_to_dict(&kernel_route(), &path);
        assert_eq!(get_str(&d, "destination"), "10.0.0.0/24");
        assert_eq!(get_str(&d, "family"), "inet");
        assert_eq!(get_str(&d, "scope"), "link");
        assert_eq!(get_str(&d, "protocol"), "kernel");
        assert_eq!(get_u32(&d, "table"), 254);
        match &**d.get("device").unwrap() {
            Variant::ObjectPath(p) => assert_eq!(p.as_str(), "/net/netnsd/Netns1/Devices/7"),
            other => panic!("device is {other:?}"),
        }
        assert!(!d.contains_key("gateway") && !d.contains_key("metric"));
        assert!(!d.contains_key("type"));

        // A default route in a big table, via a gateway on a device without a
        // Device object, with a metric.
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet6;
        m.header.table = 0;
        m.header.protocol = RouteProtocol::Static;
        m.header.kind = RouteType::Unicast;
        m.attributes = vec![
            RouteAttribute::Table(1000),
            RouteAttribute::Gateway(RouteAddress::Inet6("fe80::1".parse().unwrap())),
            RouteAttribute::Oif(9),
            RouteAttribute::Priority(1024),
        ];
        let d = route_to_dict(&m, &path);
        assert_eq!(get_str(&d, "destination"), "default");
        assert_eq!(get_str(&d, "family"), "inet6");
        assert_eq!(get_str(&d, "gateway"), "fe80::1");
        assert_eq!(get_str(&d, "scope"), "global");
        assert_eq!(get_str(&d, "protocol"), "static");
        assert_eq!(get_u32(&d, "table"), 1000);
        assert_eq!(get_u32(&d, "metric"), 1024);
        assert!(!d.contains_key("device"));

        // Non-unicast routes say so; unknown protocols are numbers.
        let mut m = kernel_route();
        m.header.kind = RouteType::Unreachable;
        m.header.protocol = RouteProtocol::from(99);
        let d = route_to_dict(&m, &path);
        assert_eq!(get_str(&d, "type"), "unreachable");
        assert_eq!(get_str(&d, "protocol"), "99");
    }

    /// What GetRoutes answers reads back as a RouteSpec, once the output-only
    /// keys are dropped.
    #[test]
    fn route_dict_round_trip() {
        let path = |i: u32| OwnedObjectPath::try_from(format!("/dev/{i}")).ok();
        let mut d = route_to_dict(&kernel_route(), &path);
        d.remove("protocol");
        let r = RouteSpec::from_dict(&d, &resolver).unwrap();
        assert_eq!(r.destination, Some("10.0.0.0/24".parse().unwrap()));
        assert_eq!((r.oif, r.table, r.scope), (Some(3), 254, Some(Scope::Link)));
    }

    fn rule(entries: &[(&str, OwnedVariant)]) -> Result<RuleSpec, Error> {
        RuleSpec::from_dict(&dict(entries))
    }

    #[test]
    fn rules() {
        let r = rule(&[
            ("from", s("10.8.0.0/24")),
            ("to", s("192.168.0.0/16")),
            ("iif", s("veth0")),
            ("oif", s("tun0")),
            ("fwmark", u(0x10)),
            ("fwmask", u(0xff)),
            ("table", u(100)),
            ("priority", u(1000)),
        ])
        .unwrap();
        assert_eq!(
            r,
            RuleSpec {
                family: Family::V4,
                from: Some("10.8.0.0/24".parse().unwrap()),
                to: Some("192.168.0.0/16".parse().unwrap()),
                iif: Some("veth0".into()),
                oif: Some("tun0".into()),
                fwmark: Some(0x10),
                fwmask: Some(0xff),
                table: 100,
                priority: Some(1000),
            }
        );
        assert_eq!(
            r.to_string(),
            "pref 1000 from 10.8.0.0/24 to 192.168.0.0/16 iif veth0 oif tun0 \
             fwmark 0x10/0xff lookup 100"
        );
        let r = rule(&[("table", u(7))]).unwrap();
        assert_eq!((r.family, r.from, r.priority), (Family::V4, None, None));
        let r = rule(&[("table", u(7)), ("family", s("inet6"))]).unwrap();
        assert_eq!(r.family, Family::V6);
        let r = rule(&[("table", u(7)), ("to", s("fd00::/8"))]).unwrap();
        assert_eq!(r.family, Family::V6);
        let r = rule(&[("table", u(7)), ("from", s("10.0.0.5"))]).unwrap();
        assert_eq!(r.from.unwrap().prefix, 32);
        let r = rule(&[("table", u(100_000)), ("fwmark", u(1))]).unwrap();
        assert_eq!((r.table, r.fwmark, r.fwmask), (100_000, Some(1), None));
    }

    #[test]
    fn rules_refuse() {
        assert_invalid(
            rule(&[("from", s("10.0.0.0/8"))]),
            &["\"table\"", "required"],
        );
        assert_invalid(
            rule(&[("table", u(0))]),
            &["rule key \"table\"", "0 is not"],
        );
        assert_invalid(
            rule(&[
                ("table", u(1)),
                ("from", s("10.0.0.0/8")),
                ("to", s("fd00::/8")),
            ]),
            &["\"from\" 10.0.0.0/8 is IPv4", "\"to\" fd00::/8 is IPv6"],
        );
        assert_invalid(
            rule(&[
                ("table", u(1)),
                ("from", s("10.0.0.0/8")),
                ("family", s("inet6")),
            ]),
            &["\"family\" is \"inet6\"", "IPv4"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("fwmask", u(0xff))]),
            &["\"fwmask\" needs \"fwmark\""],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("from", s("10.0.0.1/8"))]),
            &["rule key \"from\" 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("to", s("10.0.0/8"))]),
            &["rule key \"to\"", "'10.0.0'"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("iif", s("much-too-long-name"))]),
            &["rule key \"iif\"", "at most 15"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("oif", s("a/b"))]),
            &["rule key \"oif\"", "'/'"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("iif", o("/dev/1"))]),
            &["rule key \"iif\" must be s (string)"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("fwmark", s("0x10"))]),
            &["rule key \"fwmark\" must be u (uint32)"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("priority", OwnedVariant::from(-1i32))]),
            &["rule key \"priority\" must be u (uint32)"],
        );
        assert_invalid(
            rule(&[("table", u(1)), ("lookup", u(1))]),
            &["unknown rule key \"lookup\"", "table"],
        );
    }

    #[test]
    fn rules_to_dicts() {
        let mut m = RuleMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.src_len = 24;
        m.header.table = 100;
        m.header.action = RuleAction::ToTable;
        m.attributes = vec![
            RuleAttribute::Table(100),
            RuleAttribute::Priority(1000),
            RuleAttribute::Source("10.8.0.0".parse().unwrap()),
            RuleAttribute::Iifname("veth0".into()),
            RuleAttribute::FwMark(0x10),
            RuleAttribute::FwMask(0xff),
        ];
        let d = rule_to_dict(&m);
        assert_eq!(get_str(&d, "family"), "inet");
        assert_eq!(get_str(&d, "from"), "10.8.0.0/24");
        assert_eq!(get_str(&d, "iif"), "veth0");
        assert_eq!(get_u32(&d, "table"), 100);
        assert_eq!(get_u32(&d, "priority"), 1000);
        assert_eq!(get_u32(&d, "fwmark"), 0x10);
        assert_eq!(get_u32(&d, "fwmask"), 0xff);
        assert!(!d.contains_key("action") && !d.contains_key("invert"));
        assert!(!d.contains_key("to") && !d.contains_key("oif"));
        // It reads back as the same rule.
        let r = RuleSpec::from_dict(&d).unwrap();
        assert_eq!(
            r.to_string(),
            "pref 1000 from 10.8.0.0/24 iif veth0 fwmark 0x10/0xff lookup 100"
        );

        let mut m = RuleMessage::default();
        m.header.family = AddressFamily::Inet6;
        m.header.action = RuleAction::Unreachable;
        m.header.flags = RuleFlags::Invert;
        let d = rule_to_dict(&m);
        assert_eq!(get_str(&d, "family"), "inet6");
        assert_eq!(get_str(&d, "action"), "unreachable");
        assert!(bool::try_from(d.get("invert").unwrap()).unwrap());
        assert!(!d.contains_key("table"));
        assert_eq!(get_u32(&d, "priority"), 0);
    }
}
