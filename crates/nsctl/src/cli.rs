//! The command line, as clap types. `--help`, the man page and the shell
//! completions are all generated from here.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use crate::error::exit_status_help;

mod conn;
mod fast;
mod forward;
mod ns;
mod platform;
#[cfg(test)]
mod tests;

pub use conn::*;
pub use fast::parse_exec;
pub use forward::*;
pub use ns::*;
pub use platform::*;

const ABOUT: &str = "Manage network namespaces through netnsd";

/// The top-level `--help` opens with the usage and the command list, as
/// `ip`, `nmcli` and `git` do, then says where the rest is: the prose of
/// [`LONG_ABOUT`] is the man page's DESCRIPTION only (see `man.rs`).
const HELP_TEMPLATE: &str = "\
{usage-heading} {usage}

{all-args}

{about}. \"nsctl COMMAND --help\" shows the help of a command; the man page nsctl(1) \
describes namespaces, uplinks, VPNs and who may do what.{after-help}";

/// The DESCRIPTION of nsctl(1).
pub const LONG_ABOUT: &str = "\
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

#[derive(Debug, Parser)]
#[command(
    name = "nsctl",
    version,
    about = ABOUT,
    long_about = None,
    help_template = HELP_TEMPLATE,
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
managed, uplink, dns_servers (an array), split_dns and dhcp (only where there are) and \
object.",
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
with the static --address and --gateway, or with --dhcp takes them and the DNS servers by \
DHCPv4 (waiting for the lease, 10 s at most). With --dns and --dns-search, netnsd writes the \
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
Managed, Uplink (none, veth or macvlan), DNS (its name servers, one per line, - for none); \
while a VPN's split DNS forwarder runs there, Split DNS (each VPN domain via its servers, one \
per line); for a macvlan uplink by DHCP, DHCP (the leased address from the server); and Object \
(with --json, one object with the keys of \"nsctl list --json\", plus split_dns and dhcp when \
there are). \"nsctl show rootns\" shows the host's own namespace.",
        after_help = exit_status_help()
    )]
    Show {
        #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        name: String,
    },

    /// Give a running process's network namespace a name
    #[command(
        long_about = "\
Give the network namespace process PID is in the name NAME, as \"ip netns attach NAME PID\" \
would: netnsd binds /proc/PID/ns/net at /run/netns/NAME and from then on follows the \
namespace like any other (\"nsctl list\", devices, addresses, uplink, exec). Prints its \
NetNsInstance object path (with --json, {\"object\": PATH}). \"nsctl delete NAME\" takes \
the name away again; the process keeps its namespace.

Refused when PID is not a running process, when it is in the host's own namespace, when \
NAME is taken, or when the namespace already has a name in netnsd (the message says which).

Needs polkit's permission for net.netnsd.Netns1.manage-namespaces when the process is \
yours, and for net.netnsd.Netns1.configure-host (administrators) when it is someone \
else's.",
        after_help = exit_status_help()
    )]
    Attach {
        #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        name: String,
        /// A process in the namespace to name
        #[arg(value_name = "PID")]
        pid: u32,
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
active local session). Run as root, without a pseudo-terminal or --vpn, nsctl goes through \
netnsd's private socket (/run/netnsd/private: peer to peer, without the bus daemon) when it \
is there, and through the bus otherwise (see NETNSD_PRIVATE_SOCKET).",
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

    /// Port forwards from the host into a namespace: add, list, del
    #[command(
        subcommand,
        long_about = "\
Port forwards from the host into a namespace with a veth uplink: \"nsctl forward add NS \
--proto tcp --host-port 8080 --port 80\" makes port 8080 of the host reach port 80 in NS (DNAT \
in netnsd's nftables table, IPv4 and IPv6), \"nsctl forward list\" shows them, \"nsctl \
forward del NS ID\" removes one. Forwards go with the namespace's uplink or the namespace.

Needs polkit's permission for net.netnsd.Netns1.configure-host when the uplink namespace is \
rootns, else for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Forward(ForwardCommand),

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

    /// Read the declared namespaces' files again and apply them
    #[command(
        long_about = "\
Ask netnsd to read the declared namespaces' keyfiles, /etc/netnsd/namespaces.d/NAME.conf, \
again, as it does at start: the namespace of a new file is made (persistent, with the \
file's uplink and DNS); that of a removed file is removed if netnsd made it from that file \
and nothing uses it; a changed file is not re-applied (delete the namespace, then reload). \
A bad file is refused, naming the file, group and key; the others still load.

