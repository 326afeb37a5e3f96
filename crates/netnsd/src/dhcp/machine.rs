//! The DHCPv4 client's state machine (RFC 2131, 4.4): no sockets and no
//! clock of its own. It is fed the time (milliseconds since the epoch, so a
//! lease journalled by one run of the daemon means the same to the next) and
//! the messages that arrive, and answers with what to send and what changed.

use std::net::Ipv4Addr;

use dhcproto::v4::{DhcpOption, Flags, Message, MessageType, Opcode, OptionCode};
use serde::{Deserialize, Serialize};

/// First retransmission of DISCOVER and REQUEST while getting a lease;
/// doubled each time up to [`MAX_RETRY_MS`].
const FIRST_RETRY_MS: u64 = 1_000;
const MAX_RETRY_MS: u64 = 8_000;
/// REQUESTs sent for one OFFER before starting over with DISCOVER.
const REQUEST_TRIES: u32 = 4;
/// RENEWING and REBINDING retransmit after half the time left, but no
/// sooner than this (RFC 2131, 4.4.5).
const MIN_RENEW_RETRY_MS: u64 = 60_000;

/// A lease as granted by a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub server: Ipv4Addr,
    #[serde(default)]
    pub router: Option<Ipv4Addr>,
    #[serde(default)]
    pub dns: Vec<Ipv4Addr>,
    #[serde(default)]
    pub domain: Option<String>,
    pub lease_secs: u32,
    pub t1_secs: u32,
    pub t2_secs: u32,
    /// When it was granted, ms since the epoch.
    pub obtained_ms: u64,
}

impl Lease {
    pub fn renew_at(&self) -> u64 {
        self.obtained_ms + u64::from(self.t1_secs) * 1000
    }
    pub fn rebind_at(&self) -> u64 {
        self.obtained_ms + u64::from(self.t2_secs) * 1000
    }
    pub fn expires_at(&self) -> u64 {
        self.obtained_ms + u64::from(self.lease_secs) * 1000
    }

    /// The lease an ACK grants, received at `now`; None if it grants none.
    fn from_ack(msg: &Message, now: u64, fallback_server: Option<Ipv4Addr>) -> Option<Lease> {
        let address = msg.yiaddr();
        if address.is_unspecified() || address.is_broadcast() {
            return None;
        }
        let opts = msg.opts();
        let server = match opts.get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(s)) => *s,
            _ => fallback_server?,
        };
        let lease_secs = match opts.get(OptionCode::AddressLeaseTime) {
            Some(DhcpOption::AddressLeaseTime(t)) if *t > 0 => *t,
            _ => return None,
        };
        let prefix = match opts.get(OptionCode::SubnetMask) {
            Some(DhcpOption::SubnetMask(m)) => u32::from(*m).count_ones() as u8,
            _ => 24,
        };
        let router = match opts.get(OptionCode::Router) {
            Some(DhcpOption::Router(r)) => r.first().copied(),
            _ => None,
        };
        let dns = match opts.get(OptionCode::DomainNameServer) {
            Some(DhcpOption::DomainNameServer(d)) => d.clone(),
            _ => Vec::new(),
        };
        let domain = match opts.get(OptionCode::DomainName) {
            Some(DhcpOption::DomainName(d)) => Some(d.clone()),
            _ => None,
        };
        // T1 and T2 default to 1/2 and 7/8 of the lease, and are kept in
        // order whatever the server says.
        let t2 = match opts.get(OptionCode::Rebinding) {
            Some(DhcpOption::Rebinding(t)) if *t < lease_secs => *t,
            _ => (u64::from(lease_secs) * 7 / 8) as u32,
        };
        let t1 = match opts.get(OptionCode::Renewal) {
            Some(DhcpOption::Renewal(t)) if *t <= t2 => *t,
            _ => (lease_secs / 2).min(t2),
        };
        Some(Lease {
            address,
            prefix,
            server,
            router,
            dns,
            domain,
            lease_secs,
            t1_secs: t1,
            t2_secs: t2,
            obtained_ms: now,
        })
    }
}

/// Where a message goes: to port 67 of everyone on the link, or of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    Broadcast,
    Unicast(Ipv4Addr),
}

