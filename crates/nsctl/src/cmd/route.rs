//! `nsctl route add|del DEST …`, `nsctl route list`

use std::collections::HashMap;

use zbus::Connection;

use crate::cli::{RouteArgs, RouteCommand};
use crate::cmd::{call_authorized, device_and_netns, device_names, netns};
use crate::error::CliError;
use crate::output;
use crate::routing::{Route, family_order, route_dict};

pub async fn exec(
    conn: &Connection,
    command: RouteCommand,
    json: bool,
) -> Result<String, CliError> {
    match command {
        RouteCommand::Add(args) => change(conn, "AddRoute", args, None).await,
        RouteCommand::Del(d) => change(conn, "RemoveRoute", d.route, d.proto).await,
        RouteCommand::List {
            table,
            family,
            netns: ns,
        } => {
            let ns = netns(conn, &ns.netns).await?;
            let dicts = ns.platform.get_routes().await?;
            let names: HashMap<String, String> = device_names(conn, &ns)
                .await?
                .into_iter()
                .map(|(object, name)| (object.as_str().to_owned(), name))
                .collect();
            let mut routes = dicts
                .into_iter()
                .map(|d| Route::from_dict(d, &|object| names.get(object).cloned()))
                .collect::<Result<Vec<_>, _>>()?;
            routes.retain(|r| table.contains(r.table) && family.shows(&r.family));
            routes.sort_by_key(|r| family_order(&r.family));
            Ok(if json {
                output::routes_json(&routes)
            } else {
                output::routes_text(&routes)
            })
        }
    }
}

async fn change(
    conn: &Connection,
    method: &'static str,
    args: RouteArgs,
    proto: Option<String>,
) -> Result<String, CliError> {
    let (ns, device) = match &args.dev {
        Some(dev) => {
            let (ns, device) = device_and_netns(conn, &args.netns.netns, dev).await?;
            (ns, Some(device.into_inner()))
        }
        None => (netns(conn, &args.netns.netns).await?, None),
    };
    let mut route = route_dict(&args, device);
    if let Some(p) = proto {
        route.insert("protocol", zbus::wire::Variant::from(p));
    }
    call_authorized::<_, ()>(ns.platform.inner(), method, &(route,)).await?;
    Ok(String::new())
}
