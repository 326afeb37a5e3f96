//! `nsctl add NAME`

use zbus::Connection;
use zbus::proxy::MethodFlags;
use zbus::wire::OwnedObjectPath;

use crate::cmd::{check_name, controller};
use crate::error::{CliError, Kind};
use crate::output;

pub async fn exec(conn: &Connection, name: &str, json: bool) -> Result<String, CliError> {
    check_name(name)?;
    let ctl = controller(conn).await?;
    // Called through the untyped proxy to set ALLOW_INTERACTIVE_AUTH, so that
    // polkit may ask the user for a password through their agent.
    let object: OwnedObjectPath = ctl
        .inner()
        .call_with_flags(
            "AddNetworkNamespace",
            MethodFlags::ALLOW_INTERACTIVE_AUTH,
            &(name,),
        )
        .await?
        .ok_or_else(|| {
            CliError::new(Kind::Failed, "netnsd sent no reply to AddNetworkNamespace")
        })?;
    Ok(if json {
        output::add_json(object.as_str())
    } else {
        output::add_text(object.as_str())
    })
}
