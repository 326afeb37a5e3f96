//! The command line, as clap types. `--help`, the man page and the shell
//! completions are all generated from here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use crate::error::exit_status_help;

mod conn;
mod ns;
mod platform;

pub use conn::*;
pub use ns::*;
pub use platform::*;

const ABOUT: &str = "Manage network namespaces through netnsd";

const LONG_ABOUT: &str = "\
Manage network namespaces through netnsd, the daemon that owns the host's network \
namespaces and offers them on the D-Bus system bus as net.netnsd.Netns1.

Namespaces are the ones iproute2 uses: one added with nsctl is /run/netns/NAME and works \
with \"ip netns exec\", and one added with \"ip netns add\" is listed here too, as not managed \
by netnsd. The host's own namespace is listed as rootns.

\"nsctl exec NS -- CMD\" runs a program in a namespace as the user who runs nsctl, as \"ip \
netns exec\" would but without root: with the namespace's own resolv.conf, on nsctl's \
terminal, waiting for the program and exiting with its status. A namespace gets a way out \
with an uplink (\"nsctl add --uplink\", \"nsctl uplink\": a routed veth with NAT to the host, \
or a macvlan) and its own name servers (\"nsctl add --dns\", \"nsctl dns\").

Besides namespaces, nsctl manages what is inside them, in the manner of iproute2: devices \
(\"nsctl device\", moving one into a namespace with \"nsctl device take\"), links (\"nsctl \
link\": veth pairs, macvlans, bridges), addresses (\"nsctl addr\"), routes (\"nsctl route\") \
and policy-routing rules (\"nsctl rule\"). Those commands work in the namespace given with \
--netns, the host's own (rootns) by default, and take a device either by its interface name in \
that namespace or by its Device object path (/net/netnsd/Netns1/Devices/N), which names it \
in whatever namespace it is.

VPNs: \"nsctl connection\" manages connection profiles (NetworkManager keyfiles; \"nsctl \
connection import\" reads an OpenVPN or wg-quick configuration), \"nsctl vpn up NAME\" brings one up and \
shows it coming up, \"nsctl vpn down\" and \"nsctl vpn status\" do the rest. A profile with \
connection.netns-isolate puts the VPN's tunnel into a namespace of its own, where it is the \
only way out, and \"nsctl exec\" runs programs there.

Reading is open to every user. Changes are decided by polkit: adding and deleting namespaces \
by the action net.netnsd.Netns1.manage-namespaces, moving devices by \
net.netnsd.Netns1.take-device, uplinks, DNS, links, addresses, routes and rules by \
net.netnsd.Netns1.configure (in rootns, the host's own namespace, by \
net.netnsd.Netns1.configure-host), running programs by net.netnsd.Netns1.spawn, changing \
connection profiles by net.netnsd.Netns1.modify-settings, reading their secrets by \
net.netnsd.Netns1.read-secrets, bringing VPNs up and down by \
net.netnsd.Netns1.activate-connection. nsctl lets polkit ask for a password when an \
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
goes down; UPLINK, none, veth or macvlan; PATH, its bind mount under /run/netns; OBJECT, its \
NetNsInstance object on the bus.

With --json, prints one JSON array of objects with the keys name, id, path, persistent, \
managed, uplink, dns_servers (an array) and object.",
        after_help = exit_status_help()
    )]
    List,

    /// Add a network namespace and print its object path
    #[command(
        long_about = "\
Add a network namespace: netnsd creates /run/netns/NAME as \"ip netns add NAME\" would, with \
loopback up, and prints its NetNsInstance object path (with --json, {\"object\": PATH}).

