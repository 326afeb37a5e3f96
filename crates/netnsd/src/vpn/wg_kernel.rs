//! WireGuard in the kernel: the interface is a `wireguard` link made with
//! rtnetlink in the uplink namespace (where its UDP socket then lives) and
//! configured there over generic netlink (`WG_CMD_SET_DEVICE` of the
//! `wireguard` family): private key, listen port, firewall mark, and per
//! peer its public key, preshared key, endpoint, persistent keepalive and
//! allowed IPs. The keys go from the daemon's memory to the kernel in one
//! netlink message: no command line, no file. The request buffer is
//! zeroed once sent.
//!
//! A kernel without WireGuard refuses the link with EOPNOTSUPP ("unknown
//! device type"); the caller then falls back to wireguard-go.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_wireguard::{
    WireguardAddressFamily, WireguardAllowedIp, WireguardAllowedIpAttr, WireguardAttribute,
    WireguardCmd, WireguardDeviceFlags, WireguardMessage, WireguardPeer, WireguardPeerAttribute,
    WireguardPeerFlags,
};
use netlink_sys::{Socket, protocols::NETLINK_GENERIC};
use nix::sched::{CloneFlags, setns};

use super::wireguard::Config;
use netnsd_api::Error;

/// How long to wait for the kernel's answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `WG_CMD_SET_DEVICE` request for the interface `ifindex`: the whole
/// configuration, replacing any peers it had (and each peer's allowed
/// IPs). `endpoints` are the peers' resolved endpoints, in order.
pub fn set_device_message(
    ifindex: u32,
    cfg: &Config,
    endpoints: &[Option<SocketAddr>],
) -> Result<WireguardMessage, Error> {
    let mut attributes = vec![
        WireguardAttribute::IfIndex(ifindex),
        WireguardAttribute::PrivateKey(cfg.private_key),
    ];
    if let Some(p) = cfg.listen_port {
        let p = u16::try_from(p).map_err(|_| {
            Error::InvalidArgument(format!("wireguard.listen-port: {p} is not a UDP port"))
        })?;
        attributes.push(WireguardAttribute::ListenPort(p));
    }
    if let Some(m) = cfg.fwmark {
        attributes.push(WireguardAttribute::Fwmark(m));
    }
    attributes.push(WireguardAttribute::Flags(
        WireguardDeviceFlags::ReplacePeers,
    ));
    let mut peers = Vec::with_capacity(cfg.peers.len());
    for (peer, ep) in cfg.peers.iter().zip(endpoints) {
        let mut a = vec![WireguardPeerAttribute::PublicKey(peer.public_key)];
        if let Some(k) = peer.preshared_key {
            a.push(WireguardPeerAttribute::PresharedKey(k));
        }
        if let Some(ep) = ep {
            a.push(WireguardPeerAttribute::Endpoint(*ep));
        }
        if let Some(k) = peer.keepalive {
            let k = u16::try_from(k).map_err(|_| {
                Error::InvalidArgument(format!(
                    "wireguard-peer persistent-keepalive: {k} is more than 65535 seconds"
                ))
            })?;
            a.push(WireguardPeerAttribute::PersistentKeepalive(k));
        }
        a.push(WireguardPeerAttribute::Flags(
            WireguardPeerFlags::ReplaceAllowedIps,
        ));
        let allowed = peer
            .allowed_ips
            .iter()
            .map(|c| {
                let family = match c.addr {
                    IpAddr::V4(_) => WireguardAddressFamily::Ipv4,
                    IpAddr::V6(_) => WireguardAddressFamily::Ipv6,
                };
                WireguardAllowedIp(vec![
                    WireguardAllowedIpAttr::Family(family),
                    WireguardAllowedIpAttr::IpAddr(c.network().addr),
                    WireguardAllowedIpAttr::Cidr(c.prefix),
                ])
            })
            .collect();
        a.push(WireguardPeerAttribute::AllowedIps(allowed));
        peers.push(WireguardPeer(a));
    }
    attributes.push(WireguardAttribute::Peers(peers));
    Ok(WireguardMessage {
        cmd: WireguardCmd::SetDevice,
        attributes,
    })
}

/// A generic netlink request, serialized: `family_id` is the family's
/// number in this kernel, `seq` the sequence number.
pub fn encode<F>(payload: F, family_id: u16, seq: u32) -> Vec<u8>
where
    F: netlink_packet_generic::GenlFamily + netlink_packet_core::Emitable + std::fmt::Debug,
{
    let mut genl = GenlMessage::from_payload(payload);
    genl.set_resolved_family_id(family_id);
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// nlctrl's own family number (GENL_ID_CTRL).
const GENL_ID_CTRL: u16 = 0x10;

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Failed(format!("WireGuard over generic netlink: {what}: {e}"))
}

