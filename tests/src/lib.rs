//! Harness and helpers for netnsd's integration tests (tests/tests/*.rs),
//! which run only inside the sandbox of `tests/run`.
//!
//! | module | what |
//! |---|---|
//! | [`harness`] | the sandbox guard, [`TestEnv`], [`Daemon`], commands with a timeout, the bus's basic proxies, polkit rules |
//! | [`platform`] | Device objects, the NetNsInstance link/address/route/rule methods, iproute2 as the observer |
//! | [`leftovers`] | the one "nothing is left" check, [`assert_nothing_left`], and the observers it is built from (/proc, nft) |
//! | [`wan`] | a `wan` namespace standing in for the internet; uplink, DNS and Spawn helpers |
//! | [`openvpn`] | the VPN rig (wan, corp, an OpenVPN server), profiles, connection proxies and state signals |
//! | [`vpnpeers`] | WireGuard and OpenConnect gateways in the rig's wan |
//! | [`isolated`] | the one check of an isolated VPN while it is up, [`assert_isolated_and_working`] |
//! | [`nm`] | the real NetworkManager run in the sandbox (profiles made by nmcli; both daemons on one host) |
//! | [`secret_agent`] | a scripted secret agent as a given user, activation as nsadmin |
//!
//! Each module uses only the ones above it in this table. The observers are
//! independent of the daemon: iproute2, nft, /proc, the filesystem, busctl
//! and gdbus, besides the shared zbus proxies.

pub mod chaos;
pub mod harness;
pub mod ipsec;
pub mod isolated;
pub mod leftovers;
pub mod nm;
pub mod openvpn;
pub mod outage;
pub mod platform;
pub mod secret_agent;
pub mod vpnpeers;
pub mod wan;

pub use harness::*;
pub use isolated::{Isolated, assert_isolated_and_working};
pub use leftovers::*;
pub use platform::*;
