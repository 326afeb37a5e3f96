//! Routes and rules as nsctl sends and shows them: the command-line values
//! (tables, firewall marks), the `a{sv}` dictionaries of AddRoute/RemoveRoute
//! and AddRule/RemoveRule, and the dictionaries GetRoutes and GetRules answer
//! with, read into [`Route`] and [`Rule`] for display. The keys, and the
//! reading of the answers, are netnsd-api's ([`netnsd_api::route`],
//! [`netnsd_api::rule`]).
//!
//! The daemon checks every value (prefixes, host bits, families, interface
//! names) and is the authority; nsctl only puts the keys together.

use std::collections::{BTreeMap, HashMap};

use netnsd_api::route::{self, RouteEntry};
use netnsd_api::rule::{self, RuleEntry};
use serde::Serialize;
use serde_json::Value;
use zbus::wire::{ObjectPath, OwnedVariant, Variant};

use crate::cli::{RouteArgs, RuleArgs};
use crate::error::CliError;

/// The main table, where `ip route` and nsctl put routes unless told otherwise.
pub use netnsd_api::route::TABLE_MAIN;
/// A dictionary as the platform methods take it (`a{sv}`).
pub type Dict = HashMap<&'static str, Variant<'static>>;

fn string(s: &str) -> Variant<'static> {
    Variant::from(s.to_owned())
}

/// A prefix on the command line, where `all` means any (as `ip rule from all`).
fn prefix(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| *s != "all")
}

/// The dictionary of AddRoute/RemoveRoute for `nsctl route add|del`, with
/// the device already resolved to its object path.
pub fn route_dict(args: &RouteArgs, device: Option<ObjectPath<'static>>) -> Dict {
    use route::key;
    let mut d = Dict::new();
    d.insert(key::DESTINATION, string(&args.destination));
    if let Some(gw) = &args.via {
        d.insert(key::GATEWAY, string(gw));
    }
    if let Some(p) = device {
        d.insert(key::DEVICE, Variant::from(p));
    }
    if let Some(t) = args.table {
        d.insert(key::TABLE, Variant::from(t));
    }
    if let Some(m) = args.metric {
        d.insert(key::METRIC, Variant::from(m));
    }
    if let Some(s) = args.scope {
        d.insert(key::SCOPE, string(s.as_str()));
    }
    if let Some(f) = args.family.family() {
        d.insert(key::FAMILY, string(f));
    }
    d
}

/// The dictionary of AddRule/RemoveRule for `nsctl rule add|del`.
pub fn rule_dict(args: &RuleArgs) -> Dict {
    use rule::key;
    let mut d = Dict::new();
    d.insert(key::TABLE, Variant::from(args.table));
    if let Some(c) = prefix(&args.from) {
        d.insert(key::FROM, string(c));
    }
    if let Some(c) = prefix(&args.to) {
        d.insert(key::TO, string(c));
    }
    if let Some(i) = &args.iif {
        d.insert(key::IIF, string(i));
    }
    if let Some(o) = &args.oif {
        d.insert(key::OIF, string(o));
    }
    if let Some(m) = args.fwmark {
        d.insert(key::FWMARK, Variant::from(m.mark));
        if let Some(k) = m.mask {
            d.insert(key::FWMASK, Variant::from(k));
        }
    }
    if let Some(p) = args.priority {
        d.insert(key::PRIORITY, Variant::from(p));
    }
    if let Some(f) = args.family.family() {
        d.insert(key::FAMILY, string(f));
    }
    d
}

/// The keys this nsctl does not know, for JSON, so that a newer daemon's
/// additions reach scripts.
fn rest(dict: HashMap<String, OwnedVariant>) -> BTreeMap<String, Value> {
    dict.into_iter()
        .map(|(k, v)| (k, variant_json(&v)))
        .collect()
}

