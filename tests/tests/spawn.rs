//! Spawn (issue 4): a program run in a namespace as the calling user, with
//! `ip netns exec` semantics (the namespace's /etc/netns files over /etc,
//! /sys remounted), the host's resolver sockets hidden, its own session, no
//! capabilities, only stdin/stdout/stderr open, exactly the environment
//! given; ProcessExited with its status; polkit's `spawn` action deciding;
//! a namespace with a running process refuses removal.
//!
//! Calls as another user go through python3-dbus run with setpriv (it can
//! pass file descriptors, which busctl and gdbus cannot); calls as root
//! through zbus.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::Duration;

use netnsd_tests::wan::*;
use netnsd_tests::*;
use zbus::Connection;
use zbus::wire::Variant;

const SPAWN: &str = netnsd_api::actions::SPAWN;
const PATH_ENV: (&str, &str) = ("PATH", "/usr/local/bin:/usr/bin:/bin");

/// Spawns as `uid`, checks the call worked, waits for the ProcessExited of
/// its pid and returns (stdout, exit status).
async fn spawn_ok(
    exits: &mut netnsd_api::proxy::ProcessExitedStream,
    uid: u32,
    path: &str,
    argv: &[&str],
    stdin: &str,
) -> (String, i32, u32) {
    let s = spawn_as(uid, path, argv, &[PATH_ENV], stdin).await;
    let pid = s.pid();
    let status = exit_status_of(exits, pid).await;
    assert!(s.out.success(), "the Spawn helper itself failed: {}", s.out);
    (s.stdout, status, pid)
}

