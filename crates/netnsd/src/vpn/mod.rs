//! VPN types behind one trait: each turns a profile into a tunnel that
//! comes up in the uplink namespace, with the daemon in charge of the
//! configuration: the client touches no address, route or DNS of the
//! host, and hands what the server pushed to the daemon (through `netnsd
//! --vpn-helper`), or the daemon configures the tunnel itself (WireGuard),
//! and applies it where the tunnel ends up.
//!
//! As netavark's `NetworkDriver`: [`VpnType`] says what a type checks in a
//! profile, how its tunnel is brought up and what it reports; [`lookup`]
//! picks the type for a profile from [`TYPES`]; what every launch shares
//! (secret files, the helper socket, starting the client in its namespace,
//! its log) is in [`launch`]. The manager never matches on the type. A new
//! VPN type is one new file and one line in [`TYPES`].

pub mod helper;
pub mod launch;
pub mod oclogin;
pub mod openconnect;
pub mod openvpn;
pub mod plugin;
pub mod profile_ip;
pub mod secrets;
pub mod wg_kernel;
pub mod wireguard;
pub mod xfrm;

use std::collections::HashMap;
use std::fs::File;
use std::net::IpAddr;

use futures::future::BoxFuture;
use netnsd_api::state::reason;
use netnsd_api::{Cidr, Error, Family};

pub use launch::{Activation, Client};

use crate::netlink::NetlinkHandle;
use crate::settings::Profile;

/// What a VPN server pushed, as the daemon applies it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpnConfig {
    /// The tunnel device's name in the uplink namespace.
    pub tundev: String,
    pub mtu: Option<u32>,
    pub addr4: Option<Cidr>,
    /// The far end of a point-to-point (net30/p2p) tunnel.
    pub peer4: Option<IpAddr>,
    pub addr6: Option<Cidr>,
    /// Pushed routes (destination, gateway).
    pub routes: Vec<(Cidr, Option<IpAddr>)>,
    pub dns: Vec<IpAddr>,
    pub domains: Vec<String>,
    pub banner: String,
    /// The profile's ipv4/ipv6.never-default: no default route through
    /// the tunnel for that family.
    pub never_default4: bool,
    pub never_default6: bool,
    /// The profile's route-metric (ipv4's for IPv4 routes, ipv6's for
    /// IPv6), for the routes without a metric of their own.
    pub metric4: Option<u32>,
    pub metric6: Option<u32>,
    /// The profile's own routes (ipvN.routeN): destination and metric.
    pub profile_routes: Vec<(Cidr, Option<u32>)>,
}

/// A prefix length a VPN server pushed, as text: a number no longer
/// than the `family`'s addresses (32 or 128 bits), or None.
pub(crate) fn pushed_prefix(len: &str, family: Family) -> Option<u8> {
    len.trim()
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= family.max_prefix())
}

/// An address of `family` a VPN server pushed, with its prefix length,
/// checked: None for an address of the other family or a prefix longer
/// than the address (which would overflow computing its network).
pub(crate) fn pushed_cidr(addr: IpAddr, prefix: u8, family: Family) -> Option<Cidr> {
    (Family::of(&addr) == family && prefix <= family.max_prefix()).then_some(Cidr { addr, prefix })
}

/// One VPN type. The manager asks it, never matches on it.
///
/// How a connection ends is the same for every type: the client gets
/// SIGTERM (SIGKILL if it has not ended 5 s later), the files of its
/// launch are removed, and a link the daemon made itself (a
/// [`KernelTunnel`]) is deleted wherever it is by then.
pub trait VpnType: Send + Sync {
    /// The type's name in messages ("OpenVPN", "WireGuard").
    fn name(&self) -> &'static str;

    /// Checks what the type needs in a profile, before anything is made,
    /// so a bad profile fails the activation call itself.
    fn validate(&self, profile: &Profile) -> Result<(), Error>;

    /// How the tunnel `at.tundev` is brought up in the uplink namespace:
    /// the client to run, and what the daemon does itself.
    fn launch(&self, profile: &Profile, at: &Activation) -> Result<Launch, Error>;

    /// What the client's hook reported through the helper (its whole
    /// environment): the configuration to apply, or None when the call
    /// carries nothing to apply (openconnect's pre-init, for one).
    fn reported(&self, env: &HashMap<String, String>) -> Result<Option<VpnConfig>, Error> {
        let _ = env;
        Err(Error::InvalidArgument(format!(
            "{} does not report through the helper",
            self.name()
        )))
    }

    /// The secrets an activation must ask the user's agents for (after
    /// their flags), if any ([`secrets`]).
    fn secrets_wanted(&self, profile: &Profile) -> Option<secrets::Wanted> {
        let _ = profile;
        None
    }

