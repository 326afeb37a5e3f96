//! The commands for what is inside a namespace: `device`, `link`, `addr`,
//! `route` and `rule`, shaped after iproute2's.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use netnsd_api::ROOT_NS_NAME;

use crate::error::exit_status_help;
use crate::tables::{Fwmark, TableSelection, parse_fwmark, parse_table};

const DEV_HELP: &str = "Device: interface name in the namespace, or Device object path";

const DEV_LONG_HELP: &str = "\
Device: its interface name in the namespace (as \"ip link\" shows it there), or its Device \
object path (/net/netnsd/Netns1/Devices/N, as \"nsctl device list\" shows it), which names it \
in whatever namespace it is: the command then works in the device's namespace, and --netns is \
not needed.";

const TABLE_LONG_HELP: &str = "\
Routing table: a number from 1 to 4294967295, or main (254), default (253) or local (255).";

/// `--netns NS`, the namespace a command works in.
#[derive(Debug, Clone, Args)]
pub struct NetnsOpt {
    /// Namespace to work in, by name; rootns is the host's own
    #[arg(
        short = 'n',
        long = "netns",
        value_name = "NS",
        default_value = ROOT_NS_NAME
    )]
    pub netns: String,
}

/// `-4` / `-6` of `route add|del` and `rule add|del`: the address family,
/// where no address tells it.
#[derive(Debug, Clone, Copy, Default, Args)]
#[group(multiple = false)]
pub struct FamilyOpt {
    /// IPv4 (the default where no address tells the family)
    #[arg(short = '4')]
    pub inet: bool,
    /// IPv6: a default route without --via, or a rule without --from and --to, is IPv6
    #[arg(short = '6')]
    pub inet6: bool,
}

/// `-4` / `-6` of `route list` and `rule list`: which family to show.
#[derive(Debug, Clone, Copy, Default, Args)]
#[group(multiple = false)]
pub struct FamilyFilter {
    /// Show IPv4 only
    #[arg(short = '4')]
    pub inet: bool,
    /// Show IPv6 only
    #[arg(short = '6')]
    pub inet6: bool,
}

impl FamilyFilter {
    /// Whether a route or rule of `family` (inet, inet6) is shown.
    pub fn shows(self, family: &str) -> bool {
        match (self.inet, self.inet6) {
            (true, _) => family == "inet",
            (_, true) => family == "inet6",
            _ => true,
        }
    }
}

impl FamilyOpt {
    /// The `family` key of the route and rule dictionaries, if one was asked for.
    pub fn family(self) -> Option<&'static str> {
        if self.inet6 {
            Some("inet6")
        } else if self.inet {
            Some("inet")
        } else {
            None
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List devices, of one namespace or of all
    #[command(
        long_about = "\
List devices, of namespace NS or, without NS, of every namespace (rootns first, then the \
others by name), ordered by interface index.

Columns: NAMESPACE; NAME, the interface name; IFINDEX; KIND (veth, macvlan, bridge, tun, \
loopback, ethernet, ...); STATE, NetworkManager's device state by the name nmcli gives it \
(connected, disconnected, unavailable, unmanaged, ...: docs/bus-api.md); OPERSTATE, the \
kernel's operational state (up, down, lowerlayerdown, unknown, ...); MTU; MAC, the hardware address; ADDRESSES, its IPv4 and IPv6 addresses, comma-separated; \
OBJECT, its Device object on the bus. Loopback and other internal devices are left out unless \
--all is given.

With --json, prints one JSON array of objects with the keys namespace, name, ifindex, kind, \
state, oper_state, mtu, mac, addresses (an array), object, namespace_object and state_code \
(the state's number, NMDeviceState).",
        after_help = exit_status_help()
    )]
    List {
        /// Namespace whose devices to list, by name; every namespace if omitted
        #[arg(value_name = "NS")]
        netns: Option<String>,
        /// Include loopback and other internal devices
        #[arg(short, long)]
        all: bool,
    },

