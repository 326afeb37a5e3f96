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

const SECRET_LONG_HELP: &str = "\
A secret of the VPN (a vpn.secrets item, such as password or cert-pass for OpenVPN); repeat \
for more. Secrets are stored root-only and are not shown by \"nsctl connection show\" without \
--secrets. To keep a secret off the command line (where other users can see it in ps and it \
lands in shell history), give KEY=- and nsctl reads the value from stdin: one line per KEY=-, \
in the order given, asking for it without echo when stdin is a terminal. A secret that is \
literally \"-\" must come that way too.";

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

#[derive(Debug, Clone, Args)]
pub struct ConnectionAddArgs {
    /// The profile's name (connection.id)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Connection type; netnsd runs VPNs
    #[arg(long = "type", value_name = "TYPE", default_value = "vpn", value_parser = ["vpn"])]
    pub kind: String,
    /// VPN plugin: openvpn, or a full vpn.service-type
    #[arg(long, value_name = "TYPE", default_value = "openvpn")]
    pub vpn_type: String,
    #[command(flatten)]
    pub netns: NetnsKeysOpts,
    /// A vpn.data item, such as remote=vpn.example.org:1194, ca=/path/ca.crt; repeat for more
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub data: Vec<KeyValue>,
    /// A vpn.secrets item (KEY=- reads it from stdin); repeat for more
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_secret, long_help = SECRET_LONG_HELP)]
    pub secret: Vec<SecretArg>,
}

#[derive(Debug, Clone, Args)]
pub struct ConnectionImportArgs {
    /// The OpenVPN client configuration to import
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
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

    /// Add a VPN connection profile
    #[command(
        long_about = "\
Add a VPN connection profile named ID and print its object path (with --json, {\"object\": \
PATH, \"uuid\": UUID}). netnsd stores it as a NetworkManager keyfile in \
/etc/netnsd/connections (root-only) and gives it a uuid. The VPN's configuration goes in \
vpn.data items (--data KEY=VALUE, with the keys of NetworkManager's plugin: for OpenVPN \
remote, connection-type, ca, cert, key, ta, ta-dir, proto-tcp, port, cipher, ...), its \
passwords in vpn.secrets items (--secret).

Namespace keys of the connection setting: --isolate puts the VPN's tunnel device into a \
namespace of its own, named by --netns-name: \"uuid\" (the default) for the profile's uuid, \
\"name\" for its id, anything else as it is; the namespace is made when the VPN comes up and \
removed when it goes down, unless --persistent. --timeout is how long netnsd waits for the \
tunnel to appear there (2000 ms by default). Options not given are left to netnsd's defaults.

Needs polkit's permission for net.netnsd.Netns1.modify-settings.",
        after_help = exit_status_help()
    )]
    Add(ConnectionAddArgs),

    /// Import an OpenVPN configuration file as a connection profile
    #[command(
        long_about = "\
Import FILE, a plain OpenVPN client configuration (.ovpn or .conf), as a new VPN profile, as \
NetworkManager's OpenVPN importer does, and print its object path (with --json, {\"object\": \
PATH, \"uuid\": UUID}). nsctl reads the file and sends it to netnsd; files it names by a \
relative path (ca ca.crt) are taken from FILE's directory. Inline blocks (<ca>, <cert>, \
<key>, <tls-auth>, <tls-crypt>) are stored by netnsd in files of their own, root-only, next to \
the profile. The profile is named --id, by default after FILE without its extension.

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

If it is not up within --timeout seconds, nsctl stops waiting and exits with status 8; the \
activation goes on (\"nsctl vpn down\" stops it). With --timeout 0, nsctl prints the active \
connection's object path and does not wait. Interrupting nsctl does not stop the activation \
either.

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