/// A variant as JSON: numbers, strings and booleans as themselves, arrays
/// of them as arrays, anything else in D-Bus text form.
fn variant_json(v: &Variant<'_>) -> Value {
    match v {
        Variant::Bool(b) => Value::from(*b),
        Variant::U8(n) => Value::from(*n),
        Variant::I16(n) => Value::from(*n),
        Variant::U16(n) => Value::from(*n),
        Variant::I32(n) => Value::from(*n),
        Variant::U32(n) => Value::from(*n),
        Variant::I64(n) => Value::from(*n),
        Variant::U64(n) => Value::from(*n),
        Variant::F64(n) => Value::from(*n),
        Variant::Str(s) => Value::from(s.as_str()),
        Variant::ObjectPath(p) => Value::from(p.as_str()),
        Variant::Variant(inner) => variant_json(inner),
        Variant::Array(a) => Value::Array(a.iter().map(variant_json).collect()),
        other => Value::from(other.to_string()),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One route of GetRoutes. The field order is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    /// A prefix, or `default`.
    pub destination: String,
    /// `inet` or `inet6`.
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The interface name of the output device, resolved by nsctl.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The Device object of the output device, as netnsd gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_object: Option<String>,
    pub table: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Only for routes that are not unicast: unreachable, blackhole, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Route {
    /// Reads a GetRoutes dictionary; `device_name` gives the interface name
    /// of a Device object path.
    pub fn from_dict(
        dict: HashMap<String, OwnedVariant>,
        device_name: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, CliError> {
        let (e, other) = RouteEntry::from_dict(dict).map_err(CliError::from_bus)?;
        let device_object = e.device.map(|p| p.as_str().to_owned());
        Ok(Route {
            destination: e
                .destination
                .map_or_else(|| route::DEFAULT.into(), |c| c.to_string()),
            family: e.family.as_str().into(),
            gateway: e.gateway.map(|gw| gw.to_string()),
            device: device_object.as_deref().and_then(device_name),
            device_object,
            table: e.table,
            metric: e.metric,
            scope: e.scope,
            protocol: e.protocol,
            kind: e.kind,
            other: rest(other),
        })
    }
}

/// One rule of GetRules. The field order is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub priority: u32,
    /// `inet` or `inet6`.
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// Only when the rule does not look up a table: blackhole, goto, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub invert: bool,
    /// Who installed it: kernel, boot, netnsd, ... or the number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Rule {
    pub fn from_dict(dict: HashMap<String, OwnedVariant>) -> Result<Self, CliError> {
        let (e, other) = RuleEntry::from_dict(dict).map_err(CliError::from_bus)?;
        Ok(Rule {
            priority: e.priority,
            family: e.family.as_str().into(),
            from: e.from.map(|c| c.to_string()),
            to: e.to.map(|c| c.to_string()),
            iif: e.iif,
            oif: e.oif,
            fwmark: e.fwmark,
            fwmask: e.fwmask,
            table: e.table,
            action: e.action,
            invert: e.invert,
            protocol: e.protocol,
            other: rest(other),
        })
    }
}

/// IPv4 before IPv6, each in the order netnsd gave (the kernel's).
pub fn family_order(family: &str) -> u8 {
    match family {
        "inet" => 0,
        "inet6" => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{FamilyOpt, NetnsOpt, Scope};
    use crate::tables::Fwmark;

    fn route_args(dest: &str) -> RouteArgs {
        RouteArgs {
            destination: dest.into(),
            via: None,
            dev: None,
            table: None,
            metric: None,
            scope: None,
            family: FamilyOpt::default(),
            netns: NetnsOpt {
                netns: "rootns".into(),
            },
        }
    }

    fn keys(d: &Dict) -> Vec<&str> {
        let mut k: Vec<&str> = d.keys().copied().collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn route_dict_sends_only_what_was_given() {
        let d = route_dict(&route_args("default"), None);
        assert_eq!(keys(&d), ["destination"]);
        assert_eq!(d["destination"], Variant::from("default"));

        let mut a = route_args("10.1.0.0/16");
        a.via = Some("10.0.0.1".into());
        a.table = Some(100);
        a.metric = Some(5);
        a.scope = Some(Scope::Global);
        a.family.inet = true;
        let dev = ObjectPath::try_from("/net/netnsd/Netns1/Devices/3").unwrap();
        let d = route_dict(&a, Some(dev.clone()));
        assert_eq!(
            keys(&d),
            [
                "destination",
                "device",
                "family",
                "gateway",
                "metric",
                "scope",
                "table"
            ]
        );
        assert_eq!(d["device"], Variant::from(dev));
        assert_eq!(d["table"], Variant::from(100u32));
        assert_eq!(d["metric"], Variant::from(5u32));
        assert_eq!(d["scope"], Variant::from("global"));
        assert_eq!(d["family"], Variant::from("inet"));
        assert_eq!(d["gateway"], Variant::from("10.0.0.1"));

        let mut a = route_args("default");
        a.family.inet6 = true;
        assert_eq!(route_dict(&a, None)["family"], Variant::from("inet6"));
    }

    fn rule_args() -> RuleArgs {
        RuleArgs {
            from: None,
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            table: 100,
            priority: None,
            family: FamilyOpt::default(),
            netns: NetnsOpt {
                netns: "rootns".into(),
            },
        }
    }

    #[test]
    fn rule_dict_sends_only_what_was_given() {
        let d = rule_dict(&rule_args());
        assert_eq!(keys(&d), ["table"]);
        assert_eq!(d["table"], Variant::from(100u32));

        let mut a = rule_args();
        a.from = Some("10.0.0.0/24".into());
        a.to = Some("all".into());
        a.iif = Some("veth0".into());
        a.oif = Some("tun0".into());
        a.fwmark = Some(Fwmark {
            mark: 1,
            mask: Some(0xff),
        });
        a.priority = Some(1000);
        a.family.inet6 = true;
        let d = rule_dict(&a);
        assert_eq!(
            keys(&d),
            [
                "family", "from", "fwmark", "fwmask", "iif", "oif", "priority", "table"
            ]
        );
        assert_eq!(d["from"], Variant::from("10.0.0.0/24"));
        assert_eq!(d["fwmask"], Variant::from(255u32));
        assert_eq!(d["priority"], Variant::from(1000u32));
        assert_eq!(d["family"], Variant::from("inet6"));

        let mut a = rule_args();
        a.fwmark = Some(Fwmark {
            mark: 7,
            mask: None,
        });
        assert_eq!(keys(&rule_dict(&a)), ["fwmark", "table"]);
    }

    pub(crate) fn owned(entries: Vec<(&str, Variant<'static>)>) -> HashMap<String, OwnedVariant> {
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), OwnedVariant::try_from(v).unwrap()))
            .collect()
    }

    #[test]
    fn routes_are_read_with_device_names() {
        let dev = ObjectPath::try_from("/net/netnsd/Netns1/Devices/3").unwrap();
        let d = owned(vec![
            ("destination", Variant::from("10.0.0.0/24")),
            ("family", Variant::from("inet")),
            ("device", Variant::from(dev)),
            ("table", Variant::from(254u32)),
            ("scope", Variant::from("link")),
            ("protocol", Variant::from("kernel")),
            ("future", Variant::from(7u32)),
        ]);
        let r = Route::from_dict(d, &|p| {
            (p == "/net/netnsd/Netns1/Devices/3").then(|| "veth0".to_owned())
        })
        .unwrap();
        assert_eq!(r.device.as_deref(), Some("veth0"));
        assert_eq!(
            r.device_object.as_deref(),
            Some("/net/netnsd/Netns1/Devices/3")
        );
        assert_eq!(r.scope.as_deref(), Some("link"));
        assert_eq!(r.other["future"], Value::from(7));

        let bad = owned(vec![("table", Variant::from("main"))]);
        let e = Route::from_dict(bad, &|_| None).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: route key \"table\" is not of type u"
        );
    }

    #[test]
    fn rules_are_read() {
        let d = owned(vec![
            ("family", Variant::from("inet")),
            ("priority", Variant::from(32766u32)),
            ("table", Variant::from(254u32)),
        ]);
        let r = Rule::from_dict(d).unwrap();
        assert_eq!((r.priority, r.table, r.invert), (32766, Some(254), false));
        assert!(r.from.is_none() && r.action.is_none());
    }

    #[test]
    fn unknown_values_become_json() {
        assert_eq!(variant_json(&Variant::from(true)), Value::from(true));
        assert_eq!(variant_json(&Variant::from(-3i32)), Value::from(-3));
        assert_eq!(variant_json(&Variant::from("x")), Value::from("x"));
        assert_eq!(
            variant_json(&Variant::from(vec!["a".to_owned(), "b".to_owned()])),
            serde_json::json!(["a", "b"])
        );
    }
}