    /// Show one device
    #[command(
        long_about = "\
Show one device as \"Key: value\" lines: Name, Namespace, Ifindex, Kind, State, Operstate, \
MTU, MAC, \
Addresses (one per line) and Object. With --json, one object with the keys of \
\"nsctl device list --json\".",
        after_help = exit_status_help()
    )]
    Show {
        #[arg(value_name = "DEV", help = DEV_HELP, long_help = DEV_LONG_HELP)]
        dev: String,
        #[command(flatten)]
        netns: NetnsOpt,
    },

    /// Move a device into another namespace
    #[command(
        long_about = "\
Move device DEV from the namespace that holds it (--from, rootns by default) into the \
namespace --to, as \"ip link set DEV netns NS\" would. netnsd answers once it sees the device \
in the target namespace; if it does not within --timeout milliseconds, it moves the device \
back and nsctl exits with status 8. The device keeps its Device object path. Prints nothing \
on success.

Loopback cannot be moved. Needs polkit's permission for net.netnsd.Netns1.take-device.",
        after_help = exit_status_help()
    )]
    Take {
        #[arg(value_name = "DEV", help = DEV_HELP, long_help = DEV_LONG_HELP)]
        dev: String,
        /// Namespace to move the device into, by name
        #[arg(long, value_name = "NS")]
        to: String,
        /// Namespace that holds the device now, where DEV is looked up by name
        #[arg(long, value_name = "NS", default_value = ROOT_NS_NAME)]
        from: String,
        /// How long netnsd waits for the device to appear in the target namespace
        #[arg(
            long,
            value_name = "MS",
            default_value_t = 2000,
            value_parser = clap::value_parser!(i32).range(0..)
        )]
        timeout: i32,
    },
}

/// The options every new link takes.
#[derive(Debug, Clone, Default, Args)]
pub struct LinkOpts {
    /// MTU of the new link (68 to 65535); the kernel's default if not given
    #[arg(long, value_name = "BYTES")]
    pub mtu: Option<u32>,
    /// Bring the new link up (only this end of a veth pair; see --peer-up)
    #[arg(long)]
    pub up: bool,
    /// Give it a stable, locally administered MAC address, derived from the namespace and
    /// interface names, instead of a random one
    #[arg(long)]
    pub stable_mac: bool,
}

/// Macvlan modes, as `ip link add … type macvlan mode M` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MacvlanMode {
    /// Macvlans on the same parent talk to each other directly
    Bridge,
    /// No traffic between macvlans on the same parent
    Private,
    /// Traffic between macvlans goes out to the switch (802.1Qbg)
    Vepa,
    /// The one macvlan on the parent takes over its traffic
    Passthru,
    /// Only frames from allowed source MAC addresses
    Source,
}

