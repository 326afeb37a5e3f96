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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command, check};

    /// The options dictionary of `nsctl add ARGS…`.
    fn options(args: &[&str]) -> Dict {
        let cli =
            Cli::try_parse_from(["nsctl", "add"].into_iter().chain(args.iter().copied())).unwrap();
        check(&cli).unwrap();
        match cli.command {
            Command::Add(a) => {
                assert!(a.has_options(), "{args:?}");
                namespace_options(&a)
            }
            other => panic!("{other:?}"),
        }
    }

    fn keys(d: &Dict) -> Vec<&str> {
        let mut keys: Vec<&str> = d.keys().copied().collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_options_are_what_was_asked_for() {
        let o = options(&[
            "a",
            "--uplink",
            "veth",
            "--no-ipv6",
            "--dns",
            "192.0.2.53",
            "--dns",
            "2001:db8::53,192.0.2.54",
            "--dns-search",
            "example.test",
        ]);
        assert_eq!(keys(&o), ["dns", "dns-search", "ipv6", "uplink"]);
        assert_eq!(o["uplink"], Variant::from("veth"));
        assert_eq!(o["ipv6"], Variant::from(false));

        // DNS alone is an option too.
        assert_eq!(keys(&options(&["a", "--dns", "192.0.2.53"])), ["dns"]);

        let o = options(&[
            "m",
            "--uplink",
            "macvlan",
            "--uplink-parent",
            "eth0",
            "--address",
            "192.0.2.10/24",
            "--gateway",
            "192.0.2.1",
            "--uplink-netns",
            "wan",
        ]);
        assert_eq!(
            keys(&o),
            [
                "address",
                "gateway",
                "uplink",
                "uplink-netns",
                "uplink-parent"
            ]
        );
        assert_eq!(o["gateway"], Variant::from("192.0.2.1"));
    }
}
