//! `nsctl forward add|list|del`: port forwards from the host into a namespace.

use std::net::IpAddr;

use clap::{Subcommand, ValueEnum};

use super::ns::{NAME_HELP, NAME_LONG_HELP};
use crate::error::exit_status_help;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForwardProto {
    Tcp,
    Udp,
}

impl ForwardProto {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardProto::Tcp => "tcp",
            ForwardProto::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum ForwardCommand {
    /// Forward a port of the host to a namespace
    #[command(
        long_about = "\
Forward --host-port of the host (the namespace's uplink namespace, rootns by default) to \
--port (default: the same) in namespace NS, which must have a veth uplink: connections and \
datagrams to the host's own addresses (or only to --host-address) are DNATed to the \
namespace's uplink address, IPv4 and, when the uplink has it, IPv6, in netnsd's own nftables \
table (inet netnsd). They work from other machines and from the host itself (an output-chain \
DNAT, as podman does), but not through 127.0.0.1 or ::1. Prints the forward's id (with \
--json, {\"id\": N}). The forward goes with the uplink or the namespace.

Needs polkit's permission for net.netnsd.Netns1.configure-host when the uplink namespace is \
rootns (the host's own ports), else for net.netnsd.Netns1.configure.",
        after_help = exit_status_help()
    )]
    Add {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: String,
        /// tcp or udp
        #[arg(long, value_name = "PROTO")]
        proto: ForwardProto,
        /// The port of the host (1-65535)
        #[arg(long, value_name = "PORT")]
        host_port: u32,
        /// Only this address of the host (IPv4 or IPv6; default: all of its addresses)
        #[arg(long, value_name = "ADDRESS")]
        host_address: Option<IpAddr>,
        /// The port in the namespace (default: --host-port)
        #[arg(long, value_name = "PORT")]
        port: Option<u32>,
    },

    /// List port forwards, of one namespace or of all
    #[command(
        visible_alias = "ls",
        long_about = "\
List the port forwards of namespace NS, or of every namespace. Columns: NETNS, ID, PROTO, \
HOST (the host address, * for all), HOST-PORT, TO (the namespace's uplink addresses the \
forward goes to), PORT. With --json, one array of objects with the keys netns, id, proto, \
host_address (null for all), host_port, address, address6 and port.",
        after_help = exit_status_help()
    )]
    List {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: Option<String>,
    },

    /// Remove a port forward
    #[command(
        visible_aliases = ["delete", "remove"],
        long_about = "\
Remove forward ID (as \"nsctl forward list\" shows it) of namespace NS: its DNAT rules go at \
once. Prints nothing on success.

Needs the same polkit permission as \"nsctl forward add\".",
        after_help = exit_status_help()
    )]
    Del {
        #[arg(value_name = "NS", help = NAME_HELP, long_help = NAME_LONG_HELP)]
        netns: String,
        /// The forward's id
        #[arg(value_name = "ID")]
        id: u32,
    },
}
