//! WireGuard, from NetworkManager's wireguard profiles (`[wireguard]` and
//! `[wireguard-peer.KEY]`).
//!
//! Where the kernel has WireGuard, the interface is a `wireguard` link the
//! daemon makes in the uplink namespace and configures over generic netlink
//! (`wg_kernel`). Where it has not (as on the machines netnsd is tested on),
//! wireguard-go provides the interface: it is started in the uplink
//! namespace, where its UDP socket stays, and the daemon configures it over
//! its UAPI socket (/run/wireguard/IF.sock). Either way the private key
//! never appears on a command line or in a world-readable file. The
//! interface is then taken into the isolated namespace like any tunnel,
//! and given the profile's addresses, routes and DNS there.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netnsd_api::Error;

use futures::future::BoxFuture;

use super::{Activation, Client, KernelTunnel, Launch, VpnConfig, VpnType, wg_kernel};
use crate::netlink::NetlinkHandle;
use crate::settings::ipgroup::IpGroup;
use crate::settings::wgkey::key;
use crate::settings::{Profile, Value};
use netnsd_api::{Cidr, Family};

/// Where wireguard-go puts its control sockets.
pub const UAPI_DIR: &str = "/run/wireguard";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub public_key: [u8; 32],
    pub preshared_key: Option<[u8; 32]>,
    pub endpoint: Option<String>,
    pub allowed_ips: Vec<Cidr>,
    pub keepalive: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub private_key: [u8; 32],
    pub listen_port: Option<u32>,
    pub fwmark: Option<u32>,
    pub mtu: Option<u32>,
    pub peers: Vec<Peer>,
    pub addresses: Vec<Cidr>,
    pub dns: Vec<IpAddr>,
    pub search: Vec<String>,
}

fn hex(k: &[u8; 32]) -> String {
    k.iter().map(|b| format!("{b:02x}")).collect()
}

fn strs(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::StrList(l)) => l.clone(),
        Some(Value::Str(s)) => s
            .split([';', ','])
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn num(v: Option<&Value>) -> Option<u32> {
    match v {
        Some(Value::U32(n)) => Some(*n),
        Some(Value::I32(n)) => u32::try_from(*n).ok(),
        Some(Value::Str(s)) => s.parse().ok(),
        _ => None,
    }
}

fn invalid(m: String) -> Error {
    Error::InvalidArgument(m)
}

impl Config {
    pub fn from_profile(p: &Profile) -> Result<Config, Error> {
        let pk = match p.get("wireguard", "private-key") {
            Some(Value::Str(s)) if !s.is_empty() => s.clone(),
            _ => return Err(invalid("wireguard.private-key: missing".into())),
        };
        let private_key = key(&pk).map_err(|e| invalid(format!("wireguard.private-key {e}")))?;
        let mut peers = Vec::new();
        for (setting, keys) in p.settings() {
            let Some(pub_b64) = setting.strip_prefix("wireguard-peer.") else {
                continue;
            };
            let public_key =
                key(pub_b64).map_err(|e| invalid(format!("{setting}: the public key {e}")))?;
            let preshared_key = match keys.get("preshared-key") {
                Some(Value::Str(s)) if !s.is_empty() => {
                    Some(key(s).map_err(|e| invalid(format!("{setting}.preshared-key {e}")))?)
                }
                _ => None,
            };
            let endpoint = keys
                .get("endpoint")
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut allowed_ips = Vec::new();
            for a in strs(keys.get("allowed-ips")) {
                let c: Cidr = a
                    .parse()
                    .map_err(|e| invalid(format!("{setting}.allowed-ips: {a:?}: {e}")))?;
                allowed_ips.push(c.network());
            }
            peers.push(Peer {
                public_key,
                preshared_key,
                endpoint,
                allowed_ips,
                keepalive: num(keys.get("persistent-keepalive")),
            });
        }
        if peers.is_empty() {
            return Err(invalid(
                "wireguard-peer: a WireGuard profile needs at least one peer".into(),
            ));
        }
        // The [ipv4]/[ipv6] groups as NetworkManager reads them (address,
        // addresses, addressN, addressesN; dns as ADDR or ADDR#NAME;
        // dns-search without "~").
        let mut addresses = Vec::new();
        let mut dns = Vec::new();
        let mut search = Vec::new();
        for family in [Family::V4, Family::V6] {
            let g = IpGroup::of(p, family)?;
            addresses.extend(g.addresses);
            dns.extend(g.dns);
            for d in g.search {
                if !search.contains(&d) {
                    search.push(d);
                }
            }
        }
        if addresses.is_empty() {
            return Err(invalid(
                "ipv4.address1: a WireGuard profile needs an address".into(),
            ));
        }
        Ok(Config {
            private_key,
            listen_port: num(p.get("wireguard", "listen-port")),
            fwmark: num(p.get("wireguard", "fwmark")),
            mtu: num(p.get("wireguard", "mtu")),
            peers,
            addresses,
            dns,
            search,
        })
    }

