//! nsctl's device, link, addr, route and rule commands against the real
//! daemon, checked with iproute2 and real traffic: the recipe of a veth
//! between two namespaces, addresses, a route in another table and a rule
//! choosing it, a device taken from rootns; and the exit statuses of the
//! refusals.

use netnsd_tests::*;
use serde_json::Value;

const NOT_FOUND: i32 = 3;
const ALREADY_EXISTS: i32 = 4;
const PERMISSION_DENIED: i32 = 5;
const INVALID_ARGUMENT: i32 = 6;
const TIMEOUT: i32 = 8;
const NOT_SUPPORTED: i32 = 9;

fn json(out: &Out) -> Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[track_caller]
fn assert_fails_with(out: &Out, code: i32) {
    assert_eq!(out.code(), Some(code), "{out}");
    assert!(out.stderr.starts_with("nsctl: "), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_builds_a_routed_link_between_namespaces() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        nsctl(None, &["add", "ncp-a"]).await.ok();
        nsctl(None, &["add", "ncp-b"]).await.ok();
        let a = wait_ns_on_bus(&conn, "ncp-a", WATCH_TIMEOUT).await;
        wait_device(&conn, &a, "lo").await;

        let out = nsctl(
            None,
            &[
                "link",
                "add",
                "veth",
                "na",
                "--peer",
                "nb",
                "--peer-netns",
                "ncp-b",
                "--netns",
                "ncp-a",
                "--up",
                "--peer-up",
                "--mtu",
                "1400",
            ],
        )
        .await
        .ok();
        let paths: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(paths.len(), 2, "both object paths: {out}");
        let la = must(ip_link("ncp-a", "na").await, "na is not in ncp-a");
        let lb = must(ip_link("ncp-b", "nb").await, "nb is not in ncp-b");
        assert_eq!(
            (la["mtu"].as_u64(), lb["mtu"].as_u64()),
            (Some(1400), Some(1400))
        );
        assert!(link_flags(&la).contains(&"UP".to_owned()), "{la}");
        assert!(link_flags(&lb).contains(&"UP".to_owned()), "{lb}");
        assert_eq!(dev_info(&conn, paths[0]).await.interface, "na");
        assert_eq!(dev_info(&conn, paths[1]).await.interface, "nb");

        nsctl(
            None,
            &[
                "addr",
                "add",
                "--netns",
                "ncp-a",
                "--dev",
                "na",
                "10.59.0.1/24",
            ],
        )
        .await
        .ok();
        nsctl(
            None,
            &[
                "addr",
                "add",
                "--netns",
                "ncp-b",
                "--dev",
                "nb",
                "10.59.0.2/24",
            ],
        )
        .await
        .ok();
        assert!(ip_addrs("ncp-b", "nb").await.contains("10.59.0.2/24"));
        let out = ping("ncp-a", 2, &["10.59.0.2"]).await;
        assert!(out.success(), "{out}");

        let out = nsctl(None, &["--json", "device", "list", "ncp-a"])
            .await
            .ok();
        let list = json(&out);
        let na = list
            .as_array()
            .and_then(|l| l.iter().find(|d| d["name"] == "na"))
            .unwrap_or_else(|| panic!("no na in {out}"));
        assert_eq!(na["object"], paths[0], "{out}");
        assert_eq!(na["ifindex"], la["ifindex"], "{out}");
        assert!(
            na["addresses"]
                .as_array()
                .is_some_and(|a| a.contains(&Value::from("10.59.0.1/24"))),
            "{out}"
        );

        // A route in table 100 and a rule choosing it for 10.59.0.0/24.
        nsctl(
            None,
            &[
                "route",
                "add",
                "--netns",
                "ncp-a",
                "192.0.2.0/24",
                "--via",
                "10.59.0.2",
                "--table",
                "100",
                "--metric",
                "5",
            ],
        )
        .await
        .ok();
        let out = ip_ns("ncp-a", &["route", "show", "table", "100"])
            .await
            .ok();
        assert!(
            out.stdout
                .contains("192.0.2.0/24 via 10.59.0.2 dev na proto 110 metric 5"),
            "{out}"
        );
        nsctl(
            None,
            &[
                "rule",
                "add",
                "--netns",
                "ncp-a",
                "--from",
                "10.59.0.0/24",
                "--table",
                "100",
                "--priority",
                "1000",
            ],
        )
        .await
        .ok();
        let out = ip_ns("ncp-a", &["rule"]).await.ok();
        assert!(
            out.stdout
                .contains("1000:\tfrom 10.59.0.0/24 lookup 100 proto 110"),
            "{out}"
        );
        let out = ip_ns("ncp-a", &["route", "get", "192.0.2.7", "from", "10.59.0.1"])
            .await
            .ok();
        assert!(out.stdout.contains("table 100"), "{out}");

        let out = nsctl(
            None,
            &[
                "--json", "route", "list", "--netns", "ncp-a", "--table", "100",
            ],
        )
        .await
        .ok();
        let routes = json(&out);
        let r = routes
            .as_array()
            .and_then(|l| l.iter().find(|r| r["destination"] == "192.0.2.0/24"))
            .unwrap_or_else(|| panic!("no 192.0.2.0/24 in {out}"));
        assert_eq!(r["protocol"], "netnsd", "{out}");
        assert_eq!(r["table"], 100, "{out}");
        let out = nsctl(None, &["--json", "rule", "list", "--netns", "ncp-a"])
            .await
            .ok();
        assert!(
            json(&out)
                .as_array()
                .is_some_and(|l| l.iter().any(|r| r["priority"] == 1000 && r["table"] == 100)),
            "{out}"
        );

        nsctl(
            None,
            &[
                "rule",
                "del",
                "--netns",
                "ncp-a",
                "--from",
                "10.59.0.0/24",
                "--table",
                "100",
                "--priority",
                "1000",
            ],
        )
        .await
        .ok();
        nsctl(
            None,
            &[
                "route",
                "del",
                "--netns",
                "ncp-a",
                "192.0.2.0/24",
                "--via",
                "10.59.0.2",
                "--table",
                "100",
                // Exactly what was added: without the metric, no such route.
                "--metric",
                "5",
            ],
        )
        .await
        .ok();
        let out = ip_ns("ncp-a", &["route", "show", "table", "all", "proto", "110"])
            .await
            .ok();
        assert!(out.stdout.trim().is_empty(), "{out}");
        let out = ip_ns("ncp-a", &["rule"]).await.ok();
        assert!(!out.stdout.contains("lookup 100"), "{out}");

        // Take a device from rootns, rename, change and delete links.
        ip(&["link", "add", "nt0", "type", "veth", "peer", "name", "nt1"])
            .await
            .ok();
        wait_device(&conn, &namespace_path(0), "nt0").await;
        nsctl(None, &["device", "take", "nt0", "--to", "ncp-a"])
            .await
            .ok();
        assert!(ip_link("ncp-a", "nt0").await.is_some());
        assert!(ip_link(ROOT_NS_NAME, "nt0").await.is_none());
        let out = nsctl(
            None,
            &["--json", "device", "show", "--netns", "ncp-a", "nt0"],
        )
        .await
        .ok();
        assert_eq!(json(&out)["namespace"], "ncp-a", "{out}");

        nsctl(
            None,
            &["link", "set", "--netns", "ncp-a", "na", "--mtu", "1300"],
        )
        .await
        .ok();
        assert_eq!(must(ip_link("ncp-a", "na").await, "na")["mtu"], 1300);
        nsctl(
            None,
            &["link", "set", "--netns", "ncp-a", "na", "--name", "na2"],
        )
        .await
        .ok();
        assert!(ip_link("ncp-a", "na2").await.is_some());
        wait_dev(&conn, paths[0], "Interface na2", |i| i.interface == "na2").await;
        nsctl(None, &["link", "set", "--netns", "ncp-a", "na2", "--down"])
            .await
            .ok();
        let l = must(ip_link("ncp-a", "na2").await, "na2");
        assert!(!link_flags(&l).contains(&"UP".to_owned()), "{l}");
        nsctl(None, &["link", "delete", "--netns", "ncp-a", "na2"])
            .await
            .ok();
        wait_ip_link("ncp-a", "na2", false).await;
        wait_ip_link("ncp-b", "nb", false).await;
    })
    .await;
}

