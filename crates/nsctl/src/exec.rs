//! The parts of `nsctl exec` that need no daemon: the environment passed to
//! the program, its working directory, and its status as nsctl's exit status.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{CliError, EXIT_STATUSES, Kind};

/// Variables passed from nsctl's own environment when they are set, so that
/// a terminal program, a graphical one and one that plays sound find their
/// way: the session's basics, its locale, the display and the session bus.
/// `LC_*` ([`forwarded`]) go too.
pub const FORWARDED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "XDG_SESSION_TYPE",
    "XDG_CURRENT_DESKTOP",
    "DBUS_SESSION_BUS_ADDRESS",
    "PULSE_SERVER",
];

/// Whether variable `name` of nsctl's environment goes to the program
/// without being asked for.
pub fn forwarded(name: &str) -> bool {
    FORWARDED_ENV.contains(&name) || name.starts_with("LC_")
}

/// Exit status when the program (or the working directory) does not
/// exist, as a shell's.
pub const NOT_FOUND_EXIT_CODE: u8 = 127;

/// The program's environment: the [`forwarded`] variables of `own` (nsctl's
/// environment) that are set, then each `--env` entry in order, `VAR=VALUE`
/// as given and `VAR` copied from `own` (left out if it is not set there).
/// D-Bus strings are UTF-8: a forwarded variable that is not is left out;
/// one asked for by name is an error.
pub fn environment(
    own: impl IntoIterator<Item = (OsString, OsString)>,
    extra: &[String],
) -> Result<BTreeMap<String, String>, CliError> {
    let own: HashMap<OsString, OsString> = own.into_iter().collect();
    let mut env = BTreeMap::new();
    for (name, value) in &own {
        if let (Some(n), Some(v)) = (name.to_str(), value.to_str())
            && forwarded(n)
        {
            env.insert(n.to_owned(), v.to_owned());
        }
    }
    for e in extra {
        match e.split_once('=') {
            Some((name, value)) => {
                env.insert(name.to_owned(), value.to_owned());
            }
            None => match own.get(std::ffi::OsStr::new(e)) {
                None => {
                    env.remove(e);
                }
                Some(v) => {
                    let v = v.to_str().ok_or_else(|| {
                        CliError::new(
                            Kind::InvalidArgument,
                            format!(
                                "--env {e}: its value is not UTF-8 and cannot be passed over D-Bus"
                            ),
                        )
                    })?;
                    env.insert(e.clone(), v.to_owned());
                }
            },
        }
    }
    Ok(env)
}

/// The program's working directory: `--cwd` (relative to `current`), else
/// `current`, nsctl's own. An empty string lets netnsd choose the user's
/// home directory; that is what happens when nsctl's own directory is
/// unknown (deleted) or not UTF-8.
pub fn working_directory(
    cwd: Option<&Path>,
    current: std::io::Result<PathBuf>,
) -> Result<String, CliError> {
    match cwd {
        None => Ok(current
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned))
            .unwrap_or_default()),
        Some(dir) => {
            let dir = if dir.is_absolute() {
                dir.to_path_buf()
            } else {
                current
                    .map_err(|e| {
                        CliError::new(
                            Kind::Failed,
                            format!(
                                "--cwd {}: cannot learn the current directory: {e}",
                                dir.display()
                            ),
                        )
                    })?
                    .join(dir)
            };
            dir.to_str().map(str::to_owned).ok_or_else(|| {
                CliError::new(
                    Kind::InvalidArgument,
                    format!(
                        "--cwd {}: not UTF-8, cannot be passed over D-Bus",
                        dir.display()
                    ),
                )
            })
        }
    }
}

/// nsctl's exit status for the status in ProcessExited: the program's exit
/// status, or 128 + N when signal N killed it (reported as -N), as shells do.
pub fn exit_code(status: i32) -> u8 {
    if status >= 0 {
        (status & 0xff) as u8
    } else {
        u8::try_from(128 + status.unsigned_abs().min(127)).unwrap_or(u8::MAX)
    }
}

