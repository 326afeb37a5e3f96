//! Fuzz targets for the parsers of connection profiles fed from outside:
//! keyfiles (files anyone with write access to the store, or NetworkManager,
//! wrote), `.ovpn` and wg-quick files (ImportConnection), and `a{sa{sv}}`
//! from the bus (AddConnection, Update). Property-based with proptest: a
//! short run in every `cargo test`, a long one with
//! `PROPTEST_CASES=1000000 cargo test -p netnsd --release fuzz_`
//! (docs/security.md). Each target asserts that the parser returns instead
//! of panicking, and the round trips where there are some.

use std::collections::HashMap;

use proptest::prelude::*;
use zbus::wire::{OwnedVariant, Variant};

use super::*;

/// Cases per target in a plain `cargo test`; PROPTEST_CASES overrides it.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // No files of regressions beside the sources: a failure prints its
        // minimal input, which becomes a named regression test.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made of pieces a parser reacts to, and arbitrary characters.
fn text_from(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(pieces).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "[ -~]{0,12}",
    ];
    proptest::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

const KEYFILE_PIECES: &[&str] = &[
    "\n",
    "\n",
    "\r\n",
    "[connection]\n",
    "[vpn]\n",
    "[vpn-secrets]\n",
    "[ipv4]\n",
    "[ipv6]\n",
    "[wireguard]\n",
    "[wireguard-peer.",
    "[wireguard-peer.aGVsbG8=]\n",
    "[ethernet]\n",
    "[",
    "]",
    "=",
    ";",
    "#",
    "\\",
    "\\s",
    "\\n",
    "\\t",
    "\\;",
    "\\x",
    "\\x41",
    "\\\\",
    "id=",
    "uuid=",
    "type=",
    "type=vpn\n",
    "type=wireguard\n",
    "uuid=2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11\n",
    "netns-isolate=",
    "netns-persistent=",
    "netns-name=",
    "netns-timeout=",
    "autoconnect=",
    "permissions=user:alice;",
    "service-type=org.freedesktop.NetworkManager.openvpn\n",
    "password-flags=",
    "password=",
    "dns=",
    "address1=",
    "route1=",
    "private-key=",
    "allowed-ips=",
    "true",
    "false",
    "-1",
    "2147483648",
    "18446744073709551616",
    "1;2;3;",
    "0x",
    " ",
    "\u{0}",
    "\u{7f}",
    "ü",
];

/// A keyfile made of groups of `key=value` lines.
fn keyfile_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        proptest::sample::select(
            &[
                "id",
                "uuid",
                "type",
                "netns-isolate",
                "netns-persistent",
                "netns-name",
                "netns-timeout",
                "autoconnect",
                "permissions",
                "service-type",
                "remote",
                "password",
                "password-flags",
                "dns",
                "dns-search",
                "address1",
                "method",
                "private-key",
                "allowed-ips",
                "timestamp",
                "mtu",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z0-9.-]{1,10}",
    ];
    let value = text_from(&[
        "true", "false", "0", "1", "-1", "65536", "uuid", "name", "a;b;", "\\s", "\\\\", "\\;",
        "\\x", ";", "/", "..", "x", "ü",
    ]);
    let group = prop_oneof![
        proptest::sample::select(
            &[
                "connection",
                "vpn",
                "vpn-secrets",
                "ipv4",
                "ipv6",
                "wireguard",
                "wireguard-peer.aGVsbG8=",
                "proxy",
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-z.-]{1,10}",
    ];
    let lines = proptest::collection::vec((key, value), 0..8);
    proptest::collection::vec((group, lines), 0..5).prop_map(|groups| {
        let mut out = String::new();
        for (g, lines) in groups {
            out.push_str(&format!("[{g}]\n"));
            for (k, v) in lines {
                out.push_str(&format!("{k}={v}\n"));
            }
        }
        out
    })
}