Prints the namespaces made (\"created NAME\") and removed (\"removed NAME\"), one a line, \
then each problem on stderr; exits with status 1 if there was any (with --json, one object \
with the arrays created, removed and errors).

Needs polkit's permission for net.netnsd.Netns1.manage-namespaces.",
        after_help = exit_status_help()
    )]
    Reload,

    /// List the dispatcher scripts, and whether each runs
    #[command(
        long_about = "\
List the executables in /etc/netnsd/dispatcher.d that netnsd runs, in the order it runs them, \
on each namespace added or removed, device moved in or out, uplink up or down and VPN up or \
down (see the dispatcher page of netnsd's documentation for their arguments and \
environment): one line each, \"SCRIPT yes\", or \"SCRIPT no: WHY\" for one refused (not \
root's, writable by group or others, not executable). With --json, an array of objects with \
the keys script, runs and why.",
        after_help = exit_status_help()
    )]
    Dispatcher,

    /// Write a menu entry that runs a program in a VPN's namespace
    #[command(
        long_about = "\
Write a desktop menu entry (a .desktop file) that runs CMD through VPN profile PROFILE: the \
file netnsd-PROFILE-APP.desktop in the user's applications folder ($XDG_DATA_HOME/applications, \
by default ~/.local/share/applications), where APP is --name in lower case with anything but \
letters and digits made \"-\". Its name in the menu is \"NAME (PROFILE VPN)\"; launching it runs \
\"nsctl exec --vpn PROFILE -- CMD...\": the VPN is brought up if it is not (its missing secrets \
asked from the session's secret agent, e.g. an applet: the entry has no terminal), and CMD runs \
in its namespace as the user. The namespace stays while anything started in it runs. Prints \
the file's path. With --remove, deletes that file instead (CMD not needed). Touches nothing of \
netnsd's.",
        after_help = exit_status_help()
    )]
    DesktopEntry {
        /// The VPN profile (its id, uuid or object path)
        #[arg(value_name = "PROFILE")]
        profile: String,
        /// The program's name in the menu, e.g. Firefox
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Delete the entry instead of writing it
        #[arg(long)]
        remove: bool,
        /// The program, looked up in PATH, and its arguments
        #[arg(value_name = "CMD", num_args = 1.., trailing_var_arg = true, required_unless_present = "remove")]
        command: Vec<String>,
    },

    /// Print netnsd's changes as they happen, one line each
    #[command(
        long_about = "\
Print netnsd's signals as they happen, one line each, until interrupted, as \"nmcli monitor\" \
and \"ip monitor\" do: namespaces added and removed (\"namespace NAME: added (uplink veth)\"), \
devices added, removed, moved and changed (\"device NAME in NS: state up\"), a namespace's \
uplink, DNS and other properties changing (\"namespace NAME: dns-servers 192.0.2.53\"), active \
connections and their states with the reason (\"connection ID: activated (reason none)\", \
\"connection ID: vpn failed (reason login-failed)\"), processes started with \"nsctl exec\" \
exiting (\"namespace NAME: process PID exited with status N\"), connection profiles added, \
updated and removed (\"profile NAME: updated\"), and netnsd stopping and starting (\"netnsd: \
stopped\"). Changed properties are named in kebab case and lists joined by commas, - for \
none; objects are named by their names, not their paths.

Once it listens, it says so on stderr (\"Monitoring netnsd; Ctrl-C to stop.\"); nothing after \
that is missed. It ends when interrupted or when its output is closed.

With --json, one JSON object a line, with the keys event (added, removed, changed, state, \
vpn-state, process-exited, updated, started, stopped), kind (namespace, device, connection, \
profile, daemon), object (the object path), name and, for a device, namespace; added has \
properties (every property of the object, by its D-Bus name), changed has changed (the \
properties that changed), state and vpn-state have state, state_code, reason and reason_code, \
process-exited has pid and status (minus the signal's number when a signal killed it).

Open to every user: it only listens.",
        after_help = exit_status_help()
    )]
    Monitor,

    /// Draw namespaces, devices, veth pairs, uplinks, tunnels and VPNs (Graphviz)
    #[command(
        long_about = "\
Print the host's network namespaces as a Graphviz graph (DOT) on stdout: one box per \
namespace (its name, uplink and name servers) holding its devices (name, kind, addresses; \
loopback left out; a tunnel drawn as an arrow-shaped node), an \
edge between the two ends of each veth pair (\"uplink (veth, NAT)\" for an uplink), and each \
active VPN as an ellipse in the namespace its client runs in, joined to its tunnel.

The bus does not tell a veth's peer: two veth ends in different namespaces are drawn as a pair \
when they have addresses in one subnet, as a routed uplink's ends always have; a veth without \
such an address is drawn alone. A bridged uplink (the default) is drawn from uplink0 to the \
bridge (nsbr0) whose subnet it is in; its host end, a port with no address, alone.

With --svg FILE, nsctl renders the graph with \"dot -Tsvg\" into FILE instead (the graphviz \
package); \"nsctl graph | dot -Tpng > net.png\" makes other formats.

Open to every user.",
        after_help = exit_status_help()
    )]
    Graph {
        /// Render the graph as SVG into FILE with Graphviz's dot
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
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

/// Checks what clap cannot: combinations of options that depend on a value.
/// A failure is a usage error (exit status 2), as clap's own.
pub fn check(cli: &Cli) -> Result<(), clap::Error> {
    let result = match &cli.command {
        Command::Add(a) => a.opts.check(a.uplink.and_then(UplinkArg::kind)),
        Command::Uplink(UplinkCommand::Set { kind, opts, .. }) => opts.check(Some(*kind)),
        Command::Exec(e) => e.check(),
        _ => Ok(()),
    };
    result.map_err(|m| {
        let mut cmd = Cli::command();
        cmd.build();
        let sub = match &cli.command {
            Command::Add(_) => cmd.find_subcommand_mut("add"),
            Command::Uplink(_) => cmd
                .find_subcommand_mut("uplink")
                .and_then(|c| c.find_subcommand_mut("set")),
            Command::Exec(_) => cmd.find_subcommand_mut("exec"),
            _ => None,
        };
        match sub {
            Some(sub) => sub.error(ErrorKind::ArgumentConflict, m),
            None => clap::Error::raw(ErrorKind::ArgumentConflict, m),
        }
    })
}
