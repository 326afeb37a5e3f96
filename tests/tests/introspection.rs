//! The running daemon's introspection equals the contract in
//! dbus-interfaces/*.xml: for every interface in those files, every live
//! object implementing it shows the same methods (arguments: name, type,
//! direction), signals (arguments: name, type), properties (name, type,
//! access) and annotations; comments, documentation and whitespace aside.
//! And every net.netnsd.* interface the daemon exports has its file.
//!
//! The live XML is read with `gdbus introspect`, an independent client.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use netnsd_tests::*;

/// One interface, reduced to comparable lines, e.g.
/// `method AddNetworkNamespace(in s name, out o namespace)`.
fn canonical(iface: roxmltree::Node) -> BTreeSet<String> {
    fn annotations(node: roxmltree::Node, owner: &str, out: &mut BTreeSet<String>) {
        for a in node.children().filter(|n| n.has_tag_name("annotation")) {
            let name = a.attribute("name").unwrap_or("?");
            let value = a.attribute("value").unwrap_or("");
            // "true" is the default of EmitsChangedSignal: stating it or not
            // says the same.
            if name == "org.freedesktop.DBus.Property.EmitsChangedSignal" && value == "true" {
                continue;
            }
            out.insert(format!("{owner} annotation {name}={value}"));
        }
    }
    fn args(node: roxmltree::Node, default_dir: Option<&str>) -> String {
        node.children()
            .filter(|n| n.has_tag_name("arg"))
            .map(|a| {
                let ty = a.attribute("type").unwrap_or("?");
                let name = a.attribute("name").unwrap_or("");
                match default_dir {
                    Some(d) => format!("{} {ty} {name}", a.attribute("direction").unwrap_or(d)),
                    None => format!("{ty} {name}"),
                }
                .trim_end()
                .to_owned()
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    let mut out = BTreeSet::new();
    annotations(iface, "interface", &mut out);
    for m in iface.children().filter(|n| n.is_element()) {
        let name = m.attribute("name").unwrap_or("?");
        match m.tag_name().name() {
            "method" => {
                out.insert(format!("method {name}({})", args(m, Some("in"))));
                annotations(m, &format!("method {name}"), &mut out);
            }
            "signal" => {
                out.insert(format!("signal {name}({})", args(m, None)));
                annotations(m, &format!("signal {name}"), &mut out);
            }
            "property" => {
                out.insert(format!(
                    "property {name} {} {}",
                    m.attribute("type").unwrap_or("?"),
                    m.attribute("access").unwrap_or("?")
                ));
                annotations(m, &format!("property {name}"), &mut out);
            }
            _ => {} // annotation (done above), documentation elements
        }
    }
    out
}

/// The interfaces (name → canonical lines) in an introspection document.
fn interfaces(xml: &str) -> BTreeMap<String, BTreeSet<String>> {
    let doc = parse_xml(xml);
    doc.root_element()
        .children()
        .filter(|n| n.has_tag_name("interface"))
        .map(|i| (i.attribute("name").unwrap_or("?").to_owned(), canonical(i)))
        .collect()
}

/// dbus-interfaces/*.xml that are introspection files: path → interfaces.
fn contract_files() -> BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> {
    let dir = repo_root().join("dbus-interfaces");
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("xml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = parse_xml(&text);
        if !doc.root_element().has_tag_name("node") {
            continue;
        }
        let ifaces = interfaces(&text);
        if !ifaces.is_empty() {
            files.insert(path, ifaces);
        }
    }
    files
}

/// Every object under /net/netnsd/Netns1 (the root included) with the
/// interfaces it implements, found by walking introspection.
async fn live_objects(conn: &zbus::Connection) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![ROOT_PATH.to_owned()];
    while let Some(path) = todo.pop() {
        let xml = introspect(conn, &path).await;
        for child in child_nodes(&xml) {
            todo.push(format!("{path}/{child}"));
        }
        out.insert(path, interface_names(&xml));
    }
    out
}

async fn gdbus_introspect(path: &str) -> String {
    gdbus(
        None,
        &[
            "introspect",
            "--system",
            "--dest",
            BUS_NAME,
            "--object-path",
            path,
            "--xml",
        ],
    )
    .await
    .ok()
    .stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_introspection_equals_dbus_interfaces_files() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Objects of every kind: the root namespace, one the daemon made,
        // one it adopted.
        add_ns(&conn, "intro-own").await;
        ip(&["netns", "add", "intro-adopted"]).await.ok();
        wait_ns_on_bus(&conn, "intro-adopted", WATCH_TIMEOUT).await;
        // A profile (Settings.Connection) and an active connection
        // (Connection.Active, VPN.Connection): an OpenVPN static-key client
        // brings its tunnel up without any server answering.
        let key = "/run/netnsd-intro-static.key";
        run("openvpn", &["--genkey", "secret", key]).await.ok();
        let added = busctl_call(
            None,
            netnsd_api::SETTINGS_PATH,
            netnsd_api::SETTINGS_INTERFACE,
            "AddConnection",
            &[
                "a{sa{sv}}", "2",
                "connection", "3", "id", "s", "intro-vpn", "type", "s", "vpn",
                "netns-isolate", "b", "true",
                "vpn", "2", "service-type", "s", "org.freedesktop.NetworkManager.openvpn",
                "data", "a{ss}", "6", "remote", "127.0.0.1:1", "connection-type", "static-key",
                "static-key", key, "local-ip", "10.9.0.2", "remote-ip", "10.9.0.1",
                "cipher", "AES-256-CBC",
            ],
        )
        .await
        .ok();
        let profile = busctl_json_data(&added)[0].as_str().unwrap().to_owned();
        let activated = busctl_call(
            None,
            &namespace_path(0),
            INSTANCE_INTERFACE,
            "ActivateConnection",
            &["ooo", &profile, "/", "/"],
        )
        .await
        .ok();
        let active = busctl_json_data(&activated)[0].as_str().unwrap().to_owned();
        assert!(active.starts_with(netnsd_api::ACTIVE_PATH_PREFIX), "{active}");

        let files = contract_files();
        assert!(
            files.keys().count() >= 2,
            "expected introspection files for the controller and NetNsInstance in dbus-interfaces/, found {:?}",
            files.keys().collect::<Vec<_>>()
        );
        for iface in [CONTROLLER_INTERFACE, INSTANCE_INTERFACE] {
            assert!(
                files.values().any(|f| f.contains_key(iface)),
                "no file in dbus-interfaces/ describes {iface}"
            );
        }

        let objects = live_objects(&conn).await;
        let mut problems = Vec::new();
        let mut documented = BTreeSet::new();

        for (file, ifaces) in &files {
            let file = file.file_name().unwrap().to_string_lossy();
            for (iface, want) in ifaces {
                documented.insert(iface.clone());
                if iface == netnsd_api::SECRET_AGENT_INTERFACE {
                    // Exported by the users' agents, not by the daemon.
                    continue;
                }
                let at: Vec<&String> = objects
                    .iter()
                    .filter(|(_, i)| i.contains(iface))
                    .map(|(p, _)| p)
                    .collect();
                if at.is_empty() {
                    problems.push(format!(
                        "{file}: interface {iface} is exported by no object under {ROOT_PATH}"
                    ));
                    continue;
                }
                for path in at {
                    let live = interfaces(&gdbus_introspect(path).await);
                    let got = &live[iface];
                    if got != want {
                        let mut diff = format!(
                            "{file}: interface {iface} at {path} differs from the live introspection:"
                        );
                        for l in want.difference(got) {
                            diff.push_str(&format!("\n    only in the file:  {l}"));
                        }
                        for l in got.difference(want) {
                            diff.push_str(&format!("\n    only on the bus:   {l}"));
                        }
                        problems.push(diff);
                    }
                }
            }
        }

        // Every interface of the daemon's own is documented.
        let exported: BTreeSet<&String> = objects
            .values()
            .flatten()
            .filter(|i| i.starts_with("net.netnsd."))
            .collect();
        for iface in exported {
            if !documented.contains(iface) {
                problems.push(format!(
                    "interface {iface} is exported but has no file in dbus-interfaces/"
                ));
            }
        }

        assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));

        // The connection ends and takes its client and namespace with it.
        netnsd_tests::openvpn::deactivate(&conn, &active)
            .await
            .unwrap_or_else(|e| panic!("DeactivateConnection({active}): {e:?}"));
        assert_nothing_left(&Keep::nothing().ns("intro-own").ns("intro-adopted")).await;
    })
    .await;
}

