//! What nsctl prints on stdout: tables and key/value lines for people,
//! one-line JSON documents for scripts (`--json`). Every function returns the
//! whole text, ending in a newline.

use std::borrow::Cow;

use serde_json::json;

use crate::active::Active;
use crate::device::Device;
use crate::namespace::Namespace;
use crate::profile::{Settings, Summary, settings_lines};
use crate::routing::{Route, Rule, TABLE_MAIN, table_name};

/// Column headings of `nsctl list`.
pub const LIST_COLUMNS: [&str; 7] = [
    "NAME",
    "ID",
    "MANAGED",
    "PERSISTENT",
    "UPLINK",
    "PATH",
    "OBJECT",
];

/// Column headings of `nsctl device list`.
pub const DEVICE_COLUMNS: [&str; 9] = [
    "NAMESPACE",
    "NAME",
    "IFINDEX",
    "KIND",
    "STATE",
    "MTU",
    "MAC",
    "ADDRESSES",
    "OBJECT",
];

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A name can hold any byte but `/` and NUL, so control characters (a newline,
/// an escape sequence) are shown escaped rather than sent to the terminal.
/// JSON output carries the names unchanged.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// An empty value (the root namespace has no path under /run/netns) shown as `-`.
fn or_dash(s: &str) -> Cow<'_, str> {
    if s.is_empty() {
        Cow::Borrowed("-")
    } else {
        terminal_safe(s)
    }
}

/// Left-aligned columns two spaces apart, no trailing blanks.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `nsctl list`: one row per namespace, in the order given.
pub fn list_table(namespaces: &[Namespace]) -> String {
    let rows: Vec<Vec<String>> = namespaces
        .iter()
        .map(|ns| {
            vec![
                terminal_safe(&ns.name).into_owned(),
                ns.id.to_string(),
                yes_no(ns.managed).to_owned(),
                yes_no(ns.persistent).to_owned(),
                or_dash(&ns.uplink).into_owned(),
                or_dash(&ns.path).into_owned(),
                ns.object.clone(),
            ]
        })
        .collect();
    table(&LIST_COLUMNS, &rows)
}

/// `nsctl --json list`: an array of
/// `{name,id,path,persistent,managed,uplink,dns_servers,object}`.
pub fn list_json(namespaces: &[Namespace]) -> String {
    to_line(&namespaces)
}

/// `nsctl show NAME`: `Key: value` lines, values aligned, one name
/// server per line.
pub fn show_text(ns: &Namespace) -> String {
    let mut lines: Vec<(&str, Cow<'_, str>)> = vec![
        ("Name", terminal_safe(&ns.name)),
        ("Id", Cow::Owned(ns.id.to_string())),
        ("Path", or_dash(&ns.path)),
        ("Persistent", Cow::Borrowed(yes_no(ns.persistent))),
        ("Managed", Cow::Borrowed(yes_no(ns.managed))),
        ("Uplink", or_dash(&ns.uplink)),
    ];
    if ns.dns_servers.is_empty() {
        lines.push(("DNS", Cow::Borrowed("-")));
    }
    for (i, s) in ns.dns_servers.iter().enumerate() {
        lines.push((if i == 0 { "DNS" } else { "" }, terminal_safe(s)));
    }
    lines.push(("Object", Cow::Borrowed(ns.object.as_str())));
    key_value_lines(&lines)
}

