//! `nsctl exec` parsed without building the whole command tree.
//!
//! Building [`Cli`]'s parser makes every subcommand's arguments and help
//! texts (about 0.7 ms of nsctl's start, issue 18 item 2). `nsctl exec`
//! is the command people wait on, so its usual form, `nsctl exec NS -- CMD…`
//! with no option, is read by hand; any other command line that starts
//! with `exec` is parsed by a parser of that subcommand alone, built from the same
//! [`ExecArgs`] and the same top-level options. Anything it does not accept
//! — `--help`, `--version`, a usage error — goes to the whole parser, which
//! prints what it always printed: this path only ever answers a command line
//! both parsers read the same way (the tests below hold them to that).

use std::ffi::{OsStr, OsString};

use clap::{Arg, ArgAction, Args, FromArgMatches};

use super::{Cli, Command, ExecArgs};

/// The command line as [`Cli`] reads it, when it is an `nsctl exec` the
/// parser of that subcommand alone accepts; None otherwise (parse it whole).
pub fn parse_exec(args: &[OsString]) -> Option<Cli> {
    if args.get(1).map(OsString::as_os_str) != Some(OsStr::new("exec")) {
        return None;
    }
    if let Some(cli) = plain_exec(args) {
        return Some(cli);
    }
    let m = exec_only().try_get_matches_from(args).ok()?;
    let ("exec", sub) = m.subcommand()? else {
        return None;
    };
    let exec = ExecArgs::from_arg_matches(sub).ok()?;
    Some(Cli {
        json: m.get_flag("json"),
        command: Command::Exec(exec),
    })
}

/// The usual form, `nsctl exec NS -- CMD [ARG]…` with no option, read
/// without building any parser (building even `exec`'s alone is ~0.1 ms,
/// a tenth of nsctl's start): NS is a word that is not an option, and
/// everything after `--` is the command, as clap reads it.
fn plain_exec(args: &[OsString]) -> Option<Cli> {
    let [_, _, netns, dashes, command @ ..] = args else {
        return None;
    };
    let netns = netns.to_str()?;
    if netns.is_empty() || netns.starts_with('-') || dashes != "--" || command.is_empty() {
        return None;
    }
    let command = command
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()?;
    Some(Cli {
        json: false,
        command: Command::Exec(ExecArgs {
            netns: Some(netns.to_owned()),
            vpn: None,
            env: Vec::new(),
            cwd: None,
            no_pty: false,
            command,
        }),
    })
}

/// [`Cli`]'s top level (its one global option, `--version`) with only the
/// `exec` subcommand.
fn exec_only() -> clap::Command {
    clap::Command::new("nsctl")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new("json")
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue),
        )
        .subcommand(ExecArgs::augment_args(clap::Command::new("exec")))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        std::iter::once("nsctl")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Both parsers on one command line: the fast one answers only what
    /// the whole one reads the same way.
    fn same(args: &[&str]) -> Option<Cli> {
        let fast = parse_exec(&os(args));
        let whole = Cli::try_parse_from(os(args));
        match (&fast, &whole) {
            (Some(f), Ok(w)) => assert_eq!(format!("{f:?}"), format!("{w:?}"), "{args:?}"),
            (Some(f), Err(e)) => panic!("{args:?}: fast path read {f:?}, the whole parser: {e}"),
            (None, _) => {}
        }
        fast
    }

    #[test]
    fn exec_command_lines_read_as_the_whole_parser_reads_them() {
        let taken = [
            &["exec", "p1", "--", "true"][..],
            &["exec", "p1", "true"],
            &["exec", "p1", "--", "sh", "-c", "echo hi"],
            &["exec", "p1", "ls", "-l", "--help", "--version", "-V"],
            &[
                "exec", "--env", "A=1", "-e", "B", "--cwd", "/tmp", "p1", "--", "env",
            ],
            &["exec", "--no-pty", "p1", "--", "cat"],
            &["exec", "--json", "p1", "--", "true"],
            &["exec", "p1", "--json", "--", "true"],
            &["exec", "--vpn", "work", "--", "curl", "x"],
            &["exec", "--vpn", "work", "curl", "x"],
            &["exec", "p1", "--", "--"],
            &["exec", "p1", "--", "-x", "--json", "--help", ""],
            &["exec", "p1", "--", "exec", "p2", "--", "true"],
            &["exec", "p-1.x", "--", "env"],
            &["exec", "p1", "--", "true", "--", "--vpn"],
        ];
        for args in taken {
            assert!(same(args).is_some(), "{args:?} not taken by the fast path");
        }
        // Help, version, usage errors, other commands and top-level options
        // before `exec` are the whole parser's.
        let left = [
            &["exec"][..],
            &["exec", "--help"],
            &["exec", "-h"],
            &["exec", "--version"],
            &["exec", "-V"],
            &["exec", "p1"],
            &["exec", "p1", "--"],
            &["exec", "--bogus", "p1", "--", "true"],
            &["exec", "p1", "-x", "true"],
            &["exec", "--cwd"],
            &["--json", "exec", "p1", "--", "true"],
            &["list"],
            &["help", "exec"],
            &[],
        ];
        for args in left {
            assert!(same(args).is_none(), "{args:?} taken by the fast path");
        }
    }

    /// `nsctl exec NS -- CMD…` is read without a parser; an option or a
    /// missing `--` leaves it to clap.
    #[test]
    fn the_usual_form_is_read_without_a_parser() {
        for args in [
            &["exec", "p1", "--", "true"][..],
            &["exec", "p1", "--", "-x", "--json", "--help", ""],
            &["exec", "p1", "--", "--"],
        ] {
            assert!(plain_exec(&os(args)).is_some(), "{args:?}");
            assert!(same(args).is_some(), "{args:?}");
        }
        for args in [
            &["exec", "p1", "true"][..],
            &["exec", "--no-pty", "p1", "--", "true"],
            &["exec", "p1", "--json", "--", "true"],
            &["exec", "-e", "--", "true"],
            &["exec", "", "--", "true"],
            &["exec", "p1", "--"],
        ] {
            assert!(plain_exec(&os(args)).is_none(), "{args:?}");
        }
    }

    /// The fast parser has the top level's options: a new global option of
    /// [`Cli`] must be added there too.
    #[test]
    fn top_level_options_are_the_same() {
        let ids = |c: &clap::Command| {
            let mut v: Vec<String> = c
                .get_arguments()
                .map(|a| format!("{:?} {:?}", a.get_id(), a.get_long()))
                .collect();
            v.sort();
            v
        };
        let (mut whole, mut fast) = (Cli::command(), exec_only());
        whole.build();
        fast.build();
        assert_eq!(ids(&whole), ids(&fast));
        let ids_of_exec = |c: &mut clap::Command| ids(c.find_subcommand_mut("exec").unwrap());
        assert_eq!(ids_of_exec(&mut whole), ids_of_exec(&mut fast));
    }
}