With --uplink, the namespace gets a way out in the same call (see \"nsctl uplink set\"): \
--uplink veth makes a veth pair to --uplink-netns (rootns by default) with addresses from \
netnsd's pool, a default route and NAT; --uplink macvlan makes a macvlan on --uplink-parent \
with the static --address and --gateway. With --dns and --dns-search, netnsd writes the \
namespace's own /etc/netns/NAME/resolv.conf (see \"nsctl dns set\"). If any step fails, \
nothing is left behind.

Needs polkit's permission for net.netnsd.Netns1.manage-namespaces, and with an uplink or DNS \
also for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Add(AddArgs),

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
Managed, Uplink (none, veth or macvlan), DNS (its name servers, one per line, - for none) and \
Object (with --json, one object with the keys of \"nsctl list --json\"). \"nsctl show rootns\" \
shows the host's own namespace.",
        after_help = exit_status_help()
    )]
    Show {
        #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        name: String,
    },

    /// Run a program in a namespace, as yourself, and wait for it
    #[command(
        long_about = "\
Run CMD with ARGS in namespace NS, as the user who runs nsctl, and wait for it: nsctl exits \
with the program's exit status. Like \"ip netns exec\", the program sees the namespace's own \
network and the files of /etc/netns/NS (resolv.conf) over /etc; unlike it, it needs no root: \
netnsd starts the program with the uid, gid and groups the system bus knows for nsctl, in a \
session of its own, and the host's resolver sockets (systemd-resolved, nscd) are out of its \
reach. CMD is looked up in the PATH passed to it. Put -- before CMD when CMD or ARGS start \
with a dash; options of nsctl go before it.

Environment: the program gets only what nsctl passes: PATH, HOME, USER, LOGNAME, SHELL, \
TERM, COLORTERM, LANG, LANGUAGE, LC_*, TZ, DISPLAY, WAYLAND_DISPLAY, XAUTHORITY, \
XDG_RUNTIME_DIR, XDG_SESSION_TYPE, XDG_CURRENT_DESKTOP, DBUS_SESSION_BUS_ADDRESS and \
PULSE_SERVER, those of them that are set in nsctl's environment (so that terminal, \
graphical and sound programs work), plus each --env: --env VAR passes VAR from nsctl's \
environment (nothing if it is not set), --env VAR=VALUE sets it. The working directory is \
nsctl's own unless --cwd says otherwise.

Input and output: when stdin and stdout are a terminal (and --no-pty is not given), nsctl \
does as \"systemd-run --pty\": it opens a pseudo-terminal of the size of its own, which the \
program gets as its controlling terminal (on stdin, stdout, and stderr unless stderr is \
redirected), puts its own terminal in raw mode and relays between the two, passing on \
window-size changes. Line editing, Ctrl-C, Ctrl-Z and full-screen programs then work as in \
any terminal, and the terminal is restored when the program ends. Otherwise the program gets \
nsctl's own stdin, stdout and stderr (a closed one is /dev/null), so pipes and redirections \
work as usual.

Signals: SIGINT, SIGTERM and SIGHUP sent to nsctl while it waits are passed on to the \
program's process group, and nsctl goes on waiting for its status; at a second one, or if \
the signal cannot be passed on, nsctl stops waiting, says so, and exits with 128 plus the \
signal's number while the program may go on running. With a pseudo-terminal, nsctl instead \
restores its terminal and leaves at once, which hangs up the program's terminal (it gets \
SIGHUP, as when a terminal window is closed). --json has no effect here.

Needs polkit's permission for net.netnsd.Netns1.spawn (by default granted to users of the \
active local session).",
        after_help = crate::exec::exec_exit_status_help()
    )]
    Exec(ExecArgs),

    /// Set or clear the uplink of a namespace: a routed veth with NAT, or a macvlan
    #[command(
        subcommand,
        long_about = "\
The uplink of a namespace, its way out: a veth pair to another namespace (rootns by default), \
routed, with NAT there (\"nsctl uplink set NS --type veth\"), or a macvlan on a physical \
device with a static address (\"--type macvlan\"); or none (\"nsctl uplink clear NS\"). \
\"nsctl show\" and \"nsctl list\" show which a namespace has.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Uplink(UplinkCommand),

    /// Set or clear the name servers of a namespace
    #[command(
        subcommand,
        long_about = "\
The name servers and search domains of a namespace, which netnsd writes to \
/etc/netns/NS/resolv.conf: programs run with \"nsctl exec\" or \"ip netns exec\" see it as \
/etc/resolv.conf. \"nsctl show\" shows them.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Dns(DnsCommand),

    /// Devices: list them, show one, move one into another namespace
    #[command(
        subcommand,
        long_about = "\
Devices: list them (\"nsctl device list\"), show one (\"nsctl device show\"), or move one \
from the namespace that holds it into another (\"nsctl device take\"). Every network device \
of every namespace netnsd knows is a Device object on the bus, /net/netnsd/Netns1/Devices/N; \
its object path stays the same when it moves between namespaces.",
        after_help = exit_status_help()
    )]
    Device(DeviceCommand),

    /// Links: add veth pairs, macvlans, bridges and VLANs; delete; set up, down, MTU, name
    #[command(
        subcommand,
        long_about = "\
Links, as \"ip link\" manages them: add a veth pair (its peer born directly in another \
namespace), a macvlan, a bridge or a VLAN (\"nsctl link add KIND NAME ...\"); delete one \
(\"nsctl link delete\"); bring one up or down, change its MTU or rename it (\"nsctl link set\").

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Link(LinkCommand),

    /// IP addresses: add and delete
    #[command(
        subcommand,
        visible_alias = "address",
        long_about = "\
IPv4 and IPv6 addresses of a device, as \"ip address add|del\" manages them. The addresses a \
device has are shown by \"nsctl device list\" and \"nsctl device show\". Also available as \
\"nsctl address\".

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Addr(AddrCommand),

    /// Routes: add, delete, list
    #[command(
        subcommand,
        long_about = "\
Routes of a namespace, as \"ip route\" manages them, in the main table or any other. Routes \
that netnsd installs carry the protocol \"netnsd\" (number 110), as \"ip route\" shows.

