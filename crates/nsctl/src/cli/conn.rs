//! The commands for connection profiles (`connection`) and for bringing
//! VPNs up and down (`vpn`), shaped after nmcli's.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use netnsd_api::ROOT_NS_NAME;

use crate::error::exit_status_help;

const CONNECTION_HELP: &str = "Connection profile: its id, its uuid or its object path";

const CONNECTION_LONG_HELP: &str = "\
Connection profile: its id (connection.id, as \"nsctl connection list\" shows it under NAME), \
its uuid, or its object path (/net/netnsd/Netns1/Settings/N). A uuid or a path wins over an id \
that happens to look the same; an id that several profiles share must be given as a uuid.";

/// A `KEY=VALUE` pair of `--data` (a vpn.data item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// `--data KEY=VALUE`: the key is not empty; the value may be (and may hold `=`).
pub fn parse_key_value(s: &str) -> Result<KeyValue, String> {
    match s.split_once('=') {
        Some(("", _)) => Err(format!("{s:?}: the key is empty")),
        Some((k, v)) => Ok(KeyValue {
            key: k.to_owned(),
            value: v.to_owned(),
        }),
        None => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// `--secret KEY=VALUE`, or `KEY=-` for a value read from stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArg {
    pub key: String,
    /// None: read it from stdin (the value was `-`).
    pub value: Option<String>,
}

pub fn parse_secret(s: &str) -> Result<SecretArg, String> {
    let kv = parse_key_value(s)?;
    Ok(SecretArg {
        key: kv.key,
        value: (kv.value != "-").then_some(kv.value),
    })
}

/// `--remove-data KEY`.
fn parse_key(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("the key is empty".into())
    } else if s.contains('=') {
        Err(format!("{s:?}: a key has no '='; give the key alone"))
    } else {
        Ok(s.to_owned())
    }
}

/// `--netns-name`: `uuid`, `name`, or a namespace name iproute2 accepts.
pub fn parse_netns_name(s: &str) -> Result<String, String> {
    match s {
        "uuid" | "name" => Ok(s.to_owned()),
        _ => netnsd_api::validate::netns_name(s).map(|()| s.to_owned()),
    }
}

/// vpn.service-type for `--vpn-type`: a short name of NetworkManager's
/// plugins, or a full D-Bus service name taken as it is.
pub fn vpn_service_type(vpn_type: &str) -> String {
    if vpn_type.contains('.') {
        vpn_type.to_owned()
    } else {
        format!("org.freedesktop.NetworkManager.{vpn_type}")
    }
}

/// The short name of a vpn.service-type: `openvpn` for
/// `org.freedesktop.NetworkManager.openvpn`.
pub fn vpn_type_name(service_type: &str) -> &str {
    service_type
        .strip_prefix("org.freedesktop.NetworkManager.")
        .unwrap_or(service_type)
}

/// The end of the secrets' help, shared by `connection add` and `modify`.
macro_rules! secret_rest {
    () => {
        "\
repeat for more. Secrets are stored root-only and are not shown by \"nsctl connection show\" without \
--secrets. To keep a secret off the command line (where other users can see it in ps and it \
lands in shell history), give KEY=- and nsctl reads the value from stdin: one line per KEY=-, \
in the order given, asking for it without echo when stdin is a terminal. A secret that is \
literally \"-\" must come that way too."
    };
}

const SECRET_LONG_HELP: &str = concat!(
    "A secret of the VPN (a vpn.secrets item, such as password or cert-pass for OpenVPN); ",
    secret_rest!()
);

const ADD_SECRET_LONG_HELP: &str = concat!(
    "A secret: of a VPN, a vpn.secrets item (password or cert-pass for OpenVPN, password or ",
    "cookie for OpenConnect); of a WireGuard profile, private-key, and preshared-key (or ",
    "preshared-key.PUBLIC-KEY with several peers); ",
    secret_rest!()
);

