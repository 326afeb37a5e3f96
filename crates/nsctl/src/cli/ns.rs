//! The commands about a namespace as a whole: its uplink (`add --uplink`,
//! `uplink set|clear`), its DNS (`add --dns`, `dns set|clear`) and running a
//! program in it (`exec`).

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use crate::error::exit_status_help;

/// The help of a namespace name argument.
pub const NAME_HELP: &str = "Namespace name, as \"ip netns\" uses it (/run/netns/NAME)";

/// The long help of a namespace name argument.
pub const NAME_LONG_HELP: &str = "\
Namespace name, as \"ip netns\" uses it (/run/netns/NAME). Any name iproute2 accepts: not \
empty, not \".\" or \"..\", without \"/\", at most 255 bytes.";

/// `--uplink` of `nsctl add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UplinkArg {
    /// No uplink: only loopback (the default)
    None,
    /// A veth pair to --uplink-netns, routed, with NAT there
    Veth,
    /// A macvlan on --uplink-parent, with --address and --gateway
    Macvlan,
}

/// `--type` of `nsctl uplink set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UplinkKind {
    /// A veth pair to --uplink-netns, routed, with NAT there
    Veth,
    /// A macvlan on --uplink-parent, with --address and --gateway
    Macvlan,
}

impl UplinkKind {
    /// The `uplink` option's value.
    pub fn as_str(self) -> &'static str {
        match self {
            UplinkKind::Veth => "veth",
            UplinkKind::Macvlan => "macvlan",
        }
    }
}

impl UplinkArg {
    pub fn kind(self) -> Option<UplinkKind> {
        match self {
            UplinkArg::None => None,
            UplinkArg::Veth => Some(UplinkKind::Veth),
            UplinkArg::Macvlan => Some(UplinkKind::Macvlan),
        }
    }
}

/// The options of an uplink, shared by `nsctl add` and `nsctl uplink set`.
/// Each needs an uplink type (`--uplink` there, `--type` here: both have
/// the id `uplink`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct UplinkOpts {
    /// Namespace that holds the host end of the veth, or the macvlan's parent (default rootns)
    #[arg(long, value_name = "NS", requires = "uplink")]
    pub uplink_netns: Option<String>,
    /// macvlan: the parent device, by its interface name in --uplink-netns
    #[arg(long, value_name = "DEV", requires = "uplink")]
    pub uplink_parent: Option<String>,
    /// macvlan: the namespace's address on the macvlan, as CIDR (192.0.2.10/24)
    #[arg(long, value_name = "CIDR", requires = "uplink")]
    pub address: Option<String>,
    /// macvlan: the default gateway, of the family of --address
    #[arg(long, value_name = "IP", requires = "uplink")]
    pub gateway: Option<IpAddr>,
    /// veth: IPv4 only (by default the veth has IPv6 addresses and a default route as well)
    #[arg(long, requires = "uplink")]
    pub no_ipv6: bool,
    /// macvlan: address, gateway and DNS by DHCPv4 instead of --address and --gateway; waits for the lease (10 s at most)
    #[arg(long, requires = "uplink", conflicts_with_all = ["address", "gateway"])]
    pub dhcp: bool,
}

