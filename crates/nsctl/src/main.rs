//! nsctl, the command-line client of netnsd.
//!
//! This file only parses the command line, runs the subcommand and turns an
//! error into `nsctl: MESSAGE` on stderr and an exit status (see
//! `error::EXIT_STATUSES`). The work is in `cmd/`, the printing in `output`.
//!
//! nsctl has a C `main` of its own instead of Rust's start-up (see
//! [`main`]): it is started for every command, and for `nsctl exec` its own
//! start is a good part of what the user waits for.

// Unit tests keep the test harness's own main.
#![cfg_attr(not(test), no_main)]

mod active;
mod agent;
mod busconn;
mod cli;
mod cmd;
mod desktop;
mod device;
mod error;
mod exec;
mod man;
mod namespace;
mod output;
mod profile;
mod pty;
mod routing;
mod secret;
mod tables;

use std::io::{self, Write};

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, ConnectionCommand};
use error::{CliError, Kind};

/// What a command ends with.
enum Done {
    /// Text to print on stdout, then exit 0.
    Print(String),
    /// `nsctl exec`: exit with the program's status.
    Exit(u8),
}

/// The process's entry point, called by the C library as a C program's is.
///
/// Rust's own start-up (what `fn main` gets) costs ~0.2 ms of nsctl's
/// ~1.5 ms here (`perf record` of `nsctl exec bad/name -- true`), most of it
/// to find the main thread's stack in /proc/self/maps for the message "has
/// overflowed its stack" (an alternate signal stack, SIGSEGV and SIGBUS
/// handlers, and their removal at exit). nsctl does the rest of what that
/// start-up does: standard descriptors that are closed are opened on
/// /dev/null (else the bus socket could become stdout), SIGPIPE is ignored
/// (a closed pipe is an error to report, not a silent death), a panic
/// exits with 101, and stdout is flushed at the end. A stack overflow is a
/// plain SIGSEGV. The arguments come from the C library through
/// `std::env::args_os` as before.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    open_standard_descriptors();
    // SAFETY: sets SIGPIPE's disposition before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = std::panic::catch_unwind(nsctl_main).unwrap_or(101);
    let _ = io::stdout().flush();
    code.into()
}

/// Descriptors 0, 1 and 2 that are closed opened on /dev/null, as Rust's
/// start-up does.
#[cfg(not(test))]
fn open_standard_descriptors() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: polls three entries of a local array without waiting.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for p in fds {
        if p.revents & libc::POLLNVAL != 0 {
            // SAFETY: opens a path; the lowest free descriptor, this one,
            // is taken and kept for the process's life.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

#[cfg_attr(test, allow(dead_code))]
fn nsctl_main() -> u8 {
    // Usage errors, --help and --version exit here (2 for a usage error).
    // `nsctl exec` is read without building every other command's parser.
    let args: Vec<_> = std::env::args_os().collect();
    let cli = cli::parse_exec(&args).unwrap_or_else(|| Cli::parse_from(args));
    if let Err(e) = cli::check(&cli) {
        e.exit();
    }
    let done = run(cli).and_then(|done| match done {
        Done::Print(out) => print(&out).map(|()| 0),
        Done::Exit(code) => Ok(code),
    });
    match done {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nsctl: {}", e.message());
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<Done, CliError> {
    match cli.command {
        Command::GenerateMan { dir } => {
            man::write_pages(&dir).map_err(|e| {
                CliError::new(
                    Kind::Failed,
                    format!("cannot write man pages to {}: {e}", dir.display()),
                )
            })?;
            Ok(Done::Print(String::new()))
        }
        Command::DesktopEntry {
            profile,
            name,
            remove,
            command,
        } => desktop::exec(&profile, &name, remove, &command).map(Done::Print),
        Command::GenerateCompletions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nsctl", &mut buf);
            String::from_utf8(buf)
                .map(Done::Print)
                .map_err(|e| CliError::new(Kind::Failed, e.to_string()))
        }
        // `nsctl exec` without a pseudo-terminal or --vpn: a blocking
        // client, no runtime; it exits as soon as the status is known.
        Command::Exec(args) if cmd::exec_direct::applies(&args) => {
            let code = cmd::exec_direct::exec(&args)?;
            std::process::exit(code.into())
        }
        command => {
            // Secrets from stdin are read before anything else happens.
            let secrets = match &command {
                Command::Connection(ConnectionCommand::Add(a)) => secret::read_all(&a.secret)?,
                Command::Connection(ConnectionCommand::Modify(m)) => secret::read_all(&m.secret)?,
                _ => Vec::new(),
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::new(Kind::Failed, format!("cannot start: {e}")))?;
            runtime.block_on(bus_command(command, secrets, cli.json))
        }
    }
}

async fn bus_command(
    command: Command,
    secrets: cmd::connection::Secrets,
    json: bool,
) -> Result<Done, CliError> {
    let conn = cmd::connect().await?;
    if let Command::Exec(args) = command {
        return cmd::exec::exec(&conn, args).await.map(Done::Exit);
    }
    if let Command::Monitor = command {
        return cmd::monitor::exec(&conn, json).await.map(Done::Exit);
    }
    let out = match command {
        Command::List => cmd::list::exec(&conn, json).await,
        Command::Add(args) => cmd::add::exec(&conn, &args, json).await,
        Command::Delete { name } => cmd::delete::exec(&conn, &name, json).await,
        Command::Reload => cmd::reload::exec(&conn, json).await,
        Command::Dispatcher => cmd::reload::dispatcher(&conn, json).await,
        Command::Show { name } => cmd::show::exec(&conn, &name, json).await,
        Command::Attach { name, pid } => cmd::attach::exec(&conn, &name, pid, json).await,
        Command::Device(c) => cmd::device::exec(&conn, c, json).await,
        Command::Link(c) => cmd::link::exec(&conn, c, json).await,
        Command::Addr(c) => cmd::addr::exec(&conn, c).await,
        Command::Route(c) => cmd::route::exec(&conn, c, json).await,
        Command::Rule(c) => cmd::rule::exec(&conn, c, json).await,
        Command::Uplink(c) => cmd::uplink::exec(&conn, c).await,
        Command::Dns(c) => cmd::dns::exec(&conn, c).await,
        Command::Forward(c) => cmd::forward::exec(&conn, c, json).await,
        Command::Connection(c) => cmd::connection::exec(&conn, c, secrets, json).await,
        Command::Vpn(c) => cmd::vpn::exec(&conn, c, json).await,
        Command::Graph { svg } => cmd::graph::exec(&conn, svg.as_deref()).await,
        Command::Exec(_)
        | Command::DesktopEntry { .. }
        | Command::Monitor
        | Command::GenerateMan { .. }
        | Command::GenerateCompletions { .. } => {
            unreachable!("handled above")
        }
    };
    out.map(Done::Print)
}

/// Writes the output; a reader that went away (`nsctl list | head -1`) is not an error.
fn print(out: &str) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::new(
            Kind::Failed,
            format!("cannot write to stdout: {e}"),
        )),
        _ => Ok(()),
    }
}