/// The four namespace keys, for `connection add` and `connection import`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct NetnsKeysOpts {
    /// Put the VPN's tunnel into a namespace of its own (connection.netns-isolate)
    #[arg(long)]
    pub isolate: bool,
    /// The isolated namespace: uuid (default), name (the profile's id), or a namespace name
    #[arg(long, value_name = "NAME", value_parser = parse_netns_name)]
    pub netns_name: Option<String>,
    /// Keep the isolated namespace when the VPN goes down (connection.netns-persistent)
    #[arg(long)]
    pub persistent: bool,
    /// How long to wait for the tunnel in the isolated namespace (connection.netns-timeout, default 2000)
    #[arg(
        long,
        visible_alias = "netns-timeout",
        value_name = "MS",
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub timeout: Option<i32>,
}

impl NetnsKeysOpts {
    /// Whether any of them was given.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// `--peer`: a WireGuard peer, its public key and then KEY=VALUE items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WgPeerArg {
    pub public_key: String,
    pub endpoint: Option<String>,
    pub allowed_ips: Vec<String>,
    pub persistent_keepalive: Option<u32>,
}

/// Whether `s` has the shape of a WireGuard key: 32 bytes in standard
/// base64 (43 characters and `=`). netnsd checks it again.
pub fn is_wg_key(s: &str) -> bool {
    s.len() == 44
        && s.ends_with('=')
        && s[..43]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// `--peer "PUBLIC-KEY [endpoint=HOST:PORT] [allowed-ips=CIDR,...]
/// [persistent-keepalive=SECONDS]"`.
pub fn parse_wg_peer(s: &str) -> Result<WgPeerArg, String> {
    let mut words = s.split_whitespace();
    let key = words.next().ok_or("the peer's public key is missing")?;
    if !is_wg_key(key) {
        return Err(format!(
            "{key:?} is not a WireGuard public key (44 characters of base64)"
        ));
    }
    let mut peer = WgPeerArg {
        public_key: key.to_owned(),
        endpoint: None,
        allowed_ips: Vec::new(),
        persistent_keepalive: None,
    };
    for w in words {
        let kv = parse_key_value(w)?;
        match kv.key.as_str() {
            "endpoint" if !kv.value.is_empty() => peer.endpoint = Some(kv.value),
            "allowed-ips" => peer.allowed_ips.extend(
                kv.value
                    .split([',', ';'])
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned),
            ),
            "persistent-keepalive" => {
                peer.persistent_keepalive = Some(kv.value.parse().map_err(|_| {
                    format!("persistent-keepalive={}: not a number of seconds", kv.value)
                })?)
            }
            "preshared-key" => {
                return Err("a preshared key is a secret: give it as --secret \
                            preshared-key=- (read from stdin), not in --peer"
                    .into());
            }
            other => {
                return Err(format!(
                    "{other:?}: a peer takes endpoint=, allowed-ips= and persistent-keepalive="
                ));
            }
        }
    }
    Ok(peer)
}

/// What `connection add --type` and `connection import --type` make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AddType {
    /// A VPN of one of NetworkManager's VPN plugins (vpn.service-type)
    Vpn,
    /// A WireGuard connection (connection.type wireguard)
    Wireguard,
}

/// The WireGuard options of `connection add --type wireguard`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "WireGuard (--type wireguard)")]
pub struct WireGuardOpts {
    /// The tunnel's address, CIDR (ipv4/ipv6.address1, ...); repeat for more
    #[arg(long, value_name = "CIDR")]
    pub address: Vec<String>,
    /// A name server for the isolated namespace (ipv4/ipv6.dns); repeat for more
    #[arg(long, value_name = "IP")]
    pub dns: Vec<std::net::IpAddr>,
    /// A search domain for the isolated namespace (ipv4.dns-search); repeat for more
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// The UDP port to listen on (wireguard.listen-port); by default a random one
    #[arg(long, value_name = "PORT")]
    pub listen_port: Option<u16>,
    /// The tunnel's MTU (wireguard.mtu)
    #[arg(long, value_name = "N")]
    pub mtu: Option<u32>,
    /// A peer: its public key, then endpoint=HOST:PORT, allowed-ips=CIDR[,CIDR...] and
    /// persistent-keepalive=SECONDS, separated by spaces (one argument); repeat for more
    #[arg(long, value_name = "PEER", value_parser = parse_wg_peer, long_help = PEER_LONG_HELP)]
    pub peer: Vec<WgPeerArg>,
}

