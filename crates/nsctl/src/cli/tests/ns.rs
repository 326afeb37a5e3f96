//! `add`, `uplink`, `dns` and `exec` on the command line.

use clap::CommandFactory;

use super::parse_checked;
use crate::cli::*;

#[test]
fn exec_vpn_takes_no_namespace() {
    for args in [
        &["exec", "--vpn", "work", "--", "curl", "-s", "http://x/"][..],
        &["exec", "--vpn", "work", "curl", "--", "-s", "http://x/"][..],
    ] {
        let mut e = match parse_checked(args).unwrap().command {
            Command::Exec(e) => e,
            other => panic!("{other:?}"),
        };
        e.normalize();
        assert_eq!(e.vpn.as_deref(), Some("work"));
        assert_eq!(e.netns, None);
        assert_eq!(e.command, ["curl", "-s", "http://x/"], "{args:?}");
    }
    assert!(parse_checked(&["exec", "--vpn", "work"]).is_err());
    assert!(parse_checked(&["exec"]).is_err());
}

#[test]
fn exec_takes_the_command_after_its_own_options() {
    let e = match parse_checked(&["exec", "vpn", "--", "ls", "-l", "--color", "/"])
        .unwrap()
        .command
    {
        Command::Exec(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.netns.as_deref(), Some("vpn"));
    assert_eq!(e.command, ["ls", "-l", "--color", "/"]);
    assert!(e.env.is_empty() && e.cwd.is_none() && !e.no_pty);

    // Without --, everything from CMD on is the program's, options too.
    let e = match parse_checked(&[
        "exec", "-e", "FOO=1", "vpn", "--env", "BAR", "--cwd", "/tmp", "--no-pty", "sh", "-c",
        "exit 7", "--env", "X",
    ])
    .unwrap()
    .command
    {
        Command::Exec(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.env, ["FOO=1", "BAR"]);
    assert_eq!(e.cwd.as_deref(), Some(std::path::Path::new("/tmp")));
    assert!(e.no_pty);
    assert_eq!(e.command, ["sh", "-c", "exit 7", "--env", "X"]);

    // A program whose name starts with a dash needs --.
    match parse_checked(&["exec", "vpn", "--", "--weird"])
        .unwrap()
        .command
    {
        Command::Exec(e) => assert_eq!(e.command, ["--weird"]),
        other => panic!("{other:?}"),
    }
    for bad in [
        &["exec", "vpn"][..],
        &["exec", "vpn", "--"],
        &["exec"],
        &["exec", "vpn", "--bogus", "ls"],
        &["exec", "vpn", "--env", "=x", "ls"],
        &["exec", "vpn", "--env", "", "ls"],
    ] {
        assert_eq!(parse_checked(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn add_with_uplink_and_dns() {
    let a = match parse_checked(&["add", "a"]).unwrap().command {
        Command::Add(a) => a,
        other => panic!("{other:?}"),
    };
    assert!(!a.has_options());
    let a = match parse_checked(&[
        "add",
        "a",
        "--uplink",
        "veth",
        "--no-ipv6",
        "--dns",
        "192.0.2.53",
        "--dns",
        "2001:db8::53,192.0.2.54",
        "--dns-search",
        "example.test",
    ])
    .unwrap()
    .command
    {
        Command::Add(a) => a,
        other => panic!("{other:?}"),
    };
    assert!(a.has_options());
    assert_eq!(a.uplink, Some(UplinkArg::Veth));
    assert!(a.opts.no_ipv6);
    let dns: Vec<String> = a.dns.iter().map(ToString::to_string).collect();
    assert_eq!(dns, ["192.0.2.53", "2001:db8::53", "192.0.2.54"]);
    assert_eq!(a.dns_search, ["example.test"]);

    // DNS alone is an option too (cmd/add.rs tests the dictionaries).
    match parse_checked(&["add", "a", "--dns", "192.0.2.53"])
        .unwrap()
        .command
    {
        Command::Add(a) => assert!(a.has_options()),
        other => panic!("{other:?}"),
    }

    match parse_checked(&[
        "add",
        "m",
        "--uplink",
        "macvlan",
        "--uplink-parent",
        "eth0",
        "--address",
        "192.0.2.10/24",
        "--gateway",
        "192.0.2.1",
        "--uplink-netns",
        "wan",
    ])
    .unwrap()
    .command
    {
        Command::Add(a) => {
            assert_eq!(a.uplink, Some(UplinkArg::Macvlan));
            assert!(a.has_options());
        }
        other => panic!("{other:?}"),
    }

    for bad in [
        // Uplink options without an uplink, or of the other kind.
        &["add", "a", "--address", "192.0.2.10/24"][..],
        &["add", "a", "--uplink", "none", "--uplink-netns", "x"],
        &["add", "a", "--uplink", "veth", "--uplink-parent", "eth0"],
        &["add", "a", "--uplink", "veth", "--gateway", "192.0.2.1"],
        &[
            "add",
            "a",
            "--uplink",
            "macvlan",
            "--address",
            "192.0.2.10/24",
        ],
        &["add", "a", "--uplink", "macvlan", "--uplink-parent", "eth0"],
        &[
            "add",
            "a",
            "--uplink",
            "macvlan",
            "--uplink-parent",
            "e",
            "--address",
            "192.0.2.10/24",
            "--no-ipv6",
        ],
        &["add", "a", "--uplink", "wireguard"],
        &["add", "a", "--dns", "dns.example"],
        &["add", "a", "--uplink", "macvlan", "--gateway", "x"],
    ] {
        assert_eq!(parse_checked(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn uplink_and_dns_commands() {
    match parse_checked(&["uplink", "set", "a", "--type", "veth"])
        .unwrap()
        .command
    {
        Command::Uplink(UplinkCommand::Set { netns, kind, opts }) => {
            assert_eq!((netns.as_str(), kind), ("a", UplinkKind::Veth));
            assert_eq!(opts, UplinkOpts::default());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_checked(&[
            "uplink",
            "set",
            "a",
            "--type",
            "macvlan",
            "--uplink-parent",
            "eth0",
            "--address",
            "fd00::10/64"
        ])
        .unwrap()
        .command,
        Command::Uplink(UplinkCommand::Set {
            kind: UplinkKind::Macvlan,
            ..
        })
    ));
    assert!(matches!(
        parse_checked(&["uplink", "clear", "a"]).unwrap().command,
        Command::Uplink(UplinkCommand::Clear { .. })
    ));
    match parse_checked(&[
        "dns",
        "set",
        "a",
        "--server",
        "192.0.2.53",
        "192.0.2.54",
        "--server",
        "fd00::53",
        "--search",
        "a.test,b.test",
    ])
    .unwrap()
    .command
    {
        Command::Dns(DnsCommand::Set {
            netns,
            servers,
            search,
        }) => {
            assert_eq!(netns, "a");
            let s: Vec<String> = servers.iter().map(ToString::to_string).collect();
            assert_eq!(s, ["192.0.2.53", "192.0.2.54", "fd00::53"]);
            assert_eq!(search, ["a.test", "b.test"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_checked(&["dns", "clear", "a"]).unwrap().command,
        Command::Dns(DnsCommand::Clear { .. })
    ));
    for bad in [
        &["uplink", "set", "a"][..],
        &["uplink", "set", "a", "--type", "none"],
        &[
            "uplink",
            "set",
            "a",
            "--type",
            "veth",
            "--address",
            "10.0.0.2/24",
        ],
        &["uplink", "set", "a", "--type", "macvlan"],
        &["uplink", "clear"],
        &["dns", "set", "a"],
        &["dns", "set", "a", "--server", "not-an-ip"],
        &["dns", "clear"],
    ] {
        assert_eq!(parse_checked(bad).unwrap_err().exit_code(), 2, "{bad:?}");
    }
}

#[test]
fn exec_help_documents_the_programs_status() {
    let mut cmd = Cli::command();
    cmd.build();
    let help = cmd
        .find_subcommand_mut("exec")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(help.contains("128+N"), "{help}");
    assert!(help.contains("  127  the program"), "{help}");
    assert!(help.contains("WAYLAND_DISPLAY"), "{help}");
    assert!(help.contains("--env <VAR[=VALUE]>"), "{help}");
}
