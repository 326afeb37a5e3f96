use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use zbus::wire::{OwnedVariant, Variant};

use super::*;

/// A keyfile NetworkManager writes for an OpenVPN connection.
const NM_OPENVPN: &str = "\
[connection]
id=office
uuid=2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11
type=vpn
autoconnect=false
permissions=

[vpn]
ca=/etc/openvpn/ca.crt
cert=/etc/openvpn/client.crt
cert-pass-flags=0
connection-type=tls
key=/etc/openvpn/client.key
remote=vpn.example.com:1194
service-type=org.freedesktop.NetworkManager.openvpn

[ipv4]
method=auto

[ipv6]
addr-gen-mode=stable-privacy
method=auto

[proxy]
";

const UUID: &str = "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11";

fn ov(v: Variant<'_>) -> OwnedVariant {
    OwnedVariant::try_from(v).unwrap()
}

fn dbus(settings: &[(&str, Vec<(&str, OwnedVariant)>)]) -> DbusSettings {
    settings
        .iter()
        .map(|(s, keys)| {
            let keys: HashMap<String, OwnedVariant> = keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.try_clone().unwrap()))
                .collect();
            (s.to_string(), keys)
        })
        .collect()
}

fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A valid vpn profile over the bus, with extra connection keys.
fn vpn_dbus(extra: Vec<(&str, OwnedVariant)>) -> DbusSettings {
    let mut con = vec![
        ("id", ov(Variant::from("office"))),
        ("uuid", ov(Variant::from(UUID))),
        ("type", ov(Variant::from("vpn"))),
    ];
    con.extend(extra);
    dbus(&[
        ("connection", con),
        (
            "vpn",
            vec![
                ("service-type", ov(Variant::from(OPENVPN_SERVICE_TYPE))),
                (
                    "data",
                    OwnedVariant::from(map(&[
                        ("remote", "vpn.example.com:1194"),
                        ("connection-type", "password"),
                        ("ca", "/etc/openvpn/ca.crt"),
                        ("username", "alice"),
                    ])),
                ),
                (
                    "secrets",
                    OwnedVariant::from(map(&[("password", "s3cret")])),
                ),
            ],
        ),
        ("ipv4", vec![("method", ov(Variant::from("auto")))]),
    ])
}

