//! `connection` and `vpn` on the command line.

use super::parse;
use crate::cli::*;

#[test]
fn connection_commands() {
    match parse(&[
        "connection",
        "add",
        "office",
        "--vpn-type",
        "openvpn",
        "--isolate",
        "--netns-name",
        "vpn1",
        "--netns-timeout",
        "5000",
        "--data",
        "remote=vpn.example:1194",
        "--secret",
        "password=-",
        "--secret",
        "cert-pass=x",
    ])
    .unwrap()
    .command
    {
        Command::Connection(ConnectionCommand::Add(a)) => {
            assert_eq!((a.id.as_str(), a.kind), ("office", conn::AddType::Vpn));
            assert_eq!(a.vpn_type.as_deref(), Some("openvpn"));
            assert!(a.netns.isolate && !a.netns.persistent && a.netns.any());
            assert_eq!(a.netns.netns_name.as_deref(), Some("vpn1"));
            assert_eq!(a.netns.timeout, Some(5000));
            assert_eq!(a.data[0].key, "remote");
            assert_eq!(a.secret[0].value, None);
            assert_eq!(a.secret[1].value.as_deref(), Some("x"));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["con", "import", "/tmp/a.ovpn", "--timeout", "0"])
        .unwrap()
        .command
    {
        Command::Connection(ConnectionCommand::Import(i)) => {
            assert_eq!(i.file, std::path::Path::new("/tmp/a.ovpn"));
            assert_eq!((i.id, i.netns.timeout, i.kind), (None, Some(0), None));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["con", "import", "/tmp/a.conf", "--type", "openvpn"])
        .unwrap()
        .command
    {
        Command::Connection(ConnectionCommand::Import(i)) => {
            assert_eq!(i.kind, Some(conn::ImportType::Openvpn));
        }
        other => panic!("{other:?}"),
    }
    match parse(&[
        "connection",
        "add",
        "wg",
        "--type",
        "wireguard",
        "--address",
        "10.66.0.2/24",
        "--dns",
        "10.99.0.53",
        "--peer",
        "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= endpoint=203.0.113.1:51820",
        "--secret",
        "private-key=-",
    ])
    .unwrap()
    .command
    {
        Command::Connection(ConnectionCommand::Add(a)) => {
            assert_eq!(a.kind, conn::AddType::Wireguard);
            assert_eq!(a.wireguard.address, ["10.66.0.2/24"]);
            assert_eq!(a.wireguard.peer.len(), 1);
            assert_eq!(a.secret[0].value, None);
        }
        other => panic!("{other:?}"),
    }
    match parse(&[
        "connection",
        "modify",
        "office",
        "--no-isolate",
        "--remove-data",
        "verb",
    ])
    .unwrap()
    .command
    {
        Command::Connection(ConnectionCommand::Modify(m)) => {
            assert!(m.no_isolate && !m.isolate);
            assert_eq!(m.remove_data, ["verb"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["connection", "show", "office", "--secrets"])
            .unwrap()
            .command,
        Command::Connection(ConnectionCommand::Show { secrets: true, .. })
    ));
    for verb in ["delete", "del", "remove"] {
        assert!(matches!(
            parse(&["connection", verb, "office"]).unwrap().command,
            Command::Connection(ConnectionCommand::Delete { .. })
        ));
    }
    for ok in [
        &["connection", "list"][..],
        &["connection", "ls"],
        &["con", "reload"],
    ] {
        assert!(parse(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        &["connection", "add"][..],
        &["connection", "add", "x", "--type", "ethernet"],
        &["connection", "add", "x", "--data", "novalue"],
        &["connection", "add", "x", "--data", "=v"],
        &["connection", "add", "x", "--netns-name", "a/b"],
        &["connection", "add", "x", "--timeout", "-1"],
        &["connection", "import"],
        &["connection", "import", "x.conf", "--type", "ipsec"],
        &[
            "connection",
            "add",
            "x",
            "--type",
            "wireguard",
            "--peer",
            "nokey",
        ],
        &["connection", "modify", "x"],
        &["connection", "modify", "x", "--isolate", "--no-isolate"],
        &[
            "connection",
            "modify",
            "x",
            "--persistent",
            "--no-persistent",
        ],
        &["connection", "modify", "x", "--remove-data", "a=b"],
        &["connection", "show"],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn vpn_commands() {
    match parse(&["vpn", "up", "office"]).unwrap().command {
        Command::Vpn(VpnCommand::Up {
            connection,
            from,
            timeout,
            ask,
            no_ask,
        }) => assert_eq!(
            (connection.as_str(), from.as_str(), timeout, ask, no_ask),
            ("office", "rootns", 90, false, false)
        ),
        other => panic!("{other:?}"),
    }
    match parse(&["vpn", "up", "office", "--from", "wan", "--timeout", "0"])
        .unwrap()
        .command
    {
        Command::Vpn(VpnCommand::Up { from, timeout, .. }) => {
            assert_eq!((from.as_str(), timeout), ("wan", 0));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["vpn", "down", "office"]).unwrap().command,
        Command::Vpn(VpnCommand::Down { timeout: 30, .. })
    ));
    assert!(matches!(
        parse(&["--json", "vpn", "status"]).unwrap().command,
        Command::Vpn(VpnCommand::Status)
    ));
    for bad in [
        &["vpn", "up"][..],
        &["vpn", "up", "x", "--timeout", "-1"],
        &["vpn", "down"],
        &["vpn", "status", "x"],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}