/// The "Exit status:" block of `nsctl exec --help`.
pub fn exec_exit_status_help() -> String {
    let mut s = String::from(
        "Exit status:\n  The program's exit status, or 128+N if signal N killed it. Before the program \
         starts:\n",
    );
    s.push_str(&format!(
        "  {NOT_FOUND_EXIT_CODE}  the program, or the working directory, was not found\n"
    ));
    for (code, meaning) in EXIT_STATUSES.iter().filter(|(c, _)| *c != 0) {
        s.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    s.pop();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn own(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        vars.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn forwards_the_fixed_set_and_locale_only() {
        let env = environment(
            own(&[
                ("PATH", "/usr/bin:/bin"),
                ("HOME", "/home/u"),
                ("DISPLAY", ":0"),
                ("WAYLAND_DISPLAY", "wayland-0"),
                ("XDG_RUNTIME_DIR", "/run/user/1000"),
                ("LC_TIME", "de_DE.UTF-8"),
                ("LC_ALL", "C.UTF-8"),
                ("SSH_AUTH_SOCK", "/tmp/agent"),
                ("LD_PRELOAD", "/evil.so"),
                ("SUDO_USER", "u"),
                ("XLC_X", "no"),
            ]),
            &[],
        )
        .unwrap();
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "DISPLAY",
                "HOME",
                "LC_ALL",
                "LC_TIME",
                "PATH",
                "WAYLAND_DISPLAY",
                "XDG_RUNTIME_DIR"
            ]
        );
        assert_eq!(env["PATH"], "/usr/bin:/bin");
    }

    #[test]
    fn every_documented_variable_is_forwarded() {
        for name in FORWARDED_ENV {
            assert!(forwarded(name), "{name}");
        }
        for name in [
            "TERM",
            "LANG",
            "DBUS_SESSION_BUS_ADDRESS",
            "PULSE_SERVER",
            "COLORTERM",
            "TZ",
            "XAUTHORITY",
            "XDG_SESSION_TYPE",
            "XDG_CURRENT_DESKTOP",
            "LANGUAGE",
            "SHELL",
            "USER",
            "LOGNAME",
        ] {
            assert!(forwarded(name), "{name}");
        }
        assert!(!forwarded("DBUS_SYSTEM_BUS_ADDRESS"));
        assert!(!forwarded("LD_LIBRARY_PATH"));
    }

    #[test]
    fn env_option_copies_or_sets() {
        let env = environment(
            own(&[
                ("PATH", "/bin"),
                ("SSH_AUTH_SOCK", "/tmp/agent"),
                ("EDITOR", "vi"),
            ]),
            &[
                "SSH_AUTH_SOCK".into(),
                "FOO=bar=baz".into(),
                "EMPTY=".into(),
                "PATH=/opt/bin".into(),
                "UNSET".into(),
            ],
        )
        .unwrap();
        assert_eq!(env["SSH_AUTH_SOCK"], "/tmp/agent");
        assert_eq!(env["FOO"], "bar=baz");
        assert_eq!(env["EMPTY"], "");
        assert_eq!(env["PATH"], "/opt/bin");
        assert!(!env.contains_key("UNSET"));
        assert!(!env.contains_key("EDITOR"));
        // The last word counts.
        let env = environment(own(&[]), &["A=1".into(), "A=2".into()]).unwrap();
        assert_eq!(env["A"], "2");
    }

    #[test]
    fn non_utf8_values() {
        let bad = OsString::from_vec(vec![0xff, 0xfe]);
        let vars = vec![
            (OsString::from("DISPLAY"), bad.clone()),
            (OsString::from("WEIRD"), bad),
        ];
        // Forwarded ones are left out quietly...
        let env = environment(vars.clone(), &[]).unwrap();
        assert!(env.is_empty());
        // ... one asked for by name is an error.
        let e = environment(vars, &["WEIRD".into()]).unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert!(e.message().contains("WEIRD"), "{}", e.message());
    }

    #[test]
    fn working_directory_defaults_to_nsctls_own() {
        let here = || Ok(PathBuf::from("/home/u/src"));
        assert_eq!(working_directory(None, here()).unwrap(), "/home/u/src");
        assert_eq!(
            working_directory(Some(Path::new("/tmp")), here()).unwrap(),
            "/tmp"
        );
        assert_eq!(
            working_directory(Some(Path::new("sub/dir")), here()).unwrap(),
            "/home/u/src/sub/dir"
        );
        let gone = || Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(working_directory(None, gone()).unwrap(), "");
        assert_eq!(
            working_directory(Some(Path::new("/srv")), gone()).unwrap(),
            "/srv"
        );
        assert!(working_directory(Some(Path::new("rel")), gone()).is_err());
    }

    #[test]
    fn status_becomes_the_exit_code_as_in_a_shell() {
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(1), 1);
        assert_eq!(exit_code(7), 7);
        assert_eq!(exit_code(255), 255);
        assert_eq!(exit_code(-2), 130); // SIGINT
        assert_eq!(exit_code(-9), 137); // SIGKILL
        assert_eq!(exit_code(-15), 143); // SIGTERM
        assert_eq!(exit_code(-1), 129);
        assert_eq!(exit_code(-64), 192);
        assert_eq!(exit_code(i32::MIN), 255);
    }

    #[test]
    fn exec_help_documents_127_and_signals() {
        let h = exec_exit_status_help();
        assert!(h.starts_with("Exit status:\n"), "{h}");
        assert!(h.contains("128+N"), "{h}");
        assert!(h.contains("  127  the program"), "{h}");
        assert!(h.contains("   10  netnsd is not running"), "{h}");
        assert!(!h.contains("success"), "{h}");
    }
}
