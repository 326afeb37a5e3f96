//! `nsctl connection list|show|add|import` and `nsctl vpn status|up|down`:
//! profiles and active connections.

use serde_json::json;

use super::format::{or_dash, table, terminal_safe, to_line, yes_no};
use crate::active::Active;
use crate::profile::{Settings, Summary, settings_lines};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

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
