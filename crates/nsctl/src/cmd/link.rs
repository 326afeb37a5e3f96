//! `nsctl link add veth|macvlan|bridge|vlan …`, `nsctl link delete DEV`,
//! `nsctl link set DEV …`

use zbus::Connection;
use zbus::wire::{OwnedObjectPath, Variant};

use crate::cli::{LinkAdd, LinkCommand, LinkOpts, LinkSet, MacvlanMode};
use crate::cmd::{Netns, call_authorized, device_and_netns, netns, resolve_device};
use crate::error::CliError;
use crate::output;
use crate::routing::Dict;

pub async fn exec(conn: &Connection, command: LinkCommand, json: bool) -> Result<String, CliError> {
    match command {
        LinkCommand::Add(add) => add_link(conn, add, json).await,
        LinkCommand::Delete { dev, netns: ns } => {
            let (ns, device) = device_and_netns(conn, &ns.netns, &dev).await?;
            call_authorized::<_, ()>(ns.platform.inner(), "DeleteDevice", &(&device,)).await?;
            Ok(String::new())
        }
        LinkCommand::Set(set) => {
            set_link(conn, set).await?;
            Ok(String::new())
        }
    }
}

/// The options dictionary of AddVeth, AddMacvlan, AddBridge and AddVlan:
/// only what was asked for, so that the daemon's defaults apply otherwise.
pub fn link_options(opts: &LinkOpts, mode: Option<MacvlanMode>) -> Dict {
    let mut d = Dict::new();
    if let Some(mtu) = opts.mtu {
        d.insert("mtu", Variant::from(mtu));
    }
    if opts.up {
        d.insert("up", Variant::from(true));
    }
    if opts.stable_mac {
        d.insert("stable-mac", Variant::from(true));
    }
    if let Some(m) = mode {
        d.insert("mode", Variant::from(m.as_str().to_owned()));
    }
    d
}

/// `ns`, or the namespace named `other` if that is a different one.
async fn same_or(conn: &Connection, ns: &Netns, other: Option<&str>) -> Result<Netns, CliError> {
    match other {
        Some(name) if name != ns.name => netns(conn, name).await,
        _ => Ok(ns.clone()),
    }
}

/// A parent device: an object path, or a name in `parent_netns` (default `ns`).
async fn parent(
    conn: &Connection,
    ns: &Netns,
    parent: &str,
    parent_netns: Option<&str>,
) -> Result<OwnedObjectPath, CliError> {
    if parent.starts_with('/') {
        return crate::cmd::object_path(parent);
    }
    resolve_device(conn, &same_or(conn, ns, parent_netns).await?, parent).await
}

async fn add_link(conn: &Connection, add: LinkAdd, json: bool) -> Result<String, CliError> {
    let object: OwnedObjectPath = match add {
        LinkAdd::Veth {
            name,
            peer,
            peer_netns,
            peer_up,
            netns: ns,
            opts,
        } => {
            let ns = netns(conn, &ns.netns).await?;
            let peer_ns = same_or(conn, &ns, peer_netns.as_deref()).await?;
            let (object, peer_object): (OwnedObjectPath, OwnedObjectPath) = call_authorized(
                ns.platform.inner(),
                "AddVeth",
                &(
                    name.as_str(),
                    peer.as_str(),
                    &peer_ns.object,
                    link_options(&opts, None),
                ),
            )
            .await?;
            if peer_up {
                call_authorized::<_, ()>(
                    peer_ns.platform.inner(),
                    "SetDeviceUp",
                    &(&peer_object, true),
                )
                .await?;
            }
            return Ok(if json {
                output::veth_added_json(object.as_str(), peer_object.as_str())
            } else {
                output::veth_added_text(object.as_str(), peer_object.as_str())
            });
        }
        LinkAdd::Macvlan {
            name,
            parent: p,
            parent_netns,
            mode,
            netns: ns,
            opts,
        } => {
            let ns = netns(conn, &ns.netns).await?;
            let p = parent(conn, &ns, &p, parent_netns.as_deref()).await?;
            call_authorized(
                ns.platform.inner(),
                "AddMacvlan",
                &(name.as_str(), &p, link_options(&opts, Some(mode))),
            )
            .await?
        }
        LinkAdd::Bridge {
            name,
            netns: ns,
            opts,
        } => {
            let ns = netns(conn, &ns.netns).await?;
            call_authorized(
                ns.platform.inner(),
                "AddBridge",
                &(name.as_str(), link_options(&opts, None)),
            )
            .await?
        }
        LinkAdd::Tunnel {
            name,
            kind,
            remote,
            local,
            ttl,
            key,
            mtu,
            up,
            netns: ns,
        } => {
            let ns = netns(conn, &ns.netns).await?;
            let mut d = Dict::new();
            d.insert("remote", Variant::from(remote));
            if let Some(l) = local {
                d.insert("local", Variant::from(l));
            }
            if let Some(t) = ttl {
                d.insert("ttl", Variant::from(t));
            }
            if let Some(k) = key {
                d.insert("key", Variant::from(k));
            }
            if let Some(m) = mtu {
                d.insert("mtu", Variant::from(m));
            }
            if up {
                d.insert("up", Variant::from(true));
            }
            call_authorized(
                ns.platform.inner(),
                "AddTunnel",
                &(name.as_str(), kind.as_str(), d),
            )
            .await?
        }
        LinkAdd::Vlan {
            name,
            parent: p,
            parent_netns,
            id,
            netns: ns,
            opts,
        } => {
            let ns = netns(conn, &ns.netns).await?;
            let p = parent(conn, &ns, &p, parent_netns.as_deref()).await?;
            call_authorized(
                ns.platform.inner(),
                "AddVlan",
                &(name.as_str(), &p, id, link_options(&opts, None)),
            )
            .await?
        }
    };
    Ok(if json {
        output::add_json(object.as_str())
    } else {
        output::add_text(object.as_str())
    })
}

