//! `nsctl list`

use futures::stream::{self, StreamExt, TryStreamExt};
use zbus::Connection;

use crate::cmd::{PARALLEL_READS, controller, namespace_at};
use crate::error::CliError;
use crate::namespace::{Namespace, list_order};
use crate::output;

pub async fn exec(conn: &Connection, json: bool) -> Result<String, CliError> {
    let namespaces = namespaces(conn).await?;
    Ok(if json {
        output::list_json(&namespaces)
    } else {
        output::list_table(&namespaces)
    })
}

/// Every namespace, in the order of `nsctl list`.
pub async fn namespaces(conn: &Connection) -> Result<Vec<Namespace>, CliError> {
    let objects = controller(conn).await?.list_network_namespaces().await?;
    let mut namespaces: Vec<_> = stream::iter(objects)
        .map(|object| async move { namespace_at(conn, object.as_str()).await })
        .buffered(PARALLEL_READS)
        .try_filter_map(|ns| async move { Ok(ns) })
        .try_collect()
        .await?;
    namespaces.sort_by(list_order);
    Ok(namespaces)
}
