//! `nsctl monitor`: netnsd's signals as they happen, one line each (or one
//! JSON object a line with --json), as `nmcli monitor` and `ip monitor` do.
//!
//! One match rule takes every signal netnsd sends (the ObjectManager's
//! InterfacesAdded/InterfacesRemoved, PropertiesChanged, and its own), a
//! second one netnsd leaving or joining the bus. The objects' names are
//! read once with GetManagedObjects, after subscribing so nothing falls
//! between, and kept current from the signals, so a line says
//! "device veth0 in blue" rather than an object path.
//!
//! Signals that only repeat what the ObjectManager's say
//! (NetworkNamespaceAdded/Removed, NetnsDeviceAdded/Removed and their
//! Internal kin, NewConnection, ConnectionRemoved, Removed), the list
//! properties that change with them, and the State properties that
//! StateChanged/VpnStateChanged carry with their reason, print no line of
//! their own, nor does a property whose value did not change. [`Monitor::message`] decides; the loop in [`exec`] only reads and
//! prints.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::num::NonZeroUsize;

use futures::StreamExt;
use netnsd_api::state::{active as st, reason, vpn as vs};
use netnsd_api::{
    ACTIVE_INTERFACE, ACTIVE_PATH_PREFIX, BUS_NAME, CONNECTION_INTERFACE, CONTROLLER_PATH,
    DEVICE_INTERFACE, DEVICE_PATH_PREFIX, INSTANCE_INTERFACE, NAMESPACE_PATH_PREFIX, SETTINGS_PATH,
    VPN_INTERFACE,
};
use serde_json::{Map, Value, json};
use zbus::message::Type;
use zbus::wire::{OwnedObjectPath, OwnedVariant};
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::active::ManagedObjects;
use crate::cmd::managed_objects;
use crate::error::{CliError, Kind};
use crate::profile::variant_json;

const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// Signals that may wait in nsctl's queue while it prints.
const QUEUED_SIGNALS: usize = 65536;

/// What `nsctl monitor` prints on stderr once it listens, as `busctl
/// monitor` does: from then on no signal is missed.
pub const READY: &str = "Monitoring netnsd; Ctrl-C to stop.";

pub async fn exec(conn: &Connection, json: bool) -> Result<u8, CliError> {
    let queued = NonZeroUsize::new(QUEUED_SIGNALS);
    let rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(BUS_NAME)
        .build()?;
    let signals = MessageStream::for_match_rule(rule, conn, queued).await?;
    let rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender("org.freedesktop.DBus")
        .interface("org.freedesktop.DBus")
        .member("NameOwnerChanged")
        .add_arg(BUS_NAME)
        .build()?;
    let owner = MessageStream::for_match_rule(rule, conn, queued).await?;

    let mut monitor = Monitor::default();
    let mut out = std::io::stdout();
    match managed_objects(conn).await {
        Ok(objects) => monitor.learn_all(&objects),
        Err(e) if e.exit_code() == Kind::Unreachable.exit_code() => {
            if !emit(&mut out, &Monitor::daemon_event(false), json) {
                return Ok(0);
            }
        }
        Err(e) => return Err(e),
    }
    eprintln!("{READY}");

    let mut messages = futures::stream::select(signals, owner);
    while let Some(msg) = messages.next().await {
        let Ok(msg) = msg else { continue };
        let event = if is_owner_change(&msg) {
            let started = msg
                .body()
                .deserialize::<(String, String, String)>()
                .map(|(_, _, new)| !new.is_empty())
                .unwrap_or(false);
            if started {
                monitor = Monitor::default();
                if let Ok(objects) = managed_objects(conn).await {
                    monitor.learn_all(&objects);
                }
            }
            Some(Monitor::daemon_event(started))
        } else {
            monitor.message(&msg)
        };
        if let Some(event) = event
            && !emit(&mut out, &event, json)
        {
            break;
        }
    }
    Ok(0)
}

