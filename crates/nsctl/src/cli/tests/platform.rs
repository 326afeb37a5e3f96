//! `device`, `link`, `addr`, `route` and `rule` on the command line.

use super::parse;
use crate::cli::*;
use crate::tables::TableSelection;

#[test]
fn device_commands() {
    match parse(&["device", "list"]).unwrap().command {
        Command::Device(DeviceCommand::List { netns, all }) => {
            assert_eq!((netns, all), (None, false));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["device", "list", "vpn", "--all"]).unwrap().command {
        Command::Device(DeviceCommand::List { netns, all }) => {
            assert_eq!((netns.as_deref(), all), (Some("vpn"), true));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["device", "show", "eth0"]).unwrap().command {
        Command::Device(DeviceCommand::Show { dev, netns }) => {
            assert_eq!((dev.as_str(), netns.netns.as_str()), ("eth0", "rootns"));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["device", "take", "tun0", "--to", "vpn"])
        .unwrap()
        .command
    {
        Command::Device(DeviceCommand::Take {
            dev,
            to,
            from,
            timeout,
        }) => {
            assert_eq!(
                (dev.as_str(), to.as_str(), from.as_str(), timeout),
                ("tun0", "vpn", "rootns", 2000)
            );
        }
        other => panic!("{other:?}"),
    }
    match parse(&[
        "device",
        "take",
        "tun0",
        "--to",
        "b",
        "--from",
        "a",
        "--timeout",
        "0",
    ])
    .unwrap()
    .command
    {
        Command::Device(DeviceCommand::Take { from, timeout, .. }) => {
            assert_eq!((from.as_str(), timeout), ("a", 0));
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        &["device", "take", "tun0"][..],
        &["device", "take", "tun0", "--to", "b", "--timeout", "-1"],
        &[
            "device",
            "take",
            "tun0",
            "--to",
            "b",
            "--timeout",
            "2147483648",
        ],
        &["device", "show"],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn link_commands() {
    match parse(&[
        "link",
        "add",
        "veth",
        "x",
        "--peer",
        "y",
        "--peer-netns",
        "a",
        "--up",
        "--mtu",
        "1400",
    ])
    .unwrap()
    .command
    {
        Command::Link(LinkCommand::Add(LinkAdd::Veth {
            name,
            peer,
            peer_netns,
            peer_up,
            netns,
            opts,
        })) => {
            assert_eq!((name.as_str(), peer.as_str()), ("x", "y"));
            assert_eq!(peer_netns.as_deref(), Some("a"));
            assert!(!peer_up);
            assert_eq!(netns.netns, "rootns");
            assert_eq!(
                (opts.mtu, opts.up, opts.stable_mac),
                (Some(1400), true, false)
            );
        }
        other => panic!("{other:?}"),
    }
    match parse(&[
        "link", "add", "macvlan", "mv0", "--parent", "eth0", "-n", "a",
    ])
    .unwrap()
    .command
    {
        Command::Link(LinkCommand::Add(LinkAdd::Macvlan {
            parent,
            parent_netns,
            mode,
            netns,
            ..
        })) => {
            assert_eq!(parent, "eth0");
            assert_eq!(parent_netns, None);
            assert_eq!(mode, MacvlanMode::Bridge);
            assert_eq!(netns.netns, "a");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&[
            "link", "add", "macvlan", "m", "--parent", "e", "--mode", "passthru"
        ])
        .unwrap()
        .command,
        Command::Link(LinkCommand::Add(LinkAdd::Macvlan {
            mode: MacvlanMode::Passthru,
            ..
        }))
    ));
    assert!(matches!(
        parse(&["link", "add", "bridge", "br0", "--stable-mac"])
            .unwrap()
            .command,
        Command::Link(LinkCommand::Add(LinkAdd::Bridge { .. }))
    ));
    assert!(matches!(
        parse(&["link", "add", "vlan", "v", "--parent", "e", "--id", "4094"])
            .unwrap()
            .command,
        Command::Link(LinkCommand::Add(LinkAdd::Vlan { id: 4094, .. }))
    ));
    for verb in ["delete", "del", "remove"] {
        assert!(matches!(
            parse(&["link", verb, "x"]).unwrap().command,
            Command::Link(LinkCommand::Delete { .. })
        ));
    }
    match parse(&["link", "set", "x", "--name", "y", "--up"])
        .unwrap()
        .command
    {
        Command::Link(LinkCommand::Set(s)) => {
            assert_eq!((s.dev.as_str(), s.name.as_deref()), ("x", Some("y")));
            assert!(s.up && !s.down);
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        &["link", "add", "veth", "x"][..],
        &["link", "add", "macvlan", "x"],
        &[
            "link", "add", "macvlan", "x", "--parent", "e", "--mode", "nat",
        ],
        &["link", "add", "vlan", "v", "--parent", "e", "--id", "0"],
        &["link", "add", "vlan", "v", "--parent", "e", "--id", "4095"],
        &["link", "add", "dummy", "d"],
        &["link", "set", "x"],
        &["link", "set", "x", "--up", "--down"],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn addr_commands() {
    for (verb, add) in [
        ("add", true),
        ("del", false),
        ("delete", false),
        ("remove", false),
    ] {
        for group in ["addr", "address"] {
            let c = parse(&[group, verb, "10.0.0.1/24", "--dev", "x", "-n", "a"])
                .unwrap()
                .command;
            let args = match (c, add) {
                (Command::Addr(AddrCommand::Add(a)), true) => {
                    assert_eq!(a.peer, None);
                    a.addr
                }
                (Command::Addr(AddrCommand::Del(a)), false) => a,
                (other, _) => panic!("{group} {verb}: {other:?}"),
            };
            assert_eq!(
                (
                    args.cidr.as_str(),
                    args.dev.as_str(),
                    args.netns.netns.as_str()
                ),
                ("10.0.0.1/24", "x", "a")
            );
        }
    }
    match parse(&[
        "addr",
        "add",
        "10.9.0.1",
        "--dev",
        "x",
        "--peer",
        "10.9.0.2/32",
    ])
    .unwrap()
    .command
    {
        Command::Addr(AddrCommand::Add(a)) => {
            assert_eq!(
                (a.addr.cidr.as_str(), a.peer.as_deref()),
                ("10.9.0.1", Some("10.9.0.2/32"))
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse(&[
            "addr", "del", "10.9.0.1", "--dev", "x", "--peer", "10.9.0.2"
        ])
        .unwrap_err()
        .exit_code(),
        2,
        "del takes no --peer"
    );
    assert_eq!(
        parse(&["addr", "add", "10.0.0.1/24"])
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn route_commands() {
    match parse(&[
        "route", "add", "default", "--via", "fd00::1", "--table", "main", "--metric", "10",
        "--scope", "global", "-6",
    ])
    .unwrap()
    .command
    {
        Command::Route(RouteCommand::Add(r)) => {
            assert_eq!(r.destination, "default");
            assert_eq!(r.via.as_deref(), Some("fd00::1"));
            assert_eq!((r.table, r.metric), (Some(254), Some(10)));
            assert_eq!(r.scope, Some(Scope::Global));
            assert_eq!(r.family.family(), Some("inet6"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["route", "del", "10.0.0.0/8", "--gateway", "10.0.0.1"])
            .unwrap()
            .command,
        Command::Route(RouteCommand::Del(RouteDelArgs {
            route: RouteArgs { via: Some(_), .. },
            proto: None
        }))
    ));
    match parse(&["route", "del", "10.0.0.0/8", "--proto", "kernel"])
        .unwrap()
        .command
    {
        Command::Route(RouteCommand::Del(d)) => assert_eq!(d.proto.as_deref(), Some("kernel")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse(&["route", "add", "10.0.0.0/8", "--proto", "kernel"])
            .unwrap_err()
            .exit_code(),
        2,
        "add takes no --proto: netnsd's routes are its own"
    );
    match parse(&["route", "list"]).unwrap().command {
        Command::Route(RouteCommand::List { table, family, .. }) => {
            assert_eq!(table, TableSelection::Table(254));
            assert!(family.shows("inet") && family.shows("inet6"));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["route", "show", "--table", "all", "-4"])
        .unwrap()
        .command
    {
        Command::Route(RouteCommand::List { table, family, .. }) => {
            assert_eq!(table, TableSelection::All);
            assert!(family.shows("inet") && !family.shows("inet6"));
        }
        other => panic!("{other:?}"),
    }
    for bad in [
        &["route", "add"][..],
        &["route", "add", "default", "-4", "-6"],
        &["route", "add", "default", "--table", "0"],
        &["route", "add", "default", "--scope", "site"],
        &["route", "list", "--table", "everything"],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn rule_commands() {
    match parse(&[
        "rule",
        "add",
        "--from",
        "10.0.0.0/24",
        "--fwmark",
        "0x1/0xff",
        "--lookup",
        "100",
        "--pref",
        "1000",
    ])
    .unwrap()
    .command
    {
        Command::Rule(RuleCommand::Add(r)) => {
            assert_eq!(r.from.as_deref(), Some("10.0.0.0/24"));
            assert_eq!(
                r.fwmark,
                Some(crate::tables::Fwmark {
                    mark: 1,
                    mask: Some(255)
                })
            );
            assert_eq!((r.table, r.priority), (100, Some(1000)));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["rule", "remove", "--iif", "x", "--table", "local", "-6"])
            .unwrap()
            .command,
        Command::Rule(RuleCommand::Del(RuleDelArgs {
            rule: RuleArgs { table: 255, .. },
            proto: None
        }))
    ));
    match parse(&["rule", "del", "--table", "7", "--proto", "boot"])
        .unwrap()
        .command
    {
        Command::Rule(RuleCommand::Del(d)) => assert_eq!(d.proto.as_deref(), Some("boot")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["rule", "show", "-6"]).unwrap().command,
        Command::Rule(RuleCommand::List { .. })
    ));
    for bad in [
        &["rule", "add", "--from", "10.0.0.0/8"][..],
        &["rule", "add", "--table", "1", "--fwmark", "x"],
    ] {
        assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}
