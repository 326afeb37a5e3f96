//! Per-namespace name resolution files under /etc/netns/NAME, which
//! `ip netns exec` and Spawn bind over /etc: resolv.conf, hosts and
//! nsswitch.conf. Written atomically and world-readable; the host's own
//! files are only ever read.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A namespace's DNS settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    pub servers: Vec<IpAddr>,
    pub search: Vec<String>,
}

pub fn resolv_conf(d: &Dns) -> String {
    let mut s = String::from("# Written by netnsd for this network namespace.\n");
    for ns in &d.servers {
        s.push_str(&format!("nameserver {ns}\n"));
    }
    if !d.search.is_empty() {
        s.push_str(&format!("search {}\n", d.search.join(" ")));
    }
    s
}

pub const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// The host's nsswitch.conf with hosts resolved by files and DNS only, so
/// that no resolver outside the namespace (systemd-resolved, mDNS, nscd) is
/// asked.
pub fn nsswitch_conf(host: &str) -> String {
    let mut out =
        String::from("# Written by netnsd: the host's file, hosts by files and dns only.\n");
    let mut seen = false;
    for line in host.lines() {
        if line.trim_start().starts_with("hosts:") {
            out.push_str("hosts: files dns\n");
            seen = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !seen {
        out.push_str("hosts: files dns\n");
    }
    out
}

/// Checks a search domain: what resolv.conf can carry.
pub fn check_search(domain: &str) -> Result<(), String> {
    if domain.is_empty() || domain.len() > 253 {
        return Err(format!("search domain {domain:?} must be 1 to 253 bytes"));
    }
    if !domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err(format!(
            "search domain {domain:?} has characters a domain cannot have"
        ));
    }
    Ok(())
}

/// The name [`write_atomic`] writes `path` under before renaming it: a
/// crash in between leaves it, and [`remove`] takes it away as its own.
fn tmp_of(path: &Path) -> PathBuf {
    path.with_extension("netnsd-tmp")
}

/// Writes `path` whole or not at all for its readers: the content goes to
/// [`tmp_of`] first, then takes `path`'s place in one rename. Not synced
/// to disk: these files describe a namespace, which does not outlive the
/// machine's next start (nor does the daemon's record of them, in /run),
/// so after a crash of the machine they are what is left of a dead
/// namespace whether synced or not, and a namespace made again under that
/// name writes them anew. An fsync per file cost a journal commit each,
/// three per namespace made on a host whose /etc is on disk (~1 ms a
/// create on ext4, docs/benchmarks.md).
fn write_atomic(path: &Path, content: &str) -> io::Result<()> {
    let tmp = tmp_of(path);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(content.as_bytes())?;
    }
    fs::rename(&tmp, path)
}

/// The directory of namespace `name`'s files.
pub fn dir(etc_netns: &Path, name: &str) -> PathBuf {
    etc_netns.join(name)
}

/// Writes resolv.conf, hosts and nsswitch.conf for namespace `name`.
pub fn write(etc_netns: &Path, name: &str, d: &Dns, host_nsswitch: &Path) -> io::Result<()> {
    let dir = dir(etc_netns, name);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&dir)?;
    write_atomic(&dir.join("resolv.conf"), &resolv_conf(d))?;
    write_atomic(&dir.join("hosts"), HOSTS)?;
    let host = fs::read_to_string(host_nsswitch).unwrap_or_default();
    write_atomic(&dir.join("nsswitch.conf"), &nsswitch_conf(&host))
}