impl MacvlanMode {
    /// The `mode` option's value.
    pub fn as_str(self) -> &'static str {
        match self {
            MacvlanMode::Bridge => "bridge",
            MacvlanMode::Private => "private",
            MacvlanMode::Vepa => "vepa",
            MacvlanMode::Passthru => "passthru",
            MacvlanMode::Source => "source",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Add a link: veth, macvlan, bridge or vlan
    #[command(
        subcommand,
        long_about = "\
Add a link of the kind given: \"nsctl link add veth|macvlan|bridge|vlan NAME ...\". The link is \
created directly in the namespace --netns (rootns by default), not moved there afterwards. \
Prints the new Device object path (with --json, {\"object\": PATH}); for a veth pair, the \
paths of both ends, one per line (with --json, {\"object\": PATH, \"peer\": PATH}).

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Add(LinkAdd),

    /// Delete a link
    #[command(
        visible_aliases = ["del", "remove"],
        long_about = "\
Delete device DEV, as \"ip link delete\" would; deleting one end of a veth pair deletes both. \
Prints nothing on success. Also available as \"nsctl link del\" and \"nsctl link remove\".

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Delete {
        #[arg(value_name = "DEV", help = DEV_HELP, long_help = DEV_LONG_HELP)]
        dev: String,
        #[command(flatten)]
        netns: NetnsOpt,
    },

    /// Change a link: up or down, MTU, name
    #[command(
        long_about = "\
Change device DEV, as \"ip link set\" would: bring it up or down, set its MTU, rename it. At \
least one change is needed. They are made one after the other: --down first, then --mtu, then \
--name, then --up, so that \"--name NEW --up\" renames a device while it is still down. If one \
fails, the ones before it stay made. Prints nothing on success.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Set(LinkSet),
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("change")
        .args(["up", "down", "mtu", "name", "master", "nomaster", "address", "mss_clamp"])
        .required(true)
        .multiple(true)
))]
pub struct LinkSet {
    #[arg(value_name = "DEV", help = DEV_HELP, long_help = DEV_LONG_HELP)]
    pub dev: String,
    #[command(flatten)]
    pub netns: NetnsOpt,
    /// Bring the device up
    #[arg(long, conflicts_with = "down")]
    pub up: bool,
    /// Bring the device down
    #[arg(long)]
    pub down: bool,
    /// Set the MTU (68 to 65535, and what the device allows)
    #[arg(long, value_name = "BYTES")]
    pub mtu: Option<u32>,
    /// Rename the device (its object path stays the same)
    #[arg(long, value_name = "NEWNAME")]
    pub name: Option<String>,
    /// Enslave the device to bridge BR in the same namespace (ip link set DEV master BR)
    #[arg(long, value_name = "BR", conflicts_with = "nomaster")]
    pub master: Option<String>,
    /// Free the device from its bridge (ip link set DEV nomaster)
    #[arg(long)]
    pub nomaster: bool,
    /// Set the device's MAC address (six hex octets, as 02:00:5e:10:00:01)
    #[arg(long, value_name = "MAC")]
    pub address: Option<String>,
    /// Clamp the MSS of TCP SYNs forwarded out of the device to the route's MTU (on), or stop (off)
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    pub mss_clamp: Option<bool>,
}

/// `on` or `off`, as iproute2 takes them.
fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("'{s}' is neither on nor off")),
    }
}

#[derive(Debug, Subcommand)]
pub enum LinkAdd {
    /// Add a veth pair, its peer in any namespace
    #[command(
        long_about = "\
Add a veth pair: NAME in the namespace --netns and PEER in --peer-netns (the same namespace if \
not given), each end born directly in its namespace, as \"ip link add NAME type veth peer name \
PEER netns NS\" does. --up brings up NAME, --peer-up brings up PEER. With --stable-mac, each end \
gets a MAC address derived from its own namespace and name.

Prints the object paths of NAME and PEER, one per line (with --json, {\"object\": PATH, \
\"peer\": PATH}).",
        after_help = exit_status_help()
    )]
    Veth {
        /// Name of the new interface in --netns (at most 15 bytes)
        #[arg(value_name = "NAME")]
        name: String,
        /// Name of the peer interface
        #[arg(long, value_name = "PEER")]
        peer: String,
        /// Namespace of the peer, by name [default: the namespace of --netns]
        #[arg(long, value_name = "NS")]
        peer_netns: Option<String>,
        /// Bring the peer up as well
        #[arg(long)]
        peer_up: bool,
        #[command(flatten)]
        netns: NetnsOpt,
        #[command(flatten)]
        opts: LinkOpts,
    },