fn err_msg(r: Result<Profile, netnsd_api::Error>) -> String {
    match r {
        Err(netnsd_api::Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

// ---- keyfiles ---------------------------------------------------------

#[test]
fn networkmanager_openvpn_keyfile_loads_unchanged() {
    let p = Profile::from_keyfile(NM_OPENVPN).unwrap();
    assert_eq!(p.id(), "office");
    assert_eq!(p.uuid(), UUID);
    assert_eq!(p.kind(), "vpn");
    assert_eq!(p.vpn_service_type(), Some(OPENVPN_SERVICE_TYPE));
    assert_eq!(
        p.vpn_data(),
        map(&[
            ("ca", "/etc/openvpn/ca.crt"),
            ("cert", "/etc/openvpn/client.crt"),
            ("cert-pass-flags", "0"),
            ("connection-type", "tls"),
            ("key", "/etc/openvpn/client.key"),
            ("remote", "vpn.example.com:1194"),
        ])
    );
    assert!(p.vpn_secrets().is_empty());
    assert_eq!(
        p.get("connection", "autoconnect"),
        Some(&Value::Bool(false))
    );
    assert_eq!(
        p.get("connection", "permissions"),
        Some(&Value::StrList(vec![]))
    );
    assert_eq!(p.get("ipv4", "method"), Some(&Value::from("auto")));
    assert_eq!(
        p.get("ipv6", "addr-gen-mode"),
        Some(&Value::from("stable-privacy"))
    );
    assert!(p.has_setting("proxy"));
    assert_eq!(p.netns(), &NetnsKeys::default());
    assert_eq!(p.netns_name(), UUID);
}

#[test]
fn networkmanager_keyfile_round_trips_exactly() {
    let p = Profile::from_keyfile(NM_OPENVPN).unwrap();
    assert_eq!(p.to_keyfile(), NM_OPENVPN);
    assert_eq!(Profile::from_keyfile(&p.to_keyfile()).unwrap(), p);
}

#[test]
fn networkmanager_keyfile_with_netns_keys_added() {
    let text = NM_OPENVPN.replace(
        "permissions=\n",
        "permissions=\nnetns-isolate=true\nnetns-persistent=true\nnetns-name=work vpn\nnetns-timeout=5000\n",
    );
    let p = Profile::from_keyfile(&text).unwrap();
    assert_eq!(
        p.netns(),
        &NetnsKeys {
            isolate: true,
            persistent: true,
            name: NetnsName::Literal("work vpn".into()),
            timeout_ms: 5000,
        }
    );
    assert_eq!(p.netns_name(), "work vpn");
    assert_eq!(
        p.get("connection", "netns-timeout"),
        Some(&Value::I32(5000))
    );
    let again = Profile::from_keyfile(&p.to_keyfile()).unwrap();
    assert_eq!(again, p);
}

/// Groups, keys and values of a keyfile, parsed but not interpreted.
fn raw_groups(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    keyfile::KeyFile::parse(text)
        .unwrap()
        .groups
        .into_iter()
        .map(|g| (g.name, g.entries.into_iter().collect()))
        .collect()
}

#[test]
fn keyfile_round_trip_of_every_kind_of_value() {
    let text = r"[connection]
id=\stwo words\twith tab
uuid=0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10
type=wireguard
interface-name=wg0
autoconnect-priority=-5
timestamp=1700000000
secondaries=a\;b;c;
zone=trusted
x-unknown=keep me\\as is

[wireguard]
listen-port=51820
private-key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
mtu=1420

[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]
allowed-ips=10.0.0.0/8;fd00::/8;
endpoint=wg.example.com:51820
persistent-keepalive=25
preshared-key=FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=

[ipv4]
address1=10.0.0.2/24
dns=10.0.0.1;1.1.1.1;
dns-search=corp.example;
method=manual
route-metric=-1

[ipv6]
addr-gen-mode=default
method=disabled

[ethernet]
mtu=1500

[wifi]
ssid=caf\\;e

[proxy]
";
    let p = Profile::from_keyfile(text).unwrap();
    assert_eq!(p.id(), " two words\twith tab");
    assert_eq!(
        p.get("connection", "secondaries"),
        Some(&Value::StrList(vec!["a;b".into(), "c".into()]))
    );
    assert_eq!(
        p.get("connection", "autoconnect-priority"),
        Some(&Value::I32(-5))
    );
    assert_eq!(
        p.get("connection", "timestamp"),
        Some(&Value::U64(1_700_000_000))
    );
    assert_eq!(
        p.get("connection", "x-unknown"),
        Some(&Value::from("keep me\\as is"))
    );
    assert_eq!(p.get("wireguard", "listen-port"), Some(&Value::U32(51820)));
    let peer = "wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    assert_eq!(
        p.get(peer, "allowed-ips"),
        Some(&Value::StrList(vec![
            "10.0.0.0/8".into(),
            "fd00::/8".into()
        ]))
    );
    assert_eq!(p.get("ipv4", "route-metric"), Some(&Value::I64(-1)));
    assert_eq!(p.get("ipv4", "address1"), Some(&Value::from("10.0.0.2/24")));
    // NetworkManager's short group names are its long setting names.
    assert_eq!(p.get("802-3-ethernet", "mtu"), Some(&Value::from("1500")));
    assert_eq!(
        p.get("802-11-wireless", "ssid"),
        Some(&Value::Bytes(b"caf;e".to_vec()))
    );

    let out = p.to_keyfile();
    assert_eq!(raw_groups(&out), raw_groups(text));
    assert!(out.starts_with("[connection]\nid=\\stwo words\\twith tab\nuuid="));
    let order: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(
        order,
        [
            "[connection]",
            "[wireguard]",
            "[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]",
            "[ethernet]",
            "[wifi]",
            "[ipv4]",
            "[ipv6]",
            "[proxy]"
        ]
    );
    assert_eq!(Profile::from_keyfile(&out).unwrap(), p);
}

#[test]
fn keyfile_vpn_secrets_and_encoded_data_keys() {
    let text = "[connection]\nid=v\nuuid=0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10\ntype=vpn\n\n\
                [vpn]\nremote=\\sa b\nservice-type=org.example.vpn\nweird\\3Dkey=x\nuser-name=bob\ntimeout=30\npersistent=true\n\n\
                [vpn-secrets]\npassword=p\\\\w;d\ncert-pass=\\sx\n";
    let p = Profile::from_keyfile(text).unwrap();
    assert_eq!(p.vpn_data(), map(&[("remote", " a b"), ("weird=key", "x")]));
    assert_eq!(
        p.vpn_secrets(),
        map(&[("password", "p\\w;d"), ("cert-pass", " x")])
    );
    assert_eq!(p.get("vpn", "user-name"), Some(&Value::from("bob")));
    assert_eq!(p.get("vpn", "timeout"), Some(&Value::U32(30)));
    assert_eq!(p.get("vpn", "persistent"), Some(&Value::Bool(true)));
    let out = p.to_keyfile();
    assert_eq!(raw_groups(&out), raw_groups(text));
    let groups: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(groups, ["[connection]", "[vpn]", "[vpn-secrets]"]);
    assert_eq!(Profile::from_keyfile(&out).unwrap(), p);
}

#[test]
fn keyfile_without_vpn_group_ignores_vpn_secrets() {
    let text = "[connection]\nid=e\nuuid=0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10\ntype=ethernet\n\n[vpn-secrets]\npassword=x\n";
    let p = Profile::from_keyfile(text).unwrap();
    assert_eq!(p.kind(), "802-3-ethernet");
    assert!(!p.has_setting("vpn"));
    assert!(!p.to_keyfile().contains("vpn-secrets"));
    assert!(p.to_keyfile().contains("type=ethernet\n"));
}

#[test]
fn keyfile_errors_name_the_key() {
    let base = "[connection]\nid=x\nuuid=0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10\ntype=vpn\n[vpn]\nservice-type=s\n";
    for (extra, msg) in [
        (
            "[connection]\nautoconnect=perhaps\n",
            "connection.autoconnect: must be a boolean (true or false), not \"perhaps\"",
        ),
        (
            "[connection]\nnetns-timeout=soon\n",
            "connection.netns-timeout: must be a non-negative int32 (i) in milliseconds, not \"soon\"",
        ),
        (
            "[connection]\nnetns-timeout=-1\n",
            "connection.netns-timeout: must be a non-negative int32 (i) in milliseconds, not -1",
        ),
        (
            "[connection]\nnetns-timeout=4294967296\n",
            "connection.netns-timeout: must be a non-negative int32",
        ),
        (
            "[connection]\nnetns-name=a/b\n",
            "connection.netns-name: namespace name \"a/b\" contains '/'",
        ),
        (
            "[vpn]\ntimeout=-3\n",
            "vpn.timeout: must be a uint32 (u), not \"-3\"",
        ),
        (
            "[connection]\nid=bad\\q\n",
            "connection.id: invalid escape sequence \\q",
        ),
        (
            "[ipv4]\ndns=1.1.1.1\\",
            "ipv4.dns: escape character at the end",
        ),
        ("junk\n", "keyfile line 7: "),
    ] {
        let m = err_msg(Profile::from_keyfile(&format!("{base}{extra}")));
        assert!(m.starts_with(msg), "{extra:?}: {m}");
    }
    assert_eq!(
        err_msg(Profile::from_keyfile("[connection]\nid=x\ntype=vpn\n")),
        "vpn.service-type: missing for a vpn connection"
    );
    assert_eq!(
        err_msg(Profile::from_keyfile("[connection]\nid=x\n")),
        "connection.type: missing"
    );
    assert_eq!(
        err_msg(Profile::from_keyfile("[ipv4]\nmethod=auto\n")),
        "connection: setting missing"
    );
    assert_eq!(
        err_msg(Profile::from_keyfile("[connection]\ntype=vpn\n")),
        "connection.id: missing"
    );
}

#[test]
fn keyfile_missing_uuid_is_made() {
    let text = "[connection]\nid=x\ntype=wireguard\n";
    let a = Profile::from_keyfile(text).unwrap();
    assert!(is_valid_uuid(a.uuid()));
    // From a file, the uuid depends on the path only, and the id can come
    // from the file name.
    let path = Path::new("/etc/netnsd/connections/home.nmconnection");
    let b = Profile::from_keyfile_at("[connection]\ntype=wireguard\n", path).unwrap();
    let c = Profile::from_keyfile_at("[connection]\ntype=wireguard\n", path).unwrap();
    assert_eq!(b.id(), "home");
    assert_eq!(b.uuid(), c.uuid());
    assert!(is_valid_uuid(b.uuid()));
}

// ---- namespace keys -------------------------------------------------------

#[test]
fn netns_defaults() {
    let p = Profile::from_dbus(&vpn_dbus(vec![])).unwrap();
    assert_eq!(
        p.netns(),
        &NetnsKeys {
            isolate: false,
            persistent: false,
            name: NetnsName::Uuid,
            timeout_ms: 2000,
        }
    );
    assert_eq!(p.netns_name(), UUID);
    // Defaults are not written into the profile.
    assert_eq!(p.get("connection", "netns-timeout"), None);
    assert!(!p.to_keyfile().contains("netns"));
}

#[test]
fn netns_keys_over_the_bus() {
    let p = Profile::from_dbus(&vpn_dbus(vec![
        ("netns-isolate", ov(Variant::from(true))),
        ("netns-persistent", ov(Variant::from(true))),
        ("netns-name", ov(Variant::from("name"))),
        ("netns-timeout", ov(Variant::from(0i32))),
    ]))
    .unwrap();
    assert!(p.netns().isolate && p.netns().persistent);
    assert_eq!(p.netns().name, NetnsName::Name);
    // 0 is the default, as in the prototype.
    assert_eq!(p.netns().timeout_ms, DEFAULT_NETNS_TIMEOUT_MS);
    assert_eq!(p.netns_name(), "office");
    let kf = p.to_keyfile();
    for line in [
        "netns-isolate=true",
        "netns-persistent=true",
        "netns-name=name",
        "netns-timeout=0",
    ] {
        assert!(kf.contains(line), "{line} in\n{kf}");
    }
    assert_eq!(Profile::from_keyfile(&kf).unwrap(), p);

    let p = Profile::from_dbus(&vpn_dbus(vec![(
        "netns-timeout",
        ov(Variant::from(i32::MAX)),
    )]))
    .unwrap();
    assert_eq!(p.netns().timeout_ms, i32::MAX);
}

#[test]
fn netns_bad_values_name_the_key() {
    for (key, v, msg) in [
        (
            "netns-timeout",
            ov(Variant::from(-1i32)),
            "connection.netns-timeout: must be a non-negative int32 (i) in milliseconds, not -1",
        ),
        (
            "netns-timeout",
            ov(Variant::from(2000u32)),
            "connection.netns-timeout: must be a non-negative int32 (i) in milliseconds, not of type u",
        ),
        (
            "netns-isolate",
            ov(Variant::from("yes")),
            "connection.netns-isolate: must be a boolean (b), not of type s",
        ),
        (
            "netns-persistent",
            ov(Variant::from(1i32)),
            "connection.netns-persistent: must be a boolean (b), not of type i",
        ),
        (
            "netns-name",
            ov(Variant::from("a/b")),
            "connection.netns-name: namespace name \"a/b\" contains '/'",
        ),
        (
            "netns-name",
            ov(Variant::from("")),
            "connection.netns-name: namespace name is empty",
        ),
        (
            "netns-name",
            ov(Variant::from("..")),
            "connection.netns-name: namespace name \"..\" is not allowed",
        ),
        (
            "netns-name",
            ov(Variant::from("x".repeat(256))),
            "connection.netns-name: namespace name is 256 bytes long",
        ),
        (
            "netns-name",
            ov(Variant::from(5u32)),
            "connection.netns-name: must be a string (s), not of type u",
        ),
    ] {
        let m = err_msg(Profile::from_dbus(&vpn_dbus(vec![(key, v)])));
        assert!(m.starts_with(msg), "{key}: {m}");
    }
}

#[test]
fn netns_name_from_the_id() {
    assert_eq!(netns_name_from_id("office"), "office");
    assert_eq!(netns_name_from_id("a/b\0c"), "a_b_c");
    assert_eq!(netns_name_from_id("."), "_.");
    assert_eq!(netns_name_from_id(".."), "_..");
    assert_eq!(netns_name_from_id("..."), "...");
    let long = netns_name_from_id(&"ü".repeat(200));
    assert_eq!(long.len(), 254);
    assert!(netnsd_api::validate::netns_name(&long).is_ok());
    for id in ["a/b", ".", "..", "x y", &"é".repeat(300)] {
        assert!(
            netnsd_api::validate::netns_name(&netns_name_from_id(id)).is_ok(),
            "{id}"
        );
    }
    let mut p =
        Profile::from_dbus(&vpn_dbus(vec![("netns-name", ov(Variant::from("name")))])).unwrap();
    p.set("connection", "id", Value::from("work/vpn")).unwrap();
    assert_eq!(p.netns_name(), "work_vpn");
    p.set("connection", "id", Value::from("..")).unwrap();
    assert_eq!(p.netns_name(), "_..");
}

#[test]
fn netns_name_parse() {
    assert_eq!(NetnsName::parse("uuid"), Ok(NetnsName::Uuid));
    assert_eq!(NetnsName::parse("name"), Ok(NetnsName::Name));
    assert_eq!(
        NetnsName::parse("vpn0"),
        Ok(NetnsName::Literal("vpn0".into()))
    );
    assert!(NetnsName::parse("a/b").is_err());
    for n in [
        NetnsName::Uuid,
        NetnsName::Name,
        NetnsName::Literal("x".into()),
    ] {
        assert_eq!(NetnsName::parse(n.as_str()), Ok(n.clone()));
    }
}

// ---- the bus ----------------------------------------------------------------

#[test]
fn from_dbus_validates() {
    let good = vpn_dbus(vec![]);
    let p = Profile::from_dbus(&good).unwrap();
    assert_eq!(p.vpn_data()["username"], "alice");
    assert_eq!(p.vpn_secrets()["password"], "s3cret");

    let mut d = good.clone();
    d.remove("connection");
    assert_eq!(
        err_msg(Profile::from_dbus(&d)),
        "connection: setting missing"
    );

    let mut d = good.clone();
    d.get_mut("connection").unwrap().remove("type");
    assert_eq!(err_msg(Profile::from_dbus(&d)), "connection.type: missing");

    let mut d = good.clone();
    d.get_mut("connection").unwrap().remove("id");
    assert_eq!(err_msg(Profile::from_dbus(&d)), "connection.id: missing");

    let mut d = good.clone();
    d.get_mut("connection")
        .unwrap()
        .insert("id".into(), ov(Variant::from("")));
    assert_eq!(err_msg(Profile::from_dbus(&d)), "connection.id: empty");

    let mut d = good.clone();
    d.get_mut("connection")
        .unwrap()
        .insert("uuid".into(), ov(Variant::from("not-a-uuid")));
    assert!(
        err_msg(Profile::from_dbus(&d))
            .starts_with("connection.uuid: \"not-a-uuid\" is not a valid UUID")
    );

    let mut d = good.clone();
    d.get_mut("vpn").unwrap().remove("service-type");
    assert_eq!(
        err_msg(Profile::from_dbus(&d)),
        "vpn.service-type: missing for a vpn connection"
    );

    let mut d = good.clone();
    d.get_mut("ipv4")
        .unwrap()
        .insert("method".into(), ov(Variant::from(1u32)));
    assert_eq!(
        err_msg(Profile::from_dbus(&d)),
        "ipv4.method: must be a string (s), not of type u"
    );

    let mut d = good.clone();
    d.get_mut("vpn")
        .unwrap()
        .insert("data".into(), OwnedVariant::from(map(&[("timeout", "5")])));
    assert!(
        err_msg(Profile::from_dbus(&d))
            .starts_with("vpn.data: item \"timeout\" has the name of a vpn property")
    );

    let mut d = good.clone();
    d.get_mut("vpn")
        .unwrap()
        .insert("remote".into(), ov(Variant::from("h")));
    assert_eq!(
        err_msg(Profile::from_dbus(&d)),
        "vpn.remote: not a property of the vpn setting (VPN options go in vpn.data)"
    );

    let mut d = good.clone();
    d.insert("vpn-secrets".into(), HashMap::new());
    assert!(err_msg(Profile::from_dbus(&d)).starts_with("vpn-secrets: not a setting"));

    let mut d = good.clone();
    d.insert("bad]name".into(), HashMap::new());
    assert!(err_msg(Profile::from_dbus(&d)).contains("invalid setting name"));

    let mut d = good;
    d.get_mut("connection").unwrap().remove("uuid");
    let p = Profile::from_dbus(&d).unwrap();
    assert!(is_valid_uuid(p.uuid()));
    assert_ne!(p.uuid(), UUID);
}

#[test]
fn dbus_round_trip_and_unknown_keys() {
    let mut d = vpn_dbus(vec![
        ("netns-isolate", ov(Variant::from(true))),
        ("x-count", ov(Variant::from(3u32))),
        ("x-list", ov(Variant::from(vec!["a".to_string()]))),
    ]);
    d.insert(
        "ethernet".into(),
        [("mtu".to_string(), ov(Variant::from(1400u32)))].into(),
    );
    let p = Profile::from_dbus(&d).unwrap();
    assert_eq!(p.get("connection", "x-count"), Some(&Value::U32(3)));
    // Settings named by their keyfile alias are the long names.
    assert_eq!(p.get("802-3-ethernet", "mtu"), Some(&Value::U32(1400)));
    let back = Profile::from_dbus(&p.to_dbus(true)).unwrap();
    assert_eq!(back, p);
    let out = p.to_dbus(true);
    assert_eq!(
        out["connection"]["netns-isolate"]
            .value_signature()
            .to_string(),
        "b"
    );
    assert_eq!(out["vpn"]["data"].value_signature().to_string(), "a{ss}");
}

#[test]
fn secrets_are_stripped_unless_asked_for() {
    let mut d = vpn_dbus(vec![]);
    d.insert(
        "x-extra".into(),
        [
            ("admin-password".to_string(), ov(Variant::from("pw"))),
            ("admin-password-flags".to_string(), ov(Variant::from(0u32))),
        ]
        .into(),
    );
    let p = Profile::from_dbus(&d).unwrap();
    let public = p.to_dbus(false);
    assert!(!public["vpn"].contains_key("secrets"));
    assert!(public["vpn"].contains_key("data"));
    assert!(!public["x-extra"].contains_key("admin-password"));
    assert!(public["x-extra"].contains_key("admin-password-flags"));
    let all = p.to_dbus(true);
    assert!(all["vpn"].contains_key("secrets"));
    assert!(all["x-extra"].contains_key("admin-password"));

    let s = p.secrets_dbus("vpn");
    assert_eq!(s.len(), 1);
    assert_eq!(s["vpn"].len(), 1);
    let secrets: BTreeMap<String, String> =
        s["vpn"]["secrets"].try_clone().unwrap().try_into().unwrap();
    assert_eq!(secrets, map(&[("password", "s3cret")]));
    let s = p.secrets_dbus("ipv4");
    assert_eq!(s.len(), 1);
    assert!(s["ipv4"].is_empty());
    assert!(p.secrets_dbus("wireguard").is_empty());
    let s = p.secrets_dbus("");
    assert_eq!(s.len(), 2);
}

#[test]
fn wireguard_secrets_include_peers() {
    let text = "[connection]\nid=wg\nuuid=0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10\ntype=wireguard\n\n\
                [wireguard]\nprivate-key=K\nlisten-port=1\n\n[wireguard-peer.P=]\nendpoint=e:1\npreshared-key=S\n";
    let p = Profile::from_keyfile(text).unwrap();
    let public = p.to_dbus(false);
    assert!(!public["wireguard"].contains_key("private-key"));
    assert!(!public["wireguard-peer.P="].contains_key("preshared-key"));
    assert!(public["wireguard-peer.P="].contains_key("endpoint"));
    let s = p.secrets_dbus("wireguard");
    assert_eq!(s.len(), 2);
    assert!(s["wireguard"].contains_key("private-key"));
    assert!(s["wireguard-peer.P="].contains_key("preshared-key"));
    assert!(!s["wireguard"].contains_key("listen-port"));
}

#[test]
fn update_replaces_settings_and_keeps_uuid_and_secrets() {
    let mut p = Profile::from_dbus(&vpn_dbus(vec![])).unwrap();
    // What a client gets from GetSettings, changed and sent back.
    let mut d = p.to_dbus(false);
    d.get_mut("connection")
        .unwrap()
        .insert("netns-isolate".into(), ov(Variant::from(true)));
    d.get_mut("connection").unwrap().remove("uuid");
    d.remove("ipv4");
    p.update(&d).unwrap();
    assert_eq!(p.uuid(), UUID);
    assert!(p.netns().isolate);
    assert!(!p.has_setting("ipv4"));
    assert_eq!(p.vpn_secrets(), map(&[("password", "s3cret")]));

    // New secrets replace the old ones.
    let mut d = p.to_dbus(true);
    d.get_mut("vpn").unwrap().insert(
        "secrets".into(),
        OwnedVariant::from(map(&[("password", "new")])),
    );
    p.update(&d).unwrap();
    assert_eq!(p.vpn_secrets(), map(&[("password", "new")]));

    // The uuid cannot change; a bad update changes nothing.
    let before = p.clone();
    let mut d = p.to_dbus(true);
    d.get_mut("connection").unwrap().insert(
        "uuid".into(),
        ov(Variant::from("0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10")),
    );
    let e = p.update(&d).unwrap_err();
    assert!(
        e.message().starts_with("connection.uuid: cannot change"),
        "{e:?}"
    );
    let mut d = p.to_dbus(true);
    d.get_mut("connection")
        .unwrap()
        .insert("netns-timeout".into(), ov(Variant::from(-5i32)));
    let e = p.update(&d).unwrap_err();
    assert!(
        e.message()
            .starts_with("connection.netns-timeout: must be a non-negative int32")
    );
    let mut d = p.to_dbus(true);
    d.remove("connection");
    assert!(p.update(&d).is_err());
    assert_eq!(p, before);
}

#[test]
fn set_remove_and_clear_secrets() {
    let mut p = Profile::from_dbus(&vpn_dbus(vec![])).unwrap();
    p.set("connection", "netns-timeout", Value::I32(100))
        .unwrap();
    assert_eq!(p.netns().timeout_ms, 100);
    assert!(
        p.set("connection", "netns-timeout", Value::I32(-1))
            .is_err()
    );
    assert!(p.set("connection", "netns-timeout", Value::U32(1)).is_err());
    assert_eq!(p.netns().timeout_ms, 100);
    assert!(
        p.set(
            "connection",
            "uuid",
            Value::from("0b7a7c1e-3f0a-4a57-8d55-3e1b7b8c9d10")
        )
        .is_err()
    );
    assert_eq!(
        p.remove("connection", "netns-timeout").unwrap(),
        Some(Value::I32(100))
    );
    assert_eq!(p.netns().timeout_ms, DEFAULT_NETNS_TIMEOUT_MS);
    assert!(p.remove("connection", "type").is_err());
    assert!(p.remove("connection", "uuid").is_err());
    assert!(p.has_secrets());
    p.clear_secrets();
    assert!(!p.has_secrets());
    assert!(p.vpn_secrets().is_empty());
    assert_eq!(p.vpn_data()["username"], "alice");
}

// ---- .ovpn import ---------------------------------------------------------

const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUca\n-----END CERTIFICATE-----\n";
const KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEG\n-----END PRIVATE KEY-----\n";
const TA: &str = "-----BEGIN OpenVPN Static key V1-----\n0123456789abcdef\n-----END OpenVPN Static key V1-----\n";

fn typical_ovpn() -> String {
    format!(
        "# provider config\r\n\
client\r\n\
dev tun\r\n\
proto udp\r\n\
remote vpn.example.com 1194\r\n\
remote 2001:db8::1 443 tcp\r\n\
resolv-retry infinite\r\n\
nobind\r\n\
persist-key\r\n\
remote-cert-tls server\r\n\
verify-x509-name server.example.com name\r\n\
cipher AES-256-GCM\r\n\
auth SHA256\r\n\
tun-mtu 1400\r\n\
mssfix\r\n\
reneg-sec 0\r\n\
comp-lzo no\r\n\
key-direction 1\r\n\
verb 3\r\n\
<ca>\r\n{ca}</ca>\r\n\
<cert>\n{ca}</cert>\n\
<key>\n{key}</key>\n\
<tls-auth>\n{ta}</tls-auth>\n",
        ca = CA.replace('\n', "\r\n"),
        key = KEY,
        ta = TA
    )
}

#[test]
fn ovpn_import_of_a_typical_client_config() {
    let imp = import_ovpn(&typical_ovpn(), "provider", Path::new("/nonexistent")).unwrap();
    let p = &imp.profile;
    assert_eq!(p.id(), "provider");
    assert_eq!(p.kind(), "vpn");
    assert!(is_valid_uuid(p.uuid()));
    assert_eq!(p.vpn_service_type(), Some(OPENVPN_SERVICE_TYPE));
    assert_eq!(
        p.vpn_data(),
        map(&[
            ("auth", "SHA256"),
            ("cipher", "AES-256-GCM"),
            ("comp-lzo", "no-by-default"),
            ("connection-type", "tls"),
            ("dev", "tun"),
            ("dev-type", "tun"),
            ("mssfix", "yes"),
            ("remote", "vpn.example.com:1194, [2001:db8::1]:443:tcp"),
            ("remote-cert-tls", "server"),
            ("reneg-seconds", "0"),
            ("ta-dir", "1"),
            ("tunnel-mtu", "1400"),
            ("verify-x509-name", "name:server.example.com"),
        ])
    );
    assert_eq!(
        imp.inline_files,
        vec![
            ("ca".to_string(), CA.to_string()),
            ("cert".to_string(), CA.to_string()),
            ("key".to_string(), KEY.to_string()),
            ("ta".to_string(), TA.to_string()),
        ]
    );
    assert_eq!(p.get("ipv4", "method"), Some(&Value::from("auto")));
    // The profile survives a keyfile.
    assert_eq!(&Profile::from_keyfile(&p.to_keyfile()).unwrap(), p);
}

#[test]
fn ovpn_inline_files_placed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut imp = import_ovpn(&typical_ovpn(), "provider", tmp.path()).unwrap();
    let store = Store::new(tmp.path().join("connections"));
    let dir = store.files_dir(imp.profile.uuid());
    imp.place_files(&dir).unwrap();
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let data = imp.profile.vpn_data();
    for (key, contents) in [("ca", CA), ("cert", CA), ("key", KEY), ("ta", TA)] {
        let path = dir.join(format!("{key}.pem"));
        assert_eq!(data[key], path.to_str().unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), contents);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600, "{key}");
    }
    assert_eq!(data["ta-dir"], "1");
    // Placing again rewrites the same files.
    imp.place_files(&dir).unwrap();
    store.remove_files(imp.profile.uuid()).unwrap();
    assert!(!dir.exists());
    store.remove_files(imp.profile.uuid()).unwrap();
}

