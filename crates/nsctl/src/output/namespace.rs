//! `nsctl list`, `show`, `add` and `delete`: namespaces.

use std::borrow::Cow;

use serde_json::json;

use super::format::{key_value_lines, or_dash, table, terminal_safe, to_line, yes_no};
use crate::namespace::Namespace;

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
    for (i, (domain, servers)) in ns.split_dns.iter().enumerate() {
        let v = format!("{} via {}", domain, servers.join(", "));
        lines.push((
            if i == 0 { "Split DNS" } else { "" },
            Cow::Owned(terminal_safe(&v).into_owned()),
        ));
    }
    if let Some(l) = &ns.dhcp {
        let v = format!("{} from {}", l.address, l.server);
        lines.push(("DHCP", Cow::Owned(terminal_safe(&v).into_owned())));
    }
    lines.push(("Object", Cow::Borrowed(ns.object.as_str())));
    key_value_lines(&lines)
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
    fn show_text_has_split_dns_and_the_lease_when_there_are() {
        let mut ns = sample()[1].clone();
        ns.split_dns.insert(
            "corp.test".into(),
            vec!["10.99.0.53".into(), "10.99.0.54".into()],
        );
        ns.split_dns
            .insert("lab.test".into(), vec!["10.99.0.55".into()]);
        ns.dhcp = Some(crate::namespace::DhcpLease {
            address: "192.168.1.50/24".into(),
            server: "192.168.1.1".into(),
        });
        let t = show_text(&ns);
        assert!(
            t.contains("Split DNS:  corp.test via 10.99.0.53, 10.99.0.54\n            lab.test via 10.99.0.55\n"),
            "{t}"
        );
        assert!(
            t.contains("DHCP:       192.168.1.50/24 from 192.168.1.1\n"),
            "{t}"
        );
        let v: Value = serde_json::from_str(&show_json(&ns)).unwrap();
        assert_eq!(v["split_dns"]["lab.test"][0], "10.99.0.55");
        assert_eq!(v["dhcp"]["server"], "192.168.1.1");
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
}
