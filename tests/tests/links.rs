//! Links the daemon makes: a veth pair with its peer born in another
//! namespace that carries real traffic, macvlans (bridge mode by default)
//! that talk to each other over their parent, bridges, stable MACs, delete,
//! MTU, rename, up/down, and a namespace's removal taking everything in it.
//! iproute2 checks each result; ping carries the traffic.

use netnsd_tests::*;
use zbus::Connection;

/// The first octet of a locally administered unicast MAC: bit 0 (multicast)
/// clear, bit 1 (local) set.
fn assert_local_unicast(mac: &str) {
    let first = u8::from_str_radix(mac.split(':').next().unwrap_or_default(), 16)
        .unwrap_or_else(|e| panic!("{mac:?} is not a MAC: {e}"));
    assert_eq!(
        first & 0x03,
        0x02,
        "{mac} is not a locally administered unicast address"
    );
}

/// A device's object path must be this namespace's, as the reply promised.
async fn assert_in(conn: &Connection, dev: &str, ns_path: &str, name: &str) {
    let info = dev_info(conn, dev).await;
    assert_eq!(info.interface, name, "{info:?}");
    assert_eq!(info.netns, ns_path, "{info:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn veth_between_two_namespaces_carries_ping() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "lk-a").await;
        let b = add_ns_ready(&conn, "lk-b").await;
        let pa = platform(&conn, &a).await;
        let pb = platform(&conn, &b).await;
        let mut added_b = pb.receive_netns_device_added().await.unwrap();

        let (va, vb) = pa
            .add_veth(
                "va",
                "vb",
                &op(&b),
                dict(vec![("mtu", vu(1400)), ("up", vb(true))]),
            )
            .await
            .expect("AddVeth");
        let (va, vb) = (va.to_string(), vb.to_string());
        // The reply names both ends, already where they belong.
        assert_in(&conn, &va, &a, "va").await;
        assert_in(&conn, &vb, &b, "vb").await;
        next_matching(&mut added_b, "NetnsDeviceAdded for vb on lk-b", |s| {
            (s.args().unwrap().device.as_str() == vb).then_some(())
        })
        .await;
        let la = must(ip_link("lk-a", "va").await, "ip finds no va in lk-a");
        let lb = must(ip_link("lk-b", "vb").await, "ip finds no vb in lk-b");
        assert_eq!(la["mtu"], 1400, "{la}");
        assert_eq!(lb["mtu"], 1400, "{lb}");
        assert_eq!(la["linkinfo"]["info_kind"], "veth", "{la}");
        assert!(link_flags(&la).contains(&"UP".to_owned()), "{la}");
        assert!(
            !link_flags(&lb).contains(&"UP".to_owned()),
            "`up` is for this end only: {lb}"
        );
        assert!(ip_link(ROOT_NS_NAME, "vb").await.is_none());
        assert!(ip_link("lk-a", "vb").await.is_none());
        assert_eq!(dev_info(&conn, &va).await.kind, "veth");

        // Addresses by the proxy on one side and by busctl on the other;
        // the peer brought up by gdbus.
        pa.add_address(&op(&va), "10.50.0.1/24").await.unwrap();
        pa.add_address(&op(&va), "fd50::1/64").await.unwrap();
        busctl_call(
            None,
            &b,
            INSTANCE_INTERFACE,
            "AddAddress",
            &["os", &vb, "10.50.0.2/24"],
        )
        .await
        .ok();
        pb.add_address(&op(&vb), "fd50::2/64").await.unwrap();
        gdbus_call(
            None,
            &b,
            &format!("{INSTANCE_INTERFACE}.SetDeviceUp"),
            &[format!("objectpath '{vb}'"), "true".into()],
        )
        .await
        .ok();

        assert!(ip_addrs("lk-a", "va").await.contains("10.50.0.1/24"));
        assert!(ip_addrs("lk-b", "vb").await.contains("10.50.0.2/24"));
        wait_dev(&conn, &va, "addresses and up", |i| {
            i.oper_state == "up" && i.addresses.contains("10.50.0.1/24")
        })
        .await;
        wait_dev(&conn, &vb, "addresses and up", |i| {
            i.oper_state == "up" && i.addresses.contains("10.50.0.2/24")
        })
        .await;

        let out = ping("lk-a", 2, &["10.50.0.2"]).await;
        assert!(out.success(), "no answer over the daemon's veth: {out}");
        let out = ping("lk-b", 2, &["10.50.0.1"]).await;
        assert!(out.success(), "no answer back: {out}");
        let out = ping_until_answered("lk-a", &["-6", "fd50::2"]).await;
        assert!(out.success(), "no IPv6 answer: {out}");

        // Down again: no traffic.
        pb.set_device_up(&op(&vb), false).await.unwrap();
        let lb = must(ip_link("lk-b", "vb").await, "vb");
        assert!(!link_flags(&lb).contains(&"UP".to_owned()), "{lb}");
        let out = ping("lk-a", 1, &["10.50.0.2"]).await;
        assert!(
            !out.success(),
            "an answer through a link that is down: {out}"
        );

        // Removing an address removes it.
        pa.remove_address(&op(&va), "10.50.0.1/24").await.unwrap();
        assert!(!ip_addrs("lk-a", "va").await.contains("10.50.0.1/24"));
        wait_dev(&conn, &va, "10.50.0.1/24 gone", |i| {
            !i.addresses.contains("10.50.0.1/24")
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_mtu_rename_and_up_down() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "lk-ops").await;
        let pa = platform(&conn, &a).await;
        let (x0, x1) = pa
            .add_veth("x0", "x1", &op(&a), no_opts())
            .await
            .expect("AddVeth with both ends here");
        let (x0, x1) = (x0.to_string(), x1.to_string());
        assert_in(&conn, &x0, &a, "x0").await;
        assert_in(&conn, &x1, &a, "x1").await;
        let l = must(ip_link("lk-ops", "x0").await, "x0");
        assert!(
            !link_flags(&l).contains(&"UP".to_owned()),
            "up by default: {l}"
        );

        pa.set_device_mtu(&op(&x0), 9000).await.unwrap();
        assert_eq!(must(ip_link("lk-ops", "x0").await, "x0")["mtu"], 9000);
        wait_dev(&conn, &x0, "Mtu 9000", |i| i.mtu == 9000).await;

        pa.set_device_up(&op(&x0), true).await.unwrap();
        let l = must(ip_link("lk-ops", "x0").await, "x0");
        assert!(link_flags(&l).contains(&"UP".to_owned()), "{l}");
        pa.set_device_up(&op(&x0), false).await.unwrap();
        let l = must(ip_link("lk-ops", "x0").await, "x0");
        assert!(!link_flags(&l).contains(&"UP".to_owned()), "{l}");

        let ifindex = dev_info(&conn, &x0).await.ifindex;
        pa.rename_device(&op(&x0), "renamed0").await.unwrap();
        assert!(ip_link("lk-ops", "x0").await.is_none());
        let l = must(ip_link("lk-ops", "renamed0").await, "renamed0");
        assert_eq!(l["ifindex"].as_i64(), Some(i64::from(ifindex)));
        let info = wait_dev(&conn, &x0, "Interface renamed0", |i| {
            i.interface == "renamed0"
        })
        .await;
        assert_eq!(info.ifindex, ifindex, "the same object and link");

        // Deleting one end of a veth takes the other with it.
        pa.delete_device(&op(&x0)).await.unwrap();
        assert!(ip_link("lk-ops", "renamed0").await.is_none());
        assert!(ip_link("lk-ops", "x1").await.is_none());
        wait_dev_gone(&conn, &x0).await;
        wait_dev_gone(&conn, &x1).await;
        assert!(devices(&conn, &a).await.is_empty());
    })
    .await;
}