    /// The UAPI "set" request; endpoints must already be resolved.
    pub fn uapi(&self, endpoints: &[Option<SocketAddr>]) -> String {
        let mut s = format!("set=1\nprivate_key={}\n", hex(&self.private_key));
        if let Some(p) = self.listen_port {
            s.push_str(&format!("listen_port={p}\n"));
        }
        if let Some(m) = self.fwmark {
            s.push_str(&format!("fwmark={m}\n"));
        }
        s.push_str("replace_peers=true\n");
        for (peer, ep) in self.peers.iter().zip(endpoints) {
            s.push_str(&format!("public_key={}\n", hex(&peer.public_key)));
            if let Some(k) = &peer.preshared_key {
                s.push_str(&format!("preshared_key={}\n", hex(k)));
            }
            if let Some(ep) = ep {
                s.push_str(&format!("endpoint={ep}\n"));
            }
            if let Some(k) = peer.keepalive {
                s.push_str(&format!("persistent_keepalive_interval={k}\n"));
            }
            s.push_str("replace_allowed_ips=true\n");
            for a in &peer.allowed_ips {
                s.push_str(&format!("allowed_ip={a}\n"));
            }
        }
        s.push('\n');
        s
    }

    /// What the daemon applies where the interface ends up.
    pub fn vpn_config(&self, tundev: &str) -> VpnConfig {
        let mut c = VpnConfig {
            tundev: tundev.to_string(),
            mtu: self.mtu,
            ..Default::default()
        };
        for a in &self.addresses {
            match a.addr {
                IpAddr::V4(_) if c.addr4.is_none() => c.addr4 = Some(*a),
                IpAddr::V6(_) if c.addr6.is_none() => c.addr6 = Some(*a),
                _ => {}
            }
        }
        for p in &self.peers {
            for a in &p.allowed_ips {
                if a.prefix != 0 {
                    c.routes.push((*a, None));
                }
            }
        }
        c.dns = self.dns.clone();
        c.domains = self.search.clone();
        c
    }
}

/// Resolves the peers' endpoints (host:port; IPv6 in brackets).
pub fn resolve(cfg: &Config) -> Result<Vec<Option<SocketAddr>>, Error> {
    cfg.peers
        .iter()
        .map(|p| match &p.endpoint {
            None => Ok(None),
            Some(e) => e
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .map(Some)
                .ok_or_else(|| {
                    invalid(format!("wireguard-peer endpoint {e:?} cannot be resolved"))
                }),
        })
        .collect()
}

