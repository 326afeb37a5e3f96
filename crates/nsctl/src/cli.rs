//! The command line, as clap types. `--help`, the man page and the shell
//! completions are all generated from here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use crate::error::exit_status_help;

const ABOUT: &str = "Manage network namespaces through netnsd";

const LONG_ABOUT: &str = "\
Manage network namespaces through netnsd, the daemon that owns the host's network \
namespaces and offers them on the D-Bus system bus as net.netnsd.Netns1.

Namespaces are the ones iproute2 uses: one added with nsctl is /run/netns/NAME and works \
with \"ip netns exec\", and one added with \"ip netns add\" is listed here too, as not managed \
by netnsd. The host's own namespace is listed as rootns.

Reading is open to every user. Adding and deleting namespaces is decided by polkit \
(action net.netnsd.Netns1.manage-namespaces); nsctl lets polkit ask for a password when an \
authentication agent is running.

nsctl uses the system bus at $DBUS_SYSTEM_BUS_ADDRESS if that is set, else at \
unix:path=/var/run/dbus/system_bus_socket. Errors are printed on stderr as \"nsctl: MESSAGE\"; \
the exit status tells them apart.";

const NAME_HELP: &str = "Namespace name, as \"ip netns\" uses it (/run/netns/NAME)";

const NAME_LONG_HELP: &str = "\
Namespace name, as \"ip netns\" uses it (/run/netns/NAME). Any name iproute2 accepts: not \
empty, not \".\" or \"..\", without \"/\", at most 255 bytes.";

#[derive(Debug, Parser)]
#[command(
    name = "nsctl",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = exit_status_help(),
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Print JSON for scripts instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List network namespaces, the root namespace first
    #[command(
        long_about = "\
List network namespaces: the root namespace (rootns) first, then the others by name.

Columns: NAME; ID, the namespace's inode number (as \"lsns\" and \"ls -iL /run/netns/NAME\" \
show it); MANAGED, yes if netnsd made it, no if it was made by someone else (\"ip netns add\") \
or is the root namespace; PERSISTENT, yes if it is kept after the connection that made it \
goes down; PATH, its bind mount under /run/netns; OBJECT, its NetNsInstance object on the bus.

With --json, prints one JSON array of objects with the keys name, id, path, persistent, \
managed and object.",
        after_help = exit_status_help()
    )]
    List,

    /// Add a network namespace and print its object path
    #[command(
        long_about = "\
Add a network namespace: netnsd creates /run/netns/NAME as \"ip netns add NAME\" would, with \
loopback up, and prints its NetNsInstance object path (with --json, {\"object\": PATH}).

Needs polkit's permission for net.netnsd.Netns1.manage-namespaces.",
        after_help = exit_status_help()
    )]
    Add {
        #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        name: String,
    },

    /// Delete a network namespace
    #[command(
        visible_aliases = ["del", "remove"],
        long_about = "\
Delete a network namespace, as \"ip netns delete NAME\" would. Prints nothing on success \
(with --json, {\"result\": \"Success\"}). The root namespace, rootns, cannot be deleted. \
Also available as \"nsctl del\" and \"nsctl remove\".

Needs polkit's permission for net.netnsd.Netns1.manage-namespaces.",
        after_help = exit_status_help()
    )]
    Delete {
        #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        name: String,
    },

    /// Show one network namespace
    #[command(
        long_about = "\
Show one network namespace as \"Key: value\" lines: Name, Id (inode number), Path, Persistent, \
Managed and Object (with --json, one object with the keys of \"nsctl list --json\"). \
\"nsctl show rootns\" shows the host's own namespace.",
        after_help = exit_status_help()
    )]
    Show {
        #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        name: String,
    },

    /// Write the man pages (nsctl.1, nsctl-SUBCOMMAND.1) into DIR
    #[command(hide = true)]
    GenerateMan {
        /// Directory to write the pages into
        dir: PathBuf,
    },

    /// Print the shell completion script for SHELL
    #[command(hide = true)]
    GenerateCompletions {
        /// Shell to complete for
        shell: Shell,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("nsctl").chain(args.iter().copied()))
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
            Command::Add { .. }
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
            Command::Add { name } => assert_eq!(name, "-x"),
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
        for sub in ["list", "add", "delete", "show"] {
            let mut cmd = Cli::command();
            let help = cmd
                .find_subcommand_mut(sub)
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(help.contains("Exit status:"), "{sub}: {help}");
            assert!(help.contains("--json"), "{sub}: {help}");
        }
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
}