Adding and deleting needs polkit's permission for net.netnsd.Netns1.configure; listing is \
open to all.",
        after_help = exit_status_help()
    )]
    Route(RouteCommand),

    /// Policy-routing rules: add, delete, list
    #[command(
        subcommand,
        long_about = "\
Policy-routing rules of a namespace, as \"ip rule\" manages them: which routing table to \
look up for traffic from or to a prefix, through an interface, or with a firewall mark.

Adding and deleting needs polkit's permission for net.netnsd.Netns1.configure; listing is \
open to all.",
        after_help = exit_status_help()
    )]
    Rule(RuleCommand),

    /// Connection profiles: list, show, add, import, modify, delete, reload
    #[command(
        subcommand,
        visible_alias = "con",
        long_about = "\
Connection profiles, as NetworkManager has them: a{sa{sv}} dictionaries on the bus and \
NetworkManager keyfiles in /etc/netnsd/connections (root-only). A VPN profile names its plugin \
(vpn.service-type: OpenVPN's or OpenConnect's), its configuration (vpn.data) and its secrets \
(vpn.secrets); a WireGuard profile has its keys and peers; and with the namespace keys of its \
connection setting (netns-isolate, netns-name, netns-persistent, netns-timeout) a profile says \
whether its tunnel goes into a namespace of its own. A keyfile of NetworkManager's OpenVPN, \
OpenConnect or WireGuard kind copied into /etc/netnsd/connections works as it is (\"nsctl \
connection reload\" picks it up), and \"nsctl connection import\" turns a plain OpenVPN \
configuration or a wg-quick file into a profile. \"nsctl vpn up\" brings a profile up.

Reading is open to every user, except secrets; changes need polkit's permission for \
net.netnsd.Netns1.modify-settings, secrets net.netnsd.Netns1.read-secrets.",
        after_help = exit_status_help()
    )]
    Connection(ConnectionCommand),

    /// VPNs: bring one up or down, show the active ones
    #[command(
        subcommand,
        long_about = "\
Bring a VPN profile up (\"nsctl vpn up\"), watching it come up, or down (\"nsctl vpn down\"), \
and list the active connections (\"nsctl vpn status\"). An isolated VPN's tunnel device ends \
up in a namespace of its own, where it is the only way out: run a program there with \"nsctl \
exec NS -- CMD\".

