//! The Debian package (issue 18 item 6): built with cargo-deb from the
//! debug build (what `scripts/deb --debug` does; a release build would take
//! minutes), installed with `dpkg -i` into the sandbox itself — whose /usr,
//! /etc, /var/lib (dpkg's database), /var/log and /var/cache are overlays
//! that vanish with it, so the host's dpkg and files are untouched — then:
//! the daemon starts from the installed files (the bus activates
//! /usr/libexec/netnsd through the installed activation file and policy),
//! the installed nsctl lists namespaces, man pages and completions are in
//! place; `dpkg --purge` stops the daemon and leaves no file the package
//! installed, nor /etc/netnsd or /run/netnsd.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use netnsd_tests::*;

const PACKAGE: &str = "netnsd";
const INSTALLED_DAEMON: &str = "/usr/libexec/netnsd";
const INSTALLED_NSCTL: &str = "/usr/bin/nsctl";
/// Where the .deb is written: the sandbox's /run tmpfs.
const OUT_DIR: &str = "/run/netnsd-package-test";

/// The mount points of overlays in this mount namespace.
fn overlay_mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            (fields.get(sep + 1) == Some(&"overlay")).then(|| fields[4].to_owned())
        })
        .collect()
}

/// Runs a command that may take longer than the harness's 30 s for one
/// command (cargo deb compresses 80 MB of debug binaries; dpkg runs
/// man-db's trigger), with a limit of its own; fails the test if it fails.
async fn run_long(program: &str, args: &[&str], limit: Duration) -> (String, String) {
    let what = format!("{program} {}", args.join(" "));
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{what}` did not finish within {limit:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "`{what}` failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

/// Purges the package and stops an installed daemon (if the test ends
/// early), then puts back the files the package replaced: the sandbox
/// installs the bus policy and polkit actions itself, at the paths the
/// package uses, and `dpkg --purge` removes them. The next tests in this
/// sandbox find them as they were, and no activation file.
struct Uninstall {
    saved: Vec<(String, Vec<u8>, std::fs::Permissions)>,
}

impl Uninstall {
    /// Saves those of `paths` that are files now.
    fn saving(paths: &[&String]) -> Uninstall {
        let saved = paths
            .iter()
            .filter(|p| Path::new(p.as_str()).is_file())
            .map(|p| {
                let meta = std::fs::metadata(p.as_str()).unwrap();
                (
                    p.to_string(),
                    std::fs::read(p.as_str()).unwrap(),
                    meta.permissions(),
                )
            })
            .collect();
        Uninstall { saved }
    }

    fn restore(&self) {
        for (path, bytes, perms) in &self.saved {
            if let Some(dir) = Path::new(path).parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            std::fs::write(path, bytes).unwrap();
            std::fs::set_permissions(path, perms.clone()).unwrap();
        }
        // dbus-daemon notices the policy file by itself; make sure.
        let _ = std::process::Command::new("dbus-send")
            .args([
                "--system",
                "--type=method_call",
                "--dest=org.freedesktop.DBus",
            ])
            .args(["/", "org.freedesktop.DBus.ReloadConfig"])
            .status();
    }
}

impl Drop for Uninstall {
    fn drop(&mut self) {
        let _ = std::process::Command::new("dpkg")
            .args(["--purge", PACKAGE])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::process::Command::new("start-stop-daemon")
            .args(["--stop", "--quiet", "--oknodo", "--signal", "KILL"])
            .args(["--exec", INSTALLED_DAEMON])
            .stderr(std::process::Stdio::null())
            .status();
        self.restore();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deb_installs_starts_lists_and_purges_clean() {
    let _env = TestEnv::new();
    timed_within(Duration::from_secs(400), async {
        // dpkg writes only into overlays here: never the host's database.
        let overlays = overlay_mounts();
        for dir in ["/usr", "/etc", "/var/lib", "/var/log", "/var/cache"] {
            assert!(
                overlays.contains(dir),
                "{dir} is not an overlay in the sandbox; refusing to run dpkg: {overlays:?}"
            );
        }
        let status = run("dpkg-query", &["-W", "-f=${Status}", PACKAGE]).await;
        assert!(
            !status.stdout.contains("installed"),
            "{PACKAGE} is installed already: {status}"
        );

        // Build it.
        let _ = std::fs::remove_dir_all(OUT_DIR);
        std::fs::create_dir_all(OUT_DIR).unwrap();
        let started = Instant::now();
        let repo = repo_root();
        let script = format!(
            "cd '{}' && cargo deb --version >/dev/null 2>&1 || \
             {{ echo 'cargo-deb is missing: tests/run installs it'; exit 1; }}; \
             cargo deb --locked --offline -p netnsd --no-build --profile dev --fast \
             --no-strip --output {OUT_DIR}",
            repo.display()
        );
        let out = run_long("sh", &["-c", &script], Duration::from_secs(150)).await;
        let built = started.elapsed();
        let deb = std::fs::read_dir(OUT_DIR)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .unwrap_or_else(|| panic!("no .deb in {OUT_DIR}: {out:?}"));
        let deb = deb.to_str().unwrap().to_owned();

        // What it holds, and which of those paths exist before it is installed.
        let contents = run("dpkg-deb", &["--contents", &deb]).await.ok();
        let paths: Vec<String> = contents
            .stdout
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .map(|p| p.trim_start_matches('.').trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        for want in [
            INSTALLED_DAEMON,
            INSTALLED_NSCTL,
            "/lib/systemd/system/netnsd.service",
            "/usr/share/dbus-1/system.d/net.netnsd.Netns1.conf",
            "/usr/share/dbus-1/system-services/net.netnsd.Netns1.service",
            "/usr/share/polkit-1/actions/net.netnsd.Netns1.policy",
            "/usr/share/bash-completion/completions/nsctl",
            "/usr/share/zsh/vendor-completions/_nsctl",
            "/usr/share/fish/vendor_completions.d/nsctl.fish",
        ] {
            assert!(paths.iter().any(|p| p == want), "{want} not in the package: {contents}");
        }
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("/usr/share/man/man1/nsctl-monitor.1")),
            "man pages: {contents}"
        );
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("/usr/share/man/man8/netnsd.8")),
            "the daemon's man page: {contents}"
        );
        let existed: BTreeSet<&String> = paths.iter().filter(|p| Path::new(p).exists()).collect();
        let control = run("dpkg-deb", &["--info", &deb]).await.ok();
        for script in ["postinst", "prerm", "postrm"] {
            assert!(control.stdout.contains(script), "{script}: {control}");
        }

        let etc_existed: Vec<bool> = ["/etc/netnsd", "/run/netnsd"]
            .iter()
            .map(|d| Path::new(d).exists())
            .collect();

        // Install it.
        let existed_files: Vec<&String> = existed.iter().copied().collect();
        let uninstall = Uninstall::saving(&existed_files);
        let started = Instant::now();
        run_long("dpkg", &["-i", &deb], Duration::from_secs(90)).await;
        let installed = started.elapsed();
        let listed = run("dpkg", &["-L", PACKAGE]).await.ok();
        let listed: Vec<String> = listed.stdout.lines().map(str::to_owned).collect();
        assert!(listed.iter().any(|p| p == INSTALLED_DAEMON), "{listed:?}");

        // The daemon starts from the installed files: the installed nsctl's
        // call makes the bus activate /usr/libexec/netnsd.
        let out = run(INSTALLED_NSCTL, &["list"]).await.ok();
        assert!(
            out.stdout.lines().nth(1).is_some_and(|l| l.starts_with("rootns ")),
            "{out}"
        );
        let conn = system_conn().await;
        let pid = name_owner_pid(&conn)
            .await
            .expect("net.netnsd.Netns1 has an owner");
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        assert_eq!(exe, Path::new(INSTALLED_DAEMON), "the bus started {exe:?}");
        let out = run(INSTALLED_NSCTL, &["add", "pkg-test"]).await.ok();
        assert!(out.stdout.starts_with("/net/netnsd/Netns1/NetworkNamespace/"), "{out}");
        run(INSTALLED_NSCTL, &["delete", "pkg-test"]).await.ok();
        let man = run("man", &["-w", "nsctl-graph"]).await;
        if man.code() != Some(127) && Path::new("/usr/bin/man").exists() {
            assert!(man.stdout.contains("/usr/share/man/man1/nsctl-graph.1"), "{man}");
        }

        // Purge it: the daemon stops (prerm), and nothing it installed stays.
        let started = Instant::now();
        run_long("dpkg", &["--purge", PACKAGE], Duration::from_secs(90)).await;
        let purged = started.elapsed();
        wait_name_released().await;
        let status = run("dpkg-query", &["-W", "-f=${Status}", PACKAGE]).await;
        assert!(!status.stdout.contains("ok installed"), "{status}");
        let left: Vec<&String> = listed
            .iter()
            .chain(&paths)
            .filter(|p| !existed.contains(p) && p.as_str() != "/." && Path::new(p).exists())
            .collect();
        assert!(left.is_empty(), "left after dpkg --purge: {left:#?}");
        // Gone unless they were there before (an earlier test's profiles).
        for (dir, was) in ["/etc/netnsd", "/run/netnsd"].iter().zip(etc_existed) {
            assert!(
                was || !Path::new(dir).exists(),
                "{dir} left after dpkg --purge"
            );
        }
        // The sandbox's own bus policy and polkit actions, back in place.
        uninstall.restore();
        for (path, bytes, _) in &uninstall.saved {
            assert_eq!(&std::fs::read(path).unwrap(), bytes, "{path}");
        }
        std::fs::remove_dir_all(OUT_DIR).unwrap();
        eprintln!(
            "package test: cargo deb {built:.1?}, dpkg -i {installed:.1?}, dpkg --purge {purged:.1?}"
        );
    })
    .await;
}
