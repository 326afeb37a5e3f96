//! `nsctl device list [NS]`, `nsctl device show DEV`, `nsctl device take DEV --to NS`

use std::collections::{HashMap, HashSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use netnsd_api::Error as BusError;
use zbus::Connection;
use zbus::wire::OwnedObjectPath;

use crate::cli::DeviceCommand;
use crate::cmd::{
    PARALLEL_READS, call_authorized, device_at, is_gone, list, namespace_at, netns, object_path,
    platform_at, resolve_device,
};
use crate::device::{self, Device};
use crate::error::{CliError, Kind};
use crate::output;

pub async fn exec(
    conn: &Connection,
    command: DeviceCommand,
    json: bool,
) -> Result<String, CliError> {
    match command {
        DeviceCommand::List { netns, all } => {
            let devices = list_devices(conn, netns.as_deref(), all).await?;
            Ok(if json {
                output::device_list_json(&devices)
            } else {
                output::device_table(&devices)
            })
        }
        DeviceCommand::Show { dev, netns } => {
            let d = show(conn, &dev, &netns.netns).await?;
            Ok(if json {
                output::device_show_json(&d)
            } else {
                output::device_show_text(&d)
            })
        }
        DeviceCommand::Take {
            dev,
            to,
            from,
            timeout,
        } => {
            let target = netns(conn, &to).await?;
            let object = if dev.starts_with('/') {
                object_path(&dev)?
            } else {
                resolve_device(conn, &netns(conn, &from).await?, &dev).await?
            };
            call_authorized::<_, ()>(target.platform.inner(), "TakeDevice", &(&object, timeout))
                .await?;
            Ok(String::new())
        }
    }
}

/// The devices of namespace `name`, or of every namespace: namespaces in
/// the order of `nsctl list`, devices by ifindex within each.
async fn list_devices(
    conn: &Connection,
    name: Option<&str>,
    all: bool,
) -> Result<Vec<Device>, CliError> {
    let namespaces: Vec<(String, OwnedObjectPath)> = match name {
        Some(name) => {
            let ns = netns(conn, name).await?;
            vec![(ns.name, ns.object)]
        }
        None => list::namespaces(conn)
            .await?
            .into_iter()
            .map(|ns| Ok((ns.name, object_path(&ns.object)?)))
            .collect::<Result<_, CliError>>()?,
    };
    let one = name.is_some();

    // First every namespace's device objects, then every device's properties.
    let per_ns: Vec<Vec<OwnedObjectPath>> = stream::iter(&namespaces)
        .map(|(_, object)| async move {
            let platform = platform_at(conn, object.clone()).await?;
            let devices = if all {
                platform.get_all_devices().await
            } else {
                platform.get_devices().await
            };
            match devices {
                Ok(d) => Ok(d),
                // A namespace removed since it was listed has no devices.
                Err(BusError::ZBus(e)) if !one && is_gone(&e) => Ok(Vec::new()),
                Err(e) => Err(CliError::from(e)),
            }
        })
        .buffered(PARALLEL_READS)
        .try_collect()
        .await?;

    let names: HashMap<&str, &str> = namespaces
        .iter()
        .map(|(name, object)| (object.as_str(), name.as_str()))
        .collect();
    let mut seen = HashSet::new();
    let mut devices = Vec::new();
    for ((ns_name, _), objects) in namespaces.iter().zip(per_ns) {
        let mut here: Vec<Device> = stream::iter(objects)
            .map(|object| async move { device_at(conn, object.as_str()).await })
            .buffered(PARALLEL_READS)
            .try_filter_map(|d| async move { Ok(d) })
            .try_collect()
            .await?;
        for d in &mut here {
            // The device's own idea of its namespace wins (it may have moved).
            d.namespace = names
                .get(d.namespace_object.as_str())
                .copied()
                .unwrap_or(ns_name)
                .to_owned();
        }
        here.sort_by(device::list_order);
        // A device that moved while we listed is shown once.
        devices.extend(here.into_iter().filter(|d| seen.insert(d.object.clone())));
    }
    Ok(devices)
}

/// The device DEV (a name in namespace `ns`, or an object path).
async fn show(conn: &Connection, dev: &str, ns: &str) -> Result<Device, CliError> {
    let object = if dev.starts_with('/') {
        object_path(dev)?
    } else {
        resolve_device(conn, &netns(conn, ns).await?, dev).await?
    };
    let mut d = device_at(conn, object.as_str())
        .await?
        .ok_or_else(|| CliError::new(Kind::NotFound, format!("no device at {object}")))?;
    d.namespace = namespace_at(conn, &d.namespace_object)
        .await?
        .map(|ns| ns.name)
        .unwrap_or_default();
    Ok(d)
}
