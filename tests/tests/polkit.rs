//! Authorization with the sandbox's real polkitd: a non-root caller (nobody,
//! uid 65534) is refused every change and nothing changes, while reading is
//! open; validation comes before polkit; root is allowed; a rules file that
//! grants a group lets its member through, and only its member.
//!
//! The callers are busctl and gdbus run under setpriv with the user's uid,
//! gid and groups, so polkit sees an ordinary process of that user.

use netnsd_tests::*;

const DENIED: &str = "net.netnsd.Netns1.Error.PermissionDenied";

/// Add and Remove over gdbus as `uid`, both refused with PermissionDenied,
/// and nothing changed.
async fn assert_refused(uid: u32, conn: &zbus::Connection, existing: &str) {
    let before = host_state(conn).await;
    let out = gdbus_controller(Some(uid), "AddNetworkNamespace", Some("pk-new"))
        .await
        .failed();
    assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
    let out = gdbus_controller(Some(uid), "RemoveNetworkNamespace", Some(existing))
        .await
        .failed();
    assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
    assert_eq!(
        host_state(conn).await,
        before,
        "a refused call by uid {uid} changed something"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_is_refused_every_change() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "pk-existing").await;
        ip(&["netns", "add", "pk-adopted"]).await.ok();
        wait_ns_on_bus(&conn, "pk-adopted", WATCH_TIMEOUT).await;
        // polkit itself, asked directly, refuses nobody.
        assert!(!pkcheck(NOBODY_UID, MANAGE_ACTION).await);

        assert_refused(NOBODY_UID, &conn, "pk-existing").await;
        assert_refused(NOBODY_UID, &conn, "pk-adopted").await;
        let before = host_state(&conn).await;
        let out = gdbus_controller(
            Some(NOBODY_UID),
            "RemoveNetworkNamespace",
            Some(ROOT_NS_NAME),
        )
        .await
        .failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");

        // busctl too (it shows the message, not the error name).
        let out = busctl_call(
            Some(NOBODY_UID),
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "AddNetworkNamespace",
            &["s", "pk-busctl"],
        )
        .await
        .failed();
        assert!(!out.stderr.trim().is_empty(), "{out}");
        busctl_call(
            Some(NOBODY_UID),
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "RemoveNetworkNamespace",
            &["s", "pk-existing"],
        )
        .await
        .failed();
        assert_eq!(host_state(&conn).await, before);
        assert_eq!(
            ip_netns_list().await,
            vec!["pk-adopted".to_owned(), "pk-existing".to_owned()]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_read_everything() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns(&conn, "pk-read").await;
        let id = netns_inode("pk-read");
        let nobody = Some(NOBODY_UID);

        let out = gdbus_controller(nobody, "ListNetworkNamespaces", None)
            .await
            .ok();
        assert!(out.stdout.contains(&format!("'{path}'")), "{out}");
        assert!(
            out.stdout.contains(&format!("'{}'", namespace_path(0))),
            "{out}"
        );

        let out = gdbus_controller(nobody, "GetNetworkNamespaceByName", Some("pk-read"))
            .await
            .ok();
        assert_eq!(out.stdout.trim(), format!("(objectpath '{path}',)"));
        let out = gdbus_controller(nobody, "GetNetworkNamespaceByName", Some(ROOT_NS_NAME))
            .await
            .ok();
        assert_eq!(
            out.stdout.trim(),
            format!("(objectpath '{}',)", namespace_path(0))
        );

        // Properties, with busctl and gdbus.
        let out = busctl(
            nobody,
            &[
                "--json=short",
                "get-property",
                BUS_NAME,
                &path,
                INSTANCE_INTERFACE,
                "Id",
            ],
        )
        .await
        .ok();
        let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(v["data"], id, "{out}");
        let out = busctl(
            nobody,
            &[
                "get-property",
                BUS_NAME,
                CONTROLLER_PATH,
                CONTROLLER_INTERFACE,
                "NetworkNamespaces",
            ],
        )
        .await
        .ok();
        assert!(out.stdout.contains(&path), "{out}");
        let out = gdbus_call(
            nobody,
            &path,
            "org.freedesktop.DBus.Properties.GetAll",
            &[gvariant_str(INSTANCE_INTERFACE)],
        )
        .await
        .ok();
        assert!(out.stdout.contains("'Name': <'pk-read'>"), "{out}");
        assert!(out.stdout.contains("'Managed': <true>"), "{out}");

        // The object manager and introspection.
        let out = gdbus_call(
            nobody,
            ROOT_PATH,
            "org.freedesktop.DBus.ObjectManager.GetManagedObjects",
            &[],
        )
        .await
        .ok();
        assert!(
            out.stdout.contains(&format!("objectpath '{path}'")),
            "{out}"
        );
        assert!(out.stdout.contains("'pk-read'"), "{out}");
        let out = gdbus(
            nobody,
            &[
                "introspect",
                "--system",
                "--dest",
                BUS_NAME,
                "--object-path",
                CONTROLLER_PATH,
                "--xml",
            ],
        )
        .await
        .ok();
        assert!(
            interface_names(&out.stdout).contains(&CONTROLLER_INTERFACE.to_owned()),
            "{out}"
        );
        let out = busctl(nobody, &["introspect", BUS_NAME, &path]).await.ok();
        assert!(out.stdout.contains(INSTANCE_INTERFACE), "{out}");
        // The whole tree, as `busctl tree` walks it.
        let out = busctl(nobody, &["tree", BUS_NAME]).await.ok();
        assert!(out.stdout.contains(&path), "{out}");
        assert!(out.stdout.contains(CONTROLLER_PATH), "{out}");
    })
    .await;
}

