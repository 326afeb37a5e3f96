//! `nsctl add NAME`

use zbus::Connection;
use zbus::wire::OwnedObjectPath;

use crate::cmd::{call_authorized, check_name, controller};
use crate::error::CliError;
use crate::output;

pub async fn exec(conn: &Connection, name: &str, json: bool) -> Result<String, CliError> {
    check_name(name)?;
    let ctl = controller(conn).await?;
    let object: OwnedObjectPath =
        call_authorized(ctl.inner(), "AddNetworkNamespace", &(name,)).await?;
    Ok(if json {
        output::add_json(object.as_str())
    } else {
        output::add_text(object.as_str())
    })
}
