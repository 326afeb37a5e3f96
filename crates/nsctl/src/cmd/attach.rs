//! `nsctl attach NAME PID`: names a running process's network namespace.

use zbus::Connection;
use zbus::wire::OwnedObjectPath;

use crate::cmd::{call_authorized, check_name, controller};
use crate::error::CliError;
use crate::output;

pub async fn exec(conn: &Connection, name: &str, pid: u32, json: bool) -> Result<String, CliError> {
    check_name(name)?;
    let ctl = controller(conn).await?;
    let object: OwnedObjectPath =
        call_authorized(ctl.inner(), "AttachNetworkNamespace", &(name, pid)).await?;
    Ok(if json {
        output::add_json(object.as_str())
    } else {
        output::add_text(object.as_str())
    })
}