#[test]
fn ovpn_files_relative_to_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("auth.txt"), "alice\nsecret pw\n").unwrap();
    let text = "\
--client
remote vpn.example.com
port 1195
proto tcp
ca keys/ca.crt
cert /abs/client.crt
key client.key
tls-auth ta.key 0
tls-crypt tc.key
auth-user-pass auth.txt
keepalive 10 60
route 10.10.0.0 255.255.0.0
route 10.20.0.0 255.255.255.0 10.8.0.1 50
route 0.0.0.0 0.0.0.0
";
    let imp = import_ovpn(text, "work", tmp.path()).unwrap();
    let d = imp.profile.vpn_data();
    let base = tmp.path().to_str().unwrap();
    assert_eq!(d["ca"], format!("{base}/keys/ca.crt"));
    assert_eq!(d["cert"], "/abs/client.crt");
    assert_eq!(d["key"], format!("{base}/client.key"));
    assert_eq!(d["ta"], format!("{base}/ta.key"));
    assert_eq!(d["ta-dir"], "0");
    assert_eq!(d["tls-crypt"], format!("{base}/tc.key"));
    assert_eq!(d["remote"], "vpn.example.com");
    assert_eq!(d["port"], "1195");
    assert_eq!(d["proto-tcp"], "yes");
    assert_eq!(d["connection-type"], "password-tls");
    assert_eq!(d["ping"], "10");
    assert_eq!(d["ping-restart"], "60");
    // What the credentials file holds is a secret, the user name too.
    assert!(!d.contains_key("username"));
    assert_eq!(
        imp.profile.vpn_secrets(),
        map(&[("password", "secret pw"), ("username", "alice")])
    );
    assert!(imp.inline_files.is_empty());
    assert_eq!(
        imp.profile.get("ipv4", "route1"),
        Some(&Value::from("10.10.0.0/16"))
    );
    assert_eq!(
        imp.profile.get("ipv4", "route2"),
        Some(&Value::from("10.20.0.0/24,10.8.0.1,50"))
    );
    assert_eq!(imp.profile.get("ipv4", "route3"), None);
}