async fn remove(conn: &Connection, name: &str) -> Result<String, ApiError> {
    controller(conn).await.remove_network_namespace(name).await
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe().expect("pipe")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_as_nobody_granted_by_polkit_runs_as_nobody_inside_the_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _resolvers = FakeResolvers::install();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let _rule = PolkitRules::install("50-spawn-nobody", &grant_nobody_rule(SPAWN));
        wait_polkit(NOBODY_UID, SPAWN, true).await;
        // The resolver sockets are there for everyone outside.
        let out = run("ls", &["-A", RESOLVED_DIR, NSCD_DIR]).await.ok();
        assert!(
            out.stdout.contains("io.systemd.Resolve") && out.stdout.contains("socket"),
            "{out}"
        );

        let path = add_veth_ns(&conn, "sp-app").await;
        let mut exits = process_exits(&conn, &path).await;

        let (out, status, _) = spawn_ok(&mut exits, NOBODY_UID, &path, &["id", "-u"], "").await;
        assert_eq!((out.as_str(), status), ("65534\n", 0));
        let (out, _, _) = spawn_ok(&mut exits, NOBODY_UID, &path, &["id", "-g"], "").await;
        assert_eq!(out, "65534\n");

        // The namespace's resolv.conf, not the sandbox's.
        let (out, _, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &["cat", "/etc/resolv.conf"],
            "",
        )
        .await;
        let own = std::fs::read_to_string("/etc/netns/sp-app/resolv.conf").unwrap();
        assert_eq!(out, own);
        assert_ne!(
            out,
            std::fs::read_to_string("/etc/resolv.conf").unwrap(),
            "the child sees the sandbox's resolv.conf"
        );

        // stdin is passed through.
        let text = "through the pipe\nand a second line\n";
        let (out, status, _) = spawn_ok(&mut exits, NOBODY_UID, &path, &["cat"], text).await;
        assert_eq!((out.as_str(), status), (text, 0));

        // The exit status arrives in ProcessExited; a signal as its negative.
        let (_, status, _) =
            spawn_ok(&mut exits, NOBODY_UID, &path, &["sh", "-c", "exit 7"], "").await;
        assert_eq!(status, 7);
        let (_, status, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &["sh", "-c", "kill -TERM $$"],
            "",
        )
        .await;
        assert_eq!(status, -15);

        // The resolver sockets of the host are not there inside.
        let (out, status, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &[
                "sh",
                "-c",
                "ls -A /run/systemd/resolve /run/nscd | grep -v -e '^/run' -e '^$'; \
                 test -e /run/systemd/resolve/io.systemd.Resolve && echo LEAK resolved; \
                 test -e /run/nscd/socket && echo LEAK nscd; exit 0",
            ],
            "",
        )
        .await;
        assert_eq!((out.as_str(), status), ("", 0), "resolver sockets visible");

        // Through the uplink, by name, as the user: the everyday recipe.
        let url = format!("http://{WEB_NAME}:{HTTP_PORT}/");
        let (out, status, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &["curl", "-sS", "--noproxy", "*", "--max-time", "5", &url],
            "",
        )
        .await;
        assert_eq!((out.trim(), status), (WEB_TOKEN, 0));

        // Its own session (the pid is the session id), no capabilities,
        // only fds 0-2 open, exactly the environment given.
        let (out, _, pid) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &[
                "sh",
                "-c",
                "read -r pid comm state ppid pgrp sid rest < /proc/self/stat; echo $pid $sid",
            ],
            "",
        )
        .await;
        assert_eq!(out, format!("{pid} {pid}\n"), "not a session leader");
        let (out, _, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &["grep", "-E", "^Cap(Inh|Prm|Eff|Amb)", "/proc/self/status"],
            "",
        )
        .await;
        assert_eq!(out.lines().count(), 4, "{out}");
        for l in out.lines() {
            assert!(l.ends_with("0000000000000000"), "capabilities kept: {out}");
        }
        let (out, _, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &["sh", "-c", "ls /proc/$$/fd"],
            "",
        )
        .await;
        assert_eq!(
            out, "0\n1\n2\n",
            "descriptors beyond stdio reached the child"
        );
        let s = spawn_as(
            NOBODY_UID,
            &path,
            &["/usr/bin/env"],
            &[("FOO", "bar baz")],
            "",
        )
        .await;
        exit_status_of(&mut exits, s.pid()).await;
        assert_eq!(
            s.stdout, "FOO=bar baz\n",
            "the environment is not exactly the one given"
        );

        // In the namespace's network and its own mount namespace, with /sys
        // showing the namespace's devices.
        let (out, _, _) = spawn_ok(
            &mut exits,
            NOBODY_UID,
            &path,
            &["readlink", "/proc/self/ns/net", "/proc/self/ns/mnt"],
            "",
        )
        .await;
        let own_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!("net:[{}]", netns_inode("sp-app")),
            "{out}"
        );
        assert_ne!(
            lines[1],
            own_mnt.to_str().unwrap(),
            "no private mount namespace"
        );
        let (out, _, _) =
            spawn_ok(&mut exits, NOBODY_UID, &path, &["ls", "/sys/class/net"], "").await;
        assert_eq!(out, "lo\nuplink0\n", "/sys is not the namespace's");

        // Nothing spawned is left running: the namespace goes.
        assert_eq!(remove(&conn, "sp-app").await.expect("remove"), "Success");
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_runs_with_the_callers_groups() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let _rule = PolkitRules::install("50-admins", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, SPAWN, true).await;
        let path = add_ns_ready(&conn, "sp-groups").await;
        let mut exits = process_exits(&conn, &path).await;
        let (out, _, _) = spawn_ok(
            &mut exits,
            ADMIN_UID,
            &path,
            &["sh", "-c", "id -u; id -g; id -G"],
            "",
        )
        .await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert_eq!(lines[0], ADMIN_UID.to_string());
        assert_eq!(lines[1], ADMIN_UID.to_string(), "primary group of nsadmin");
        let groups: Vec<&str> = lines[2].split_whitespace().collect();
        assert!(
            groups.contains(&"4240"),
            "nsadmin's supplementary group netns-admins (4240) is missing: {out}"
        );
        assert!(!groups.contains(&"0"), "root's group leaked: {out}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_without_a_polkit_grant_is_refused() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns_ready(&conn, "sp-deny").await;
        // A grant of another action does not count.
        let _rule = PolkitRules::install(
            "50-nobody-configure",
            &grant_nobody_rule(netnsd_api::actions::CONFIGURE),
        );
        wait_polkit(NOBODY_UID, netnsd_api::actions::CONFIGURE, true).await;
        wait_polkit(NOBODY_UID, SPAWN, false).await;
        for uid in [NOBODY_UID, PLAIN_UID] {
            let s = spawn_as(uid, &path, &["sh", "-c", "echo ran"], &[PATH_ENV], "").await;
            let (name, msg) = s.error();
            assert_eq!(name, "PermissionDenied", "uid {uid}: {msg}");
            assert!(!s.stdout.contains("ran"), "it ran anyway: {}", s.out);
        }
        // Nothing was started: the namespace is not held.
        assert_eq!(remove(&conn, "sp-deny").await.expect("remove"), "Success");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_errors_are_clear() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns_ready(&conn, "sp-err").await;
        let inst = instance(&conn, &path).await;
        let null = dev_null();

        // A missing program: NotFound, naming it.
        for prog in ["no-such-program-4e1f", "/nonexistent/bin/prog"] {
            let (name, msg) = err_name(spawn_root(&conn, &path, &[prog], &[]).await);
            assert_eq!(name, "NotFound", "{prog}: {msg}");
            assert!(msg.contains(prog), "{msg}");
        }
        let _rule = PolkitRules::install("50-spawn-nobody", &grant_nobody_rule(SPAWN));
        wait_polkit(NOBODY_UID, SPAWN, true).await;
        let s = spawn_as(
            NOBODY_UID,
            &path,
            &["no-such-program-4e1f"],
            &[PATH_ENV],
            "",
        )
        .await;
        let (name, msg) = s.error();
        assert_eq!(name, "NotFound", "{msg}");
        assert!(msg.contains("no-such-program-4e1f"), "{msg}");

        // A working directory that is not there.
        let (name, msg) = err_name(
            inst.spawn(
                &["true"],
                HashMap::new(),
                "/nonexistent-dir",
                HashMap::new(),
                HashMap::new(),
            )
            .await,
        );
        assert_eq!(name, "NotFound", "{msg}");

        // Malformed calls: InvalidArgument.
        let fd = |k: &'static str| {
            HashMap::from([(k, zbus::wire::Fd::from(std::os::fd::AsFd::as_fd(&null)))])
        };
        let cases: Vec<(&str, Result<u32, ApiError>)> = vec![
            (
                "empty argv",
                inst.spawn(&[], HashMap::new(), "", HashMap::new(), HashMap::new())
                    .await,
            ),
            (
                "empty program",
                inst.spawn(&[""], HashMap::new(), "", HashMap::new(), HashMap::new())
                    .await,
            ),
            (
                "env name with =",
                inst.spawn(
                    &["true"],
                    HashMap::from([("A=B", "c")]),
                    "",
                    HashMap::new(),
                    HashMap::new(),
                )
                .await,
            ),
            (
                "relative cwd",
                inst.spawn(
                    &["true"],
                    HashMap::new(),
                    "tmp",
                    HashMap::new(),
                    HashMap::new(),
                )
                .await,
            ),
            (
                "fd key",
                inst.spawn(&["true"], HashMap::new(), "", fd("stdfoo"), HashMap::new())
                    .await,
            ),
            (
                "unknown option",
                inst.spawn(
                    &["true"],
                    HashMap::new(),
                    "",
                    HashMap::new(),
                    HashMap::from([("colour", Variant::from(true))]),
                )
                .await,
            ),
            (
                "pty without stdin",
                inst.spawn(
                    &["true"],
                    HashMap::new(),
                    "",
                    HashMap::new(),
                    HashMap::from([("pty", Variant::from(true))]),
                )
                .await,
            ),
        ];
        for (what, r) in cases {
            let (name, msg) = err_name(r);
            assert_eq!(name, "InvalidArgument", "{what}: {msg}");
        }
        // Not in the root namespace.
        let root = instance(&conn, &namespace_path(0)).await;
        let (name, msg) = err_name(
            root.spawn(
                &["true"],
                HashMap::new(),
                "",
                HashMap::new(),
                HashMap::new(),
            )
            .await,
        );
        assert_eq!(name, "InvalidArgument", "Spawn in rootns: {msg}");

        // None of that left a process holding the namespace.
        assert_eq!(remove(&conn, "sp-err").await.expect("remove"), "Success");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_process_blocks_removal_until_it_ends() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns_ready(&conn, "sp-busy").await;
        let _reaper = NsReaper::new("sp-busy");
        let mut exits = process_exits(&conn, &path).await;

        // `cat` reading a pipe we hold: it runs until we close our end.
        let (r, w) = pipe();
        let null = dev_null();
        let pid = spawn_root(
            &conn,
            &path,
            &["cat"],
            &[("stdin", &r), ("stdout", &null), ("stderr", &null)],
        )
        .await
        .expect("Spawn cat");
        drop(r);
        assert!(pid_alive(pid), "cat (pid {pid}) is not running");

        let (name, msg) = err_name(remove(&conn, "sp-busy").await);
        assert_eq!(name, "Busy", "{msg}");
        assert!(
            msg.contains(&pid.to_string()),
            "Busy should name pid {pid}: {msg}"
        );
        assert_eq!(ip_netns_list().await, vec!["sp-busy".to_owned()]);
        controller(&conn)
            .await
            .get_network_namespace_by_name("sp-busy")
            .await
            .expect("still on the bus");
        assert!(
            !exited_within(&mut exits, pid, Duration::from_millis(300)).await,
            "ProcessExited before the process ended"
        );

        drop(w);
        assert_eq!(exit_status_of(&mut exits, pid).await, 0);
        wait_pid_gone(pid).await;
        assert_eq!(remove(&conn, "sp-busy").await.expect("remove"), "Success");
        assert!(ip_netns_list().await.is_empty());
        assert_nothing_left(&Keep::nothing()).await;

        // The same for a process of another user, ended by a signal.
        let path = add_ns_ready(&conn, "sp-busy2").await;
        let _reaper2 = NsReaper::new("sp-busy2");
        let mut exits = process_exits(&conn, &path).await;
        let _rule = PolkitRules::install("50-spawn-nobody", &grant_nobody_rule(SPAWN));
        wait_polkit(NOBODY_UID, SPAWN, true).await;
        let s = spawn_as(
            NOBODY_UID,
            &path,
            &["sh", "-c", "exec sleep 60 </dev/null >/dev/null 2>&1"],
            &[PATH_ENV],
            "",
        )
        .await;
        let pid = s.pid();
        let (name, msg) = err_name(remove(&conn, "sp-busy2").await);
        assert_eq!(name, "Busy", "{msg}");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("kill the sleeper");
        assert_eq!(exit_status_of(&mut exits, pid).await, -9);
        assert_eq!(remove(&conn, "sp-busy2").await.expect("remove"), "Success");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