/// A generic netlink socket opened in the namespace `netns` (the calling
/// thread's own when None), from a throw-away thread that enters it.
fn socket_in(netns: Option<File>) -> Result<Socket, Error> {
    let open = || -> std::io::Result<Socket> {
        let mut s = Socket::new(NETLINK_GENERIC)?;
        s.bind_auto()?;
        let tv = libc::timeval {
            tv_sec: REPLY_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: a valid socket and a timeval of the right size.
        let r = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(s)
    };
    let Some(target) = netns else {
        return open().map_err(|e| failed("open a socket", e));
    };
    std::thread::Builder::new()
        .name("netns-genl".into())
        .spawn(move || {
            let own = File::open("/proc/thread-self/ns/net")?;
            setns(&target, CloneFlags::CLONE_NEWNET)?;
            let opened = open();
            if let Err(e) = setns(&own, CloneFlags::CLONE_NEWNET) {
                tracing::error!("could not return the netlink thread to its namespace: {e}");
            }
            opened
        })
        .map_err(|e| failed("start a thread", e))?
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("the netlink thread panicked")))
        .map_err(|e| failed("open a socket in the uplink namespace", e))
}

/// Sends `buf` and reads until the answer to `seq`: the replies' payloads
/// (parsed as `F`) and the final ACK, or the error the kernel gave.
fn transact<F>(sock: &Socket, buf: &[u8], seq: u32, what: &str) -> Result<Vec<F>, Error>
where
    F: netlink_packet_core::NetlinkDeserializable + std::fmt::Debug,
{
    sock.send(buf, 0).map_err(|e| failed(what, e))?;
    let mut replies = Vec::new();
    loop {
        let (data, _) = sock.recv_from_full().map_err(|e| failed(what, e))?;
        let mut off = 0;
        while off < data.len() {
            let msg = NetlinkMessage::<F>::deserialize(&data[off..])
                .map_err(|e| failed(what, format!("unreadable reply: {e}")))?;
            let len = msg.header.length as usize;
            if len == 0 {
                return Err(failed(what, "empty reply"));
            }
            off += (len + 3) & !3;
            if msg.header.sequence_number != seq {
                continue;
            }
            match msg.payload {
                NetlinkPayload::Error(e) => {
                    return match e.code {
                        None => Ok(replies),
                        Some(_) => Err(errno_error(e.raw_code(), what)),
                    };
                }
                NetlinkPayload::Done(_) => return Ok(replies),
                NetlinkPayload::InnerMessage(m) => replies.push(m),
                _ => {}
            }
        }
    }
}

fn errno_error(code: i32, what: &str) -> Error {
    let errno = nix::errno::Errno::from_raw(-code);
    let msg = format!("WireGuard over generic netlink: {what}: {}", errno.desc());
    match errno {
        nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::ENOENT => Error::NotSupported(msg),
        nix::errno::Errno::EINVAL => Error::InvalidArgument(msg),
        nix::errno::Errno::ENODEV => Error::UnknownDevice(msg),
        _ => Error::Failed(msg),
    }
}

/// The `wireguard` generic netlink family's number, asked of nlctrl.
fn family_id(sock: &Socket) -> Result<u16, Error> {
    let req = encode(
        GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName("wireguard".into())],
        },
        GENL_ID_CTRL,
        1,
    );
    let replies: Vec<GenlMessage<GenlCtrl>> =
        transact(sock, &req, 1, "look up the wireguard family")?;
    replies
        .iter()
        .flat_map(|m| m.payload.nlas.iter())
        .find_map(|a| match a {
            GenlCtrlAttrs::FamilyId(id) => Some(*id),
            _ => None,
        })
        .ok_or_else(|| {
            Error::NotSupported("the kernel has no wireguard generic netlink family".into())
        })
}

