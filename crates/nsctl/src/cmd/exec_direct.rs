//! `nsctl exec NS -- CMD` without a pseudo-terminal or `--vpn`: the same
//! calls and semantics as [`super::exec`], on the blocking client of
//! [`crate::busconn`] (no runtime, no zbus connection), in three round trips
//! where zbus needs four or more: the handshake, Hello, the namespace's
//! lookup and the two subscriptions go in one write; then Spawn; then
//! ProcessExited (issue 18 item 2). On netnsd's private socket (root), two:
//! the handshake and SpawnByName (the lookup and Spawn in one call) go in
//! one write, with the program's descriptors; then ProcessExited.
//!
//! Signals (INT, TERM, HUP) are blocked and read from a signalfd from just
//! before Spawn (or SpawnByName): one that comes while the program starts
//! is passed on once its pid is known, instead of ending nsctl and leaving
//! the program behind, as in [`super::exec`].

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use netnsd_api::{
    BUS_NAME, CONTROLLER_INTERFACE, CONTROLLER_PATH, INSTANCE_INTERFACE, PRIVATE_INTERFACE,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use crate::busconn::{self, ALLOW_INTERACTIVE_AUTH, Arg, Body, Call, Conn, Message};
use crate::cli::ExecArgs;
use crate::cmd::check_name;
use crate::error::{CliError, Kind};
use crate::exec;
use crate::pty::{is_open, stdio};

const DBUS: &str = "org.freedesktop.DBus";
const DBUS_PATH: &str = "/org/freedesktop/DBus";

/// Whether `args` run here rather than in [`super::exec`]: no `--vpn`, no
/// pseudo-terminal (which a terminal on stdin and stdout gets, unless
/// `--no-pty`), and a bus address this client reads (`unix:path=` or
/// `unix:abstract=`; zbus reads the others).
pub fn applies(args: &ExecArgs) -> bool {
    args.vpn.is_none()
        && (args.no_pty || !crate::pty::is_terminal(0) || !crate::pty::is_terminal(1))
        && busconn::parse_address(&busconn::system_bus_address()).is_ok()
}

/// Runs the program and returns nsctl's exit status: the program's.
pub fn exec(args: &ExecArgs) -> Result<u8, CliError> {
    let netns = args.netns.clone().unwrap_or_default();
    check_name(&netns)?;
    let env = exec::environment(std::env::vars_os(), &args.env)?;
    let cwd = exec::working_directory(args.cwd.as_deref(), std::env::current_dir())?;
    let program = Program::new(args, &env, &cwd);
    let session =
        match private_socket().and_then(|path| open_private(&path, &netns, &program).transpose()) {
            Some(s) => s?,
            None => open_bus(&netns)?,
        };
    run(session, &program, &netns)
}

/// Spawn's arguments (argv, env, cwd, descriptors, options) and the
/// descriptors themselves.
struct Program<'a> {
    args: [Arg<'a>; 5],
    fds: Vec<std::os::fd::BorrowedFd<'static>>,
}

impl<'a> Program<'a> {
    fn new(
        args: &'a ExecArgs,
        env: &'a std::collections::BTreeMap<String, String>,
        cwd: &'a str,
    ) -> Program<'a> {
        let names = ["stdin", "stdout", "stderr"];
        let mut fds = Vec::new();
        let mut fd_args = Vec::new();
        for (fd, name) in names.iter().enumerate() {
            // A closed descriptor is /dev/null for the program.
            if is_open(fd as i32) {
                fd_args.push((*name, fds.len() as u32));
                fds.push(stdio(fd as i32));
            }
        }
        let argv = args.command.iter().map(String::as_str).collect();
        let env = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Program {
            args: [
                Arg::StrArray(argv),
                Arg::StrDict(env),
                Arg::Str(cwd),
                Arg::FdDict(fd_args),
                Arg::BoolDict(Vec::new()),
            ],
            fds,
        }
    }
}

/// Who may announce the program's end.
#[derive(Debug, Clone, PartialEq)]
enum Daemon {
    /// On the bus: the owner of netnsd's name (its unique name), if any.
    Bus(Option<String>),
    /// netnsd itself, the peer of the private socket.
    Peer,
}

