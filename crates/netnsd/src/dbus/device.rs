//! net.netnsd.Netns1.Device, one object per network device.

use std::borrow::Cow;
use std::collections::HashMap;

use zbus::interface;
use zbus::object_server::{Interface, SignalEmitter};
use zbus::wire::{OwnedObjectPath, Variant};

use crate::manager::{Device, DeviceProperty, DeviceTable, Shared};

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

    /// One PropertiesChanged with the current values of `props` (as
    /// NetworkManager and sd-bus send the properties of one change
    /// together, not a signal each).
    pub(super) async fn announce(
        &self,
        e: &SignalEmitter<'_>,
        props: &[DeviceProperty],
    ) -> zbus::Result<()> {
        let mut changed = HashMap::new();
        for p in props {
            let (name, v) = match p {
                DeviceProperty::Interface => ("Interface", Variant::from(self.interface())),
                DeviceProperty::Ifindex => ("Ifindex", Variant::from(self.ifindex())),
                DeviceProperty::Kind => ("Kind", Variant::from(self.kind())),
                DeviceProperty::HwAddress => ("HwAddress", Variant::from(self.hw_address())),
                DeviceProperty::Mtu => ("Mtu", Variant::from(self.mtu())),
                DeviceProperty::State => ("State", Variant::from(self.state())),
                DeviceProperty::OperState => ("OperState", Variant::from(self.oper_state())),
                DeviceProperty::Up => ("Up", Variant::from(self.up())),
                DeviceProperty::Addresses => ("Addresses", Variant::from(self.addresses())),
                DeviceProperty::NetworkNamespace => (
                    "NetworkNamespace",
                    Variant::from(self.network_namespace().into_inner()),
                ),
            };
            changed.insert(name, v);
        }
        if changed.is_empty() {
            return Ok(());
        }
        zbus::fdo::Properties::properties_changed(e, Self::name(), changed, Cow::Borrowed(&[]))
            .await
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

/// Device `d`'s properties, as Properties.GetAll gives them, written
/// straight into the root's GetManagedObjects reply (objects.rs; the test
/// managed_objects holds the two equal).
pub(super) fn write_properties(d: &Device, b: &mut super::objects::Body) {
    use super::objects::Path;
    b.prop_str("Interface", &d.link.name);
    b.prop_i32("Ifindex", d.link.ifindex as i32);
    b.prop_str("Kind", &d.link.kind);
    b.prop_str("HwAddress", &d.link.hw_address);
    b.prop_u32("Mtu", d.link.mtu);
    b.prop_u32("State", d.nm_state());
    b.prop_str("OperState", d.link.state.as_str());
    b.prop_bool("Up", d.link.up);
    b.prop_strs("Addresses", d.addresses.iter().map(String::as_str));
    b.prop_path(
        "NetworkNamespace",
        Path::Numbered(netnsd_api::NAMESPACE_PATH_PREFIX, d.ns),
    );
}