/// A keyfile read, written and read again gives the same profile, and
/// writing it again gives the same text.
fn check_keyfile_round_trip(text: &str) -> Result<(), TestCaseError> {
    if let Ok(p) = Profile::from_keyfile(text) {
        let written = p.to_keyfile();
        let again = Profile::from_keyfile(&written).map_err(|e| {
            TestCaseError::fail(format!("written keyfile not read back: {e}\n{written}"))
        })?;
        prop_assert_eq!(&again, &p, "keyfile:\n{}", written);
        prop_assert_eq!(again.to_keyfile(), written);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_keyfile_any_text(text in text_from(KEYFILE_PIECES)) {
        check_keyfile_round_trip(&text)?;
    }

    #[test]
    fn fuzz_keyfile_structured(text in keyfile_text()) {
        check_keyfile_round_trip(&text)?;
    }

    #[test]
    fn fuzz_keyfile_escape_round_trip(s in any::<String>()) {
        // (A list element, escaped with in_list, is read by unescape_list:
        // fuzz_keyfile_list_round_trip.)
        let escaped = keyfile::escape(&s, false);
        prop_assert_eq!(keyfile::unescape(&escaped, false), Ok(s.clone()));
        prop_assert_eq!(keyfile::decode_key(&keyfile::encode_key(&s)), s);
    }

    #[test]
    fn fuzz_keyfile_list_round_trip(items in proptest::collection::vec("\\PC{1,8}", 0..5)) {
        let rendered = keyfile::render_list(&items);
        prop_assert_eq!(keyfile::unescape_list(&rendered), Ok(items));
    }

    #[test]
    fn fuzz_keyfile_unescape_any(s in text_from(KEYFILE_PIECES), lenient in any::<bool>()) {
        let _ = keyfile::unescape(&s, lenient);
        let _ = keyfile::unescape_list(&s);
        let _ = keyfile::decode_key(&s);
    }
}

// ---------------------------------------------------------------------------
// .ovpn and wg-quick imports

const OVPN_PIECES: &[&str] = &[
    "\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "\"",
    "'",
    "\\",
    "#",
    ";",
    "--",
    "client\n",
    "remote ",
    "remote vpn.example.com 1194 udp\n",
    "proto ",
    "udp",
    "tcp-client",
    "dev ",
    "tun",
    "tap",
    "dev-type ",
    "port ",
    "rport ",
    "ca ",
    "cert ",
    "key ",
    "tls-auth ",
    "tls-crypt ",
    "key-direction ",
    "secret ",
    "auth-user-pass",
    "auth-user-pass creds\n",
    "http-proxy ",
    "socks-proxy ",
    "route ",
    "route 10.0.0.0 255.0.0.0\n",
    "ifconfig ",
    "ifconfig 10.8.0.2 10.8.0.1\n",
    "cipher ",
    "auth ",
    "comp-lzo",
    "compress ",
    "mssfix ",
    "tun-mtu ",
    "fragment ",
    "keepalive ",
    "reneg-sec ",
    "remote-cert-tls ",
    "verify-x509-name ",
    "up /bin/sh\n",
    "script-security 2\n",
    "<ca>\n",
    "</ca>\n",
    "<cert>\n",
    "</cert>\n",
    "<key>\n",
    "</key>\n",
    "<tls-auth>\n",
    "</tls-auth>\n",
    "<tls-crypt>\n",
    "</tls-crypt>\n",
    "-----BEGIN CERTIFICATE-----\n",
    "-----END CERTIFICATE-----\n",
    "<",
    ">",
    "/",
    "0",
    "1",
    "65535",
    "65536",
    "-1",
    "255.255.255.0",
    "::1",
    "\u{feff}",
    "\u{0}",
];

const WG_PIECES: &[&str] = &[
    "\n",
    "\n",
    "\r\n",
    " ",
    "=",
    " = ",
    ",",
    "#",
    "[Interface]\n",
    "[Peer]\n",
    "[interface]\n",
    "[",
    "]",
    "PrivateKey",
    "PublicKey",
    "PresharedKey",
    "Address",
    "DNS",
    "MTU",
    "ListenPort",
    "FwMark",
    "Table",
    "AllowedIPs",
    "Endpoint",
    "PersistentKeepalive",
    "PreUp",
    "PostUp",
    "SaveConfig",
    "yEZmBBvVgBq0bRGWk3JYqZm8l3wWyUNP0yRjzF4fQ0M=",
    "aGVsbG8=",
    "10.0.0.2/32",
    "fd00::2/128",
    "0.0.0.0/0",
    "::/0",
    "/",
    "/33",
    "/129",
    "/4294967296",
    "[::1]:51820",
    "vpn.example.com:51820",
    ":",
    "65535",
    "65536",
    "off",
    "auto",
    "0x",
    "-1",
    "1.1.1.1",
    "example.com",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_ovpn_import(text in text_from(OVPN_PIECES)) {
        // Files named in the text are looked up in an empty directory.
        let dir = tempfile::tempdir().unwrap();
        if let Ok(imported) = import_ovpn(&text, "fuzz", dir.path()) {
            check_keyfile_round_trip(&imported.profile.to_keyfile())?;
            let again = Profile::from_keyfile(&imported.profile.to_keyfile()).unwrap();
            prop_assert_eq!(again, imported.profile);
        }
    }

    #[test]
    fn fuzz_wg_quick_import(text in text_from(WG_PIECES), id in "\\PC{0,12}") {
        if let Ok(profile) = import_wg_quick(&text, &id) {
            let again = Profile::from_keyfile(&profile.to_keyfile()).map_err(|e| {
                TestCaseError::fail(format!("imported profile not read back: {e}"))
            })?;
            prop_assert_eq!(again, profile);
        }
    }
}

// ---------------------------------------------------------------------------
// a{sa{sv}} from the bus

/// Setting names: known ones, near misses and arbitrary strings.
fn setting_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(&[
            "connection",
            "vpn",
            "ipv4",
            "ipv6",
            "wireguard",
            "wireguard-peer.aGVsbG8=",
            "wireguard-peer.",
            "vpn-secrets",
            "proxy",
            "ethernet",
            "",
        ][..])
        .prop_map(str::to_owned),
        1 => "\\PC{0,10}",
        1 => any::<String>(),
    ]
}

