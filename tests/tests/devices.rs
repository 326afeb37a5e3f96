//! Device objects kept live from netlink: what iproute2 adds, changes, moves
//! and removes shows on the bus within a bounded wait, with the signals
//! (NetnsDeviceAdded/Removed, NetnsInternalDeviceAdded, PropertiesChanged),
//! and a device keeps its object path when it moves between namespaces.
//!
//! iproute2 makes every change here, behind the daemon's back; the bus is
//! checked against what `ip -j` shows.

use std::collections::BTreeSet;
use std::time::Duration;

use netnsd_tests::*;
use zbus::Connection;

/// Compares a Device object with what `ip -j link show` says of the link.
async fn assert_matches_ip(conn: &Connection, path: &str, ns_name: &str, ns_path: &str) {
    let info = dev_info(conn, path).await;
    let link = must(
        ip_link(ns_name, &info.interface).await,
        &format!("ip finds no {} in {ns_name}", info.interface),
    );
    assert_eq!(info.netns, ns_path, "{info:?}");
    assert_eq!(
        i64::from(info.ifindex),
        link["ifindex"].as_i64().unwrap(),
        "{info:?} vs {link}"
    );
    assert_eq!(
        u64::from(info.mtu),
        link["mtu"].as_u64().unwrap(),
        "{info:?} vs {link}"
    );
    assert_eq!(
        info.hw_address,
        link["address"].as_str().unwrap_or_default(),
        "{info:?} vs {link}"
    );
    let kind = link["linkinfo"]["info_kind"].as_str().unwrap_or_default();
    if !kind.is_empty() {
        assert_eq!(info.kind, kind, "{info:?} vs {link}");
    }
    assert_eq!(
        info.addresses,
        ip_addrs(ns_name, &info.interface).await,
        "Addresses of {path} vs ip addr"
    );
}

