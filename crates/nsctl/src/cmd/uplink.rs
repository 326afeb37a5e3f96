//! `nsctl uplink set NS --type veth|macvlan ...`, `nsctl uplink clear NS`

use zbus::Connection;
use zbus::wire::Variant;

use crate::cli::{UplinkCommand, UplinkKind, UplinkOpts};
use crate::cmd::{call_authorized, netns};
use crate::error::CliError;
use crate::routing::Dict;

pub async fn exec(conn: &Connection, command: UplinkCommand) -> Result<String, CliError> {
    match command {
        UplinkCommand::Set {
            netns: ns,
            kind,
            opts,
        } => {
            let ns = netns(conn, &ns).await?;
            let options = uplink_options(Some(kind), &opts);
            call_authorized::<_, ()>(ns.platform.inner(), "SetUplink", &(options,)).await?;
        }
        UplinkCommand::Clear { netns: ns } => {
            let ns = netns(conn, &ns).await?;
            call_authorized::<_, ()>(ns.platform.inner(), "ClearUplink", &()).await?;
        }
    }
    Ok(String::new())
}

/// The uplink keys of SetUplink and AddNetworkNamespaceWithOptions: `uplink`
/// and what was given of the rest.
pub fn uplink_options(kind: Option<UplinkKind>, opts: &UplinkOpts) -> Dict {
    let mut d = Dict::new();
    d.insert(
        "uplink",
        Variant::from(kind.map_or("none", UplinkKind::as_str)),
    );
    if let Some(n) = &opts.uplink_netns {
        d.insert("uplink-netns", Variant::from(n.clone()));
    }
    if let Some(p) = &opts.uplink_parent {
        d.insert("uplink-parent", Variant::from(p.clone()));
    }
    if let Some(a) = &opts.address {
        d.insert("address", Variant::from(a.clone()));
    }
    if let Some(g) = &opts.gateway {
        d.insert("gateway", Variant::from(g.to_string()));
    }
    if opts.no_ipv6 {
        d.insert("ipv6", Variant::from(false));
    }
    if opts.dhcp {
        d.insert("dhcp", Variant::from(true));
    }
    d
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command, check};

    #[test]
    fn a_veth_uplink_without_options_is_just_the_kind() {
        let cli = Cli::try_parse_from(["nsctl", "uplink", "set", "a", "--type", "veth"]).unwrap();
        check(&cli).unwrap();
        match cli.command {
            Command::Uplink(UplinkCommand::Set { kind, opts, .. }) => {
                let o = uplink_options(Some(kind), &opts);
                assert_eq!(o.keys().copied().collect::<Vec<_>>(), ["uplink"]);
                assert_eq!(o["uplink"], Variant::from("veth"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dhcp_is_an_option_of_macvlan_only() {
        let args = [
            "nsctl",
            "add",
            "m",
            "--uplink",
            "macvlan",
            "--uplink-parent",
            "eth0",
            "--dhcp",
        ];
        let cli = Cli::try_parse_from(args).unwrap();
        check(&cli).unwrap();
        match cli.command {
            Command::Add(a) => {
                let o = uplink_options(a.uplink.and_then(|u| u.kind()), &a.opts);
                assert_eq!(o["dhcp"], Variant::from(true));
                assert!(!o.contains_key("address"));
            }
            other => panic!("{other:?}"),
        }
        let with_address = [
            "nsctl",
            "add",
            "m",
            "--uplink",
            "macvlan",
            "--uplink-parent",
            "eth0",
            "--dhcp",
            "--address",
            "192.0.2.1/24",
        ];
        assert!(Cli::try_parse_from(with_address).is_err());
        let veth = ["nsctl", "add", "m", "--uplink", "veth", "--dhcp"];
        let cli = Cli::try_parse_from(veth).unwrap();
        assert!(check(&cli).unwrap_err().to_string().contains("--dhcp"));
    }
}