/// The calls `nsctl link set` makes, in order: down, MTU, name, MAC
/// address, master, MSS clamping, up.
#[derive(Debug, PartialEq, Eq)]
enum Change<'a> {
    Up(bool),
    Mtu(u32),
    Rename(&'a str),
    HwAddress(&'a str),
    /// A bridge's name, or None to free the device.
    Master(Option<&'a str>),
    MssClamp(bool),
}

fn changes(set: &LinkSet) -> Vec<Change<'_>> {
    let mut c = Vec::new();
    if set.down {
        c.push(Change::Up(false));
    }
    if let Some(m) = set.mtu {
        c.push(Change::Mtu(m));
    }
    if let Some(n) = &set.name {
        c.push(Change::Rename(n));
    }
    if let Some(a) = &set.address {
        c.push(Change::HwAddress(a));
    }
    if let Some(m) = &set.master {
        c.push(Change::Master(Some(m)));
    }
    if set.nomaster {
        c.push(Change::Master(None));
    }
    if let Some(on) = set.mss_clamp {
        c.push(Change::MssClamp(on));
    }
    if set.up {
        c.push(Change::Up(true));
    }
    c
}

async fn set_link(conn: &Connection, set: LinkSet) -> Result<(), CliError> {
    let (ns, d) = device_and_netns(conn, &set.netns.netns, &set.dev).await?;
    let proxy = ns.platform.inner();
    for change in changes(&set) {
        match change {
            Change::Up(up) => call_authorized::<_, ()>(proxy, "SetDeviceUp", &(&d, up)).await?,
            Change::Mtu(m) => call_authorized::<_, ()>(proxy, "SetDeviceMtu", &(&d, m)).await?,
            Change::Rename(n) => call_authorized::<_, ()>(proxy, "RenameDevice", &(&d, n)).await?,
            Change::HwAddress(a) => {
                call_authorized::<_, ()>(proxy, "SetDeviceHwAddress", &(&d, a)).await?
            }
            Change::Master(m) => {
                let master = match m {
                    Some(br) => resolve_device(conn, &ns, br).await?,
                    None => crate::cmd::object_path("/")?,
                };
                call_authorized::<_, ()>(proxy, "SetDeviceMaster", &(&d, &master)).await?
            }
            Change::MssClamp(on) => {
                call_authorized::<_, ()>(proxy, "SetMssClamping", &(&d, on)).await?
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::NetnsOpt;

    #[test]
    fn link_options_carry_only_what_was_asked() {
        assert!(link_options(&LinkOpts::default(), None).is_empty());
        let d = link_options(
            &LinkOpts {
                mtu: Some(1400),
                up: true,
                stable_mac: true,
            },
            Some(MacvlanMode::Passthru),
        );
        assert_eq!(d.len(), 4);
        assert_eq!(d["mtu"], Variant::from(1400u32));
        assert_eq!(d["up"], Variant::from(true));
        assert_eq!(d["stable-mac"], Variant::from(true));
        assert_eq!(d["mode"], Variant::from("passthru"));
    }

    #[test]
    fn set_goes_down_first_and_up_last() {
        let set = LinkSet {
            dev: "x".into(),
            netns: NetnsOpt {
                netns: "rootns".into(),
            },
            up: true,
            down: false,
            mtu: Some(1400),
            name: Some("y".into()),
            master: None,
            nomaster: false,
            address: None,
            mss_clamp: None,
        };
        assert_eq!(
            changes(&set),
            [Change::Mtu(1400), Change::Rename("y"), Change::Up(true)]
        );
        let all = LinkSet {
            dev: "x".into(),
            netns: NetnsOpt {
                netns: "rootns".into(),
            },
            up: true,
            down: false,
            mtu: None,
            name: None,
            master: Some("br0".into()),
            nomaster: false,
            address: Some("02:00:00:00:00:01".into()),
            mss_clamp: Some(true),
        };
        assert_eq!(
            changes(&all),
            [
                Change::HwAddress("02:00:00:00:00:01"),
                Change::Master(Some("br0")),
                Change::MssClamp(true),
                Change::Up(true)
            ]
        );
        let set = LinkSet {
            up: false,
            down: true,
            mtu: None,
            name: Some("y".into()),
            ..set
        };
        assert_eq!(changes(&set), [Change::Up(false), Change::Rename("y")]);
    }
}
