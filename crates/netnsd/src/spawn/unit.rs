//! Spawn where systemd runs: the program becomes a transient service of the
//! calling user (`netnsd-spawn-NS-N.service` in `user-UID.slice`), started
//! by systemd's own manager through StartTransientUnit, as `systemd-run
//! --pty` does, over the system bus.
//! The program then lives in the user's slice, not in netnsd's control
//! group: it is not subject to the daemon's unit hardening, and it survives
//! a restart of netnsd. systemd applies what the fork path does by hand:
//! the namespace (`NetworkNamespacePath=`), `/etc/netns/NAME/*` bound over
//! `/etc` (`BindReadOnlyPaths=`), the host's resolver directories hidden
//! (`TemporaryFileSystem=`), the caller's uid, gid and groups, argv,
//! environment, working directory and descriptors (a terminal passed as
//! stdin becomes the controlling terminal of the program's session).
//!
//! `RemainAfterExit=yes` keeps the unit, with its `ExecMainStatus`, after
//! the program ends, until the daemon has read the status; it then stops
//! (or resets) the unit. A daemon restarted meanwhile finds it the same way.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use zbus::{Fd, OwnedObjectPath, Variant as Value};

use super::{Identity, RESOLVER_DIRS, etc_binds};

/// Where systemd runs as the init system (sd_booted(3)).
pub fn sd_booted() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

const DEST: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const UNIT: &str = "org.freedesktop.systemd1.Unit";
const SERVICE: &str = "org.freedesktop.systemd1.Service";
const PROPS: &str = "org.freedesktop.DBus.Properties";

/// A program to start as a unit.
pub struct Request {
    pub argv: Vec<String>,
    pub env: HashMap<String, String>,
    pub cwd: String,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub identity: Identity,
    /// The namespace's name: /run/netns/NAME, /etc/netns/NAME.
    pub ns_name: String,
    pub etc_dir: std::path::PathBuf,
}

/// The unit's name for the Nth program in namespace `ns`: the name escaped
/// as systemd escapes (`\xNN` for anything but `[A-Za-z0-9:_.]`, and `-`).
pub fn unit_name(ns: &str, n: u64) -> String {
    let mut s = String::from("netnsd-spawn-");
    for (i, b) in ns.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b':' || (b == b'.' && i > 0) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    format!("{s}-{n}.service")
}

