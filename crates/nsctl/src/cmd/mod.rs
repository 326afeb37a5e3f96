//! One module per subcommand; each `exec()` talks to netnsd and returns the
//! text to print on stdout.

pub mod add;
pub mod delete;
pub mod list;
pub mod show;

use std::collections::HashMap;

use netnsd_api::proxy::NetworkNamespacesControllerProxy;
use netnsd_api::{BUS_NAME, INSTANCE_INTERFACE};
use zbus::proxy::CacheProperties;
use zbus::wire::OwnedVariant;
use zbus::{Connection, fdo};

use crate::error::{CliError, Kind};
use crate::namespace::Namespace;

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

/// Reads the NetNsInstance properties of `object` in one GetAll call.
/// `Ok(None)` means the object went away meanwhile (the namespace was
/// removed between listing it and reading it).
pub async fn namespace_at(conn: &Connection, object: &str) -> Result<Option<Namespace>, CliError> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            object,
            Some("org.freedesktop.DBus.Properties"),
            "GetAll",
            &(INSTANCE_INTERFACE,),
        )
        .await;
    let reply = match reply {
        Ok(reply) => reply,
        Err(zbus::Error::FDO(e))
            if matches!(
                *e,
                fdo::Error::UnknownObject(_) | fdo::Error::UnknownInterface(_)
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let props: HashMap<String, OwnedVariant> = reply.body().deserialize()?;
    Namespace::from_properties(object, props).map(Some)
}
