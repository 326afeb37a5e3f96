//! VPN plugins: each VPN type turns a profile into a client process run in
//! the uplink namespace, with the daemon in charge of the configuration:
//! the client touches no address, route or DNS of the host, and hands what
//! the server pushed to the daemon (through `netnsd --vpn-helper`), which
//! applies it where the tunnel ends up.

pub mod helper;
pub mod openconnect;
pub mod openvpn;
pub mod wg_kernel;
pub mod wireguard;

use std::net::IpAddr;

use crate::spec::Cidr;

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
}
#[cfg(test)]
mod fuzz;