#[test]
fn ovpn_static_key_and_password_only() {
    let text = format!(
        "remote 192.0.2.1 1194 udp\ndev tun0\nifconfig 10.9.0.2 10.9.0.1\nsecret [inline] 1\n<secret>\n{TA}</secret>\n"
    );
    let imp = import_ovpn(&text, "p2p", Path::new("/")).unwrap();
    let d = imp.profile.vpn_data();
    assert_eq!(d["connection-type"], "static-key");
    assert_eq!(d["static-key-direction"], "1");
    assert_eq!(d["local-ip"], "10.9.0.2");
    assert_eq!(d["remote-ip"], "10.9.0.1");
    assert_eq!(d["remote"], "192.0.2.1:1194:udp");
    assert!(!d.contains_key("static-key"));
    assert_eq!(
        imp.inline_files,
        vec![("static-key".to_string(), TA.to_string())]
    );

    let text = format!("client\nremote h\nauth-user-pass\n<ca>\n{CA}</ca>\n");
    let imp = import_ovpn(&text, "pw", Path::new("/")).unwrap();
    assert_eq!(imp.profile.vpn_data()["connection-type"], "password");
    assert!(!imp.profile.vpn_data().contains_key("username"));
}

#[test]
fn ovpn_errors() {
    let dir = Path::new("/nonexistent");
    for (text, msg) in [
        ("client\nca /ca\n", "no remote"),
        ("remote h\nca /ca\n", "neither client nor secret"),
        ("client\nremote h\n", "missing ca"),
        (
            "client\nremote h\nca /c\ncert /c\n",
            "cert and key go together",
        ),
        (
            "client\nremote h\nca /c\n<key>\nx\n",
            "line 4: unterminated inline block <key>",
        ),
        ("client\nremote h 99999\n", "line 2: invalid argument 2"),
        ("client\nproto sctp\n", "line 2: proto expects"),
        (
            "client\n<pkcs12>\nx\n</pkcs12>\n",
            "line 2: an inline <pkcs12> block is not supported",
        ),
        ("client\n<foo>\n</foo>\n", "unsupported inline block <foo>"),
        ("client\nremote \"h\n", "line 2: unterminated double quote"),
        (
            "client\nremote h\nca /c\nauth-user-pass nofile\n",
            "line 4: cannot read /nonexistent/nofile",
        ),
        ("client\nkey-direction 2\n", "line 2: invalid key direction"),
    ] {
        let e = import_ovpn(text, "x", dir).unwrap_err();
        assert!(matches!(e, netnsd_api::Error::InvalidArgument(_)), "{e:?}");
        assert!(e.message().contains(msg), "{text:?}: {}", e.message());
    }
    assert!(import_ovpn("client\nremote h\nca /c\n", "", dir).is_err());
}

