//! Active connections as nsctl shows them, read from the Connection.Active
//! (and VPN.Connection) objects among everything netnsd exports
//! (`GetManagedObjects`), with the names of their namespaces.

use std::collections::HashMap;

use netnsd_api::state::{active as st, reason, vpn as vs};
use netnsd_api::{
    ACTIVE_INTERFACE, ACTIVE_PATH_PREFIX, INSTANCE_INTERFACE, VPN_INTERFACE, object_number,
};
use serde::Serialize;
use zbus::wire::{OwnedObjectPath, OwnedVariant};

/// Every object netnsd has, with the properties of each of its interfaces,
/// as one call returns them (org.freedesktop.DBus.ObjectManager.GetManagedObjects).
pub type ManagedObjects = HashMap<OwnedObjectPath, HashMap<String, HashMap<String, OwnedVariant>>>;

/// One active connection as `nsctl vpn status` shows it. The field order
/// is the order of the JSON keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Active {
    /// The profile's id.
    pub id: String,
    pub uuid: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// activating, activated, deactivating, deactivated.
    pub state: String,
    /// Why it is in that state (NetworkManager's reason names).
    pub state_reason: String,
    /// prepare, connect, ip-config-get, activated, failed, disconnected;
    /// None for a connection that is not a VPN.
    pub vpn_state: Option<String>,
    /// The name of the namespace the connection's device is in.
    pub namespace: String,
    /// The name of the namespace the VPN client runs in.
    pub uplink_namespace: String,
    pub banner: String,
    /// The profile's Settings.Connection object.
    pub connection: String,
    /// The Connection.Active object.
    pub object: String,
    #[serde(skip)]
    pub number: u32,
    #[serde(skip)]
    pub state_code: u32,
    #[serde(skip)]
    pub vpn_state_code: u32,
    /// The NetNsInstance object of the uplink namespace.
    #[serde(skip)]
    pub uplink_object: String,
}

impl Active {
    pub fn is_deactivated(&self) -> bool {
        self.state_code >= st::DEACTIVATED
    }
}

fn get<T: TryFrom<OwnedVariant>>(props: &HashMap<String, OwnedVariant>, name: &str) -> Option<T> {
    T::try_from(props.get(name)?.try_clone().ok()?).ok()
}

/// The active connections among `objects`, oldest first, with the names of
/// their namespaces.
pub fn actives_of(objects: &ManagedObjects) -> Vec<Active> {
    let names: HashMap<&str, String> = objects
        .iter()
        .filter_map(|(path, ifaces)| {
            let name = get::<String>(ifaces.get(INSTANCE_INTERFACE)?, "Name")?;
            Some((path.as_str(), name))
        })
        .collect();
    let ns_name = |o: &Option<OwnedObjectPath>| {
        o.as_ref()
            .and_then(|p| names.get(p.as_str()).cloned())
            .unwrap_or_default()
    };
    let mut actives: Vec<Active> = objects
        .iter()
        .filter_map(|(path, ifaces)| {
            let a = ifaces.get(ACTIVE_INTERFACE)?;
            let vpn = ifaces.get(VPN_INTERFACE);
            let state_code = get::<u32>(a, "State").unwrap_or(st::UNKNOWN);
            let vpn_state_code = vpn.and_then(|v| get::<u32>(v, "VpnState"));
            let ns: Option<OwnedObjectPath> = get(a, "NetworkNamespace");
            // UplinkNetworkNamespace is newer than NetworkNamespace.
            let uplink: Option<OwnedObjectPath> = get(a, "UplinkNetworkNamespace").or(ns.clone());
            Some(Active {
                id: get(a, "Id").unwrap_or_default(),
                uuid: get(a, "Uuid").unwrap_or_default(),
                kind: get(a, "Type").unwrap_or_default(),
                state: st::name(state_code).to_owned(),
                state_reason: reason::name(get(a, "StateReason").unwrap_or(reason::UNKNOWN))
                    .to_owned(),
                vpn_state: vpn.map(|_| vs::name(vpn_state_code.unwrap_or(vs::UNKNOWN)).to_owned()),
                namespace: ns_name(&ns),
                uplink_namespace: ns_name(&uplink),
                banner: vpn.and_then(|v| get(v, "Banner")).unwrap_or_default(),
                connection: get::<OwnedObjectPath>(a, "Connection")
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
                object: path.as_str().to_owned(),
                number: object_number(path.as_str(), ACTIVE_PATH_PREFIX).unwrap_or(u32::MAX),
                state_code,
                vpn_state_code: vpn_state_code.unwrap_or(vs::UNKNOWN),
                uplink_object: uplink.map(|p| p.as_str().to_owned()).unwrap_or_default(),
            })
        })
        .collect();
    actives.sort_by_key(|a| a.number);
    actives
}

