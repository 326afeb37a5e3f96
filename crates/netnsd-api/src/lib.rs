//! What netnsd, nsctl and the tests agree on: bus names, object paths,
//! interface names, polkit action ids, error names, argument validation, the
//! client-side proxies, and the values that travel as `a{sv}` dictionaries
//! (routes, rules, link options) with the reader of those dictionaries.

pub mod actions;
pub mod cidr;
pub mod dict;
pub mod error;
pub mod forward;
pub mod link;
pub mod names;
pub mod proxy;
pub mod route;
pub mod rule;
pub mod state;
pub mod tunnel;
pub mod validate;

pub use cidr::{Cidr, Family};
#[cfg(test)]
mod fuzz;

pub use error::Error;
pub use route::{Route, RouteEntry, Scope};
pub use rule::{Rule, RuleEntry};

/// The daemon's well-known name on the system bus.
pub const BUS_NAME: &str = "net.netnsd.Netns1";

/// netnsd's private socket, D-Bus peer to peer for root only: the calls
/// `nsctl exec` makes, without the bus daemon in between (see the
/// daemon's `dbus/private.rs`).
pub const PRIVATE_SOCKET: &str = "/run/netnsd/private";
/// The private socket's own interface, at [`CONTROLLER_PATH`]:
/// `SpawnByName(s name, as argv, a{ss} env, s cwd, a{sh} fds, a{sv}
/// options) -> (o namespace, u pid)`, a namespace's lookup and its Spawn
/// in one call (one round trip fewer for `nsctl exec`). Not on the bus.
pub const PRIVATE_INTERFACE: &str = "net.netnsd.Netns1.Private";
/// Root of the object tree; org.freedesktop.DBus.ObjectManager lives here.
pub const ROOT_PATH: &str = "/net/netnsd/Netns1";
/// The NetworkNamespacesController object.
pub const CONTROLLER_PATH: &str = "/net/netnsd/Netns1/NetworkNamespacesController";
/// Namespaces are `NAMESPACE_PATH_PREFIX/N`; N=0 is the root namespace.
pub const NAMESPACE_PATH_PREFIX: &str = "/net/netnsd/Netns1/NetworkNamespace";

/// Devices are `DEVICE_PATH_PREFIX/N`.
pub const DEVICE_PATH_PREFIX: &str = "/net/netnsd/Netns1/Devices";

/// Connection profiles: the Settings object, and `SETTINGS_PATH/N` per profile.
pub const SETTINGS_PATH: &str = "/net/netnsd/Netns1/Settings";
/// Active connections are `ACTIVE_PATH_PREFIX/N`.
pub const ACTIVE_PATH_PREFIX: &str = "/net/netnsd/Netns1/ActiveConnection";

/// Interface names.
pub const CONTROLLER_INTERFACE: &str = "net.netnsd.Netns1.NetworkNamespacesController";
pub const INSTANCE_INTERFACE: &str = "net.netnsd.Netns1.NetNsInstance";
pub const DEVICE_INTERFACE: &str = "net.netnsd.Netns1.Device";
pub const SETTINGS_INTERFACE: &str = "net.netnsd.Netns1.Settings";
pub const CONNECTION_INTERFACE: &str = "net.netnsd.Netns1.Settings.Connection";
pub const ACTIVE_INTERFACE: &str = "net.netnsd.Netns1.Connection.Active";
pub const VPN_INTERFACE: &str = "net.netnsd.Netns1.VPN.Connection";

/// The secret agent manager (issue 14): agents register here.
pub const AGENT_MANAGER_PATH: &str = "/net/netnsd/Netns1/AgentManager";
pub const AGENT_MANAGER_INTERFACE: &str = "net.netnsd.Netns1.AgentManager";
/// Where a registered agent exports its SecretAgent interface (on its own
/// connection), as NetworkManager's agents do.
pub const SECRET_AGENT_PATH: &str = "/net/netnsd/Netns1/SecretAgent";
pub const SECRET_AGENT_INTERFACE: &str = "net.netnsd.Netns1.SecretAgent";
/// The errors an agent replies with: the user said no, or it has nothing.
pub const SECRET_AGENT_USER_CANCELED: &str = "net.netnsd.Netns1.SecretAgent.Error.UserCanceled";
pub const SECRET_AGENT_NO_SECRETS: &str = "net.netnsd.Netns1.SecretAgent.Error.NoSecrets";

/// Where profiles live on disk, as NetworkManager keyfiles.
pub const CONNECTIONS_DIR: &str = "/etc/netnsd/connections";

/// The name under which the daemon's own network namespace is listed.
pub const ROOT_NS_NAME: &str = "rootns";
/// Where iproute2 (and netnsd) bind-mount named namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";
/// Per-namespace configuration files (`ip netns exec` binds them over /etc).
pub const NETNS_ETC_DIR: &str = "/etc/netns";

/// The object path of namespace number `n`.
pub fn namespace_path(n: u32) -> String {
    format!("{NAMESPACE_PATH_PREFIX}/{n}")
}

/// The object path of device number `n`.
pub fn device_path(n: u32) -> String {
    format!("{DEVICE_PATH_PREFIX}/{n}")
}

/// The number N at the end of `prefix/N`, if `path` has that shape.
pub fn object_number(path: &str, prefix: &str) -> Option<u32> {
    let n = path.strip_prefix(prefix)?.strip_prefix('/')?;
    if n.is_empty() || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    n.parse().ok()
}

/// The object path of profile number `n`.
pub fn connection_path(n: u32) -> String {
    format!("{SETTINGS_PATH}/{n}")
}

/// The object path of active connection number `n`.
pub fn active_path(n: u32) -> String {
    format!("{ACTIVE_PATH_PREFIX}/{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_numbers() {
        assert_eq!(
            object_number("/net/netnsd/Netns1/Devices/12", DEVICE_PATH_PREFIX),
            Some(12)
        );
        assert_eq!(
            object_number("/net/netnsd/Netns1/Devices/0", DEVICE_PATH_PREFIX),
            Some(0)
        );
        for bad in [
            "/net/netnsd/Netns1/Devices",
            "/net/netnsd/Netns1/Devices/",
            "/net/netnsd/Netns1/Devices/01",
            "/net/netnsd/Netns1/Devices/x",
            "/net/netnsd/Netns1/NetworkNamespace/1",
        ] {
            assert_eq!(object_number(bad, DEVICE_PATH_PREFIX), None, "{bad}");
        }
    }
}
