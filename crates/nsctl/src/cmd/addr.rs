//! `nsctl addr add|del CIDR --dev DEV`

use zbus::Connection;

use crate::cli::{AddrArgs, AddrCommand};
use crate::cmd::{call_authorized, device_and_netns};
use crate::error::CliError;

pub async fn exec(conn: &Connection, command: AddrCommand) -> Result<String, CliError> {
    let (method, args): (&'static str, AddrArgs) = match command {
        AddrCommand::Add(a) => ("AddAddress", a),
        AddrCommand::Del(a) => ("RemoveAddress", a),
    };
    let (ns, device) = device_and_netns(conn, &args.netns.netns, &args.dev).await?;
    call_authorized::<_, ()>(ns.platform.inner(), method, &(&device, args.cidr.as_str())).await?;
    Ok(String::new())
}