/// The active connection of profile `object` that is not deactivated, the
/// newest if there are several.
pub fn current_active<'a>(actives: &'a [Active], object: &str) -> Option<&'a Active> {
    actives
        .iter()
        .filter(|a| a.connection == object && !a.is_deactivated())
        .max_by_key(|a| a.number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::wire::Variant;

    fn v(x: Variant<'_>) -> OwnedVariant {
        x.try_into_owned().unwrap()
    }

    fn p(s: &str) -> OwnedObjectPath {
        OwnedObjectPath::try_from(s).unwrap()
    }

    fn objects() -> ManagedObjects {
        let ns = |name: &str| {
            HashMap::from([(
                INSTANCE_INTERFACE.to_owned(),
                HashMap::from([("Name".to_owned(), v(Variant::from(name)))]),
            )])
        };
        let active = |n: u32, state: u32, uplink: bool| {
            let mut a = HashMap::from([
                ("Id".to_owned(), v(Variant::from("office"))),
                ("Uuid".to_owned(), v(Variant::from("u-1"))),
                ("Type".to_owned(), v(Variant::from("vpn"))),
                ("State".to_owned(), v(Variant::from(state))),
                ("StateReason".to_owned(), v(Variant::from(reason::NONE))),
                (
                    "Connection".to_owned(),
                    v(Variant::from(p("/net/netnsd/Netns1/Settings/0"))),
                ),
                (
                    "NetworkNamespace".to_owned(),
                    v(Variant::from(p("/net/netnsd/Netns1/NetworkNamespace/2"))),
                ),
            ]);
            if uplink {
                a.insert(
                    "UplinkNetworkNamespace".to_owned(),
                    v(Variant::from(p("/net/netnsd/Netns1/NetworkNamespace/0"))),
                );
            }
            let vpn = HashMap::from([
                ("VpnState".to_owned(), v(Variant::from(vs::ACTIVATED))),
                ("Banner".to_owned(), v(Variant::from("hello"))),
            ]);
            (
                p(&format!("{ACTIVE_PATH_PREFIX}/{n}")),
                HashMap::from([
                    (ACTIVE_INTERFACE.to_owned(), a),
                    (VPN_INTERFACE.to_owned(), vpn),
                ]),
            )
        };
        HashMap::from([
            (p("/net/netnsd/Netns1/NetworkNamespace/0"), ns("rootns")),
            (p("/net/netnsd/Netns1/NetworkNamespace/2"), ns("vpn1")),
            active(10, st::ACTIVATED, true),
            active(9, st::DEACTIVATED, false),
        ])
    }

    #[test]
    fn actives_are_read_from_the_managed_objects() {
        let actives = actives_of(&objects());
        assert_eq!(actives.len(), 2);
        let (old, new) = (&actives[0], &actives[1]);
        assert_eq!((old.number, new.number), (9, 10));
        assert_eq!(new.state, "activated");
        assert_eq!(new.vpn_state.as_deref(), Some("activated"));
        assert_eq!(
            (new.namespace.as_str(), new.uplink_namespace.as_str()),
            ("vpn1", "rootns")
        );
        assert_eq!(new.uplink_object, "/net/netnsd/Netns1/NetworkNamespace/0");
        assert_eq!(new.banner, "hello");
        // Without UplinkNetworkNamespace, the device's namespace stands in.
        assert_eq!(old.uplink_namespace, "vpn1");
        assert!(old.is_deactivated() && !new.is_deactivated());
        let cur = current_active(&actives, "/net/netnsd/Netns1/Settings/0").unwrap();
        assert_eq!(cur.number, 10);
        assert!(current_active(&actives, "/net/netnsd/Netns1/Settings/1").is_none());
    }
}