fn key_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(&[
            "id",
            "uuid",
            "type",
            "netns-isolate",
            "netns-persistent",
            "netns-name",
            "netns-timeout",
            "autoconnect",
            "permissions",
            "timestamp",
            "service-type",
            "data",
            "secrets",
            "user-name",
            "dns",
            "dns-search",
            "addresses",
            "address-data",
            "method",
            "private-key",
            "private-key-flags",
            "listen-port",
            "mtu",
            "allowed-ips",
            "endpoint",
            "preshared-key",
            "",
        ][..])
        .prop_map(str::to_owned),
        1 => "\\PC{0,10}",
    ]
}

/// D-Bus values of the types netnsd reads and of some it refuses.
fn variant() -> impl Strategy<Value = OwnedVariant> {
    let own = |v: Variant<'static>| OwnedVariant::try_from(v).unwrap();
    let small_str = prop_oneof![
        proptest::sample::select(
            &[
                "uuid",
                "name",
                "vpn",
                "wireguard",
                "802-3-ethernet",
                "org.freedesktop.NetworkManager.openvpn",
                "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11",
                "..",
                "a/b",
                "",
            ][..]
        )
        .prop_map(str::to_owned),
        "\\PC{0,16}",
    ];
    prop_oneof![
        small_str.clone().prop_map(move |s| own(Variant::from(s))),
        any::<bool>().prop_map(move |b| own(Variant::from(b))),
        any::<i32>().prop_map(move |n| own(Variant::from(n))),
        any::<u32>().prop_map(move |n| own(Variant::from(n))),
        any::<i64>().prop_map(move |n| own(Variant::from(n))),
        any::<u64>().prop_map(move |n| own(Variant::from(n))),
        any::<u8>().prop_map(move |n| own(Variant::from(n))),
        any::<f64>().prop_map(move |n| own(Variant::from(n))),
        proptest::collection::vec(small_str.clone(), 0..4).prop_map(move |l| own(Variant::from(l))),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(move |b| own(Variant::from(b))),
        proptest::collection::vec(any::<u32>(), 0..4).prop_map(move |l| own(Variant::from(l))),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..3)
            .prop_map(move |l| own(Variant::from(l))),
        proptest::collection::btree_map(small_str.clone(), small_str.clone(), 0..4)
            .prop_map(move |m| own(Variant::from(m.into_iter().collect::<HashMap<_, _>>()))),
        proptest::collection::btree_map(small_str.clone(), any::<u32>(), 0..3)
            .prop_map(move |m| own(Variant::from(m.into_iter().collect::<HashMap<_, _>>()))),
        small_str.prop_map(move |s| own(Variant::Variant(Box::new(Variant::from(s))))),
    ]
}

