//! The systemd unit's hardening, as `systemd-analyze security` rates it
//! (offline: systemd is not PID 1 in the sandbox, so the unit is analysed,
//! not run), and the promise it makes: no option that would give the
//! service a mount namespace of its own and hide /run/netns from the host.

use netnsd_tests::*;
use std::path::{Path, PathBuf};

/// Exposure of the unit as installed (issue 12, item 14). Spawn's programs
/// are units of their own where systemd runs, so the unit is set for the
/// daemon and the VPN clients only.
const MAX_EXPOSURE: f64 = 6.0;

/// A root directory for `systemd-analyze --root` with the unit under
/// /etc/systemd/system, and each (name, file) as one of its drop-ins.
fn unit_root(tag: &str, dropins: &[(&str, &Path)]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("netnsd-unit-hardening.{}.{tag}", tmp_tag()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("etc/systemd/system");
    std::fs::create_dir_all(dir.join("netnsd.service.d")).unwrap();
    std::fs::copy(
        repo_root().join("systemd/netnsd.service"),
        dir.join("netnsd.service"),
    )
    .unwrap();
    for (name, file) in dropins {
        std::fs::copy(file, dir.join("netnsd.service.d").join(name)).unwrap();
    }
    root
}

/// `systemd-analyze security --offline=true` of netnsd.service under root:
/// its "Overall exposure level" and the whole output.
fn exposure(root: &Path) -> (f64, String) {
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(format!("--root={}", root.display()))
        .arg("netnsd.service")
        .env("SYSTEMD_COLORS", "0")
        .output()
        .expect("run systemd-analyze (Debian package systemd)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze failed:\n{text}");
    // "→ Overall exposure level for netnsd.service: 8.1 EXPOSED 🙁"
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level for netnsd.service:"))
        .unwrap_or_else(|| panic!("no overall exposure line in:\n{text}"));
    let value = line
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure in {line:?}"));
    (value, text)
}

#[test]
fn unit_exposure_is_at_most_6() {
    let root = unit_root("plain", &[]);
    let (value, text) = exposure(&root);
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        value <= MAX_EXPOSURE,
        "netnsd.service rated {value} (want <= {MAX_EXPOSURE}):\n{text}"
    );
}

/// Options that run the service in a mount namespace of its own, where the
/// /run/netns/NAME bind mounts would be invisible to the host.
const MOUNT_NAMESPACING: &[&str] = &[
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateMounts",
    "PrivateIPC",
    "PrivateUsers",
    "PrivateNetwork",
    "NetworkNamespacePath",
    "ReadWritePaths",
    "ReadOnlyPaths",
    "InaccessiblePaths",
    "ExecPaths",
    "NoExecPaths",
    "TemporaryFileSystem",
    "BindPaths",
    "BindReadOnlyPaths",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectProc",
    "ProcSubset",
    "RootDirectory",
    "RootImage",
    "MountAPIVFS",
    "DynamicUser",
];

#[test]
fn unit_keeps_the_hosts_mount_namespace() {
    for file in ["systemd/netnsd.service"] {
        let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let key = line.split('=').next().unwrap_or("").trim();
            assert!(
                !MOUNT_NAMESPACING.contains(&key),
                "{file} sets {key}=, which gives the service its own mount \
                 namespace and hides /run/netns from the host"
            );
        }
    }
}
