//! One module per subcommand; each `exec()` talks to netnsd and returns the
//! text to print on stdout (`exec::exec`: the exit status).

pub mod add;
pub mod addr;
pub mod attach;
pub mod connection;
pub mod delete;
pub mod device;
pub mod dns;
pub mod exec;
pub mod exec_direct;
pub mod forward;
pub mod graph;
pub mod link;
pub mod list;
pub mod monitor;
pub mod reload;
pub mod route;
pub mod rule;
pub mod show;
pub mod uplink;
pub mod vpn;

use std::collections::HashMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use netnsd_api::proxy::{DeviceProxy, NetNsPlatformProxy, NetworkNamespacesControllerProxy};
use netnsd_api::{BUS_NAME, DEVICE_INTERFACE, Error as BusError, INSTANCE_INTERFACE, ROOT_PATH};
use zbus::proxy::{CacheProperties, MethodFlags};
use zbus::wire::{DynamicDeserialize, DynamicType, ObjectPath, OwnedObjectPath, OwnedVariant};
use zbus::{Connection, fdo};

use crate::active::ManagedObjects;
use crate::device::Device;
use crate::error::{CliError, Kind};
use crate::namespace::Namespace;

/// Bus calls in flight at once when reading many objects: fast with many
/// namespaces or devices, and well under the system bus's limit on pending
/// replies per connection.
pub const PARALLEL_READS: usize = 16;

/// Connects to the system bus (`$DBUS_SYSTEM_BUS_ADDRESS`, else the standard socket).
pub async fn connect() -> Result<Connection, CliError> {
    Connection::system().await.map_err(CliError::connect)
}

