//! Split DNS: a DNS forwarder (Debian's dnsmasq) run by the daemon inside a
//! namespace that has both its own DNS (an uplink's, SetDns) and a VPN that
//! is not isolated. The VPN's domains go to the VPN's servers, everything
//! else to the namespace's own: the recipe of `server=/corp.example/VPN-DNS`.
//!
//! Its files live under `STATE_DIR/dnsmasq` (`/run/netnsd/dnsmasq`):
//! `NAME.conf` (the options: no resolv.conf, no hosts file, no DHCP,
//! listening on 127.0.0.1 and ::1 inside the namespace only), `NAME.servers`
//! (the `server=` lines, read again on SIGHUP) and `NAME.pid`.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use netnsd_api::Error;

/// The program, from Debian's dnsmasq-base.
pub const PROGRAM: &str = "dnsmasq";

/// The directory of the forwarders' files in the daemon's state directory.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("dnsmasq")
}

/// The files of namespace `name`'s forwarder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    pub conf: PathBuf,
    pub servers: PathBuf,
    pub pid: PathBuf,
}

impl Files {
    pub fn of(state_dir: &Path, name: &str) -> Files {
        let d = dir(state_dir);
        Files {
            conf: d.join(format!("{name}.conf")),
            servers: d.join(format!("{name}.servers")),
            pid: d.join(format!("{name}.pid")),
        }
    }

    /// Removes them (those that are there).
    pub fn remove(&self) {
        for f in [&self.conf, &self.servers, &self.pid] {
            let _ = fs::remove_file(f);
        }
    }
}

/// Whether `d` can go into a `server=/DOMAIN/` line: a DNS name of
/// letters, digits, `-` and `_`, labels of 1–63 bytes, 253 at most. What a
/// VPN pushes is not trusted: a `/`, a space or a newline would change
/// dnsmasq's configuration.
pub fn valid_domain(d: &str) -> bool {
    let d = d.strip_suffix('.').unwrap_or(d);
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The options file.
pub fn conf_text(name: &str, files: &Files) -> String {
    format!(
        "# Written by netnsd: the split DNS forwarder of namespace {name}.\n\
         # Upstream servers only from the servers file: no resolv.conf,\n\
         # no hosts file, no DHCP; listening inside the namespace only.\n\
         no-resolv\n\
         no-hosts\n\
         no-poll\n\
         domain-needed\n\
         bind-dynamic\n\
         listen-address=127.0.0.1\n\
         listen-address=::1\n\
         port=53\n\
         user=nobody\n\
         group=nogroup\n\
         log-facility=-\n\
         pid-file={}\n\
         servers-file={}\n",
        files.pid.display(),
        files.servers.display()
    )
}

/// The servers file: each VPN domain to its VPN's servers, the rest to
/// `upstream`.
pub fn servers_text(upstream: &[IpAddr], split: &[(Vec<String>, Vec<IpAddr>)]) -> String {
    let mut s = String::from("# Written by netnsd.\n");
    for (domains, servers) in split {
        for d in domains {
            for srv in servers {
                let _ = writeln!(s, "server=/{d}/{srv}");
            }
        }
    }
    for srv in upstream {
        let _ = writeln!(s, "server={srv}");
    }
    s
}

/// Writes `text` to `path` (root's, 0644: nothing secret), atomically.
fn write_file(path: &Path, text: &str) -> io::Result<()> {
    let tmp = path.with_extension("new");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
    }
    fs::rename(&tmp, path)
}

/// Writes the options and servers files.
pub fn write(files: &Files, conf: &str, servers: &str) -> io::Result<()> {
    if let Some(d) = files.conf.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(d)?;
    }
    write_file(&files.conf, conf)?;
    write_file(&files.servers, servers)
}

/// Writes the servers file again (then SIGHUP makes dnsmasq read it).
pub fn write_servers(files: &Files, servers: &str) -> io::Result<()> {
    write_file(&files.servers, servers)
}

