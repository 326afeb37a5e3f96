//! Addresses, routes and policy-routing rules over the bus, checked with
//! `ip route`, `ip rule` and `ip route get`, and source-based policy routing
//! proven with real traffic: of two uplinks, only the one the rule picks for
//! a source address answers.
//!
//! The daemon marks what it installs with protocol 110 (`proto 110` in
//! iproute2's output, "netnsd" in GetRoutes), and removes exactly that.

use std::collections::HashMap;

use netnsd_tests::*;
use zbus::wire::OwnedVariant;

type Dict = HashMap<String, OwnedVariant>;

/// The lines of `ip [-n NS] ARGS…`, trimmed.
async fn lines(ns: &str, args: &[&str]) -> Vec<String> {
    ip_ns(ns, args)
        .await
        .ok()
        .stdout
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The one line of `lines` that contains every word of `words`.
#[track_caller]
fn line_with<'a>(lines: &'a [String], words: &[&str]) -> &'a str {
    let found: Vec<&String> = lines
        .iter()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one line with {words:?} in:\n{}",
        lines.join("\n")
    );
    found[0]
}

fn route_matches(d: &Dict, dest: &str, table: u32) -> bool {
    dict_str(d, "destination").as_deref() == Some(dest) && dict_u32(d, "table") == Some(table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_and_rules_are_installed_listed_and_removed_exactly() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        const NS: &str = "rt-a";
        let a = add_ns_ready(&conn, NS).await;
        let pa = platform(&conn, &a).await;
        let (r0, r1) = pa
            .add_veth("r0", "r1", &op(&a), dict(vec![("up", vb(true))]))
            .await
            .unwrap();
        let (r0, r1) = (r0.to_string(), r1.to_string());
        pa.set_device_up(&op(&r1), true).await.unwrap();
        pa.add_address(&op(&r0), "10.60.0.1/24").await.unwrap();
        pa.add_address(&op(&r0), "fd60::1/64").await.unwrap();
        // A route of someone else's, which the daemon must leave alone.
        ip_ns(NS, &["route", "add", "10.63.0.0/24", "via", "10.60.0.2"])
            .await
            .ok();

        let routes = [
            dict(vec![
                ("destination", vs("10.61.0.0/24")),
                ("gateway", vs("10.60.0.2")),
                ("device", vo(&r0)),
                ("table", vu(100)),
                ("metric", vu(50)),
            ]),
            dict(vec![
                ("destination", vs("default")),
                ("gateway", vs("10.60.0.2")),
            ]),
            dict(vec![
                ("destination", vs("10.62.0.0/24")),
                ("device", vo(&r0)),
                ("scope", vs("link")),
            ]),
            dict(vec![
                ("destination", vs("fd61::/64")),
                ("gateway", vs("fd60::2")),
                ("device", vo(&r0)),
            ]),
        ];
        for r in &routes {
            pa.add_route(r.clone())
                .await
                .unwrap_or_else(|e| panic!("AddRoute {r:?}: {e:?}"));
        }
        // busctl, an independent client, adds one more.
        busctl_call(
            None,
            &a,
            INSTANCE_INTERFACE,
            "AddRoute",
            &[
                "a{sv}",
                "3",
                "destination",
                "s",
                "10.64.0.0/24",
                "device",
                "o",
                &r0,
                "table",
                "u",
                "101",
            ],
        )
        .await
        .ok();

        let t100 = lines(NS, &["route", "show", "table", "100"]).await;
        line_with(
            &t100,
            &[
                "10.61.0.0/24 via 10.60.0.2 dev r0",
                "proto 110",
                "metric 50",
            ],
        );
        let main = lines(NS, &["route", "show"]).await;
        line_with(&main, &["default via 10.60.0.2 dev r0", "proto 110"]);
        line_with(&main, &["10.62.0.0/24 dev r0", "proto 110", "scope link"]);
        line_with(&main, &["10.63.0.0/24 via 10.60.0.2"]);
        let v6 = lines(NS, &["-6", "route", "show"]).await;
        line_with(&v6, &["fd61::/64 via fd60::2 dev r0", "proto 110"]);
        let t101 = lines(NS, &["route", "show", "table", "101"]).await;
        line_with(&t101, &["10.64.0.0/24 dev r0", "proto 110"]);
        let ours4 = lines(NS, &["-4", "route", "show", "table", "all", "proto", "110"]).await;
        assert_eq!(ours4.len(), 4, "{ours4:#?}");
        let ours6 = lines(NS, &["-6", "route", "show", "table", "all", "proto", "110"]).await;
        assert_eq!(ours6.len(), 1, "{ours6:#?}");

        // GetRoutes: ours say "netnsd", the kernel's and iproute2's do not.
        let listed = pa.get_routes().await.unwrap();
        let find = |dest: &str, table: u32| -> Dict {
            listed
                .iter()
                .find(|d| route_matches(d, dest, table))
                .cloned()
                .unwrap_or_else(|| panic!("no {dest} in table {table} in GetRoutes: {listed:#?}"))
        };
        let d = find("10.61.0.0/24", 100);
        assert_eq!(dict_str(&d, "protocol").as_deref(), Some("netnsd"));
        assert_eq!(dict_str(&d, "gateway").as_deref(), Some("10.60.0.2"));
        assert_eq!(dict_u32(&d, "metric"), Some(50));
        assert_eq!(dict_path(&d, "device").as_deref(), Some(&*r0));
        assert_eq!(dict_str(&d, "family").as_deref(), Some("inet"));
        let d = find("default", 254);
        assert_eq!(dict_str(&d, "protocol").as_deref(), Some("netnsd"));
        let d = find("fd61::/64", 254);
        assert_eq!(dict_str(&d, "protocol").as_deref(), Some("netnsd"));
        assert_eq!(dict_str(&d, "family").as_deref(), Some("inet6"));
        let d = find("10.60.0.0/24", 254);
        assert_eq!(dict_str(&d, "protocol").as_deref(), Some("kernel"));
        assert_eq!(dict_path(&d, "device").as_deref(), Some(&*r0));
        let d = find("10.63.0.0/24", 254);
        assert_ne!(dict_str(&d, "protocol").as_deref(), Some("netnsd"));
        let netnsd = listed
            .iter()
            .filter(|d| dict_str(d, "protocol").as_deref() == Some("netnsd"))
            .count();
        assert_eq!(netnsd, 5, "{listed:#?}");
        // gdbus reads the same list.
        let out = gdbus_call(None, &a, &format!("{INSTANCE_INTERFACE}.GetRoutes"), &[])
            .await
            .ok();
        assert!(out.stdout.contains("'protocol': <'netnsd'>"), "{out}");
        assert!(out.stdout.contains("'10.61.0.0/24'"), "{out}");

        // The same route again: AlreadyExists, nothing added.
        let (err, msg) = err_name(pa.add_route(routes[0].clone()).await);
        assert_eq!(err, "AlreadyExists", "{msg}");
        assert_eq!(
            lines(NS, &["-4", "route", "show", "table", "all", "proto", "110"]).await,
            ours4
        );

        // Rules.
        let rules = [
            dict(vec![
                ("from", vs("10.60.0.0/24")),
                ("table", vu(100)),
                ("priority", vu(1000)),
            ]),
            dict(vec![
                ("to", vs("10.70.0.0/16")),
                ("fwmark", vu(0x10)),
                ("fwmask", vu(0xff)),
                ("iif", vs("r0")),
                ("table", vu(200)),
                ("priority", vu(1001)),
            ]),
            dict(vec![
                ("oif", vs("r1")),
                ("table", vu(201)),
                ("priority", vu(1002)),
            ]),
            dict(vec![
                ("from", vs("fd60::/64")),
                ("table", vu(100)),
                ("priority", vu(1003)),
            ]),
        ];
        for r in &rules {
            pa.add_rule(r.clone())
                .await
                .unwrap_or_else(|e| panic!("AddRule {r:?}: {e:?}"));
        }
        let r4 = lines(NS, &["-4", "rule"]).await;
        line_with(&r4, &["1000:", "from 10.60.0.0/24 lookup 100", "proto 110"]);
        line_with(
            &r4,
            &[
                "1001:",
                "to 10.70.0.0/16",
                "fwmark 0x10/0xff",
                "iif r0",
                "lookup 200",
                "proto 110",
            ],
        );
        line_with(&r4, &["1002:", "oif r1", "lookup 201", "proto 110"]);
        let r6 = lines(NS, &["-6", "rule"]).await;
        line_with(&r6, &["1003:", "from fd60::/64 lookup 100", "proto 110"]);

        let listed = pa.get_rules().await.unwrap();
        let rule = |prio: u32| -> Dict {
            listed
                .iter()
                .find(|d| dict_u32(d, "priority") == Some(prio))
                .cloned()
                .unwrap_or_else(|| panic!("no rule {prio} in GetRules: {listed:#?}"))
        };
        let d = rule(1000);
        assert_eq!(dict_str(&d, "from").as_deref(), Some("10.60.0.0/24"));
        assert_eq!(dict_u32(&d, "table"), Some(100));
        let d = rule(1001);
        assert_eq!(dict_str(&d, "to").as_deref(), Some("10.70.0.0/16"));
        assert_eq!(dict_str(&d, "iif").as_deref(), Some("r0"));
        assert_eq!(dict_u32(&d, "fwmark"), Some(0x10));
        assert_eq!(dict_u32(&d, "fwmask"), Some(0xff));
        assert_eq!(dict_u32(&d, "table"), Some(200));
        assert_eq!(dict_str(&rule(1002), "oif").as_deref(), Some("r1"));
        let d = rule(1003);
        assert_eq!(dict_str(&d, "family").as_deref(), Some("inet6"));
        assert_eq!(dict_str(&d, "from").as_deref(), Some("fd60::/64"));
        // The kernel's own rules are listed too.
        assert!(
            listed
                .iter()
                .any(|d| dict_u32(d, "priority") == Some(32766))
        );

        let (err, msg) = err_name(pa.add_rule(rules[0].clone()).await);
        assert_eq!(err, "AlreadyExists", "{msg}");
        assert_eq!(lines(NS, &["-4", "rule"]).await, r4);

        // Remove everything the daemon added: exactly that goes.
        for r in &rules {
            pa.remove_rule(r.clone())
                .await
                .unwrap_or_else(|e| panic!("RemoveRule {r:?}: {e:?}"));
        }
        for r in &routes {
            pa.remove_route(r.clone())
                .await
                .unwrap_or_else(|e| panic!("RemoveRoute {r:?}: {e:?}"));
        }
        pa.remove_route(dict(vec![
            ("destination", vs("10.64.0.0/24")),
            ("device", vo(&r0)),
            ("table", vu(101)),
        ]))
        .await
        .unwrap();
        assert!(
            lines(NS, &["-4", "route", "show", "table", "all", "proto", "110"])
                .await
                .is_empty()
        );
        assert!(
            lines(NS, &["-6", "route", "show", "table", "all", "proto", "110"])
                .await
                .is_empty()
        );
        for fam in ["-4", "-6"] {
            let r = lines(NS, &[fam, "rule"]).await;
            assert!(!r.iter().any(|l| l.contains("proto 110")), "{r:#?}");
        }
        let main = lines(NS, &["route", "show"]).await;
        line_with(&main, &["10.63.0.0/24 via 10.60.0.2"]);
        line_with(&main, &["10.60.0.0/24 dev r0", "proto kernel"]);
        // Removing twice: NotFound.
        let (err, msg) = err_name(pa.remove_route(routes[0].clone()).await);
        assert_eq!(err, "NotFound", "{msg}");
        let (err, msg) = err_name(pa.remove_rule(rules[0].clone()).await);
        assert_eq!(err, "NotFound", "{msg}");
    })
    .await;
}

