//! `nsctl show NAME`

use zbus::Connection;

use crate::cmd::{check_name, controller, namespace_at};
use crate::error::CliError;
use crate::output;

pub async fn exec(conn: &Connection, name: &str, json: bool) -> Result<String, CliError> {
    check_name(name)?;
    let object = controller(conn)
        .await?
        .get_network_namespace_by_name(name)
        .await?;
    let ns = namespace_at(conn, object.as_str())
        .await?
        .ok_or_else(|| CliError::namespace_not_found(name))?;
    Ok(if json {
        output::show_json(&ns)
    } else {
        output::show_text(&ns)
    })
}