    /// Add a macvlan on a parent device
    #[command(
        long_about = "\
Add a macvlan NAME in the namespace --netns on the parent device --parent, which may be in \
another namespace (--parent-netns): the macvlan is born directly in --netns, so a namespace \
gets a link onto a wired network of the host without moving the parent.",
        after_help = exit_status_help()
    )]
    Macvlan {
        /// Name of the new interface in --netns (at most 15 bytes)
        #[arg(value_name = "NAME")]
        name: String,
        /// Parent device: its interface name in --parent-netns, or its Device object path
        #[arg(long, value_name = "DEV")]
        parent: String,
        /// Namespace that holds the parent, by name [default: the namespace of --netns]
        #[arg(long, value_name = "NS")]
        parent_netns: Option<String>,
        /// Macvlan mode
        #[arg(long, value_enum, default_value_t = MacvlanMode::Bridge)]
        mode: MacvlanMode,
        #[command(flatten)]
        netns: NetnsOpt,
        #[command(flatten)]
        opts: LinkOpts,
    },

    /// Add a bridge
    #[command(
        long_about = "\
Add a bridge NAME in the namespace --netns, as \"ip link add NAME type bridge\" does.",
        after_help = exit_status_help()
    )]
    Bridge {
        /// Name of the new interface in --netns (at most 15 bytes)
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        netns: NetnsOpt,
        #[command(flatten)]
        opts: LinkOpts,
    },

    /// Add a GRE, IPIP or SIT tunnel
    #[command(
        long_about = "\
Add a tunnel NAME of kind --kind (gre: GRE over IPv4; ipip: IPv4 in IPv4; sit: IPv6 in IPv4) \
to --remote in the namespace --netns, as \"ip link add NAME type KIND remote R local L ttl T \
key K\" does. Where the kernel lacks the kind, netnsd names its module (ip_gre, ipip, sit) and \
nsctl exits with status 9.",
        after_help = exit_status_help()
    )]
    Tunnel {
        /// Name of the new interface in --netns (at most 15 bytes)
        #[arg(value_name = "NAME")]
        name: String,
        /// gre, ipip or sit
        #[arg(long, value_name = "KIND")]
        kind: String,
        /// IPv4 address of the far end
        #[arg(long, value_name = "ADDR")]
        remote: String,
        /// IPv4 address the tunnel's packets leave from [default: any]
        #[arg(long, value_name = "ADDR")]
        local: Option<String>,
        /// TTL of the outer packets, 1 to 255 (0: inherit) [default: inherit]
        #[arg(long, value_name = "N")]
        ttl: Option<u32>,
        /// GRE key, for both directions
        #[arg(long, value_name = "K")]
        key: Option<u32>,
        /// MTU of the new link (68 to 65535)
        #[arg(long, value_name = "BYTES")]
        mtu: Option<u32>,
        /// Bring the new link up
        #[arg(long)]
        up: bool,
        #[command(flatten)]
        netns: NetnsOpt,
    },

    /// Add an 802.1Q VLAN on a parent device
    #[command(
        long_about = "\
Add an 802.1Q VLAN NAME with id --id on the parent device --parent (which may be in another \
namespace, --parent-netns), born directly in the namespace --netns. Where the kernel lacks \
802.1Q support, netnsd says so and nsctl exits with status 9.",
        after_help = exit_status_help()
    )]
    Vlan {
        /// Name of the new interface in --netns (at most 15 bytes)
        #[arg(value_name = "NAME")]
        name: String,
        /// Parent device: its interface name in --parent-netns, or its Device object path
        #[arg(long, value_name = "DEV")]
        parent: String,
        /// Namespace that holds the parent, by name [default: the namespace of --netns]
        #[arg(long, value_name = "NS")]
        parent_netns: Option<String>,
        /// VLAN id, 1 to 4094
        #[arg(
            long,
            value_name = "ID",
            value_parser = clap::value_parser!(u16).range(1..=4094)
        )]
        id: u16,
        #[command(flatten)]
        netns: NetnsOpt,
        #[command(flatten)]
        opts: LinkOpts,
    },
}

/// `nsctl addr add|del CIDR --dev DEV`.
#[derive(Debug, Args)]
pub struct AddrArgs {
    /// Address with prefix length: 10.0.0.1/24, fd00::1/64 (a bare address is /32 or /128)
    #[arg(value_name = "CIDR")]
    pub cidr: String,
    #[arg(
        short,
        long,
        value_name = "DEV",
        help = DEV_HELP,
        long_help = DEV_LONG_HELP
    )]
    pub dev: String,
    #[command(flatten)]
    pub netns: NetnsOpt,
}