/// `Key: value` lines, the values aligned; an empty key continues the
/// value above.
fn key_value_lines(lines: &[(&str, Cow<'_, str>)]) -> String {
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(k, v)| {
            let key = if k.is_empty() {
                String::new()
            } else {
                format!("{k}:")
            };
            format!("{key:<width$} {v}\n")
        })
        .collect()
}

/// `nsctl --json show NAME`: one object with the keys of `nsctl --json list`.
pub fn show_json(ns: &Namespace) -> String {
    to_line(ns)
}

/// `nsctl add NAME`: the new object's path.
pub fn add_text(object: &str) -> String {
    format!("{object}\n")
}

/// `nsctl --json add NAME`: `{"object": PATH}`.
pub fn add_json(object: &str) -> String {
    to_line(&json!({ "object": object }))
}

/// `nsctl delete NAME` prints nothing on success, as `ip netns delete` does.
pub fn delete_text(_result: &str) -> String {
    String::new()
}

/// `nsctl --json delete NAME`: `{"result": "Success"}`, the daemon's reply.
pub fn delete_json(result: &str) -> String {
    to_line(&json!({ "result": result }))
}

/// `nsctl link add veth`: the object paths of both ends, one per line.
pub fn veth_added_text(object: &str, peer: &str) -> String {
    format!("{object}\n{peer}\n")
}

/// `nsctl --json link add veth`: `{"object": PATH, "peer": PATH}`.
pub fn veth_added_json(object: &str, peer: &str) -> String {
    to_line(&json!({ "object": object, "peer": peer }))
}

/// `nsctl device list`: one row per device, in the order given.
pub fn device_table(devices: &[Device]) -> String {
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            vec![
                terminal_safe(&d.namespace).into_owned(),
                terminal_safe(&d.name).into_owned(),
                d.ifindex.to_string(),
                or_dash(&d.kind).into_owned(),
                or_dash(&d.state).into_owned(),
                d.mtu.to_string(),
                or_dash(&d.mac).into_owned(),
                or_dash(&d.addresses.join(",")).into_owned(),
                d.object.clone(),
            ]
        })
        .collect();
    table(&DEVICE_COLUMNS, &rows)
}

/// `nsctl --json device list`: an array of the objects of [`device_show_json`].
pub fn device_list_json(devices: &[Device]) -> String {
    to_line(&devices)
}

/// `nsctl device show DEV`: `Key: value` lines, values aligned, one
/// address per line.
pub fn device_show_text(d: &Device) -> String {
    let mut lines: Vec<(&str, Cow<'_, str>)> = vec![
        ("Name", terminal_safe(&d.name)),
        ("Namespace", or_dash(&d.namespace)),
        ("Ifindex", Cow::Owned(d.ifindex.to_string())),
        ("Kind", or_dash(&d.kind)),
        ("State", or_dash(&d.state)),
        ("MTU", Cow::Owned(d.mtu.to_string())),
        ("MAC", or_dash(&d.mac)),
    ];
    if d.addresses.is_empty() {
        lines.push(("Addresses", Cow::Borrowed("-")));
    }
    for (i, a) in d.addresses.iter().enumerate() {
        lines.push((if i == 0 { "Addresses" } else { "" }, terminal_safe(a)));
    }
    lines.push(("Object", Cow::Borrowed(d.object.as_str())));
    key_value_lines(&lines)
}

/// `nsctl --json device show DEV`: one object with the keys namespace,
/// name, ifindex, kind, state, mtu, mac, addresses, object, namespace_object.
pub fn device_show_json(d: &Device) -> String {
    to_line(d)
}

/// One route as `ip route` prints it.
fn route_line(r: &Route) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(t) = &r.kind {
        words.push(terminal_safe(t).into_owned());
    }
    words.push(terminal_safe(&r.destination).into_owned());
    if let Some(gw) = &r.gateway {
        words.push(format!("via {}", terminal_safe(gw)));
    }
    match (&r.device, &r.device_object) {
        (Some(name), _) => words.push(format!("dev {}", terminal_safe(name))),
        (None, Some(object)) => words.push(format!("dev {object}")),
        (None, None) => {}
    }
    if r.table != TABLE_MAIN {
        words.push(format!("table {}", table_name(r.table)));
    }
    if let Some(p) = &r.protocol {
        words.push(format!("proto {}", terminal_safe(p)));
    }
    if let Some(s) = r.scope.as_deref().filter(|s| *s != "global") {
        words.push(format!("scope {}", terminal_safe(s)));
    }
    if let Some(m) = r.metric {
        words.push(format!("metric {m}"));
    }
    words.join(" ")
}

/// `nsctl route list`: one line per route, as `ip route` prints them.
pub fn routes_text(routes: &[Route]) -> String {
    routes.iter().map(|r| route_line(r) + "\n").collect()
}