impl WireGuardOpts {
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

const PEER_LONG_HELP: &str = "\
A WireGuard peer (a wireguard-peer.PUBLIC-KEY setting), as one argument: its public key, then \
any of endpoint=HOST:PORT (IPv6 in brackets), allowed-ips=CIDR[,CIDR...] (what goes to it \
through the tunnel; 0.0.0.0/0,::/0 for everything) and persistent-keepalive=SECONDS, separated \
by spaces, e.g. --peer \"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= \
endpoint=vpn.example.org:51820 allowed-ips=0.0.0.0/0\". Repeat for more peers. A preshared \
key is a secret: give it with --secret preshared-key=- (one peer) or --secret \
preshared-key.PUBLIC-KEY=-.";

#[derive(Debug, Clone, Args)]
pub struct ConnectionAddArgs {
    /// The profile's name (connection.id)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Connection type: vpn (a VPN plugin's, see --vpn-type) or wireguard
    #[arg(long = "type", value_name = "TYPE", value_enum, default_value_t = AddType::Vpn)]
    pub kind: AddType,
    /// VPN plugin: openvpn (the default), openconnect, or a full vpn.service-type
    #[arg(long, value_name = "TYPE")]
    pub vpn_type: Option<String>,
    #[command(flatten)]
    pub netns: NetnsKeysOpts,
    /// A vpn.data item, such as remote=vpn.example.org:1194, ca=/path/ca.crt; repeat for more
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub data: Vec<KeyValue>,
    /// A secret (KEY=- reads it from stdin): a vpn.secrets item, or for WireGuard private-key and preshared-key; repeat for more
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_secret, long_help = ADD_SECRET_LONG_HELP)]
    pub secret: Vec<SecretArg>,
    #[command(flatten)]
    pub wireguard: WireGuardOpts,
}

/// What `connection import` reads: an OpenVPN or a wg-quick configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportType {
    /// A plain OpenVPN client configuration (.ovpn)
    Openvpn,
    /// A wg-quick configuration (.conf)
    Wireguard,
}

