//! One peer of the private socket: the SASL handshake (EXTERNAL), then
//! D-Bus messages with their descriptors, read off the socket directly by
//! the connection's own task, which answers and writes too: no task of a
//! bus library's in between, and no hand-off from one to the other
//! (zbus's own server connection cost about 0.4 ms from connect to the
//! first answer, in task hand-offs).

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use netnsd_api::Error;
use zbus::Message;
use zbus::message::Header;
use zbus::wire::serialized::{Context, Data};

/// The largest message read from a peer (nsctl's Spawn is a few KB).
const MAX_MESSAGE: usize = 1 << 20;

/// Descriptors a peer may have sent that no message has taken yet.
const MAX_FDS: usize = 16;

pub(super) struct Peer {
    sock: tokio::net::UnixStream,
    buf: Vec<u8>,
    fds: VecDeque<OwnedFd>,
    /// The handshake's last answers, when the client did not wait for
    /// them (it sent BEGIN and its first call at once): they go out with
    /// the first reply, in one write.
    held: Vec<u8>,
}

impl Peer {
    pub(super) fn new(sock: tokio::net::UnixStream) -> Peer {
        Peer {
            sock,
            buf: Vec::with_capacity(4096),
            fds: VecDeque::new(),
            held: Vec::new(),
        }
    }

