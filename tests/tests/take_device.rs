//! TakeDevice: a veth, a macvlan and a tun made by iproute2 are moved into a
//! namespace; the reply comes once the device is there (iproute2 finds it
//! there at once), the object path stays and NetworkNamespace follows. A
//! bridge cannot move (the kernel keeps bridges in their namespace); the
//! timeout is honoured and undone; loopback, the namespace the device is
//! already in, and unknown devices are refused with typed errors, and no
//! refusal changes anything.

use std::time::Duration;

use netnsd_tests::*;
use zbus::Connection;

/// Takes the device `name` of rootns into `ns` and checks every observer.
async fn take_and_check(conn: &Connection, name: &str, ns_name: &str, ns: &str, kind: &str) {
    let root = namespace_path(0);
    let dev = wait_device(conn, &root, name).await;
    let before = dev_info(conn, &dev).await;
    assert_eq!(before.kind, kind, "{before:?}");
    let target = platform(conn, ns).await;
    let mut added = target.receive_netns_device_added().await.unwrap();
    let mut removed = platform(conn, &root)
        .await
        .receive_netns_device_removed()
        .await
        .unwrap();

    let (r, took) = timed_call(target.take_device(&op(&dev), 5000)).await;
    r.unwrap_or_else(|e| panic!("TakeDevice({name} → {ns_name}): {e:?}"));
    // It answers when the device arrives, not when the timeout runs out.
    assert!(
        took < Duration::from_secs(2),
        "TakeDevice({name}) took {took:?}"
    );
    // The reply waited until the device was there.
    let link = must(
        ip_link(ns_name, name).await,
        &format!("TakeDevice answered but ip finds no {name} in {ns_name}"),
    );
    assert!(
        ip_link(ROOT_NS_NAME, name).await.is_none(),
        "{name} is still in rootns"
    );
    let info = dev_info(conn, &dev).await;
    assert_eq!(info.netns, ns, "NetworkNamespace after the reply: {info:?}");
    assert_eq!(info.interface, name);
    assert_eq!(info.kind, kind);
    assert_eq!(i64::from(info.ifindex), link["ifindex"].as_i64().unwrap());
    assert_eq!(find_device(conn, ns, name).await.as_deref(), Some(&*dev));
    assert!(!all_devices(conn, &root).await.contains(&dev));
    next_matching(&mut added, &format!("NetnsDeviceAdded({name})"), |s| {
        (s.args().unwrap().device.as_str() == dev).then_some(())
    })
    .await;
    next_matching(
        &mut removed,
        &format!("NetnsDeviceRemoved({name}) on rootns"),
        |s| (s.args().unwrap().device.as_str() == dev).then_some(()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veth_macvlan_and_tun_are_taken_keeping_their_path() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "tk-a").await;

        ip(&[
            "link", "add", "tkv0", "type", "veth", "peer", "name", "tkv1",
        ])
        .await
        .ok();
        take_and_check(&conn, "tkv0", "tk-a", &a, "veth").await;
        // Its peer stayed in rootns, and the pair still works across.
        ip_ns("tk-a", &["addr", "add", "10.54.0.1/24", "dev", "tkv0"])
            .await
            .ok();
        ip_ns("tk-a", &["link", "set", "tkv0", "up"]).await.ok();
        ip(&["addr", "add", "10.54.0.2/24", "dev", "tkv1"])
            .await
            .ok();
        ip(&["link", "set", "tkv1", "up"]).await.ok();
        let out = ping("tk-a", 2, &["10.54.0.2"]).await;
        assert!(out.success(), "{out}");

        ip(&[
            "link", "add", "tkp0", "type", "veth", "peer", "name", "tkp1",
        ])
        .await
        .ok();
        ip(&[
            "link", "add", "tkm0", "link", "tkp0", "type", "macvlan", "mode", "bridge",
        ])
        .await
        .ok();
        take_and_check(&conn, "tkm0", "tk-a", &a, "macvlan").await;

        ip(&["tuntap", "add", "dev", "tkt0", "mode", "tun"])
            .await
            .ok();
        take_and_check(&conn, "tkt0", "tk-a", &a, "tun").await;

        // And back to rootns, through busctl, an independent client.
        let tun = must(find_device(&conn, &a, "tkt0").await, "tkt0");
        busctl_call(
            None,
            &root,
            INSTANCE_INTERFACE,
            "TakeDevice",
            &["oi", &tun, "5000"],
        )
        .await
        .ok();
        assert!(ip_link(ROOT_NS_NAME, "tkt0").await.is_some());
        assert!(ip_link("tk-a", "tkt0").await.is_none());
        assert_eq!(dev_info(&conn, &tun).await.netns, root);
        // A persistent tun outlives the test: remove it, so later tests in
        // this sandbox do not find it.
        ip(&["link", "del", "tkt0"]).await.ok();
    })
    .await;
}