/// Arguments are validated before polkit is asked: nobody sending a bad
/// name learns that the name is bad.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_comes_before_polkit() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let before = host_state(&conn).await;
        for method in ["AddNetworkNamespace", "RemoveNetworkNamespace"] {
            for name in ["a/b", "", ".."] {
                let out = gdbus_controller(Some(NOBODY_UID), method, Some(name))
                    .await
                    .failed();
                assert_eq!(
                    out.gdbus_error().as_deref(),
                    Some("net.netnsd.Netns1.Error.InvalidArgument"),
                    "{out}"
                );
            }
        }
        assert_eq!(host_state(&conn).await, before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_is_allowed_through_every_client() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        assert!(pkcheck(0, MANAGE_ACTION).await, "polkit refuses root?");

        gdbus_controller(None, "AddNetworkNamespace", Some("pk-root-gdbus"))
            .await
            .ok();
        busctl_call(
            None,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "AddNetworkNamespace",
            &["s", "pk-root-busctl"],
        )
        .await
        .ok();
        assert_eq!(
            ip_netns_list().await,
            vec!["pk-root-busctl".to_owned(), "pk-root-gdbus".to_owned()]
        );
        gdbus_controller(None, "RemoveNetworkNamespace", Some("pk-root-busctl"))
            .await
            .ok();
        busctl_call(
            None,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "RemoveNetworkNamespace",
            &["s", "pk-root-gdbus"],
        )
        .await
        .ok();
        assert!(ip_netns_list().await.is_empty());
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

/// The rule of docs/bus-api.md: members of netns-admins may manage namespaces. nsadmin
/// (uid 4242, in the group) is refused before the rule, allowed with it, and
/// refused again once it is gone; nsuser (not in the group) stays refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_file_grants_group_members_only() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "pk-by-root").await;
        let admin = Some(ADMIN_UID);

        wait_polkit(ADMIN_UID, MANAGE_ACTION, false).await;
        assert_refused(ADMIN_UID, &conn, "pk-by-root").await;

        let rules = PolkitRules::install("50-netnsd-test", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, MANAGE_ACTION, true).await;

        let out = gdbus_controller(admin, "AddNetworkNamespace", Some("pk-by-admin"))
            .await
            .ok();
        let path = out
            .stdout
            .split('\'')
            .nth(1)
            .expect("object path")
            .to_owned();
        let info = ns_info(&conn, &path).await;
        assert_eq!(info.name, "pk-by-admin");
        assert!(info.managed);
        assert_eq!(info.id, netns_inode("pk-by-admin"));
        assert!(ip_netns_list().await.contains(&"pk-by-admin".to_owned()));

        let out = gdbus_controller(admin, "RemoveNetworkNamespace", Some("pk-by-root"))
            .await
            .ok();
        assert_eq!(out.stdout.trim(), "('Success',)");
        let out = busctl_call(
            admin,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "RemoveNetworkNamespace",
            &["s", "pk-by-admin"],
        )
        .await
        .ok();
        assert_eq!(busctl_json_data(&out)[0], "Success");
        assert!(ip_netns_list().await.is_empty());
        assert_nothing_left(&Keep::nothing()).await;

        // The rule grants the group, not everyone.
        add_ns(&conn, "pk-by-root").await;
        assert!(!pkcheck(PLAIN_UID, MANAGE_ACTION).await);
        assert_refused(PLAIN_UID, &conn, "pk-by-root").await;
        assert_refused(NOBODY_UID, &conn, "pk-by-root").await;

        drop(rules);
        wait_polkit(ADMIN_UID, MANAGE_ACTION, false).await;
        assert_refused(ADMIN_UID, &conn, "pk-by-root").await;
    })
    .await;
}