/// `nsctl --json route list`: an array of route objects.
pub fn routes_json(routes: &[Route]) -> String {
    to_line(routes)
}

/// One rule as `ip rule` prints it.
fn rule_line(r: &Rule) -> String {
    let mut line = format!("{}:\t", r.priority);
    if r.invert {
        line.push_str("not ");
    }
    line.push_str("from ");
    line.push_str(&terminal_safe(r.from.as_deref().unwrap_or("all")));
    if let Some(to) = &r.to {
        line.push_str(&format!(" to {}", terminal_safe(to)));
    }
    if let Some(i) = &r.iif {
        line.push_str(&format!(" iif {}", terminal_safe(i)));
    }
    if let Some(o) = &r.oif {
        line.push_str(&format!(" oif {}", terminal_safe(o)));
    }
    if let Some(m) = r.fwmark {
        line.push_str(&format!(" fwmark {m:#x}"));
        if let Some(k) = r.fwmask {
            line.push_str(&format!("/{k:#x}"));
        }
    }
    match (&r.action, r.table) {
        (Some(a), _) => line.push_str(&format!(" {}", terminal_safe(a))),
        (None, Some(t)) => line.push_str(&format!(" lookup {}", table_name(t))),
        (None, None) => {}
    }
    line
}

/// `nsctl rule list`: one line per rule, as `ip rule` prints them.
pub fn rules_text(rules: &[Rule]) -> String {
    rules.iter().map(|r| rule_line(r) + "\n").collect()
}

/// `nsctl --json rule list`: an array of rule objects.
pub fn rules_json(rules: &[Rule]) -> String {
    to_line(rules)
}

/// Column headings of `nsctl connection list`.
pub const CONNECTION_COLUMNS: [&str; 7] = [
    "NAME", "UUID", "TYPE", "ISOLATE", "NETNS", "ACTIVE", "OBJECT",
];

/// Column headings of `nsctl vpn status`.
pub const ACTIVE_COLUMNS: [&str; 7] = [
    "NAME",
    "TYPE",
    "STATE",
    "VPN-STATE",
    "NAMESPACE",
    "UPLINK",
    "OBJECT",
];

/// `nsctl connection list`: one row per profile, in the order given.
pub fn connections_table(profiles: &[Summary]) -> String {
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            vec![
                or_dash(&p.id).into_owned(),
                or_dash(&p.uuid).into_owned(),
                or_dash(&p.type_label()).into_owned(),
                yes_no(p.isolate).to_owned(),
                if p.isolate {
                    or_dash(&p.netns_name).into_owned()
                } else {
                    "-".to_owned()
                },
                or_dash(p.active.as_deref().unwrap_or("")).into_owned(),
                p.object.clone(),
            ]
        })
        .collect();
    table(&CONNECTION_COLUMNS, &rows)
}

/// `nsctl --json connection list`: an array of profile objects.
pub fn connections_json(profiles: &[Summary]) -> String {
    to_line(profiles)
}

/// `nsctl connection show`: `setting.key = value` lines.
pub fn settings_text(settings: &Settings) -> String {
    settings_lines(settings)
        .into_iter()
        .map(|(k, v)| {
            let line = format!("{} = {}", terminal_safe(&k), terminal_safe(&v));
            format!("{}\n", line.trim_end())
        })
        .collect()
}

/// `nsctl --json connection show`: the a{sa{sv}} as one JSON object.
pub fn settings_json(settings: &Settings) -> String {
    to_line(&crate::profile::settings_json(settings))
}

/// `nsctl --json connection add|import`: `{"object": PATH, "uuid": UUID}`.
pub fn connection_added_json(object: &str, uuid: &str) -> String {
    to_line(&json!({ "object": object, "uuid": uuid }))
}