/// What the unit is made of, in StartTransientUnit's `a(sv)`, without the
/// descriptors (see [`fd_properties`]). `binds` are (source, destination)
/// pairs bound read-only; `hide` the directories covered by an empty tmpfs.
pub fn properties(
    req: &Request,
    binds: &[(String, String)],
    hide: &[String],
) -> Vec<(&'static str, Value<'static>)> {
    let id = &req.identity;
    let mut p: Vec<(&'static str, Value<'static>)> = vec![
        (
            "Description",
            Value::from(format!(
                "{} in network namespace {} (netnsd Spawn)",
                req.argv.join(" "),
                req.ns_name
            )),
        ),
        ("Slice", Value::from(format!("user-{}.slice", id.uid))),
        // StartTransientUnit's job ends once the program has exec'd, and
        // fails if it could not.
        ("Type", Value::from("exec")),
        ("RemainAfterExit", Value::from(true)),
        (
            "ExecStart",
            Value::from(vec![(req.argv[0].clone(), req.argv.clone(), false)]),
        ),
        ("User", Value::from(id.uid.to_string())),
        ("Group", Value::from(id.gid.to_string())),
        (
            "SupplementaryGroups",
            Value::from(
                id.groups
                    .iter()
                    .filter(|g| **g != id.gid)
                    .map(u32::to_string)
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "Environment",
            Value::from({
                let mut e: Vec<String> = req.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
                e.sort();
                e
            }),
        ),
        // Empty: the user's home if it can be entered, else "/".
        (
            "WorkingDirectory",
            Value::from(if req.cwd.is_empty() {
                "-~".to_string()
            } else {
                req.cwd.clone()
            }),
        ),
        (
            "NetworkNamespacePath",
            Value::from(format!("/run/netns/{}", req.ns_name)),
        ),
        (
            "BindReadOnlyPaths",
            Value::from(
                binds
                    .iter()
                    .map(|(s, d)| (s.clone(), d.clone(), false, 0u64))
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "TemporaryFileSystem",
            Value::from(
                hide.iter()
                    .map(|d| {
                        (
                            d.clone(),
                            "mode=0755,size=4k,nosuid,nodev,noexec".to_string(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
        ),
    ];
    // A bare program name is looked for in the caller's PATH.
    if !req.argv[0].contains('/')
        && let Some(path) = req.env.get("PATH")
    {
        let dirs: Vec<String> = path
            .split(':')
            .filter(|d| d.starts_with('/'))
            .map(str::to_string)
            .collect();
        if !dirs.is_empty() {
            p.push(("ExecSearchPath", Value::from(dirs)));
        }
    }
    for (key, fd) in [
        ("StandardInput", &req.stdin),
        ("StandardOutput", &req.stdout),
        ("StandardError", &req.stderr),
    ] {
        if fd.is_none() {
            p.push((key, Value::from("null")));
        }
    }
    p
}

/// The caller's descriptors, as properties that borrow them.
fn fd_properties(req: &Request) -> Vec<(&'static str, Value<'_>)> {
    let mut p = Vec::new();
    for (key, fd) in [
        ("StandardInputFileDescriptor", &req.stdin),
        ("StandardOutputFileDescriptor", &req.stdout),
        ("StandardErrorFileDescriptor", &req.stderr),
    ] {
        if let Some(fd) = fd {
            p.push((key, Value::from(Fd::from(fd.as_fd()))));
        }
    }
    p
}

/// A program running as a unit.
pub struct Unit {
    pub name: String,
    pub pid: u32,
    conn: zbus::Connection,
    path: OwnedObjectPath,
}

async fn connect() -> io::Result<zbus::Connection> {
    // The system bus, where systemd's manager is whenever the bus runs (and
    // netnsd needs the bus anyway). Not its private socket: systemd signs
    // what it sends there with its well-known name as the sender, which
    // zbus refuses to read ("Invalid unique name").
    zbus::Connection::system()
        .await
        .map_err(|e| io::Error::other(format!("connect to systemd over the system bus: {e}")))
}

fn bus_err(what: &str, e: zbus::Error) -> io::Error {
    io::Error::other(format!("systemd: {what}: {e}"))
}

async fn get<T>(
    conn: &zbus::Connection,
    path: &OwnedObjectPath,
    iface: &str,
    prop: &str,
) -> io::Result<T>
where
    T: TryFrom<zbus::OwnedVariant>,
    <T as TryFrom<zbus::OwnedVariant>>::Error: std::fmt::Display,
{
    let reply = conn
        .call_method(Some(DEST), path, Some(PROPS), "Get", &(iface, prop))
        .await
        .map_err(|e| bus_err(&format!("read {prop}"), e))?;
    let v: zbus::OwnedVariant = reply
        .body()
        .deserialize()
        .map_err(|e| bus_err(&format!("read {prop}"), e))?;
    T::try_from(v).map_err(|e| io::Error::other(format!("systemd: {prop}: {e}")))
}

async fn unit_path(conn: &zbus::Connection, name: &str) -> io::Result<OwnedObjectPath> {
    let reply = conn
        .call_method(Some(DEST), MANAGER_PATH, Some(MANAGER), "GetUnit", &(name,))
        .await
        .map_err(|e| bus_err(&format!("find {name}"), e))?;
    reply
        .body()
        .deserialize()
        .map_err(|e| bus_err(&format!("find {name}"), e))
}

/// How the program ended: what ProcessExited reports (the exit code, or
/// minus the signal), from the unit's ExecMainCode (CLD_*) and
/// ExecMainStatus.
pub fn exit_status(code: i32, status: i32) -> i32 {
    match code {
        1 => status,      // CLD_EXITED
        2 | 3 => -status, // CLD_KILLED, CLD_DUMPED
        _ => -1,
    }
}

/// The error for a program systemd could not start, from the status its
/// exec step ended with (systemd.exec(5), "Process exit codes").
fn start_error(name: &str, status: i32) -> io::Error {
    let (kind, what) = match status {
        200 => (io::ErrorKind::NotFound, "no such working directory"),
        203 => (io::ErrorKind::NotFound, "no such program"),
        216 | 217 => (
            io::ErrorKind::PermissionDenied,
            "cannot take the user's groups or uid",
        ),
        226 => (io::ErrorKind::Other, "cannot enter the namespace"),
        _ => (io::ErrorKind::Other, "it failed to start"),
    };
    io::Error::new(kind, format!("unit {name}: {what} (status {status})"))
}

impl Request {
    /// Starts the program as unit `netnsd-spawn-NS-N.service`, with the
    /// first N from `first` that names no unit yet; returns once it has
    /// exec'd (or failed to), at most after `limit`.
    pub async fn start(self, first: u64, limit: Duration) -> io::Result<Unit> {
        let req = self;
        if req.argv.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty argv"));
        }
        let etc_dir = req.etc_dir.clone();
        let (binds, hide) = tokio::task::spawn_blocking(move || {
            let hidden: Vec<&str> = RESOLVER_DIRS
                .iter()
                .copied()
                .filter(|d| Path::new(d).is_dir())
                .collect();
            let binds = etc_binds(&etc_dir, &hidden)?;
            let binds: Vec<(String, String)> = binds
                .iter()
                .map(|b| {
                    (
                        b.src.to_string_lossy().into_owned(),
                        b.dst.to_string_lossy().into_owned(),
                    )
                })
                .collect();
            io::Result::Ok((
                binds,
                hidden.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ))
        })
        .await
        .map_err(io::Error::other)??;
        let conn = connect().await?;
        let mut props = properties(&req, &binds, &hide);
        props.extend(fd_properties(&req));
        let aux: Vec<(String, Vec<(String, Value<'_>)>)> = Vec::new();
        let mut n = first;
        let name = loop {
            let name = unit_name(&req.ns_name, n);
            let r = conn
                .call_method(
                    Some(DEST),
                    MANAGER_PATH,
                    Some(MANAGER),
                    "StartTransientUnit",
                    &(name.as_str(), "fail", &props, &aux),
                )
                .await;
            match r {
                Ok(_) => break name,
                Err(zbus::Error::MethodError(e, _, _))
                    if e.as_str() == "org.freedesktop.systemd1.UnitExists" && n < first + 1000 =>
                {
                    n += 1;
                }
                Err(e) => return Err(bus_err(&format!("start {name}"), e)),
            }
        };
        drop(props);
        let path = unit_path(&conn, &name).await?;
        // Type=exec: the unit is active once the program has exec'd, failed
        // if it could not.
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let state: String = get(&conn, &path, UNIT, "ActiveState").await?;
            let pid: u32 = get(&conn, &path, SERVICE, "ExecMainPID").await?;
            match state.as_str() {
                "active" | "deactivating" if pid != 0 => break,
                "failed" | "inactive" if pid != 0 => {
                    let code: i32 = get(&conn, &path, SERVICE, "ExecMainCode").await?;
                    let status: i32 = get(&conn, &path, SERVICE, "ExecMainStatus").await?;
                    // Ran and ended already: started all the same.
                    if code != 1 || status < 200 {
                        break;
                    }
                    let _ = reset(&conn, &name, &state).await;
                    return Err(start_error(&name, status));
                }
                "failed" => {
                    let _ = reset(&conn, &name, &state).await;
                    return Err(start_error(&name, -1));
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = conn
                    .call_method(
                        Some(DEST),
                        MANAGER_PATH,
                        Some(MANAGER),
                        "StopUnit",
                        &(name.as_str(), "replace"),
                    )
                    .await;
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "unit {name} had not started after {} s (its working directory or program is on a file system that does not answer?); it was stopped",
                        limit.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pid: u32 = get(&conn, &path, SERVICE, "ExecMainPID").await?;
        Ok(Unit {
            name,
            pid,
            conn,
            path,
        })
    }
}

/// Lets systemd forget an ended unit: stop it (active, exited) or reset it
/// (failed).
async fn reset(conn: &zbus::Connection, name: &str, state: &str) -> zbus::Result<()> {
    if state == "failed" {
        conn.call_method(
            Some(DEST),
            MANAGER_PATH,
            Some(MANAGER),
            "ResetFailedUnit",
            &(name,),
        )
        .await?;
    } else {
        conn.call_method(
            Some(DEST),
            MANAGER_PATH,
            Some(MANAGER),
            "StopUnit",
            &(name, "replace"),
        )
        .await?;
    }
    Ok(())
}

impl Unit {
    /// The unit `name` a previous run of the daemon started, if it is still
    /// there.
    pub async fn find(name: &str) -> io::Result<Unit> {
        let conn = connect().await?;
        let path = unit_path(&conn, name).await?;
        let pid: u32 = get(&conn, &path, SERVICE, "ExecMainPID").await?;
        Ok(Unit {
            name: name.to_string(),
            pid,
            conn,
            path,
        })
    }

    /// Waits for the program to end and returns its status as
    /// ProcessExited reports it; then lets systemd forget the unit. -1 if
    /// the unit went away unseen.
    pub async fn wait(self) -> i32 {
        use futures::StreamExt;
        // Subscribed, systemd sends PropertiesChanged for its units; they
        // are a hint to look again, and the look every few seconds stands in
        // for any that is missed.
        let _ = self
            .conn
            .call_method(Some(DEST), MANAGER_PATH, Some(MANAGER), "Subscribe", &())
            .await;
        let mut stream = zbus::MessageStream::from(&self.conn);
        loop {
            let state: io::Result<String> = get(&self.conn, &self.path, UNIT, "ActiveState").await;
            let sub: io::Result<String> = get(&self.conn, &self.path, UNIT, "SubState").await;
            let (state, sub) = match (state, sub) {
                (Ok(s), Ok(u)) => (s, u),
                _ => return -1,
            };
            let ended = matches!(state.as_str(), "failed" | "inactive")
                || (state == "active" && sub == "exited");
            if ended {
                let code: i32 = get(&self.conn, &self.path, SERVICE, "ExecMainCode")
                    .await
                    .unwrap_or(0);
                let status: i32 = get(&self.conn, &self.path, SERVICE, "ExecMainStatus")
                    .await
                    .unwrap_or(0);
                if let Err(e) = reset(&self.conn, &self.name, &state).await {
                    tracing::warn!(unit = %self.name, "letting systemd forget the unit: {e}");
                }
                return exit_status(code, status);
            }
            let changed = async {
                while let Some(Ok(m)) = stream.next().await {
                    if m.header()
                        .path()
                        .is_some_and(|p| p.as_str() == self.path.as_str())
                    {
                        return;
                    }
                }
                // The connection is gone: look once more, then give up.
                std::future::pending::<()>().await;
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), changed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            argv: vec!["sh".into(), "-c".into(), "exit 3".into()],
            env: HashMap::from([
                ("PATH".into(), "/usr/bin:relative:/bin".into()),
                ("LANG".into(), "C.UTF-8".into()),
            ]),
            cwd: String::new(),
            stdin: None,
            stdout: Some(std::fs::File::open("/dev/null").unwrap().into()),
            stderr: None,
            identity: Identity {
                uid: 4243,
                gid: 4243,
                groups: vec![4243, 4240],
                home: None,
            },
            ns_name: "blue".into(),
            etc_dir: "/etc/netns/blue".into(),
        }
    }

    fn prop<'a>(p: &'a [(&'static str, Value<'static>)], k: &str) -> &'a Value<'static> {
        &p.iter()
            .find(|(n, _)| *n == k)
            .unwrap_or_else(|| panic!("no {k}"))
            .1
    }

    #[test]
    fn unit_names_are_escaped() {
        assert_eq!(unit_name("blue", 1), "netnsd-spawn-blue-1.service");
        assert_eq!(unit_name("a-b.c", 7), "netnsd-spawn-a\\x2db.c-7.service");
        assert_eq!(unit_name(".x", 2), "netnsd-spawn-\\x2ex-2.service");
    }

    #[test]
    fn the_unit_is_the_callers_in_the_namespace() {
        let r = req();
        let binds = vec![(
            "/etc/netns/blue/resolv.conf".to_string(),
            "/etc/resolv.conf".to_string(),
        )];
        let p = properties(&r, &binds, &["/run/nscd".to_string()]);
        assert_eq!(prop(&p, "Slice"), &Value::from("user-4243.slice"));
        assert_eq!(prop(&p, "Type"), &Value::from("exec"));
        assert_eq!(prop(&p, "RemainAfterExit"), &Value::from(true));
        assert_eq!(prop(&p, "User"), &Value::from("4243"));
        assert_eq!(prop(&p, "Group"), &Value::from("4243"));
        assert_eq!(
            prop(&p, "SupplementaryGroups"),
            &Value::from(vec!["4240".to_string()])
        );
        assert_eq!(
            prop(&p, "NetworkNamespacePath"),
            &Value::from("/run/netns/blue")
        );
        assert_eq!(
            prop(&p, "ExecStart"),
            &Value::from(vec![(
                "sh".to_string(),
                vec!["sh".to_string(), "-c".to_string(), "exit 3".to_string()],
                false
            )])
        );
        assert_eq!(
            prop(&p, "ExecSearchPath"),
            &Value::from(vec!["/usr/bin".to_string(), "/bin".to_string()])
        );
        assert_eq!(
            prop(&p, "Environment"),
            &Value::from(vec![
                "LANG=C.UTF-8".to_string(),
                "PATH=/usr/bin:relative:/bin".to_string()
            ])
        );
        assert_eq!(prop(&p, "WorkingDirectory"), &Value::from("-~"));
        assert_eq!(
            prop(&p, "BindReadOnlyPaths"),
            &Value::from(vec![(
                "/etc/netns/blue/resolv.conf".to_string(),
                "/etc/resolv.conf".to_string(),
                false,
                0u64
            )])
        );
        assert_eq!(
            prop(&p, "TemporaryFileSystem"),
            &Value::from(vec![(
                "/run/nscd".to_string(),
                "mode=0755,size=4k,nosuid,nodev,noexec".to_string()
            )])
        );
        // What was not passed is /dev/null; what was, goes as a descriptor.
        assert_eq!(prop(&p, "StandardInput"), &Value::from("null"));
        assert_eq!(prop(&p, "StandardError"), &Value::from("null"));
        assert!(!p.iter().any(|(k, _)| *k == "StandardOutput"));
        let f = fd_properties(&r);
        assert_eq!(
            f.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            ["StandardOutputFileDescriptor"]
        );
    }

    #[test]
    fn a_given_directory_must_work() {
        let mut r = req();
        r.cwd = "/srv".into();
        r.argv[0] = "/bin/sh".into();
        let p = properties(&r, &[], &[]);
        assert_eq!(prop(&p, "WorkingDirectory"), &Value::from("/srv"));
        assert!(!p.iter().any(|(k, _)| *k == "ExecSearchPath"));
    }

    #[test]
    fn exit_statuses_as_process_exited_reports_them() {
        assert_eq!(exit_status(1, 3), 3);
        assert_eq!(exit_status(2, 15), -15);
        assert_eq!(exit_status(3, 11), -11);
        assert_eq!(exit_status(0, 0), -1);
        assert_eq!(start_error("u", 203).kind(), io::ErrorKind::NotFound);
    }
}
