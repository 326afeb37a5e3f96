//! What netnsd, nsctl and the tests agree on: bus names, object paths,
//! interface names, polkit action ids, error names, argument validation and
//! the client-side proxies.

pub mod actions;
pub mod error;
pub mod names;
pub mod proxy;
pub mod validate;

pub use error::Error;

/// The daemon's well-known name on the system bus.
pub const BUS_NAME: &str = "net.netnsd.Netns1";
/// Root of the object tree; org.freedesktop.DBus.ObjectManager lives here.
pub const ROOT_PATH: &str = "/net/netnsd/Netns1";
/// The NetworkNamespacesController object.
pub const CONTROLLER_PATH: &str = "/net/netnsd/Netns1/NetworkNamespacesController";
/// Namespaces are `NAMESPACE_PATH_PREFIX/N`; N=0 is the root namespace.
pub const NAMESPACE_PATH_PREFIX: &str = "/net/netnsd/Netns1/NetworkNamespace";

/// Interface names.
pub const CONTROLLER_INTERFACE: &str = "net.netnsd.Netns1.NetworkNamespacesController";
pub const INSTANCE_INTERFACE: &str = "net.netnsd.Netns1.NetNsInstance";

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