fn is_owner_change(msg: &Message) -> bool {
    let h = msg.header();
    h.member().is_some_and(|m| m.as_str() == "NameOwnerChanged")
        && h.interface()
            .is_some_and(|i| i.as_str() == "org.freedesktop.DBus")
}

/// Prints one event; false when stdout is gone (a closed pipe ends the
/// monitor quietly, as `ip monitor | head` expects).
fn emit(out: &mut impl Write, event: &Event, json: bool) -> bool {
    let line = if json {
        event.json.to_string()
    } else {
        event.line.clone()
    };
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// One line of the monitor: the text, and the JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub line: String,
    pub json: Value,
}

/// The kind of an object, from its path.
fn kind_of(path: &str) -> &'static str {
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    if path == CONTROLLER_PATH {
        "controller"
    } else if under(NAMESPACE_PATH_PREFIX) {
        "namespace"
    } else if under(DEVICE_PATH_PREFIX) {
        "device"
    } else if under(ACTIVE_PATH_PREFIX) {
        "connection"
    } else if under(SETTINGS_PATH) {
        "profile"
    } else if path == SETTINGS_PATH {
        "settings"
    } else {
        "object"
    }
}

/// What the monitor knows of one object, to name it.
#[derive(Debug, Clone, Default)]
struct Known {
    name: Option<String>,
    /// A device's namespace object.
    netns: Option<String>,
    /// Its properties as last told, so that a PropertiesChanged repeating
    /// a value prints nothing for it.
    props: HashMap<String, Value>,
}

/// The names of netnsd's objects, kept from its signals, and the lines
/// the signals make.
#[derive(Debug, Default)]
pub struct Monitor {
    objects: HashMap<String, Known>,
}

type Interfaces = HashMap<String, HashMap<String, OwnedVariant>>;

impl Monitor {
    pub fn learn_all(&mut self, objects: &ManagedObjects) {
        for (path, interfaces) in objects {
            self.learn(path.as_str(), interfaces);
        }
    }

    fn learn(&mut self, path: &str, interfaces: &Interfaces) {
        for (interface, props) in interfaces {
            self.learn_props(path, interface, props);
        }
    }

    fn learn_props(&mut self, path: &str, interface: &str, props: &HashMap<String, OwnedVariant>) {
        if interface.starts_with("net.netnsd.") && kind_of(path) != "object" {
            let known = self.objects.entry(path.to_owned()).or_default();
            known
                .props
                .extend(props.iter().map(|(k, v)| (k.clone(), variant_json(v))));
        }
        let text = |name: &str| match props.get(name).map(|v| variant_json(v)) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let name = match interface {
            INSTANCE_INTERFACE => text("Name"),
            DEVICE_INTERFACE => text("Interface"),
            ACTIVE_INTERFACE => text("Id"),
            CONNECTION_INTERFACE => text("Filename").map(|f| profile_name(&f)),
            _ => None,
        };
        let netns = match interface {
            DEVICE_INTERFACE => text("NetworkNamespace"),
            _ => None,
        };
        if name.is_none() && netns.is_none() {
            return;
        }
        let known = self.objects.entry(path.to_owned()).or_default();
        if name.is_some() {
            known.name = name;
        }
        if netns.is_some() {
            known.netns = netns;
        }
    }

    fn name(&self, path: &str) -> Option<&str> {
        self.objects.get(path)?.name.as_deref()
    }

    /// "namespace blue", "device veth0 in blue", "connection work"; the
    /// object path when the name is not known.
    fn label(&self, path: &str) -> String {
        let kind = kind_of(path);
        let name = self.name(path).unwrap_or(path);
        match self.netns_name(path) {
            Some(ns) => format!("{kind} {name} in {ns}"),
            None => format!("{kind} {name}"),
        }
    }

    fn netns_name(&self, path: &str) -> Option<&str> {
        let ns = self.objects.get(path)?.netns.as_deref()?;
        Some(self.name(ns).unwrap_or(ns))
    }