Bringing up and down needs polkit's permission for net.netnsd.Netns1.activate-connection (by \
default granted to users of the active local session).",
        after_help = exit_status_help()
    )]
    Vpn(VpnCommand),

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
    use crate::routing::TableSelection;
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
    fn device_commands() {
        match parse(&["device", "list"]).unwrap().command {
            Command::Device(DeviceCommand::List { netns, all }) => {
                assert_eq!((netns, all), (None, false));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["device", "list", "vpn", "--all"]).unwrap().command {
            Command::Device(DeviceCommand::List { netns, all }) => {
                assert_eq!((netns.as_deref(), all), (Some("vpn"), true));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["device", "show", "eth0"]).unwrap().command {
            Command::Device(DeviceCommand::Show { dev, netns }) => {
                assert_eq!((dev.as_str(), netns.netns.as_str()), ("eth0", "rootns"));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["device", "take", "tun0", "--to", "vpn"])
            .unwrap()
            .command
        {
            Command::Device(DeviceCommand::Take {
                dev,
                to,
                from,
                timeout,
            }) => {
                assert_eq!(
                    (dev.as_str(), to.as_str(), from.as_str(), timeout),
                    ("tun0", "vpn", "rootns", 2000)
                );
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "device",
            "take",
            "tun0",
            "--to",
            "b",
            "--from",
            "a",
            "--timeout",
            "0",
        ])
        .unwrap()
        .command
        {
            Command::Device(DeviceCommand::Take { from, timeout, .. }) => {
                assert_eq!((from.as_str(), timeout), ("a", 0));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["device", "take", "tun0"][..],
            &["device", "take", "tun0", "--to", "b", "--timeout", "-1"],
            &[
                "device",
                "take",
                "tun0",
                "--to",
                "b",
                "--timeout",
                "2147483648",
            ],
            &["device", "show"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn link_commands() {
        match parse(&[
            "link",
            "add",
            "veth",
            "x",
            "--peer",
            "y",
            "--peer-netns",
            "a",
            "--up",
            "--mtu",
            "1400",
        ])
        .unwrap()
        .command
        {
            Command::Link(LinkCommand::Add(LinkAdd::Veth {
                name,
                peer,
                peer_netns,
                peer_up,
                netns,
                opts,
            })) => {
                assert_eq!((name.as_str(), peer.as_str()), ("x", "y"));
                assert_eq!(peer_netns.as_deref(), Some("a"));
                assert!(!peer_up);
                assert_eq!(netns.netns, "rootns");
                assert_eq!(
                    (opts.mtu, opts.up, opts.stable_mac),
                    (Some(1400), true, false)
                );
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "link", "add", "macvlan", "mv0", "--parent", "eth0", "-n", "a",
        ])
        .unwrap()
        .command
        {
            Command::Link(LinkCommand::Add(LinkAdd::Macvlan {
                parent,
                parent_netns,
                mode,
                netns,
                ..
            })) => {
                assert_eq!(parent, "eth0");
                assert_eq!(parent_netns, None);
                assert_eq!(mode, MacvlanMode::Bridge);
                assert_eq!(netns.netns, "a");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&[
                "link", "add", "macvlan", "m", "--parent", "e", "--mode", "passthru"
            ])
            .unwrap()
            .command,
            Command::Link(LinkCommand::Add(LinkAdd::Macvlan {
                mode: MacvlanMode::Passthru,
                ..
            }))
        ));
        assert!(matches!(
            parse(&["link", "add", "bridge", "br0", "--stable-mac"])
                .unwrap()
                .command,
            Command::Link(LinkCommand::Add(LinkAdd::Bridge { .. }))
        ));
        assert!(matches!(
            parse(&["link", "add", "vlan", "v", "--parent", "e", "--id", "4094"])
                .unwrap()
                .command,
            Command::Link(LinkCommand::Add(LinkAdd::Vlan { id: 4094, .. }))
        ));
        for verb in ["delete", "del", "remove"] {
            assert!(matches!(
                parse(&["link", verb, "x"]).unwrap().command,
                Command::Link(LinkCommand::Delete { .. })
            ));
        }
        match parse(&["link", "set", "x", "--name", "y", "--up"])
            .unwrap()
            .command
        {
            Command::Link(LinkCommand::Set(s)) => {
                assert_eq!((s.dev.as_str(), s.name.as_deref()), ("x", Some("y")));
                assert!(s.up && !s.down);
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["link", "add", "veth", "x"][..],
            &["link", "add", "macvlan", "x"],
            &[
                "link", "add", "macvlan", "x", "--parent", "e", "--mode", "nat",
            ],
            &["link", "add", "vlan", "v", "--parent", "e", "--id", "0"],
            &["link", "add", "vlan", "v", "--parent", "e", "--id", "4095"],
            &["link", "add", "dummy", "d"],
            &["link", "set", "x"],
            &["link", "set", "x", "--up", "--down"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn addr_commands() {
        for (verb, add) in [
            ("add", true),
            ("del", false),
            ("delete", false),
            ("remove", false),
        ] {
            for group in ["addr", "address"] {
                let c = parse(&[group, verb, "10.0.0.1/24", "--dev", "x", "-n", "a"])
                    .unwrap()
                    .command;
                let args = match (c, add) {
                    (Command::Addr(AddrCommand::Add(a)), true) => a,
                    (Command::Addr(AddrCommand::Del(a)), false) => a,
                    (other, _) => panic!("{group} {verb}: {other:?}"),
                };
                assert_eq!(
                    (
                        args.cidr.as_str(),
                        args.dev.as_str(),
                        args.netns.netns.as_str()
                    ),
                    ("10.0.0.1/24", "x", "a")
                );
            }
        }
        assert_eq!(
            parse(&["addr", "add", "10.0.0.1/24"])
                .unwrap_err()
                .exit_code(),
            2
        );
    }

    #[test]
    fn route_commands() {
        match parse(&[
            "route", "add", "default", "--via", "fd00::1", "--table", "main", "--metric", "10",
            "--scope", "global", "-6",
        ])
        .unwrap()
        .command
        {
            Command::Route(RouteCommand::Add(r)) => {
                assert_eq!(r.destination, "default");
                assert_eq!(r.via.as_deref(), Some("fd00::1"));
                assert_eq!((r.table, r.metric), (Some(254), Some(10)));
                assert_eq!(r.scope, Some(Scope::Global));
                assert_eq!(r.family.family(), Some("inet6"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["route", "del", "10.0.0.0/8", "--gateway", "10.0.0.1"])
                .unwrap()
                .command,
            Command::Route(RouteCommand::Del(RouteArgs { via: Some(_), .. }))
        ));
        match parse(&["route", "list"]).unwrap().command {
            Command::Route(RouteCommand::List { table, family, .. }) => {
                assert_eq!(table, TableSelection::Table(254));
                assert!(family.shows("inet") && family.shows("inet6"));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["route", "show", "--table", "all", "-4"])
            .unwrap()
            .command
        {
            Command::Route(RouteCommand::List { table, family, .. }) => {
                assert_eq!(table, TableSelection::All);
                assert!(family.shows("inet") && !family.shows("inet6"));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["route", "add"][..],
            &["route", "add", "default", "-4", "-6"],
            &["route", "add", "default", "--table", "0"],
            &["route", "add", "default", "--scope", "site"],
            &["route", "list", "--table", "everything"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn rule_commands() {
        match parse(&[
            "rule",
            "add",
            "--from",
            "10.0.0.0/24",
            "--fwmark",
            "0x1/0xff",
            "--lookup",
            "100",
            "--pref",
            "1000",
        ])
        .unwrap()
        .command
        {
            Command::Rule(RuleCommand::Add(r)) => {
                assert_eq!(r.from.as_deref(), Some("10.0.0.0/24"));
                assert_eq!(
                    r.fwmark,
                    Some(crate::routing::Fwmark {
                        mark: 1,
                        mask: Some(255)
                    })
                );
                assert_eq!((r.table, r.priority), (100, Some(1000)));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["rule", "remove", "--iif", "x", "--table", "local", "-6"])
                .unwrap()
                .command,
            Command::Rule(RuleCommand::Del(RuleArgs { table: 255, .. }))
        ));
        assert!(matches!(
            parse(&["rule", "show", "-6"]).unwrap().command,
            Command::Rule(RuleCommand::List { .. })
        ));
        for bad in [
            &["rule", "add", "--from", "10.0.0.0/8"][..],
            &["rule", "add", "--table", "1", "--fwmark", "x"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    /// Parses and applies the checks clap cannot make (`cli::check`).
    fn parse_checked(args: &[&str]) -> Result<Cli, clap::Error> {
        let cli = parse(args)?;
        check(&cli)?;
        Ok(cli)
    }

    #[test]
    fn exec_takes_the_command_after_its_own_options() {
        let e = match parse_checked(&["exec", "vpn", "--", "ls", "-l", "--color", "/"])
            .unwrap()
            .command
        {
            Command::Exec(e) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.netns, "vpn");
        assert_eq!(e.command, ["ls", "-l", "--color", "/"]);
        assert!(e.env.is_empty() && e.cwd.is_none() && !e.no_pty);

        // Without --, everything from CMD on is the program's, options too.
        let e = match parse_checked(&[
            "exec", "-e", "FOO=1", "vpn", "--env", "BAR", "--cwd", "/tmp", "--no-pty", "sh", "-c",
            "exit 7", "--env", "X",
        ])
        .unwrap()
        .command
        {
            Command::Exec(e) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(e.env, ["FOO=1", "BAR"]);
        assert_eq!(e.cwd.as_deref(), Some(std::path::Path::new("/tmp")));
        assert!(e.no_pty);
        assert_eq!(e.command, ["sh", "-c", "exit 7", "--env", "X"]);

        // A program whose name starts with a dash needs --.
        match parse_checked(&["exec", "vpn", "--", "--weird"])
            .unwrap()
            .command
        {
            Command::Exec(e) => assert_eq!(e.command, ["--weird"]),
            other => panic!("{other:?}"),
        }
        for bad in [
            &["exec", "vpn"][..],
            &["exec", "vpn", "--"],
            &["exec"],
            &["exec", "vpn", "--bogus", "ls"],
            &["exec", "vpn", "--env", "=x", "ls"],
            &["exec", "vpn", "--env", "", "ls"],
        ] {
            assert_eq!(parse_checked(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn add_with_uplink_and_dns() {
        let a = match parse_checked(&["add", "a"]).unwrap().command {
            Command::Add(a) => a,
            other => panic!("{other:?}"),
        };
        assert!(!a.has_options());
        let a = match parse_checked(&[
            "add",
            "a",
            "--uplink",
            "veth",
            "--no-ipv6",
            "--dns",
            "192.0.2.53",
            "--dns",
            "2001:db8::53,192.0.2.54",
            "--dns-search",
            "example.test",
        ])
        .unwrap()
        .command
        {
            Command::Add(a) => a,
            other => panic!("{other:?}"),
        };
        assert!(a.has_options());
        assert_eq!(a.uplink, Some(UplinkArg::Veth));
        assert!(a.opts.no_ipv6);
        let dns: Vec<String> = a.dns.iter().map(ToString::to_string).collect();
        assert_eq!(dns, ["192.0.2.53", "2001:db8::53", "192.0.2.54"]);
        assert_eq!(a.dns_search, ["example.test"]);
        let options = crate::cmd::add::namespace_options(&a);
        let mut keys: Vec<&str> = options.keys().copied().collect();
        keys.sort();
        assert_eq!(keys, ["dns", "dns-search", "ipv6", "uplink"]);
        assert_eq!(options["uplink"], zbus::wire::Variant::from("veth"));
        assert_eq!(options["ipv6"], zbus::wire::Variant::from(false));

        // DNS alone is an option too.
        match parse_checked(&["add", "a", "--dns", "192.0.2.53"])
            .unwrap()
            .command
        {
            Command::Add(a) => {
                assert!(a.has_options());
                let o = crate::cmd::add::namespace_options(&a);
                assert_eq!(o.keys().copied().collect::<Vec<_>>(), ["dns"]);
            }
            other => panic!("{other:?}"),
        }

        match parse_checked(&[
            "add",
            "m",
            "--uplink",
            "macvlan",
            "--uplink-parent",
            "eth0",
            "--address",
            "192.0.2.10/24",
            "--gateway",
            "192.0.2.1",
            "--uplink-netns",
            "wan",
        ])
        .unwrap()
        .command
        {
            Command::Add(a) => {
                let o = crate::cmd::add::namespace_options(&a);
                let mut keys: Vec<&str> = o.keys().copied().collect();
                keys.sort();
                assert_eq!(
                    keys,
                    [
                        "address",
                        "gateway",
                        "uplink",
                        "uplink-netns",
                        "uplink-parent"
                    ]
                );
                assert_eq!(o["gateway"], zbus::wire::Variant::from("192.0.2.1"));
            }
            other => panic!("{other:?}"),
        }

        for bad in [
            // Uplink options without an uplink, or of the other kind.
            &["add", "a", "--address", "192.0.2.10/24"][..],
            &["add", "a", "--uplink", "none", "--uplink-netns", "x"],
            &["add", "a", "--uplink", "veth", "--uplink-parent", "eth0"],
            &["add", "a", "--uplink", "veth", "--gateway", "192.0.2.1"],
            &[
                "add",
                "a",
                "--uplink",
                "macvlan",
                "--address",
                "192.0.2.10/24",
            ],
            &["add", "a", "--uplink", "macvlan", "--uplink-parent", "eth0"],
            &[
                "add",
                "a",
                "--uplink",
                "macvlan",
                "--uplink-parent",
                "e",
                "--address",
                "192.0.2.10/24",
                "--no-ipv6",
            ],
            &["add", "a", "--uplink", "wireguard"],
            &["add", "a", "--dns", "dns.example"],
            &["add", "a", "--uplink", "macvlan", "--gateway", "x"],
        ] {
            assert_eq!(parse_checked(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn uplink_and_dns_commands() {
        match parse_checked(&["uplink", "set", "a", "--type", "veth"])
            .unwrap()
            .command
        {
            Command::Uplink(UplinkCommand::Set { netns, kind, opts }) => {
                assert_eq!((netns.as_str(), kind), ("a", UplinkKind::Veth));
                assert_eq!(opts, UplinkOpts::default());
                let o = crate::cmd::uplink::uplink_options(Some(kind), &opts);
                assert_eq!(o.keys().copied().collect::<Vec<_>>(), ["uplink"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_checked(&[
                "uplink",
                "set",
                "a",
                "--type",
                "macvlan",
                "--uplink-parent",
                "eth0",
                "--address",
                "fd00::10/64"
            ])
            .unwrap()
            .command,
            Command::Uplink(UplinkCommand::Set {
                kind: UplinkKind::Macvlan,
                ..
            })
        ));
        assert!(matches!(
            parse_checked(&["uplink", "clear", "a"]).unwrap().command,
            Command::Uplink(UplinkCommand::Clear { .. })
        ));
        match parse_checked(&[
            "dns",
            "set",
            "a",
            "--server",
            "192.0.2.53",
            "192.0.2.54",
            "--server",
            "fd00::53",
            "--search",
            "a.test,b.test",
        ])
        .unwrap()
        .command
        {
            Command::Dns(DnsCommand::Set {
                netns,
                servers,
                search,
            }) => {
                assert_eq!(netns, "a");
                let s: Vec<String> = servers.iter().map(ToString::to_string).collect();
                assert_eq!(s, ["192.0.2.53", "192.0.2.54", "fd00::53"]);
                assert_eq!(search, ["a.test", "b.test"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_checked(&["dns", "clear", "a"]).unwrap().command,
            Command::Dns(DnsCommand::Clear { .. })
        ));
        for bad in [
            &["uplink", "set", "a"][..],
            &["uplink", "set", "a", "--type", "none"],
            &[
                "uplink",
                "set",
                "a",
                "--type",
                "veth",
                "--address",
                "10.0.0.2/24",
            ],
            &["uplink", "set", "a", "--type", "macvlan"],
            &["uplink", "clear"],
            &["dns", "set", "a"],
            &["dns", "set", "a", "--server", "not-an-ip"],
            &["dns", "clear"],
        ] {
            assert_eq!(parse_checked(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn exec_help_documents_the_programs_status() {
        let mut cmd = Cli::command();
        cmd.build();
        let help = cmd
            .find_subcommand_mut("exec")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("128+N"), "{help}");
        assert!(help.contains("  127  the program"), "{help}");
        assert!(help.contains("WAYLAND_DISPLAY"), "{help}");
        assert!(help.contains("--env <VAR[=VALUE]>"), "{help}");
    }

    #[test]
    fn connection_commands() {
        match parse(&[
            "connection",
            "add",
            "office",
            "--vpn-type",
            "openvpn",
            "--isolate",
            "--netns-name",
            "vpn1",
            "--netns-timeout",
            "5000",
            "--data",
            "remote=vpn.example:1194",
            "--secret",
            "password=-",
            "--secret",
            "cert-pass=x",
        ])
        .unwrap()
        .command
        {
            Command::Connection(ConnectionCommand::Add(a)) => {
                assert_eq!((a.id.as_str(), a.kind), ("office", conn::AddType::Vpn));
                assert_eq!(a.vpn_type.as_deref(), Some("openvpn"));
                assert!(a.netns.isolate && !a.netns.persistent && a.netns.any());
                assert_eq!(a.netns.netns_name.as_deref(), Some("vpn1"));
                assert_eq!(a.netns.timeout, Some(5000));
                assert_eq!(a.data[0].key, "remote");
                assert_eq!(a.secret[0].value, None);
                assert_eq!(a.secret[1].value.as_deref(), Some("x"));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["con", "import", "/tmp/a.ovpn", "--timeout", "0"])
            .unwrap()
            .command
        {
            Command::Connection(ConnectionCommand::Import(i)) => {
                assert_eq!(i.file, std::path::Path::new("/tmp/a.ovpn"));
                assert_eq!((i.id, i.netns.timeout, i.kind), (None, Some(0), None));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["con", "import", "/tmp/a.conf", "--type", "openvpn"])
            .unwrap()
            .command
        {
            Command::Connection(ConnectionCommand::Import(i)) => {
                assert_eq!(i.kind, Some(conn::ImportType::Openvpn));
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "connection",
            "add",
            "wg",
            "--type",
            "wireguard",
            "--address",
            "10.66.0.2/24",
            "--dns",
            "10.99.0.53",
            "--peer",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= endpoint=203.0.113.1:51820",
            "--secret",
            "private-key=-",
        ])
        .unwrap()
        .command
        {
            Command::Connection(ConnectionCommand::Add(a)) => {
                assert_eq!(a.kind, conn::AddType::Wireguard);
                assert_eq!(a.wireguard.address, ["10.66.0.2/24"]);
                assert_eq!(a.wireguard.peer.len(), 1);
                assert_eq!(a.secret[0].value, None);
            }
            other => panic!("{other:?}"),
        }
        match parse(&[
            "connection",
            "modify",
            "office",
            "--no-isolate",
            "--remove-data",
            "verb",
        ])
        .unwrap()
        .command
        {
            Command::Connection(ConnectionCommand::Modify(m)) => {
                assert!(m.no_isolate && !m.isolate);
                assert_eq!(m.remove_data, ["verb"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["connection", "show", "office", "--secrets"])
                .unwrap()
                .command,
            Command::Connection(ConnectionCommand::Show { secrets: true, .. })
        ));
        for verb in ["delete", "del", "remove"] {
            assert!(matches!(
                parse(&["connection", verb, "office"]).unwrap().command,
                Command::Connection(ConnectionCommand::Delete { .. })
            ));
        }
        for ok in [
            &["connection", "list"][..],
            &["connection", "ls"],
            &["con", "reload"],
        ] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            &["connection", "add"][..],
            &["connection", "add", "x", "--type", "ethernet"],
            &["connection", "add", "x", "--data", "novalue"],
            &["connection", "add", "x", "--data", "=v"],
            &["connection", "add", "x", "--netns-name", "a/b"],
            &["connection", "add", "x", "--timeout", "-1"],
            &["connection", "import"],
            &["connection", "import", "x.conf", "--type", "ipsec"],
            &[
                "connection",
                "add",
                "x",
                "--type",
                "wireguard",
                "--peer",
                "nokey",
            ],
            &["connection", "modify", "x"],
            &["connection", "modify", "x", "--isolate", "--no-isolate"],
            &[
                "connection",
                "modify",
                "x",
                "--persistent",
                "--no-persistent",
            ],
            &["connection", "modify", "x", "--remove-data", "a=b"],
            &["connection", "show"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn vpn_commands() {
        match parse(&["vpn", "up", "office"]).unwrap().command {
            Command::Vpn(VpnCommand::Up {
                connection,
                from,
                timeout,
            }) => assert_eq!(
                (connection.as_str(), from.as_str(), timeout),
                ("office", "rootns", 90)
            ),
            other => panic!("{other:?}"),
        }
        match parse(&["vpn", "up", "office", "--from", "wan", "--timeout", "0"])
            .unwrap()
            .command
        {
            Command::Vpn(VpnCommand::Up { from, timeout, .. }) => {
                assert_eq!((from.as_str(), timeout), ("wan", 0));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["vpn", "down", "office"]).unwrap().command,
            Command::Vpn(VpnCommand::Down { timeout: 30, .. })
        ));
        assert!(matches!(
            parse(&["--json", "vpn", "status"]).unwrap().command,
            Command::Vpn(VpnCommand::Status)
        ));
        for bad in [
            &["vpn", "up"][..],
            &["vpn", "up", "x", "--timeout", "-1"],
            &["vpn", "down"],
            &["vpn", "status", "x"],
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 2, "{bad:?}");
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