/// Source-based policy routing with real traffic. Client `pr-c` has two
/// uplinks: `cu1` to `pr-u1` (10.1.0.0/24, the main table's default route)
/// and `cu2` to `pr-u2` (10.2.0.0/24). Only pr-u2 holds 192.0.2.1, and
/// neither uplink forwards. So a ping to 192.0.2.1 is answered only if it
/// leaves by cu2, which only the rule "from 10.2.0.2 lookup 100" with table
/// 100's default route via pr-u2 makes happen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_based_policy_routing_chooses_the_table() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let c = add_ns_ready(&conn, "pr-c").await;
        let u1 = add_ns_ready(&conn, "pr-u1").await;
        let u2 = add_ns_ready(&conn, "pr-u2").await;
        let pc = platform(&conn, &c).await;
        let pu1 = platform(&conn, &u1).await;
        let pu2 = platform(&conn, &u2).await;
        let up = || dict(vec![("up", vb(true))]);

        let (cu1, u1c) = pc.add_veth("cu1", "u1c", &op(&u1), up()).await.unwrap();
        let (cu2, u2c) = pc.add_veth("cu2", "u2c", &op(&u2), up()).await.unwrap();
        pu1.set_device_up(&u1c, true).await.unwrap();
        pu2.set_device_up(&u2c, true).await.unwrap();
        pc.add_address(&cu1, "10.1.0.2/24").await.unwrap();
        pu1.add_address(&u1c, "10.1.0.1/24").await.unwrap();
        pc.add_address(&cu2, "10.2.0.2/24").await.unwrap();
        pu2.add_address(&u2c, "10.2.0.1/24").await.unwrap();
        let u2_lo = must(find_device(&conn, &u2, "lo").await, "no lo in pr-u2");
        pu2.add_address(&op(&u2_lo), "192.0.2.1/32").await.unwrap();

        pc.add_route(dict(vec![
            ("destination", vs("default")),
            ("gateway", vs("10.1.0.1")),
            ("device", vo(cu1.as_str())),
        ]))
        .await
        .unwrap();
        pc.add_route(dict(vec![
            ("destination", vs("default")),
            ("gateway", vs("10.2.0.1")),
            ("device", vo(cu2.as_str())),
            ("table", vu(100)),
        ]))
        .await
        .unwrap();

        // Both links work.
        ping("pr-c", 2, &["10.1.0.1"]).await.ok();
        ping("pr-c", 2, &["10.2.0.1"]).await.ok();

        // Without the rule, the main table sends everything by cu1.
        let out = ip_ns("pr-c", &["route", "get", "192.0.2.1", "from", "10.2.0.2"])
            .await
            .ok();
        assert!(
            out.stdout.contains("via 10.1.0.1 dev cu1") && !out.stdout.contains("table 100"),
            "{out}"
        );
        let out = ping("pr-c", 1, &["-I", "10.2.0.2", "192.0.2.1"]).await;
        assert!(!out.success(), "answered without the rule: {out}");

        pc.add_rule(dict(vec![
            ("from", vs("10.2.0.2")),
            ("table", vu(100)),
            ("priority", vu(1000)),
        ]))
        .await
        .unwrap();
        let rules = lines("pr-c", &["rule"]).await;
        line_with(&rules, &["1000:", "from 10.2.0.2 lookup 100", "proto 110"]);

        // Table 100 is used for that source, and only for that source.
        let out = ip_ns("pr-c", &["route", "get", "192.0.2.1", "from", "10.2.0.2"])
            .await
            .ok();
        assert!(
            out.stdout.contains("via 10.2.0.1 dev cu2") && out.stdout.contains("table 100"),
            "the rule did not choose table 100: {out}"
        );
        let out = ip_ns("pr-c", &["route", "get", "192.0.2.1", "from", "10.1.0.2"])
            .await
            .ok();
        assert!(
            out.stdout.contains("via 10.1.0.1 dev cu1") && !out.stdout.contains("table 100"),
            "{out}"
        );
        let out = ip_ns("pr-c", &["route", "get", "192.0.2.1"]).await.ok();
        assert!(out.stdout.contains("dev cu1"), "{out}");

        // Real traffic: only the source-routed ping is answered.
        let out = ping("pr-c", 2, &["-I", "10.2.0.2", "192.0.2.1"]).await;
        assert!(
            out.success(),
            "the source-routed ping was not answered: {out}"
        );
        let out = ping("pr-c", 1, &["-I", "10.1.0.2", "192.0.2.1"]).await;
        assert!(
            !out.success(),
            "the uplink without 192.0.2.1 answered: {out}"
        );
        let out = ping("pr-c", 1, &["192.0.2.1"]).await;
        assert!(
            !out.success(),
            "a ping by the main table was answered: {out}"
        );

        // Without the rule again, the answer stops.
        pc.remove_rule(dict(vec![
            ("from", vs("10.2.0.2")),
            ("table", vu(100)),
            ("priority", vu(1000)),
        ]))
        .await
        .unwrap();
        let out = ping("pr-c", 1, &["-I", "10.2.0.2", "192.0.2.1"]).await;
        assert!(!out.success(), "answered after the rule was removed: {out}");
        let rules = lines("pr-c", &["rule"]).await;
        assert!(
            !rules.iter().any(|l| l.contains("lookup 100")),
            "{rules:#?}"
        );

        // An fwmark rule picks the table as well (iproute2 reads it back).
        pc.add_rule(dict(vec![
            ("fwmark", vu(7)),
            ("table", vu(100)),
            ("priority", vu(1100)),
        ]))
        .await
        .unwrap();
        let out = ip_ns("pr-c", &["route", "get", "192.0.2.1", "mark", "7"])
            .await
            .ok();
        assert!(
            out.stdout.contains("dev cu2") && out.stdout.contains("table 100"),
            "{out}"
        );
    })
    .await;
}