// ---- the store ---------------------------------------------------------------

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn store_saves_root_only_files_and_loads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path().join("connections"));
    assert!(store.load_all().is_empty());

    let p = Profile::from_keyfile(NM_OPENVPN).unwrap();
    let path = store.save(&p, None).unwrap();
    assert_eq!(path, store.dir().join("office.nmconnection"));
    assert_eq!(mode(store.dir()), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        fs::metadata(&path).unwrap().uid(),
        nix::unistd::geteuid().as_raw()
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), NM_OPENVPN);

    // A second profile with the same id gets a name of its own.
    let mut other = Profile::from_dbus(&{
        let mut d = vpn_dbus(vec![]);
        d.get_mut("connection").unwrap().remove("uuid");
        d
    })
    .unwrap();
    let path2 = store.save(&other, None).unwrap();
    assert_eq!(
        path2,
        store
            .dir()
            .join(format!("office-{}.nmconnection", other.uuid()))
    );

    // An update keeps its file, even with a new id.
    other
        .set("connection", "id", Value::from("renamed"))
        .unwrap();
    assert_eq!(store.save(&other, Some(&path2)).unwrap(), path2);
    assert_eq!(mode(&path2), 0o600);

    // Not profiles: other names, hidden and temporary files, directories.
    fs::write(store.dir().join("notes.txt"), "x").unwrap();
    fs::write(store.dir().join(".hidden.nmconnection"), "x").unwrap();
    fs::create_dir(store.files_dir(p.uuid())).unwrap();
    let all = store.load_all();
    assert_eq!(all.len(), 2);
    // In file name order: '-' sorts before '.'.
    assert_eq!(all[0].0, path2);
    assert_eq!(all[0].1.as_ref().unwrap(), &other);
    assert_eq!(
        all[0].1.as_ref().unwrap().vpn_secrets()["password"],
        "s3cret"
    );
    assert_eq!(all[1].0, path);
    assert_eq!(all[1].1.as_ref().unwrap(), &p);

    store.delete(&path2).unwrap();
    assert_eq!(store.load_all().len(), 1);
    assert!(matches!(
        store.delete(&path2),
        Err(netnsd_api::Error::NotFound(_))
    ));
    // No temporary files were left behind.
    let names: Vec<String> = fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".office")), "{names:?}");
}