/// The controller object. Properties are not cached: nsctl makes one or two
/// calls and exits, so a cache would only add round trips.
pub async fn controller(
    conn: &Connection,
) -> Result<NetworkNamespacesControllerProxy<'static>, CliError> {
    Ok(NetworkNamespacesControllerProxy::builder(conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// Checks a name before any call, with the daemon's own words; the daemon
/// checks again and is the authority.
pub fn check_name(name: &str) -> Result<(), CliError> {
    netnsd_api::validate::netns_name(name).map_err(|m| CliError::new(Kind::InvalidArgument, m))
}

/// Calls `method` on `proxy` with ALLOW_INTERACTIVE_AUTH, so that polkit
/// may ask the user for a password through their agent. Every call that
/// changes something goes through here; the typed proxy methods cannot set
/// the flag.
pub async fn call_authorized<B, R>(
    proxy: &zbus::Proxy<'_>,
    method: &'static str,
    body: &B,
) -> Result<R, BusError>
where
    B: serde::Serialize + DynamicType,
    R: for<'d> DynamicDeserialize<'d>,
{
    proxy
        .call_with_flags(method, MethodFlags::ALLOW_INTERACTIVE_AUTH, body)
        .await?
        .ok_or_else(|| BusError::Failed(format!("netnsd sent no reply to {method}")))
}

/// Whether a bus error says the object is not (or no longer) there.
pub(crate) fn is_gone(e: &zbus::Error) -> bool {
    matches!(e, zbus::Error::FDO(e) if matches!(
        **e,
        fdo::Error::UnknownObject(_) | fdo::Error::UnknownInterface(_)
    ))
}

/// All properties of `interface` on `object`, in one GetAll call.
/// `Ok(None)` means the object went away meanwhile.
async fn get_all(
    conn: &Connection,
    object: &str,
    interface: &str,
) -> Result<Option<HashMap<String, OwnedVariant>>, CliError> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            object,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(interface,),
        )
        .await;
    match reply {
        Ok(reply) => Ok(Some(reply.body().deserialize()?)),
        Err(e) if is_gone(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads the NetNsInstance properties of `object` in one GetAll call.
/// `Ok(None)` means the object went away meanwhile (the namespace was
/// removed between listing it and reading it).
pub async fn namespace_at(conn: &Connection, object: &str) -> Result<Option<Namespace>, CliError> {
    match get_all(conn, object, INSTANCE_INTERFACE).await? {
        Some(props) => Namespace::from_properties(object, props).map(Some),
        None => Ok(None),
    }
}

/// Reads the Device properties of `object` in one GetAll call, the
/// namespace's name left empty. `Ok(None)`: the device went away meanwhile.
pub async fn device_at(conn: &Connection, object: &str) -> Result<Option<Device>, CliError> {
    match get_all(conn, object, DEVICE_INTERFACE).await? {
        Some(props) => Device::from_properties(object, props).map(Some),
        None => Ok(None),
    }
}

/// A namespace named on the command line, found on the bus.
#[derive(Clone)]
pub struct Netns {
    pub name: String,
    pub object: OwnedObjectPath,
    /// Its NetNsInstance object, for the platform methods.
    pub platform: NetNsPlatformProxy<'static>,
}

/// Finds namespace `name` (GetNetworkNamespaceByName).
pub async fn netns(conn: &Connection, name: &str) -> Result<Netns, CliError> {
    check_name(name)?;
    let object = controller(conn)
        .await?
        .get_network_namespace_by_name(name)
        .await?;
    Ok(Netns {
        name: name.to_owned(),
        platform: platform_at(conn, object.clone()).await?,
        object,
    })
}

/// The NetNsInstance object at `object`, as a proxy for the platform methods.
pub async fn platform_at(
    conn: &Connection,
    object: OwnedObjectPath,
) -> Result<NetNsPlatformProxy<'static>, CliError> {
    Ok(NetNsPlatformProxy::builder(conn)
        .path(object)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}

/// Every device of `ns`, loopback included, with its interface name
/// (GetAllDevices, then Device.Interface of each). Devices that vanish
/// meanwhile are left out.
pub async fn device_names(
    conn: &Connection,
    ns: &Netns,
) -> Result<Vec<(OwnedObjectPath, String)>, CliError> {
    let objects = ns.platform.get_all_devices().await?;
    stream::iter(objects)
        .map(|object| async move {
            let proxy = DeviceProxy::builder(conn)
                .path(object.clone())
                .cache_properties(CacheProperties::No)
                .build()
                .await?;
            match proxy.interface().await {
                Ok(name) => Ok(Some((object, name))),
                Err(e) if is_gone(&e) => Ok(None),
                Err(e) => Err(CliError::from(e)),
            }
        })
        .buffered(PARALLEL_READS)
        .try_filter_map(|d| async move { Ok(d) })
        .try_collect()
        .await
}

/// An object path given on the command line.
pub fn object_path(s: &str) -> Result<OwnedObjectPath, CliError> {
    ObjectPath::try_from(s)
        .map(OwnedObjectPath::from)
        .map_err(|_| {
            CliError::new(
                Kind::InvalidArgument,
                format!("{s:?} is not an object path"),
            )
        })
}

/// The Device object of `dev`: an object path (starting with `/`) as it
/// is, or an interface name looked up in `ns`.
pub async fn resolve_device(
    conn: &Connection,
    ns: &Netns,
    dev: &str,
) -> Result<OwnedObjectPath, CliError> {
    if dev.starts_with('/') {
        return object_path(dev);
    }
    find_device(device_names(conn, ns).await?, dev)
        .ok_or_else(|| CliError::device_not_found(dev, &ns.name))
}

/// The namespace a command about device `dev` works in, and the device's
/// object: for an interface name, namespace `ns_name` (--netns) and the
/// device of that name there; for an object path, the namespace the device
/// is in now, wherever that is (--netns does not matter).
pub async fn device_and_netns(
    conn: &Connection,
    ns_name: &str,
    dev: &str,
) -> Result<(Netns, OwnedObjectPath), CliError> {
    if !dev.starts_with('/') {
        let ns = netns(conn, ns_name).await?;
        let device = resolve_device(conn, &ns, dev).await?;
        return Ok((ns, device));
    }
    let device = object_path(dev)?;
    let ns_object = device_at(conn, device.as_str())
        .await?
        .ok_or_else(|| CliError::new(Kind::NotFound, format!("no device at {device}")))?
        .namespace_object;
    let ns = namespace_at(conn, &ns_object).await?.ok_or_else(|| {
        CliError::new(
            Kind::NotFound,
            format!("the namespace of device {device} ({ns_object}) is gone"),
        )
    })?;
    let object = object_path(&ns_object)?;
    Ok((
        Netns {
            name: ns.name,
            platform: platform_at(conn, object.clone()).await?,
            object,
        },
        device,
    ))
}

/// Every object netnsd has, with the properties of each of its interfaces,
/// in one call (org.freedesktop.DBus.ObjectManager.GetManagedObjects).
pub async fn managed_objects(conn: &Connection) -> Result<ManagedObjects, CliError> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            ROOT_PATH,
            Some("org.freedesktop.DBus.ObjectManager"),
            "GetManagedObjects",
            &(),
        )
        .await?;
    Ok(reply.body().deserialize()?)
}

/// The object of the device named `name` among `devices`.
fn find_device(devices: Vec<(OwnedObjectPath, String)>, name: &str) -> Option<OwnedObjectPath> {
    devices.into_iter().find(|(_, n)| n == name).map(|(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> OwnedObjectPath {
        object_path(s).unwrap()
    }

    #[test]
    fn devices_are_found_by_exact_name() {
        let devices = vec![
            (p("/net/netnsd/Netns1/Devices/1"), "lo".to_owned()),
            (p("/net/netnsd/Netns1/Devices/2"), "veth0".to_owned()),
        ];
        assert_eq!(
            find_device(devices.clone(), "veth0"),
            Some(p("/net/netnsd/Netns1/Devices/2"))
        );
        assert_eq!(find_device(devices.clone(), "veth"), None);
        assert_eq!(find_device(devices, "VETH0"), None);
    }

    #[test]
    fn object_paths_are_checked() {
        assert!(object_path("/net/netnsd/Netns1/Devices/2").is_ok());
        let e = object_path("/net//x").unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert_eq!(e.message(), "\"/net//x\" is not an object path");
    }
}
