//! `nsctl exec` without a terminal runs on nsctl's own blocking bus client
//! (crates/nsctl/src/busconn.rs, issue 18 item 2), not zbus: these check
//! what that client must keep of zbus's behaviour — the bus address read
//! as zbus reads it, its failures, netnsd missing, a missing namespace,
//! the same way to a program, its status and its output. (Signals and a
//! daemon restart on this path: tests/tests/nsctl_exec.rs and
//! spawn_systemd.rs; the terminal's path stays on zbus.)

use std::time::Duration;

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

/// nsctl started with descriptors 0, 1 and 2 closed has them on /dev/null,
/// as Rust's start-up would do (nsctl has a C `main` of its own,
/// crates/nsctl/src/main.rs): its bus socket must never become its stdin or
/// stdout. Seen from outside, in /proc, while nsctl waits for its program.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_started_with_closed_standard_descriptors_has_them_on_dev_null() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        nsctl(None, &["add", "xd-closed"]).await.ok();
        let marker = "/run/xd-closed-started";
        let script = format!(
            "exec {} exec xd-closed -- sh -c 'trap \"exit 9\" TERM; touch {marker}; \
             while :; do sleep 0.1; done' <&- >&- 2>&-",
            nsctl_bin().display()
        );
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", &script])
            .spawn()
            .expect("start sh");
        let pid = child.id().expect("nsctl's pid");
        wait_for(Duration::from_secs(10), "the program to start", || async {
            std::path::Path::new(marker).exists().then_some(())
        })
        .await;
        for fd in 0..3 {
            let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .unwrap_or_else(|e| panic!("descriptor {fd} of nsctl: {e}"));
            assert_eq!(
                target,
                std::path::Path::new("/dev/null"),
                "nsctl's descriptor {fd}"
            );
        }
        // It still works as nsctl: TERM goes to the program, whose status
        // nsctl ends with.
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("signal nsctl");
        let status = child.wait().await.expect("wait for nsctl");
        assert_eq!(status.code(), Some(9), "{status:?}");

        std::fs::remove_file(marker).ok();
        nsctl(None, &["delete", "xd-closed"]).await.ok();
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