    /// The JSON keys every event has: the event, the object, its kind and name
    /// (and a device's namespace).
    fn base(&self, event: &str, path: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("event".into(), event.into());
        m.insert("kind".into(), kind_of(path).into());
        m.insert("object".into(), path.into());
        if let Some(name) = self.name(path) {
            m.insert("name".into(), name.into());
        }
        if let Some(ns) = self.netns_name(path) {
            m.insert("namespace".into(), ns.into());
        }
        m
    }

    /// netnsd left the bus (`false`) or joined it.
    pub fn daemon_event(started: bool) -> Event {
        let what = if started { "started" } else { "stopped" };
        Event {
            line: format!("netnsd: {what}"),
            json: json!({ "event": what, "kind": "daemon", "name": BUS_NAME }),
        }
    }

    /// The line a signal makes, if any.
    pub fn message(&mut self, msg: &Message) -> Option<Event> {
        let h = msg.header();
        let path = h.path()?.as_str().to_owned();
        let interface = h.interface()?.as_str().to_owned();
        let member = h.member()?.as_str().to_owned();
        let body = msg.body();
        match (interface.as_str(), member.as_str()) {
            (OBJECT_MANAGER, "InterfacesAdded") => {
                let (object, interfaces): (OwnedObjectPath, Interfaces) =
                    body.deserialize().ok()?;
                self.added(object.as_str(), &interfaces)
            }
            (OBJECT_MANAGER, "InterfacesRemoved") => {
                let (object, interfaces): (OwnedObjectPath, Vec<String>) =
                    body.deserialize().ok()?;
                self.removed(object.as_str(), &interfaces)
            }
            (PROPERTIES, "PropertiesChanged") => {
                let (iface, changed, _): (String, HashMap<String, OwnedVariant>, Vec<String>) =
                    body.deserialize().ok()?;
                self.changed(&path, &iface, &changed)
            }
            (ACTIVE_INTERFACE, "StateChanged") | (VPN_INTERFACE, "VpnStateChanged") => {
                let (state, why): (u32, u32) = body.deserialize().ok()?;
                Some(self.state(&path, member == "VpnStateChanged", state, why))
            }
            (INSTANCE_INTERFACE, "ProcessExited") => {
                let (pid, status): (u32, i32) = body.deserialize().ok()?;
                Some(self.process_exited(&path, pid, status))
            }
            (CONNECTION_INTERFACE, "Updated") => Some(Event {
                line: format!("{}: updated", self.label(&path)),
                json: Value::Object(self.base("updated", &path)),
            }),
            _ => None,
        }
    }

    /// An object came: its main interface's properties say what it is.
    pub fn added(&mut self, path: &str, interfaces: &Interfaces) -> Option<Event> {
        let main = [
            INSTANCE_INTERFACE,
            DEVICE_INTERFACE,
            ACTIVE_INTERFACE,
            CONNECTION_INTERFACE,
        ]
        .into_iter()
        .find(|i| interfaces.contains_key(*i))?;
        self.learn(path, interfaces);
        let mut props: BTreeMap<String, Value> = BTreeMap::new();
        for (interface, p) in interfaces {
            if interface.starts_with("net.netnsd.") {
                props.extend(p.iter().map(|(k, v)| (k.clone(), variant_json(v))));
            }
        }
        let detail: &[&str] = match main {
            INSTANCE_INTERFACE => &["Uplink"],
            DEVICE_INTERFACE => &["Kind"],
            ACTIVE_INTERFACE => &["Type"],
            _ => &[],
        };
        let details: Vec<String> = detail
            .iter()
            .filter_map(|k| Some(format!("{} {}", kebab(k), self.text(Some(props.get(*k)?)))))
            .collect();
        let mut line = format!("{}: added", self.label(path));
        if !details.is_empty() {
            line.push_str(&format!(" ({})", details.join(", ")));
        }
        let mut json = self.base("added", path);
        json.insert(
            "properties".into(),
            Value::Object(props.into_iter().collect()),
        );
        Some(Event {
            line,
            json: Value::Object(json),
        })
    }