impl ImportType {
    /// The kind of Settings.ImportConnection.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportType::Openvpn => "openvpn",
            ImportType::Wireguard => "wireguard",
        }
    }

    /// The type a file's extension stands for: .ovpn OpenVPN, .conf
    /// wg-quick (as /etc/wireguard/wg0.conf).
    pub fn of_file(file: &std::path::Path) -> Option<ImportType> {
        match file.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "ovpn" => Some(ImportType::Openvpn),
            "conf" => Some(ImportType::Wireguard),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ConnectionImportArgs {
    /// The configuration to import: an OpenVPN client configuration or a wg-quick file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What FILE is: openvpn or wireguard (wg-quick); by default from its extension, .ovpn for
    /// openvpn, .conf for wireguard
    #[arg(long = "type", value_name = "TYPE", value_enum)]
    pub kind: Option<ImportType>,
    /// The new profile's name (connection.id); by default the file's name without its extension
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    #[command(flatten)]
    pub netns: NetnsKeysOpts,
}

#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("change")
        .args([
            "id", "isolate", "no_isolate", "netns_name", "persistent", "no_persistent",
            "timeout", "data", "remove_data", "secret",
        ])
        .required(true)
        .multiple(true)
))]
pub struct ConnectionModifyArgs {
    #[arg(value_name = "CONNECTION", help = CONNECTION_HELP, long_help = CONNECTION_LONG_HELP)]
    pub connection: String,
    /// Rename the profile (connection.id)
    #[arg(long, value_name = "NEW-ID")]
    pub id: Option<String>,
    /// Put the VPN's tunnel into a namespace of its own (connection.netns-isolate)
    #[arg(long, conflicts_with = "no_isolate")]
    pub isolate: bool,
    /// Run the VPN without a namespace of its own
    #[arg(long)]
    pub no_isolate: bool,
    /// The isolated namespace: uuid, name (the profile's id), or a namespace name
    #[arg(long, value_name = "NAME", value_parser = parse_netns_name)]
    pub netns_name: Option<String>,
    /// Keep the isolated namespace when the VPN goes down (connection.netns-persistent)
    #[arg(long, conflicts_with = "no_persistent")]
    pub persistent: bool,
    /// Remove the isolated namespace when the VPN goes down
    #[arg(long)]
    pub no_persistent: bool,
    /// How long to wait for the tunnel in the isolated namespace (connection.netns-timeout)
    #[arg(
        long,
        visible_alias = "netns-timeout",
        value_name = "MS",
        value_parser = clap::value_parser!(i32).range(0..)
    )]
    pub timeout: Option<i32>,
    /// Set a vpn.data item; repeat for more
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub data: Vec<KeyValue>,
    /// Remove a vpn.data item; repeat for more
    #[arg(long, value_name = "KEY", value_parser = parse_key)]
    pub remove_data: Vec<String>,
    /// Set a vpn.secrets item (KEY=- reads it from stdin); repeat for more
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_secret, long_help = SECRET_LONG_HELP)]
    pub secret: Vec<SecretArg>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConnectionCommand {
    /// List connection profiles
    #[command(
        visible_alias = "ls",
        long_about = "\
List the connection profiles netnsd has (from /etc/netnsd/connections), by name.

Columns: NAME, the profile's id; UUID; TYPE, vpn/PLUGIN for a VPN (vpn/openvpn); ISOLATE, yes \
if the VPN gets a namespace of its own (connection.netns-isolate); NETNS, the netns-name key \
as the profile has it (uuid, name, or a namespace name), - when not isolated; ACTIVE, the \
state of its active connection (activating, activated, deactivating), - when it is not \
active; OBJECT, its Settings.Connection object on the bus.

With --json, prints one JSON array of objects with the keys id, uuid, type, vpn_type, \
isolate, netns_name, persistent, timeout, active (a state, or null), active_object (or null), \
filename and object.",
        after_help = exit_status_help()
    )]
    List,

    /// Show one connection profile
    #[command(
        long_about = "\
Show connection profile CONNECTION as \"setting.key = value\" lines, the connection setting \
first: booleans as true or false, lists comma-separated, and each item of a dictionary (such \
as vpn.data) on a line of its own as \"setting.key.item = value\". Secrets are left out unless \
--secrets is given.

With --json, prints the profile as NetworkManager's a{sa{sv}} in JSON: an object of settings, \
each an object of keys; dictionaries are objects, lists arrays.

--secrets needs polkit's permission for net.netnsd.Netns1.read-secrets (by default only \
administrators have it).",
        after_help = exit_status_help()
    )]
    Show {
        #[arg(value_name = "CONNECTION", help = CONNECTION_HELP, long_help = CONNECTION_LONG_HELP)]
        connection: String,
        /// Include the VPN's secrets (vpn.secrets)
        #[arg(long)]
        secrets: bool,
    },

    /// Add a VPN or WireGuard connection profile
    #[command(
        long_about = "\
Add a connection profile named ID and print its object path (with --json, {\"object\": \
PATH, \"uuid\": UUID}). netnsd stores it as a NetworkManager keyfile in \
/etc/netnsd/connections (root-only) and gives it a uuid.