/// The kernel refuses to move a bridge: bridges are netns-local
/// (NETIF_F_NETNS_LOCAL; `ip link set br netns X` says "The interface netns
/// is immutable"). That is a limitation of Linux, not of netnsd, and it is
/// documented: TakeDevice of a bridge answers InvalidArgument, and the
/// bridge stays where it was. Make bridges in place with AddBridge instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_cannot_be_taken_and_stays_where_it_was() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "tk-br").await;
        ip(&["link", "add", "tkbr0", "type", "bridge"]).await.ok();
        let br = wait_device(&conn, &root, "tkbr0").await;
        let info = dev_info(&conn, &br).await;
        assert_eq!(info.kind, "bridge");
        let before = settled_snapshots(&[ROOT_NS_NAME, "tk-br"]).await;

        let (err, msg) = err_name(platform(&conn, &a).await.take_device(&op(&br), 3000).await);
        assert_eq!(err, "InvalidArgument", "{msg}");
        assert!(msg.contains("tkbr0") || msg.contains("bridge"), "{msg}");
        assert!(ip_link(ROOT_NS_NAME, "tkbr0").await.is_some());
        assert!(ip_link("tk-br", "tkbr0").await.is_none());
        assert_eq!(dev_info(&conn, &br).await, info);
        assert_unchanged(&before, "a refused TakeDevice of a bridge").await;
    })
    .await;
}

/// timeout_ms 0 cannot be met (a move takes tens of milliseconds): the
/// answer is Timeout and the device ends up back where it was, with its
/// object path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_is_honoured_and_the_move_undone() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "tk-to").await;
        let pa = platform(&conn, &a).await;
        ip(&[
            "link", "add", "tko0", "type", "veth", "peer", "name", "tko1",
        ])
        .await
        .ok();
        let dev = wait_device(&conn, &root, "tko0").await;
        let before = settled_snapshots(&[ROOT_NS_NAME, "tk-to"]).await;

        let (r, took) = timed_call(pa.take_device(&op(&dev), 0)).await;
        let (err, msg) = err_name(r);
        assert_eq!(err, "Timeout", "{msg}");
        assert!(took < Duration::from_secs(2), "Timeout came after {took:?}");

        // Back in rootns within a bounded wait, and nowhere else.
        wait_ip_link(ROOT_NS_NAME, "tko0", true).await;
        wait_ip_link("tk-to", "tko0", false).await;
        wait_dev(&conn, &dev, "back in rootns", |i| {
            i.netns == root && i.interface == "tko0"
        })
        .await;
        assert_eq!(find_device(&conn, &a, "tko0").await, None);
        assert_eq!(
            find_device(&conn, &root, "tko0").await.as_deref(),
            Some(&*dev)
        );
        // Give a late move a chance to show, then compare everything.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(ip_link("tk-to", "tko0").await.is_none());
        // (The device gets its old ifindex back: it is free in rootns.)
        assert_unchanged(&before, "a timed-out TakeDevice").await;
        let names = ip_link_names(ROOT_NS_NAME).await;
        assert!(
            names.contains("tko0") && names.contains("tko1"),
            "{names:?}"
        );

        // A generous timeout works, and a negative one is refused.
        pa.take_device(&op(&dev), 5000).await.unwrap();
        assert!(ip_link("tk-to", "tko0").await.is_some());
        let (err, msg) = err_name(
            platform(&conn, &root)
                .await
                .take_device(&op(&dev), -1)
                .await,
        );
        assert_eq!(err, "InvalidArgument", "{msg}");
        assert!(ip_link("tk-to", "tko0").await.is_some());
    })
    .await;
}

