//! One device as nsctl shows it, read from a Device object's properties.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Serialize;
use zbus::wire::{OwnedObjectPath, OwnedVariant};

use crate::error::CliError;
use crate::namespace::prop;

/// The Device properties nsctl shows, with the name of the namespace that
/// holds it. The field order is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// The `Name` of the namespace at `namespace_object`.
    pub namespace: String,
    /// `Interface s`.
    pub name: String,
    /// `Ifindex i`: the interface index in its namespace.
    pub ifindex: i32,
    /// `Kind s`: veth, macvlan, bridge, tun, loopback, ethernet, ...
    pub kind: String,
    /// `State u` by name: NetworkManager's NMDeviceState as nmcli names
    /// it (connected, disconnected, unavailable, unmanaged, ...).
    pub state: String,
    /// `OperState s`: the kernel's operational state, up, down,
    /// lowerlayerdown, ...
    pub oper_state: String,
    /// `Mtu u`.
    pub mtu: u32,
    /// `HwAddress s`: empty if it has none.
    pub mac: String,
    /// `Addresses as`: CIDR.
    pub addresses: Vec<String>,
    /// The Device object path.
    pub object: String,
    /// `NetworkNamespace o`.
    pub namespace_object: String,
    /// `State u`: the NMDeviceState number.
    pub state_code: u32,
}

impl Device {
    /// Builds a device from the reply of
    /// `org.freedesktop.DBus.Properties.GetAll("net.netnsd.Netns1.Device")`.
    /// `namespace` is left empty: the caller knows the names.
    pub fn from_properties(
        object: &str,
        mut props: HashMap<String, OwnedVariant>,
    ) -> Result<Self, CliError> {
        let ns: OwnedObjectPath = prop(&mut props, object, "NetworkNamespace", "o")?;
        let state_code: u32 = prop(&mut props, object, "State", "u")?;
        Ok(Self {
            namespace: String::new(),
            name: prop(&mut props, object, "Interface", "s")?,
            ifindex: prop(&mut props, object, "Ifindex", "i")?,
            kind: prop(&mut props, object, "Kind", "s")?,
            state: netnsd_api::state::device::name(state_code).to_owned(),
            oper_state: prop(&mut props, object, "OperState", "s")?,
            mtu: prop(&mut props, object, "Mtu", "u")?,
            mac: prop(&mut props, object, "HwAddress", "s")?,
            addresses: prop(&mut props, object, "Addresses", "as")?,
            object: object.to_owned(),
            namespace_object: ns.as_str().to_owned(),
            state_code,
        })
    }
}

/// The order of `nsctl device list` within a namespace: by interface index.
pub fn list_order(a: &Device, b: &Device) -> Ordering {
    a.ifindex
        .cmp(&b.ifindex)
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.object.cmp(&b.object))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use zbus::wire::{ObjectPath, Variant};

    pub(crate) fn dev(ns: &str, name: &str, ifindex: i32, addresses: &[&str]) -> Device {
        Device {
            namespace: ns.into(),
            name: name.into(),
            ifindex,
            kind: "veth".into(),
            state: "connected".into(),
            oper_state: "up".into(),
            mtu: 1500,
            mac: "02:00:00:00:00:01".into(),
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            object: format!("/net/netnsd/Netns1/Devices/{ifindex}"),
            namespace_object: "/net/netnsd/Netns1/NetworkNamespace/1".into(),
            state_code: 100,
        }
    }

    fn v(x: Variant<'static>) -> OwnedVariant {
        x.try_into_owned().unwrap()
    }

    fn props() -> HashMap<String, OwnedVariant> {
        HashMap::from([
            ("Interface".to_owned(), v(Variant::from("veth0"))),
            ("Ifindex".to_owned(), v(Variant::from(4i32))),
            ("Kind".to_owned(), v(Variant::from("veth"))),
            (
                "HwAddress".to_owned(),
                v(Variant::from("02:00:00:00:00:01")),
            ),
            ("Mtu".to_owned(), v(Variant::from(1500u32))),
            ("State".to_owned(), v(Variant::from(100u32))),
            ("OperState".to_owned(), v(Variant::from("up"))),
            (
                "Addresses".to_owned(),
                v(Variant::from(vec!["10.0.0.1/24".to_owned()])),
            ),
            (
                "NetworkNamespace".to_owned(),
                v(Variant::from(
                    ObjectPath::try_from("/net/netnsd/Netns1/NetworkNamespace/1").unwrap(),
                )),
            ),
        ])
    }

    #[test]
    fn reads_the_device_properties() {
        let d = Device::from_properties("/net/netnsd/Netns1/Devices/4", props()).unwrap();
        let mut expected = dev("", "veth0", 4, &["10.0.0.1/24"]);
        expected.namespace = String::new();
        assert_eq!(d, expected);
    }

    #[test]
    fn missing_or_mistyped_properties_are_reported() {
        let mut p = props();
        p.remove("Mtu");
        let e = Device::from_properties("/d/4", p).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: /d/4 has no property Mtu"
        );
        let mut p = props();
        p.insert("Ifindex".into(), v(Variant::from(4u32)));
        let e = Device::from_properties("/d/4", p).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: property Ifindex of /d/4 is not of type i"
        );
    }

    #[test]
    fn ordered_by_ifindex() {
        let mut v = [dev("a", "x", 3, &[]), dev("a", "lo", 1, &[])];
        v.sort_by(list_order);
        assert_eq!(v[0].name, "lo");
    }
}