/// Removes the files netnsd wrote for namespace `name`, and the directory
/// when nothing else (an administrator's own file) is left in it.
pub fn remove(etc_netns: &Path, name: &str) -> io::Result<()> {
    let dir = dir(etc_netns, name);
    // Each file, and the temporary one a write cut short by a crash left
    // (else the directory stays, "not empty", with no record of it).
    for f in FILES {
        for path in [dir.join(f), tmp_of(&dir.join(f))] {
            match fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
    }
    match fs::remove_dir(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        // Not empty: leave what is not ours.
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The files netnsd writes for a namespace.
pub const FILES: [&str; 3] = ["resolv.conf", "hosts", "nsswitch.conf"];

/// The contents of namespace `name`'s files that are there now (name and
/// bytes), to be put back with [`put_back`]. Only regular files are read,
/// never through a symbolic link.
pub fn snapshot(etc_netns: &Path, name: &str) -> io::Result<Vec<(String, Vec<u8>)>> {
    let dir = dir(etc_netns, name);
    let mut out = Vec::new();
    for f in FILES {
        let path = dir.join(f);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => out.push((f.to_owned(), fs::read(&path)?)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Writes back files taken with [`snapshot`] (world-readable, as before).
pub fn put_back(etc_netns: &Path, name: &str, files: &[(String, Vec<u8>)]) -> io::Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let dir = dir(etc_netns, name);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&dir)?;
    for (f, bytes) in files.iter().filter(|(f, _)| FILES.contains(&f.as_str())) {
        write_atomic(&dir.join(f), &String::from_utf8_lossy(bytes))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_say_what_was_asked() {
        let d = Dns {
            servers: vec!["10.0.0.53".parse().unwrap(), "fd00::53".parse().unwrap()],
            search: vec!["corp.example".into()],
        };
        let r = resolv_conf(&d);
        assert!(
            r.contains("nameserver 10.0.0.53\nnameserver fd00::53\nsearch corp.example\n"),
            "{r}"
        );
        let n = nsswitch_conf(
            "passwd: files systemd\nhosts: files mdns4_minimal [NOTFOUND=return] dns resolve\n",
        );
        assert!(n.contains("passwd: files systemd\n"));
        assert!(n.contains("hosts: files dns\n"));
        assert!(!n.contains("resolve"));
        assert!(nsswitch_conf("").contains("hosts: files dns"));
    }

    #[test]
    fn a_write_cut_short_is_removed_with_the_rest() {
        let etc = tempfile::tempdir().unwrap();
        let d = Dns {
            servers: vec!["10.0.0.53".parse().unwrap()],
            search: vec![],
        };
        write(etc.path(), "cut", &d, Path::new("/nonexistent")).unwrap();
        // What a SIGKILL between write_atomic's create and its rename
        // leaves beside the files.
        let left = tmp_of(&dir(etc.path(), "cut").join("resolv.conf"));
        std::fs::write(&left, "half").unwrap();
        remove(etc.path(), "cut").unwrap();
        assert!(!dir(etc.path(), "cut").exists());
    }

    #[test]
    fn write_and_remove() {
        let tmp = tempfile::tempdir().unwrap();
        let nss = tmp.path().join("nsswitch.conf");
        fs::write(&nss, "hosts: files resolve\n").unwrap();
        let d = Dns {
            servers: vec!["192.0.2.1".parse().unwrap()],
            search: vec![],
        };
        write(tmp.path(), "vpn", &d, &nss).unwrap();
        let dir = tmp.path().join("vpn");
        use std::os::unix::fs::PermissionsExt;
        for f in ["resolv.conf", "hosts", "nsswitch.conf"] {
            let m = fs::metadata(dir.join(f)).unwrap();
            assert_eq!(m.permissions().mode() & 0o777, 0o644, "{f}");
        }
        assert_eq!(fs::read_to_string(&nss).unwrap(), "hosts: files resolve\n");
        remove(tmp.path(), "vpn").unwrap();
        assert!(!dir.exists());
        remove(tmp.path(), "vpn").unwrap();
        // An administrator's own file stays, and so does the directory.
        write(tmp.path(), "vpn", &d, &nss).unwrap();
        fs::write(dir.join("gai.conf"), "").unwrap();
        remove(tmp.path(), "vpn").unwrap();
        assert!(dir.join("gai.conf").exists());
        assert!(!dir.join("resolv.conf").exists());
    }

    #[test]
    fn files_put_back_as_they_were() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vpn");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("resolv.conf"), "nameserver 192.0.2.9\n").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", dir.join("hosts")).unwrap();
        let saved = snapshot(tmp.path(), "vpn").unwrap();
        assert_eq!(
            saved,
            vec![("resolv.conf".to_owned(), b"nameserver 192.0.2.9\n".to_vec())]
        );
        remove(tmp.path(), "vpn").unwrap();
        put_back(tmp.path(), "vpn", &saved).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("resolv.conf")).unwrap(),
            "nameserver 192.0.2.9\n"
        );
        assert!(!dir.join("hosts").exists());
        assert!(snapshot(tmp.path(), "none").unwrap().is_empty());
    }

    #[test]
    fn search_domains() {
        assert!(check_search("corp.example").is_ok());
        assert!(check_search("").is_err());
        assert!(check_search("a b").is_err());
        assert!(check_search("x\nnameserver 1.2.3.4").is_err());
    }
}