/// A connection to netnsd and the namespace's object on it.
struct Session {
    conn: Conn,
    /// Messages read while waiting for a reply, still to be handled.
    pending: VecDeque<Message>,
    object: String,
    daemon: Daemon,
    /// The program's pid, when the call that opened the session started it
    /// (SpawnByName), and the signals caught before that call.
    started: Option<(u32, SignalFd)>,
}

/// Where netnsd's private socket is, for this nsctl: only root uses it,
/// and only with the system bus netnsd serves on by default (a client
/// pointed at another bus talks to the netnsd there).
/// NETNSD_PRIVATE_SOCKET names another path, or (empty) none.
fn private_socket() -> Option<std::path::PathBuf> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    match std::env::var_os("NETNSD_PRIVATE_SOCKET") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(p.into()),
        None if busconn::system_bus_address() == busconn::DEFAULT_SYSTEM_BUS => {
            Some(netnsd_api::PRIVATE_SOCKET.into())
        }
        None => None,
    }
}

/// The program started through the private socket at `path`: one write
/// (the handshake and SpawnByName, with the program's descriptors), one
/// reply. None when the socket does not answer (no netnsd there, or too
/// many connections) or its netnsd has no SpawnByName (an older one, still
/// running after an upgrade): the bus is used then.
fn open_private(
    path: &std::path::Path,
    netns: &str,
    program: &Program<'_>,
) -> Result<Option<Session>, CliError> {
    let Ok(sock) = std::os::unix::net::UnixStream::connect(path) else {
        return Ok(None);
    };
    // A daemon that took the connection but does not answer (stopped,
    // stuck) is said so after the bus's own reply timeout, not waited for
    // for ever.
    let _ = sock.set_read_timeout(Some(PRIVATE_ANSWER_LIMIT));
    let timed_out = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    };
    let silent = || {
        CliError::new(
            Kind::Unreachable,
            format!(
                "netnsd did not answer on its private socket {} within {} s",
                path.display(),
                PRIVATE_ANSWER_LIMIT.as_secs()
            ),
        )
    };
    // The program may start with the first write: signals from here on
    // are read, and passed on once its pid is known.
    let signals = catch_signals()?;
    let mut by_name = vec![Arg::Str(netns)];
    by_name.extend(program.args.iter().cloned());
    let call = Call {
        serial: 1,
        flags: 0,
        destination: BUS_NAME,
        path: CONTROLLER_PATH,
        interface: PRIVATE_INTERFACE,
        member: "SpawnByName",
        args: &by_name,
        fds: program.fds.len() as u32,
    };
    let mut conn = match Conn::open_peer(sock, 0, &[call], &program.fds) {
        Ok(c) => c,
        Err(busconn::Handshake::Io(e)) if timed_out(&e) => return Err(silent()),
        // Closed at once (too many connections) or not netnsd's: the bus.
        Err(_) => return Ok(None),
    };
    let mut pending = VecDeque::new();
    let reply = loop {
        match conn.read() {
            Ok(Some(m))
                if m.reply_serial == Some(1)
                    && matches!(m.kind, busconn::METHOD_RETURN | busconn::ERROR) =>
            {
                break m;
            }
            Ok(Some(m)) => pending.push_back(m),
            Err(e) if timed_out(&e) => return Err(silent()),
            Ok(None) | Err(_) => return Ok(None),
        }
    };
    let (object, started) = match reply.kind {
        busconn::METHOD_RETURN => {
            let mut body = Body::of(&reply);
            let object = body.str().map_err(lost)?;
            let pid = body.u32().map_err(lost)?;
            (object, Some((pid, signals)))
        }
        // An older netnsd, still running after an upgrade: nothing was
        // started; the bus.
        _ if reply.error_name.as_deref() == Some(UNKNOWN_METHOD) => return Ok(None),
        // No such namespace: as the lookup on the bus says it.
        _ if reply.error_name.as_deref() == Some(UNKNOWN_OBJECT) => {
            let message = Body::of(&reply).str().unwrap_or_default();
            return Err(CliError::from(netnsd_api::Error::NotFound(message)));
        }
        _ => {
            return Err(super::exec::spawn_error(netnsd_api::Error::from(
                bus_error(&reply),
            )));
        }
    };
    // From here on the program's run decides how long it takes.
    conn.set_read_timeout(None).map_err(lost)?;
    Ok(Some(Session {
        conn,
        pending,
        object,
        daemon: Daemon::Peer,
        started,
    }))
}

