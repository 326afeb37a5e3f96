//! GetManagedObjects at the root: after a mix of changes, it lists exactly
//! the objects and interfaces that introspection shows under the root, and
//! for each interface what that object's Properties.GetAll says. (A guard
//! for any ObjectManager of netnsd's own that builds the reply faster than
//! zbus's: docs/benchmarks.md, GetManagedObjects.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use netnsd_tests::openvpn::{VpnProfile, add_connection, new_uuid};
use netnsd_tests::wan::{add_veth_ns, add_with_options, options, strs};
use netnsd_tests::*;
use zbus::Connection;
use zbus::wire::OwnedVariant;

/// Interfaces every object has, or the root's own: not managed objects'.
const STANDARD: [&str; 4] = [
    "org.freedesktop.DBus.Peer",
    "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Properties",
    "org.freedesktop.DBus.ObjectManager",
];

type Props = BTreeMap<String, OwnedVariant>;

/// Every object below the root, with its interfaces, by walking
/// Introspect from the root (as d-feet or busctl tree would).
/// An object that goes between being listed and being asked (a device of
/// a removed namespace) is a disagreement to wait out, not a failure.
async fn introspected(conn: &Connection) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![ROOT_PATH.to_owned()];
    while let Some(path) = todo.pop() {
        let xml: String = conn
            .call_method(
                Some(BUS_NAME),
                path.as_str(),
                Some("org.freedesktop.DBus.Introspectable"),
                "Introspect",
                &(),
            )
            .await
            .map_err(|e| format!("Introspect {path}: {e}"))?
            .body()
            .deserialize()
            .map_err(|e| format!("Introspect {path}: {e}"))?;
        let ifaces: BTreeSet<String> = interface_names(&xml)
            .into_iter()
            .filter(|i| !STANDARD.contains(&i.as_str()))
            .collect();
        if path != ROOT_PATH && !ifaces.is_empty() {
            out.insert(path.clone(), ifaces);
        }
        for name in child_nodes(&xml) {
            todo.push(format!("{}/{name}", path.trim_end_matches('/')));
        }
    }
    Ok(out)
}

async fn get_all(conn: &Connection, path: &str, iface: &str) -> Result<Props, String> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            path,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(iface,),
        )
        .await
        .map_err(|e| format!("GetAll {iface} at {path}: {e}"))?;
    let props: HashMap<String, OwnedVariant> = reply.body().deserialize().unwrap();
    Ok(props.into_iter().collect())
}

/// Where GetManagedObjects disagrees with introspection or GetAll, if it
/// does; else the number of entries it listed.
async fn disagreement(conn: &Connection) -> Result<usize, String> {
    let managed = object_manager(conn)
        .await
        .get_managed_objects()
        .await
        .expect("GetManagedObjects");
    let managed: BTreeMap<String, BTreeMap<String, Props>> = managed
        .into_iter()
        .map(|(path, ifaces)| {
            let ifaces = ifaces
                .into_iter()
                .map(|(i, p)| (i.to_string(), p.into_iter().collect()))
                .collect();
            (path.to_string(), ifaces)
        })
        .collect();
    // zbus's ObjectManager also lists the bare nodes on the way
    // (…/Devices, …/NetworkNamespace) with no interfaces: not objects.
    let listed: BTreeMap<String, BTreeSet<String>> = managed
        .iter()
        .filter(|(_, i)| !i.is_empty())
        .map(|(p, i)| (p.clone(), i.keys().cloned().collect()))
        .collect();
    let seen = introspected(conn).await?;
    if listed != seen {
        return Err(format!(
            "GetManagedObjects lists other objects or interfaces than introspection:\n  \
             {listed:?}\n  {seen:?}"
        ));
    }
    for (path, ifaces) in &managed {
        for (iface, props) in ifaces {
            let all = get_all(conn, path, iface).await?;
            if props != &all {
                return Err(format!(
                    "{path} {iface}: GetManagedObjects against Properties.GetAll:\n  \
                     {props:?}\n  {all:?}"
                ));
            }
        }
    }
    Ok(managed.len())
}