fn dbus_settings() -> impl Strategy<Value = DbusSettings> {
    let keys = proptest::collection::vec((key_name(), variant()), 0..8)
        .prop_map(|v| v.into_iter().collect::<HashMap<_, _>>());
    proptest::collection::vec((setting_name(), keys), 0..5)
        .prop_map(|v| v.into_iter().collect::<DbusSettings>())
}

/// A connection setting that validates, so that the rest gets looked at.
fn with_connection(mut d: DbusSettings, kind: &str) -> DbusSettings {
    let con = d.entry("connection".into()).or_default();
    con.insert(
        "id".into(),
        OwnedVariant::try_from(Variant::from("fuzz".to_owned())).unwrap(),
    );
    con.insert(
        "type".into(),
        OwnedVariant::try_from(Variant::from(kind.to_owned())).unwrap(),
    );
    d
}

/// a{sa{sv}} → profile → a{sa{sv}} → profile gives the same profile.
fn check_dbus(d: &DbusSettings) -> Result<(), TestCaseError> {
    if let Ok(p) = Profile::from_dbus(d) {
        let again = Profile::from_dbus(&p.to_dbus(true))
            .map_err(|e| TestCaseError::fail(format!("to_dbus not read back: {e}")))?;
        prop_assert_eq!(&again, &p);
        let mut updated = p.clone();
        updated
            .update(&p.to_dbus(true))
            .map_err(|e| TestCaseError::fail(format!("update with itself: {e}")))?;
        prop_assert_eq!(updated, p);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_dbus_settings(d in dbus_settings()) {
        check_dbus(&d)?;
    }

    #[test]
    fn fuzz_dbus_settings_valid_connection(
        d in dbus_settings(),
        kind in proptest::sample::select(&["vpn", "wireguard", "802-3-ethernet", "x"][..]),
    ) {
        check_dbus(&with_connection(d, kind))?;
    }

    #[test]
    fn fuzz_wire_from_variant(setting in setting_name(), key in key_name(), v in variant()) {
        if let Ok(value) = wire::from_variant(&setting, &key, &Variant::from(v)) {
            // What was accepted goes back on the bus and is read the same.
            let back = wire::to_variant(&value);
            let again = wire::from_variant(&setting, &key, &back)
                .map_err(|e| TestCaseError::fail(format!("not read back: {e}")))?;
            prop_assert_eq!(again, value);
        }
    }
}

/// Found by fuzz_dbus_settings_valid_connection: a key netnsd only carries
/// in a WireGuard peer's group was lost when the profile came back with
/// `wireguard.peers` beside the group (the peers replaced the groups).
#[test]
fn regression_a_carried_key_of_a_wireguard_peer_survives_the_round_trip() {
    let mut d = DbusSettings::new();
    d.entry("wireguard".into()).or_default();
    d.entry("wireguard-peer.aGVsbG8=".into())
        .or_default()
        .insert(
            "id".into(),
            OwnedVariant::try_from(Variant::from("uuid".to_owned())).unwrap(),
        );
    check_dbus(&with_connection(d, "wireguard")).unwrap();
    let p = Profile::from_dbus(&with_connection(DbusSettings::new(), "wireguard")).unwrap();
    check_dbus(&p.to_dbus(true)).unwrap();
}

#[test]
fn fuzz_generators_reach_a_valid_profile() {
    // with_connection makes a profile that validates, so the targets above
    // get past the connection setting to the rest.
    let d = with_connection(DbusSettings::new(), "802-3-ethernet");
    let p = Profile::from_dbus(&d).unwrap();
    assert_eq!(p.id(), "fuzz");
}

proptest! {
    #![proptest_config(config())]

    /// netns-name=name makes a namespace name out of any connection id.
    #[test]
    fn fuzz_netns_name_from_id(id in prop_oneof![
        any::<String>(),
        "[./\0ü]{0,8}",
        (250usize..300, "[a-z€/]").prop_map(|(n, c)| c.repeat(n)),
    ]) {
        let name = netns_name_from_id(&id);
        prop_assert!(netnsd_api::validate::netns_name(&name).is_ok(), "{:?} -> {:?}", id, name);
        match NetnsName::parse(&id) {
            Ok(NetnsName::Literal(s)) => prop_assert_eq!(s, id),
            Ok(other) => prop_assert_eq!(other.as_str(), id.as_str()),
            Err(e) => prop_assert!(netnsd_api::validate::netns_name(&id).is_err(), "{}", e),
        }
    }
}