/// `nsctl addr add CIDR --dev DEV [--peer PEER]`.
#[derive(Debug, Args)]
pub struct AddrAddArgs {
    #[command(flatten)]
    pub addr: AddrArgs,
    /// The far end of a point-to-point link, with the prefix length (10.9.0.2/32); CIDR is then
    /// a bare address
    #[arg(long, value_name = "PEER")]
    pub peer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AddrCommand {
    /// Add an address to a device
    #[command(
        long_about = "\
Add address CIDR to device DEV, as \"ip address add CIDR dev DEV\" would. With --peer, a \
point-to-point address: \"ip address add ADDR peer PEER dev DEV\" (CIDR is then a bare \
address and the prefix length goes with PEER). Prints nothing on success.",
        after_help = exit_status_help()
    )]
    Add(AddrAddArgs),

    /// Delete an address from a device
    #[command(
        visible_aliases = ["delete", "remove"],
        long_about = "\
Delete address CIDR from device DEV, as \"ip address del CIDR dev DEV\" would. Prints nothing \
on success. Also available as \"nsctl addr delete\" and \"nsctl addr remove\".",
        after_help = exit_status_help()
    )]
    Del(AddrArgs),
}

/// Route scopes, as `ip route … scope S` takes them (a clap ValueEnum).
pub use netnsd_api::Scope;

/// `nsctl route add|del DEST …`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Destination: a prefix (10.1.0.0/16, fd00:1::/64, without host bits) or "default"
    #[arg(value_name = "DEST")]
    pub destination: String,
    /// Next hop address (IPv4 or IPv6, as the destination)
    #[arg(long, visible_alias = "gateway", value_name = "GW")]
    pub via: Option<String>,
    /// Output device; a route needs --via, --dev or both
    #[arg(short, long, value_name = "DEV", long_help = DEV_LONG_HELP)]
    pub dev: Option<String>,
    /// Routing table [default: main]
    #[arg(long, value_name = "TABLE", value_parser = parse_table, long_help = TABLE_LONG_HELP)]
    pub table: Option<u32>,
    /// Route metric (priority); lower wins
    #[arg(long, value_name = "N")]
    pub metric: Option<u32>,
    /// Route scope
    #[arg(long, value_enum)]
    pub scope: Option<Scope>,
    #[command(flatten)]
    pub family: FamilyOpt,
    #[command(flatten)]
    pub netns: NetnsOpt,
}

/// `nsctl route del …`: the route, and whose it is.
#[derive(Debug, Args)]
pub struct RouteDelArgs {
    #[command(flatten)]
    pub route: RouteArgs,
    /// Whose route it is: netnsd (the default), kernel, boot, static, dhcp, … or 0-255
    #[arg(long, value_name = "PROTO")]
    pub proto: Option<String>,
}

/// `nsctl rule del …`: the rule, and whose it is.
#[derive(Debug, Args)]
pub struct RuleDelArgs {
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Whose rule it is: netnsd (the default), kernel, boot, static, … or 0-255
    #[arg(long, value_name = "PROTO")]
    pub proto: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Add a route
    #[command(
        long_about = "\
Add a route, as \"ip route add DEST [via GW] [dev DEV] [table T] [metric M] [scope S]\" would. \
The address family comes from DEST or GW; for \"default\" without --via, it is IPv4 unless -6 is \
given. Prints nothing on success.",
        after_help = exit_status_help()
    )]
    Add(RouteArgs),

    /// Delete a route
    #[command(
        visible_aliases = ["delete", "remove"],
        long_about = "\
Delete exactly the route \"nsctl route add\" with the same arguments made: what is left out \
means what it means there (table main, no gateway, no metric, netnsd's own route), so a route \
with a metric, a gateway or another owner is not deleted. --proto deletes another owner's \
route (as \"nsctl route list\" shows its proto: kernel, boot, static, dhcp, … or a number). \
Prints nothing on success. Also available as \"nsctl route delete\" and \"nsctl route remove\".",
        after_help = exit_status_help()
    )]
    Del(RouteDelArgs),

    /// List routes
    #[command(
        visible_alias = "show",
        long_about = "\
List the routes of a namespace, one per line as \"ip route\" prints them: [TYPE] DEST [via GW] \
[dev DEV] [table T] [proto P] [scope S] [metric M]; IPv4 first, then IPv6. Only the main table \
unless --table says otherwise; the local table is never listed. Routes installed by netnsd \
show \"proto netnsd\". Also available as \"nsctl route show\".

