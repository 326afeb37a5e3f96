//! Netlink, in process: per-namespace requests and the daemon's one events
//! socket, cheap enough for thousands of namespaces.
//!
//! A namespace is a [`Platform`]: a [`NetlinkHandle`] whose connection is
//! opened in that namespace when a request comes and closed when idle
//! (`handles`), and its place on the [`Events`] socket, which carries the
//! link and address events of every namespace the daemon follows, each
//! tagged by its namespace id (`events`, `nsid`).
//!
//! The operations, one file per object as rtnetlink has them: `link`
//! (creating, changing, moving, looking up; what a link message says),
//! `address`, `route`, `rule`. Each builds its message with a pure
//! function, sends it with `request`, and turns a kernel refusal into a
//! typed error that says which step failed and why (`error`). The handle is
//! already bound to the namespace the operation happens in: nothing here
//! forks, runs `ip`, or calls setns on a tokio worker (sockets for another
//! namespace are opened by [`crate::netns::thread`]).
//!
//! The values (routes, rules, link options) and their `a{sv}` form are
//! netnsd-api's; this module turns them into kernel messages and back.

mod address;
mod bridge;
mod error;
mod events;
mod handles;
mod link;
mod nsid;
mod platform;
mod request;
mod route;
mod routewatch;
mod rule;

pub use address::{
    add_address, add_address_with, add_link_local, add_peer_address, address_of, del_address,
};
pub use bridge::{
    add_fdb_static, del_neighbour, links_named, permanent_neighbours, set_bridge_port,
    set_permanent_neighbour,
};
pub use error::{errno, map_err, with_context};
pub use events::{Event, EventTx, Events};
pub use handles::{IDLE, NetlinkHandle};
#[cfg(test)]
pub(crate) use link::xfrm_message as link_xfrm_message;
pub use link::{
    LinkState, TunnelKind, TunnelOptions, VethEnds, add_bridge, add_macvlan, add_tunnel, add_veth,
    add_veth_echo, add_vlan, add_wireguard, add_xfrm, delete_link, format_mac, ifindex_by_name,
    link_by_name, link_name, rename, set_hw_address, set_master, set_mtu, set_netns,
    set_no_link_local, set_up, set_up_without_link_local, stable_mac,
};
pub use platform::{Devices, Platform, Unnamed};
pub use request::in_order;
pub use route::{
    RTPROT_NETNSD, add_route, del_route, list_routes, protocol_name, route_entry, route_to_dict,
};
pub use routewatch::{DefaultRouteWatch, start as watch_default_routes};
pub use rule::{add_rule, del_rule, list_rules, rule_entry, rule_to_dict};
