//! The real NetworkManager (Debian's network-manager, 1.42, with its
//! OpenVPN and OpenConnect plugins) run inside the sandbox: `NetworkManager
//! --no-daemon` with the keyfile plugin, on the sandbox's private system
//! bus (its policy comes from /usr/share/dbus-1/system.d, which the bus
//! reads), its configuration, state and run files in the sandbox's tmpfs
//! and overlays. Used to make profiles as NetworkManager writes them
//! (`nmcli connection import`/`add`) and to run it beside netnsd.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::*;

pub const NETWORKMANAGER_BIN: &str = "/usr/sbin/NetworkManager";
pub const NMCLI_BIN: &str = "/usr/bin/nmcli";
/// Where NetworkManager's keyfile plugin writes profiles (in the
/// sandbox's /etc overlay).
pub const NM_CONNECTIONS_DIR: &str = "/etc/NetworkManager/system-connections";
/// The rig's directory: the configuration, the log, the imported files.
pub const NM_RIG_DIR: &str = "/run/netnsd-tests-nm";

/// A running NetworkManager, stopped when dropped.
pub struct RealNm {
    child: Option<Child>,
    log: PathBuf,
}

impl RealNm {
    /// Starts NetworkManager with `[keyfile] unmanaged-devices=*`.
    pub async fn start() -> RealNm {
        RealNm::start_with("[keyfile]\nunmanaged-devices=*\n", None).await
    }

    /// Starts NetworkManager with `extra` appended to its configuration
    /// and `conf_d` (if given) as its conf.d directory; waits until nmcli
    /// gets an answer from it.
    pub async fn start_with(extra: &str, conf_d: Option<&Path>) -> RealNm {
        std::fs::create_dir_all(NM_RIG_DIR).unwrap();
        let dir = Path::new(NM_RIG_DIR);
        // Profiles left by an earlier test of this sandbox go.
        if let Ok(rd) = std::fs::read_dir(NM_CONNECTIONS_DIR) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let conf = dir.join("NetworkManager.conf");
        std::fs::write(
            &conf,
            format!(
                "[main]\nplugins=keyfile\ndns=none\nrc-manager=unmanaged\nno-auto-default=*\n\
                 hostname-mode=none\n\n[connectivity]\nenabled=false\n\n\
                 [logging]\nlevel=INFO\nbackend=debug\n\n{extra}"
            ),
        )
        .unwrap();
        let empty = dir.join("conf.d.empty");
        std::fs::create_dir_all(&empty).unwrap();
        let conf_d = conf_d.unwrap_or(&empty);
        let log = dir.join("NetworkManager.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(NETWORKMANAGER_BIN)
            .args(["--no-daemon", "--debug"])
            .arg(format!("--config={}", conf.display()))
            .arg(format!("--config-dir={}", conf_d.display()))
            .arg(format!("--system-config-dir={}", empty.display()))
            .arg(format!(
                "--pid-file={}",
                dir.join("NetworkManager.pid").display()
            ))
            .arg(format!(
                "--state-file={}",
                dir.join("NetworkManager.state").display()
            ))
            .arg(format!(
                "--intern-config={}",
                dir.join("NetworkManager-intern.conf").display()
            ))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start NetworkManager");
        let nm = RealNm {
            child: Some(child),
            log,
        };
        wait_for(
            Duration::from_secs(20),
            "NetworkManager to answer",
            || async {
                let o = run(NMCLI_BIN, &["-t", "-f", "RUNNING", "general"]).await;
                (o.success() && o.stdout.contains("running")).then_some(())
            },
        )
        .await;
        nm
    }

    /// nmcli with these arguments; panics if it fails.
    pub async fn nmcli(&self, args: &[&str]) -> String {
        let o = run(NMCLI_BIN, args).await;
        assert!(o.success(), "nmcli {args:?}: {o}\n{}", self.log_text());
        o.stdout
    }

    /// The keyfile NetworkManager wrote for the profile `id`, unchanged.
    pub fn keyfile_of(&self, id: &str) -> String {
        let p = Path::new(NM_CONNECTIONS_DIR).join(format!("{id}.nmconnection"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Writes `text` to the rig's directory as `name`, mode 0600 (it may
    /// hold a key); returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = Path::new(NM_RIG_DIR).join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p.display().to_string()
    }

    pub fn log_text(&self) -> String {
        format!(
            "----- NetworkManager ({}) -----\n{}",
            self.log.display(),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }
}

impl Drop for RealNm {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_text());
        }
        if let Some(mut c) = self.child.take() {
            // SIGTERM, as systemd stops it; then wait.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            for _ in 0..50 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
