//! `nsctl exec NS [--env VAR[=VALUE]]... [--cwd DIR] [--no-pty] -- CMD [ARGS...]`
//!
//! Calls NetNsInstance.Spawn and waits for ProcessExited with the pid it
//! returned. With a terminal on stdin and stdout, the program gets a
//! pseudo-terminal of its own (see `pty`); otherwise nsctl's own
//! descriptors.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use futures::StreamExt;
use netnsd_api::proxy::NetNsInstanceProxy;
use netnsd_api::{
    BUS_NAME, CONTROLLER_INTERFACE, CONTROLLER_PATH, Error as BusError, INSTANCE_INTERFACE,
};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use zbus::names::OwnedUniqueName;
use zbus::proxy::CacheProperties;
use zbus::wire::{Fd, Variant};
use zbus::{Connection, Message, OwnedObjectPath};

use crate::cli::ExecArgs;
use crate::cmd::check_name;
use crate::error::{CliError, Kind};
use crate::exec::{self, NOT_FOUND_EXIT_CODE};
use crate::pty::{self, Pty, RawMode, Relay, is_open, is_terminal, stdio};

/// Runs the program and returns nsctl's exit status: the program's.
pub async fn exec(conn: &Connection, mut args: ExecArgs) -> Result<u8, CliError> {
    args.normalize();
    // --vpn PROFILE: its namespace, the VPN brought up first if it is not.
    let netns = match &args.vpn {
        Some(profile) => crate::cmd::vpn::namespace_up(conn, profile).await?,
        None => args.netns.clone().unwrap_or_default(),
    };
    check_name(&netns)?;
    let env = exec::environment(std::env::vars_os(), &args.env)?;
    let cwd = exec::working_directory(args.cwd.as_deref(), std::env::current_dir())?;
    // One round trip for the three things needed before Spawn: the
    // namespace's object, and the two subscriptions (its ProcessExited,
    // and the daemon's name changing hands), sent at once. zbus's own
    // signal streams would make them one after another (it holds a lock
    // across each AddMatch) and ask the daemon's unique name first.
    let mut incoming = zbus::MessageStream::from(conn);
    let (exited_rule, owner_rule) = (exited_rule(), owner_rule());
    let (object, exited_match, owner_match) = futures::join!(
        conn.call_method(
            Some(BUS_NAME),
            CONTROLLER_PATH,
            Some(CONTROLLER_INTERFACE),
            "GetNetworkNamespaceByName",
            &netns,
        ),
        add_match(conn, &exited_rule),
        add_match(conn, &owner_rule),
    );
    let object = object?;
    exited_match?;
    owner_match?;
    // The signals that count come from the daemon that answered, as zbus's
    // proxies check: another peer could send a ProcessExited to us.
    let mut daemon = object
        .header()
        .sender()
        .map(|s| OwnedUniqueName::from(s.to_owned()));
    let object: OwnedObjectPath = object.body().deserialize()?;
    let proxy = NetNsInstanceProxy::builder(conn)
        .path(object.clone())
        .cache_properties(CacheProperties::No)
        .build()
        .await?;
    // Catch signals before Spawn too: the program runs before its reply
    // arrives, and a signal sent to nsctl then is passed on once its pid is
    // known, instead of ending nsctl and leaving the program behind.
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let mut sigwinch = signal(SignalKind::window_change()).map_err(signal_error)?;

    let pty = if !args.no_pty && is_terminal(0) && is_terminal(1) {
        Some(Pty::open().map_err(|e| {
            CliError::new(
                Kind::Failed,
                format!("cannot open a pseudo-terminal: {e} (try --no-pty)"),
            )
        })?)
    } else {
        None
    };
    let pid = {
        let mut fds: HashMap<&str, Fd<'_>> = HashMap::new();
        for (name, fd) in [("stdin", 0), ("stdout", 1), ("stderr", 2)] {
            match &pty {
                // The terminal goes through the pseudo-terminal; a redirected
                // stderr (2>file) goes to the program as it is.
                Some(p) if fd < 2 || is_terminal(fd) => {
                    fds.insert(name, Fd::from(p.slave.as_fd()));
                }
                // A closed descriptor is /dev/null for the program.
                _ if is_open(fd) => {
                    fds.insert(name, Fd::from(stdio(fd)));
                }
                _ => {}
            }
        }
        let mut options = HashMap::new();
        if pty.is_some() {
            options.insert("pty", Variant::from(true));
        }
        let argv: Vec<&str> = args.command.iter().map(String::as_str).collect();
        let env = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // With ALLOW_INTERACTIVE_AUTH, as every call that changes something
        // (and as the direct path sends it): polkit may ask the user.
        let env: HashMap<&str, &str> = env;
        crate::cmd::call_authorized::<_, u32>(
            proxy.inner(),
            "Spawn",
            &(&argv, env, &cwd, fds, options),
        )
        .await
        .map_err(spawn_error)?
    };

    // The program has its own copy of the subordinate end now; with ours
    // closed, reading the controlling end fails (EIO) once it is gone.
    let mut session = match pty {
        Some(Pty { master, slave }) => {
            drop(slave);
            Some(Session::start(master)?)
        }
        None => None,
    };
    let mut forwarded = false;
    let mut daemon_gone = false;

    let status = loop {
        let sig = tokio::select! {
            m = incoming.next() => match m.map(|m| seen(&m, &object, daemon.as_ref())) {
                Some(Seen::Exited { pid: p, status }) if p == pid => break status,
                Some(Seen::Owner(Some(new))) => {
                    daemon = Some(new);
                    daemon_gone = false;
                    continue;
                }
                // Where systemd runs, the program is a unit of its own and
                // outlives netnsd, whose next start announces its end: wait
                // while it runs.
                Some(Seen::Owner(None)) if program_runs(pid) => {
                    daemon = None;
                    daemon_gone = true;
                    continue;
                }
                Some(Seen::Owner(None)) => {
                    return Err(CliError::new(
                        Kind::Unreachable,
                        format!("netnsd stopped while PID {pid} was running; its exit status is unknown"),
                    ));
                }
                Some(_) => continue,
                None => {
                    return Err(CliError::new(
                        Kind::Unreachable,
                        format!("lost the system bus while PID {pid} was running; its exit status is unknown"),
                    ));
                }
            },
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)), if daemon_gone => {
                if program_runs(pid) {
                    continue;
                }
                return Err(CliError::new(
                    Kind::Unreachable,
                    format!("PID {pid} ended while netnsd was stopped; its exit status is unknown"),
                ));
            }
            _ = sigwinch.recv(), if session.is_some() => {
                if let Some(s) = &session {
                    pty::copy_window_size(&s.master);
                }
                continue;
            }
            _ = sigint.recv() => Signal::SIGINT,
            _ = sigterm.recv() => Signal::SIGTERM,
            _ = sighup.recv() => Signal::SIGHUP,
        };
        // nsctl was asked to stop.
        let code = 128 + sig as u8;
        if let Some(s) = session.take() {
            // Leaving closes the controlling end: the kernel hangs up the
            // program's terminal, as when a terminal window is closed.
            drop(s);
            eprintln!("nsctl: {sig}: hung up the terminal of PID {pid}");
            return Ok(code);
        }
        if !forwarded && forward(&proxy, pid, sig).await {
            // Wait for the program to end of it; its status tells.
            forwarded = true;
            continue;
        }
        eprintln!(
            "nsctl: {sig}: no longer waiting for PID {pid}, which may still run in namespace {netns:?}"
        );
        return Ok(code);
    };
    drop(session);
    Ok(exec::exit_code(status))
}