/// Two macvlans on one parent (a veth in rootns), each born in its own
/// namespace: in the default mode (bridge) they reach each other; in
/// private mode they do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macvlans_on_one_parent_bridge_by_default() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        ip(&[
            "link", "add", "mvp0", "type", "veth", "peer", "name", "mvp1",
        ])
        .await
        .ok();
        ip(&["link", "set", "mvp1", "up"]).await.ok();
        ip(&["link", "set", "mvp0", "up"]).await.ok();
        let parent = wait_device(&conn, &root, "mvp0").await;
        let a = add_ns_ready(&conn, "lk-mva").await;
        let b = add_ns_ready(&conn, "lk-mvb").await;
        let pa = platform(&conn, &a).await;
        let pb = platform(&conn, &b).await;

        let ma = pa
            .add_macvlan("mva", &op(&parent), dict(vec![("up", vb(true))]))
            .await
            .expect("AddMacvlan")
            .to_string();
        let mb = pb
            .add_macvlan(
                "mvb",
                &op(&parent),
                dict(vec![("up", vb(true)), ("mode", vs("bridge"))]),
            )
            .await
            .expect("AddMacvlan mode bridge")
            .to_string();
        assert_in(&conn, &ma, &a, "mva").await;
        assert_in(&conn, &mb, &b, "mvb").await;
        assert_eq!(dev_info(&conn, &ma).await.kind, "macvlan");
        let l = must(ip_link("lk-mva", "mva").await, "mva is not in lk-mva");
        assert_eq!(l["linkinfo"]["info_kind"], "macvlan", "{l}");
        assert_eq!(l["linkinfo"]["info_data"]["mode"], "bridge", "{l}");
        assert!(ip_link(ROOT_NS_NAME, "mva").await.is_none());

        pa.add_address(&op(&ma), "10.51.0.1/24").await.unwrap();
        pb.add_address(&op(&mb), "10.51.0.2/24").await.unwrap();
        let out = ping("lk-mva", 2, &["10.51.0.2"]).await;
        assert!(out.success(), "bridge-mode macvlans do not talk: {out}");

        // Private mode: the same pair cannot reach each other.
        pb.delete_device(&op(&mb)).await.unwrap();
        wait_dev_gone(&conn, &mb).await;
        let mb = pb
            .add_macvlan(
                "mvb",
                &op(&parent),
                dict(vec![("up", vb(true)), ("mode", vs("private"))]),
            )
            .await
            .expect("AddMacvlan mode private")
            .to_string();
        let l = must(ip_link("lk-mvb", "mvb").await, "mvb");
        assert_eq!(l["linkinfo"]["info_data"]["mode"], "private", "{l}");
        pb.add_address(&op(&mb), "10.51.0.2/24").await.unwrap();
        let out = ping("lk-mva", 1, &["10.51.0.2"]).await;
        assert!(!out.success(), "a private-mode macvlan answered: {out}");

        // An unknown mode is refused, and nothing is made.
        let (err, msg) = err_name(
            pa.add_macvlan("mvc", &op(&parent), dict(vec![("mode", vs("hub"))]))
                .await,
        );
        assert_eq!(err, "InvalidArgument", "{msg}");
        assert!(msg.contains("hub"), "{msg}");
        assert!(ip_link("lk-mva", "mvc").await.is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_is_made_in_place() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "lk-br").await;
        let pa = platform(&conn, &a).await;
        let br = pa
            .add_bridge("br0", dict(vec![("up", vb(true)), ("mtu", vu(1450))]))
            .await
            .expect("AddBridge")
            .to_string();
        assert_in(&conn, &br, &a, "br0").await;
        assert_eq!(dev_info(&conn, &br).await.kind, "bridge");
        let l = must(ip_link("lk-br", "br0").await, "br0");
        assert_eq!(l["linkinfo"]["info_kind"], "bridge", "{l}");
        assert_eq!(l["mtu"], 1450, "{l}");
        assert!(link_flags(&l).contains(&"UP".to_owned()), "{l}");
        assert!(ip_link(ROOT_NS_NAME, "br0").await.is_none());
        // gdbus, an independent client, makes one too.
        let out = gdbus_call(
            None,
            &a,
            &format!("{INSTANCE_INTERFACE}.AddBridge"),
            &["'br1'".into(), "@a{sv} {}".into()],
        )
        .await
        .ok();
        assert!(out.stdout.contains(DEVICE_PATH_PREFIX), "{out}");
        assert!(ip_link("lk-br", "br1").await.is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vlan_is_not_supported_by_this_kernel() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "lk-vlan").await;
        let pa = platform(&conn, &a).await;
        let (p0, _) = pa.add_veth("vp0", "vp1", &op(&a), no_opts()).await.unwrap();
        let before = settled_snapshots(&["lk-vlan", ROOT_NS_NAME]).await;
        let (err, msg) = err_name(pa.add_vlan("vp0.10", &op(&p0), 10, no_opts()).await);
        assert_eq!(err, "NotSupported", "{msg}");
        assert!(msg.contains("vlan") && msg.contains("802.1Q"), "{msg}");
        assert_unchanged(&before, "a refused AddVlan").await;
        assert_eq!(find_device(&conn, &a, "vp0.10").await, None);
        // gdbus sees the error name on the wire.
        let out = gdbus_call(
            None,
            &a,
            &format!("{INSTANCE_INTERFACE}.AddVlan"),
            &[
                "'vp0.11'".into(),
                format!("objectpath '{p0}'"),
                "uint16 11".into(),
                "@a{sv} {}".into(),
            ],
        )
        .await
        .failed();
        assert_eq!(
            out.gdbus_error(),
            Some(netnsd_error("NotSupported")),
            "{out}"
        );
        assert_unchanged(&before, "a refused AddVlan over gdbus").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stable_mac_is_local_unicast_and_the_same_when_recreated() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "lk-mac").await;
        let b = add_ns_ready(&conn, "lk-mac2").await;
        let pa = platform(&conn, &a).await;
        let stable = || dict(vec![("stable-mac", vb(true))]);

        let make = || async {
            let (s0, s1) = pa
                .add_veth("st0", "st1", &op(&b), stable())
                .await
                .expect("AddVeth stable-mac");
            let m0 = must(ip_link("lk-mac", "st0").await, "st0")["address"]
                .as_str()
                .unwrap()
                .to_owned();
            let m1 = must(ip_link("lk-mac2", "st1").await, "st1")["address"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(dev_info(&conn, s0.as_str()).await.hw_address, m0);
            assert_eq!(dev_info(&conn, s1.as_str()).await.hw_address, m1);
            (s0.to_string(), m0, m1)
        };
        let (s0, m0, m1) = make().await;
        assert_local_unicast(&m0);
        assert_local_unicast(&m1);
        assert_ne!(m0, m1);

        pa.delete_device(&op(&s0)).await.unwrap();
        wait_ip_link("lk-mac", "st0", false).await;
        wait_device_gone(&conn, &a, "st0").await;
        let (_, again0, again1) = make().await;
        assert_eq!((again0, again1), (m0.clone(), m1.clone()), "not stable");

        // Other names, other addresses; without the option, the kernel's
        // random one (also local unicast, but not the stable one).
        let br = pa.add_bridge("stbr", stable()).await.unwrap();
        let mbr = dev_info(&conn, br.as_str()).await.hw_address;
        assert_local_unicast(&mbr);
        assert_ne!(mbr, m0);
        pa.delete_device(&op(br.as_str())).await.unwrap();
        wait_device_gone(&conn, &a, "stbr").await;
        let br = pa.add_bridge("stbr", stable()).await.unwrap();
        assert_eq!(dev_info(&conn, br.as_str()).await.hw_address, mbr);
        let rnd = pa.add_bridge("rndbr", no_opts()).await.unwrap();
        assert_ne!(dev_info(&conn, rnd.as_str()).await.hw_address, mbr);
    })
    .await;
}

