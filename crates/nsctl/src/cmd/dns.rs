//! `nsctl dns set NS --server IP... [--search DOMAIN...]`, `nsctl dns clear NS`

use zbus::Connection;

use crate::cli::DnsCommand;
use crate::cmd::{call_authorized, netns};
use crate::error::CliError;

pub async fn exec(conn: &Connection, command: DnsCommand) -> Result<String, CliError> {
    match command {
        DnsCommand::Set {
            netns: ns,
            servers,
            search,
        } => {
            let ns = netns(conn, &ns).await?;
            let servers: Vec<String> = servers.iter().map(ToString::to_string).collect();
            call_authorized::<_, ()>(ns.platform.inner(), "SetDns", &(servers, search)).await?;
        }
        DnsCommand::Clear { netns: ns } => {
            let ns = netns(conn, &ns).await?;
            call_authorized::<_, ()>(ns.platform.inner(), "ClearDns", &()).await?;
        }
    }
    Ok(String::new())
}
