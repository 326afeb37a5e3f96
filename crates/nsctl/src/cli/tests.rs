//! Tests of the command line: what parses into what, what is a usage error
//! (exit status 2), what the help says. One file per topic below, as in
//! cli/; here the helpers and what concerns the whole command.

use clap::{CommandFactory, Parser};
use clap_complete::Shell;

use super::*;

mod conn;
mod ns;
mod platform;

pub(super) fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("nsctl").chain(args.iter().copied()))
}

/// Parses and applies the checks clap cannot make (`cli::check`).
pub(super) fn parse_checked(args: &[&str]) -> Result<Cli, clap::Error> {
    let cli = parse(args)?;
    check(&cli)?;
    Ok(cli)
}

#[test]
fn command_is_well_formed() {
    Cli::command().debug_assert();
}

#[test]
fn subcommands_and_aliases() {
    assert!(matches!(parse(&["list"]).unwrap().command, Command::List));
    for verb in ["delete", "del", "remove"] {
        match parse(&[verb, "foo"]).unwrap().command {
            Command::Delete { name } => assert_eq!(name, "foo"),
            other => panic!("{verb}: {other:?}"),
        }
    }
    assert!(matches!(
        parse(&["add", "x"]).unwrap().command,
        Command::Add(_)
    ));
    assert!(matches!(
        parse(&["show", "x"]).unwrap().command,
        Command::Show { .. }
    ));
}

#[test]
fn json_is_global() {
    assert!(parse(&["--json", "list"]).unwrap().json);
    assert!(parse(&["list", "--json"]).unwrap().json);
    assert!(parse(&["show", "x", "--json"]).unwrap().json);
    assert!(!parse(&["list"]).unwrap().json);
}

#[test]
fn names_that_look_like_options_need_a_separator() {
    assert!(parse(&["add", "-x"]).is_err());
    match parse(&["add", "--", "-x"]).unwrap().command {
        Command::Add(a) => assert_eq!(a.name, "-x"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &["frobnicate"][..],
        &["add"],
        &["show", "a", "b"],
        &["--bogus", "list"],
        &[],
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
    }
}

#[test]
fn help_documents_exit_status_and_hides_maintenance_commands() {
    let help = Cli::command().render_long_help().to_string();
    assert!(help.contains("Exit status:"), "{help}");
    assert!(help.contains("  10  netnsd is not running"), "{help}");
    assert!(!help.contains("generate-man"), "{help}");
    assert!(!help.contains("generate-completions"), "{help}");
    // Every visible subcommand, at every level.
    fn check(cmd: &mut clap::Command, path: &str) {
        let names: Vec<String> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .map(|s| s.get_name().to_owned())
            .collect();
        for name in names {
            let sub = cmd.find_subcommand_mut(&name).unwrap();
            let path = format!("{path} {name}");
            let help = sub.render_long_help().to_string();
            assert!(help.contains("Exit status:"), "{path}: {help}");
            assert!(help.contains("--json"), "{path}: {help}");
            check(sub, &path);
        }
    }
    let mut cmd = Cli::command();
    cmd.build();
    check(&mut cmd, "nsctl");
}

#[test]
fn maintenance_commands_parse() {
    match parse(&["generate-completions", "bash"]).unwrap().command {
        Command::GenerateCompletions { shell } => assert_eq!(shell, Shell::Bash),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["generate-man", "/tmp/x"]).unwrap().command,
        Command::GenerateMan { .. }
    ));
}

/// `nsctl --help` opens with the usage and the command list, as `ip`,
/// `nmcli` and `git` do; the prose is the man page's (`man.rs`).
#[test]
fn top_help_opens_with_usage_and_commands() {
    for help in [
        Cli::command().render_long_help().to_string(),
        Cli::command().render_help().to_string(),
    ] {
        assert!(
            help.starts_with("Usage: nsctl [OPTIONS] <COMMAND>\n\nCommands:\n"),
            "{help}"
        );
        let commands = help.find("Commands:").unwrap();
        let options = help.find("Options:").unwrap();
        assert!(commands < options, "{help}");
        assert!(help[commands..options].contains("  list "), "{help}");
        assert!(help.contains("nsctl(1)"), "{help}");
        assert!(!help.contains("Reading is open to every user"), "{help}");
        assert!(help.lines().count() < 60, "{help}");
    }
    let (_, page) = crate::man::pages().unwrap().remove(0);
    assert!(page.contains("Reading is open to every user"), "{page}");
}

/// The committed shell completions (completions/, packaged by scripts/deb)
/// are what the current command line generates. If this fails, run
/// `for s in bash zsh fish; do ...` as the message says.
#[test]
fn committed_completions_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../completions");
    for (shell, file) in [
        (Shell::Bash, "nsctl.bash"),
        (Shell::Zsh, "_nsctl"),
        (Shell::Fish, "nsctl.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "nsctl", &mut buf);
        let committed = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(
            committed == buf,
            "completions/{file} is out of date; run `cargo run -p nsctl -- generate-completions \
             {shell} > completions/{file}`"
        );
    }
}