    /// An object went.
    pub fn removed(&mut self, path: &str, interfaces: &[String]) -> Option<Event> {
        let main = [
            INSTANCE_INTERFACE,
            DEVICE_INTERFACE,
            ACTIVE_INTERFACE,
            CONNECTION_INTERFACE,
        ]
        .into_iter()
        .any(|i| interfaces.iter().any(|x| x == i));
        if !main {
            return None;
        }
        let event = Event {
            line: format!("{}: removed", self.label(path)),
            json: Value::Object(self.base("removed", path)),
        };
        self.objects.remove(path);
        Some(event)
    }

    /// Properties changed; those another line already tells are left out.
    pub fn changed(
        &mut self,
        path: &str,
        interface: &str,
        changed: &HashMap<String, OwnedVariant>,
    ) -> Option<Event> {
        let told_elsewhere: &[&str] = match interface {
            INSTANCE_INTERFACE => &["Devices", "AllDevices", "ActiveConnections"],
            ACTIVE_INTERFACE => &["State", "StateReason"],
            VPN_INTERFACE => &["VpnState"],
            DEVICE_INTERFACE | CONNECTION_INTERFACE => &[],
            _ => return None,
        };
        let known = self.objects.get(path).map(|k| &k.props);
        let values: BTreeMap<&str, Value> = changed
            .iter()
            .filter(|(k, _)| !told_elsewhere.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), variant_json(v)))
            .filter(|(k, v)| known.and_then(|p| p.get(*k)) != Some(v))
            .map(|(k, v)| match (interface, k, v.as_u64()) {
                // A device's NMDeviceState, by the name nmcli gives it.
                (DEVICE_INTERFACE, "State", Some(n)) => {
                    let n = u32::try_from(n).unwrap_or(u32::MAX);
                    (k, Value::from(netnsd_api::state::device::name(n)))
                }
                _ => (k, v),
            })
            .collect();
        if values.is_empty() {
            self.learn_props(path, interface, changed);
            return None;
        }
        // Named as it was before the change: a device that moves is
        // "device veth0 in blue: network-namespace red".
        let label = self.label(path);
        let mut json = self.base("changed", path);
        let text: Vec<String> = values
            .iter()
            .map(|(k, v)| format!("{} {}", kebab(k), self.text(Some(v))))
            .collect();
        json.insert(
            "changed".into(),
            Value::Object(values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
        );
        self.learn_props(path, interface, changed);
        Some(Event {
            line: format!("{label}: {}", text.join(", ")),
            json: Value::Object(json),
        })
    }

    /// StateChanged or VpnStateChanged, with its reason.
    pub fn state(&self, path: &str, vpn: bool, state: u32, why: u32) -> Event {
        let (event, name) = if vpn {
            ("vpn-state", vs::name(state))
        } else {
            ("state", st::name(state))
        };
        let what = if vpn { "vpn " } else { "" };
        let mut json = self.base(event, path);
        json.insert("state".into(), name.into());
        json.insert("state_code".into(), state.into());
        json.insert("reason".into(), reason::name(why).into());
        json.insert("reason_code".into(), why.into());
        Event {
            line: format!(
                "{}: {what}{name} (reason {})",
                self.label(path),
                reason::name(why)
            ),
            json: Value::Object(json),
        }
    }

    /// ProcessExited(pid, status): status < 0 is minus the signal's number.
    pub fn process_exited(&self, path: &str, pid: u32, status: i32) -> Event {
        let how = if status < 0 {
            format!("killed by signal {}", -status)
        } else {
            format!("exited with status {status}")
        };
        let mut json = self.base("process-exited", path);
        json.insert("pid".into(), pid.into());
        json.insert("status".into(), status.into());
        Event {
            line: format!("{}: process {pid} {how}", self.label(path)),
            json: Value::Object(json),
        }
    }

    /// A value as the text line shows it: lists joined by commas, - for
    /// none, object paths by the name of their object.
    fn text(&self, v: Option<&Value>) -> String {
        match v {
            None | Some(Value::Null) => "-".into(),
            Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
            Some(Value::String(s)) if s.is_empty() || s == "/" => "-".into(),
            Some(Value::String(s)) if s.starts_with('/') && self.name(s).is_some() => {
                self.name(s).unwrap_or_default().to_owned()
            }
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) if a.is_empty() => "-".into(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| self.text(Some(v)))
                .collect::<Vec<_>>()
                .join(","),
            Some(Value::Object(m)) if m.is_empty() => "-".into(),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| format!("{k}={}", self.text(Some(v))))
                .collect::<Vec<_>>()
                .join(","),
            Some(v) => v.to_string(),
        }
    }
}