/// What netnsd's private socket answers a call it does not have (an older
/// netnsd's, to SpawnByName).
const UNKNOWN_METHOD: &str = "org.freedesktop.DBus.Error.UnknownMethod";
/// SpawnByName's answer for a name no namespace has.
const UNKNOWN_OBJECT: &str = "org.freedesktop.DBus.Error.UnknownObject";

/// How long nsctl waits for the private socket's first answer: as long
/// as the bus daemon waits for a reply by default.
const PRIVATE_ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_secs(25);

/// The system bus's address, and an error about it that names it.
fn bus_address() -> Result<(String, busconn::UnixAddr), CliError> {
    let address = busconn::system_bus_address();
    let addr = busconn::parse_address(&address).map_err(|m| {
        CliError::new(
            Kind::Unreachable,
            format!("invalid system bus address ({m}); check DBUS_SYSTEM_BUS_ADDRESS"),
        )
    })?;
    Ok((address, addr))
}

/// Connects to the system bus with the handshake, Hello and `first` in one
/// write.
fn bus_conn(first: &[Call<'_>]) -> Result<Conn, CliError> {
    let (address, addr) = bus_address()?;
    let cannot = |e: &dyn std::fmt::Display| {
        CliError::new(
            Kind::Unreachable,
            format!("cannot connect to the system bus at {address}: {e}"),
        )
    };
    let sock = busconn::connect(&addr).map_err(|e| cannot(&e))?;
    let uid = nix::unistd::geteuid().as_raw();
    Conn::open(sock, uid, first).map_err(|e| match e {
        busconn::Handshake::Io(e) => cannot(&e),
        busconn::Handshake::Refused(m) => CliError::new(
            Kind::Unreachable,
            format!("the system bus refused the connection: {m}"),
        ),
    })
}

/// The namespace's object through the system bus (see [`subscribed`]).
fn open_bus(netns: &str) -> Result<Session, CliError> {
    let name = [Arg::Str(netns)];
    let (conn, pending, reply) = subscribed(lookup(4, &name))?;
    if reply.kind == busconn::ERROR {
        return Err(CliError::from(bus_error(&reply)));
    }
    Ok(Session {
        conn,
        pending,
        object: Body::of(&reply).str().map_err(lost)?,
        daemon: Daemon::Bus(reply.sender.clone()),
        started: None,
    })
}

/// When the private socket closed under a running program (netnsd
/// stopped): its end is waited for on the bus, from the next netnsd, whose
/// unique name GetNameOwner gives if it is back already (an error: not yet).
fn follow_on_bus(object: &str) -> Result<Session, CliError> {
    let owner = [Arg::Str(BUS_NAME)];
    let get_owner = Call {
        serial: 4,
        flags: 0,
        destination: DBUS,
        path: DBUS_PATH,
        interface: DBUS,
        member: "GetNameOwner",
        args: &owner,
        fds: 0,
    };
    let (conn, pending, reply) = subscribed(get_owner)?;
    let owner = match reply.kind {
        busconn::ERROR => None,
        _ => Some(Body::of(&reply).str().map_err(lost)?),
    };
    Ok(Session {
        conn,
        pending,
        object: object.to_owned(),
        daemon: Daemon::Bus(owner),
        started: None,
    })
}

/// The system bus, subscribed to ProcessExited and to netnsd's name
/// changing hands, with `call` (serial 4): one write for the handshake,
/// Hello (1), the two subscriptions (2, 3) and `call`, then the four
/// answers. An error to any but `call` fails; `call`'s answer is returned,
/// error or not, with what else came meanwhile.
fn subscribed(call: Call<'_>) -> Result<(Conn, VecDeque<Message>, Message), CliError> {
    let (exited_rule, owner_rule) = (super::exec::exited_rule(), super::exec::owner_rule());
    let (exited_rule, owner_rule) = ([Arg::Str(&exited_rule)], [Arg::Str(&owner_rule)]);
    let first = [add_match(2, &exited_rule), add_match(3, &owner_rule), call];
    let mut conn = bus_conn(&first)?;
    let mut pending = VecDeque::new();
    let mut reply = None;
    let mut answered = 0;
    while answered < 4 {
        let m = read(&mut conn)?;
        match m.reply_serial {
            Some(4) => {
                reply = Some(m);
                answered += 1;
            }
            Some(1..=3) if m.kind == busconn::ERROR => {
                return Err(CliError::from(bus_error(&m)));
            }
            Some(1..=3) => answered += 1,
            _ => pending.push_back(m),
        }
    }
    Ok((conn, pending, reply.expect("the call was answered")))
}

/// Spawns the program over `session`, unless the session's first call
/// did, and waits for its end.
fn run(session: Session, program: &Program<'_>, netns: &str) -> Result<u8, CliError> {
    let Session {
        mut conn,
        mut pending,
        object,
        mut daemon,
        started,
    } = session;
    let (pid, signals) = match started {
        Some(started) => started,
        None => spawn(&mut conn, &mut pending, &object, program)?,
    };

    let mut forwarded = false;
    let mut daemon_gone = false;
    loop {
        while let Some(m) = next_ready(&mut conn, &mut pending)? {
            match seen(&m, &object, &daemon) {
                Seen::Exited { pid: p, status } if p == pid => return Ok(exec::exit_code(status)),
                Seen::Owner(Some(new)) => {
                    daemon = Daemon::Bus(Some(new));
                    daemon_gone = false;
                }
                // Where systemd runs, the program is a unit of its own and
                // outlives netnsd, whose next start announces its end: wait
                // while it runs.
                Seen::Owner(None) if program_runs(pid) => {
                    daemon = Daemon::Bus(None);
                    daemon_gone = true;
                }
                Seen::Owner(None) => return Err(stopped(pid)),
                _ => {}
            }
        }
        let timeout = if daemon_gone {
            PollTimeout::from(1000u16)
        } else {
            PollTimeout::NONE
        };
        let mut pfd = [
            PollFd::new(conn.fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        let n = match poll(&mut pfd, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(lost(e.into())),
        };
        let bus_ready = pfd[0].any().unwrap_or(false);
        let sig_ready = pfd[1].any().unwrap_or(false);
        if n == 0 {
            if program_runs(pid) {
                continue;
            }
            return Err(CliError::new(
                Kind::Unreachable,
                format!("PID {pid} ended while netnsd was stopped; its exit status is unknown"),
            ));
        }
        if bus_ready {
            match conn.read() {
                Ok(Some(m)) => pending.push_back(m),
                // netnsd stopped (the private socket closes with it): the
                // next one announces the end, on the bus.
                Ok(None) | Err(_) if daemon == Daemon::Peer => {
                    if !program_runs(pid) {
                        return Err(stopped(pid));
                    }
                    let s = follow_on_bus(&object)?;
                    conn = s.conn;
                    pending = s.pending;
                    daemon_gone = s.daemon == Daemon::Bus(None);
                    daemon = s.daemon;
                }
                Ok(None) | Err(_) => {
                    return Err(CliError::new(
                        Kind::Unreachable,
                        format!(
                            "lost the system bus while PID {pid} was running; its exit status is unknown"
                        ),
                    ));
                }
            }
            continue;
        }
        if !sig_ready {
            continue;
        }
        let Ok(Some(info)) = signals.read_signal() else {
            continue;
        };
        let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        // nsctl was asked to stop.
        let code = 128 + sig as u8;
        if !forwarded && forward(&mut conn, &mut pending, &object, pid, sig)? {
            // Wait for the program to end of it; its status tells.
            forwarded = true;
            continue;
        }
        eprintln!(
            "nsctl: {sig}: no longer waiting for PID {pid}, which may still run in namespace {netns:?}"
        );
        return Ok(code);
    }
}

/// Spawn over `conn`: the program's pid, and the signals caught from just
/// before the call.
fn spawn(
    conn: &mut Conn,
    pending: &mut VecDeque<Message>,
    object: &str,
    program: &Program<'_>,
) -> Result<(u32, SignalFd), CliError> {
    // Signals from here on are read, not acted on by the kernel.
    let signals = catch_signals()?;
    let serial = conn.serial();
    conn.send(
        &Call {
            serial,
            flags: ALLOW_INTERACTIVE_AUTH,
            destination: BUS_NAME,
            path: object,
            interface: INSTANCE_INTERFACE,
            member: "Spawn",
            args: &program.args,
            fds: program.fds.len() as u32,
        },
        &program.fds,
    )
    .map_err(lost)?;
    let reply = reply_to(conn, serial, pending)?;
    if reply.kind == busconn::ERROR {
        return Err(super::exec::spawn_error(netnsd_api::Error::from(
            bus_error(&reply),
        )));
    }
    Ok((Body::of(&reply).u32().map_err(lost)?, signals))
}

/// netnsd stopped and the program is gone too.
fn stopped(pid: u32) -> CliError {
    CliError::new(
        Kind::Unreachable,
        format!("netnsd stopped while PID {pid} was running; its exit status is unknown"),
    )
}

/// GetNetworkNamespaceByName(name).
fn lookup<'a>(serial: u32, name: &'a [Arg<'a>; 1]) -> Call<'a> {
    Call {
        serial,
        flags: 0,
        destination: BUS_NAME,
        path: CONTROLLER_PATH,
        interface: CONTROLLER_INTERFACE,
        member: "GetNetworkNamespaceByName",
        args: name,
        fds: 0,
    }
}

fn add_match<'a>(serial: u32, rule: &'a [Arg<'a>; 1]) -> Call<'a> {
    Call {
        serial,
        flags: 0,
        destination: DBUS,
        path: DBUS_PATH,
        interface: DBUS,
        member: "AddMatch",
        args: rule,
        fds: 0,
    }
}

/// INT, TERM and HUP blocked, to be read from the returned descriptor.
fn catch_signals() -> Result<SignalFd, CliError> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(s);
    }
    let failed =
        |e: nix::errno::Errno| CliError::new(Kind::Failed, format!("cannot handle signals: {e}"));
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(failed)?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(failed)
}

/// The connection failed or ended while a call was being made.
fn lost(e: std::io::Error) -> CliError {
    CliError::new(
        Kind::Unreachable,
        format!("lost the connection to the system bus: {e}"),
    )
}

/// The next message, blocking.
fn read(conn: &mut Conn) -> Result<Message, CliError> {
    match conn.read() {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(lost(std::io::ErrorKind::UnexpectedEof.into())),
        Err(e) => Err(lost(e)),
    }
}

/// The reply to `serial`, keeping what else comes meanwhile in `pending`.
fn reply_to(
    conn: &mut Conn,
    serial: u32,
    pending: &mut VecDeque<Message>,
) -> Result<Message, CliError> {
    loop {
        let m = read(conn)?;
        if m.reply_serial == Some(serial)
            && matches!(m.kind, busconn::METHOD_RETURN | busconn::ERROR)
        {
            return Ok(m);
        }
        pending.push_back(m);
    }
}

/// A message to handle without blocking: one kept earlier, or a whole one
/// already read off the socket.
fn next_ready(
    conn: &mut Conn,
    pending: &mut VecDeque<Message>,
) -> Result<Option<Message>, CliError> {
    if let Some(m) = pending.pop_front() {
        return Ok(Some(m));
    }
    if conn.has_message() {
        return read(conn).map(Some);
    }
    Ok(None)
}

/// An error reply, as zbus would have delivered it: the same mapping to
/// netnsd's errors and nsctl's messages and exit codes as every command's.
fn bus_error(m: &Message) -> zbus::Error {
    let name = m
        .error_name
        .as_deref()
        .unwrap_or("org.freedesktop.DBus.Error.Failed");
    let desc = if m.signature.starts_with('s') {
        Body::of(m).str().ok()
    } else {
        None
    };
    let call = zbus::Message::method_call("/", "X").build(&());
    let err = call.and_then(|call| {
        let b = zbus::Message::error(&call.header(), name);
        match &desc {
            Some(d) => b.build(&(d,)),
            None => b.build(&()),
        }
    });
    match err {
        Ok(e) => zbus::Error::from(e),
        Err(_) => zbus::Error::Failure(format!("{name}: {}", desc.unwrap_or_default())),
    }
}

/// Sends `sig` to the program's process group (it leads a session of its
/// own), if it is still the program: a process with that pid in the
/// namespace, as seen from here (nsctl may be in another pid namespace than
/// netnsd, or the pid reused).
fn forward(
    conn: &mut Conn,
    pending: &mut VecDeque<Message>,
    object: &str,
    pid: u32,
    sig: Signal,
) -> Result<bool, CliError> {
    let serial = conn.serial();
    let get = Call {
        serial,
        flags: 0,
        destination: BUS_NAME,
        path: object,
        interface: "org.freedesktop.DBus.Properties",
        member: "Get",
        args: &[Arg::Str(INSTANCE_INTERFACE), Arg::Str("Id")],
        fds: 0,
    };
    if conn.send(&get, &[]).is_err() {
        return Ok(false);
    }
    let Ok(reply) = reply_to(conn, serial, pending) else {
        return Ok(false);
    };
    let mut b = Body::of(&reply);
    let id = match (reply.kind, b.sig().as_deref()) {
        (busconn::METHOD_RETURN, Ok("t")) => b.u64().ok(),
        _ => None,
    };
    let Some(id) = id else { return Ok(false) };
    let same = std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| m.ino() == id);
    let Ok(p) = i32::try_from(pid) else {
        return Ok(false);
    };
    Ok(same && killpg(Pid::from_raw(p), sig).is_ok())
}

/// Whether process `pid` (as seen from here) still runs.
fn program_runs(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// What an incoming message means to `nsctl exec`.
#[derive(Debug, PartialEq)]
enum Seen {
    /// ProcessExited on our namespace's object, from the daemon.
    Exited { pid: u32, status: i32 },
    /// netnsd's name has a new owner (its unique name), or none.
    Owner(Option<String>),
    /// Anything else: replies, others' signals.
    Other,
}

fn seen(m: &Message, object: &str, daemon: &Daemon) -> Seen {
    if m.kind != busconn::SIGNAL {
        return Seen::Other;
    }
    let (Some(iface), Some(member)) = (m.interface.as_deref(), m.member.as_deref()) else {
        return Seen::Other;
    };
    let sender = m.sender.as_deref();
    if iface == INSTANCE_INTERFACE && member == "ProcessExited" {
        // The signals that count come from the daemon that answered, as
        // zbus's proxies check: another peer could send one to us.
        let from_daemon = match daemon {
            Daemon::Bus(d) => d.is_some() && sender == d.as_deref(),
            Daemon::Peer => true,
        };
        if m.path.as_deref() != Some(object) || !from_daemon || m.signature != "ui" {
            return Seen::Other;
        }
        let mut b = Body::of(m);
        return match (b.u32(), b.i32()) {
            (Ok(pid), Ok(status)) => Seen::Exited { pid, status },
            _ => Seen::Other,
        };
    }
    if iface == DBUS && member == "NameOwnerChanged" && sender == Some(DBUS) && m.signature == "sss"
    {
        let mut b = Body::of(m);
        if let (Ok(name), Ok(_old), Ok(new)) = (b.str(), b.str(), b.str())
            && name == BUS_NAME
        {
            return Seen::Owner((!new.is_empty()).then_some(new));
        }
    }
    Seen::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(
        path: &str,
        iface: &str,
        member: &str,
        sender: &str,
        sig: &str,
        body: Vec<u8>,
    ) -> Message {
        Message {
            kind: busconn::SIGNAL,
            path: Some(path.into()),
            interface: Some(iface.into()),
            member: Some(member.into()),
            sender: Some(sender.into()),
            signature: sig.into(),
            body,
            ..Default::default()
        }
    }

    fn exited(path: &str, sender: &str) -> Message {
        let mut body = 77u32.to_le_bytes().to_vec();
        body.extend((-9i32).to_le_bytes());
        signal(
            path,
            INSTANCE_INTERFACE,
            "ProcessExited",
            sender,
            "ui",
            body,
        )
    }

    fn owner_changed(sender: &str, name: &str, new: &str) -> Message {
        let mut body = Vec::new();
        for s in [name, ":1.1", new] {
            while body.len() % 4 != 0 {
                body.push(0);
            }
            body.extend((s.len() as u32).to_le_bytes());
            body.extend(s.as_bytes());
            body.push(0);
        }
        signal(DBUS_PATH, DBUS, "NameOwnerChanged", sender, "sss", body)
    }

    /// ProcessExited counts only from the daemon that answered, on our
    /// object; NameOwnerChanged only from the bus, about netnsd's name.
    #[test]
    fn only_the_daemons_signals_count() {
        let obj = "/net/netnsd/Netns1/NetNs/3";
        let d = &Daemon::Bus(Some(":1.4".into()));
        assert_eq!(
            seen(&exited(obj, ":1.4"), obj, d),
            Seen::Exited {
                pid: 77,
                status: -9
            }
        );
        assert_eq!(seen(&exited(obj, ":1.66"), obj, d), Seen::Other);
        assert_eq!(
            seen(&exited("/net/netnsd/Netns1/NetNs/4", ":1.4"), obj, d),
            Seen::Other
        );
        assert_eq!(
            seen(&exited(obj, ":1.4"), obj, &Daemon::Bus(None)),
            Seen::Other
        );
        assert_eq!(
            seen(&owner_changed(DBUS, BUS_NAME, ":1.9"), obj, d),
            Seen::Owner(Some(":1.9".into()))
        );
        assert_eq!(
            seen(&owner_changed(DBUS, BUS_NAME, ""), obj, d),
            Seen::Owner(None)
        );
        assert_eq!(
            seen(&owner_changed(":1.66", BUS_NAME, ""), obj, d),
            Seen::Other
        );
        assert_eq!(
            seen(&owner_changed(DBUS, "org.example", ""), obj, d),
            Seen::Other
        );
    }

    /// On the private socket the peer is netnsd itself: its signals carry
    /// no sender; still only ProcessExited on our object counts, and no
    /// NameOwnerChanged (only the bus sends those).
    #[test]
    fn on_the_private_socket_the_peer_is_the_daemon() {
        let obj = "/net/netnsd/Netns1/NetNs/3";
        let mut m = exited(obj, "");
        m.sender = None;
        assert_eq!(
            seen(&m, obj, &Daemon::Peer),
            Seen::Exited {
                pid: 77,
                status: -9
            }
        );
        assert_eq!(
            seen(&m, obj, &Daemon::Bus(Some(":1.4".into()))),
            Seen::Other
        );
        let mut other = exited("/net/netnsd/Netns1/NetNs/4", "");
        other.sender = None;
        assert_eq!(seen(&other, obj, &Daemon::Peer), Seen::Other);
    }

    /// Error replies map as zbus's do: netnsd's names to their exit codes.
    #[test]
    fn error_replies_map_as_with_zbus() {
        let mut body = 4u32.to_le_bytes().to_vec();
        body.extend(b"gone\0");
        let m = Message {
            kind: busconn::ERROR,
            error_name: Some("net.netnsd.Netns1.Error.NotFound".into()),
            signature: "s".into(),
            body,
            ..Default::default()
        };
        let e = super::super::exec::spawn_error(netnsd_api::Error::from(bus_error(&m)));
        assert_eq!((e.exit_code(), e.message()), (127, "gone"));
        let e = CliError::from(bus_error(&m));
        assert_eq!((e.exit_code(), e.message()), (3, "gone"));
        let m = Message {
            error_name: Some("org.freedesktop.DBus.Error.ServiceUnknown".into()),
            ..m
        };
        let e = CliError::from(bus_error(&m));
        assert_eq!(e.exit_code(), 10);
        assert!(
            e.message().starts_with("netnsd is not running"),
            "{}",
            e.message()
        );
    }
}
