//! The one place where requests go out: one message over a namespace's
//! [`NetlinkHandle`], and what the kernel answers; a refusal is the error.

use futures::StreamExt;
use futures::future::BoxFuture;
use netlink_packet_route::RouteNetlinkMessage;
use netnsd_api::Error;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};

use super::handles::NetlinkHandle as Handle;

/// Create something new; fail if it exists (`ip … add`).
pub(super) const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/// Change or delete something that exists.
pub(super) const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Asks for one object (`ip link show dev X`).
pub(super) const GET: u16 = NLM_F_REQUEST;
/// Everything of a kind (`ip … show`).
pub(super) const DUMP: u16 = NLM_F_REQUEST | NLM_F_DUMP;

/// Sends one request and collects what the kernel answers; a NACK becomes
/// the error. The one place where messages go out.
pub(super) async fn request(
    h: &Handle,
    msg: RouteNetlinkMessage,
    flags: u16,
) -> Result<Vec<RouteNetlinkMessage>, rtnetlink::Error> {
    tracing::trace!(?msg, flags, "netlink request");
    let mut req = NetlinkMessage::from(msg);
    req.header.flags = flags;
    // Held until the last answer: the connection ends with its last handle.
    let mut handle = h.get().await?;
    let mut answers = handle.request(req)?;
    let mut out = Vec::new();
    while let Some(answer) = answers.next().await {
        match answer.payload {
            NetlinkPayload::InnerMessage(m) => out.push(m),
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(rtnetlink::Error::NetlinkError(e));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Runs requests to one namespace back to back: each is sent before the
/// answer to the one before it has been read, and the kernel handles a
/// socket's requests one after another in the order they were sent (each
/// within its send), so a step still sees what the steps before it did —
/// a route its gateway's address, an address its link. What is saved is a
/// wake-up and a hand-off to the connection's task and back per step (the
/// task sends all of them when it wakes: `handles::Eager`).
/// Every step is sent (as `ip -batch` sends every line); the first error,
/// in the order given, is the answer.
///
/// Each step must send its one request when first polled, as the
/// operations of this module do (the handle's lock is taken in turn, and
/// the connection's queue keeps the order); a step that looks something up
/// before its request would let the next one go first.
pub async fn in_order(steps: Vec<BoxFuture<'_, Result<(), Error>>>) -> Result<(), Error> {
    futures::future::join_all(steps).await.into_iter().collect()
}