/// What the machine asks of its driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Send(Message, Dest),
    /// A first lease (after DISCOVER, or after one was lost).
    Bound(Lease),
    /// The lease was renewed or rebound (perhaps changed).
    Renewed(Lease),
    /// The lease expired or the server refused it: its address must go.
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Init,
    Selecting { xid: u32, retry: u64 },
    Requesting { xid: u32, offer: Lease, tries: u32 },
    Bound { lease: Lease },
    Renewing { xid: u32, lease: Lease },
    Rebinding { xid: u32, lease: Lease },
}

pub struct Machine {
    mac: [u8; 6],
    state: State,
    /// When `on_timer` has something to do.
    timer: Option<u64>,
    next_xid: u32,
}

impl Machine {
    /// A machine for the interface with hardware address `mac`; `xid_seed`
    /// starts its transaction ids.
    pub fn new(mac: [u8; 6], xid_seed: u32) -> Machine {
        Machine {
            mac,
            state: State::Init,
            timer: None,
            next_xid: xid_seed,
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The lease held, if any.
    pub fn lease(&self) -> Option<&Lease> {
        match &self.state {
            State::Bound { lease }
            | State::Renewing { lease, .. }
            | State::Rebinding { lease, .. } => Some(lease),
            _ => None,
        }
    }

    /// When `on_timer` should next be called.
    pub fn deadline(&self) -> Option<u64> {
        self.timer
    }

    fn xid(&mut self) -> u32 {
        self.next_xid = self.next_xid.wrapping_add(1);
        self.next_xid
    }

    /// Starts over: DISCOVER.
    pub fn start(&mut self, now: u64) -> Vec<Out> {
        let xid = self.xid();
        self.state = State::Selecting {
            xid,
            retry: FIRST_RETRY_MS,
        };
        self.timer = Some(now + FIRST_RETRY_MS);
        vec![Out::Send(self.discover(xid), Dest::Broadcast)]
    }

    /// Takes up a lease held before (a restarted daemon's): bound until T1,
    /// or renewing, rebinding or starting over as its times say.
    pub fn resume(&mut self, lease: Lease, now: u64) -> Vec<Out> {
        if now >= lease.expires_at() {
            let mut out = vec![Out::Lost];
            out.extend(self.start(now));
            return out;
        }
        self.timer = Some(lease.renew_at());
        self.state = State::Bound { lease };
        self.on_timer(now)
    }

    /// Time has come to `now`.
    pub fn on_timer(&mut self, now: u64) -> Vec<Out> {
        match self.timer {
            Some(t) if now >= t => {}
            _ => return Vec::new(),
        }
        match std::mem::replace(&mut self.state, State::Init) {
            State::Init => {
                self.timer = None;
                Vec::new()
            }
            State::Selecting { xid, retry } => {
                let retry = (retry * 2).min(MAX_RETRY_MS);
                self.state = State::Selecting { xid, retry };
                self.timer = Some(now + retry);
                vec![Out::Send(self.discover(xid), Dest::Broadcast)]
            }
            State::Requesting { xid, offer, tries } => {
                if tries >= REQUEST_TRIES {
                    return self.start(now);
                }
                let msg = self.request_selecting(xid, &offer);
                self.state = State::Requesting {
                    xid,
                    offer,
                    tries: tries + 1,
                };
                self.timer = Some(now + (FIRST_RETRY_MS << tries).min(MAX_RETRY_MS));
                vec![Out::Send(msg, Dest::Broadcast)]
            }
            State::Bound { lease }
            | State::Renewing { lease, .. }
            | State::Rebinding { lease, .. }
                if now >= lease.expires_at() =>
            {
                let _ = lease;
                let mut out = vec![Out::Lost];
                out.extend(self.start(now));
                out
            }
            State::Bound { lease } if now < lease.rebind_at() => {
                let xid = self.xid();
                self.renew(now, xid, lease)
            }
            State::Renewing { xid, lease } if now < lease.rebind_at() => {
                self.renew(now, xid, lease)
            }
            State::Bound { lease }
            | State::Renewing { lease, .. }
            | State::Rebinding { lease, .. } => {
                let xid = self.xid();
                let msg = self.request_held(xid, &lease);
                self.timer = Some(retry_at(now, lease.expires_at()));
                self.state = State::Rebinding { xid, lease };
                vec![Out::Send(msg, Dest::Broadcast)]
            }
        }
    }

    /// A message arrived at `now`.
    pub fn on_message(&mut self, msg: &Message, now: u64) -> Vec<Out> {
        if msg.opcode() != Opcode::BootReply || msg.chaddr().get(..6) != Some(&self.mac[..]) {
            return Vec::new();
        }
        let Some(kind) = msg.opts().msg_type() else {
            return Vec::new();
        };
        match (&self.state, kind) {
            (State::Selecting { xid, .. }, MessageType::Offer) if msg.xid() == *xid => {
                let xid = *xid;
                // An offer is read as a lease would be, to check it is one.
                let Some(offer) = Lease::from_ack(msg, now, None) else {
                    return Vec::new();
                };
                let out = self.request_selecting(xid, &offer);
                self.state = State::Requesting {
                    xid,
                    offer,
                    tries: 1,
                };
                self.timer = Some(now + FIRST_RETRY_MS);
                vec![Out::Send(out, Dest::Broadcast)]
            }
            (State::Requesting { xid, offer, .. }, MessageType::Ack) if msg.xid() == *xid => {
                let Some(lease) = Lease::from_ack(msg, now, Some(offer.server)) else {
                    return Vec::new();
                };
                if lease.server != offer.server {
                    return Vec::new();
                }
                self.bound(lease.clone());
                vec![Out::Bound(lease)]
            }
            (State::Requesting { xid, .. }, MessageType::Nak) if msg.xid() == *xid => {
                self.start(now)
            }
            (
                State::Renewing { xid, lease } | State::Rebinding { xid, lease },
                MessageType::Ack,
            ) if msg.xid() == *xid => {
                let Some(new) = Lease::from_ack(msg, now, Some(lease.server)) else {
                    return Vec::new();
                };
                self.bound(new.clone());
                vec![Out::Renewed(new)]
            }
            (State::Renewing { xid, .. } | State::Rebinding { xid, .. }, MessageType::Nak)
                if msg.xid() == *xid =>
            {
                let mut out = vec![Out::Lost];
                out.extend(self.start(now));
                out
            }
            _ => Vec::new(),
        }
    }

    /// RENEWING: REQUEST to the server that granted the lease.
    fn renew(&mut self, now: u64, xid: u32, lease: Lease) -> Vec<Out> {
        let msg = self.request_held(xid, &lease);
        let to = Dest::Unicast(lease.server);
        self.timer = Some(retry_at(now, lease.rebind_at()));
        self.state = State::Renewing { xid, lease };
        vec![Out::Send(msg, to)]
    }

    fn bound(&mut self, lease: Lease) {
        self.timer = Some(lease.renew_at());
        self.state = State::Bound { lease };
    }

    /// Gives the lease back: the RELEASE to send, if one is held.
    pub fn release(&mut self) -> Option<(Message, Dest)> {
        let lease = self.lease()?.clone();
        let xid = self.xid();
        let mut m = self.message(xid, MessageType::Release);
        m.set_ciaddr(lease.address);
        m.opts_mut()
            .insert(DhcpOption::ServerIdentifier(lease.server));
        self.state = State::Init;
        self.timer = None;
        Some((m, Dest::Unicast(lease.server)))
    }

    fn message(&self, xid: u32, kind: MessageType) -> Message {
        let z = Ipv4Addr::UNSPECIFIED;
        let mut m = Message::new_with_id(xid, z, z, z, z, &self.mac);
        m.set_opcode(Opcode::BootRequest);
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(kind));
        let mut id = vec![1u8];
        id.extend_from_slice(&self.mac);
        o.insert(DhcpOption::ClientIdentifier(id));
        m
    }

    fn with_params(mut m: Message) -> Message {
        m.opts_mut().insert(DhcpOption::ParameterRequestList(vec![
            OptionCode::SubnetMask,
            OptionCode::Router,
            OptionCode::DomainNameServer,
            OptionCode::DomainName,
            OptionCode::AddressLeaseTime,
            OptionCode::Renewal,
            OptionCode::Rebinding,
        ]));
        m
    }

    fn discover(&self, xid: u32) -> Message {
        let mut m = Self::with_params(self.message(xid, MessageType::Discover));
        // No address yet: the answer must be broadcast to be heard.
        m.set_flags(Flags::default().set_broadcast());
        m
    }

    fn request_selecting(&self, xid: u32, offer: &Lease) -> Message {
        let mut m = Self::with_params(self.message(xid, MessageType::Request));
        m.set_flags(Flags::default().set_broadcast());
        let o = m.opts_mut();
        o.insert(DhcpOption::RequestedIpAddress(offer.address));
        o.insert(DhcpOption::ServerIdentifier(offer.server));
        m
    }

    /// REQUEST while holding `lease` (RENEWING, or REBINDING): ciaddr set,
    /// no server id or requested address (RFC 2131, 4.3.2).
    fn request_held(&self, xid: u32, lease: &Lease) -> Message {
        let mut m = Self::with_params(self.message(xid, MessageType::Request));
        m.set_ciaddr(lease.address);
        m
    }
}

/// When to retransmit in RENEWING and REBINDING: after half the time left
/// until `until`, at least MIN_RENEW_RETRY_MS, never after `until`.
fn retry_at(now: u64, until: u64) -> u64 {
    let left = until.saturating_sub(now);
    now + (left / 2).max(MIN_RENEW_RETRY_MS).min(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
    const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

    fn reply(to: &Message, kind: MessageType, lease_secs: u32) -> Message {
        let z = Ipv4Addr::UNSPECIFIED;
        let mut m = Message::new_with_id(to.xid(), z, ADDR, z, z, &MAC);
        m.set_opcode(Opcode::BootReply);
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(kind));
        o.insert(DhcpOption::ServerIdentifier(SERVER));
        o.insert(DhcpOption::AddressLeaseTime(lease_secs));
        o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
        o.insert(DhcpOption::Router(vec![SERVER]));
        o.insert(DhcpOption::DomainNameServer(vec![SERVER]));
        m
    }

    fn sent(out: &[Out]) -> (Message, Dest) {
        out.iter()
            .find_map(|o| match o {
                Out::Send(m, d) => Some((m.clone(), *d)),
                _ => None,
            })
            .expect("something sent")
    }

    fn kind(m: &Message) -> MessageType {
        m.opts().msg_type().unwrap()
    }

    /// DISCOVER, OFFER, REQUEST, ACK at t=0; lease of 120 s.
    fn bound_machine() -> (Machine, Lease) {
        let mut m = Machine::new(MAC, 7);
        let (d, to) = sent(&m.start(0));
        assert_eq!((kind(&d), to), (MessageType::Discover, Dest::Broadcast));
        assert!(d.flags().broadcast());
        let (r, to) = sent(&m.on_message(&reply(&d, MessageType::Offer, 120), 10));
        assert_eq!((kind(&r), to), (MessageType::Request, Dest::Broadcast));
        assert_eq!(r.xid(), d.xid());
        assert_eq!(
            r.opts().get(OptionCode::RequestedIpAddress),
            Some(&DhcpOption::RequestedIpAddress(ADDR))
        );
        assert_eq!(
            r.opts().get(OptionCode::ServerIdentifier),
            Some(&DhcpOption::ServerIdentifier(SERVER))
        );
        let out = m.on_message(&reply(&r, MessageType::Ack, 120), 20);
        let Some(Out::Bound(lease)) = out.first() else {
            panic!("not bound: {out:?}")
        };
        assert_eq!(lease.address, ADDR);
        assert_eq!(lease.prefix, 24);
        assert_eq!(lease.router, Some(SERVER));
        assert_eq!(lease.dns, vec![SERVER]);
        assert_eq!((lease.t1_secs, lease.t2_secs), (60, 105));
        assert_eq!(m.deadline(), Some(20 + 60_000));
        let lease = lease.clone();
        (m, lease)
    }

    #[test]
    fn discover_offer_request_ack() {
        bound_machine();
    }

    #[test]
    fn discover_is_retransmitted_with_backoff() {
        let mut m = Machine::new(MAC, 1);
        let (d, _) = sent(&m.start(0));
        assert_eq!(m.deadline(), Some(1_000));
        assert!(m.on_timer(999).is_empty());
        let (d2, _) = sent(&m.on_timer(1_000));
        assert_eq!(d2.xid(), d.xid());
        assert_eq!(m.deadline(), Some(3_000));
        sent(&m.on_timer(3_000));
        assert_eq!(m.deadline(), Some(7_000));
        sent(&m.on_timer(7_000));
        assert_eq!(m.deadline(), Some(15_000));
        sent(&m.on_timer(15_000));
        assert_eq!(m.deadline(), Some(23_000));
    }

    #[test]
    fn strangers_and_wrong_transactions_are_ignored() {
        let mut m = Machine::new(MAC, 1);
        let (d, _) = sent(&m.start(0));
        let mut other = reply(&d, MessageType::Offer, 120);
        other.set_xid(d.xid() + 5);
        assert!(m.on_message(&other, 1).is_empty());
        let mut other = reply(&d, MessageType::Offer, 120);
        other.set_chaddr(&[9, 9, 9, 9, 9, 9]);
        assert!(m.on_message(&other, 1).is_empty());
        // An ACK while selecting: no lease from it.
        assert!(
            m.on_message(&reply(&d, MessageType::Ack, 120), 1)
                .is_empty()
        );
        // A request of ours echoed back (op BootRequest).
        assert!(m.on_message(&d, 1).is_empty());
        assert!(matches!(m.state(), State::Selecting { .. }));
    }

    #[test]
    fn nak_while_requesting_starts_over() {
        let mut m = Machine::new(MAC, 1);
        let (d, _) = sent(&m.start(0));
        let (r, _) = sent(&m.on_message(&reply(&d, MessageType::Offer, 120), 1));
        let (d2, _) = sent(&m.on_message(&reply(&r, MessageType::Nak, 0), 2));
        assert_eq!(kind(&d2), MessageType::Discover);
        assert_ne!(d2.xid(), d.xid());
    }

    #[test]
    fn unanswered_requests_start_over() {
        let mut m = Machine::new(MAC, 1);
        let (d, _) = sent(&m.start(0));
        sent(&m.on_message(&reply(&d, MessageType::Offer, 120), 0));
        let mut now = 0;
        for _ in 1..REQUEST_TRIES {
            now = m.deadline().unwrap();
            assert_eq!(kind(&sent(&m.on_timer(now)).0), MessageType::Request);
        }
        now = m.deadline().unwrap().max(now);
        assert_eq!(kind(&sent(&m.on_timer(now)).0), MessageType::Discover);
    }

    #[test]
    fn renews_at_t1_unicast_then_rebinds_at_t2_broadcast() {
        let (mut m, lease) = bound_machine();
        assert!(m.on_timer(lease.renew_at() - 1).is_empty());
        let (r, to) = sent(&m.on_timer(lease.renew_at()));
        assert_eq!(
            (kind(&r), to),
            (MessageType::Request, Dest::Unicast(SERVER))
        );
        assert_eq!(r.ciaddr(), ADDR);
        assert!(r.opts().get(OptionCode::ServerIdentifier).is_none());
        assert!(r.opts().get(OptionCode::RequestedIpAddress).is_none());
        assert!(matches!(m.state(), State::Renewing { .. }));
        // 45 s to T2: the next try is at T2, not after 60 s.
        assert_eq!(m.deadline(), Some(lease.rebind_at()));
        let (b, to) = sent(&m.on_timer(lease.rebind_at()));
        assert_eq!((kind(&b), to), (MessageType::Request, Dest::Broadcast));
        assert_eq!(b.ciaddr(), ADDR);
        assert!(matches!(m.state(), State::Rebinding { .. }));
        assert_eq!(m.deadline(), Some(lease.expires_at()));
        // Answered while rebinding: renewed, timers from the new grant.
        let now = lease.rebind_at() + 5;
        let out = m.on_message(&reply(&b, MessageType::Ack, 120), now);
        let Some(Out::Renewed(new)) = out.first() else {
            panic!("{out:?}")
        };
        assert_eq!(new.obtained_ms, now);
        assert_eq!(m.deadline(), Some(now + 60_000));
        assert!(matches!(m.state(), State::Bound { .. }));
    }

    #[test]
    fn renewal_ack_renews() {
        let (mut m, lease) = bound_machine();
        let (r, _) = sent(&m.on_timer(lease.renew_at()));
        let out = m.on_message(&reply(&r, MessageType::Ack, 600), lease.renew_at() + 1);
        let Some(Out::Renewed(new)) = out.first() else {
            panic!("{out:?}")
        };
        assert_eq!(new.lease_secs, 600);
        assert_eq!(m.lease(), Some(new));
    }

    #[test]
    fn expiry_loses_the_lease_and_starts_over() {
        let (mut m, lease) = bound_machine();
        sent(&m.on_timer(lease.renew_at()));
        sent(&m.on_timer(lease.rebind_at()));
        let out = m.on_timer(lease.expires_at());
        assert_eq!(out.first(), Some(&Out::Lost));
        assert_eq!(kind(&sent(&out).0), MessageType::Discover);
        assert!(m.lease().is_none());
    }

    #[test]
    fn nak_while_renewing_loses_the_lease() {
        let (mut m, lease) = bound_machine();
        let (r, _) = sent(&m.on_timer(lease.renew_at()));
        let out = m.on_message(&reply(&r, MessageType::Nak, 0), lease.renew_at() + 1);
        assert_eq!(out.first(), Some(&Out::Lost));
        assert_eq!(kind(&sent(&out).0), MessageType::Discover);
    }

    #[test]
    fn release_is_unicast_with_the_address() {
        let (mut m, _) = bound_machine();
        let (r, to) = m.release().unwrap();
        assert_eq!(
            (kind(&r), to),
            (MessageType::Release, Dest::Unicast(SERVER))
        );
        assert_eq!(r.ciaddr(), ADDR);
        assert_eq!(
            r.opts().get(OptionCode::ServerIdentifier),
            Some(&DhcpOption::ServerIdentifier(SERVER))
        );
        assert!(m.release().is_none());
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn resume_follows_the_recorded_times() {
        let (_, lease) = bound_machine();
        let mut m = Machine::new(MAC, 3);
        assert!(m.resume(lease.clone(), lease.renew_at() - 10).is_empty());
        assert_eq!(m.lease(), Some(&lease));
        assert_eq!(m.deadline(), Some(lease.renew_at()));
        let mut m = Machine::new(MAC, 3);
        let (r, to) = sent(&m.resume(lease.clone(), lease.renew_at() + 10));
        assert_eq!(
            (kind(&r), to),
            (MessageType::Request, Dest::Unicast(SERVER))
        );
        let mut m = Machine::new(MAC, 3);
        let (_, to) = sent(&m.resume(lease.clone(), lease.rebind_at() + 10));
        assert_eq!(to, Dest::Broadcast);
        let mut m = Machine::new(MAC, 3);
        let out = m.resume(lease.clone(), lease.expires_at());
        assert_eq!(out.first(), Some(&Out::Lost));
    }

    #[test]
    fn timers_kept_in_order_whatever_the_server_says() {
        let z = Ipv4Addr::UNSPECIFIED;
        let mut m = Message::new_with_id(1, z, ADDR, z, z, &MAC);
        m.set_opcode(Opcode::BootReply);
        let o = m.opts_mut();
        o.insert(DhcpOption::ServerIdentifier(SERVER));
        o.insert(DhcpOption::AddressLeaseTime(100));
        o.insert(DhcpOption::Renewal(500));
        o.insert(DhcpOption::Rebinding(900));
        let l = Lease::from_ack(&m, 0, None).unwrap();
        assert!(l.t1_secs <= l.t2_secs && l.t2_secs < l.lease_secs);
        m.opts_mut().insert(DhcpOption::AddressLeaseTime(0));
        assert!(Lease::from_ack(&m, 0, None).is_none());
    }

    #[test]
    fn messages_encode_and_decode() {
        use dhcproto::{Decodable, Encodable};
        let mut m = Machine::new(MAC, 1);
        let (d, _) = sent(&m.start(0));
        let bytes = d.to_vec().unwrap();
        assert_eq!(Message::from_bytes(&bytes).unwrap(), d);
    }
}