/// Configures wireguard-go's interface `tundev` over its UAPI socket,
/// waiting up to `wait` for the socket to appear. Blocking.
pub fn configure(tundev: &str, request: &str, wait: Duration) -> Result<(), Error> {
    let path = PathBuf::from(UAPI_DIR).join(format!("{tundev}.sock"));
    let deadline = Instant::now() + wait;
    let mut stream = loop {
        match UnixStream::connect(&path) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Err(Error::Failed(format!(
                    "wireguard-go's control socket {}: {e}",
                    path.display()
                )));
            }
        }
    };
    stream
        .write_all(request.as_bytes())
        .map_err(|e| Error::Failed(format!("configure {tundev}: {e}")))?;
    let mut answer = String::new();
    let mut r = BufReader::new(stream);
    while r
        .read_line(&mut answer)
        .map_err(|e| Error::Failed(format!("configure {tundev}: {e}")))?
        > 0
    {
        if answer.ends_with("\n\n") {
            break;
        }
    }
    match answer.lines().find_map(|l| l.strip_prefix("errno=")) {
        Some("0") => Ok(()),
        Some(e) => Err(Error::InvalidArgument(format!(
            "wireguard-go refused the configuration of {tundev} (errno {e})"
        ))),
        None => Err(Error::Failed(format!(
            "wireguard-go gave no answer for {tundev}"
        ))),
    }
}

/// WireGuard as a [`VpnType`]: the kernel's link where it has one, else
/// wireguard-go, configured by the daemon either way (no helper).
pub struct WireGuard;

impl VpnType for WireGuard {
    fn name(&self) -> &'static str {
        "WireGuard"
    }

    fn secrets_wanted(&self, p: &Profile) -> Option<super::secrets::Wanted> {
        super::secrets::wireguard(p)
    }

    fn validate(&self, p: &Profile) -> Result<(), Error> {
        Config::from_profile(p).map(drop)
    }

    fn launch(&self, p: &Profile, at: &Activation) -> Result<Launch, Error> {
        let cfg = Config::from_profile(p)?;
        let (kernel_cfg, kernel_dev) = (cfg.clone(), at.tundev.clone());
        let dev = at.tundev.clone();
        Ok(Launch {
            client: Client {
                program: "wireguard-go",
                args: vec!["-f".into(), at.tundev.clone()],
                stdin: None,
                files: Vec::new(),
            },
            kernel: Some(KernelTunnel {
                make: make_link,
                configure: Box::new(move |ifindex, netns| {
                    let eps = resolve(&kernel_cfg)?;
                    let msg = wg_kernel::set_device_message(ifindex, &kernel_cfg, &eps)?;
                    wg_kernel::configure(netns, msg)?;
                    Ok(kernel_cfg.vpn_config(&kernel_dev))
                }),
            }),
            // wireguard-go has no hook: the daemon configures it over its
            // control socket, then goes on as if a hook had reported.
            configure: Some(Box::new(move || {
                let eps = resolve(&cfg)?;
                configure(&dev, &cfg.uapi(&eps), Duration::from_secs(5))?;
                Ok(cfg.vpn_config(&dev))
            })),
        })
    }
}

/// Makes the kernel's `wireguard` link.
fn make_link<'a>(h: &'a NetlinkHandle, name: &'a str) -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(crate::netlink::add_wireguard(h, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode() {
        let k = key("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=").unwrap();
        assert_eq!(
            hex(&k),
            "c809f3e5317e9575c9b5ed78b638b7ce530dabe85ddab614220241801ddf0669"
        );
        assert!(key("short").is_err());
        assert!(key("not base64 at all!").is_err());
    }

    fn profile(text: &str) -> Profile {
        Profile::from_keyfile(text).unwrap()
    }

    const KF: &str = "[connection]
id=wg
uuid=7f1a5c3e-1111-4d2b-8c8d-0123456789ab
type=wireguard
interface-name=wg0
netns-isolate=true

[wireguard]
private-key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=

[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]
endpoint=203.0.113.1:51820
allowed-ips=0.0.0.0/0;10.99.0.0/24;
persistent-keepalive=25