A VPN (--type vpn, the default) names its plugin with --vpn-type: openvpn (the default), \
openconnect, or a full vpn.service-type. Its configuration goes in vpn.data items (--data \
KEY=VALUE, with the keys of NetworkManager's plugin: for OpenVPN remote, connection-type, ca, \
cert, key, ta, ta-dir, proto-tcp, port, cipher, ...; for OpenConnect gateway, protocol \
(anyconnect, nc, pulse, gp, f5, fortinet, array), cacert, servercert, username, ...), its \
passwords in vpn.secrets items (--secret, e.g. --secret password=-).

A WireGuard connection (--type wireguard) takes its private key as a secret, \
--secret private-key=- (read from stdin, so that it is on no command line), its addresses \
with --address, each peer with --peer, and optionally --dns, --dns-search, --listen-port and \
--mtu; a preshared key is --secret preshared-key=- (or preshared-key.PUBLIC-KEY=- with several \
peers). \"nsctl connection import\" reads a wg-quick file instead.

Namespace keys of the connection setting: --isolate puts the tunnel device into a \
namespace of its own, named by --netns-name: \"uuid\" (the default) for the profile's uuid, \
\"name\" for its id, anything else as it is; the namespace is made when the connection comes \
up and removed when it goes down, unless --persistent. --timeout is how long netnsd waits for \
the tunnel to appear there (2000 ms by default). Options not given are left to netnsd's \
defaults.

Needs polkit's permission for net.netnsd.Netns1.modify-settings.",
        after_help = exit_status_help()
    )]
    Add(ConnectionAddArgs),

    /// Import an OpenVPN or wg-quick configuration file as a connection profile
    #[command(
        long_about = "\
Import FILE as a new profile and print its object path (with --json, {\"object\": PATH, \
\"uuid\": UUID}). nsctl reads the file and sends it to netnsd. The profile is named --id, by \
default after FILE without its extension.

--type says what FILE is; without it, the extension does: .ovpn for openvpn, .conf for \
wireguard (an OpenVPN configuration named .conf needs --type openvpn); any other name needs \
--type.

openvpn: a plain OpenVPN client configuration, made a VPN profile as NetworkManager's OpenVPN \
importer does. Files it names by a relative path (ca ca.crt) are taken from FILE's \
directory. Inline blocks (<ca>, <cert>, <key>, <tls-auth>, <tls-crypt>) are stored by netnsd \
in files of their own, root-only, next to the profile.

wireguard: a wg-quick configuration (/etc/wireguard/wg0.conf), made a WireGuard profile as \
NetworkManager's importer (nmcli connection import type wireguard) does: the private and \
preshared keys become the profile's secrets, Address its addresses, DNS its name servers and \
search domains. PreUp, PostUp, PreDown and PostDown are refused: netnsd runs no hooks.

With --isolate, --netns-name, --persistent or --timeout, the profile's namespace keys are set \
right after the import (see \"nsctl connection add\"); if that fails, the imported profile is \
deleted again.

Needs polkit's permission for net.netnsd.Netns1.modify-settings.",
        after_help = exit_status_help()
    )]
    Import(ConnectionImportArgs),

    /// Delete a connection profile
    #[command(
        visible_aliases = ["del", "remove"],
        long_about = "\
Delete connection profile CONNECTION and its keyfile (and the files an import stored for it). \
An active connection of the profile is deactivated first. Prints nothing on success.

Needs polkit's permission for net.netnsd.Netns1.modify-settings.",
        after_help = exit_status_help()
    )]
    Delete {
        #[arg(value_name = "CONNECTION", help = CONNECTION_HELP, long_help = CONNECTION_LONG_HELP)]
        connection: String,
    },

    /// Change a connection profile: namespace keys, vpn.data and vpn.secrets items, its name
    #[command(
        long_about = "\
Change connection profile CONNECTION: nsctl reads its settings, makes the changes asked for \
and writes them back (Update), so other keys stay as they are; its secrets are kept. At least \
one change is needed. The change applies the next time the VPN comes up. Prints nothing on \
success.

--secret also reads the profile's current secrets first, so it needs polkit's permission for \
net.netnsd.Netns1.read-secrets besides net.netnsd.Netns1.modify-settings.",
        after_help = exit_status_help()
    )]
    Modify(ConnectionModifyArgs),

    /// Read the profiles in /etc/netnsd/connections again
    #[command(
        long_about = "\
Make netnsd read the keyfiles in /etc/netnsd/connections again, as \"nmcli connection \
reload\" does: new files become profiles, changed ones are updated, and profiles whose file \
is gone are removed. Prints nothing on success.

