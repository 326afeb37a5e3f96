//! `nsctl add NAME [--uplink TYPE ...] [--dns IP]... [--dns-search DOMAIN]...`

use zbus::Connection;
use zbus::wire::{OwnedObjectPath, Variant};

use crate::cli::{AddArgs, UplinkArg};
use crate::cmd::uplink::uplink_options;
use crate::cmd::{call_authorized, check_name, controller};
use crate::error::CliError;
use crate::output;
use crate::routing::Dict;

pub async fn exec(conn: &Connection, args: &AddArgs, json: bool) -> Result<String, CliError> {
    check_name(&args.name)?;
    let ctl = controller(conn).await?;
    let object: OwnedObjectPath = if args.has_options() {
        call_authorized(
            ctl.inner(),
            "AddNetworkNamespaceWithOptions",
            &(&args.name, namespace_options(args)),
        )
        .await?
    } else {
        call_authorized(ctl.inner(), "AddNetworkNamespace", &(&args.name,)).await?
    };
    Ok(if json {
        output::add_json(object.as_str())
    } else {
        output::add_text(object.as_str())
    })
}

/// The options dictionary of AddNetworkNamespaceWithOptions: only what was
/// asked for, so that the daemon's defaults apply otherwise.
pub fn namespace_options(args: &AddArgs) -> Dict {
    let mut d = match args.uplink {
        Some(UplinkArg::None) => Dict::from([("uplink", Variant::from("none"))]),
        Some(u) => uplink_options(u.kind(), &args.opts),
        None => Dict::new(),
    };
    if !args.dns.is_empty() {
        let servers: Vec<String> = args.dns.iter().map(ToString::to_string).collect();
        d.insert("dns", Variant::from(servers));
    }
    if !args.dns_search.is_empty() {
        d.insert("dns-search", Variant::from(args.dns_search.clone()));
    }
    d
}
