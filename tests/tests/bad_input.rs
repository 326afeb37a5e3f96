//! Bad input: invalid, taken and unknown names, rootns, wrong argument types.
//! Every refused call names the problem and leaves nothing behind: not in
//! /run/netns, not in /run/netnsd, not in `ip netns list`, not on the bus.
//!
//! (A name with a NUL byte cannot be sent: D-Bus strings may not hold NUL,
//! and the bus refuses such a message before the daemon sees it; nor can it
//! be an argv string for nsctl.)

use netnsd_tests::*;

/// The bad names and a word the error message must contain.
fn bad_names() -> Vec<(String, &'static str)> {
    vec![
        (String::new(), "empty"),
        (".".into(), "\".\""),
        ("..".into(), "\"..\""),
        ("a/b".into(), "'/'"),
        ("/".into(), "'/'"),
        ("../etc".into(), "'/'"),
        ("n".repeat(256), "255"),
        ("ü".repeat(128), "255"), // 256 bytes in 128 characters
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_names_are_refused_naming_the_problem() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        add_ns(&conn, "bad-present").await;
        let before = host_state(&conn).await;

        for (name, word) in bad_names() {
            let shown: String = name.chars().take(12).collect();
            for (method, r) in [
                (
                    "AddNetworkNamespace",
                    ctl.add_network_namespace(&name)
                        .await
                        .map(|p| p.to_string()),
                ),
                (
                    "RemoveNetworkNamespace",
                    ctl.remove_network_namespace(&name).await,
                ),
                (
                    "GetNetworkNamespaceByName",
                    ctl.get_network_namespace_by_name(&name)
                        .await
                        .map(|p| p.to_string()),
                ),
            ] {
                let (err, msg) = err_name(r);
                assert_eq!(err, "InvalidArgument", "{method}({shown:?}…): {msg}");
                assert!(
                    msg.contains(word),
                    "{method}({shown:?}…): the message should say what is wrong ({word}): {msg:?}"
                );
            }
            assert_eq!(
                host_state(&conn).await,
                before,
                "a refused call on {shown:?}… left something behind"
            );
        }
    })
    .await;
}

/// The same refusals seen by gdbus, an independent client: the error name on
/// the wire is net.netnsd.Netns1.Error.InvalidArgument.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_names_carry_the_error_name_on_the_wire() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let before = host_state(&conn).await;
        for name in ["", ".", "..", "a/b"] {
            let out = gdbus_controller(None, "AddNetworkNamespace", Some(name))
                .await
                .failed();
            assert_eq!(
                out.gdbus_error().as_deref(),
                Some("net.netnsd.Netns1.Error.InvalidArgument"),
                "{out}"
            );
        }
        // busctl passes the empty string as is.
        busctl_call(
            None,
            CONTROLLER_PATH,
            CONTROLLER_INTERFACE,
            "AddNetworkNamespace",
            &["s", ""],
        )
        .await
        .failed();
        assert_eq!(host_state(&conn).await, before);
    })
    .await;
}

