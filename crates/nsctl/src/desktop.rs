//! `nsctl desktop-entry PROFILE --name NAME [--remove] [--] CMD...`: a menu
//! entry that runs CMD in VPN PROFILE's namespace (issue 14): the file
//! `netnsd-PROFILE-APP.desktop` in the user's applications folder
//! (`$XDG_DATA_HOME/applications`, by default `~/.local/share/applications`),
//! named "NAME (PROFILE VPN)", whose Exec is `nsctl exec --vpn PROFILE --
//! CMD...`. APP is NAME in lower case, letters and digits kept, the rest `-`.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Kind};

/// APP: NAME made a file-name part.
pub fn app_part(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// One argument of an Exec line, quoted as the Desktop Entry
/// Specification says, then escaped for a string value (`\` doubled);
/// `%` is `%%` (no field codes).
fn exec_arg(arg: &str) -> String {
    const RESERVED: &[char] = &[
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(',
        ')', '`', '=',
    ];
    let arg = arg.replace('%', "%%");
    let quoted = if arg.is_empty() || arg.contains(RESERVED) {
        let mut q = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        arg
    };
    quoted.replace('\\', "\\\\")
}

/// A string value: no line breaks.
fn value(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The entry's text.
pub fn entry(nsctl: &str, profile: &str, name: &str, command: &[String]) -> String {
    let mut exec: Vec<String> = vec![
        exec_arg(nsctl),
        "exec".into(),
        "--vpn".into(),
        exec_arg(profile),
        "--".into(),
    ];
    exec.extend(command.iter().map(|a| exec_arg(a)));
    format!(
        "[Desktop Entry]\nType=Application\nName={}\nComment={}\nExec={}\nTerminal=false\nCategories=Network;\n",
        value(&format!("{name} ({profile} VPN)")),
        value(&format!(
            "{name} in the network namespace of the VPN {profile} (netnsd)"
        )),
        exec.join(" ")
    )
}

fn applications_dir() -> Result<PathBuf, CliError> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| Path::new(d).is_absolute()) {
        return Ok(PathBuf::from(d).join("applications"));
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| CliError::new(Kind::Failed, "HOME is not set: no applications folder"))?;
    Ok(PathBuf::from(home).join(".local/share/applications"))
}

/// Writes (or with `remove`, deletes) the entry; returns its path.
pub fn exec(
    profile: &str,
    name: &str,
    remove: bool,
    command: &[String],
) -> Result<String, CliError> {
    let app = app_part(name);
    if app.is_empty() {
        return Err(CliError::new(
            Kind::InvalidArgument,
            format!("--name {name:?}: needs a letter or digit"),
        ));
    }
    let file = applications_dir()?.join(format!("netnsd-{}-{app}.desktop", app_part(profile)));
    let shown = file.display().to_string();
    if remove {
        return match std::fs::remove_file(&file) {
            Ok(()) => Ok(format!("removed {shown}\n")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CliError::new(
                Kind::NotFound,
                format!("no menu entry {shown}"),
            )),
            Err(e) => Err(CliError::new(Kind::Failed, format!("remove {shown}: {e}"))),
        };
    }
    if command.is_empty() {
        return Err(CliError::new(
            Kind::InvalidArgument,
            "the command to run (CMD) is missing",
        ));
    }
    let nsctl = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "nsctl".into());
    let text = entry(&nsctl, profile, name, command);
    let dir = file.parent().expect("a folder");
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&file, text))
        .map_err(|e| CliError::new(Kind::Failed, format!("write {shown}: {e}")))?;
    Ok(format!("{shown}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_runs_nsctl_exec_vpn() {
        let text = entry(
            "/usr/bin/nsctl",
            "work",
            "Firefox",
            &[
                "firefox".into(),
                "--new-window".into(),
                "a b".into(),
                "100%".into(),
            ],
        );
        assert!(text.contains("\nName=Firefox (work VPN)\n"), "{text}");
        assert!(
            text.contains(
                "\nExec=/usr/bin/nsctl exec --vpn work -- firefox --new-window \"a b\" 100%%\n"
            ),
            "{text}"
        );
        assert_eq!(app_part("Firefox ESR"), "firefox-esr");
        assert_eq!(exec_arg("x\"y"), "\"x\\\\\"y\"");
    }
}
