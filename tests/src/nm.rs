//! The real NetworkManager (Debian's network-manager, 1.42, with its
//! OpenVPN and OpenConnect plugins) run inside the sandbox: `NetworkManager
//! --no-daemon` with the keyfile plugin, on the sandbox's private system
//! bus (its policy comes from /usr/share/dbus-1/system.d, which the bus
//! reads), its configuration, state and run files in the sandbox's tmpfs
//! and overlays. Used to make profiles as NetworkManager writes them
//! (`nmcli connection import`/`add`) and to run it beside netnsd.
//!
//! NetworkManager's platform uses udev only where /sys is writable (and it
//! runs in the initial network namespace: libnm-platform's
//! `nm_linux_platform_new`); with udev it waits for udev to "initialize"
//! every link before managing it, and the sandbox has no udev, so it
//! manages nothing there. With a read-only /sys (as in a container) it
//! takes every link as initialized at once. [`RealNm::start_managing`]
//! starts it so: in a mount namespace of its own in which /sys is remounted
//! read-only (nothing else changes; the test's /sys stays writable).

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
        RealNm::spawn(extra, conf_d, false).await
    }

    /// As [`RealNm::start_with`], but NetworkManager sees /sys read-only
    /// (its own mount namespace) and so does without udev: it manages the
    /// devices its configuration does not leave unmanaged.
    pub async fn start_managing(extra: &str, conf_d: Option<&Path>) -> RealNm {
        RealNm::spawn(extra, conf_d, true).await
    }

    async fn spawn(extra: &str, conf_d: Option<&Path>, sys_read_only: bool) -> RealNm {
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
        let mut cmd = Command::new(NETWORKMANAGER_BIN);
        if sys_read_only {
            use std::os::unix::process::CommandExt;
            // SAFETY: between fork and exec only unshare(2) and mount(2)
            // run, with strings made before the fork.
            unsafe {
                cmd.pre_exec(sys_read_only_in_own_mount_ns);
            }
        }
        let child = cmd
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

/// In the child, before exec: a mount namespace of its own (mounts
/// private to it), /sys in it remounted read-only.
fn sys_read_only_in_own_mount_ns() -> std::io::Result<()> {
    let check = |r: libc::c_int| {
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    // SAFETY: plain syscalls with NUL-terminated literals.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        check(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check(libc::mount(
            std::ptr::null(),
            c"/sys".as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT
                | libc::MS_BIND
                | libc::MS_RDONLY
                | libc::MS_NOSUID
                | libc::MS_NODEV
                | libc::MS_NOEXEC,
            std::ptr::null(),
        ))
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