/// What iproute2 accepts, the daemon accepts: the refusals above are not
/// an over-strict filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_but_valid_names_are_accepted() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let longest = "n".repeat(255);
        let names = [
            "with space",
            "ünïcode",
            "x.y",
            "...",
            ".hidden",
            "-dash",
            longest.as_str(),
        ];
        for name in names {
            let path = add_ns(&conn, name).await;
            let info = ns_info(&conn, &path).await;
            assert_eq!(info.name, name);
            assert_eq!(info.path, format!("/run/netns/{name}"));
            assert_eq!(info.id, netns_inode(name));
            assert!(ip_netns_list().await.iter().any(|n| n == name), "{name:?}");
            ip(&["netns", "exec", name, "true"]).await.ok();
            assert_eq!(ctl.remove_network_namespace(name).await.unwrap(), "Success");
        }
        assert!(ip_netns_list().await.is_empty());
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_names_are_already_exists() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let path = add_ns(&conn, "bad-dup").await;
        let info = ns_info(&conn, &path).await;
        let before = host_state(&conn).await;

        for name in ["bad-dup", ROOT_NS_NAME] {
            let (err, msg) = err_name(ctl.add_network_namespace(name).await);
            assert_eq!(err, "AlreadyExists", "Add({name:?}): {msg}");
            assert!(
                msg.contains(name),
                "the message should name {name:?}: {msg:?}"
            );
            assert_eq!(host_state(&conn).await, before, "after Add({name:?})");
        }
        // The existing namespace is untouched.
        assert_eq!(ns_info(&conn, &path).await, info);
        assert_eq!(netns_inode("bad-dup"), info.id);

        // A name iproute2 just took is taken, whether or not the daemon has
        // noticed yet.
        ip(&["netns", "add", "bad-ipr"]).await.ok();
        let inode = netns_inode("bad-ipr");
        let (err, msg) = err_name(ctl.add_network_namespace("bad-ipr").await);
        assert_eq!(err, "AlreadyExists", "{msg}");
        assert_eq!(
            netns_inode("bad-ipr"),
            inode,
            "the daemon replaced iproute2's namespace"
        );
        let adopted = wait_ns_on_bus(&conn, "bad-ipr", WATCH_TIMEOUT).await;
        assert!(!ns_info(&conn, &adopted).await.managed);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_are_not_found() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        add_ns(&conn, "bad-known").await;
        let before = host_state(&conn).await;

        let (err, msg) = err_name(ctl.remove_network_namespace("bad-unknown").await);
        assert_eq!(err, "NotFound", "{msg}");
        assert!(msg.contains("bad-unknown"), "{msg:?}");
        let (err, msg) = err_name(ctl.get_network_namespace_by_name("bad-unknown").await);
        assert_eq!(err, "NotFound", "{msg}");
        assert!(msg.contains("bad-unknown"), "{msg:?}");
        // Names differ by case only: still unknown.
        let (err, _) = err_name(ctl.get_network_namespace_by_name("BAD-KNOWN").await);
        assert_eq!(err, "NotFound");

        assert_eq!(host_state(&conn).await, before);

        // Removing twice: the second is NotFound.
        ctl.remove_network_namespace("bad-known").await.unwrap();
        let (err, _) = err_name(ctl.remove_network_namespace("bad-known").await);
        assert_eq!(err, "NotFound");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rootns_cannot_be_removed() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let ctl = controller(&conn).await;
        let before = host_state(&conn).await;
        let root = ns_info(&conn, &namespace_path(0)).await;

        let (err, msg) = err_name(ctl.remove_network_namespace(ROOT_NS_NAME).await);
        assert_eq!(err, "PermissionDenied", "{msg}");
        assert!(!msg.is_empty());

        assert_eq!(host_state(&conn).await, before);
        assert_eq!(ns_info(&conn, &namespace_path(0)).await, root);
        // The sandbox's own network still works: lo is up.
        let out = ip(&["-br", "link", "show", "lo"]).await.ok();
        assert!(out.stdout.contains("UP"), "{out}");
    })
    .await;
}

/// Arguments of the wrong type never reach the method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_argument_types_are_refused() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let before = host_state(&conn).await;

        let call = |method: &'static str, body: Option<u32>| {
            let conn = conn.clone();
            async move {
                let r = match body {
                    Some(n) => {
                        conn.call_method(
                            Some(BUS_NAME),
                            CONTROLLER_PATH,
                            Some(CONTROLLER_INTERFACE),
                            method,
                            &(n,),
                        )
                        .await
                    }
                    None => {
                        conn.call_method(
                            Some(BUS_NAME),
                            CONTROLLER_PATH,
                            Some(CONTROLLER_INTERFACE),
                            method,
                            &(),
                        )
                        .await
                    }
                };
                match r {
                    Ok(reply) => panic!("{method}({body:?}) succeeded: {reply:?}"),
                    Err(e) => zbus_error_name(&e),
                }
            }
        };
        for method in [
            "AddNetworkNamespace",
            "RemoveNetworkNamespace",
            "GetNetworkNamespaceByName",
        ] {
            assert_eq!(
                call(method, Some(42)).await,
                "org.freedesktop.DBus.Error.InvalidArgs",
                "{method}(u 42)"
            );
            assert_eq!(
                call(method, None).await,
                "org.freedesktop.DBus.Error.InvalidArgs",
                "{method}() without its argument"
            );
        }
        assert_eq!(
            call("NoSuchMethod", None).await,
            "org.freedesktop.DBus.Error.UnknownMethod"
        );
        assert_eq!(host_state(&conn).await, before);
    })
    .await;
}
