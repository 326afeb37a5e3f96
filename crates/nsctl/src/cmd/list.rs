//! `nsctl list`

use futures::stream::{self, StreamExt, TryStreamExt};
use zbus::Connection;

use crate::cmd::{controller, namespace_at};
use crate::error::CliError;
use crate::namespace::list_order;
use crate::output;

/// GetAll calls in flight at once: fast with many namespaces, and well
/// under the system bus's limit on pending replies per connection.
const PARALLEL_READS: usize = 16;

pub async fn exec(conn: &Connection, json: bool) -> Result<String, CliError> {
    let objects = controller(conn).await?.list_network_namespaces().await?;
    let mut namespaces: Vec<_> = stream::iter(objects)
        .map(|object| async move { namespace_at(conn, object.as_str()).await })
        .buffered(PARALLEL_READS)
        .try_filter_map(|ns| async move { Ok(ns) })
        .try_collect()
        .await?;
    namespaces.sort_by(list_order);
    Ok(if json {
        output::list_json(&namespaces)
    } else {
        output::list_table(&namespaces)
    })
}
