//! `nsctl forward add NS --proto P --host-port N [--host-address A] [--port M]`,
//! `nsctl forward list [NS]`, `nsctl forward del NS ID`

use std::collections::HashMap;

use netnsd_api::forward::ForwardEntry;
use serde_json::json;
use zbus::Connection;
use zbus::wire::{OwnedVariant, Variant};

use crate::cli::ForwardCommand;
use crate::cmd::{call_authorized, netns};
use crate::error::CliError;
use crate::routing::Dict;

pub async fn exec(
    conn: &Connection,
    command: ForwardCommand,
    json: bool,
) -> Result<String, CliError> {
    match command {
        ForwardCommand::Add {
            netns: ns,
            proto,
            host_port,
            host_address,
            port,
        } => {
            let ns = netns(conn, &ns).await?;
            let mut d = Dict::new();
            d.insert("proto", Variant::from(proto.as_str()));
            d.insert("host-port", Variant::from(host_port));
            if let Some(a) = host_address {
                d.insert("host-address", Variant::from(a.to_string()));
            }
            if let Some(p) = port {
                d.insert("port", Variant::from(p));
            }
            let id: u32 = call_authorized(ns.platform.inner(), "AddForward", &(d,)).await?;
            Ok(if json {
                format!("{}\n", json!({ "id": id }))
            } else {
                format!("{id}\n")
            })
        }
        ForwardCommand::Del { netns: ns, id } => {
            let ns = netns(conn, &ns).await?;
            call_authorized::<_, ()>(ns.platform.inner(), "RemoveForward", &(id,)).await?;
            Ok(String::new())
        }
        ForwardCommand::List { netns: ns } => {
            let names = match ns {
                Some(n) => vec![n],
                None => crate::cmd::list::namespaces(conn)
                    .await?
                    .into_iter()
                    .map(|n| n.name)
                    .collect(),
            };
            let mut rows = Vec::new();
            for name in names {
                let ns = netns(conn, &name).await?;
                let list: Vec<HashMap<String, OwnedVariant>> =
                    ns.platform.inner().call("GetForwards", &()).await?;
                for d in list {
                    rows.push((name.clone(), ForwardEntry::from_reply(d)?));
                }
            }
            Ok(if json {
                to_json(&rows)
            } else {
                to_table(&rows)
            })
        }
    }
}

fn to_json(rows: &[(String, ForwardEntry)]) -> String {
    let v: Vec<_> = rows
        .iter()
        .map(|(ns, e)| {
            json!({
                "netns": ns,
                "id": e.id,
                "proto": e.forward.proto.as_str(),
                "host_address": e.forward.host_address.map(|a| a.to_string()),
                "host_port": e.forward.host_port,
                "address": e.address,
                "address6": e.address6,
                "port": e.forward.port,
            })
        })
        .collect();
    format!("{}\n", serde_json::Value::Array(v))
}

fn to_table(rows: &[(String, ForwardEntry)]) -> String {
    let mut lines = vec![[
        "NETNS".to_owned(),
        "ID".into(),
        "PROTO".into(),
        "HOST".into(),
        "HOST-PORT".into(),
        "TO".into(),
        "PORT".into(),
    ]];
    for (ns, e) in rows {
        let to: Vec<&str> = [e.address.as_deref(), e.address6.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        lines.push([
            ns.clone(),
            e.id.to_string(),
            e.forward.proto.as_str().into(),
            e.forward.host_address.map_or("*".into(), |a| a.to_string()),
            e.forward.host_port.to_string(),
            if to.is_empty() {
                "-".into()
            } else {
                to.join(",")
            },
            e.forward.port.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