/// Sends `sig` to the program's process group (it leads a session of its
/// own), if it is still the program: a process with that pid in the
/// namespace, as seen from here (nsctl may be in another pid namespace than
/// netnsd, or the pid reused).
async fn forward(proxy: &NetNsInstanceProxy<'_>, pid: u32, sig: Signal) -> bool {
    let Ok(id) = proxy.id().await else {
        return false;
    };
    let same = std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| m.ino() == id);
    let Ok(p) = i32::try_from(pid) else {
        return false;
    };
    same && killpg(Pid::from_raw(p), sig).is_ok()
}

/// Whether process `pid` (as seen from here) still runs.
fn program_runs(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The match rule for every namespace's ProcessExited from netnsd (the
/// path is checked on arrival: the object is not known yet when it is
/// added).
pub(super) fn exited_rule() -> String {
    format!(
        "type='signal',sender='{BUS_NAME}',interface='{INSTANCE_INTERFACE}',member='ProcessExited'"
    )
}

/// The match rule for netnsd's name changing hands.
pub(super) fn owner_rule() -> String {
    format!(
        "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',\
         interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='{BUS_NAME}'"
    )
}

/// AddMatch, called directly (no lock held across it, unlike zbus's streams).
async fn add_match(conn: &Connection, rule: &str) -> Result<(), CliError> {
    conn.call_method(
        Some("org.freedesktop.DBus"),
        "/org/freedesktop/DBus",
        Some("org.freedesktop.DBus"),
        "AddMatch",
        &rule,
    )
    .await?;
    Ok(())
}

/// What an incoming message means to `nsctl exec`.
#[derive(Debug, PartialEq)]
enum Seen {
    /// ProcessExited on our namespace's object, from the daemon.
    Exited { pid: u32, status: i32 },
    /// netnsd's name has a new owner (its unique name), or none.
    Owner(Option<OwnedUniqueName>),
    /// Anything else: replies, others' signals.
    Other,
}

fn seen(
    m: &zbus::Result<Message>,
    object: &OwnedObjectPath,
    daemon: Option<&OwnedUniqueName>,
) -> Seen {
    let Ok(m) = m else {
        return Seen::Other;
    };
    let h = m.header();
    if h.message_type() != zbus::message::Type::Signal {
        return Seen::Other;
    }
    let (Some(iface), Some(member)) = (h.interface(), h.member()) else {
        return Seen::Other;
    };
    let sender = h.sender();
    if iface.as_str() == INSTANCE_INTERFACE && member.as_str() == "ProcessExited" {
        if h.path().map(|p| p.as_str()) != Some(object.as_str())
            || daemon.is_none_or(|d| sender != Some(d.inner()))
        {
            return Seen::Other;
        }
        return match m.body().deserialize::<(u32, i32)>() {
            Ok((pid, status)) => Seen::Exited { pid, status },
            Err(_) => Seen::Other,
        };
    }
    if iface.as_str() == "org.freedesktop.DBus"
        && member.as_str() == "NameOwnerChanged"
        && sender.map(|s| s.as_str()) == Some("org.freedesktop.DBus")
        && let Ok((name, _old, new)) = m.body().deserialize::<(&str, &str, &str)>()
        && name == BUS_NAME
    {
        return Seen::Owner(OwnedUniqueName::try_from(new).ok());
    }
    Seen::Other
}

/// Spawn's errors: a missing program (or working directory) as a shell
/// reports it, 127; the rest as any other call's.
pub(super) fn spawn_error(e: BusError) -> CliError {
    match e {
        BusError::NotFound(m) => {
            CliError::new(Kind::NotFound, m).with_exit_code(NOT_FOUND_EXIT_CODE)
        }
        e => CliError::from(e),
    }
}

fn signal_error(e: std::io::Error) -> CliError {
    CliError::new(Kind::Failed, format!("cannot handle signals: {e}"))
}

/// The terminal side while the program runs: nsctl's terminal in raw mode
/// and the relay. Dropping it passes on the program's last output, then
/// restores the terminal, on every way out of `exec`.
struct Session {
    // Field order is drop order: the relay finishes before the terminal
    // leaves raw mode.
    _relay: Relay,
    _raw: Option<RawMode>,
    master: Arc<OwnedFd>,
}

impl Session {
    fn start(master: Arc<OwnedFd>) -> Result<Self, CliError> {
        let raw = match RawMode::enter() {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("nsctl: cannot put the terminal in raw mode: {e}");
                None
            }
        };
        let relay = Relay::start(master.clone(), Some(0), Some(1))
            .map_err(|e| CliError::new(Kind::Failed, format!("cannot relay the terminal: {e}")))?;
        Ok(Self {
            _relay: relay,
            _raw: raw,
            master,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_is_127_with_the_daemons_words() {
        let m = "could not start \"nonexist\" in namespace \"a\": No such file or directory";
        let e = spawn_error(BusError::NotFound(m.into()));
        assert_eq!(e.exit_code(), 127);
        assert_eq!(e.message(), m);
    }

    #[test]
    fn other_spawn_errors_keep_their_exit_codes() {
        let e = spawn_error(BusError::PermissionDenied(
            "not authorized for net.netnsd.Netns1.spawn".into(),
        ));
        assert_eq!(e.exit_code(), 5);
        let e = spawn_error(BusError::InvalidArgument("argv is empty".into()));
        assert_eq!(e.exit_code(), 6);
        let e = spawn_error(BusError::Busy("x".into()));
        assert_eq!(e.exit_code(), 7);
    }
}