/// The device paths carried by the next signals of `stream`, until `want`
/// have all come (others are ignored), within SIGNAL_TIMEOUT.
async fn collect_devices<S, T, F>(stream: &mut S, want: &BTreeSet<String>, what: &str, arg: F)
where
    S: futures::Stream<Item = T> + Unpin,
    F: Fn(&T) -> String,
{
    let mut seen = BTreeSet::new();
    next_matching(stream, what, |sig| {
        let p = arg(&sig);
        if want.contains(&p) {
            seen.insert(p);
        }
        (seen == *want).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_an_internal_device_of_every_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let root_p = platform(&conn, &root).await;
        let mut internal_added = root_p.receive_netns_internal_device_added().await.unwrap();
        let mut added = root_p.receive_netns_device_added().await.unwrap();

        // The new namespace's lo is announced on the new namespace's object,
        // whose path is not known before it exists: match on the member.
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(INSTANCE_INTERFACE)
            .member("NetnsInternalDeviceAdded")
            .build()
            .unwrap();
        let mut any_internal = zbus::MessageStream::for_match_rule(rule, &conn, None)
            .await
            .unwrap();

        let ns = add_ns(&conn, "dev-lo").await;
        let lo = wait_device(&conn, &ns, "lo").await;
        let p = platform(&conn, &ns).await;
        next_matching(
            &mut any_internal,
            "NetnsInternalDeviceAdded(lo) on the new namespace",
            |m| {
                let m = m.ok()?;
                let from = m.header().path()?.to_string();
                let dev: zbus::wire::OwnedObjectPath = m.body().deserialize().ok()?;
                (from == ns && dev.as_str() == lo).then_some(())
            },
        )
        .await;
        assert!(devices(&conn, &ns).await.is_empty(), "GetDevices lists lo");
        assert_eq!(all_devices(&conn, &ns).await, vec![lo.clone()]);
        assert!(p.devices().await.unwrap().is_empty());
        let all: Vec<String> = p
            .all_devices()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(all, vec![lo.clone()]);

        let info = dev_info(&conn, &lo).await;
        assert_eq!(info.interface, "lo");
        assert_eq!(info.kind, "loopback");
        assert_eq!(info.ifindex, 1);
        assert_eq!(info.netns, ns);
        assert!(info.addresses.contains("127.0.0.1/8"), "{info:?}");
        assert_matches_ip(&conn, &lo, "dev-lo", &ns).await;
        assert!(lo.starts_with(&format!("{DEVICE_PATH_PREFIX}/")), "{lo}");

        // rootns has its own lo, a different object.
        let root_lo = must(find_device(&conn, &root, "lo").await, "rootns lists no lo");
        assert_ne!(root_lo, lo);
        assert!(!devices(&conn, &root).await.contains(&root_lo));
        assert_matches_ip(&conn, &root_lo, ROOT_NS_NAME, &root).await;
        // Nothing was announced on rootns for another namespace's lo.
        assert!(
            !comes_within(&mut internal_added, Duration::from_millis(300), |_| true).await,
            "rootns announced an internal device"
        );
        assert!(
            !comes_within(&mut added, Duration::from_millis(100), |_| true).await,
            "rootns announced a device"
        );

        // busctl and gdbus read the same properties.
        let out = busctl(
            None,
            &[
                "--json=short",
                "get-property",
                BUS_NAME,
                &lo,
                DEVICE_INTERFACE,
                "Interface",
            ],
        )
        .await
        .ok();
        let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(v["data"], "lo", "{out}");
        let out = gdbus_call(
            None,
            &lo,
            "org.freedesktop.DBus.Properties.GetAll",
            &[gvariant_str(DEVICE_INTERFACE)],
        )
        .await
        .ok();
        assert!(out.stdout.contains("'Kind': <'loopback'>"), "{out}");
        assert!(
            out.stdout
                .contains(&format!("'NetworkNamespace': <objectpath '{ns}'>")),
            "{out}"
        );
        // GetManagedObjects lists the devices with their properties.
        let objects = object_manager(&conn)
            .await
            .get_managed_objects()
            .await
            .unwrap();
        let props = objects
            .get(&owned_path(&lo))
            .and_then(|o| o.iter().find(|(i, _)| i.as_str() == DEVICE_INTERFACE))
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("{lo} not in GetManagedObjects"));
        let name: String = props["Interface"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(name, "lo");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iproute2_link_appears_changes_and_vanishes_on_the_bus() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ns = add_ns_ready(&conn, "dev-ipr").await;
        let p = platform(&conn, &ns).await;
        let mut added = p.receive_netns_device_added().await.unwrap();
        let mut removed = p.receive_netns_device_removed().await.unwrap();
        let mut ns_props = properties_proxy(&conn, &ns)
            .await
            .receive_properties_changed()
            .await
            .unwrap();

        ip_ns(
            "dev-ipr",
            &["link", "add", "d0", "type", "veth", "peer", "name", "d1"],
        )
        .await
        .ok();
        let d0 = wait_device(&conn, &ns, "d0").await;
        let d1 = wait_device(&conn, &ns, "d1").await;
        assert_ne!(d0, d1);
        let want: BTreeSet<String> = [d0.clone(), d1.clone()].into();
        collect_devices(&mut added, &want, "NetnsDeviceAdded for d0 and d1", |s| {
            s.args().unwrap().device.to_string()
        })
        .await;
        // Devices is invalidated, not sent (EmitsChangedSignal=invalidates):
        // the signal does not grow with the list.
        next_matching(
            &mut ns_props,
            "PropertiesChanged invalidating Devices",
            |s| {
                let a = s.args().unwrap();
                assert!(
                    !a.changed_properties.contains_key("Devices"),
                    "PropertiesChanged carried the Devices list"
                );
                (a.interface_name.as_str() == INSTANCE_INTERFACE
                    && a.invalidated_properties.contains(&"Devices"))
                .then_some(())
            },
        )
        .await;
        let listed: BTreeSet<String> = devices(&conn, &ns).await.into_iter().collect();
        assert_eq!(listed, want);
        let prop: BTreeSet<String> = p
            .devices()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(prop, want);
        for d in [&d0, &d1] {
            assert_matches_ip(&conn, d, "dev-ipr", &ns).await;
            assert_eq!(dev_info(&conn, d).await.kind, "veth");
        }

        // MTU, addresses, state and name follow iproute2, announced with
        // PropertiesChanged.
        let mut d0_props = properties_proxy(&conn, &d0)
            .await
            .receive_properties_changed()
            .await
            .unwrap();
        ip_ns("dev-ipr", &["link", "set", "d0", "mtu", "1400"])
            .await
            .ok();
        wait_dev(&conn, &d0, "Mtu 1400", |i| i.mtu == 1400).await;
        next_matching(&mut d0_props, "PropertiesChanged with Mtu", |s| {
            let a = s.args().unwrap();
            let mtu = a.changed_properties.get("Mtu")?;
            (u32::try_from(mtu).ok()? == 1400).then_some(())
        })
        .await;

        ip_ns("dev-ipr", &["addr", "add", "10.9.0.1/24", "dev", "d0"])
            .await
            .ok();
        ip_ns("dev-ipr", &["addr", "add", "fd09::1/64", "dev", "d0"])
            .await
            .ok();
        wait_dev(&conn, &d0, "both addresses", |i| {
            i.addresses.contains("10.9.0.1/24") && i.addresses.contains("fd09::1/64")
        })
        .await;
        next_matching(&mut d0_props, "PropertiesChanged with Addresses", |s| {
            s.args()
                .unwrap()
                .changed_properties
                .contains_key("Addresses")
                .then_some(())
        })
        .await;
        assert_matches_ip(&conn, &d0, "dev-ipr", &ns).await;
        ip_ns("dev-ipr", &["addr", "del", "10.9.0.1/24", "dev", "d0"])
            .await
            .ok();
        wait_dev(&conn, &d0, "10.9.0.1/24 gone", |i| {
            !i.addresses.contains("10.9.0.1/24") && i.addresses.contains("fd09::1/64")
        })
        .await;

        assert_ne!(dev_info(&conn, &d0).await.oper_state, "up");
        ip_ns("dev-ipr", &["link", "set", "d1", "up"]).await.ok();
        ip_ns("dev-ipr", &["link", "set", "d0", "up"]).await.ok();
        wait_dev(&conn, &d0, "OperState up", |i| i.oper_state == "up").await;
        wait_dev(&conn, &d1, "OperState up", |i| i.oper_state == "up").await;
        let link = must(ip_link("dev-ipr", "d0").await, "d0");
        assert_eq!(link["operstate"], "UP", "{link}");

        ip_ns("dev-ipr", &["link", "set", "d0", "name", "d0x"])
            .await
            .ok();
        let info = wait_dev(&conn, &d0, "Interface d0x", |i| i.interface == "d0x").await;
        assert_eq!(find_device(&conn, &ns, "d0x").await.as_deref(), Some(&*d0));
        assert_eq!(find_device(&conn, &ns, "d0").await, None);
        assert_eq!(info.ifindex, {
            let l = must(ip_link("dev-ipr", "d0x").await, "d0x");
            l["ifindex"].as_i64().unwrap() as i32
        });

        // Deleting one end removes both, objects and all.
        ip_ns("dev-ipr", &["link", "del", "d0x"]).await.ok();
        wait_dev_gone(&conn, &d0).await;
        wait_dev_gone(&conn, &d1).await;
        collect_devices(
            &mut removed,
            &want,
            "NetnsDeviceRemoved for d0 and d1",
            |s| s.args().unwrap().device.to_string(),
        )
        .await;
        assert!(devices(&conn, &ns).await.is_empty());
        next_matching(
            &mut ns_props,
            "PropertiesChanged invalidating Devices",
            |s| {
                let a = s.args().unwrap();
                a.invalidated_properties.contains(&"Devices").then_some(())
            },
        )
        .await;
        assert!(p.devices().await.unwrap().is_empty());
        let out = busctl(
            None,
            &["get-property", BUS_NAME, &d0, DEVICE_INTERFACE, "Interface"],
        )
        .await
        .failed();
        assert!(!out.stderr.is_empty(), "{out}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iproute2_move_keeps_the_object_path() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "dev-a").await;
        // b is made by iproute2 and adopted by the daemon.
        ip(&["netns", "add", "dev-b"]).await.ok();
        let b = wait_ns_on_bus(&conn, "dev-b", WATCH_TIMEOUT).await;
        wait_device(&conn, &b, "lo").await;

        // mv0 has ifindex 50 in a, and b already has a link with index 50,
        // so the kernel gives mv0 a new ifindex when it moves there.
        ip_ns(
            "dev-a",
            &[
                "link", "add", "mv0", "index", "50", "type", "veth", "peer", "name", "mv1",
            ],
        )
        .await
        .ok();
        ip_ns(
            "dev-b",
            &[
                "link", "add", "oc0", "index", "50", "type", "veth", "peer", "name", "oc1",
            ],
        )
        .await
        .ok();
        let mv0 = wait_device(&conn, &a, "mv0").await;
        wait_device(&conn, &b, "oc0").await;
        let before = dev_info(&conn, &mv0).await;
        assert_eq!(before.ifindex, 50);

        let pa = platform(&conn, &a).await;
        let pb = platform(&conn, &b).await;
        let mut removed_a = pa.receive_netns_device_removed().await.unwrap();
        let mut added_b = pb.receive_netns_device_added().await.unwrap();
        let mut mv0_props = properties_proxy(&conn, &mv0)
            .await
            .receive_properties_changed()
            .await
            .unwrap();

        ip_ns("dev-a", &["link", "set", "mv0", "netns", "dev-b"])
            .await
            .ok();
        let link = must(ip_link("dev-b", "mv0").await, "mv0 is not in dev-b");
        let new_ifindex = link["ifindex"].as_i64().unwrap() as i32;
        assert_ne!(new_ifindex, 50, "the kernel kept ifindex 50: {link}");
        let after = wait_dev(&conn, &mv0, "NetworkNamespace dev-b", |i| {
            i.netns == b && i.ifindex == new_ifindex
        })
        .await;
        assert_eq!(after.interface, "mv0");
        assert_eq!(after.kind, "veth");
        assert_eq!(after.hw_address, before.hw_address);
        assert_eq!(find_device(&conn, &b, "mv0").await.as_deref(), Some(&*mv0));
        assert!(!all_devices(&conn, &a).await.contains(&mv0));
        assert!(devices(&conn, &b).await.contains(&mv0));
        next_matching(&mut removed_a, "NetnsDeviceRemoved on dev-a", |s| {
            (s.args().unwrap().device.as_str() == mv0).then_some(())
        })
        .await;
        next_matching(&mut added_b, "NetnsDeviceAdded on dev-b", |s| {
            (s.args().unwrap().device.as_str() == mv0).then_some(())
        })
        .await;
        let mut changed = BTreeSet::new();
        next_matching(
            &mut mv0_props,
            "PropertiesChanged with NetworkNamespace and Ifindex",
            |s| {
                let a = s.args().unwrap();
                changed.extend(a.changed_properties.keys().map(|k| k.to_string()));
                (changed.contains("NetworkNamespace") && changed.contains("Ifindex")).then_some(())
            },
        )
        .await;
        // The peer stayed in a.
        let mv1 = must(find_device(&conn, &a, "mv1").await, "mv1 left dev-a");
        assert_eq!(dev_info(&conn, &mv1).await.netns, a);

        // On to rootns (the netns of pid 1, the sandbox's) and back to a.
        ip_ns("dev-b", &["link", "set", "mv0", "netns", "1"])
            .await
            .ok();
        wait_dev(&conn, &mv0, "NetworkNamespace rootns", |i| i.netns == root).await;
        assert_matches_ip(&conn, &mv0, ROOT_NS_NAME, &root).await;
        ip(&["link", "set", "mv0", "netns", "dev-a"]).await.ok();
        wait_dev(&conn, &mv0, "NetworkNamespace dev-a", |i| i.netns == a).await;
        assert_matches_ip(&conn, &mv0, "dev-a", &a).await;
        assert_eq!(find_device(&conn, &root, "mv0").await, None);
    })
    .await;
}

/// A device moved into a namespace the daemon does not know (an anonymous
/// one) leaves the bus: nobody can name where it went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_to_an_unknown_namespace_drops_the_device() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let a = add_ns_ready(&conn, "dev-away").await;
        ip_ns(
            "dev-away",
            &["link", "add", "aw0", "type", "veth", "peer", "name", "aw1"],
        )
        .await
        .ok();
        let aw0 = wait_device(&conn, &a, "aw0").await;
        let aw1 = wait_device(&conn, &a, "aw1").await;

        let holder = tokio::process::Command::new("unshare")
            .args(["--net", "--", "sleep", "60"])
            .kill_on_drop(true)
            .spawn()
            .expect("unshare --net sleep");
        let pid = holder.id().expect("pid").to_string();
        // Wait until the child is in its own network namespace.
        wait_for(
            Duration::from_secs(3),
            "unshare to enter a new netns",
            || {
                let pid = pid.clone();
                async move {
                    let mine = std::fs::read_link("/proc/self/ns/net").ok()?;
                    let its = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
                    (mine != its).then_some(())
                }
            },
        )
        .await;
        ip_ns("dev-away", &["link", "set", "aw0", "netns", &pid])
            .await
            .ok();
        // The daemon waits a grace period for an arrival it could see.
        wait_for(Duration::from_secs(6), "aw0 to leave the bus", || async {
            try_dev_info(&conn, &aw0).await.is_none().then_some(())
        })
        .await;
        assert!(!all_devices(&conn, &a).await.contains(&aw0));
        // The peer is still there.
        assert_eq!(dev_info(&conn, &aw1).await.netns, a);
        drop(holder);
    })
    .await;
}