/// RemoveRoute and RemoveRule take exactly what AddRoute and AddRule of the
/// same keys made: every key given must match, a key left out means what it
/// means on Add (no gateway, metric 0, netnsd's protocol, no fwmark, …), and
/// nothing else goes. Someone else's route or rule goes only when its
/// protocol is named, as GetRules (and GetRoutes) report it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_takes_exactly_what_add_made() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        const NS: &str = "rt-x";
        let a = add_ns_ready(&conn, NS).await;
        let pa = platform(&conn, &a).await;
        let (x0, _x1) = pa
            .add_veth("x0", "x1", &op(&a), dict(vec![("up", vb(true))]))
            .await
            .unwrap();
        let x0 = x0.to_string();
        pa.add_address(&op(&x0), "10.80.0.1/24").await.unwrap();
        let route = |dest: &'static str,
                     more: Vec<(&'static str, zbus::wire::Variant<'static>)>| {
            let mut d = dict(vec![("destination", vs(dest)), ("device", vo(&x0))]);
            d.extend(more);
            d
        };

        // A route with a metric is not the route without one.
        pa.add_route(route("10.81.0.0/24", vec![("metric", vu(10))]))
            .await
            .unwrap();
        let (err, msg) = err_name(pa.remove_route(route("10.81.0.0/24", vec![])).await);
        assert_eq!(err, "NotFound", "{msg}");
        // A route via a gateway is not the route on the device alone.
        pa.add_route(route("10.82.0.0/24", vec![("gateway", vs("10.80.0.2"))]))
            .await
            .unwrap();
        let (err, msg) = err_name(pa.remove_route(route("10.82.0.0/24", vec![])).await);
        assert_eq!(err, "NotFound", "{msg}");
        // Someone else's route, unless its protocol is named.
        ip_ns(NS, &["route", "add", "10.84.0.0/24", "dev", "x0"])
            .await
            .ok();
        let (err, msg) = err_name(pa.remove_route(route("10.84.0.0/24", vec![])).await);
        assert_eq!(err, "NotFound", "{msg}");
        let main = lines(NS, &["route", "show"]).await;
        line_with(&main, &["10.81.0.0/24 dev x0", "metric 10"]);
        line_with(&main, &["10.82.0.0/24 via 10.80.0.2 dev x0"]);
        line_with(&main, &["10.84.0.0/24 dev x0"]);
        // The same keys as on Add remove it.
        pa.remove_route(route("10.81.0.0/24", vec![("metric", vu(10))]))
            .await
            .unwrap();
        pa.remove_route(route("10.82.0.0/24", vec![("gateway", vs("10.80.0.2"))]))
            .await
            .unwrap();
        pa.remove_route(route("10.84.0.0/24", vec![("protocol", vs("boot"))]))
            .await
            .unwrap();
        let main = lines(NS, &["route", "show"]).await;
        assert!(
            !main
                .iter()
                .any(|l| l.starts_with("10.8") && !l.starts_with("10.80.")),
            "{main:#?}"
        );
        let (err, msg) = err_name(
            pa.remove_route(route("10.85.0.0/24", vec![("protocol", vs("nobody"))]))
                .await,
        );
        assert_eq!(err, "InvalidArgument", "{msg}");
        assert!(msg.contains("protocol"), "{msg}");

        // Two rules differing only in the fwmark, the marked one first.
        let plain = dict(vec![
            ("from", vs("10.80.0.0/24")),
            ("table", vu(100)),
            ("priority", vu(2000)),
        ]);
        let mut marked = plain.clone();
        marked.insert("fwmark", vu(5));
        pa.add_rule(marked.clone()).await.unwrap();
        pa.add_rule(plain.clone()).await.unwrap();
        // By table and priority alone: neither (both have a source).
        let (err, msg) = err_name(
            pa.remove_rule(dict(vec![("table", vu(100)), ("priority", vu(2000))]))
                .await,
        );
        assert_eq!(err, "NotFound", "{msg}");
        // The kernel deletes the first rule a request matches, and a
        // request for the plain rule matches the marked one before it: that
        // is refused rather than the wrong rule removed.
        let (err, msg) = err_name(pa.remove_rule(plain.clone()).await);
        assert_eq!(err, "NotSupported", "{msg}");
        assert!(msg.contains("rule 2000"), "{msg}");
        let count = |r4: &[String]| r4.iter().filter(|l| l.starts_with("2000:")).count();
        assert_eq!(count(&lines(NS, &["-4", "rule"]).await), 2);
        // Removing the marked one leaves the plain one.
        pa.remove_rule(marked.clone()).await.unwrap();
        let r4 = lines(NS, &["-4", "rule"]).await;
        line_with(&r4, &["2000:", "from 10.80.0.0/24 lookup 100"]);
        assert_eq!(count(&r4), 1, "{r4:#?}");
        // The marked one after it: removing the plain one leaves the marked.
        pa.add_rule(marked.clone()).await.unwrap();
        pa.remove_rule(plain.clone()).await.unwrap();
        let r4 = lines(NS, &["-4", "rule"]).await;
        line_with(&r4, &["2000:", "from 10.80.0.0/24 fwmark 0x5 lookup 100"]);
        assert_eq!(count(&r4), 1, "{r4:#?}");
        let (err, msg) = err_name(pa.remove_rule(plain.clone()).await);
        assert_eq!(err, "NotFound", "{msg}");

        // GetRules says whose rules are whose.
        ip_ns(
            NS,
            &[
                "rule",
                "add",
                "from",
                "10.85.0.0/24",
                "lookup",
                "100",
                "pref",
                "2100",
                "proto",
                "static",
            ],
        )
        .await
        .ok();
        let listed = pa.get_rules().await.unwrap();
        let protocol = |prio: u32| -> Option<String> {
            let d = listed
                .iter()
                .find(|d| dict_u32(d, "priority") == Some(prio))
                .unwrap_or_else(|| panic!("no rule {prio} in GetRules: {listed:#?}"));
            dict_str(d, "protocol")
        };
        assert_eq!(protocol(2000).as_deref(), Some("netnsd"));
        assert_eq!(protocol(2100).as_deref(), Some("static"));
        assert_eq!(protocol(32766).as_deref(), Some("kernel"));
        let out = nsctl(None, &["rule", "list", "--netns", NS]).await.ok();
        line_with(
            &out.stdout.lines().map(str::to_owned).collect::<Vec<_>>(),
            &["2000:", "lookup 100", "proto netnsd"],
        );
        // Someone else's rule, unless its protocol is named.
        let theirs = dict(vec![
            ("from", vs("10.85.0.0/24")),
            ("table", vu(100)),
            ("priority", vu(2100)),
        ]);
        let (err, msg) = err_name(pa.remove_rule(theirs.clone()).await);
        assert_eq!(err, "NotFound", "{msg}");
        let mut named = theirs.clone();
        named.insert("protocol", vs("static"));
        pa.remove_rule(named).await.unwrap();
        pa.remove_rule(marked).await.unwrap();
        let r4 = lines(NS, &["-4", "rule"]).await;
        assert!(!r4.iter().any(|l| l.contains("lookup 100")), "{r4:#?}");
    })
    .await;
}
