//! Bad input to the link, address and route methods: malformed CIDRs, a
//! gateway off-link, a device of another namespace, unknown device paths,
//! interface names too long or with '/', names taken, bad options. Every
//! refusal is a typed error naming the problem, and after each, iproute2
//! shows exactly what it showed before (links, addresses, all routing
//! tables, rules) in every namespace involved, and the bus lists the same
//! devices.

use std::collections::BTreeSet;

use netnsd_tests::*;
use zbus::Connection;

const NAMESPACES: [&str; 3] = ["bi-a", "bi-b", ROOT_NS_NAME];

/// Every device path the daemon lists, in every namespace.
async fn bus_devices(conn: &Connection) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for ns in list_paths(conn).await {
        all.extend(all_devices(conn, &ns).await);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_typed_errors_and_changes_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "bi-a").await;
        let b = add_ns_ready(&conn, "bi-b").await;
        let pa = platform(&conn, &a).await;
        let pb = platform(&conn, &b).await;
        let up = || dict(vec![("up", vb(true))]);
        let (bi0, bi1) = pa.add_veth("bi0", "bi1", &op(&a), up()).await.unwrap();
        let (bi0, bi1) = (bi0.to_string(), bi1.to_string());
        pa.set_device_up(&op(&bi1), true).await.unwrap();
        pa.add_address(&op(&bi0), "10.55.0.1/24").await.unwrap();
        let (bo0, _) = pb.add_veth("bo0", "bo1", &op(&b), no_opts()).await.unwrap();
        let bo0 = bo0.to_string();
        let missing = device_path(999_999);

        let before = settled_snapshots(&NAMESPACES).await;
        let devices_before = bus_devices(&conn).await;
        let check = |what: String, r: Result<(), ApiError>, want: &'static str, word: String| {
            let before = &before;
            let devices_before = &devices_before;
            let conn = &conn;
            async move {
                let (err, msg) = err_name(r);
                assert_eq!(err, want, "{what}: {msg}");
                assert!(
                    msg.contains(&word),
                    "{what}: the message should name {word:?}: {msg:?}"
                );
                assert_unchanged(before, &what).await;
                assert_eq!(&bus_devices(conn).await, devices_before, "{what}");
            }
        };
        let drop_path = |r: Result<zbus::wire::OwnedObjectPath, ApiError>| r.map(drop);

        // Malformed CIDRs.
        for cidr in [
            "10.55.0.300/24",
            "10.55.0.2/33",
            "fd55::1/129",
            "nonsense",
            "10.55.0.2/",
            "10.55.0.2/24/1",
            "10.55.0.2/-1",
        ] {
            check(
                format!("AddAddress({cidr:?})"),
                pa.add_address(&op(&bi0), cidr).await,
                "InvalidArgument",
                cidr.to_owned(),
            )
            .await;
            check(
                format!("RemoveAddress({cidr:?})"),
                pa.remove_address(&op(&bi0), cidr).await,
                "InvalidArgument",
                cidr.to_owned(),
            )
            .await;
        }
        check(
            "AddAddress(\"\")".into(),
            pa.add_address(&op(&bi0), "").await,
            "InvalidArgument",
            "empty".into(),
        )
        .await;

        // A device of another namespace.
        check(
            "AddAddress on a device of bi-b".into(),
            pa.add_address(&op(&bo0), "10.55.0.9/24").await,
            "InvalidArgument",
            "bi-b".into(),
        )
        .await;
        check(
            "AddRoute via a device of bi-b".into(),
            pa.add_route(dict(vec![
                ("destination", vs("10.56.0.0/24")),
                ("device", vo(&bo0)),
            ]))
            .await,
            "InvalidArgument",
            "bi-b".into(),
        )
        .await;
        for (what, r) in [
            ("DeleteDevice", pa.delete_device(&op(&bo0)).await),
            ("SetDeviceUp", pa.set_device_up(&op(&bo0), true).await),
            ("SetDeviceMtu", pa.set_device_mtu(&op(&bo0), 1400).await),
            ("RenameDevice", pa.rename_device(&op(&bo0), "bz0").await),
        ] {
            check(
                format!("{what} on a device of bi-b"),
                r,
                "InvalidArgument",
                "bi-b".into(),
            )
            .await;
        }

        // Unknown device paths.
        for (what, r) in [
            (
                "AddAddress",
                pa.add_address(&op(&missing), "10.55.0.9/24").await,
            ),
            ("DeleteDevice", pa.delete_device(&op(&missing)).await),
            ("SetDeviceUp", pa.set_device_up(&op(&missing), true).await),
            (
                "AddRoute",
                pa.add_route(dict(vec![
                    ("destination", vs("10.56.0.0/24")),
                    ("device", vo(&missing)),
                ]))
                .await,
            ),
            (
                "AddMacvlan",
                drop_path(pa.add_macvlan("bm0", &op(&missing), no_opts()).await),
            ),
        ] {
            check(
                format!("{what} on an unknown device"),
                r,
                "UnknownDevice",
                missing.clone(),
            )
            .await;
        }

        // A gateway that is not on-link.
        check(
            "AddRoute via an off-link gateway on bi0".into(),
            pa.add_route(dict(vec![
                ("destination", vs("10.56.0.0/24")),
                ("gateway", vs("10.99.0.1")),
                ("device", vo(&bi0)),
            ]))
            .await,
            "InvalidArgument",
            "10.99.0.1".into(),
        )
        .await;
        check(
            "AddRoute via an off-link gateway".into(),
            pa.add_route(dict(vec![
                ("destination", vs("default")),
                ("gateway", vs("10.99.0.1")),
                ("table", vu(100)),
            ]))
            .await,
            "InvalidArgument",
            "10.99.0.1".into(),
        )
        .await;

        // Malformed routes and rules.
        for (what, route, word) in [
            (
                "a destination with host bits",
                dict(vec![
                    ("destination", vs("10.56.0.1/24")),
                    ("device", vo(&bi0)),
                ]),
                "10.56.0.1/24",
            ),
            (
                "a prefix too long",
                dict(vec![
                    ("destination", vs("10.56.0.0/40")),
                    ("device", vo(&bi0)),
                ]),
                "10.56.0.0/40",
            ),
            (
                "a malformed gateway",
                dict(vec![
                    ("destination", vs("10.56.0.0/24")),
                    ("gateway", vs("10.55.0.300")),
                ]),
                "10.55.0.300",
            ),
            (
                "no gateway and no device",
                dict(vec![("destination", vs("10.56.0.0/24"))]),
                "device",
            ),
            (
                "an unknown key",
                dict(vec![
                    ("destination", vs("10.56.0.0/24")),
                    ("device", vo(&bi0)),
                    ("via", vs("10.55.0.2")),
                ]),
                "via",
            ),
            (
                "a table of the wrong type",
                dict(vec![
                    ("destination", vs("10.56.0.0/24")),
                    ("device", vo(&bi0)),
                    ("table", vs("main")),
                ]),
                "table",
            ),
        ] {
            check(
                format!("AddRoute with {what}"),
                pa.add_route(route).await,
                "InvalidArgument",
                word.into(),
            )
            .await;
        }
        for (what, rule, word) in [
            ("table 0", dict(vec![("table", vu(0))]), "table"),
            (
                "no table",
                dict(vec![("from", vs("10.55.0.0/24"))]),
                "table",
            ),
            (
                "a mask without a mark",
                dict(vec![("table", vu(100)), ("fwmask", vu(0xff))]),
                "fwmask",
            ),
            (
                "a malformed source",
                dict(vec![("table", vu(100)), ("from", vs("10.55.0/24"))]),
                "10.55.0",
            ),
            (
                "an interface name too long",
                dict(vec![("table", vu(100)), ("iif", vs("sixteen-chars-xx"))]),
                "15",
            ),
        ] {
            check(
                format!("AddRule with {what}"),
                pa.add_rule(rule).await,
                "InvalidArgument",
                word.into(),
            )
            .await;
        }

        // Interface names: too long (16 bytes), with '/', empty.
        let long = "sixteen-chars-xx";
        assert_eq!(long.len(), 16);
        for (bad, word) in [(long, "15"), ("a/b", "'/'"), ("", "empty")] {
            for (what, r) in [
                ("AddBridge", drop_path(pa.add_bridge(bad, no_opts()).await)),
                (
                    "AddVeth (name)",
                    pa.add_veth(bad, "okpeer", &op(&b), no_opts())
                        .await
                        .map(drop),
                ),
                (
                    "AddVeth (peer name)",
                    pa.add_veth("okname", bad, &op(&b), no_opts())
                        .await
                        .map(drop),
                ),
                (
                    "AddMacvlan",
                    drop_path(pa.add_macvlan(bad, &op(&bi1), no_opts()).await),
                ),
                ("RenameDevice", pa.rename_device(&op(&bi1), bad).await),
            ] {
                check(
                    format!("{what} named {bad:?}"),
                    r,
                    "InvalidArgument",
                    word.into(),
                )
                .await;
            }
        }

        // Names taken.
        for (what, r, word) in [
            (
                "AddBridge named like bi0",
                drop_path(pa.add_bridge("bi0", no_opts()).await),
                "bi0",
            ),
            (
                "AddVeth with a peer named like bo0 in bi-b",
                pa.add_veth("new0", "bo0", &op(&b), no_opts())
                    .await
                    .map(drop),
                "bo0",
            ),
            (
                "RenameDevice of bi1 to bi0",
                pa.rename_device(&op(&bi1), "bi0").await,
                "bi0",
            ),
            (
                "AddMacvlan named like bi1",
                drop_path(pa.add_macvlan("bi1", &op(&bi0), no_opts()).await),
                "bi1",
            ),
        ] {
            check(what.into(), r, "AlreadyExists", word.into()).await;
        }
        check(
            "AddVeth with both ends named alike in one namespace".into(),
            pa.add_veth("same0", "same0", &op(&a), no_opts())
                .await
                .map(drop),
            "InvalidArgument",
            "same0".into(),
        )
        .await;

        // Options, MTUs, namespaces.
        for (what, r, word) in [
            (
                "AddBridge with an unknown option",
                drop_path(
                    pa.add_bridge("bb0", dict(vec![("colour", vs("blue"))]))
                        .await,
                ),
                "colour",
            ),
            (
                "AddBridge with mtu of the wrong type",
                drop_path(pa.add_bridge("bb0", dict(vec![("mtu", vs("1500"))])).await),
                "mtu",
            ),
            (
                "AddBridge with mtu 10",
                drop_path(pa.add_bridge("bb0", dict(vec![("mtu", vu(10))])).await),
                "10",
            ),
            (
                "SetDeviceMtu 10",
                pa.set_device_mtu(&op(&bi0), 10).await,
                "10",
            ),
            (
                "SetDeviceMtu 70000",
                pa.set_device_mtu(&op(&bi0), 70_000).await,
                "70000",
            ),
        ] {
            check(what.into(), r, "InvalidArgument", word.into()).await;
        }
        check(
            "AddVeth with a peer namespace that does not exist".into(),
            pa.add_veth("new1", "new2", &op(&namespace_path(999_999)), no_opts())
                .await
                .map(drop),
            "NotFound",
            namespace_path(999_999),
        )
        .await;

        // An independent client sees the error names on the wire.
        let out = gdbus_call(
            None,
            &a,
            &format!("{INSTANCE_INTERFACE}.AddAddress"),
            &[format!("objectpath '{bi0}'"), "'10.55.0.300/24'".into()],
        )
        .await
        .failed();
        assert_eq!(
            out.gdbus_error(),
            Some(netnsd_error("InvalidArgument")),
            "{out}"
        );
        let out = busctl_call(
            None,
            &a,
            INSTANCE_INTERFACE,
            "AddRoute",
            &[
                "a{sv}",
                "2",
                "destination",
                "s",
                "10.56.0.0/24",
                "device",
                "o",
                &bo0,
            ],
        )
        .await
        .failed();
        assert!(out.stderr.contains("bi-b"), "{out}");
        let out = gdbus_call(
            None,
            &a,
            &format!("{INSTANCE_INTERFACE}.AddBridge"),
            &["'bi0'".into(), "@a{sv} {}".into()],
        )
        .await
        .failed();
        assert_eq!(
            out.gdbus_error(),
            Some(netnsd_error("AlreadyExists")),
            "{out}"
        );
        assert_unchanged(&before, "the refused gdbus and busctl calls").await;
        assert_eq!(bus_devices(&conn).await, devices_before);
    })
    .await;
}