    /// A login the type holds with its server before the launch, asking
    /// the agents (`ask`) for what the server's forms want (OpenConnect,
    /// [`oclogin`]): None when the profile needs none. It runs in the
    /// uplink namespace `netns` (None: the daemon's own) while the
    /// activation waits in need-auth; what it returns is merged into the
    /// profile's vpn.secrets for the launch. Dropping it stops it.
    fn login(
        &self,
        profile: &Profile,
        netns: Option<File>,
        ask: oclogin::Ask,
    ) -> Option<LoginFuture> {
        let _ = (profile, netns, ask);
        None
    }

    /// Why the client ended by itself, from what it printed (its last
    /// lines): one of NetworkManager's VPN reasons.
    fn failure_reason(&self, log: &str) -> u32 {
        let _ = log;
        reason::SERVICE_STOPPED
    }

    /// The client names its tunnel itself (a NetworkManager plugin's
    /// Config `tundev`), rather than taking `nsvpnN`.
    fn names_device(&self) -> bool {
        false
    }

    /// What one line the client printed says about its connection, if
    /// anything: that it lost the server and is reconnecting, or that it
    /// is through again (a type whose client reconnects by itself).
    fn progress(&self, line: &str) -> Option<Progress> {
        let _ = line;
        None
    }
}

/// A [`VpnType::login`] under way: the secrets it got, or why none.
pub type LoginFuture =
    BoxFuture<'static, Result<std::collections::BTreeMap<String, String>, oclogin::Failed>>;

/// The profile with what a [`VpnType::login`] returned added to its
/// vpn.secrets, for this one launch (never saved).
pub fn with_login(
    p: &Profile,
    got: std::collections::BTreeMap<String, String>,
) -> Result<Profile, Error> {
    let mut p = p.clone();
    let mut secrets = p.vpn_secrets();
    secrets.extend(got);
    p.set("vpn", "secrets", crate::settings::Value::StrMap(secrets))?;
    Ok(p)
}

/// A client's news about a connection that was up (see
/// [`VpnType::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The server stopped answering: the client is reconnecting.
    Reconnecting,
    /// The client is through to the server again.
    Reconnected,
}

/// How long a connection that was up may spend reconnecting after losing
/// its server before it fails: `vpn.data.reconnect-timeout` (seconds),
/// default [`DEFAULT_RECONNECT`]. Checked by [`check_reconnect_timeout`].
pub fn reconnect_timeout(data: &std::collections::BTreeMap<String, String>) -> std::time::Duration {
    let secs = data
        .get(RECONNECT_KEY)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_RECONNECT);
    std::time::Duration::from_secs(secs.into())
}

/// The key of [`reconnect_timeout`] in vpn.data.
pub const RECONNECT_KEY: &str = "reconnect-timeout";

/// Five minutes, as openconnect's own default `--reconnect-timeout`.
pub const DEFAULT_RECONNECT: u32 = 300;

/// A `reconnect-timeout` that is not a number of seconds from 1 on is
/// refused, naming the key.
pub fn check_reconnect_timeout(
    data: &std::collections::BTreeMap<String, String>,
) -> Result<(), Error> {
    match data.get(RECONNECT_KEY) {
        Some(v) if !v.trim().parse::<u32>().is_ok_and(|s| s > 0) => Err(Error::InvalidArgument(
            format!("vpn.data.{RECONNECT_KEY}: {v:?} is not a number of seconds (1 or more)"),
        )),
        _ => Ok(()),
    }
}

/// How a type's tunnel comes up.
pub struct Launch {
    /// The client, run in the uplink namespace (when there is no kernel
    /// tunnel, or this kernel lacks it).
    pub client: Client,
    /// Tried before the client: a tunnel the kernel provides, which the
    /// daemon makes and configures itself (no client process then).
    pub kernel: Option<KernelTunnel>,
    /// None: the client configures its tunnel and reports the pushed
    /// configuration through the helper ([`VpnType::reported`]). Some: the
    /// client has no hook, and the daemon configures its tunnel once it
    /// is started, with this (blocking: run off the runtime).
    pub configure: Option<Configure>,
}

/// Configures a tunnel (blocking) and returns what to apply where it
/// ends up.
pub type Configure = Box<dyn FnOnce() -> Result<VpnConfig, Error> + Send>;

/// Makes a link named `tundev`, down and unconfigured, in the handle's
/// namespace; NotSupported where the kernel lacks its kind.
pub type MakeLink = for<'a> fn(&'a NetlinkHandle, &'a str) -> BoxFuture<'a, Result<(), Error>>;

/// A tunnel the kernel provides (WireGuard's own link): made in the uplink
/// namespace, where its socket then stays, and configured by the daemon.
pub struct KernelTunnel {
    pub make: MakeLink,
    /// Configures the link (blocking: run off the runtime), given its
    /// ifindex and the uplink namespace (None: the daemon's own), and
    /// returns what to apply where it ends up.
    pub configure: Box<dyn FnOnce(u32, Option<File>) -> Result<VpnConfig, Error> + Send>,
}