Needs polkit's permission for net.netnsd.Netns1.modify-settings.",
        after_help = exit_status_help()
    )]
    Reload,
}

#[derive(Debug, Clone, Subcommand)]
pub enum VpnCommand {
    /// Bring a VPN up, printing each state change, and wait until it is up or failed
    #[command(
        long_about = "\
Activate VPN profile CONNECTION from namespace --from (rootns by default), where the VPN \
client runs and its uplink is. nsctl prints each state change as netnsd reports it (vpn: \
connect, vpn: ip-config-get, vpn: activated), naming the namespace the tunnel ended up in, \
and waits until the VPN is up (exit status 0) or has failed and been cleaned up (the reason \
is printed, as NetworkManager names it: login-failed, connect-timeout, service-stopped, ...; \
exit status 1). With --json, each state change is printed as one JSON object per line with \
the keys object, state, vpn_state, reason and namespace.

A profile without netns-isolate brought up in a namespace that has DNS of its own (--from NS, \
a namespace with --dns): the domains the VPN pushes are resolved by the VPN's name servers, \
everything else by the namespace's own (split DNS, through a dnsmasq that netnsd runs in NS \
while the VPN is up).

If it is not up within --timeout seconds, nsctl stops waiting and exits with status 8; the \
activation goes on (\"nsctl vpn down\" stops it). With --timeout 0, nsctl prints the active \
connection's object path and does not wait. Interrupting nsctl does not stop the activation \
either.

A secret the profile lacks (a password owned by an agent, password-flags=1, as \
\"nmcli connection import type openvpn\" writes it) is asked here: while it waits, nsctl is \
a secret agent for its own run and asks, without echo, naming the profile and the field \
(Password for VPN \"work\" (vpn.secrets.password): ). It does so when stdin is a terminal; \
--ask makes it read the answers from stdin, a line each, even when it is not one (as nmcli's \
--ask); --no-ask never asks. An empty stdin or Ctrl-D refuses (the activation fails with \
no-secrets).

An OpenConnect gateway's login form is asked the same way, field by field as the gateway asks \
it: the form's message first, then the field's label naming the profile and the field \
(Password for VPN \"work\" (vpn.secrets.form:main:password): ), without echo for a password \
or a one-time code; a choice (a group) as a numbered list, answered by its number or its name.

Needs polkit's permission for net.netnsd.Netns1.activate-connection (by default granted to \
users of the active local session).",
        after_help = exit_status_help()
    )]
    Up {
        #[arg(value_name = "CONNECTION", help = CONNECTION_HELP, long_help = CONNECTION_LONG_HELP)]
        connection: String,
        /// Namespace to run the VPN client in, where its uplink is
        #[arg(long, value_name = "NS", default_value = ROOT_NS_NAME)]
        from: String,
        /// Seconds to wait for the VPN to come up; 0: do not wait
        #[arg(long, value_name = "SECONDS", default_value_t = 90)]
        timeout: u32,
        /// Be the secret agent even when stdin is not a terminal (answers read from stdin, a line each)
        #[arg(long, conflicts_with = "no_ask")]
        ask: bool,
        /// Never ask for secrets: a missing one fails the activation (no-secrets)
        #[arg(long)]
        no_ask: bool,
    },

    /// Bring a VPN down and wait until it is down
    #[command(
        long_about = "\
Deactivate the active connection of VPN profile CONNECTION (or the active connection at \
object path /net/netnsd/Netns1/ActiveConnection/N) and wait until it is deactivated: the VPN \
client is stopped, and its isolated namespace removed unless the profile keeps it \
(connection.netns-persistent). nsctl prints each state change, as \"nsctl vpn up\" does. \
Exit status 3 if the profile is not active; 8 if it is not down within --timeout seconds.

Needs polkit's permission for net.netnsd.Netns1.activate-connection.",
        after_help = exit_status_help()
    )]
    Down {
        #[arg(
            value_name = "CONNECTION",
            help = "Connection profile (id, uuid or object path), or an active connection's object path",
            long_help = CONNECTION_LONG_HELP
        )]
        connection: String,
        /// Seconds to wait for the VPN to be down; 0: do not wait
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timeout: u32,
    },

    /// List the active connections
    #[command(
        long_about = "\
List the active connections (running VPNs), oldest first.

