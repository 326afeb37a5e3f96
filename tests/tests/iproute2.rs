//! iproute2 both ways: what the daemon makes works with `ip netns`, and what
//! `ip netns add`/`del` do shows on the bus.

use futures::StreamExt;
use netnsd_tests::*;

/// The flags between <> of `ip link show` / `ip -br link` output.
fn link_flags(line: &str) -> Vec<String> {
    let start = line
        .find('<')
        .unwrap_or_else(|| panic!("no <flags> in {line:?}"));
    let end = line[start..].find('>').expect("closing >") + start;
    line[start + 1..end].split(',').map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_namespace_works_with_ip_netns_exec() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns(&conn, "ipr-bus").await;
        let id = ns_info(&conn, &path).await.id;

        assert_eq!(ip_netns_list().await, vec!["ipr-bus".to_owned()]);

        // A fresh namespace: only lo, and lo is up.
        let out = ip(&["netns", "exec", "ipr-bus", "ip", "-br", "link"])
            .await
            .ok();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "a new namespace has only lo: {out}");
        assert!(lines[0].starts_with("lo "), "{out}");
        let flags = link_flags(lines[0]);
        assert!(flags.iter().any(|f| f == "UP"), "lo is not UP: {out}");
        assert!(
            flags.iter().any(|f| f == "LOWER_UP"),
            "lo is not LOWER_UP: {out}"
        );

        let out = ip(&["-n", "ipr-bus", "link", "show", "lo"]).await.ok();
        let flags = link_flags(out.stdout.lines().next().unwrap_or_default());
        assert!(flags.iter().any(|f| f == "UP"), "{out}");
        assert!(flags.iter().any(|f| f == "LOWER_UP"), "{out}");
        let out = ip(&["-n", "ipr-bus", "-4", "addr", "show", "lo"])
            .await
            .ok();
        assert!(
            out.stdout.contains("127.0.0.1/8"),
            "loopback address missing: {out}"
        );

        // `ip netns exec` really enters the namespace the bus describes.
        let out = ip(&[
            "netns",
            "exec",
            "ipr-bus",
            "stat",
            "-L",
            "-c",
            "%i",
            "/proc/self/ns/net",
        ])
        .await
        .ok();
        assert_eq!(out.stdout.trim(), id.to_string(), "{out}");
        assert_ne!(id, own_netns_inode());
        let out = ip(&["netns", "exec", "ipr-bus", "ip", "netns", "identify"])
            .await
            .ok();
        assert_eq!(out.stdout.trim(), "ipr-bus", "{out}");

        // And a device made there with iproute2 stays there.
        ip(&[
            "-n", "ipr-bus", "link", "add", "v0", "type", "veth", "peer", "name", "v1",
        ])
        .await
        .ok();
        let out = ip(&["-n", "ipr-bus", "-br", "link"]).await.ok();
        assert!(out.stdout.contains("v0@v1"), "{out}");
        assert!(
            ip(&["link", "show", "v0"])
                .await
                .failed()
                .stderr
                .contains("v0")
        );
    })
    .await;
}

