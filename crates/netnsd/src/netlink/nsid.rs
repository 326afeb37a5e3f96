//! Namespace ids (nsids): the number the daemon's namespace knows another
//! namespace by, which tags that namespace's events on the events socket.
//! Asked for and assigned as `ip netns set NAME auto` does (RTM_GETNSID,
//! RTM_NEWNSID), over a blocking socket of the daemon's namespace: the
//! kernel answers before send returns.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use rtnetlink::sys::Socket;
use rtnetlink::sys::protocols::NETLINK_ROUTE;

/// A blocking netlink socket of the daemon's namespace for nsid requests.
pub(super) struct NsidSocket {
    socket: Socket,
    seq: u32,
}

impl NsidSocket {
    pub(super) fn new() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        Ok(NsidSocket { socket, seq: 0 })
    }

    /// The nsid the daemon's namespace has for `ns`, giving it one (picked
    /// by the kernel) if it has none, as `ip netns set NAME auto` does.
    pub(super) fn assign(&mut self, ns: &File) -> io::Result<i32> {
        let mut m = NsidMessage::default();
        m.attributes = vec![
            NsidAttribute::Fd(ns.as_raw_fd() as u32),
            NsidAttribute::Id(-1),
        ];
        match self.request(RouteNetlinkMessage::NewNsId(m), NLM_F_REQUEST | NLM_F_ACK) {
            // EEXIST: it has one already (the kernel gives one to the far
            // namespace of a veth, for instance).
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        self.get(ns)?
            .ok_or_else(|| io::Error::other("the namespace has no nsid right after RTM_NEWNSID"))
    }

    /// The nsid the daemon's namespace has for `ns`, if any.
    pub(super) fn get(&mut self, ns: &File) -> io::Result<Option<i32>> {
        let mut m = NsidMessage::default();
        m.attributes = vec![NsidAttribute::Fd(ns.as_raw_fd() as u32)];
        let answer = self.request(RouteNetlinkMessage::GetNsId(m), NLM_F_REQUEST)?;
        let Some(RouteNetlinkMessage::NewNsId(m)) = answer else {
            return Err(io::Error::other("no answer to RTM_GETNSID"));
        };
        Ok(m.attributes.iter().find_map(|a| match a {
            NsidAttribute::Id(id) if *id >= 0 => Some(*id),
            _ => None,
        }))
    }

    /// Sends one request and reads its answer: the message the kernel sent
    /// back, or None for a bare acknowledgement; a refusal is an error.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Option<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        req.header.sequence_number = self.seq;
        req.finalize();
        let mut out = vec![0u8; req.buffer_len()];
        req.serialize(&mut out);
        self.socket.send(&out, 0)?;
        let mut buf = vec![0u8; 8192];
        loop {
            // The kernel handles a route request within send: the answer is
            // already queued, and a missing one must not hang the daemon.
            let n = self
                .socket
                .recv(&mut &mut buf[..], libc::MSG_DONTWAIT)?
                .min(buf.len());
            let mut rest = &buf[..n];
            while rest.len() >= 16 {
                let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if len < 16 || len > rest.len() {
                    break;
                }
                let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
                    .map_err(|e| io::Error::other(format!("undecodable netlink answer: {e}")))?;
                rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
                if m.header.sequence_number != self.seq {
                    continue;
                }
                return match m.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        None => Ok(None),
                    },
                    NetlinkPayload::InnerMessage(m) => Ok(Some(m)),
                    _ => Ok(None),
                };
            }
        }
    }
}