/// Configures the kernel interface `ifindex` of the namespace `netns`
/// (the daemon's own when None). Blocking: call it off the runtime.
pub fn configure(netns: Option<File>, msg: WireguardMessage) -> Result<(), Error> {
    let sock = socket_in(netns)?;
    let family = family_id(&sock)?;
    let mut req = encode(msg, family, 2);
    let r = transact::<GenlMessage<WireguardMessage>>(&sock, &req, 2, "configure the interface");
    // The request held the private and preshared keys.
    req.iter_mut().for_each(|b| *b = 0);
    std::hint::black_box(&req);
    r.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Profile;

    /// The kernel's uapi numbers (include/uapi/linux/wireguard.h), written
    /// out here so that the test checks the encoding against them rather
    /// than against the crate's own constants.
    const WG_CMD_SET_DEVICE: u8 = 1;
    const WGDEVICE_A_IFINDEX: u16 = 1;
    const WGDEVICE_A_PRIVATE_KEY: u16 = 3;
    const WGDEVICE_A_FLAGS: u16 = 5;
    const WGDEVICE_A_LISTEN_PORT: u16 = 6;
    const WGDEVICE_A_FWMARK: u16 = 7;
    const WGDEVICE_A_PEERS: u16 = 8;
    const WGDEVICE_F_REPLACE_PEERS: u32 = 1;
    const WGPEER_A_PUBLIC_KEY: u16 = 1;
    const WGPEER_A_PRESHARED_KEY: u16 = 2;
    const WGPEER_A_FLAGS: u16 = 3;
    const WGPEER_A_ENDPOINT: u16 = 4;
    const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL: u16 = 5;
    const WGPEER_A_ALLOWEDIPS: u16 = 9;
    const WGPEER_F_REPLACE_ALLOWEDIPS: u32 = 2;
    const WGALLOWEDIP_A_FAMILY: u16 = 1;
    const WGALLOWEDIP_A_IPADDR: u16 = 2;
    const WGALLOWEDIP_A_CIDR_MASK: u16 = 3;
    const NLA_F_NESTED: u16 = 1 << 15;

    /// One netlink attribute: (type with its flags, payload).
    fn nlas(mut b: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut v = Vec::new();
        while b.len() >= 4 {
            let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
            let kind = u16::from_ne_bytes([b[2], b[3]]);
            assert!(
                len >= 4 && len <= b.len(),
                "attribute length {len} of {}",
                b.len()
            );
            v.push((kind, b[4..len].to_vec()));
            b = &b[((len + 3) & !3).min(b.len())..];
        }
        assert!(b.is_empty(), "{} stray bytes", b.len());
        v
    }

    fn u16_of(b: &[u8]) -> u16 {
        u16::from_ne_bytes(b.try_into().unwrap())
    }

    fn u32_of(b: &[u8]) -> u32 {
        u32::from_ne_bytes(b.try_into().unwrap())
    }

    const KF: &str = "[connection]
id=wg
uuid=7f1a5c3e-1111-4d2b-8c8d-0123456789ab
type=wireguard

[wireguard]
private-key=yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
listen-port=51821
fwmark=51

[wireguard-peer.xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=]
endpoint=203.0.113.1:51820
preshared-key=HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=
allowed-ips=0.0.0.0/0;10.99.0.7/24;fd00::/8;
persistent-keepalive=25

[ipv4]
address1=10.66.0.2/24
method=manual
";

    /// WG_CMD_SET_DEVICE for a peer with a preshared key, an endpoint, a
    /// keepalive and three allowed IPs, byte by byte: netlink header,
    /// genetlink header, then the attributes as the kernel's uapi lays
    /// them out.
    #[test]
    fn set_device_attribute_layout() {
        let cfg = Config::from_profile(&Profile::from_keyfile(KF).unwrap()).unwrap();
        let eps = vec![Some("203.0.113.1:51820".parse().unwrap())];
        let msg = set_device_message(7, &cfg, &eps).unwrap();
        let buf = encode(msg, 0x1b, 42);

        // struct nlmsghdr
        assert_eq!(u32_of(&buf[0..4]) as usize, buf.len(), "nlmsg_len");
        assert_eq!(u16_of(&buf[4..6]), 0x1b, "nlmsg_type: the family");
        assert_eq!(u16_of(&buf[6..8]), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(u32_of(&buf[8..12]), 42, "nlmsg_seq");
        // struct genlmsghdr: cmd, version, reserved
        assert_eq!(buf[16], WG_CMD_SET_DEVICE);
        assert_eq!(buf[17], 1, "WG_GENL_VERSION");

        let top = nlas(&buf[20..]);
        let kinds: Vec<u16> = top.iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            [
                WGDEVICE_A_IFINDEX,
                WGDEVICE_A_PRIVATE_KEY,
                WGDEVICE_A_LISTEN_PORT,
                WGDEVICE_A_FWMARK,
                WGDEVICE_A_FLAGS,
                WGDEVICE_A_PEERS | NLA_F_NESTED,
            ]
        );
        assert_eq!(u32_of(&top[0].1), 7);
        assert_eq!(top[1].1, cfg.private_key);
        assert_eq!(u16_of(&top[2].1), 51821);
        assert_eq!(u32_of(&top[3].1), 51);
        assert_eq!(u32_of(&top[4].1), WGDEVICE_F_REPLACE_PEERS);

        // One peer, itself a nested attribute.
        let peers = nlas(&top[5].1);
        assert_eq!(peers.len(), 1);
        assert_ne!(peers[0].0 & NLA_F_NESTED, 0, "a peer is nested");
        let peer = nlas(&peers[0].1);
        let kinds: Vec<u16> = peer.iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            [
                WGPEER_A_PUBLIC_KEY,
                WGPEER_A_PRESHARED_KEY,
                WGPEER_A_ENDPOINT,
                WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
                WGPEER_A_FLAGS,
                WGPEER_A_ALLOWEDIPS | NLA_F_NESTED,
            ]
        );
        assert_eq!(peer[0].1, cfg.peers[0].public_key);
        assert_eq!(peer[1].1, cfg.peers[0].preshared_key.unwrap());
        // struct sockaddr_in: family, port (network order), address, zero.
        let sin = &peer[2].1;
        assert_eq!(sin.len(), 16);
        assert_eq!(u16_of(&sin[0..2]), libc::AF_INET as u16);
        assert_eq!(u16::from_be_bytes([sin[2], sin[3]]), 51820);
        assert_eq!(&sin[4..8], &[203, 0, 113, 1]);
        assert_eq!(u16_of(&peer[3].1), 25);
        assert_eq!(u32_of(&peer[4].1), WGPEER_F_REPLACE_ALLOWEDIPS);

        // The allowed IPs: family, address (host bits cleared), prefix.
        let ips = nlas(&peer[5].1);
        assert_eq!(ips.len(), 3);
        let want: [(u16, &[u8], u8); 3] = [
            (libc::AF_INET as u16, &[0, 0, 0, 0], 0),
            (libc::AF_INET as u16, &[10, 99, 0, 0], 24),
            (
                libc::AF_INET6 as u16,
                &[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                8,
            ),
        ];
        for ((kind, ip), (family, addr, cidr)) in ips.iter().zip(want) {
            assert_ne!(kind & NLA_F_NESTED, 0, "an allowed IP is nested");
            let a = nlas(ip);
            let kinds: Vec<u16> = a.iter().map(|x| x.0).collect();
            assert_eq!(
                kinds,
                [
                    WGALLOWEDIP_A_FAMILY,
                    WGALLOWEDIP_A_IPADDR,
                    WGALLOWEDIP_A_CIDR_MASK
                ]
            );
            assert_eq!(u16_of(&a[0].1), family);
            assert_eq!(a[1].1, addr);
            assert_eq!(a[2].1, [cidr]);
        }
    }

    #[test]
    fn optional_keys_are_left_out_and_bad_numbers_refused() {
        let kf = KF
            .replace("listen-port=51821\n", "")
            .replace("fwmark=51\n", "")
            .replace("persistent-keepalive=25\n", "")
            .replace(
                "preshared-key=HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n",
                "",
            );
        let cfg = Config::from_profile(&Profile::from_keyfile(&kf).unwrap()).unwrap();
        let msg = set_device_message(3, &cfg, &[None]).unwrap();
        let buf = encode(msg, 0x1b, 1);
        let top = nlas(&buf[20..]);
        let kinds: Vec<u16> = top.iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            [
                WGDEVICE_A_IFINDEX,
                WGDEVICE_A_PRIVATE_KEY,
                WGDEVICE_A_FLAGS,
                WGDEVICE_A_PEERS | NLA_F_NESTED
            ]
        );
        let peer = nlas(&nlas(&top[3].1)[0].1);
        let kinds: Vec<u16> = peer.iter().map(|a| a.0).collect();
        assert_eq!(
            kinds,
            [
                WGPEER_A_PUBLIC_KEY,
                WGPEER_A_FLAGS,
                WGPEER_A_ALLOWEDIPS | NLA_F_NESTED
            ]
        );

        let mut bad = cfg.clone();
        bad.listen_port = Some(70000);
        assert!(matches!(
            set_device_message(3, &bad, &[None]),
            Err(Error::InvalidArgument(m)) if m.contains("listen-port")
        ));
    }

    #[test]
    fn the_family_lookup_asks_nlctrl_by_name() {
        let buf = encode(
            GenlCtrl {
                cmd: GenlCtrlCmd::GetFamily,
                nlas: vec![GenlCtrlAttrs::FamilyName("wireguard".into())],
            },
            GENL_ID_CTRL,
            1,
        );
        assert_eq!(u16_of(&buf[4..6]), GENL_ID_CTRL);
        assert_eq!(buf[16], 3, "CTRL_CMD_GETFAMILY");
        let a = nlas(&buf[20..]);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, 2, "CTRL_ATTR_FAMILY_NAME");
        assert_eq!(a[0].1, b"wireguard\0");
    }

    #[test]
    fn kernel_errors_map_to_bus_errors() {
        assert!(matches!(
            errno_error(-libc::EOPNOTSUPP, "x"),
            Error::NotSupported(_)
        ));
        assert!(matches!(
            errno_error(-libc::EINVAL, "x"),
            Error::InvalidArgument(_)
        ));
        assert!(matches!(errno_error(-libc::EPERM, "x"), Error::Failed(_)));
    }
}