/// iproute2's layout: /run/netns a shared mount point, each entry an nsfs
/// bind mount; the daemon's namespaces and iproute2's live side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_namespace_has_the_iproute2_mount_layout() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "ipr-layout").await;

        let out = run(
            "findmnt",
            &["-n", "-o", "PROPAGATION", "--mountpoint", "/run/netns"],
        )
        .await
        .ok();
        assert!(
            out.stdout.trim().starts_with("shared"),
            "/run/netns must be a shared mount point, as iproute2 makes it: {out}"
        );
        let out = run(
            "findmnt",
            &[
                "-n",
                "-o",
                "FSTYPE",
                "--mountpoint",
                "/run/netns/ipr-layout",
            ],
        )
        .await
        .ok();
        assert_eq!(out.stdout.trim(), "nsfs", "{out}");

        // iproute2 works alongside and sees both.
        ip(&["netns", "add", "ipr-beside"]).await.ok();
        assert_eq!(
            ip_netns_list().await,
            vec!["ipr-beside".to_owned(), "ipr-layout".to_owned()]
        );
        ip(&["netns", "del", "ipr-beside"]).await.ok();
        assert_eq!(ip_netns_list().await, vec!["ipr-layout".to_owned()]);
        assert_nothing_left(&Keep::nothing().ns("ipr-layout")).await;
        ip(&["netns", "exec", "ipr-layout", "true"]).await.ok();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_netns_add_appears_on_the_bus_unmanaged() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let mut added = ctl.receive_network_namespace_added().await.unwrap();
        let om = object_manager(&conn).await;
        let mut om_added = om.receive_interfaces_added().await.unwrap();

        ip(&["netns", "add", "ipr-ext"]).await.ok();
        let path = wait_ns_on_bus(&conn, "ipr-ext", WATCH_TIMEOUT).await;

        let info = ns_info(&conn, &path).await;
        assert_eq!(info.name, "ipr-ext");
        assert_eq!(info.path, "/run/netns/ipr-ext");
        assert!(
            !info.managed,
            "made by `ip netns add`, not by the daemon: Managed=false"
        );
        assert!(info.persistent, "adopted namespaces are Persistent");
        assert_eq!(info.id, netns_inode("ipr-ext"));
        assert!(list_paths(&conn).await.contains(&path));

        let sig = tokio::time::timeout(SIGNAL_TIMEOUT, added.next())
            .await
            .expect("NetworkNamespaceAdded for an `ip netns add`")
            .unwrap();
        assert_eq!(sig.args().unwrap().path.as_str(), path);
        let sig = tokio::time::timeout(SIGNAL_TIMEOUT, om_added.next())
            .await
            .expect("InterfacesAdded for an `ip netns add`")
            .unwrap();
        assert_eq!(sig.args().unwrap().object_path.as_str(), path);

        // The daemon adopted it; it did not replace it.
        ip(&["netns", "exec", "ipr-ext", "true"]).await.ok();
        assert_eq!(ip_netns_list().await, vec!["ipr-ext".to_owned()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_netns_del_disappears_from_the_bus() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let mut removed = ctl.receive_network_namespace_removed().await.unwrap();

        // One made by iproute2, one by the daemon: `ip netns del` removes
        // either from the bus.
        ip(&["netns", "add", "ipr-del-ext"]).await.ok();
        let ext = wait_ns_on_bus(&conn, "ipr-del-ext", WATCH_TIMEOUT).await;
        let own = add_ns(&conn, "ipr-del-own").await;

        for (name, path) in [("ipr-del-ext", &ext), ("ipr-del-own", &own)] {
            ip(&["netns", "del", name]).await.ok();
            wait_ns_off_bus(&conn, name, WATCH_TIMEOUT).await;
            assert!(!list_paths(&conn).await.contains(path));
            let sig = tokio::time::timeout(SIGNAL_TIMEOUT, removed.next())
                .await
                .unwrap_or_else(|_| panic!("no NetworkNamespaceRemoved for {name}"))
                .unwrap();
            assert_eq!(sig.args().unwrap().path.as_str(), path.as_str());
            assert!(
                instance(&conn, path).await.name().await.is_err(),
                "{path} still exported"
            );
        }
        assert_eq!(list_paths(&conn).await, vec![namespace_path(0)]);
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// RemoveNetworkNamespace works on an adopted namespace too (the XML says so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_removes_a_namespace_made_by_ip_netns_add() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        ip(&["netns", "add", "ipr-adopted"]).await.ok();
        wait_ns_on_bus(&conn, "ipr-adopted", WATCH_TIMEOUT).await;

        let ok = controller(&conn)
            .await
            .remove_network_namespace("ipr-adopted")
            .await
            .expect("RemoveNetworkNamespace on an adopted namespace");
        assert_eq!(ok, "Success");
        assert!(ip_netns_list().await.is_empty());
        assert!(run_netns_entries().is_empty());
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// Several quick adds and deletes behind the daemon's back end with the bus
/// and iproute2 agreeing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_follows_a_burst_of_ip_netns_changes() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        for i in 0..8 {
            ip(&["netns", "add", &format!("ipr-burst-{i}")]).await.ok();
        }
        for i in (0..8).step_by(2) {
            ip(&["netns", "del", &format!("ipr-burst-{i}")]).await.ok();
        }
        let want: std::collections::BTreeSet<String> = (1..8)
            .step_by(2)
            .map(|i| format!("ipr-burst-{i}"))
            .chain([ROOT_NS_NAME.to_owned()])
            .collect();
        wait_for(
            WATCH_TIMEOUT,
            "the bus to match `ip netns list`",
            || async { (try_bus_names(&conn).await.as_ref() == Some(&want)).then_some(()) },
        )
        .await;
        let mut ip_list = ip_netns_list().await;
        ip_list.push(ROOT_NS_NAME.to_owned());
        assert_eq!(
            ip_list
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>(),
            want
        );
        let mut keep = Keep::nothing();
        for i in (1..8).step_by(2) {
            keep = keep.ns(&format!("ipr-burst-{i}"));
        }
        assert_nothing_left(&keep).await;
    })
    .await;
}

/// The daemon follows every namespace's links and addresses through one
/// socket, by the namespace ids (nsids) the host namespace has for them. A
/// namespace that already has one (`ip netns set NAME 7`, before the daemon
/// saw it) keeps it and is followed live all the same; one the daemon finds
/// without an id is given one, as `ip netns set NAME auto` would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_with_and_without_an_nsid_are_followed_live() {
    let _env = TestEnv::new();
    timed(async {
        ip(&["netns", "add", "ipr-nsid"]).await.ok();
        ip(&["netns", "set", "ipr-nsid", "7"]).await.ok();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let preset = wait_ns_on_bus(&conn, "ipr-nsid", WATCH_TIMEOUT).await;
        let own = add_ns(&conn, "ipr-nsid-own").await;
        ip(&["netns", "add", "ipr-nsid-ext"]).await.ok();
        let ext = wait_ns_on_bus(&conn, "ipr-nsid-ext", WATCH_TIMEOUT).await;

        let list = ip(&["netns", "list"]).await.ok().stdout;
        assert!(list.contains("ipr-nsid (id: 7)"), "{list}");
        for name in ["ipr-nsid-own", "ipr-nsid-ext"] {
            assert!(
                list.lines()
                    .any(|l| l.starts_with(&format!("{name} (id: "))),
                "{name} has no nsid: {list}"
            );
        }

        for (name, path) in [
            ("ipr-nsid", &preset),
            ("ipr-nsid-own", &own),
            ("ipr-nsid-ext", &ext),
        ] {
            ip_ns(
                name,
                &["link", "add", "q0", "type", "veth", "peer", "name", "q1"],
            )
            .await
            .ok();
            ip_ns(name, &["addr", "add", "192.0.2.1/24", "dev", "q0"])
                .await
                .ok();
            let q0 = wait_device(&conn, path, "q0").await;
            wait_device(&conn, path, "q1").await;
            wait_dev(&conn, &q0, "the address of q0", |d| {
                d.addresses.contains("192.0.2.1/24")
            })
            .await;
            ip_ns(name, &["link", "del", "q0"]).await.ok();
            wait_device_gone(&conn, path, "q0").await;
            wait_device_gone(&conn, path, "q1").await;
        }
    })
    .await;
}
