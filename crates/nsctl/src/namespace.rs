//! One namespace as nsctl shows it, read from a NetNsInstance object's properties.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use zbus::wire::OwnedVariant;

use crate::error::{CliError, Kind};

/// The NetNsInstance properties nsctl shows, plus the object path. The field
/// order is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Namespace {
    /// `Name s`: the name under /run/netns, or `rootns`.
    pub name: String,
    /// `Id t`: the namespace's inode number (as `ls -iL /run/netns/NAME`, `lsns`).
    pub id: u64,
    /// `Path s`: `/run/netns/NAME`.
    pub path: String,
    /// `Persistent b`: kept after the connection that made it goes down.
    pub persistent: bool,
    /// `Managed b`: made by netnsd (false for one made with `ip netns add`).
    pub managed: bool,
    /// `Uplink s`: `none`, `veth` or `macvlan`.
    pub uplink: String,
    /// `DnsServers as`: the name servers of its resolv.conf (empty: none).
    pub dns_servers: Vec<String>,
    /// `SplitDns a{sas}`: VPN domain → the VPN's servers, while a split DNS
    /// forwarder runs (left out of the JSON when empty).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub split_dns: BTreeMap<String, Vec<String>>,
    /// From `DhcpLease a{sv}`: the leased address and the server, for a
    /// macvlan uplink by DHCP (left out of the JSON when there is none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<DhcpLease>,
    /// The NetNsInstance object path.
    pub object: String,
}

impl Namespace {
    /// Builds a namespace from the reply of
    /// `org.freedesktop.DBus.Properties.GetAll("net.netnsd.Netns1.NetNsInstance")`.
    pub fn from_properties(
        object: &str,
        mut props: HashMap<String, OwnedVariant>,
    ) -> Result<Self, CliError> {
        Ok(Self {
            name: prop(&mut props, object, "Name", "s")?,
            id: prop(&mut props, object, "Id", "t")?,
            path: prop(&mut props, object, "Path", "s")?,
            persistent: prop(&mut props, object, "Persistent", "b")?,
            managed: prop(&mut props, object, "Managed", "b")?,
            uplink: prop(&mut props, object, "Uplink", "s")?,
            dns_servers: prop(&mut props, object, "DnsServers", "as")?,
            // Newer properties: an older daemon has none.
            split_dns: props
                .remove("SplitDns")
                .and_then(|v| HashMap::<String, Vec<String>>::try_from(v).ok())
                .map(|m| m.into_iter().collect())
                .unwrap_or_default(),
            dhcp: props
                .remove("DhcpLease")
                .and_then(|v| HashMap::<String, OwnedVariant>::try_from(v).ok())
                .and_then(DhcpLease::from_dict),
            object: object.to_owned(),
        })
    }

    /// Whether this is the root namespace (object 0).
    pub fn is_root(&self) -> bool {
        self.object == netnsd_api::namespace_path(0)
    }
}

/// What `nsctl show` says of a DHCP lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpLease {
    pub address: String,
    pub server: String,
}

impl DhcpLease {
    fn from_dict(mut d: HashMap<String, OwnedVariant>) -> Option<DhcpLease> {
        let mut s = |k: &str| d.remove(k).and_then(|v| String::try_from(v).ok());
        Some(DhcpLease {
            address: s("address")?,
            server: s("server").unwrap_or_default(),
        })
    }
}

/// Takes property `name` (D-Bus type `signature`) out of a GetAll reply.
pub(crate) fn prop<T: TryFrom<OwnedVariant>>(
    props: &mut HashMap<String, OwnedVariant>,
    object: &str,
    name: &str,
    signature: &str,
) -> Result<T, CliError> {
    let value = props.remove(name).ok_or_else(|| {
        CliError::new(
            Kind::Failed,
            format!("unexpected reply from netnsd: {object} has no property {name}"),
        )
    })?;
    T::try_from(value).map_err(|_| {
        CliError::new(
            Kind::Failed,
            format!("unexpected reply from netnsd: property {name} of {object} is not of type {signature}"),
        )
    })
}

