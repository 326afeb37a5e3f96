//! net.netnsd.Netns1.Device, one object per network device.

use zbus::interface;
use zbus::wire::OwnedObjectPath;

use crate::manager::{Device, DeviceTable, Shared};

pub struct DeviceObject {
    number: u32,
    devices: Shared<DeviceTable>,
}

impl DeviceObject {
    pub fn new(number: u32, devices: Shared<DeviceTable>) -> Self {
        DeviceObject { number, devices }
    }

    fn read<T: Default>(&self, f: impl FnOnce(&Device) -> T) -> T {
        self.devices
            .read()
            .device(self.number)
            .map(f)
            .unwrap_or_default()
    }
}

#[interface(name = "net.netnsd.Netns1.Device")]
impl DeviceObject {
    /// The interface name (as `ip link` shows it).
    #[zbus(property)]
    fn interface(&self) -> String {
        self.read(|d| d.link.name.clone())
    }

    /// The interface index in its current namespace; it may change on a move.
    #[zbus(property)]
    fn ifindex(&self) -> i32 {
        self.read(|d| d.link.ifindex as i32)
    }

    /// The link kind: veth, macvlan, bridge, tun, loopback, ethernet, ...
    #[zbus(property)]
    fn kind(&self) -> String {
        self.read(|d| d.link.kind.clone())
    }

    /// The hardware address, lowercase colon form; empty if it has none.
    #[zbus(property)]
    fn hw_address(&self) -> String {
        self.read(|d| d.link.hw_address.clone())
    }

    /// The MTU in bytes.
    #[zbus(property)]
    fn mtu(&self) -> u32 {
        self.read(|d| d.link.mtu)
    }

    /// NetworkManager's NMDeviceState, derived from the kernel's view.
    #[zbus(property)]
    fn state(&self) -> u32 {
        self.read(|d| d.nm_state())
    }

    /// The operational state: up, down, unknown, lowerlayerdown, dormant, ...
    #[zbus(property)]
    fn oper_state(&self) -> String {
        self.read(|d| d.link.state.clone())
    }

    /// Whether the device is administratively up (IFF_UP; `ip link set up`).
    #[zbus(property)]
    fn up(&self) -> bool {
        self.read(|d| d.link.up)
    }

    /// The IPv4 and IPv6 addresses, in CIDR form.
    #[zbus(property)]
    fn addresses(&self) -> Vec<String> {
        self.read(|d| d.addresses.iter().cloned().collect())
    }

    /// The namespace that holds the device.
    #[zbus(property)]
    fn network_namespace(&self) -> OwnedObjectPath {
        let ns = self.read(|d| d.ns);
        zbus::wire::ObjectPath::try_from(netnsd_api::namespace_path(ns))
            .expect("valid path")
            .into()
    }
}
