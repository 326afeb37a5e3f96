//! Where a profile connects: the keys that, changed by Update, would send
//! its stored secrets (a password, a key's passphrase, a proxy's password)
//! to another server, or have them trust another one. Such an Update keeps
//! the stored secrets only for a caller who may read them (polkit's
//! read-secrets): modify-settings alone cannot redirect a password.

use std::collections::BTreeMap;

use crate::settings::{Profile, Value};

/// vpn.data items that name the server, its port, a proxy on the way, or
/// what the server is trusted by (OpenVPN, OpenConnect and the
/// NetworkManager plugins' names for them).
const VPN_DATA_KEYS: &[&str] = &[
    // OpenVPN
    "remote",
    "port",
    "proto-tcp",
    "remote-ip",
    "ca",
    "tls-remote",
    "verify-x509-name",
    "remote-cert-tls",
    "http-proxy",
    "http-proxy-port",
    "socks-proxy",
    "socks-proxy-port",
    "proxy-type",
    "proxy-server",
    "proxy-port",
    // OpenConnect
    "gateway",
    "protocol",
    "cacert",
    "servercert",
    "proxy",
];

/// The part of a profile that says where it connects: its type, VPN
/// service, the vpn.data items above, and every WireGuard peer (its public
/// key and endpoint).
pub fn destination(p: &Profile) -> BTreeMap<String, String> {
    let mut d = BTreeMap::new();
    d.insert("connection.type".into(), p.kind().to_owned());
    if let Some(s) = p.vpn_service_type() {
        d.insert("vpn.service-type".into(), s.to_owned());
    }
    let data = p.vpn_data();
    for k in VPN_DATA_KEYS {
        if let Some(v) = data.get(*k) {
            d.insert(format!("vpn.data.{k}"), v.clone());
        }
    }
    for (name, keys) in p.settings() {
        if let Some(peer) = name.strip_prefix("wireguard-peer.") {
            let endpoint = match keys.get("endpoint") {
                Some(Value::Str(e)) => e.clone(),
                _ => String::new(),
            };
            d.insert(format!("wireguard-peer.{peer}"), endpoint);
        }
    }
    d
}

/// Whether going from `old` to `new` changes where the profile connects.
pub fn moved(old: &Profile, new: &Profile) -> bool {
    destination(old) != destination(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ovpn(remote: &str, extra: &str) -> Profile {
        Profile::from_keyfile(&format!(
            "[connection]\nid=corp\nuuid=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\ntype=vpn\n\n\
             [vpn]\nservice-type=org.freedesktop.NetworkManager.openvpn\n\
             connection-type=password\nremote={remote}\nusername=alice\n{extra}\n\
             [vpn-secrets]\npassword=hunter2\n"
        ))
        .unwrap()
    }

    fn wg(endpoint: &str) -> Profile {
        Profile::from_keyfile(&format!(
            "[connection]\nid=wg\nuuid=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f1\ntype=wireguard\n\n\
             [wireguard]\nprivate-key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\n\
             [wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]\n\
             endpoint={endpoint}\nallowed-ips=0.0.0.0/0;\n"
        ))
        .unwrap()
    }

    #[test]
    fn the_server_and_what_vouches_for_it_count() {
        let a = ovpn("vpn.example.com:1194", "");
        assert!(!moved(&a, &ovpn("vpn.example.com:1194", "")));
        assert!(moved(&a, &ovpn("evil.example.net:1194", "")));
        assert!(moved(
            &a,
            &ovpn("vpn.example.com:1194", "ca=/tmp/other-ca.pem\n")
        ));
        assert!(moved(
            &a,
            &ovpn("vpn.example.com:1194", "http-proxy=proxy.example.net\n")
        ));
        // Other settings do not.
        assert!(!moved(&a, &ovpn("vpn.example.com:1194", "mssfix=1400\n")));
    }

    #[test]
    fn wireguard_peers_and_endpoints_count() {
        let a = wg("192.0.2.1:51820");
        assert!(!moved(&a, &wg("192.0.2.1:51820")));
        assert!(moved(&a, &wg("198.51.100.7:51820")));
    }
}