/// Starts dnsmasq in the namespace `netns` (blocking: call it off the
/// runtime), in the foreground, its log on its stderr.
pub fn start(files: &Files, netns: File) -> Result<Child, Error> {
    let mut cmd = crate::helpers::command(PROGRAM).map_err(|_| {
        Error::NotSupported(format!(
            "{PROGRAM} is not installed (Debian package dnsmasq-base)"
        ))
    })?;
    cmd.arg("--keep-in-foreground")
        .arg(format!("--conf-file={}", files.conf.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setns is async-signal-safe; the closure only makes that call.
    unsafe {
        cmd.pre_exec(move || {
            nix::sched::setns(netns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(io::Error::from)
        });
    }
    cmd.spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Error::NotSupported(format!(
                "{PROGRAM} is not installed (Debian package dnsmasq-base)"
            ))
        } else {
            Error::Failed(format!("start {PROGRAM}: {e}"))
        }
    })
}

/// Waits (blocking, at most `limit`) for dnsmasq's pid file, which it
/// writes once its sockets are bound; whether it came.
pub fn wait_ready(files: &Files, limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if fs::read_to_string(&files.pid).is_ok_and(|p| !p.trim().is_empty()) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Whether a process's command line (NUL-separated) is the forwarder whose
/// options file is `conf`.
pub fn is_ours(cmdline: &[u8], conf: &Path) -> bool {
    let want = format!("--conf-file={}", conf.display());
    let mut args = cmdline.split(|b| *b == 0).filter(|a| !a.is_empty());
    args.next().is_some_and(|p| p.ends_with(PROGRAM.as_bytes()))
        && args.any(|a| a == want.as_bytes())
}

/// Sends `sig` to `pid` (never to 0, which would be the daemon's group).
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    if pid == 0 {
        return;
    }
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_domains_are_checked_before_they_reach_the_config() {
        for ok in ["corp.example", "intranet.corp.example.", "a_b-c.d", "x"] {
            assert!(valid_domain(ok), "{ok}");
        }
        let long = format!("{}.example", "a".repeat(64));
        for bad in [
            "",
            ".",
            "a..b",
            "corp/10.0.0.1",
            "corp example",
            "corp\nserver=1.2.3.4",
            "#",
            long.as_str(),
        ] {
            assert!(!valid_domain(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_files_say_what_goes_where() {
        let files = Files::of(Path::new("/run/netnsd"), "work");
        assert_eq!(files.conf, Path::new("/run/netnsd/dnsmasq/work.conf"));
        let conf = conf_text("work", &files);
        for line in [
            "no-resolv",
            "no-hosts",
            "listen-address=127.0.0.1",
            "listen-address=::1",
            "pid-file=/run/netnsd/dnsmasq/work.pid",
            "servers-file=/run/netnsd/dnsmasq/work.servers",
        ] {
            assert!(conf.lines().any(|l| l == line), "{line} in\n{conf}");
        }
        assert!(!conf.contains("dhcp"), "{conf}");
        let up: Vec<IpAddr> = vec!["192.0.2.53".parse().unwrap()];
        let vpn = vec![(
            vec!["corp.example".to_string(), "lab.example".to_string()],
            vec![
                "10.8.0.53".parse().unwrap(),
                "fd00::53".parse::<IpAddr>().unwrap(),
            ],
        )];
        let s = servers_text(&up, &vpn);
        let lines: Vec<&str> = s.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "server=/corp.example/10.8.0.53",
                "server=/corp.example/fd00::53",
                "server=/lab.example/10.8.0.53",
                "server=/lab.example/fd00::53",
                "server=192.0.2.53",
            ]
        );
    }

    #[test]
    fn only_our_forwarder_is_recognised() {
        let conf = Path::new("/run/netnsd/dnsmasq/work.conf");
        assert!(is_ours(
            b"/usr/sbin/dnsmasq\0--keep-in-foreground\0--conf-file=/run/netnsd/dnsmasq/work.conf\0",
            conf
        ));
        assert!(!is_ours(
            b"/usr/sbin/dnsmasq\0--conf-file=/run/netnsd/dnsmasq/work2.conf\0",
            conf
        ));
        assert!(!is_ours(
            b"sleep\0--conf-file=/run/netnsd/dnsmasq/work.conf\0",
            conf
        ));
        assert!(!is_ours(b"", conf));
    }
}