/// A device moved back and forth for longer than the daemon keeps a
/// departure waiting for its arrival (2 s) stays one live object: a departure
/// already matched to its arrival must not expire a later move of the same
/// device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_one_device_back_and_forth_keeps_it() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "tk-bf").await;
        let pa = platform(&conn, &a).await;
        let proot = platform(&conn, &root).await;
        ip(&[
            "link", "add", "tkb0", "type", "veth", "peer", "name", "tkb1",
        ])
        .await
        .ok();
        let dev = wait_device(&conn, &root, "tkb0").await;
        let start = std::time::Instant::now();
        let mut trips = 0;
        // At least 3.5 s of moves, so the timers of the first moves fire
        // while later ones are under way.
        while trips < 10 || start.elapsed() < Duration::from_millis(3500) {
            pa.take_device(&op(&dev), 5000)
                .await
                .unwrap_or_else(|e| panic!("trip {trips} into tk-bf: {e:?}"));
            assert!(ip_link("tk-bf", "tkb0").await.is_some(), "trip {trips}");
            proot
                .take_device(&op(&dev), 5000)
                .await
                .unwrap_or_else(|e| panic!("trip {trips} back to rootns: {e:?}"));
            assert!(
                ip_link(ROOT_NS_NAME, "tkb0").await.is_some(),
                "trip {trips}"
            );
            trips += 1;
        }
        // Past every timer armed by the moves: the object is still there,
        // in rootns, with the right ifindex, and can move again.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let info = dev_info(&conn, &dev).await;
        assert_eq!(info.netns, root, "{info:?}");
        assert_eq!(info.interface, "tkb0");
        let link = must(ip_link(ROOT_NS_NAME, "tkb0").await, "tkb0 in rootns");
        assert_eq!(i64::from(info.ifindex), link["ifindex"].as_i64().unwrap());
        assert_eq!(
            find_device(&conn, &root, "tkb0").await.as_deref(),
            Some(&*dev)
        );
        assert_eq!(find_device(&conn, &a, "tkb0").await, None);
        pa.take_device(&op(&dev), 5000).await.unwrap();
        assert_eq!(dev_info(&conn, &dev).await.netns, a);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_typed_and_change_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "tk-no").await;
        let pa = platform(&conn, &a).await;
        let proot = platform(&conn, &root).await;
        ip(&[
            "link", "add", "tkn0", "type", "veth", "peer", "name", "tkn1",
        ])
        .await
        .ok();
        ip_ns(
            "tk-no",
            &[
                "link", "add", "tkn0", "type", "veth", "peer", "name", "tkx1",
            ],
        )
        .await
        .ok();
        let dev = wait_device(&conn, &root, "tkn0").await;
        let a_lo = wait_device(&conn, &a, "lo").await;
        let root_lo = must(find_device(&conn, &root, "lo").await, "rootns lo");
        wait_device(&conn, &a, "tkn0").await;
        let before = settled_snapshots(&[ROOT_NS_NAME, "tk-no"]).await;
        let infos = [
            dev_info(&conn, &dev).await,
            dev_info(&conn, &a_lo).await,
            dev_info(&conn, &root_lo).await,
        ];

        let cases: Vec<(&str, Result<(), ApiError>, &str)> = vec![
            (
                "loopback of tk-no into rootns",
                proot.take_device(&op(&a_lo), 2000).await,
                "InvalidArgument",
            ),
            (
                "rootns loopback into tk-no",
                pa.take_device(&op(&root_lo), 2000).await,
                "InvalidArgument",
            ),
            (
                "a device into the namespace it is in",
                proot.take_device(&op(&dev), 2000).await,
                "DeviceAlreadyInTargetNetns",
            ),
            (
                "a device path that names nothing",
                pa.take_device(&op(&device_path(999_999)), 2000).await,
                "UnknownDevice",
            ),
            (
                "a namespace path instead of a device",
                pa.take_device(&op(&root), 2000).await,
                "UnknownDevice",
            ),
            (
                "a device whose name is taken there",
                pa.take_device(&op(&dev), 2000).await,
                "AlreadyExists",
            ),
        ];
        for (what, r, want) in cases {
            let (err, msg) = err_name(r);
            assert_eq!(err, want, "TakeDevice of {what}: {msg}");
            assert!(!msg.is_empty());
            assert_unchanged(&before, &format!("TakeDevice of {what}")).await;
        }
        // gdbus sees the error names on the wire.
        let out = gdbus_call(
            None,
            &a,
            &format!("{INSTANCE_INTERFACE}.TakeDevice"),
            &[
                format!("objectpath '{}'", device_path(999_998)),
                "1000".into(),
            ],
        )
        .await
        .failed();
        assert_eq!(
            out.gdbus_error(),
            Some(netnsd_error("UnknownDevice")),
            "{out}"
        );
        let out = gdbus_call(
            None,
            &root,
            &format!("{INSTANCE_INTERFACE}.TakeDevice"),
            &[format!("objectpath '{dev}'"), "1000".into()],
        )
        .await
        .failed();
        assert_eq!(
            out.gdbus_error(),
            Some(netnsd_error("DeviceAlreadyInTargetNetns")),
            "{out}"
        );
        assert_unchanged(&before, "the refused gdbus calls").await;
        assert_eq!(
            [
                dev_info(&conn, &dev).await,
                dev_info(&conn, &a_lo).await,
                dev_info(&conn, &root_lo).await,
            ],
            infos
        );
    })
    .await;
}