Columns: NAME, the profile's id; TYPE; STATE, activating, activated, deactivating or \
deactivated (a connection that has ended is listed for a moment); VPN-STATE, as \
NetworkManager names it (prepare, connect, ip-config-get, activated, failed, disconnected); \
NAMESPACE, where the tunnel device is (for an isolated VPN, its namespace once the tunnel is \
there); UPLINK, where the VPN client runs; OBJECT, its Connection.Active object on the bus.

With --json, prints one JSON array of objects with the keys id, uuid, type, state, \
state_reason, vpn_state, namespace, uplink_namespace, banner, connection and object.",
        after_help = exit_status_help()
    )]
    Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_value("remote=a:1194"),
            Ok(KeyValue {
                key: "remote".into(),
                value: "a:1194".into()
            })
        );
        assert_eq!(parse_key_value("k=").unwrap().value, "");
        assert_eq!(parse_key_value("k=a=b").unwrap().value, "a=b");
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("k").is_err());
        assert_eq!(
            parse_secret("password=-"),
            Ok(SecretArg {
                key: "password".into(),
                value: None
            })
        );
        assert_eq!(
            parse_secret("password=--").unwrap().value.as_deref(),
            Some("--")
        );
        assert!(parse_key("a=b").is_err() && parse_key("").is_err());
    }

    const PK: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

    #[test]
    fn wireguard_peers() {
        let p = parse_wg_peer(&format!(
            "{PK} endpoint=203.0.113.1:51820 allowed-ips=0.0.0.0/0,::/0 persistent-keepalive=25"
        ))
        .unwrap();
        assert_eq!(p.public_key, PK);
        assert_eq!(p.endpoint.as_deref(), Some("203.0.113.1:51820"));
        assert_eq!(p.allowed_ips, ["0.0.0.0/0", "::/0"]);
        assert_eq!(p.persistent_keepalive, Some(25));
        assert_eq!(parse_wg_peer(PK).unwrap().endpoint, None);
        assert!(parse_wg_peer("").is_err());
        assert!(parse_wg_peer("short endpoint=a:1").is_err());
        assert!(parse_wg_peer(&format!("{PK} persistent-keepalive=x")).is_err());
        assert!(parse_wg_peer(&format!("{PK} mtu=1400")).is_err());
        let e = parse_wg_peer(&format!("{PK} preshared-key={PK}")).unwrap_err();
        assert!(e.contains("--secret preshared-key=-"), "{e}");
    }

    #[test]
    fn import_type_from_the_extension() {
        use std::path::Path;
        assert_eq!(
            ImportType::of_file(Path::new("/etc/wireguard/wg0.conf")),
            Some(ImportType::Wireguard)
        );
        assert_eq!(
            ImportType::of_file(Path::new("work.OVPN")),
            Some(ImportType::Openvpn)
        );
        assert_eq!(ImportType::of_file(Path::new("work.txt")), None);
        assert_eq!(ImportType::of_file(Path::new("work")), None);
    }

    #[test]
    fn netns_names_and_vpn_types() {
        assert_eq!(parse_netns_name("uuid").as_deref(), Ok("uuid"));
        assert_eq!(parse_netns_name("vpn1").as_deref(), Ok("vpn1"));
        assert!(parse_netns_name("a/b").is_err());
        assert!(parse_netns_name("").is_err());
        assert_eq!(
            vpn_service_type("openvpn"),
            "org.freedesktop.NetworkManager.openvpn"
        );
        assert_eq!(vpn_service_type("org.example.vpn"), "org.example.vpn");
        assert_eq!(
            vpn_type_name("org.freedesktop.NetworkManager.openconnect"),
            "openconnect"
        );
        assert_eq!(vpn_type_name("org.example.vpn"), "org.example.vpn");
    }
}
