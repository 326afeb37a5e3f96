//! nsctl, the command-line client of netnsd.
//!
//! This file only parses the command line, runs the subcommand and turns an
//! error into `nsctl: MESSAGE` on stderr and an exit status (see
//! `error::EXIT_STATUSES`). The work is in `cmd/`, the printing in `output`.

mod cli;
mod cmd;
mod device;
mod error;
mod man;
mod namespace;
mod output;
mod routing;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use error::{CliError, Kind};

fn main() -> ExitCode {
    // Usage errors, --help and --version exit here (2 for a usage error).
    let cli = Cli::parse();
    match run(cli).and_then(|out| print(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nsctl: {}", e.message());
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::GenerateMan { dir } => {
            man::write_pages(&dir).map_err(|e| {
                CliError::new(
                    Kind::Failed,
                    format!("cannot write man pages to {}: {e}", dir.display()),
                )
            })?;
            Ok(String::new())
        }
        Command::GenerateCompletions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nsctl", &mut buf);
            String::from_utf8(buf).map_err(|e| CliError::new(Kind::Failed, e.to_string()))
        }
        command => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::new(Kind::Failed, format!("cannot start: {e}")))?;
            runtime.block_on(bus_command(command, cli.json))
        }
    }
}

async fn bus_command(command: Command, json: bool) -> Result<String, CliError> {
    let conn = cmd::connect().await?;
    match command {
        Command::List => cmd::list::exec(&conn, json).await,
        Command::Add { name } => cmd::add::exec(&conn, &name, json).await,
        Command::Delete { name } => cmd::delete::exec(&conn, &name, json).await,
        Command::Show { name } => cmd::show::exec(&conn, &name, json).await,
        Command::Device(c) => cmd::device::exec(&conn, c, json).await,
        Command::Link(c) => cmd::link::exec(&conn, c, json).await,
        Command::Addr(c) => cmd::addr::exec(&conn, c).await,
        Command::Route(c) => cmd::route::exec(&conn, c, json).await,
        Command::Rule(c) => cmd::rule::exec(&conn, c, json).await,
        Command::GenerateMan { .. } | Command::GenerateCompletions { .. } => {
            unreachable!("handled without the bus")
        }
    }
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
