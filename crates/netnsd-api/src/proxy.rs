//! Client-side proxies for netnsd's interfaces.

use std::collections::HashMap;

use zbus::proxy;
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant, Variant};

use crate::Error;

#[proxy(
    interface = "net.netnsd.Netns1.NetworkNamespacesController",
    default_service = "net.netnsd.Netns1",
    default_path = "/net/netnsd/Netns1/NetworkNamespacesController"
)]
pub trait NetworkNamespacesController {
    fn list_network_namespaces(&self) -> Result<Vec<OwnedObjectPath>, Error>;
    #[zbus(allow_interactive_auth)]
    fn add_network_namespace(&self, name: &str) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn add_network_namespace_with_options(
        &self,
        name: &str,
        options: HashMap<String, OwnedVariant>,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn remove_network_namespace(&self, name: &str) -> Result<String, Error>;
    fn get_network_namespace_by_name(&self, name: &str) -> Result<OwnedObjectPath, Error>;

    #[zbus(property)]
    fn network_namespaces(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    #[zbus(signal)]
    fn network_namespace_added(&self, path: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    fn network_namespace_removed(&self, path: OwnedObjectPath) -> zbus::Result<()>;
}

#[proxy(
    interface = "net.netnsd.Netns1.NetNsInstance",
    default_service = "net.netnsd.Netns1"
)]
pub trait NetNsInstance {
    #[zbus(property)]
    fn name(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn id(&self) -> zbus::Result<u64>;
    #[zbus(property)]
    fn path(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn persistent(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn managed(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn uplink(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn dns_servers(&self) -> zbus::Result<Vec<String>>;

    #[zbus(allow_interactive_auth)]
    fn set_uplink(&self, options: HashMap<&str, Variant<'_>>) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn clear_uplink(&self) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn set_dns(&self, servers: &[&str], search: &[&str]) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn clear_dns(&self) -> Result<(), Error>;

    #[zbus(allow_interactive_auth)]
    fn spawn(
        &self,
        argv: &[&str],
        env: HashMap<&str, &str>,
        cwd: &str,
        fds: HashMap<&str, zbus::wire::Fd<'_>>,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<u32, Error>;

    #[zbus(signal)]
    fn process_exited(&self, pid: u32, status: i32) -> zbus::Result<()>;
}

/// The namespace-level configuration methods of NetNsInstance (issue 3):
/// devices, links, addresses, routes and rules.
#[proxy(
    interface = "net.netnsd.Netns1.NetNsInstance",
    default_service = "net.netnsd.Netns1"
)]
pub trait NetNsPlatform {
    fn get_devices(&self) -> Result<Vec<OwnedObjectPath>, Error>;
    fn get_all_devices(&self) -> Result<Vec<OwnedObjectPath>, Error>;
    #[zbus(property)]
    fn devices(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
    #[zbus(property)]
    fn all_devices(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    fn get_device_by_name(&self, name: &str) -> Result<OwnedObjectPath, Error>;

    #[zbus(allow_interactive_auth)]
    fn take_device(&self, device: &ObjectPath<'_>, timeout_ms: i32) -> Result<(), Error>;

    #[zbus(allow_interactive_auth)]
    fn add_veth(
        &self,
        name: &str,
        peer_name: &str,
        peer_namespace: &ObjectPath<'_>,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<(OwnedObjectPath, OwnedObjectPath), Error>;
    #[zbus(allow_interactive_auth)]
    fn add_macvlan(
        &self,
        name: &str,
        parent: &ObjectPath<'_>,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn add_bridge(
        &self,
        name: &str,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn add_vlan(
        &self,
        name: &str,
        parent: &ObjectPath<'_>,
        vlan_id: u16,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn delete_device(&self, device: &ObjectPath<'_>) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn set_device_up(&self, device: &ObjectPath<'_>, up: bool) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn set_device_mtu(&self, device: &ObjectPath<'_>, mtu: u32) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn rename_device(&self, device: &ObjectPath<'_>, new_name: &str) -> Result<(), Error>;

    #[zbus(allow_interactive_auth)]
    fn add_address(&self, device: &ObjectPath<'_>, address: &str) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn remove_address(&self, device: &ObjectPath<'_>, address: &str) -> Result<(), Error>;

    #[zbus(allow_interactive_auth)]
    fn add_route(&self, route: HashMap<&str, Variant<'_>>) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn remove_route(&self, route: HashMap<&str, Variant<'_>>) -> Result<(), Error>;
    fn get_routes(&self) -> Result<Vec<HashMap<String, OwnedVariant>>, Error>;

    #[zbus(allow_interactive_auth)]
    fn add_rule(&self, rule: HashMap<&str, Variant<'_>>) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn remove_rule(&self, rule: HashMap<&str, Variant<'_>>) -> Result<(), Error>;
    fn get_rules(&self) -> Result<Vec<HashMap<String, OwnedVariant>>, Error>;

    #[zbus(signal)]
    fn netns_device_added(&self, device: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    fn netns_device_removed(&self, device: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    fn netns_internal_device_added(&self, device: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    fn netns_internal_device_removed(&self, device: OwnedObjectPath) -> zbus::Result<()>;
}

#[proxy(
    interface = "net.netnsd.Netns1.Device",
    default_service = "net.netnsd.Netns1"
)]
pub trait Device {
    #[zbus(property)]
    fn interface(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn ifindex(&self) -> zbus::Result<i32>;
    #[zbus(property)]
    fn kind(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn hw_address(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn mtu(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn up(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn addresses(&self) -> zbus::Result<Vec<String>>;
    #[zbus(property)]
    fn network_namespace(&self) -> zbus::Result<OwnedObjectPath>;
}