/// `--dev` takes a Device object path, which (nsctl's help says) "names it
/// in whatever namespace it is": no --netns needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_names_a_device_by_its_object_path_in_any_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let b = add_ns_ready(&conn, "ncp-path").await;
        let (d0, _) = platform(&conn, &b)
            .await
            .add_veth("pth0", "pth1", &op(&b), no_opts())
            .await
            .unwrap();
        let d0 = d0.to_string();
        nsctl(None, &["addr", "add", "--dev", &d0, "10.59.9.1/24"])
            .await
            .ok();
        assert!(ip_addrs("ncp-path", "pth0").await.contains("10.59.9.1/24"));
        nsctl(None, &["link", "set", &d0, "--mtu", "1300"])
            .await
            .ok();
        assert_eq!(must(ip_link("ncp-path", "pth0").await, "pth0")["mtu"], 1300);
        let out = nsctl(None, &["--json", "device", "show", &d0]).await.ok();
        assert_eq!(json(&out)["namespace"], "ncp-path", "{out}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_refusals_have_their_exit_statuses_and_change_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        nsctl(None, &["add", "ncx"]).await.ok();
        let x = wait_ns_on_bus(&conn, "ncx", WATCH_TIMEOUT).await;
        wait_device(&conn, &x, "lo").await;
        ip(&["link", "add", "nx0", "type", "veth", "peer", "name", "nx1"])
            .await
            .ok();
        ip(&["link", "add", "nxbr", "type", "bridge"]).await.ok();
        let root = namespace_path(0);
        wait_device(&conn, &root, "nx0").await;
        wait_device(&conn, &root, "nxbr").await;
        let before = settled_snapshots(&["ncx", ROOT_NS_NAME]).await;

        for (args, code) in [
            (
                vec!["addr", "add", "--dev", "nx0", "10.0.0.300/24"],
                INVALID_ARGUMENT,
            ),
            (
                vec![
                    "route",
                    "add",
                    "10.66.0.0/24",
                    "--via",
                    "10.99.0.1",
                    "--dev",
                    "nx0",
                ],
                INVALID_ARGUMENT,
            ),
            (vec!["device", "take", "nosuch0", "--to", "ncx"], NOT_FOUND),
            (
                vec!["device", "take", "nx0", "--to", "rootns"],
                ALREADY_EXISTS,
            ),
            (
                vec!["device", "take", "nxbr", "--to", "ncx"],
                INVALID_ARGUMENT,
            ),
            (
                vec![
                    "link",
                    "add",
                    "bridge",
                    "--netns",
                    "ncx",
                    "sixteen-chars-xx",
                ],
                INVALID_ARGUMENT,
            ),
            (vec!["link", "add", "bridge", "nx0"], ALREADY_EXISTS),
            (
                vec![
                    "link", "add", "vlan", "--parent", "nx0", "--id", "10", "nx0.10",
                ],
                NOT_SUPPORTED,
            ),
        ] {
            let out = nsctl(None, &args).await;
            assert_fails_with(&out, code);
            assert_unchanged(&before, &format!("nsctl {}", args.join(" "))).await;
        }

        // nobody may read but not change.
        nsctl(Some(NOBODY_UID), &["device", "list", "ncx", "--all"])
            .await
            .ok();
        nsctl(Some(NOBODY_UID), &["route", "list"]).await.ok();
        for args in [
            vec!["link", "add", "bridge", "--netns", "ncx", "nobr0"],
            vec!["device", "take", "nx0", "--to", "ncx"],
            vec!["addr", "add", "--dev", "nx0", "10.0.0.1/24"],
        ] {
            let out = nsctl(Some(NOBODY_UID), &args).await;
            assert_fails_with(&out, PERMISSION_DENIED);
        }
        assert_unchanged(&before, "nsctl refused to nobody").await;

        // A timeout that cannot be met: exit 8, and the device comes back.
        let out = nsctl(
            None,
            &["device", "take", "nx0", "--to", "ncx", "--timeout", "0"],
        )
        .await;
        assert_fails_with(&out, TIMEOUT);
        wait_ip_link(ROOT_NS_NAME, "nx0", true).await;
        wait_ip_link("ncx", "nx0", false).await;
    })
    .await;
}