impl UplinkOpts {
    /// The uplink options that only a macvlan takes, as given.
    fn macvlan_only(&self) -> Option<&'static str> {
        if self.uplink_parent.is_some() {
            Some("--uplink-parent")
        } else if self.address.is_some() {
            Some("--address")
        } else if self.gateway.is_some() {
            Some("--gateway")
        } else if self.dhcp {
            Some("--dhcp")
        } else {
            None
        }
    }

    /// Checks that the options fit an uplink of `kind` (None: no uplink), as
    /// netnsd would, but in terms of nsctl's options.
    pub fn check(&self, kind: Option<UplinkKind>) -> Result<(), String> {
        match kind {
            None => {
                let given = self.macvlan_only().or(if self.uplink_netns.is_some() {
                    Some("--uplink-netns")
                } else if self.no_ipv6 {
                    Some("--no-ipv6")
                } else {
                    None
                });
                match given {
                    Some(opt) => Err(format!("{opt} needs an uplink (veth or macvlan)")),
                    None => Ok(()),
                }
            }
            Some(UplinkKind::Veth) => match self.macvlan_only() {
                Some(opt) => Err(format!("{opt} applies to a macvlan uplink, not veth")),
                None => Ok(()),
            },
            Some(UplinkKind::Macvlan) => {
                if self.uplink_parent.is_none() {
                    Err("a macvlan uplink needs --uplink-parent".into())
                } else if self.address.is_none() && !self.dhcp {
                    Err("a macvlan uplink needs --address (or --dhcp)".into())
                } else if self.no_ipv6 {
                    Err("--no-ipv6 applies to a veth uplink, not macvlan".into())
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// `nsctl add NAME [uplink and DNS options]`.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    #[arg(value_name = "NAME", help = NAME_HELP, long_help = NAME_LONG_HELP)]
    pub name: String,
    /// Give the namespace an uplink: a routed veth with NAT, or a macvlan
    #[arg(long, id = "uplink", value_name = "TYPE")]
    pub uplink: Option<UplinkArg>,
    #[command(flatten)]
    pub opts: UplinkOpts,
    /// Name server for the namespace's resolv.conf; repeat for more
    #[arg(long = "dns", value_name = "IP", value_delimiter = ',')]
    pub dns: Vec<IpAddr>,
    /// Search domain for the namespace's resolv.conf; repeat for more
    #[arg(long = "dns-search", value_name = "DOMAIN", value_delimiter = ',')]
    pub dns_search: Vec<String>,
}

impl AddArgs {
    /// Whether anything beyond the name was asked for, so that the call
    /// must be AddNetworkNamespaceWithOptions.
    pub fn has_options(&self) -> bool {
        self.uplink.is_some()
            || self.opts != UplinkOpts::default()
            || !self.dns.is_empty()
            || !self.dns_search.is_empty()
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum UplinkCommand {
    /// Give a namespace an uplink, replacing the one it has
    #[command(
        long_about = "\
Give namespace NS an uplink, replacing any it has. With --type veth: a veth pair whose host \
end lives in --uplink-netns (rootns by default), addresses for both ends from netnsd's pool, \
the default route in NS through it, forwarding on the host end, and masquerade in netnsd's \
own nftables table (inet netnsd); IPv6 as well unless --no-ipv6. With --type macvlan: a macvlan \
on the parent device --uplink-parent (a device of --uplink-netns), with the static address \
--address and, if given, the default route through --gateway; or, with --dhcp, address, gateway \
and DNS by DHCPv4 (the command waits for the lease, 10 s at most, then fails naming the parent), \
renewed while the uplink lasts and released when it goes; IPv6 by the kernel's SLAAC. Prints \
nothing on success.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Set {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: String,
        /// The kind of uplink
        #[arg(long = "type", id = "uplink", value_name = "TYPE")]
        kind: UplinkKind,
        #[command(flatten)]
        opts: UplinkOpts,
    },

    /// Take a namespace's uplink away
    #[command(
        long_about = "\
Take the uplink of namespace NS away: its veth or macvlan, its addresses and routes, and its \
NAT rules. Prints nothing on success.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Clear {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum DnsCommand {
    /// Set the name servers and search domains of a namespace
    #[command(
        long_about = "\
Set the name servers and search domains of namespace NS: netnsd writes \
/etc/netns/NS/resolv.conf (with hosts and nsswitch.conf beside it), which programs started \
with \"nsctl exec\" or \"ip netns exec\" see as /etc/resolv.conf. The host's own files are not \
touched. Replaces what was set before. Prints nothing on success.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        group(ArgGroup::new("dns").required(true).multiple(true).args(["servers", "search"])),
        after_help = exit_status_help()
    )]
    Set {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: String,
        /// Name servers, in order; repeat the option or separate them with commas
        #[arg(long = "server", value_name = "IP", num_args = 1.., value_delimiter = ',')]
        servers: Vec<IpAddr>,
        /// Search domains, in order; repeat the option or separate them with commas
        #[arg(long = "search", value_name = "DOMAIN", num_args = 1.., value_delimiter = ',')]
        search: Vec<String>,
    },

    /// Remove a namespace's DNS settings
    #[command(
        long_about = "\
Remove the DNS settings of namespace NS: netnsd removes /etc/netns/NS/resolv.conf, hosts and \
nsswitch.conf, so programs in NS see the host's files again. Prints nothing on success.

Needs polkit's permission for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Clear {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: String,
    },
}

/// `nsctl exec NS [--env VAR[=VALUE]]... [--cwd DIR] [--no-pty] -- CMD [ARGS...]`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP, required_unless_present = "vpn")]
    pub netns: Option<String>,
    /// Run in the namespace of VPN profile PROFILE, brought up first if it is not (instead of NS)
    #[arg(long, value_name = "PROFILE")]
    pub vpn: Option<String>,
    /// Pass VAR from nsctl's environment, or set VAR to VALUE; repeat for more
    #[arg(short = 'e', long = "env", value_name = "VAR[=VALUE]")]
    pub env: Vec<String>,
    /// Working directory of the program (default: nsctl's current directory)
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Pass nsctl's own stdin, stdout and stderr even when they are a terminal
    #[arg(long)]
    pub no_pty: bool,
    /// The program, looked up in PATH, and its arguments
    #[arg(
        value_name = "CMD",
        required_unless_present = "vpn",
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub command: Vec<String>,
}

impl ExecArgs {
    /// With --vpn, a first word given without "--" is the command's.
    pub fn normalize(&mut self) {
        if self.vpn.is_some()
            && let Some(first) = self.netns.take()
        {
            self.command.insert(0, first);
        }
    }

    /// `--env` entries: `VAR` (from the environment) or `VAR=VALUE`.
    pub fn check(&self) -> Result<(), String> {
        if self.vpn.is_some() && self.netns.is_none() && self.command.is_empty() {
            return Err("--vpn: the command to run (CMD) is missing".into());
        }
        for e in &self.env {
            let name = e.split_once('=').map_or(e.as_str(), |(n, _)| n);
            if name.is_empty() {
                return Err(format!("--env {e:?}: the variable has no name"));
            }
        }
        Ok(())
    }
}