/// What names a VPN type in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A `vpn` connection with this `vpn.service-type` (NetworkManager's
    /// VPN plugin names).
    Service(&'static str),
    /// A connection of this `connection.type`.
    Connection(&'static str),
}

/// The built-in VPN types.
pub static TYPES: &[(Key, &dyn VpnType)] = &[
    (Key::Service(openvpn::SERVICE_TYPE), &openvpn::OpenVpn),
    (
        Key::Service(openconnect::SERVICE_TYPE),
        &openconnect::OpenConnect,
    ),
    (Key::Connection("wireguard"), &wireguard::WireGuard),
];

/// The VPN type a profile needs: a built-in one, else for a `vpn`
/// profile the NetworkManager plugin of its service type (checked by its
/// `validate`: NotSupported naming the package when not installed);
/// ConnectionNotAvailable (the prototype's name) for a profile that is no
/// VPN.
pub fn lookup(p: &Profile) -> Result<&'static dyn VpnType, Error> {
    let find = |named: &dyn Fn(&Key) -> bool| TYPES.iter().find(|(k, _)| named(k)).map(|(_, t)| *t);
    match (p.kind(), p.vpn_service_type()) {
        ("vpn", Some(service)) => {
            Ok(find(&|k| matches!(k, Key::Service(s) if *s == service))
                .unwrap_or(&plugin::NmPlugin))
        }
        (kind, _) => find(&|k| matches!(k, Key::Connection(c) if *c == kind)).ok_or_else(|| {
            Error::ConnectionNotAvailable(format!(
                "activating {kind:?} connections is not supported (netnsd activates VPN profiles only)"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const OPENVPN: &str = "[connection]
id=work
uuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a11
type=vpn

[vpn]
service-type=org.freedesktop.NetworkManager.openvpn
remote=vpn.example.com:1194
connection-type=password
username=alice
ca=/etc/ca.crt

[vpn-secrets]
password=s3cret
";

    fn profile(text: &str) -> Profile {
        Profile::from_keyfile(text).unwrap()
    }

    fn vpn(service: &str) -> Profile {
        profile(&format!(
            "[connection]\nid=v\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a12\ntype=vpn\n\n\
             [vpn]\nservice-type={service}\n"
        ))
    }

    #[test]
    fn each_type_found_by_what_names_it() {
        assert_eq!(lookup(&profile(OPENVPN)).unwrap().name(), "OpenVPN");
        assert_eq!(
            lookup(&vpn(openconnect::SERVICE_TYPE)).unwrap().name(),
            "OpenConnect"
        );
        let wg = profile(
            "[connection]\nid=wg\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a13\ntype=wireguard\n",
        );
        assert_eq!(lookup(&wg).unwrap().name(), "WireGuard");
    }

    #[test]
    fn others_not_supported() {
        // A VPN service with no built-in engine goes to the plugin host.
        let t = lookup(&vpn("org.freedesktop.NetworkManager.vpnc")).unwrap();
        assert_eq!(t.name(), "NetworkManager VPN plugin");
        let eth = profile(
            "[connection]\nid=e\nuuid=5d1f1a52-6d3e-4d0c-9b43-3b1b6f1c2a14\ntype=ethernet\n",
        );
        let e = lookup(&eth).err().unwrap();
        assert!(
            matches!(&e, Error::ConnectionNotAvailable(m)
                if m.starts_with("activating \"802-3-ethernet\" connections is not supported")),
            "{e:?}"
        );
    }

    #[test]
    fn pushed_prefixes_checked() {
        assert_eq!(pushed_prefix("24", Family::V4), Some(24));
        assert_eq!(pushed_prefix("32", Family::V4), Some(32));
        assert_eq!(pushed_prefix("33", Family::V4), None);
        assert_eq!(pushed_prefix("200", Family::V4), None);
        assert_eq!(pushed_prefix("128", Family::V6), Some(128));
        assert_eq!(pushed_prefix("129", Family::V6), None);
        assert_eq!(pushed_prefix("-1", Family::V4), None);
        assert_eq!(pushed_prefix("x", Family::V4), None);
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(pushed_cidr(v4, 32, Family::V4).is_some());
        assert!(pushed_cidr(v4, 33, Family::V4).is_none());
        assert!(pushed_cidr(v4, 24, Family::V6).is_none());
    }

    #[test]
    fn reconnect_bound() {
        let d = |v: &str| {
            std::collections::BTreeMap::from([(RECONNECT_KEY.to_string(), v.to_string())])
        };
        assert_eq!(
            reconnect_timeout(&Default::default()),
            std::time::Duration::from_secs(300)
        );
        assert_eq!(reconnect_timeout(&d("12")).as_secs(), 12);
        assert!(check_reconnect_timeout(&d("12")).is_ok());
        for bad in ["0", "-1", "soon", ""] {
            let e = check_reconnect_timeout(&d(bad)).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains("vpn.data.reconnect-timeout")),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn one_entry_per_key() {
        for (i, (k, _)) in TYPES.iter().enumerate() {
            assert!(TYPES[..i].iter().all(|(other, _)| other != k), "{k:?}");
        }
    }
}

#[cfg(test)]
mod fuzz;