/// The object tree of DESIGN.md: the object manager at the root, the
/// controller and the namespaces below it, and the standard interfaces
/// everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_tree_is_as_designed() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns(&conn, "intro-tree").await;
        let objects = live_objects(&conn).await;

        let has = |p: &str, i: &str| objects.get(p).is_some_and(|v| v.iter().any(|x| x == i));
        assert!(
            has(ROOT_PATH, "org.freedesktop.DBus.ObjectManager"),
            "no ObjectManager at {ROOT_PATH}: {objects:#?}"
        );
        assert!(has(CONTROLLER_PATH, CONTROLLER_INTERFACE), "{objects:#?}");
        for ns in [namespace_path(0), path] {
            assert!(has(&ns, INSTANCE_INTERFACE), "{ns}: {objects:#?}");
            for std_iface in [
                "org.freedesktop.DBus.Properties",
                "org.freedesktop.DBus.Introspectable",
                "org.freedesktop.DBus.Peer",
            ] {
                assert!(has(&ns, std_iface), "{ns} lacks {std_iface}");
                assert!(
                    has(CONTROLLER_PATH, std_iface),
                    "controller lacks {std_iface}"
                );
            }
        }
        // Nothing of the daemon's own on the wrong objects.
        for (p, ifaces) in &objects {
            for i in ifaces {
                match i.as_str() {
                    CONTROLLER_INTERFACE => assert_eq!(p, CONTROLLER_PATH),
                    INSTANCE_INTERFACE => {
                        object_number(p);
                    }
                    _ => {}
                }
            }
        }

        // busctl sees the same tree.
        let out = busctl(None, &["--list", "tree", BUS_NAME]).await.ok();
        let listed: BTreeSet<&str> = out.stdout.lines().map(str::trim).collect();
        for p in objects.keys().filter(|p| !objects[*p].is_empty()) {
            assert!(listed.contains(p.as_str()), "busctl tree lacks {p}: {out}");
        }
    })
    .await;
}