    /// Reads what the socket has: at least a byte, or 0 at its end.
    async fn fill(&mut self) -> io::Result<usize> {
        let fd = self.sock.as_raw_fd();
        loop {
            self.sock.readable().await?;
            match self
                .sock
                .try_io(tokio::io::Interest::READABLE, || receive(fd))
            {
                Ok((bytes, fds)) => {
                    self.buf.extend_from_slice(&bytes);
                    self.fds.extend(fds);
                    if self.fds.len() > MAX_FDS || self.buf.len() > MAX_MESSAGE + 4096 {
                        return Err(io::Error::other("the peer sent too much"));
                    }
                    return Ok(bytes.len());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::io::AsyncWriteExt::write_all(&mut self.sock, bytes).await
    }

    /// The server's side of the handshake, until BEGIN; what follows BEGIN
    /// stays in the buffer. The answers to lines that came together go
    /// out in one write; those to lines that came with BEGIN, with the
    /// first reply.
    pub(super) async fn handshake(&mut self) -> io::Result<()> {
        while self.buf.is_empty() {
            if self.fill().await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        if self.buf[0] != 0 {
            return Err(io::Error::other(
                "the handshake does not start with a NUL byte",
            ));
        }
        self.buf.remove(0);
        let guid = zbus::Guid::generate();
        let mut out = String::new();
        loop {
            let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") else {
                if !out.is_empty() {
                    self.write(std::mem::take(&mut out).as_bytes()).await?;
                }
                if self.buf.len() > 1024 {
                    return Err(io::Error::other("a handshake line is too long"));
                }
                if self.fill().await? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                continue;
            };
            let line = String::from_utf8_lossy(&self.buf[..at]).into_owned();
            self.buf.drain(..at + 2);
            match sasl_answer(&line, guid.as_str()) {
                Sasl::Reply(r) => out.push_str(&r),
                Sasl::Begin => break,
            }
        }
        if self.buf.is_empty() {
            // The client may wait for them before its first call.
            if !out.is_empty() {
                self.write(out.as_bytes()).await?;
            }
        } else {
            self.held = out.into_bytes();
        }
        Ok(())
    }

    /// Whether the peer closed its end and sent nothing more: a caller that
    /// gave up (nsctl waits 25 s for an answer) before its call was read.
    pub(super) fn gone(&self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut byte = 0u8;
        // SAFETY: peeks at most one byte into a one-byte buffer, from a
        // socket this owns.
        let n = unsafe {
            libc::recv(
                self.sock.as_raw_fd(),
                (&raw mut byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        n == 0
    }

    /// The next message; None at the socket's end.
    pub(super) async fn next_message(&mut self) -> io::Result<Option<Message>> {
        loop {
            if let Some(len) = message_len(&self.buf)?
                && self.buf.len() >= len
            {
                let bytes: Vec<u8> = self.buf.drain(..len).collect();
                return self.parse(bytes).map(Some);
            }
            if self.fill().await? == 0 {
                return Ok(None);
            }
        }
    }

    /// A message from its bytes, with the descriptors it says it carries.
    fn parse(&mut self, bytes: Vec<u8>) -> io::Result<Message> {
        let n = unix_fds(&bytes)? as usize;
        if n > self.fds.len() {
            return Err(io::Error::other(
                "a message names descriptors that did not come",
            ));
        }
        let fds: Vec<OwnedFd> = self.fds.drain(..n).collect();
        let endian = if bytes[0] == b'B' {
            zbus::wire::Endian::Big
        } else {
            zbus::wire::Endian::Little
        };
        // SAFETY: from_bytes parses and checks the bytes as zbus checks
        // what a connection of its own receives.
        unsafe { Message::from_bytes(Data::new_fds(bytes, Context::new(endian, 0), fds)) }
            .map_err(io::Error::other)
    }

    pub(super) async fn send(&mut self, m: &Message) -> io::Result<()> {
        let mut bytes = std::mem::take(&mut self.held);
        bytes.extend_from_slice(m.data().bytes());
        self.write(&bytes).await
    }

    /// A method's reply: its value, or the error as the bus gives it.
    pub(super) async fn answer<T>(
        &mut self,
        hdr: &Header<'_>,
        r: Result<T, Error>,
    ) -> io::Result<()>
    where
        T: serde::Serialize + zbus::zvariant::DynamicType,
    {
        match r {
            Ok(v) => self.reply(hdr, &v).await,
            Err(e) => self.reply_error(hdr, e).await,
        }
    }

    pub(super) async fn reply<T>(&mut self, hdr: &Header<'_>, v: &T) -> io::Result<()>
    where
        T: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let m = Message::method_return(hdr)
            .build(v)
            .map_err(io::Error::other)?;
        self.send(&m).await
    }

    pub(super) async fn reply_error(
        &mut self,
        hdr: &Header<'_>,
        e: impl zbus::DBusError,
    ) -> io::Result<()> {
        let m = e.create_reply(hdr).map_err(io::Error::other)?;
        self.send(&m).await
    }
}

/// One recvmsg: the bytes, and the descriptors that came with them.
fn receive(fd: RawFd) -> io::Result<(Vec<u8>, Vec<OwnedFd>)> {
    let mut chunk = [0u8; 4096];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let mut iov = [io::IoSliceMut::new(&mut chunk)];
    let r = nix::sys::socket::recvmsg::<()>(
        fd,
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let mut fds = Vec::new();
    for c in r.cmsgs().map_err(io::Error::from)? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(got) = c {
            // SAFETY: the kernel just gave us these descriptors.
            fds.extend(
                got.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let n = r.bytes;
    Ok((chunk[..n].to_vec(), fds))
}

/// The length of the message at the start of `buf` (None: not known yet).
fn message_len(buf: &[u8]) -> io::Result<Option<usize>> {
    if buf.len() < 16 {
        return Ok(None);
    }
    let u32_at = |i: usize| {
        let b: [u8; 4] = buf[i..i + 4].try_into().expect("4 bytes");
        match buf[0] {
            b'l' => Ok(u32::from_le_bytes(b)),
            b'B' => Ok(u32::from_be_bytes(b)),
            _ => Err(io::Error::other("not a D-Bus message")),
        }
    };
    let (body, fields) = (u32_at(4)? as usize, u32_at(12)? as usize);
    let len = (16 + fields).div_ceil(8) * 8 + body;
    if len > MAX_MESSAGE {
        return Err(io::Error::other("message too large"));
    }
    Ok(Some(len))
}

/// The UNIX_FDS field of a whole message's header (0 if it has none):
/// how many of the descriptors received it takes.
fn unix_fds(msg: &[u8]) -> io::Result<u32> {
    let bad = || io::Error::other("a malformed message header");
    let u32_at = |i: usize| -> io::Result<u32> {
        let b: [u8; 4] = msg
            .get(i..i + 4)
            .ok_or_else(bad)?
            .try_into()
            .expect("4 bytes");
        Ok(if msg[0] == b'B' {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let end = 16 + u32_at(12)? as usize;
    let mut at = 16;
    while at < end {
        at = at.div_ceil(8) * 8;
        let code = *msg.get(at).ok_or_else(bad)?;
        let sig_len = *msg.get(at + 1).ok_or_else(bad)? as usize;
        let sig = msg.get(at + 2..at + 2 + sig_len).ok_or_else(bad)?;
        at += 3 + sig_len;
        match sig {
            b"u" => {
                at = at.div_ceil(4) * 4;
                let v = u32_at(at)?;
                if code == 9 {
                    return Ok(v);
                }
                at += 4;
            }
            b"s" | b"o" => {
                at = at.div_ceil(4) * 4;
                at += 4 + u32_at(at)? as usize + 1;
            }
            b"g" => at += 1 + *msg.get(at).ok_or_else(bad)? as usize + 1,
            _ => return Err(bad()),
        }
    }
    Ok(0)
}

/// What the server says to a line of the handshake.
#[derive(Debug, PartialEq, Eq)]
enum Sasl {
    Reply(String),
    Begin,
}

/// The answer to one line of the client's side of the handshake: EXTERNAL
/// (the identity in the AUTH line, or in a DATA line after an empty
/// challenge, as GLib sends it), descriptors agreed, BEGIN. The identity
/// claimed decides nothing: the socket's credentials did, at accept.
fn sasl_answer(line: &str, guid: &str) -> Sasl {
    let ok = || Sasl::Reply(format!("OK {guid}\r\n"));
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("AUTH"), Some("EXTERNAL"), Some(_)) => ok(),
        (Some("AUTH"), Some("EXTERNAL"), None) => Sasl::Reply("DATA\r\n".into()),
        (Some("DATA"), _, _) => ok(),
        (Some("NEGOTIATE_UNIX_FD"), None, None) => Sasl::Reply("AGREE_UNIX_FD\r\n".into()),
        (Some("BEGIN"), None, None) => Sasl::Begin,
        (Some("AUTH" | "CANCEL" | "ERROR"), _, _) => Sasl::Reply("REJECTED EXTERNAL\r\n".into()),
        _ => Sasl::Reply("ERROR unknown command\r\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peer_is_gone_once_closed_with_nothing_left_to_read() {
        let (ours, theirs) = tokio::net::UnixStream::pair().unwrap();
        let mut peer = Peer::new(ours);
        assert!(!peer.gone(), "open");
        theirs.try_write(b"x").unwrap();
        drop(theirs);
        assert!(!peer.gone(), "closed, but a byte still to read");
        assert_eq!(peer.fill().await.unwrap(), 1);
        assert!(!peer.gone(), "closed, the byte read but still buffered");
        peer.buf.clear();
        assert!(peer.gone(), "closed, nothing left");
    }

    #[test]
    fn the_handshake_answers_external_only() {
        let ok = Sasl::Reply("OK g\r\n".into());
        assert_eq!(sasl_answer("AUTH EXTERNAL 30", "g"), ok);
        assert_eq!(
            sasl_answer("AUTH EXTERNAL", "g"),
            Sasl::Reply("DATA\r\n".into())
        );
        assert_eq!(sasl_answer("DATA 30", "g"), ok);
        assert_eq!(
            sasl_answer("AUTH DBUS_COOKIE_SHA1 726f6f74", "g"),
            Sasl::Reply("REJECTED EXTERNAL\r\n".into())
        );
        assert_eq!(
            sasl_answer("AUTH", "g"),
            Sasl::Reply("REJECTED EXTERNAL\r\n".into())
        );
        assert_eq!(
            sasl_answer("NEGOTIATE_UNIX_FD", "g"),
            Sasl::Reply("AGREE_UNIX_FD\r\n".into())
        );
        assert_eq!(sasl_answer("BEGIN", "g"), Sasl::Begin);
        assert_eq!(
            sasl_answer("HELLO", "g"),
            Sasl::Reply("ERROR unknown command\r\n".into())
        );
    }

    #[test]
    fn the_descriptors_a_message_takes_come_from_its_header() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let m = Message::method_call("/net/x", "Spawn")
            .interface("a.b")
            .destination("c.d")
            .build(&(
                "x",
                zbus::wire::Fd::from(std::os::fd::AsFd::as_fd(&a)),
                zbus::wire::Fd::from(std::os::fd::AsFd::as_fd(&a)),
            ))
            .unwrap();
        assert_eq!(unix_fds(m.data().bytes()).unwrap(), 2);
        let m = Message::method_call("/net/x", "Get")
            .build(&("y",))
            .unwrap();
        assert_eq!(unix_fds(m.data().bytes()).unwrap(), 0);
        assert!(unix_fds(&m.data().bytes()[..20]).is_err());
    }

    #[test]
    fn a_messages_length_comes_from_its_primary_header() {
        let m = Message::method_call("/a", "M")
            .build(&("some body",))
            .unwrap();
        let bytes = m.data().bytes();
        assert_eq!(message_len(&bytes[..15]).unwrap(), None);
        assert_eq!(message_len(bytes).unwrap(), Some(bytes.len()));
        let mut huge = bytes[..16].to_vec();
        huge[4..8].copy_from_slice(&(2u32 << 20).to_le_bytes());
        assert!(message_len(&huge).is_err());
        let mut alien = bytes[..16].to_vec();
        alien[0] = b'x';
        assert!(message_len(&alien).is_err());
    }
}
