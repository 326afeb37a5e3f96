//! `nsctl addr add|del CIDR --dev DEV`

use zbus::Connection;
use zbus::wire::Variant;

use crate::cli::{AddrAddArgs, AddrArgs, AddrCommand};
use crate::cmd::{call_authorized, device_and_netns};
use crate::error::CliError;

pub async fn exec(conn: &Connection, command: AddrCommand) -> Result<String, CliError> {
    let (method, args): (&'static str, AddrArgs) = match command {
        AddrCommand::Add(AddrAddArgs {
            addr,
            peer: Some(peer),
        }) => {
            let (ns, device) = device_and_netns(conn, &addr.netns.netns, &addr.dev).await?;
            let mut options = crate::routing::Dict::new();
            options.insert("peer", Variant::from(peer));
            call_authorized::<_, ()>(
                ns.platform.inner(),
                "AddAddressWithOptions",
                &(&device, addr.cidr.as_str(), options),
            )
            .await?;
            return Ok(String::new());
        }
        AddrCommand::Add(a) => ("AddAddress", a.addr),
        AddrCommand::Del(a) => ("RemoveAddress", a),
    };
    let (ns, device) = device_and_netns(conn, &args.netns.netns, &args.dev).await?;
    call_authorized::<_, ()>(ns.platform.inner(), method, &(&device, args.cidr.as_str())).await?;
    Ok(String::new())
}