/// GetManagedObjects against introspection and GetAll, object by object,
/// once the daemon has caught up (devices of removed namespaces go as the
/// kernel cleans up, a moment later): within 10 s they must agree.
async fn assert_agrees(conn: &Connection) -> usize {
    let mut last = String::new();
    for _ in 0..100 {
        match disagreement(conn).await {
            Ok(n) => return n,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("for 10 s, {last}");
}

/// Objects, their interfaces and property names, as a reply lists them.
type Shape = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// Where busctl (sd-bus) or gdbus (GLib) read GetManagedObjects otherwise
/// than zbus does, if they do: the reply is written by hand (the daemon's
/// dbus/objects/body.rs), so two other implementations must parse it to
/// the same objects, interfaces and properties.
async fn other_clients_disagree(conn: &Connection) -> Option<String> {
    let managed = object_manager(conn)
        .await
        .get_managed_objects()
        .await
        .expect("GetManagedObjects");
    let ours: Shape = managed
        .iter()
        .filter(|(_, i)| !i.is_empty())
        .map(|(path, ifaces)| {
            let ifaces = ifaces
                .iter()
                .map(|(i, p)| (i.to_string(), p.keys().cloned().collect()))
                .collect();
            (path.to_string(), ifaces)
        })
        .collect();

    let out = busctl_call(
        None,
        ROOT_PATH,
        "org.freedesktop.DBus.ObjectManager",
        "GetManagedObjects",
        &[],
    )
    .await;
    if !out.success() {
        return Some(format!("busctl could not read GetManagedObjects: {out}"));
    }
    let data = busctl_json_data(&out);
    let objects = data[0]
        .as_object()
        .expect("busctl: a{oa{sa{sv}}} as an object");
    let busctl: Shape = objects
        .iter()
        .map(|(path, ifaces)| {
            let ifaces = ifaces
                .as_object()
                .expect("a{sa{sv}}")
                .iter()
                .map(|(i, p)| {
                    let names = p.as_object().expect("a{sv}").keys().cloned().collect();
                    (i.clone(), names)
                })
                .collect();
            (path.clone(), ifaces)
        })
        .filter(|(_, i): &(String, BTreeMap<_, _>)| !i.is_empty())
        .collect();
    if busctl != ours {
        return Some(format!(
            "busctl read:\n  {busctl:?}\nzbus read:\n  {ours:?}"
        ));
    }
    // A value busctl shows as zbus does: each namespace's Name.
    for (path, ifaces) in &managed {
        if let Some(p) = ifaces.get("net.netnsd.Netns1.NetNsInstance") {
            let name = String::try_from(p["Name"].try_clone().unwrap()).unwrap();
            let shown = &objects[path.as_str()]["net.netnsd.Netns1.NetNsInstance"]["Name"];
            if shown["data"] != name.as_str() || shown["type"] != "s" {
                return Some(format!(
                    "busctl shows {path}'s Name as {shown}, zbus {name:?}"
                ));
            }
        }
    }

    let out = gdbus_call(
        None,
        ROOT_PATH,
        "org.freedesktop.DBus.ObjectManager.GetManagedObjects",
        &[],
    )
    .await;
    if !out.success() {
        return Some(format!("gdbus could not read GetManagedObjects: {out}"));
    }
    for path in ours.keys() {
        if !out.stdout.contains(&format!("'{path}': {{")) {
            return Some(format!("gdbus does not show {path}: {}", out.stdout));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_objects_equal_every_objects_get_all() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let fresh = assert_agrees(&conn).await;
        assert!(
            fresh >= 3,
            "controller, settings and rootns at least: {fresh}"
        );

        // A mix: uplinked and plain namespaces, DNS, a device made and one
        // taken away by iproute2, an address, a profile, a removal.
        add_veth_ns(&conn, "om-veth").await;
        add_ns(&conn, "om-plain").await;
        add_ns(&conn, "om-gone").await;
        add_with_options(
            &conn,
            "om-dns",
            options(vec![("dns", strs(&["192.0.2.53"]))]),
        )
        .await
        .expect("a namespace with DNS only");
        for args in [
            &[
                "-n", "om-plain", "link", "add", "om-dummy", "type", "veth", "peer", "name",
                "om-peer",
            ][..],
            &[
                "-n",
                "om-plain",
                "addr",
                "add",
                "192.0.2.7/24",
                "dev",
                "om-dummy",
            ],
            &["-n", "om-plain", "link", "set", "om-dummy", "up"],
            &["-n", "om-veth", "link", "set", "uplink0", "mtu", "1400"],
        ] {
            ip(args).await.ok();
        }
        let profile = VpnProfile {
            id: "om-profile".into(),
            uuid: new_uuid(),
            service_type: Some("org.freedesktop.NetworkManager.openvpn".into()),
            data: BTreeMap::from([
                ("remote".into(), "192.0.2.1:1194".into()),
                ("connection-type".into(), "tls".into()),
                ("dev-type".into(), "tun".into()),
            ]),
            secrets: BTreeMap::new(),
            connection: Vec::new(),
        }
        .isolated("om-vpn");
        add_connection(&conn, &profile).await;
        controller(&conn)
            .await
            .remove_network_namespace("om-gone")
            .await
            .unwrap();
        // The daemon sees iproute2's changes through netlink events: wait
        // until the dummy's address is on the bus.
        wait_for(
            Duration::from_secs(5),
            "om-dummy's address on the bus",
            || {
                let conn = conn.clone();
                async move {
                    let objs = object_manager(&conn)
                        .await
                        .get_managed_objects()
                        .await
                        .ok()?;
                    objs.values()
                        .flat_map(|i| i.values())
                        .any(|p| {
                            p.get("Addresses").is_some_and(|a| {
                                <Vec<String>>::try_from(a.try_clone().unwrap())
                                    .is_ok_and(|a| a.iter().any(|a| a == "192.0.2.7/24"))
                            })
                        })
                        .then_some(())
                }
            },
        )
        .await;
        let n = assert_agrees(&conn).await;
        let mut last = None;
        for _ in 0..50 {
            last = other_clients_disagree(&conn).await;
            if last.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(last.is_none(), "for 10 s, {}", last.unwrap());
        // controller, settings, the agent manager, rootns, 3 namespaces, the
        // profile, and devices.
        assert!(n > fresh + 4, "{fresh} objects at first, {n} after");

        // And so after the namespaces go.
        for ns in ["om-veth", "om-plain", "om-dns"] {
            controller(&conn)
                .await
                .remove_network_namespace(ns)
                .await
                .unwrap();
        }
        assert_agrees(&conn).await;
        drop(conn);
        daemon.stop().await;
    })
    .await;
}