/// `DnsServers` → `dns-servers`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A profile by its keyfile's name: `/etc/netnsd/connections/work.nmconnection` → `work`.
fn profile_name(filename: &str) -> String {
    let base = filename.rsplit('/').next().unwrap_or(filename);
    base.strip_suffix(".nmconnection")
        .unwrap_or(base)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::wire::Variant;

    fn v<'a>(x: impl Into<Variant<'a>>) -> OwnedVariant {
        crate::profile::owned(x.into())
    }

    fn props(pairs: &[(&str, OwnedVariant)]) -> HashMap<String, OwnedVariant> {
        pairs
            .iter()
            .map(|(k, x)| (k.to_string(), x.try_clone().unwrap()))
            .collect()
    }

    const NS: &str = "/net/netnsd/Netns1/NetworkNamespace/3";
    const NS2: &str = "/net/netnsd/Netns1/NetworkNamespace/4";
    const DEV: &str = "/net/netnsd/Netns1/Devices/9";
    const AC: &str = "/net/netnsd/Netns1/ActiveConnection/1";

    fn with_namespace_and_device() -> Monitor {
        let mut m = Monitor::default();
        let ns: Interfaces = [(
            INSTANCE_INTERFACE.to_owned(),
            props(&[("Name", v("blue")), ("Uplink", v("veth"))]),
        )]
        .into();
        let e = m.added(NS, &ns).unwrap();
        assert_eq!(e.line, "namespace blue: added (uplink veth)");
        assert_eq!(e.json["event"], "added");
        assert_eq!(e.json["kind"], "namespace");
        assert_eq!(e.json["name"], "blue");
        assert_eq!(e.json["properties"]["Uplink"], "veth");
        m.learn_props(NS2, INSTANCE_INTERFACE, &props(&[("Name", v("red"))]));
        let dev: Interfaces = [(
            DEVICE_INTERFACE.to_owned(),
            props(&[
                ("Interface", v("veth0")),
                ("Kind", v("veth")),
                (
                    "NetworkNamespace",
                    v(zbus::wire::ObjectPath::try_from(NS).unwrap()),
                ),
            ]),
        )]
        .into();
        let e = m.added(DEV, &dev).unwrap();
        assert_eq!(e.line, "device veth0 in blue: added (kind veth)");
        assert_eq!(e.json["namespace"], "blue");
        m
    }

    #[test]
    fn lines_name_objects_and_follow_moves() {
        let mut m = with_namespace_and_device();
        let e = m
            .changed(
                DEV,
                DEVICE_INTERFACE,
                &props(&[
                    ("State", v(100u32)),
                    ("OperState", v("up")),
                    ("Addresses", v(vec!["10.0.0.1/24", "fd00::1/64"])),
                ]),
            )
            .unwrap();
        assert_eq!(
            e.line,
            "device veth0 in blue: addresses 10.0.0.1/24,fd00::1/64, oper-state up, state connected"
        );
        assert_eq!(e.json["changed"]["State"], "connected");
        assert_eq!(e.json["changed"]["OperState"], "up");
        let moved = props(&[(
            "NetworkNamespace",
            v(zbus::wire::ObjectPath::try_from(NS2).unwrap()),
        )]);
        let e = m.changed(DEV, DEVICE_INTERFACE, &moved).unwrap();
        assert_eq!(e.line, "device veth0 in blue: network-namespace red");
        let e = m.removed(DEV, &[DEVICE_INTERFACE.to_owned()]).unwrap();
        assert_eq!(e.line, "device veth0 in red: removed");
        assert_eq!(e.json["event"], "removed");
        // Forgotten once removed.
        assert_eq!(m.label(DEV), format!("device {DEV}"));
    }

    #[test]
    fn lists_told_by_other_lines_are_left_out() {
        let mut m = with_namespace_and_device();
        let only_lists = props(&[("Devices", v(Vec::<String>::new()))]);
        assert!(m.changed(NS, INSTANCE_INTERFACE, &only_lists).is_none());
        let e = m
            .changed(
                NS,
                INSTANCE_INTERFACE,
                &props(&[("DnsServers", v(vec!["192.0.2.53"]))]),
            )
            .unwrap();
        assert_eq!(e.line, "namespace blue: dns-servers 192.0.2.53");
        let e = m
            .changed(
                NS,
                INSTANCE_INTERFACE,
                &props(&[("DnsServers", v(Vec::<String>::new()))]),
            )
            .unwrap();
        assert_eq!(e.line, "namespace blue: dns-servers -");
        assert!(
            m.changed(AC, ACTIVE_INTERFACE, &props(&[("State", v(2u32))]))
                .is_none()
        );
        // A value told again is no change.
        let dns = props(&[("DnsServers", v(vec!["192.0.2.9"])), ("Uplink", v("veth"))]);
        let e = m.changed(NS, INSTANCE_INTERFACE, &dns).unwrap();
        assert_eq!(e.line, "namespace blue: dns-servers 192.0.2.9");
        assert!(m.changed(NS, INSTANCE_INTERFACE, &dns).is_none());
    }

    #[test]
    fn states_carry_their_reason_and_processes_their_status() {
        let mut m = with_namespace_and_device();
        let ac: Interfaces = [
            (
                ACTIVE_INTERFACE.to_owned(),
                props(&[("Id", v("work")), ("Type", v("vpn"))]),
            ),
            (VPN_INTERFACE.to_owned(), props(&[("VpnState", v(1u32))])),
        ]
        .into();
        assert_eq!(
            m.added(AC, &ac).unwrap().line,
            "connection work: added (type vpn)"
        );
        let e = m.state(AC, false, st::ACTIVATED, reason::NONE);
        assert_eq!(e.line, "connection work: activated (reason none)");
        assert_eq!(e.json["state"], "activated");
        assert_eq!(e.json["reason_code"], 1);
        let e = m.state(AC, true, vs::FAILED, reason::LOGIN_FAILED);
        assert_eq!(e.line, "connection work: vpn failed (reason login-failed)");
        assert_eq!(e.json["event"], "vpn-state");
        let e = m.process_exited(NS, 42, 3);
        assert_eq!(e.line, "namespace blue: process 42 exited with status 3");
        assert_eq!(e.json["pid"], 42);
        let e = m.process_exited(NS, 42, -9);
        assert_eq!(e.line, "namespace blue: process 42 killed by signal 9");
    }

    #[test]
    fn kinds_and_names() {
        assert_eq!(kind_of(NS), "namespace");
        assert_eq!(kind_of(DEV), "device");
        assert_eq!(kind_of(AC), "connection");
        assert_eq!(kind_of("/net/netnsd/Netns1/Settings/2"), "profile");
        assert_eq!(kind_of(SETTINGS_PATH), "settings");
        assert_eq!(kebab("DnsServers"), "dns-servers");
        assert_eq!(kebab("Up"), "up");
        assert_eq!(
            profile_name("/etc/netnsd/connections/work.nmconnection"),
            "work"
        );
    }
}