[ipv4]
address1=10.66.0.2/24
dns=10.99.0.53;
dns-search=corp.test;
method=manual
";

    #[test]
    fn profile_to_uapi_and_config() {
        let c = Config::from_profile(&profile(KF)).unwrap();
        assert_eq!(c.peers.len(), 1);
        assert_eq!(c.addresses[0].to_string(), "10.66.0.2/24");
        let eps = resolve(&c).unwrap();
        let u = c.uapi(&eps);
        assert!(u.starts_with("set=1\nprivate_key=c809f3e5"), "{u}");
        assert!(u.contains("endpoint=203.0.113.1:51820\n"), "{u}");
        assert!(
            u.contains("allowed_ip=0.0.0.0/0\nallowed_ip=10.99.0.0/24\n"),
            "{u}"
        );
        assert!(u.contains("persistent_keepalive_interval=25\n"), "{u}");
        assert!(u.ends_with("\n\n"));
        let v = c.vpn_config("nswg1");
        assert_eq!(v.routes, vec![("10.99.0.0/24".parse().unwrap(), None)]);
        assert_eq!(v.dns, vec!["10.99.0.53".parse::<IpAddr>().unwrap()]);
        assert_eq!(v.domains, vec!["corp.test".to_string()]);
    }

    /// What NetworkManager's WireGuard importer writes (1.40 and later):
    /// addresses as address1/addresses, dns-search=~ (no "search ~"), DNS
    /// with a server name.
    #[test]
    fn networkmanagers_importer_forms() {
        let kf = KF.replace(
            "address1=10.66.0.2/24\ndns=10.99.0.53;\ndns-search=corp.test;\n",
            "addresses=10.66.0.2/24;\ndns=10.99.0.53#dns.corp.test;\ndns-search=~;\n",
        ) + "\n[ipv6]\naddress1=fd66::2/64\nmethod=manual\n";
        let c = Config::from_profile(&profile(&kf)).unwrap();
        let a: Vec<String> = c.addresses.iter().map(|a| a.to_string()).collect();
        assert_eq!(a, ["10.66.0.2/24", "fd66::2/64"]);
        assert_eq!(c.dns, vec!["10.99.0.53".parse::<IpAddr>().unwrap()]);
        assert!(c.search.is_empty(), "{:?}", c.search);
        let v = c.vpn_config("nswg1");
        assert_eq!(v.addr4.unwrap().to_string(), "10.66.0.2/24");
        assert_eq!(v.addr6.unwrap().to_string(), "fd66::2/64");
        let kf = KF.replace("address1=", "address=");
        assert_eq!(
            Config::from_profile(&profile(&kf)).unwrap().addresses[0].to_string(),
            "10.66.0.2/24"
        );
    }

    #[test]
    fn bad_profiles_name_the_key() {
        let no_peer = KF.split("[wireguard-peer").next().unwrap().to_string()
            + "[ipv4]\naddress1=10.66.0.2/24\nmethod=manual\n";
        let e = Config::from_profile(&profile(&no_peer)).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("peer")),
            "{e:?}"
        );
        let bad_key = KF.replace("yAnz5TF", "!!!");
        let e = Config::from_profile(&profile(&bad_key)).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("wireguard.private-key")),
            "{e:?}"
        );
    }

    #[test]
    fn as_a_vpn_type() {
        let p = profile(KF);
        WireGuard.validate(&p).unwrap();
        let at = Activation::in_dir("/run/netnsd/vpn".into(), 5, std::path::Path::new("/bin/n"));
        let l = WireGuard.launch(&p, &at).unwrap();
        // The kernel's link first, wireguard-go where it has none; the
        // daemon configures either: no helper, no file, no key in argv.
        assert!(l.kernel.is_some() && l.configure.is_some());
        assert_eq!(
            l.client,
            Client {
                program: "wireguard-go",
                args: vec!["-f".into(), "nsvpn5".into()],
                stdin: None,
                files: Vec::new(),
            }
        );
        assert!(WireGuard.reported(&Default::default()).is_err());

        let e = WireGuard
            .validate(&profile(&KF.replace("private-key=", "x-private-key=")))
            .unwrap_err();
        assert!(
            matches!(&e, Error::InvalidArgument(m) if m.contains("wireguard.private-key")),
            "{e:?}"
        );
    }
}