With --json, prints one JSON array of objects with the keys destination, family, gateway, \
device (the interface name), device_object (its Device object path), table, metric, scope, \
protocol and type; a key is left out where the route has no such value.",
        after_help = exit_status_help()
    )]
    List {
        /// Routing table to list: a table as for "route add", or "all"
        #[arg(long, value_name = "TABLE", default_value = "main")]
        table: TableSelection,
        #[command(flatten)]
        family: FamilyFilter,
        #[command(flatten)]
        netns: NetnsOpt,
    },
}

/// `nsctl rule add|del …`.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Source prefix to match ("all" or omitted: any)
    #[arg(long, value_name = "CIDR")]
    pub from: Option<String>,
    /// Destination prefix to match ("all" or omitted: any)
    #[arg(long, value_name = "CIDR")]
    pub to: Option<String>,
    /// Input interface to match, by name (need not exist yet)
    #[arg(long, value_name = "IF")]
    pub iif: Option<String>,
    /// Output interface to match, by name (need not exist yet)
    #[arg(long, value_name = "IF")]
    pub oif: Option<String>,
    /// Firewall mark to match, with an optional mask: 0x10, 16/0xff
    #[arg(long, value_name = "MARK[/MASK]", value_parser = parse_fwmark)]
    pub fwmark: Option<Fwmark>,
    /// Routing table to look up
    #[arg(
        long,
        visible_alias = "lookup",
        value_name = "TABLE",
        value_parser = parse_table,
        long_help = TABLE_LONG_HELP
    )]
    pub table: u32,
    /// Rule priority (lower is tried first); the kernel chooses one if not given
    #[arg(long, visible_alias = "pref", value_name = "N")]
    pub priority: Option<u32>,
    #[command(flatten)]
    pub family: FamilyOpt,
    #[command(flatten)]
    pub netns: NetnsOpt,
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Add a policy-routing rule
    #[command(
        long_about = "\
Add a policy-routing rule, as \"ip rule add [from CIDR] [to CIDR] [iif IF] [oif IF] \
[fwmark M[/MASK]] lookup TABLE [pref N]\" would. The address family comes from --from or --to; \
without them, the rule is IPv4 unless -6 is given. Prints nothing on success.",
        after_help = exit_status_help()
    )]
    Add(RuleArgs),

    /// Delete a policy-routing rule
    #[command(
        visible_aliases = ["delete", "remove"],
        long_about = "\
Delete exactly a rule \"nsctl rule add\" with the same arguments made: what is left out means \
none (no source, destination, interfaces or mark; netnsd's own rule), except --priority, which \
matches any priority when left out. --proto deletes another owner's rule (as \"nsctl rule \
list\" shows its proto). Prints nothing on success. Also available as \"nsctl rule delete\" \
and \"nsctl rule remove\".",
        after_help = exit_status_help()
    )]
    Del(RuleDelArgs),

    /// List policy-routing rules
    #[command(
        visible_alias = "show",
        long_about = "\
List the policy-routing rules of a namespace, one per line as \"ip rule\" prints them: \
PRIORITY: [not] from CIDR|all [to CIDR] [iif IF] [oif IF] [fwmark M[/MASK]] lookup TABLE; IPv4 \
first, then IPv6. Also available as \"nsctl rule show\".

With --json, prints one JSON array of objects with the keys priority, family, from, to, iif, \
oif, fwmark, fwmask, table, action and invert; a key is left out where the rule has no such \
value.",
        after_help = exit_status_help()
    )]
    List {
        #[command(flatten)]
        family: FamilyFilter,
        #[command(flatten)]
        netns: NetnsOpt,
    },
}