/// The order of `nsctl list`: the root namespace first, then by name.
pub fn list_order(a: &Namespace, b: &Namespace) -> Ordering {
    b.is_root()
        .cmp(&a.is_root())
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.object.cmp(&b.object))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use zbus::wire::Variant;

    pub(crate) fn ns(name: &str, n: u32, id: u64, managed: bool) -> Namespace {
        Namespace {
            name: name.into(),
            id,
            path: if n == 0 {
                String::new()
            } else {
                format!("/run/netns/{name}")
            },
            persistent: false,
            managed,
            uplink: "none".into(),
            dns_servers: Vec::new(),
            split_dns: BTreeMap::new(),
            dhcp: None,
            object: netnsd_api::namespace_path(n),
        }
    }

    fn v(x: Variant<'static>) -> OwnedVariant {
        x.try_into_owned().unwrap()
    }

    fn props() -> HashMap<String, OwnedVariant> {
        HashMap::from([
            ("Name".to_owned(), v(Variant::from("vpn"))),
            ("Id".to_owned(), v(Variant::from(4026532281u64))),
            ("Path".to_owned(), v(Variant::from("/run/netns/vpn"))),
            ("Persistent".to_owned(), v(Variant::from(true))),
            ("Managed".to_owned(), v(Variant::from(true))),
            ("Uplink".to_owned(), v(Variant::from("veth"))),
            (
                "DnsServers".to_owned(),
                v(Variant::from(vec![
                    "192.0.2.53".to_owned(),
                    "2001:db8::53".to_owned(),
                ])),
            ),
            // Properties nsctl does not show are ignored.
            ("Metered".to_owned(), v(Variant::from(0u32))),
        ])
    }

    #[test]
    fn reads_the_instance_properties() {
        let ns =
            Namespace::from_properties("/net/netnsd/Netns1/NetworkNamespace/3", props()).unwrap();
        assert_eq!(
            ns,
            Namespace {
                name: "vpn".into(),
                id: 4026532281,
                path: "/run/netns/vpn".into(),
                persistent: true,
                managed: true,
                uplink: "veth".into(),
                dns_servers: vec!["192.0.2.53".into(), "2001:db8::53".into()],
                split_dns: BTreeMap::new(),
                dhcp: None,
                object: "/net/netnsd/Netns1/NetworkNamespace/3".into(),
            }
        );
        assert!(!ns.is_root());
        // The split DNS and the DHCP lease, where the daemon has them.
        let mut p = props();
        p.insert(
            "SplitDns".into(),
            v(Variant::from(HashMap::from([(
                "corp.test".to_owned(),
                vec!["10.99.0.53".to_owned()],
            )]))),
        );
        p.insert(
            "DhcpLease".into(),
            v(Variant::from(HashMap::from([
                ("address".to_owned(), Variant::from("192.168.1.50/24")),
                ("server".to_owned(), Variant::from("192.168.1.1")),
                ("lease-time".to_owned(), Variant::from(120u32)),
            ]))),
        );
        let ns = Namespace::from_properties("/o/3", p).unwrap();
        assert_eq!(ns.split_dns["corp.test"], ["10.99.0.53"]);
        assert_eq!(
            ns.dhcp,
            Some(DhcpLease {
                address: "192.168.1.50/24".into(),
                server: "192.168.1.1".into()
            })
        );
    }

    #[test]
    fn missing_or_mistyped_properties_are_reported() {
        let mut p = props();
        p.remove("Id");
        let e = Namespace::from_properties("/o/3", p).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: /o/3 has no property Id"
        );

        let mut p = props();
        p.insert("Id".into(), v(Variant::from(7u32)));
        let e = Namespace::from_properties("/o/3", p).unwrap_err();
        assert_eq!(
            e.message(),
            "unexpected reply from netnsd: property Id of /o/3 is not of type t"
        );
    }

    #[test]
    fn root_first_then_by_name() {
        let mut v = [
            ns("b", 2, 12, true),
            ns("a", 3, 13, false),
            ns("rootns", 0, 10, false),
            ns("0", 1, 11, true),
        ];
        v.sort_by(list_order);
        let names: Vec<_> = v.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["rootns", "0", "a", "b"]);
    }
}
