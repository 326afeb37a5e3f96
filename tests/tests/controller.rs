//! The NetworkNamespacesController, NetNsInstance objects and the
//! ObjectManager, driven through the shared zbus proxies and through busctl
//! and gdbus as independent clients; the host checked with stat and iproute2.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use netnsd_tests::*;
use zbus::message::Type as MsgType;
use zbus::names::InterfaceName;
use zbus::{MessageStream, OwnedObjectPath};

async fn next_within<S: futures::Stream + Unpin>(stream: &mut S, what: &str) -> S::Item {
    tokio::time::timeout(SIGNAL_TIMEOUT, stream.next())
        .await
        .unwrap_or_else(|_| panic!("no {what} within {SIGNAL_TIMEOUT:?}"))
        .unwrap_or_else(|| panic!("the {what} stream ended"))
}

/// Calls `method` on the controller and gives its reply with the signals
/// (of the subscriptions made before) that came ahead of it, in order.
async fn signals_before_reply<B>(
    conn: &zbus::Connection,
    method: &str,
    body: &B,
) -> (zbus::Message, Vec<zbus::Message>)
where
    B: zbus::export::serde::Serialize + zbus::wire::DynamicType,
{
    let mut stream = MessageStream::from(conn);
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            CONTROLLER_PATH,
            Some(CONTROLLER_INTERFACE),
            method,
            body,
        )
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    let serial = reply.header().reply_serial().unwrap();
    let mut before = Vec::new();
    loop {
        let msg = next_within(&mut stream, "message").await.unwrap();
        let h = msg.header();
        if h.message_type() == MsgType::MethodReturn && h.reply_serial() == Some(serial) {
            return (reply, before);
        }
        if h.message_type() == MsgType::Signal {
            drop(h);
            before.push(msg);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_namespace_is_object_0() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);

        // With nothing under /run/netns, the root namespace is all there is.
        assert_eq!(list_paths(&conn).await, vec![root.clone()]);

        let info = ns_info(&conn, &root).await;
        assert_eq!(info.name, ROOT_NS_NAME);
        assert_eq!(info.path, "", "the root namespace has no /run/netns entry");
        assert!(info.persistent, "rootns must be Persistent");
        assert!(
            !info.managed,
            "rootns is not the daemon's own: Managed=false"
        );
        assert_eq!(
            info.id,
            own_netns_inode(),
            "rootns Id must be the inode of the daemon's (the sandbox's) network namespace"
        );

        let by_name = controller(&conn)
            .await
            .get_network_namespace_by_name(ROOT_NS_NAME)
            .await
            .expect("GetNetworkNamespaceByName(rootns)");
        assert_eq!(by_name.as_str(), root);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_namespace_has_the_host_properties() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;

        let path = add_ns(&conn, "ctl-one").await;
        let n = object_number(&path);
        assert!(n > 0, "object 0 is rootns; a new namespace got {path}");

        let info = ns_info(&conn, &path).await;
        assert_eq!(info.name, "ctl-one");
        assert_eq!(info.path, "/run/netns/ctl-one");
        assert!(
            info.persistent,
            "namespaces added over the bus are Persistent"
        );
        assert!(info.managed, "namespaces the daemon created are Managed");
        assert_eq!(
            info.id,
            netns_inode("ctl-one"),
            "Id must be the inode of /run/netns/ctl-one"
        );
        assert_ne!(
            info.id,
            own_netns_inode(),
            "a new namespace, not the root one"
        );

        let list = list_paths(&conn).await;
        assert!(list.contains(&path), "{path} not in {list:?}");
        assert!(
            list.contains(&namespace_path(0)),
            "rootns gone from {list:?}"
        );
        assert_eq!(list.len(), 2, "{list:?}");

        let prop: BTreeSet<String> = ctl
            .network_namespaces()
            .await
            .expect("NetworkNamespaces")
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(prop, list.iter().cloned().collect::<BTreeSet<_>>());

        let by_name = ctl
            .get_network_namespace_by_name("ctl-one")
            .await
            .expect("GetNetworkNamespaceByName");
        assert_eq!(by_name.as_str(), path);

        assert_eq!(ip_netns_list().await, vec!["ctl-one".to_owned()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_returns_success_and_unexports_the_object() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;

        let keep = add_ns(&conn, "ctl-keep").await;
        let path = add_ns(&conn, "ctl-gone").await;
        let number = object_number(&path);

        let result = ctl
            .remove_network_namespace("ctl-gone")
            .await
            .expect("RemoveNetworkNamespace");
        assert_eq!(result, "Success");

        let list = list_paths(&conn).await;
        assert!(!list.contains(&path), "{path} still listed: {list:?}");
        assert!(
            list.contains(&keep),
            "the other namespace went too: {list:?}"
        );

        let (name, msg) = err_name(ctl.get_network_namespace_by_name("ctl-gone").await);
        assert_eq!(name, "NotFound", "{msg}");
        assert!(
            msg.contains("ctl-gone"),
            "the message should name it: {msg}"
        );

        assert!(!std::path::Path::new("/run/netns/ctl-gone").exists());
        assert_eq!(ip_netns_list().await, vec!["ctl-keep".to_owned()]);

        // The object is gone from the bus, not just from the list.
        let gone = instance(&conn, &path).await.name().await;
        assert!(gone.is_err(), "{path} still answers: Name={gone:?}");
        let tree = introspect(&conn, NAMESPACE_PATH_PREFIX).await;
        let children = child_nodes(&tree);
        assert!(
            !children.contains(&number.to_string()),
            "node {number} still in the tree: {children:?}"
        );
        assert!(children.contains(&"0".to_owned()), "{children:?}");
        assert_nothing_left(&Keep::nothing().ns("ctl-keep")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_numbers_are_never_reused() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;

        let mut seen = BTreeSet::from([0u32]);
        for round in 0..3 {
            let path = add_ns(&conn, "ctl-again").await;
            let n = object_number(&path);
            assert!(
                seen.insert(n),
                "round {round}: number {n} reused (seen {seen:?})"
            );
            let other = add_ns(&conn, &format!("ctl-other-{round}")).await;
            let m = object_number(&other);
            assert!(seen.insert(m), "number {m} reused (seen {seen:?})");
            assert_eq!(
                ctl.remove_network_namespace("ctl-again").await.unwrap(),
                "Success"
            );
        }
        let mut keep = Keep::nothing();
        for round in 0..3 {
            keep = keep.ns(&format!("ctl-other-{round}"));
        }
        assert_nothing_left(&keep).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_announce_add_and_remove() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let mut added = ctl.receive_network_namespace_added().await.unwrap();
        let mut removed = ctl.receive_network_namespace_removed().await.unwrap();
        let props = properties_proxy(&conn, CONTROLLER_PATH).await;
        let mut changed = props.receive_properties_changed().await.unwrap();

        let path = add_ns(&conn, "ctl-sig").await;

        let sig = next_within(&mut added, "NetworkNamespaceAdded").await;
        assert_eq!(sig.args().unwrap().path.as_str(), path);
        // The list is invalidated, not sent: the signal must not grow with
        // the population (EmitsChangedSignal=invalidates in the XML).
        let listed = network_namespaces_change(&mut changed).await;
        assert_eq!(listed, None, "PropertiesChanged carried the whole list");
        let now = ctl.network_namespaces().await.expect("NetworkNamespaces");
        assert!(
            now.iter().any(|p| p.as_str() == path),
            "{path} not in {now:?}"
        );

        let ok = ctl.remove_network_namespace("ctl-sig").await.unwrap();
        assert_eq!(ok, "Success");

        let sig = next_within(&mut removed, "NetworkNamespaceRemoved").await;
        assert_eq!(sig.args().unwrap().path.as_str(), path);
        let listed = network_namespaces_change(&mut changed).await;
        assert_eq!(listed, None, "PropertiesChanged carried the whole list");
        let now = ctl.network_namespaces().await.expect("NetworkNamespaces");
        assert!(
            !now.iter().any(|p| p.as_str() == path),
            "{path} still in {now:?}"
        );
        assert!(
            now.iter().any(|p| p.as_str() == namespace_path(0)),
            "{now:?}"
        );
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// Waits for PropertiesChanged on the controller that concerns
/// NetworkNamespaces: Some(new value) if it carries one, None if it
/// invalidates the property.
async fn network_namespaces_change(
    changed: &mut zbus::fdo::PropertiesChangedStream,
) -> Option<Vec<String>> {
    loop {
        let sig = next_within(changed, "PropertiesChanged on the controller").await;
        let args = sig.args().unwrap();
        assert_eq!(args.interface_name.as_str(), CONTROLLER_INTERFACE);
        if let Some(v) = args.changed_properties.get("NetworkNamespaces") {
            let paths: Vec<OwnedObjectPath> = v.try_clone().unwrap().try_into().unwrap();
            return Some(paths.into_iter().map(|p| p.to_string()).collect());
        }
        if args.invalidated_properties.contains(&"NetworkNamespaces") {
            return None;
        }
    }
}

/// DESIGN and the XML: NetworkNamespaceAdded and the property change are out
/// before the reply, so a client that gets the reply has seen them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_come_before_the_reply() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        // Subscribe (AddMatch) to the signals; read them from the raw stream.
        let _added = ctl.receive_network_namespace_added().await.unwrap();
        let _removed = ctl.receive_network_namespace_removed().await.unwrap();
        let props = properties_proxy(&conn, CONTROLLER_PATH).await;
        let _changed = props.receive_properties_changed().await.unwrap();

        for (method, signal) in [
            ("AddNetworkNamespace", "NetworkNamespaceAdded"),
            ("RemoveNetworkNamespace", "NetworkNamespaceRemoved"),
        ] {
            let (_, signals) = signals_before_reply(&conn, method, &("ctl-order",)).await;
            let before: Vec<String> = signals
                .iter()
                .map(|m| m.header().member().map(|m| m.to_string()).unwrap_or_default())
                .collect();
            assert!(
                before.iter().any(|m| m == signal),
                "{signal} did not come before the reply to {method}; signals before it: {before:?}"
            );
            assert!(
                before.iter().any(|m| m == "PropertiesChanged"),
                "PropertiesChanged did not come before the reply to {method}; signals before it: {before:?}"
            );
        }
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// A namespace made with an uplink and DNS in one call goes on the bus once
/// it is complete: before the reply, its InterfacesAdded already carries
/// the uplink and the DNS servers, NetworkNamespaceAdded and the
/// controller's PropertiesChanged come, and no PropertiesChanged of the new
/// namespace for each step's property (the reply is not queued behind them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_with_options_is_announced_complete_before_the_reply() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let _added = ctl.receive_network_namespace_added().await.unwrap();
        let props = properties_proxy(&conn, CONTROLLER_PATH).await;
        let _changed = props.receive_properties_changed().await.unwrap();
        let om = object_manager(&conn).await;
        let _interfaces = om.receive_interfaces_added().await.unwrap();
        // Every PropertiesChanged from the daemon, whatever its path.
        let rule = format!("type='signal',sender='{BUS_NAME}',member='PropertiesChanged'");
        conn.call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "AddMatch",
            &rule,
        )
        .await
        .expect("AddMatch");

        let (reply, signals) = signals_before_reply(
            &conn,
            "AddNetworkNamespaceWithOptions",
            &(
                "ctl-opts",
                wan::options(vec![
                    ("uplink", zbus::Variant::from("veth")),
                    ("dns", wan::strs(&["192.0.2.53"])),
                ]),
            ),
        )
        .await;
        let path: OwnedObjectPath = reply.body().deserialize().unwrap();
        let mut before = Vec::new();
        let mut announced = None;
        // The properties the call's steps set, announced one by one.
        let mut steps = Vec::new();
        for msg in &signals {
            let h = msg.header();
            let member = h.member().map(|m| m.to_string()).unwrap_or_default();
            let at = h.path().map(|p| p.to_string()).unwrap_or_default();
            if member == "PropertiesChanged" && at == path.as_str() {
                let (_, changed, invalidated): (
                    String,
                    HashMap<String, zbus::OwnedVariant>,
                    Vec<String>,
                ) = msg.body().deserialize().unwrap();
                steps.extend(changed.into_keys().chain(invalidated).filter(|p| {
                    ["Uplink", "DhcpLease", "DnsServers", "SplitDns"].contains(&p.as_str())
                }));
            }
            if member == "InterfacesAdded" {
                let (object, ifaces): (
                    OwnedObjectPath,
                    HashMap<String, HashMap<String, zbus::OwnedVariant>>,
                ) = msg.body().deserialize().unwrap();
                if object == path {
                    announced = ifaces.get(INSTANCE_INTERFACE).cloned();
                }
            }
            before.push((member, at));
        }
        let props = announced.unwrap_or_else(|| {
            panic!("no InterfacesAdded of {path} before the reply; signals before it: {before:?}")
        });
        assert_eq!(
            String::try_from(props["Uplink"].try_clone().unwrap()).unwrap(),
            "veth",
            "InterfacesAdded must carry the uplink made in the same call"
        );
        assert_eq!(
            Vec::<String>::try_from(props["DnsServers"].try_clone().unwrap()).unwrap(),
            vec!["192.0.2.53".to_string()],
            "InterfacesAdded must carry the DNS servers set in the same call"
        );
        for signal in ["NetworkNamespaceAdded", "PropertiesChanged"] {
            assert!(
                before
                    .iter()
                    .any(|(m, at)| m == signal && at == CONTROLLER_PATH),
                "the controller's {signal} did not come before the reply: {before:?}"
            );
        }
        assert!(
            steps.is_empty(),
            "PropertiesChanged of the new namespace for {steps:?} before the reply (signals: {before:?})"
        );
        ctl.remove_network_namespace("ctl-opts")
            .await
            .expect("RemoveNetworkNamespace");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_manager_lists_and_announces_namespaces() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let om = object_manager(&conn).await;
        let mut added = om.receive_interfaces_added().await.unwrap();
        let mut removed = om.receive_interfaces_removed().await.unwrap();

        let objects = om.get_managed_objects().await.expect("GetManagedObjects");
        let ctl_ifaces = objects
            .get(&owned_path(CONTROLLER_PATH))
            .unwrap_or_else(|| panic!("controller not in GetManagedObjects: {objects:?}"));
        assert!(
            ctl_ifaces
                .keys()
                .any(|i| i.as_str() == CONTROLLER_INTERFACE),
            "{ctl_ifaces:?}"
        );
        let root = objects
            .get(&owned_path(&namespace_path(0)))
            .unwrap_or_else(|| panic!("rootns not in GetManagedObjects: {objects:?}"));
        let root_props = root
            .iter()
            .find(|(i, _)| i.as_str() == INSTANCE_INTERFACE)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("rootns lacks {INSTANCE_INTERFACE}: {root:?}"));
        let root_name: String = root_props["Name"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(root_name, ROOT_NS_NAME);

        let path = add_ns(&conn, "ctl-om").await;

        // Other objects (the new namespace's devices) may be announced too;
        // the namespace's own InterfacesAdded must be among them.
        let sig = loop {
            let sig = next_within(&mut added, &format!("InterfacesAdded for {path}")).await;
            if sig.args().unwrap().object_path.as_str() == path {
                break sig;
            }
        };
        let args = sig.args().unwrap();
        let iface = InterfaceName::try_from(INSTANCE_INTERFACE).unwrap();
        let props = args
            .interfaces_and_properties
            .get(&iface)
            .unwrap_or_else(|| panic!("InterfacesAdded without {INSTANCE_INTERFACE}"));
        let name: String = props["Name"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(name, "ctl-om");
        let managed: bool = props["Managed"].try_clone().unwrap().try_into().unwrap();
        assert!(managed);

        let objects = om.get_managed_objects().await.unwrap();
        let props = objects
            .get(&owned_path(&path))
            .and_then(|o| o.iter().find(|(i, _)| i.as_str() == INSTANCE_INTERFACE))
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("{path} not in GetManagedObjects: {objects:?}"));
        let id: u64 = props["Id"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(id, netns_inode("ctl-om"));
        let ns_path: String = props["Path"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(ns_path, "/run/netns/ctl-om");

        controller(&conn)
            .await
            .remove_network_namespace("ctl-om")
            .await
            .unwrap();
        let sig = loop {
            let sig = next_within(&mut removed, &format!("InterfacesRemoved for {path}")).await;
            if sig.args().unwrap().object_path.as_str() == path {
                break sig;
            }
        };
        let args = sig.args().unwrap();
        assert!(
            args.interfaces
                .iter()
                .any(|i| i.as_str() == INSTANCE_INTERFACE),
            "{:?}",
            args.interfaces
        );
        let objects = om.get_managed_objects().await.unwrap();
        assert!(!objects.contains_key(&owned_path(&path)), "{objects:?}");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_namespaces_agree_everywhere() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let names: Vec<String> = (0..6).map(|i| format!("ctl-many-{i}")).collect();
        let mut paths = HashMap::new();
        for name in &names {
            paths.insert(name.clone(), add_ns(&conn, name).await);
        }
        let distinct: BTreeSet<&String> = paths.values().collect();
        assert_eq!(distinct.len(), names.len(), "paths not distinct: {paths:?}");

        let mut expect: Vec<String> = names.clone();
        expect.sort();
        assert_eq!(ip_netns_list().await, expect);
        assert_eq!(run_netns_entries(), expect);

        let mut ids = BTreeSet::new();
        for (name, path) in &paths {
            let info = ns_info(&conn, path).await;
            assert_eq!(&info.name, name);
            assert_eq!(info.id, netns_inode(name));
            assert!(ids.insert(info.id), "two objects share Id {}", info.id);
        }
        let mut bus = bus_names(&conn).await;
        assert!(bus.remove(ROOT_NS_NAME));
        assert_eq!(bus.into_iter().collect::<Vec<_>>(), expect);

        let om = object_manager(&conn)
            .await
            .get_managed_objects()
            .await
            .unwrap();
        for path in paths.values() {
            assert!(om.contains_key(&owned_path(path)), "{path} not managed");
        }
    })
    .await;
}

/// busctl, an independent client, reads the same properties the host shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busctl_calls_and_reads_properties() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;

        let out = busctl_call(
            None,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "AddNetworkNamespace",
            &["s", "ctl-busctl"],
        )
        .await
        .ok();
        let path = busctl_json_data(&out)[0]
            .as_str()
            .unwrap_or_else(|| panic!("no object path in {out}"))
            .to_owned();
        object_number(&path);

        let get = |prop: &'static str| {
            let path = path.clone();
            async move {
                let out = busctl(
                    None,
                    &[
                        "--json=short",
                        "get-property",
                        BUS_NAME,
                        &path,
                        INSTANCE_INTERFACE,
                        prop,
                    ],
                )
                .await
                .ok();
                let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
                    .unwrap_or_else(|e| panic!("{e}: {out}"));
                (
                    v["type"].as_str().unwrap_or_default().to_owned(),
                    v["data"].clone(),
                )
            }
        };
        assert_eq!(get("Name").await, ("s".into(), "ctl-busctl".into()));
        assert_eq!(
            get("Path").await,
            ("s".into(), "/run/netns/ctl-busctl".into())
        );
        assert_eq!(get("Managed").await, ("b".into(), true.into()));
        assert_eq!(get("Persistent").await, ("b".into(), true.into()));
        assert_eq!(
            get("Id").await,
            ("t".into(), netns_inode("ctl-busctl").into())
        );

        let out = busctl_call(
            None,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "ListNetworkNamespaces",
            &[],
        )
        .await
        .ok();
        let list = busctl_json_data(&out)[0].clone();
        assert!(
            list.as_array().unwrap().contains(&path.clone().into()),
            "{path} not in {list}"
        );

        let out = busctl(
            None,
            &[
                "--json=short",
                "get-property",
                BUS_NAME,
                CONTROLLER_PATH,
                CONTROLLER_INTERFACE,
                "NetworkNamespaces",
            ],
        )
        .await
        .ok();
        let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(v["type"], "ao");
        assert_eq!(v["data"], list);

        let out = busctl_call(
            None,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "RemoveNetworkNamespace",
            &["s", "ctl-busctl"],
        )
        .await
        .ok();
        assert_eq!(busctl_json_data(&out)[0], "Success");
        assert!(ip_netns_list().await.is_empty());
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// gdbus, the other independent client: every controller method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdbus_drives_every_controller_method() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;

        let out = gdbus_controller(None, "AddNetworkNamespace", Some("ctl-gdbus"))
            .await
            .ok();
        // (objectpath '/net/netnsd/Netns1/NetworkNamespace/N',)
        let path = out
            .stdout
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no path in {out}"))
            .to_owned();
        assert!(out.stdout.starts_with("(objectpath "), "{out}");
        object_number(&path);
        assert_eq!(ip_netns_list().await, vec!["ctl-gdbus".to_owned()]);

        let out = gdbus_controller(None, "ListNetworkNamespaces", None)
            .await
            .ok();
        assert!(out.stdout.contains(&format!("'{path}'")), "{out}");
        assert!(
            out.stdout.contains(&format!("'{}'", namespace_path(0))),
            "{out}"
        );

        let out = gdbus_controller(None, "GetNetworkNamespaceByName", Some("ctl-gdbus"))
            .await
            .ok();
        assert_eq!(out.stdout.trim(), format!("(objectpath '{path}',)"));

        let out = gdbus_call(
            None,
            &path,
            "org.freedesktop.DBus.Properties.GetAll",
            &[gvariant_str(INSTANCE_INTERFACE)],
        )
        .await
        .ok();
        for want in [
            "'Name': <'ctl-gdbus'>".to_owned(),
            "'Path': <'/run/netns/ctl-gdbus'>".to_owned(),
            "'Managed': <true>".to_owned(),
            "'Persistent': <true>".to_owned(),
            format!("'Id': <uint64 {}>", netns_inode("ctl-gdbus")),
        ] {
            assert!(out.stdout.contains(&want), "no {want} in {out}");
        }

        let out = gdbus_controller(None, "RemoveNetworkNamespace", Some("ctl-gdbus"))
            .await
            .ok();
        assert_eq!(out.stdout.trim(), "('Success',)");
        assert!(ip_netns_list().await.is_empty());

        let out = gdbus_controller(None, "GetNetworkNamespaceByName", Some("ctl-gdbus"))
            .await
            .failed();
        assert_eq!(
            out.gdbus_error().as_deref(),
            Some("net.netnsd.Netns1.Error.NotFound"),
            "{out}"
        );
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}