/// Removing a namespace removes everything in it: a veth whose peer is in
/// rootns disappears from rootns too, and all the Device objects go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_namespace_removes_everything_in_it() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "lk-gone").await;
        let pa = platform(&conn, &a).await;
        let lo = must(find_device(&conn, &a, "lo").await, "lo");
        let (inner, outer) = pa
            .add_veth("gn0", "gn-host", &op(&root), dict(vec![("up", vb(true))]))
            .await
            .unwrap();
        let (inner, outer) = (inner.to_string(), outer.to_string());
        assert_in(&conn, &outer, &root, "gn-host").await;
        assert!(ip_link(ROOT_NS_NAME, "gn-host").await.is_some());
        ip(&["link", "set", "gn-host", "up"]).await.ok();
        let br = pa.add_bridge("gnbr", no_opts()).await.unwrap().to_string();
        pa.add_address(&op(&inner), "10.52.0.1/24").await.unwrap();
        pa.add_route(dict(vec![
            ("destination", vs("10.53.0.0/24")),
            ("gateway", vs("10.52.0.2")),
            ("table", vu(100)),
        ]))
        .await
        .unwrap();
        pa.add_rule(dict(vec![("from", vs("10.52.0.0/24")), ("table", vu(100))]))
            .await
            .unwrap();

        let root_p = platform(&conn, &root).await;
        let mut root_removed = root_p.receive_netns_device_removed().await.unwrap();
        controller(&conn)
            .await
            .remove_network_namespace("lk-gone")
            .await
            .unwrap();
        wait_ip_link(ROOT_NS_NAME, "gn-host", false).await;
        for d in [&inner, &outer, &br, &lo] {
            wait_dev_gone(&conn, d).await;
        }
        next_matching(&mut root_removed, "NetnsDeviceRemoved for gn-host", |s| {
            (s.args().unwrap().device.as_str() == outer).then_some(())
        })
        .await;
        assert!(!ip_netns_list().await.contains(&"lk-gone".to_owned()));
        assert_eq!(find_device(&conn, &root, "gn-host").await, None);
        // No stale Device object anywhere under the tree.
        let objects = object_manager(&conn)
            .await
            .get_managed_objects()
            .await
            .unwrap();
        for d in [&inner, &outer, &br, &lo] {
            assert!(!objects.contains_key(&owned_path(d)), "{d} still managed");
        }
        assert_nothing_left(&Keep::nothing()).await;
        // A namespace of the same name starts empty.
        let again = add_ns_ready(&conn, "lk-gone").await;
        assert!(devices(&conn, &again).await.is_empty());
        assert_eq!(
            ip_link_names("lk-gone").await,
            ["lo".to_owned()].into_iter().collect()
        );
    })
    .await;
}
