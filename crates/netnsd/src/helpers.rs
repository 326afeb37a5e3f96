//! Finding the programs the daemon runs (nft, openvpn, openconnect,
//! wireguard-go) however it was started. Started by dbus-daemon's
//! activation helper without systemd, the daemon has no PATH at all; under
//! a stripped environment PATH may lack the sbin directories. So a helper is
//! looked up in PATH first, then in a fixed search path, and the program
//! runs with a PATH of its own when the daemon has none (its hooks and
//! scripts look programs up too).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where helpers are looked for after PATH: Debian's default root PATH.
pub const SEARCH_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The full path of `program` (a bare name), looked up in `path` (the
/// daemon's PATH, if any) and then in [`SEARCH_PATH`]; None if it is in
/// neither. A name with a slash is taken as it is.
pub fn find_in(program: &str, path: Option<&OsString>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let dirs = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .chain(std::env::split_paths(SEARCH_PATH));
    for dir in dirs {
        if dir.as_os_str().is_empty() || !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Some(candidate);
        }
    }
    None
}

/// [`find_in`] with the daemon's own PATH.
pub fn find(program: &str) -> Option<PathBuf> {
    find_in(program, std::env::var_os("PATH").as_ref())
}

/// A command for the helper `program` by its full path, with PATH set to
/// [`SEARCH_PATH`] if the daemon has none; NotFound (which the callers
/// report as NotSupported, "not installed") when it is in none of those
/// directories — rather than letting a bare name fail later in some other
/// way (a file of that name that is not a program).
pub fn command(program: &str) -> std::io::Result<Command> {
    let path = find(program).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{program}: no such program in PATH or {SEARCH_PATH}"),
        )
    })?;
    let mut cmd = Command::new(path);
    if std::env::var_os("PATH").is_none() {
        cmd.env("PATH", SEARCH_PATH);
    }
    Ok(cmd)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_without_path() {
        // sh is in /bin or /usr/bin on every system the tests run on.
        let sh = find_in("sh", None).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{sh:?}");
    }

    #[test]
    fn found_when_path_lacks_it() {
        let path = OsString::from("/nonexistent:relative/dir:");
        assert!(find_in("sh", Some(&path)).is_some());
    }

    #[test]
    fn path_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("sh");
        std::fs::write(&own, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = OsString::from(dir.path());
        assert_eq!(find_in("sh", Some(&path)), Some(own.clone()));
        // Not executable: skipped.
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_ne!(find_in("sh", Some(&path)), Some(own));
    }

    #[test]
    fn missing_and_slashed() {
        assert_eq!(find_in("netnsd-no-such-helper", None), None);
        assert_eq!(
            find_in("./x/y", None),
            Some(PathBuf::from("./x/y")),
            "a name with a slash is used as it is"
        );
    }
}
