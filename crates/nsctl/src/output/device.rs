//! `nsctl device list|show` and `nsctl link add veth`: devices.

use std::borrow::Cow;

use serde_json::json;

use super::format::{key_value_lines, or_dash, table, terminal_safe, to_line};
use crate::device::Device;

/// Column headings of `nsctl device list`.
pub const DEVICE_COLUMNS: [&str; 10] = [
    "NAMESPACE",
    "NAME",
    "IFINDEX",
    "KIND",
    "STATE",
    "OPERSTATE",
    "MTU",
    "MAC",
    "ADDRESSES",
    "OBJECT",
];

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
                or_dash(&d.oper_state).into_owned(),
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
        ("Operstate", or_dash(&d.oper_state)),
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
/// name, ifindex, kind, state (the NMDeviceState's name), oper_state, mtu,
/// mac, addresses, object, namespace_object, state_code (its number).
pub fn device_show_json(d: &Device) -> String {
    to_line(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn devices() -> Vec<Device> {
        let mut lo = crate::device::tests::dev("rootns", "lo", 1, &["127.0.0.1/8", "::1/128"]);
        lo.kind = "loopback".into();
        lo.state = "unmanaged".into();
        lo.state_code = 10;
        lo.oper_state = "unknown".into();
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
NAMESPACE  NAME  IFINDEX  KIND      STATE      OPERSTATE  MTU    MAC                ADDRESSES            OBJECT
rootns     lo    1        loopback  unmanaged  unknown    65536  00:00:00:00:00:00  127.0.0.1/8,::1/128  /net/netnsd/Netns1/Devices/0
vpn        tun0  12       tun       connected  up         1500   -                  -                    /net/netnsd/Netns1/Devices/12
";
        assert_eq!(device_table(&devices()), expected);
        assert_eq!(
            device_table(&[]),
            "NAMESPACE  NAME  IFINDEX  KIND  STATE  OPERSTATE  MTU  MAC  ADDRESSES  OBJECT\n"
        );
    }

    #[test]
    fn device_json_has_the_agreed_keys() {
        let out = device_list_json(&devices());
        assert!(out.ends_with('\n') && out.lines().count() == 1);
        assert!(out.starts_with(
            r#"[{"namespace":"rootns","name":"lo","ifindex":1,"kind":"loopback","state":"unmanaged","oper_state":"unknown","mtu":65536,"mac":"00:00:00:00:00:00","addresses":["127.0.0.1/8","::1/128"],"object":"/net/netnsd/Netns1/Devices/0","namespace_object":"/net/netnsd/Netns1/NetworkNamespace/1","state_code":10}"#
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
State:     unmanaged
Operstate: unknown
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
}