/// `nsctl vpn status`: one row per active connection, in the order given.
pub fn actives_table(actives: &[Active]) -> String {
    let rows: Vec<Vec<String>> = actives
        .iter()
        .map(|a| {
            vec![
                or_dash(&a.id).into_owned(),
                or_dash(&a.kind).into_owned(),
                or_dash(&a.state).into_owned(),
                or_dash(a.vpn_state.as_deref().unwrap_or("")).into_owned(),
                or_dash(&a.namespace).into_owned(),
                or_dash(&a.uplink_namespace).into_owned(),
                a.object.clone(),
            ]
        })
        .collect();
    table(&ACTIVE_COLUMNS, &rows)
}

/// `nsctl --json vpn status`: an array of active connection objects.
pub fn actives_json(actives: &[Active]) -> String {
    to_line(actives)
}

/// `nsctl --json vpn up|down`: one line per state change.
pub fn progress_json<T: serde::Serialize>(value: &T) -> String {
    to_line(value).trim_end().to_owned()
}

fn to_line<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain strings, numbers and booleans cannot fail.
    let mut s = serde_json::to_string(value).expect("JSON serialization");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namespace::tests::ns;
    use serde_json::Value;

    fn sample() -> Vec<Namespace> {
        let mut vpn = ns("vpn", 1, 4026532281, true);
        vpn.persistent = true;
        vpn.uplink = "veth".into();
        vpn.dns_servers = vec!["10.0.0.53".into(), "10.0.0.54".into()];
        vec![
            ns("rootns", 0, 4026531840, false),
            vpn,
            ns("from-ip", 2, 4026532400, false),
        ]
    }

    #[test]
    fn table_has_aligned_columns_and_no_trailing_blanks() {
        let expected = "\
NAME     ID          MANAGED  PERSISTENT  UPLINK  PATH                OBJECT
rootns   4026531840  no       no          none    -                   /net/netnsd/Netns1/NetworkNamespace/0
vpn      4026532281  yes      yes         veth    /run/netns/vpn      /net/netnsd/Netns1/NetworkNamespace/1
from-ip  4026532400  no       no          none    /run/netns/from-ip  /net/netnsd/Netns1/NetworkNamespace/2
";
        assert_eq!(list_table(&sample()), expected);
    }

    #[test]
    fn table_of_nothing_is_the_header() {
        assert_eq!(
            list_table(&[]),
            "NAME  ID  MANAGED  PERSISTENT  UPLINK  PATH  OBJECT\n"
        );
    }

    #[test]
    fn table_escapes_control_characters_and_counts_characters() {
        let t = list_table(&[ns("a\nb", 1, 1, true), ns("ünï", 2, 2, true)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[1].starts_with("a\\nb  1 "), "{t}");
        assert!(lines[2].starts_with("ünï   2 "), "{t}");
    }

    #[test]
    fn list_json_is_an_array_of_objects_with_the_agreed_keys() {
        let out = list_json(&sample());
        assert!(out.ends_with('\n') && out.lines().count() == 1);
        let v: Value = serde_json::from_str(&out).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 3);
        assert_eq!(
            arr[1],
            json!({
                "name": "vpn",
                "id": 4026532281u64,
                "path": "/run/netns/vpn",
                "persistent": true,
                "managed": true,
                "uplink": "veth",
                "dns_servers": ["10.0.0.53", "10.0.0.54"],
                "object": "/net/netnsd/Netns1/NetworkNamespace/1",
            })
        );
        // Keys in the documented order.
        assert!(out.starts_with(
            r#"[{"name":"rootns","id":4026531840,"path":"","persistent":false,"managed":false,"uplink":"none","dns_servers":[],"object":"/net/netnsd/Netns1/NetworkNamespace/0"}"#
        ));
        assert_eq!(list_json(&[]), "[]\n");
    }

    #[test]
    fn json_keeps_names_unescaped() {
        let v: Value = serde_json::from_str(&show_json(&ns("a\nb", 1, 1, true))).unwrap();
        assert_eq!(v["name"], "a\nb");
    }

    #[test]
    fn show_prints_aligned_key_value_lines() {
        let expected = "\
Name:       vpn
Id:         4026532281
Path:       /run/netns/vpn
Persistent: yes
Managed:    yes
Uplink:     veth
DNS:        10.0.0.53
            10.0.0.54
Object:     /net/netnsd/Netns1/NetworkNamespace/1
";
        assert_eq!(show_text(&sample()[1]), expected);
        let root = show_text(&sample()[0]);
        assert!(root.contains("Path:       -\n"), "{root}");
        assert!(root.contains("Uplink:     none\nDNS:        -\n"), "{root}");
    }

    #[test]
    fn show_json_is_one_object() {
        let v: Value = serde_json::from_str(&show_json(&sample()[1])).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec![
            "name",
            "id",
            "path",
            "persistent",
            "managed",
            "uplink",
            "dns_servers",
            "object",
        ];
        expected.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, expected);
        assert_eq!(v["id"], 4026532281u64);
    }

    #[test]
    fn add_and_delete_output() {
        let o = "/net/netnsd/Netns1/NetworkNamespace/4";
        assert_eq!(add_text(o), format!("{o}\n"));
        assert_eq!(add_json(o), format!("{{\"object\":\"{o}\"}}\n"));
        assert_eq!(delete_text("Success"), "");
        assert_eq!(delete_json("Success"), "{\"result\":\"Success\"}\n");
    }

    fn devices() -> Vec<Device> {
        let mut lo = crate::device::tests::dev("rootns", "lo", 1, &["127.0.0.1/8", "::1/128"]);
        lo.kind = "loopback".into();
        lo.state = "unknown".into();
        lo.mtu = 65536;
        lo.mac = "00:00:00:00:00:00".into();
        lo.object = "/net/netnsd/Netns1/Devices/0".into();
        let mut tun = crate::device::tests::dev("vpn", "tun0", 12, &[]);
        tun.kind = "tun".into();
        tun.mac = String::new();
        vec![lo, tun]
    }

    #[test]
    fn device_table_has_the_agreed_columns() {
        let expected = "\
NAMESPACE  NAME  IFINDEX  KIND      STATE    MTU    MAC                ADDRESSES            OBJECT
rootns     lo    1        loopback  unknown  65536  00:00:00:00:00:00  127.0.0.1/8,::1/128  /net/netnsd/Netns1/Devices/0
vpn        tun0  12       tun       up       1500   -                  -                    /net/netnsd/Netns1/Devices/12
";
        assert_eq!(device_table(&devices()), expected);
        assert_eq!(
            device_table(&[]),
            "NAMESPACE  NAME  IFINDEX  KIND  STATE  MTU  MAC  ADDRESSES  OBJECT\n"
        );
    }

    #[test]
    fn device_json_has_the_agreed_keys() {
        let out = device_list_json(&devices());
        assert!(out.ends_with('\n') && out.lines().count() == 1);
        assert!(out.starts_with(
            r#"[{"namespace":"rootns","name":"lo","ifindex":1,"kind":"loopback","state":"unknown","mtu":65536,"mac":"00:00:00:00:00:00","addresses":["127.0.0.1/8","::1/128"],"object":"/net/netnsd/Netns1/Devices/0","namespace_object":"/net/netnsd/Netns1/NetworkNamespace/1"}"#
        ));
        let v: Value = serde_json::from_str(&device_show_json(&devices()[1])).unwrap();
        assert_eq!(v["addresses"], json!([]));
        assert_eq!(v["mac"], "");
    }

    #[test]
    fn device_show_puts_one_address_per_line() {
        let expected = "\
Name:      lo
Namespace: rootns
Ifindex:   1
Kind:      loopback
State:     unknown
MTU:       65536
MAC:       00:00:00:00:00:00
Addresses: 127.0.0.1/8
           ::1/128
Object:    /net/netnsd/Netns1/Devices/0
";
        assert_eq!(device_show_text(&devices()[0]), expected);
        let t = device_show_text(&devices()[1]);
        assert!(t.contains("MAC:       -\nAddresses: -\n"), "{t}");
    }

    fn route(dest: &str) -> Route {
        Route {
            destination: dest.into(),
            family: "inet".into(),
            gateway: None,
            device: None,
            device_object: None,
            table: 254,
            metric: None,
            scope: Some("global".into()),
            protocol: None,
            kind: None,
            other: Default::default(),
        }
    }

    #[test]
    fn routes_print_as_ip_route_does() {
        let mut default = route("default");
        default.gateway = Some("10.0.0.1".into());
        default.device = Some("eth0".into());
        default.device_object = Some("/net/netnsd/Netns1/Devices/3".into());
        default.protocol = Some("netnsd".into());
        default.metric = Some(100);
        let mut link = route("10.0.0.0/24");
        link.device = Some("eth0".into());
        link.scope = Some("link".into());
        link.protocol = Some("kernel".into());
        let mut other = route("10.8.0.0/16");
        other.table = 100;
        other.device_object = Some("/net/netnsd/Netns1/Devices/9".into());
        let mut blackhole = route("192.0.2.0/24");
        blackhole.kind = Some("blackhole".into());
        blackhole.table = 253;
        let expected = "\
default via 10.0.0.1 dev eth0 proto netnsd metric 100
10.0.0.0/24 dev eth0 proto kernel scope link
10.8.0.0/16 dev /net/netnsd/Netns1/Devices/9 table 100
blackhole 192.0.2.0/24 table default
";
        assert_eq!(
            routes_text(&[default.clone(), link, other, blackhole]),
            expected
        );
        assert_eq!(routes_text(&[]), "");

        let v: Value = serde_json::from_str(&routes_json(&[default])).unwrap();
        assert_eq!(
            v,
            json!([{
                "destination": "default",
                "family": "inet",
                "gateway": "10.0.0.1",
                "device": "eth0",
                "device_object": "/net/netnsd/Netns1/Devices/3",
                "table": 254,
                "metric": 100,
                "scope": "global",
                "protocol": "netnsd",
            }])
        );
    }

    fn rule(priority: u32, table: u32) -> Rule {
        Rule {
            priority,
            family: "inet".into(),
            from: None,
            to: None,
            iif: None,
            oif: None,
            fwmark: None,
            fwmask: None,
            table: Some(table),
            action: None,
            invert: false,
            other: Default::default(),
        }
    }

    #[test]
    fn rules_print_as_ip_rule_does() {
        let mut src = rule(1000, 100);
        src.from = Some("10.0.0.0/24".into());
        src.to = Some("192.0.2.0/24".into());
        src.iif = Some("veth0".into());
        src.oif = Some("tun0".into());
        let mut mark = rule(1001, 100);
        mark.fwmark = Some(16);
        mark.fwmask = Some(255);
        mark.invert = true;
        let mut black = rule(1002, 0);
        black.table = None;
        black.action = Some("blackhole".into());
        let expected = "\
0:\tfrom all lookup local
1000:\tfrom 10.0.0.0/24 to 192.0.2.0/24 iif veth0 oif tun0 lookup 100
1001:\tnot from all fwmark 0x10/0xff lookup 100
1002:\tfrom all blackhole
32766:\tfrom all lookup main
";
        assert_eq!(
            rules_text(&[rule(0, 255), src, mark.clone(), black, rule(32766, 254)]),
            expected
        );
        let v: Value = serde_json::from_str(&rules_json(&[mark])).unwrap();
        assert_eq!(
            v,
            json!([{
                "priority": 1001,
                "family": "inet",
                "fwmark": 16,
                "fwmask": 255,
                "table": 100,
                "invert": true,
            }])
        );
    }

    #[test]
    fn veth_output() {
        let (a, b) = (
            "/net/netnsd/Netns1/Devices/3",
            "/net/netnsd/Netns1/Devices/4",
        );
        assert_eq!(veth_added_text(a, b), format!("{a}\n{b}\n"));
        assert_eq!(
            veth_added_json(a, b),
            format!("{{\"object\":\"{a}\",\"peer\":\"{b}\"}}\n")
        );
    }

    fn summary(id: &str, isolate: bool, active: Option<&str>) -> Summary {
        Summary {
            id: id.into(),
            uuid: "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11".into(),
            kind: "vpn".into(),
            vpn_type: Some("openvpn".into()),
            isolate,
            netns_name: "vpn1".into(),
            persistent: false,
            timeout: 2000,
            active: active.map(Into::into),
            active_object: active.map(|_| "/net/netnsd/Netns1/ActiveConnection/0".into()),
            filename: "/etc/netnsd/connections/x.nmconnection".into(),
            object: "/net/netnsd/Netns1/Settings/0".into(),
        }
    }

    #[test]
    fn connection_list_output() {
        let expected = "\
NAME    UUID                                  TYPE         ISOLATE  NETNS  ACTIVE     OBJECT
office  2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11  vpn/openvpn  yes      vpn1   activated  /net/netnsd/Netns1/Settings/0
lan     2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11  vpn/openvpn  no       -      -          /net/netnsd/Netns1/Settings/0
";
        let list = [
            summary("office", true, Some("activated")),
            summary("lan", false, None),
        ];
        assert_eq!(connections_table(&list), expected);
        let v: Value = serde_json::from_str(&connections_json(&list)).unwrap();
        assert_eq!(v[0]["type"], "vpn");
        assert_eq!(v[0]["vpn_type"], "openvpn");
        assert_eq!(v[0]["active"], "activated");
        assert_eq!(v[1]["active"], Value::Null);
        assert_eq!(v[1]["netns_name"], "vpn1");
        assert_eq!(
            connection_added_json("/o", "u"),
            "{\"object\":\"/o\",\"uuid\":\"u\"}\n"
        );
    }

    #[test]
    fn settings_are_shown_as_key_value_lines() {
        let mut s = Settings::new();
        let mut con = std::collections::HashMap::new();
        for (k, v) in [("id", "a\nb"), ("type", "vpn")] {
            con.insert(
                k.to_owned(),
                crate::profile::owned(zbus::wire::Variant::from(v)),
            );
        }
        con.insert(
            "autoconnect".to_owned(),
            crate::profile::owned(zbus::wire::Variant::from(false)),
        );
        s.insert("connection".to_owned(), con);
        assert_eq!(
            settings_text(&s),
            "connection.autoconnect = false\nconnection.id = a\\nb\nconnection.type = vpn\n"
        );
        let v: Value = serde_json::from_str(&settings_json(&s)).unwrap();
        assert_eq!(v["connection"]["id"], "a\nb");
        assert_eq!(v["connection"]["autoconnect"], false);
    }

    fn active(id: &str, state: &str, vpn_state: Option<&str>, ns: &str) -> Active {
        Active {
            id: id.into(),
            uuid: "u".into(),
            kind: "vpn".into(),
            state: state.into(),
            state_reason: "none".into(),
            vpn_state: vpn_state.map(Into::into),
            namespace: ns.into(),
            uplink_namespace: "rootns".into(),
            banner: String::new(),
            connection: "/net/netnsd/Netns1/Settings/0".into(),
            object: "/net/netnsd/Netns1/ActiveConnection/0".into(),
            number: 0,
            state_code: 2,
            vpn_state_code: 5,
            uplink_object: "/net/netnsd/Netns1/NetworkNamespace/0".into(),
        }
    }

    #[test]
    fn vpn_status_output() {
        let expected = "\
NAME    TYPE  STATE       VPN-STATE  NAMESPACE  UPLINK  OBJECT
office  vpn   activated   activated  vpn1       rootns  /net/netnsd/Netns1/ActiveConnection/0
x       vpn   activating  -          -          rootns  /net/netnsd/Netns1/ActiveConnection/0
";
        let list = [
            active("office", "activated", Some("activated"), "vpn1"),
            active("x", "activating", None, ""),
        ];
        assert_eq!(actives_table(&list), expected);
        let v: Value = serde_json::from_str(&actives_json(&list)).unwrap();
        let keys: Vec<&str> = v[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected_keys = vec![
            "id",
            "uuid",
            "type",
            "state",
            "state_reason",
            "vpn_state",
            "namespace",
            "uplink_namespace",
            "banner",
            "connection",
            "object",
        ];
        expected_keys.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, expected_keys);
        assert_eq!(
            actives_table(&[]),
            "NAME  TYPE  STATE  VPN-STATE  NAMESPACE  UPLINK  OBJECT\n"
        );
    }
}
