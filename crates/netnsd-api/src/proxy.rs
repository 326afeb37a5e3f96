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
    #[zbus(allow_interactive_auth)]
    fn attach_network_namespace(&self, name: &str, pid: u32) -> Result<OwnedObjectPath, Error>;
    /// (created, removed, errors)
    #[zbus(allow_interactive_auth)]
    fn reload_namespaces(&self) -> Result<(Vec<String>, Vec<String>, Vec<String>), Error>;

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
    fn add_forward(&self, options: HashMap<&str, Variant<'_>>) -> Result<u32, Error>;
    #[zbus(allow_interactive_auth)]
    fn remove_forward(&self, id: u32) -> Result<(), Error>;
    fn get_forwards(&self) -> Result<Vec<HashMap<String, OwnedVariant>>, Error>;
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
    fn set_device_master(
        &self,
        device: &ObjectPath<'_>,
        master: &ObjectPath<'_>,
    ) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn set_device_hw_address(&self, device: &ObjectPath<'_>, address: &str) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn set_mss_clamping(&self, device: &ObjectPath<'_>, enabled: bool) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn add_tunnel(
        &self,
        name: &str,
        kind: &str,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn add_address_with_options(
        &self,
        device: &ObjectPath<'_>,
        address: &str,
        options: HashMap<&str, Variant<'_>>,
    ) -> Result<(), Error>;

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
    /// NMDeviceState (`netnsd_api::state::device`).
    #[zbus(property)]
    fn state(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn oper_state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn up(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn addresses(&self) -> zbus::Result<Vec<String>>;
    #[zbus(property)]
    fn network_namespace(&self) -> zbus::Result<OwnedObjectPath>;
}

/// A profile as it travels on the bus: setting name → key → value, as
/// NetworkManager's `a{sa{sv}}`.
pub type SettingsDict = HashMap<String, HashMap<String, OwnedVariant>>;

#[proxy(
    interface = "net.netnsd.Netns1.Settings",
    default_service = "net.netnsd.Netns1",
    default_path = "/net/netnsd/Netns1/Settings"
)]
pub trait Settings {
    fn list_connections(&self) -> Result<Vec<OwnedObjectPath>, Error>;
    #[zbus(allow_interactive_auth)]
    fn add_connection(
        &self,
        connection: HashMap<&str, HashMap<&str, Variant<'_>>>,
    ) -> Result<OwnedObjectPath, Error>;
    fn get_connection_by_uuid(&self, uuid: &str) -> Result<OwnedObjectPath, Error>;
    /// Imports another tool's configuration ("openvpn", "wireguard").
    #[zbus(allow_interactive_auth)]
    fn import_connection(
        &self,
        kind: &str,
        id: &str,
        contents: &str,
        base_dir: &str,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn reload_connections(&self) -> Result<bool, Error>;
    #[zbus(property)]
    fn connections(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
    #[zbus(signal)]
    fn new_connection(&self, connection: OwnedObjectPath) -> zbus::Result<()>;
    #[zbus(signal)]
    fn connection_removed(&self, connection: OwnedObjectPath) -> zbus::Result<()>;
}

#[proxy(
    interface = "net.netnsd.Netns1.Settings.Connection",
    default_service = "net.netnsd.Netns1"
)]
pub trait SettingsConnection {
    fn get_settings(&self) -> Result<SettingsDict, Error>;
    #[zbus(allow_interactive_auth)]
    fn get_secrets(&self, setting_name: &str) -> Result<SettingsDict, Error>;
    #[zbus(allow_interactive_auth)]
    fn update(&self, properties: HashMap<&str, HashMap<&str, Variant<'_>>>) -> Result<(), Error>;
    #[zbus(allow_interactive_auth)]
    fn delete(&self) -> Result<(), Error>;
    #[zbus(property)]
    fn filename(&self) -> zbus::Result<String>;
    #[zbus(signal)]
    fn updated(&self) -> zbus::Result<()>;
    #[zbus(signal)]
    fn removed(&self) -> zbus::Result<()>;
}

/// The activation methods and properties of NetNsInstance.
#[proxy(
    interface = "net.netnsd.Netns1.NetNsInstance",
    default_service = "net.netnsd.Netns1"
)]
pub trait NetNsConnections {
    #[zbus(allow_interactive_auth)]
    fn activate_connection(
        &self,
        connection: &ObjectPath<'_>,
        device: &ObjectPath<'_>,
        specific_object: &ObjectPath<'_>,
    ) -> Result<OwnedObjectPath, Error>;
    #[zbus(allow_interactive_auth)]
    fn deactivate_connection(&self, active_connection: &ObjectPath<'_>) -> Result<(), Error>;
    #[zbus(property)]
    fn active_connections(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
    #[zbus(property)]
    fn primary_connection(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(property)]
    fn primary_connection_type(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn activating_connection(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(property)]
    fn metered(&self) -> zbus::Result<u32>;
}

#[proxy(
    interface = "net.netnsd.Netns1.Connection.Active",
    default_service = "net.netnsd.Netns1"
)]
pub trait ActiveConnection {
    #[zbus(property)]
    fn connection(&self) -> zbus::Result<OwnedObjectPath>;
    #[zbus(property)]
    fn id(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn uuid(&self) -> zbus::Result<String>;
    #[zbus(property, name = "Type")]
    fn type_(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn state(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn state_reason(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn vpn(&self) -> zbus::Result<bool>;
    /// Where the connection's device lives (the isolated namespace for an
    /// isolated VPN).
    #[zbus(property)]
    fn network_namespace(&self) -> zbus::Result<OwnedObjectPath>;
    /// Where the VPN client runs (the uplink's namespace).
    #[zbus(property)]
    fn uplink_network_namespace(&self) -> zbus::Result<OwnedObjectPath>;
    /// `receive_state_changed_signal()`; `receive_state_changed()` is the
    /// property's own stream.
    #[zbus(signal, name = "StateChanged")]
    fn state_changed_signal(&self, state: u32, reason: u32) -> zbus::Result<()>;
}

#[proxy(
    interface = "net.netnsd.Netns1.VPN.Connection",
    default_service = "net.netnsd.Netns1"
)]
pub trait VpnConnection {
    #[zbus(property)]
    fn vpn_state(&self) -> zbus::Result<u32>;
    #[zbus(property)]
    fn banner(&self) -> zbus::Result<String>;
    #[zbus(signal, name = "VpnStateChanged")]
    fn vpn_state_changed_signal(&self, state: u32, reason: u32) -> zbus::Result<()>;
}
