//! `nsctl exec` without a terminal runs on nsctl's own blocking bus client
//! (crates/nsctl/src/busconn.rs, issue 18 item 2), not zbus: these check
//! what that client must keep of zbus's behaviour — the bus address read
//! as zbus reads it, its failures, netnsd missing, a missing namespace,
//! the same way to a program, its status and its output. (Signals and a
//! daemon restart on this path: tests/tests/nsctl_exec.rs and
//! spawn_systemd.rs; the terminal's path stays on zbus.)

use netnsd_tests::*;

/// `nsctl exec ARGS…` as root with DBUS_SYSTEM_BUS_ADDRESS set to `bus`.
async fn exec_at(bus: &str, args: &[&str]) -> Out {
    let bin = nsctl_bin();
    let mut argv = vec![
        format!("DBUS_SYSTEM_BUS_ADDRESS={bus}"),
        bin.to_str().unwrap().to_owned(),
        "exec".into(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    run("env", &argv).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_exec_on_its_own_client_behaves_as_on_zbus() {
    let _env = TestEnv::new();
    timed(async {
        // No netnsd: said so, exit status 10.
        let out = nsctl(None, &["exec", "xd-app", "--", "true"]).await;
        assert_eq!(out.code(), Some(10), "{out}");
        assert!(
            out.stderr
                .contains("netnsd is not running (no owner for net.netnsd.Netns1"),
            "{out}"
        );
        // No bus at that address: said so, naming it.
        let out = exec_at("unix:path=/nonexistent/bus", &["xd-app", "--", "true"]).await;
        assert_eq!(out.code(), Some(10), "{out}");
        assert!(
            out.stderr
                .contains("cannot connect to the system bus at unix:path=/nonexistent/bus"),
            "{out}"
        );

        let _daemon = Daemon::start().await;
        nsctl(None, &["add", "xd-app"]).await.ok();
        // The program's output and status come back.
        let out = nsctl(
            None,
            &[
                "exec",
                "xd-app",
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ],
        )
        .await;
        assert_eq!(out.code(), Some(3), "{out}");
        assert_eq!(out.stdout, "out\n");
        assert!(out.stderr.contains("err"), "{out}");
        // It ran in the namespace.
        let out = nsctl(
            None,
            &["exec", "xd-app", "--", "readlink", "/proc/self/ns/net"],
        )
        .await
        .ok();
        assert_eq!(
            out.stdout.trim(),
            format!("net:[{}]", netns_inode("xd-app"))
        );
        // The address %-escaped and with a guid, as D-Bus addresses may be.
        let out = exec_at(
            "unix:path=/run/dbus/%73ystem_bus_socket,guid=0123456789abcdef0123456789abcdef",
            &["xd-app", "--", "true"],
        )
        .await;
        assert_eq!(out.code(), Some(0), "{out}");
        // netnsd's errors keep their exit statuses and words.
        let out = nsctl(None, &["exec", "xd-none", "--", "true"]).await;
        assert_eq!(out.code(), Some(3), "{out}");
        assert!(out.stderr.contains("xd-none"), "{out}");
        let out = nsctl(None, &["exec", "xd-app", "--", "no-such-program-9c2"]).await;
        assert_eq!(out.code(), Some(127), "{out}");
        assert!(out.stderr.contains("no-such-program-9c2"), "{out}");

        nsctl(None, &["delete", "xd-app"]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