#[test]
fn store_refuses_insecure_files() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let write = |name: &str, mode: u32| {
        let path = tmp.path().join(name);
        fs::write(&path, NM_OPENVPN).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    };
    write("a-good.nmconnection", 0o600);
    write("b-world.nmconnection", 0o644);
    write("c-group.nmconnection", 0o640);
    write("d-readonly.nmconnection", 0o400);
    std::os::unix::fs::symlink(
        tmp.path().join("a-good.nmconnection"),
        tmp.path().join("e-link.nmconnection"),
    )
    .unwrap();
    fs::write(
        tmp.path().join("f-bad.nmconnection"),
        "[connection]\nid=x\n",
    )
    .unwrap();
    fs::set_permissions(
        tmp.path().join("f-bad.nmconnection"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();

    let all = store.load_all();
    let names: Vec<String> = all
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "a-good.nmconnection",
            "b-world.nmconnection",
            "c-group.nmconnection",
            "d-readonly.nmconnection",
            "e-link.nmconnection",
            "f-bad.nmconnection"
        ]
    );
    assert!(all[0].1.is_ok());
    for (i, what) in [(1, "mode 0644"), (2, "mode 0640"), (4, "symbolic link")] {
        match &all[i].1 {
            Err(netnsd_api::Error::PermissionDenied(m)) => {
                assert!(m.contains(what), "{m}");
                assert!(m.contains(&names[i]), "{m}");
            }
            other => panic!("{}: {other:?}", names[i]),
        }
    }
    assert!(all[3].1.is_ok());
    match &all[5].1 {
        Err(netnsd_api::Error::InvalidArgument(m)) => {
            assert!(
                m.ends_with("f-bad.nmconnection: connection.type: missing"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }

    // A file owned by someone else (checkable when the tests run as root).
    if nix::unistd::geteuid().is_root() {
        let path = write("g-nobody.nmconnection", 0o600);
        nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        match store.load(&path) {
            Err(netnsd_api::Error::PermissionDenied(m)) => {
                assert!(m.contains("owned by uid 65534"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn store_names_files_from_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let mut d = vpn_dbus(vec![]);
    d.get_mut("connection")
        .unwrap()
        .insert("id".into(), ov(Variant::from("../../etc/passwd")));
    let p = Profile::from_dbus(&d).unwrap();
    let path = store.save(&p, None).unwrap();
    assert_eq!(path, tmp.path().join("_._.._etc_passwd.nmconnection"));
    assert_eq!(store.load(&path).unwrap(), p);
    assert!(store.remove_files("../x").is_err());
}

// --- issue 15: the [ipv4]/[ipv6] groups as NetworkManager writes them -----

fn ip_profile(ipv4: &str, ipv6: &str) -> Profile {
    Profile::from_keyfile(&format!(
        "[connection]\nid=x\nuuid=2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11\ntype=vpn\n\n\
         [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\nremote=h\n\n\
         [ipv4]\n{ipv4}\n\n[ipv6]\n{ipv6}\n"
    ))
    .unwrap()
}

/// Every spelling of addresses the keyfile plugin reads: address,
/// addresses, addressN, addressesN, lists, gateways after a comma.
#[test]
fn ip_group_address_forms() {
    use ipgroup::IpGroup;
    let p = ip_profile(
        "method=manual\naddress=10.0.0.1/24\naddresses=10.0.1.1/24;10.0.2.1/24,10.0.2.254;\n\
         address2=10.0.3.1\naddresses3=10.0.4.1/16,10.0.4.254",
        "method=manual\naddress1=fd00::2/64",
    );
    let g = IpGroup::of(&p, netnsd_api::Family::V4).unwrap();
    let got: Vec<String> = g.addresses.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        got,
        [
            "10.0.0.1/24",
            "10.0.1.1/24",
            "10.0.2.1/24",
            "10.0.3.1/32",
            "10.0.4.1/16"
        ]
    );
    let g6 = IpGroup::of(&p, netnsd_api::Family::V6).unwrap();
    assert_eq!(g6.addresses[0].to_string(), "fd00::2/64");
    // A wrong family or a bad prefix names the key.
    let e = IpGroup::of(
        &ip_profile("address1=fd00::1/64", ""),
        netnsd_api::Family::V4,
    )
    .unwrap_err();
    assert!(e.message().starts_with("ipv4.address1:"), "{}", e.message());
    let e = IpGroup::of(
        &ip_profile("address7=10.0.0.1/33", ""),
        netnsd_api::Family::V4,
    )
    .unwrap_err();
    assert!(e.message().starts_with("ipv4.address7:"), "{}", e.message());
}

/// dns in the ADDR#SERVER-NAME form, dns-search's "~" (NetworkManager's
/// WireGuard importer writes it) and ~DOMAIN routing domains.
#[test]
fn ip_group_dns_forms() {
    use ipgroup::IpGroup;
    let p = ip_profile(
        "method=manual\ndns=10.99.0.53;1.1.1.1#cloudflare-dns.com;\ndns-search=~;~corp.test;lab.test;",
        "dns=2001:db8::53#dns.example;",
    );
    let g = IpGroup::of(&p, netnsd_api::Family::V4).unwrap();
    let dns: Vec<String> = g.dns.iter().map(|d| d.to_string()).collect();
    assert_eq!(dns, ["10.99.0.53", "1.1.1.1"]);
    assert_eq!(g.search, ["corp.test", "lab.test"]);
    assert!(!g.search.iter().any(|s| s.contains('~')));
    let g6 = IpGroup::of(&p, netnsd_api::Family::V6).unwrap();
    assert_eq!(g6.dns[0].to_string(), "2001:db8::53");
    let e = IpGroup::of(&ip_profile("dns=nope#x;", ""), netnsd_api::Family::V4).unwrap_err();
    assert!(e.message().starts_with("ipv4.dns:"), "{}", e.message());
}

/// routeN (DEST/PREFIX,NEXT-HOP,METRIC), never-default, route-metric and
/// the ignore-auto keys.
#[test]
fn ip_group_routes_and_flags() {
    use ipgroup::{IpGroup, IpRoute};
    let p = ip_profile(
        "method=auto\nroute1=10.50.0.0/16\nroute2=10.60.1.0/24,10.8.0.1,50\nroutes=192.0.2.0/24,0.0.0.0,7;\n\
         never-default=true\nignore-auto-routes=true\nignore-auto-dns=true\nroute-metric=42",
        "route1=fd00:99::/48",
    );
    let g = IpGroup::of(&p, netnsd_api::Family::V4).unwrap();
    assert_eq!(
        g.routes,
        vec![
            IpRoute {
                destination: "192.0.2.0/24".parse().unwrap(),
                next_hop: None,
                metric: Some(7)
            },
            IpRoute {
                destination: "10.50.0.0/16".parse().unwrap(),
                next_hop: None,
                metric: None
            },
            IpRoute {
                destination: "10.60.1.0/24".parse().unwrap(),
                next_hop: Some("10.8.0.1".parse().unwrap()),
                metric: Some(50)
            },
        ]
    );
    assert!(g.never_default && g.ignore_auto_routes && g.ignore_auto_dns);
    assert_eq!(g.route_metric, Some(42));
    let g6 = IpGroup::of(&p, netnsd_api::Family::V6).unwrap();
    assert_eq!(g6.routes[0].destination.to_string(), "fd00:99::/48");
    assert!(!g6.never_default && g6.route_metric.is_none());
    let e = IpGroup::of(
        &ip_profile("route1=10.0.0.0/8,10.0.0.1,x", ""),
        netnsd_api::Family::V4,
    )
    .unwrap_err();
    assert!(e.message().starts_with("ipv4.route1:"), "{}", e.message());
    // route-metric=-1 is NetworkManager's "default".
    let g = IpGroup::of(&ip_profile("route-metric=-1", ""), netnsd_api::Family::V4).unwrap();
    assert_eq!(g.route_metric, None);
}

// --- issue 15: NetworkManager's a{sa{sv}} forms --------------------------

fn ovar(v: Variant<'_>) -> OwnedVariant {
    OwnedVariant::try_from(v).unwrap()
}

fn a_sv(items: &[(&str, Variant<'static>)]) -> HashMap<String, OwnedVariant> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), ovar(v.clone())))
        .collect()
}

/// What libnm sends for a WireGuard profile: address-data, route-data and
/// the deprecated addresses/routes (ignored beside them), dns as au,
/// addr-gen-mode as i, wireguard.peers.
fn nm_wireguard_dict() -> DbusSettings {
    let s = |x: &str| Variant::from(x.to_string());
    let mut d = DbusSettings::new();
    d.insert(
        "connection".into(),
        a_sv(&[
            ("id", s("nm-wg")),
            ("uuid", s("7f1a5c3e-1111-4d2b-8c8d-0123456789ab")),
            ("type", s("wireguard")),
        ]),
    );
    let peer = a_sv(&[
        (
            "public-key",
            s("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="),
        ),
        ("endpoint", s("203.0.113.1:51820")),
        (
            "allowed-ips",
            Variant::from(vec!["0.0.0.0/0".to_string(), "::/0".to_string()]),
        ),
        ("persistent-keepalive", Variant::from(25u32)),
    ]);
    d.insert(
        "wireguard".into(),
        [
            (
                "private-key".to_string(),
                ovar(s("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")),
            ),
            ("peers".to_string(), ovar(Variant::from(vec![peer]))),
        ]
        .into_iter()
        .collect(),
    );
    let addr = a_sv(&[
        ("address", s("10.66.0.2")),
        ("prefix", Variant::from(24u32)),
    ]);
    let route = a_sv(&[
        ("dest", s("10.50.0.0")),
        ("prefix", Variant::from(16u32)),
        ("metric", Variant::from(77u32)),
    ]);
    let mut ipv4: HashMap<String, OwnedVariant> = HashMap::new();
    ipv4.insert("method".into(), ovar(s("manual")));
    ipv4.insert("address-data".into(), ovar(Variant::from(vec![addr])));
    ipv4.insert("route-data".into(), ovar(Variant::from(vec![route])));
    // libnm's deprecated forms beside them (a different address: ignored).
    ipv4.insert(
        "addresses".into(),
        ovar(Variant::from(vec![vec![
            u32::from_ne_bytes([192, 0, 2, 9]),
            24u32,
            0u32,
        ]])),
    );
    ipv4.insert("routes".into(), ovar(Variant::from(Vec::<Vec<u32>>::new())));
    ipv4.insert(
        "dns".into(),
        ovar(Variant::from(vec![u32::from_ne_bytes([10, 99, 0, 53])])),
    );
    d.insert("ipv4".into(), ipv4);
    d.insert(
        "ipv6".into(),
        a_sv(&[
            ("method", s("disabled")),
            ("addr-gen-mode", Variant::from(1i32)),
        ]),
    );
    d
}

#[test]
fn networkmanagers_bus_forms_are_accepted() {
    let p = Profile::from_dbus(&nm_wireguard_dict()).unwrap();
    assert_eq!(
        p.get("ipv4", "address1"),
        Some(&Value::from("10.66.0.2/24"))
    );
    assert_eq!(
        p.get("ipv4", "address2"),
        None,
        "the deprecated form is ignored"
    );
    assert_eq!(p.get("ipv4", "addresses"), None);
    assert_eq!(
        p.get("ipv4", "route1"),
        Some(&Value::from("10.50.0.0/16,0.0.0.0,77"))
    );
    assert_eq!(
        p.get("ipv4", "dns"),
        Some(&Value::StrList(vec!["10.99.0.53".into()]))
    );
    assert_eq!(
        p.get("ipv6", "addr-gen-mode"),
        Some(&Value::from("stable-privacy"))
    );
    let peer = "wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
    assert_eq!(
        p.get(peer, "allowed-ips"),
        Some(&Value::StrList(vec!["0.0.0.0/0".into(), "::/0".into()]))
    );
    assert_eq!(p.get(peer, "persistent-keepalive"), Some(&Value::U32(25)));
    assert!(p.get("wireguard", "peers").is_none());
    // As a keyfile, NetworkManager's own keys.
    let kf = p.to_keyfile();
    assert!(
        kf.contains("address1=10.66.0.2/24") && kf.contains("addr-gen-mode=stable-privacy"),
        "{kf}"
    );
    // Bad forms name the key.
    let mut d = nm_wireguard_dict();
    d.get_mut("ipv4").unwrap().insert(
        "address-data".into(),
        ovar(Variant::from(vec![a_sv(&[(
            "address",
            Variant::from("10.0.0.1".to_string()),
        )])])),
    );
    let e = Profile::from_dbus(&d).unwrap_err();
    assert!(
        e.message().starts_with("ipv4.address-data:"),
        "{}",
        e.message()
    );
    let mut d = nm_wireguard_dict();
    d.get_mut("ipv6")
        .unwrap()
        .insert("addr-gen-mode".into(), OwnedVariant::from(9i32));
    let e = Profile::from_dbus(&d).unwrap_err();
    assert!(
        e.message().starts_with("ipv6.addr-gen-mode:"),
        "{}",
        e.message()
    );
}

#[test]
fn get_settings_returns_networkmanagers_bus_forms() {
    let p = Profile::from_dbus(&nm_wireguard_dict()).unwrap();
    let d = p.to_dbus(false);
    let sig = |s: &str, k: &str| d[s][k].value_signature().to_string();
    assert_eq!(sig("ipv4", "address-data"), "aa{sv}");
    assert_eq!(sig("ipv4", "route-data"), "aa{sv}");
    assert_eq!(sig("ipv4", "dns"), "au");
    assert_eq!(sig("ipv6", "addr-gen-mode"), "i");
    assert_eq!(sig("wireguard", "peers"), "aa{sv}");
    // The keyfile keys stay beside them, and what GetSettings gives,
    // sent back with Update, is the same profile.
    assert!(d["ipv4"].contains_key("address1"));
    let mut again = p.clone();
    again.update(&d).unwrap();
    assert_eq!(again, p);
    // No secret in the peers without asking.
    let peers = format!("{:?}", d["wireguard"]["peers"]);
    assert!(!peers.contains("preshared"), "{peers}");
}
