//! Spawn where systemd runs (issue 12, item 13): the program becomes a
//! transient unit of the caller, in the user's slice, and outlives a
//! restart of netnsd; its exit status still reaches `nsctl exec`.
//!
//! systemd is not PID 1 in the sandbox, so the test boots one as PID 1 of a
//! pid namespace nested in it (tests/systemd/boot: tmpfs over /tmp and
//! /var/tmp, only units of the test's own, no generators, container mode).
//! systemd refuses clients whose pid it cannot see (SO_PEERCRED), so the
//! daemon and nsctl run in that pid namespace too (nsenter); /run and
//! /run/netns are the sandbox's, shared with it.

use std::process::Stdio;
use std::time::Duration;

use netnsd_tests::wan::grant_nobody_rule;
use netnsd_tests::*;
use zbus::wire::Variant;

const UNITS: &str = "/run/sandbox/netnsd-test-units";
const GO: &str = "/run/sandbox/netnsd-spawn-go";

/// A systemd instance as PID 1 of a nested pid namespace; killed (with
/// everything in it) on drop, and its /run/systemd removed.
struct Systemd {
    unshare: std::process::Child,
    pid: u32,
}

impl Systemd {
    async fn boot() -> Systemd {
        std::fs::create_dir_all(UNITS).unwrap();
        // Targets a service's default dependencies name; none wants anything.
        for t in ["netnsd-test", "sysinit", "basic", "shutdown"] {
            std::fs::write(
                format!("{UNITS}/{t}.target"),
                "[Unit]\nDescription=netnsd test\nDefaultDependencies=no\n",
            )
            .unwrap();
        }
        // systemd joins the system bus once it believes dbus.socket and
        // dbus.service run: stand-ins, on a path of their own (the
        // sandbox's dbus-daemon is the bus), started by the test's target.
        std::fs::write(
            format!("{UNITS}/dbus.socket"),
            "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/run/sandbox/netnsd-test-dbus-standin\n",
        )
        .unwrap();
        std::fs::write(
            format!("{UNITS}/dbus.service"),
            "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep infinity\n",
        )
        .unwrap();
        std::fs::write(
            format!("{UNITS}/netnsd-test.target"),
            "[Unit]\nDescription=netnsd test\nDefaultDependencies=no\nWants=dbus.socket dbus.service\n",
        )
        .unwrap();
        // /run/netns a shared mount point before systemd's mount namespace
        // is copied, so that namespaces made later show there too.
        std::fs::create_dir_all("/run/netns").unwrap();
        run("mount", &["--bind", "/run/netns", "/run/netns"])
            .await
            .ok();
        run("mount", &["--make-shared", "/run/netns"]).await.ok();
        let unshare = std::process::Command::new("unshare")
            .args([
                "--pid",
                "--cgroup",
                "--fork",
                "--mount",
                "--propagation",
                "unchanged",
            ])
            .arg(repo_root().join("tests/systemd/boot"))
            .args([UNITS, "/run/sandbox/netnsd-test-systemd.log"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare");
        let mut sd = Systemd { unshare, pid: 0 };
        sd.pid = wait_for(Duration::from_secs(10), "systemd to boot", || async {
            let out = run("pgrep", &["-f", "^/lib/systemd/systemd --system"]).await;
            out.stdout.trim().parse::<u32>().ok()
        })
        .await;
        let conn = system_conn().await;
        wait_for(
            Duration::from_secs(10),
            "systemd on the system bus",
            || async {
                let dbus = zbus::fdo::DBusProxy::new(&conn).await.ok()?;
                let name = zbus::names::BusName::try_from("org.freedesktop.systemd1").ok()?;
                dbus.name_has_owner(name).await.ok()?.then_some(())
            },
        )
        .await;
        sd
    }

    /// `program args` in systemd's pid and mount namespaces.
    fn inside(&self, program: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new("nsenter");
        c.args([
            "--target",
            &self.pid.to_string(),
            "--pid",
            "--mount",
            "--",
            program,
        ]);
        c
    }

    async fn show(&self, unit: &str, prop: &str) -> String {
        let out = self
            .inside("systemctl")
            .args(["show", "--no-pager", "--value", "-p", prop, unit])
            .output()
            .await
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Every process systemd's pid namespace holds, as `ps` shows them.
    async fn ps(&self) -> String {
        let out = self
            .inside("ps")
            .args(["-eo", "pid,user,cmd"])
            .output()
            .await
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Systemd {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.unshare.wait();
        let _ = std::fs::remove_dir_all("/run/systemd");
        let _ = std::fs::remove_dir_all(UNITS);
        let _ = std::fs::remove_file(GO);
    }
}

/// netnsd run in systemd's namespaces; stopped with SIGTERM.
struct InnerDaemon {
    child: tokio::process::Child,
    log: std::path::PathBuf,
}

impl InnerDaemon {
    async fn start(sd: &Systemd, n: u32) -> InnerDaemon {
        let log =
            std::path::PathBuf::from(format!("/tmp/netnsd-test-systemd.{}.{n}.log", tmp_tag()));
        let file = std::fs::File::create(&log).unwrap();
        let child = sd
            .inside(netnsd_bin().to_str().unwrap())
            .env("RUST_LOG", "netnsd=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let conn = system_conn().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while name_owner_pid(&conn).await.is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "netnsd did not own its name within 10 s; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        InnerDaemon { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn stop(mut self) {
        let conn = system_conn().await;
        let pid = name_owner_pid(&conn).await.expect("netnsd runs");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("netnsd stops within 10 s")
            .unwrap();
        assert!(
            status.success(),
            "netnsd ended with {status}:\n{}",
            self.log_text()
        );
        wait_name_released().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_under_systemd_runs_a_unit_of_the_user_that_outlives_a_restart() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = PolkitRules::install(
            "50-spawn-nobody",
            &grant_nobody_rule(netnsd_api::actions::SPAWN),
        );
        wait_polkit(NOBODY_UID, netnsd_api::actions::SPAWN, true).await;
        let sd = Systemd::boot().await;
        let ps = sd.ps().await;
        assert_eq!(
            ps.lines().count(),
            4,
            "only systemd itself, the dbus.service stand-in (and ps) should run in its namespace:\n{ps}"
        );
        let daemon = InnerDaemon::start(&sd, 1).await;
        let conn = system_conn().await;
        let mut opts = std::collections::HashMap::new();
        opts.insert(
            "dns".to_string(),
            zbus::OwnedVariant::try_from(Variant::from(vec!["10.9.9.9".to_string()])).unwrap(),
        );
        controller(&conn)
            .await
            .add_network_namespace_with_options("blue", opts)
            .await
            .expect("add blue with DNS");
        ip(&[
            "-n", "blue", "link", "add", "v0", "type", "veth", "peer", "v1",
        ])
        .await
        .ok();

        // nsctl exec as nobody, in systemd's pid namespace (as on a host).
        let script = format!(
            "id -u; id -g; cat /etc/resolv.conf; ip -br link; \
             while [ ! -e {GO} ]; do sleep 0.05; done; exit 7"
        );
        let nsctl = sd
            .inside("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                nsctl_bin().to_str().unwrap(),
                "exec",
                "--no-pty",
                "blue",
                "--",
                "sh",
                "-c",
                &script,
            ])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();

        let unit = "netnsd-spawn-blue-1.service";
        wait_for(Duration::from_secs(10), "the unit to run", || async {
            (sd.show(unit, "SubState").await == "running").then_some(())
        })
        .await;
        assert_eq!(
            sd.show(unit, "ControlGroup").await,
            format!("/user.slice/user-65534.slice/{unit}")
        );
        assert_eq!(sd.show(unit, "Slice").await, "user-65534.slice");
        assert_eq!(sd.show(unit, "User").await, "65534");
        assert_eq!(
            sd.show(unit, "NetworkNamespacePath").await,
            "/run/netns/blue"
        );
        let main_pid = sd.show(unit, "MainPID").await;
        assert_ne!(main_pid, "0");

        // A restart of netnsd leaves the program running.
        daemon.stop().await;
        assert_eq!(
            sd.show(unit, "SubState").await,
            "running",
            "{}",
            sd.ps().await
        );
        assert_eq!(sd.show(unit, "MainPID").await, main_pid);
        let daemon = InnerDaemon::start(&sd, 2).await;
        // The namespace is still in use: the restarted daemon knows.
        let r = controller(&conn)
            .await
            .remove_network_namespace("blue")
            .await;
        assert!(r.is_err(), "blue was removed under a running program");

        std::fs::write(GO, "").unwrap();
        let out = tokio::time::timeout(Duration::from_secs(15), nsctl.wait_with_output())
            .await
            .expect("nsctl ends")
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(7),
            "the exit status reaches nsctl\nstdout:\n{stdout}\nstderr:\n{stderr}\nnetnsd:\n{}",
            daemon.log_text()
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines[0], "65534", "{stdout}");
        assert_eq!(lines[1], "65534", "{stdout}");
        assert!(stdout.contains("nameserver 10.9.9.9"), "{stdout}");
        assert!(
            stdout.contains("v0@v1") && stdout.contains("lo"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("uplink") || stdout.contains("v0"),
            "{stdout}"
        );
        // Its unit let go once the status was read.
        wait_for(Duration::from_secs(5), "the unit to go", || async {
            (sd.show(unit, "LoadState").await == "not-found").then_some(())
        })
        .await;

        // On a terminal (script gives nsctl one), the unit's program gets
        // the pseudo-terminal nsctl passes as its controlling terminal, as
        // with `systemd-run --pty`; what it prints comes back through it.
        let cmd = format!(
            "{} exec blue -- sh -c 'test -t 0 && echo stdin-is-a-tty; \
             exec 3</dev/tty && echo has-ctty; tty; exit 5'",
            nsctl_bin().to_str().unwrap()
        );
        let out = sd
            .inside("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args(["env", "TERM=dumb", "script", "-qec", &cmd, "/dev/null"])
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = tokio::time::timeout(Duration::from_secs(15), out.wait_with_output())
            .await
            .expect("nsctl on a terminal ends")
            .unwrap();
        let seen = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(5),
            "{seen}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(seen.contains("stdin-is-a-tty"), "{seen}");
        assert!(seen.contains("has-ctty"), "{seen}");
        assert!(seen.contains("/dev/pts/"), "{seen}");
        controller(&conn)
            .await
            .remove_network_namespace("blue")
            .await
            .expect("remove blue");
        daemon.stop().await;
        drop(sd);
    })
    .await;
}