/// Issue 13, item 8: `nsctl route del` and `nsctl rule del` remove only
/// netnsd's own unless `--proto` names another owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_del_takes_another_owners_route_or_rule_only_with_proto() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        nsctl(None, &["add", "ncp-proto"]).await.ok();
        let ns = "ncp-proto";
        ip_ns(ns, &["link", "add", "pr0", "type", "veth", "peer", "pr1"])
            .await
            .ok();
        ip_ns(ns, &["link", "set", "pr0", "up"]).await.ok();
        // Someone else's route and rule, made with iproute2.
        ip_ns(
            ns,
            &[
                "route",
                "add",
                "10.88.0.0/16",
                "dev",
                "pr0",
                "proto",
                "static",
            ],
        )
        .await
        .ok();
        ip_ns(
            ns,
            &[
                "rule",
                "add",
                "to",
                "10.89.0.0/16",
                "table",
                "89",
                "proto",
                "boot",
            ],
        )
        .await
        .ok();
        let routes = || async {
            ip_ns(ns, &["route", "show", "10.88.0.0/16"])
                .await
                .ok()
                .stdout
        };
        let rules = || async {
            ip_ns(ns, &["rule", "show", "to", "10.89.0.0/16"])
                .await
                .ok()
                .stdout
        };

        let out = nsctl(
            None,
            &[
                "route",
                "del",
                "10.88.0.0/16",
                "--dev",
                "pr0",
                "-n",
                ns,
                "--scope",
                "link",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(NOT_FOUND), "not netnsd's: {out}");
        assert!(routes().await.contains("10.88.0.0/16"), "kept");
        nsctl(
            None,
            &[
                "route",
                "del",
                "10.88.0.0/16",
                "--dev",
                "pr0",
                "-n",
                ns,
                "--scope",
                "link",
                "--proto",
                "static",
            ],
        )
        .await
        .ok();
        assert_eq!(routes().await.trim(), "", "removed with --proto static");

        let out = nsctl(
            None,
            &[
                "rule",
                "del",
                "--to",
                "10.89.0.0/16",
                "--table",
                "89",
                "-n",
                ns,
            ],
        )
        .await;
        assert_eq!(out.code(), Some(NOT_FOUND), "not netnsd's: {out}");
        assert!(rules().await.contains("10.89.0.0/16"), "kept");
        nsctl(
            None,
            &[
                "rule",
                "del",
                "--to",
                "10.89.0.0/16",
                "--table",
                "89",
                "-n",
                ns,
                "--proto",
                "boot",
            ],
        )
        .await
        .ok();
        assert_eq!(rules().await.trim(), "", "removed with --proto boot");

        let out = nsctl(
            None,
            &[
                "route",
                "del",
                "10.88.0.0/16",
                "-n",
                ns,
                "--proto",
                "nonsense",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(INVALID_ARGUMENT), "{out}");
        nsctl(None, &["delete", ns]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}
