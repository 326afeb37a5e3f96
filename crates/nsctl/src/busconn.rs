//! A minimal blocking D-Bus client, for `nsctl exec` (issue 18 item 2).
//!
//! zbus needs a runtime, waits for the bus's OK before it sends Hello, and
//! makes each call a round trip of its own. This client writes the SASL
//! lines, BEGIN and the first calls in one write (the bus reads them in
//! order: D-Bus allows a client to pipeline its authentication), then
//! reads what comes back on a plain blocking socket. It marshals only the
//! few messages `nsctl exec` sends, and reads any message's header and the
//! few bodies it needs; the unit tests hold both to zbus's own
//! serialization.

use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Where the system bus listens when `DBUS_SYSTEM_BUS_ADDRESS` is unset.
pub const DEFAULT_SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// The most a message may be (the D-Bus limit is 128 MiB; nsctl exec's
/// replies and signals are small).
const MAX_MESSAGE: usize = 1 << 27;

/// The system bus's address, as zbus reads it: `DBUS_SYSTEM_BUS_ADDRESS`,
/// else the standard socket.
pub fn system_bus_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS").unwrap_or_else(|_| DEFAULT_SYSTEM_BUS.to_owned())
}

/// Where a `unix:` address says to connect: a path, or (Linux) an
/// abstract name. The first `unix:` entry of a `;`-separated list is used.
#[derive(Debug, PartialEq)]
pub enum UnixAddr {
    Path(String),
    Abstract(Vec<u8>),
}

/// Reads `address` (`unix:path=...` or `unix:abstract=...`, values
/// %-escaped); Err names what is wrong.
pub fn parse_address(address: &str) -> Result<UnixAddr, String> {
    for entry in address.split(';') {
        let Some(keys) = entry.strip_prefix("unix:") else {
            continue;
        };
        for kv in keys.split(',') {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "path" => {
                    let v = unescape(v)?;
                    return String::from_utf8(v)
                        .map(UnixAddr::Path)
                        .map_err(|_| format!("{address}: the path is not UTF-8"));
                }
                "abstract" => return unescape(v).map(UnixAddr::Abstract),
                _ => {}
            }
        }
    }
    Err(format!(
        "{address}: no unix:path= or unix:abstract= address"
    ))
}

fn unescape(v: &str) -> Result<Vec<u8>, String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = v
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in {v:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Connects to `addr`.
pub fn connect(addr: &UnixAddr) -> io::Result<UnixStream> {
    match addr {
        UnixAddr::Path(p) => UnixStream::connect(p),
        UnixAddr::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let a = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            UnixStream::connect_addr(&a)
        }
    }
}

/// The SASL lines that authenticate as `uid` (EXTERNAL: the bus checks it
/// against the socket's credentials), ask to pass file descriptors, and
/// end the handshake: sent at once, before the first message.
pub fn sasl(uid: u32) -> Vec<u8> {
    let hex: String = uid
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\0AUTH EXTERNAL {hex}\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n").into_bytes()
}

/// Message types.
pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// The method call may prompt for a password (polkit).
pub const ALLOW_INTERACTIVE_AUTH: u8 = 0x4;

/// A value to marshal: the few types `nsctl exec`'s calls use.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Str(&'a str),
    StrArray(Vec<&'a str>),
    /// `a{ss}`
    StrDict(Vec<(&'a str, &'a str)>),
    /// `a{sh}`: names and indices into the message's descriptors.
    FdDict(Vec<(&'a str, u32)>),
    /// `a{sv}` with boolean values only.
    BoolDict(Vec<(&'a str, bool)>),
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::StrArray(_) => "as",
            Arg::StrDict(_) => "a{ss}",
            Arg::FdDict(_) => "a{sh}",
            Arg::BoolDict(_) => "a{sv}",
        }
    }
}

/// Little-endian marshalling into a buffer whose start is 8-aligned.
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array whose elements align to `align`, written by `elems`.
    fn array(&mut self, align: usize, elems: impl FnOnce(&mut Self)) {
        self.pad(4);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.pad(align);
        let start = self.buf.len();
        elems(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    fn arg(&mut self, a: &Arg<'_>) {
        match a {
            Arg::Str(s) => self.str(s),
            Arg::StrArray(v) => self.array(4, |w| v.iter().for_each(|s| w.str(s))),
            Arg::StrDict(v) => self.array(8, |w| {
                for (k, s) in v {
                    w.pad(8);
                    w.str(k);
                    w.str(s);
                }
            }),
            Arg::FdDict(v) => self.array(8, |w| {
                for (k, i) in v {
                    w.pad(8);
                    w.str(k);
                    w.u32(*i);
                }
            }),
            Arg::BoolDict(v) => self.array(8, |w| {
                for (k, b) in v {
                    w.pad(8);
                    w.str(k);
                    w.sig("b");
                    w.u32(u32::from(*b));
                }
            }),
        }
    }
    /// A header field: its code and a variant of signature `sig`.
    fn field(&mut self, code: u8, sig: &str, value: impl FnOnce(&mut Self)) {
        self.pad(8);
        self.u8(code);
        self.sig(sig);
        value(self);
    }
}

/// A method call to marshal.
pub struct Call<'a> {
    pub serial: u32,
    pub flags: u8,
    pub destination: &'a str,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub args: &'a [Arg<'a>],
    /// How many descriptors go with it (sent alongside, SCM_RIGHTS).
    pub fds: u32,
}

/// `call` marshalled, little-endian.
pub fn marshal(call: &Call<'_>) -> Vec<u8> {
    let mut body = Writer { buf: Vec::new() };
    let mut signature = String::new();
    for a in call.args {
        body.arg(a);
        signature.push_str(a.signature());
    }
    let mut w = Writer {
        buf: Vec::with_capacity(128 + body.buf.len()),
    };
    w.buf.extend_from_slice(&[b'l', METHOD_CALL, call.flags, 1]);
    w.u32(body.buf.len() as u32);
    w.u32(call.serial);
    w.array(8, |w| {
        w.field(1, "o", |w| w.str(call.path));
        w.field(2, "s", |w| w.str(call.interface));
        w.field(3, "s", |w| w.str(call.member));
        w.field(6, "s", |w| w.str(call.destination));
        if !signature.is_empty() {
            w.field(8, "g", |w| w.sig(&signature));
        }
        if call.fds > 0 {
            w.field(9, "u", |w| w.u32(call.fds));
        }
    });
    w.pad(8);
    w.buf.extend_from_slice(&body.buf);
    w.buf
}

/// A message read off the bus: its header, and its body to read with
/// [`Body`].
#[derive(Debug, Default)]
pub struct Message {
    pub kind: u8,
    pub big_endian: bool,
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub sender: Option<String>,
    pub signature: String,
    pub body: Vec<u8>,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad D-Bus message: {what}"),
    )
}

/// A cursor over marshalled data whose position 0 is 8-aligned.
pub struct Body<'a> {
    data: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> Body<'a> {
    pub fn of(m: &'a Message) -> Self {
        Body {
            data: &m.body,
            pos: 0,
            big: m.big_endian,
        }
    }
    fn align(&mut self, n: usize) -> io::Result<()> {
        let p = self.pos.next_multiple_of(n);
        if p > self.data.len() {
            return Err(bad("short"));
        }
        self.pos = p;
        Ok(())
    }
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or_else(|| bad("short"))?;
        self.pos += n;
        Ok(s)
    }
    pub fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> io::Result<u32> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().unwrap();
        Ok(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    pub fn i32(&mut self) -> io::Result<i32> {
        self.u32().map(|v| v as i32)
    }
    pub fn u64(&mut self) -> io::Result<u64> {
        self.align(8)?;
        let b: [u8; 8] = self.take(8)?.try_into().unwrap();
        Ok(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    /// A string or object path.
    pub fn str(&mut self) -> io::Result<String> {
        let n = self.u32()? as usize;
        let s = self.take(n)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| bad("a string is not UTF-8"))
    }
    pub fn sig(&mut self) -> io::Result<String> {
        let n = self.u8()? as usize;
        let s = self.take(n)?;
        self.take(1)?;
        String::from_utf8(s.to_vec()).map_err(|_| bad("a signature is not UTF-8"))
    }
}

/// Reads one message's header and body from `bytes` (the whole message).
pub fn unmarshal(bytes: &[u8]) -> io::Result<Message> {
    let big_endian = match bytes.first() {
        Some(b'l') => false,
        Some(b'B') => true,
        _ => return Err(bad("unknown byte order")),
    };
    let mut c = Body {
        data: bytes,
        pos: 1,
        big: big_endian,
    };
    let mut m = Message {
        big_endian,
        kind: c.u8()?,
        ..Default::default()
    };
    let _flags = c.u8()?;
    let _version = c.u8()?;
    let body_len = c.u32()? as usize;
    m.serial = c.u32()?;
    let fields_len = c.u32()? as usize;
    let end = c.pos + fields_len;
    while c.pos < end {
        c.align(8)?;
        let code = c.u8()?;
        let sig = c.sig()?;
        match (code, sig.as_str()) {
            (1, "o") => m.path = Some(c.str()?),
            (2, "s") => m.interface = Some(c.str()?),
            (3, "s") => m.member = Some(c.str()?),
            (4, "s") => m.error_name = Some(c.str()?),
            (5, "u") => m.reply_serial = Some(c.u32()?),
            (7, "s") => m.sender = Some(c.str()?),
            (8, "g") => m.signature = c.sig()?,
            (_, "s" | "o") => {
                c.str()?;
            }
            (_, "g") => {
                c.sig()?;
            }
            (_, "u") => {
                c.u32()?;
            }
            _ => return Err(bad("a header field of an unknown type")),
        }
    }
    c.pos = end;
    c.align(8)?;
    m.body = c.take(body_len)?.to_vec();
    Ok(m)
}

/// How long the whole message starting `head` (its first 16 bytes) is.
fn message_len(head: &[u8; 16]) -> io::Result<usize> {
    let word = |b: [u8; 4]| match head[0] {
        b'l' => Ok(u32::from_le_bytes(b) as usize),
        b'B' => Ok(u32::from_be_bytes(b) as usize),
        _ => Err(bad("unknown byte order")),
    };
    let body = word(head[4..8].try_into().unwrap())?;
    let fields = word(head[12..16].try_into().unwrap())?;
    let len = (16 + fields).next_multiple_of(8) + body;
    if len > MAX_MESSAGE {
        return Err(bad("too long"));
    }
    Ok(len)
}

/// A connection to the bus, authenticated, reading messages one by one.
pub struct Conn {
    sock: UnixStream,
    buf: Vec<u8>,
    next_serial: u32,
}

/// How the handshake ended, when it did not end well.
#[derive(Debug)]
pub enum Handshake {
    Io(io::Error),
    /// The bus refused (its words).
    Refused(String),
}

impl From<io::Error> for Handshake {
    fn from(e: io::Error) -> Self {
        Handshake::Io(e)
    }
}

impl Conn {
    /// Sends the SASL lines, BEGIN, Hello (serial 1) and `first` in one
    /// write; returns the connection once the bus has said OK and agreed
    /// to pass descriptors. The calls of `first` use serials from 2 on;
    /// [`Conn::serial`] counts on from the last of them.
    pub fn open(sock: UnixStream, uid: u32, first: &[Call<'_>]) -> Result<Conn, Handshake> {
        let hello = Call {
            serial: 1,
            flags: 0,
            destination: "org.freedesktop.DBus",
            path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus",
            member: "Hello",
            args: &[],
            fds: 0,
        };
        Conn::handshake(sock, uid, Some(&hello), first, &[])
    }

    /// As [`Conn::open`], with a peer rather than a bus (netnsd's private
    /// socket): no Hello, so the calls of `first` use serials from 1 on.
    /// `fds` go with the write: they are the descriptors `first`'s calls
    /// carry, in order (a peer that is netnsd's private socket keeps
    /// descriptors that come with the handshake for the messages behind it).
    pub fn open_peer(
        sock: UnixStream,
        uid: u32,
        first: &[Call<'_>],
        fds: &[BorrowedFd<'_>],
    ) -> Result<Conn, Handshake> {
        Conn::handshake(sock, uid, None, first, fds)
    }

    fn handshake(
        sock: UnixStream,
        uid: u32,
        hello: Option<&Call<'_>>,
        first: &[Call<'_>],
        fds: &[BorrowedFd<'_>],
    ) -> Result<Conn, Handshake> {
        let mut out = sasl(uid);
        for c in hello.into_iter().chain(first) {
            out.extend(marshal(c));
        }
        let mut conn = Conn {
            sock,
            buf: Vec::with_capacity(4096),
            next_serial: 1 + u32::from(hello.is_some()) + first.len() as u32,
        };
        conn.write(&out, fds)?;
        // The bus answers line by line: OK GUID, then AGREE_UNIX_FD; what
        // follows the last line is already the first message.
        let mut ok = false;
        loop {
            let Some(at) = conn.buf.windows(2).position(|w| w == b"\r\n") else {
                if conn.fill()? == 0 {
                    return Err(Handshake::Refused("the bus closed the connection".into()));
                }
                continue;
            };
            let line = String::from_utf8_lossy(&conn.buf[..at]).into_owned();
            conn.buf.drain(..at + 2);
            if line.starts_with("OK ") {
                ok = true;
            } else if line == "AGREE_UNIX_FD" && ok {
                return Ok(conn);
            } else if line.starts_with("ERROR") && ok {
                return Err(Handshake::Refused(
                    "the bus does not pass file descriptors".into(),
                ));
            } else {
                return Err(Handshake::Refused(line));
            }
        }
    }

    /// How long a read may wait (None: for ever).
    pub fn set_read_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(t)
    }

    /// The next serial to use.
    pub fn serial(&mut self) -> u32 {
        let s = self.next_serial;
        self.next_serial += 1;
        s
    }

    /// The socket, to poll.
    pub fn fd(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.sock)
    }

    /// Sends `call`, with `fds` (their count is in `call.fds`).
    pub fn send(&self, call: &Call<'_>, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        self.write(&marshal(call), fds)
    }

    /// Writes `bytes`, with `fds` on the first of them.
    fn write(&self, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        if fds.is_empty() {
            return io::Write::write_all(&mut &self.sock, bytes);
        }
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&raw)];
        let iov = [IoSlice::new(bytes)];
        let mut sent = nix::sys::socket::sendmsg::<()>(
            self.sock.as_raw_fd(),
            &iov,
            &cmsg,
            nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(io::Error::from)?;
        if sent < bytes.len() {
            // The descriptors went with the first bytes.
            io::Write::write_all(&mut &self.sock, &bytes[sent..])?;
            sent = bytes.len();
        }
        debug_assert_eq!(sent, bytes.len());
        Ok(())
    }

    /// Reads more from the socket; 0 at its end. Descriptors that come
    /// with a message (none is expected) are closed.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 4096];
        let mut space = nix::cmsg_space!([RawFd; 16]);
        let mut iov = [io::IoSliceMut::new(&mut chunk)];
        let r = loop {
            match nix::sys::socket::recvmsg::<()>(
                self.sock.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(io::Error::from)?,
            }
        };
        for c in r.cmsgs().map_err(io::Error::from)? {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
                for fd in fds {
                    // SAFETY: the kernel just gave us this descriptor.
                    drop(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        let n = r.bytes;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// A whole message, if the buffer holds one.
    fn take(&mut self) -> io::Result<Option<Message>> {
        if self.buf.len() < 16 {
            return Ok(None);
        }
        let len = message_len(self.buf[..16].try_into().unwrap())?;
        if self.buf.len() < len {
            return Ok(None);
        }
        let m = unmarshal(&self.buf[..len])?;
        self.buf.drain(..len);
        Ok(Some(m))
    }

    /// Whether a whole message is waiting in the buffer (read it with
    /// [`Conn::read`] without blocking).
    pub fn has_message(&self) -> bool {
        self.buf.len() >= 16
            && message_len(self.buf[..16].try_into().unwrap())
                .is_ok_and(|len| self.buf.len() >= len)
    }

    /// The next message, blocking; None at the connection's end.
    pub fn read(&mut self) -> io::Result<Option<Message>> {
        loop {
            if let Some(m) = self.take()? {
                return Ok(Some(m));
            }
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashMap};
    use zbus::message::{Flags, Type};
    use zbus::wire::{Fd, Variant};

    #[test]
    fn addresses_read_as_zbus_reads_them() {
        assert_eq!(
            parse_address(DEFAULT_SYSTEM_BUS),
            Ok(UnixAddr::Path("/run/dbus/system_bus_socket".into()))
        );
        assert_eq!(
            parse_address("unix:path=/tmp/a%20b,guid=0123"),
            Ok(UnixAddr::Path("/tmp/a b".into()))
        );
        assert_eq!(
            parse_address("tcp:host=x;unix:abstract=/tmp/dbus-1"),
            Ok(UnixAddr::Abstract(b"/tmp/dbus-1".to_vec()))
        );
        assert!(parse_address("tcp:host=localhost,port=1").is_err());
        assert!(parse_address("unix:path=%zz").is_err());
    }

    #[test]
    fn sasl_says_the_uid_in_hex_digits() {
        assert_eq!(
            sasl(1000),
            b"\0AUTH EXTERNAL 31303030\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n"
        );
        assert!(sasl(0).starts_with(b"\0AUTH EXTERNAL 30\r\n"));
    }

    /// Our bytes, read by zbus.
    fn zbus_reads(bytes: Vec<u8>, fds: usize) -> zbus::Message {
        let ctxt = zbus::wire::serialized::Context::new(zbus::wire::LE, 0);
        let fds: Vec<OwnedFd> = (0..fds)
            .map(|_| std::fs::File::open("/dev/null").unwrap().into())
            .collect();
        let data = zbus::wire::serialized::Data::new_fds(bytes, ctxt, fds);
        // SAFETY: the test checks what zbus makes of these bytes.
        unsafe { zbus::Message::from_bytes(data) }.expect("zbus reads our message")
    }

    #[test]
    fn calls_marshal_as_zbus_reads_them() {
        let b = marshal(&Call {
            serial: 7,
            flags: 0,
            destination: "net.netnsd.Netns1",
            path: "/net/netnsd/Netns1/NetworkNamespacesController",
            interface: "net.netnsd.Netns1.NetworkNamespacesController",
            member: "GetNetworkNamespaceByName",
            args: &[Arg::Str("p1")],
            fds: 0,
        });
        let m = zbus_reads(b, 0);
        let h = m.header();
        assert_eq!(h.message_type(), Type::MethodCall);
        assert_eq!(h.primary().serial_num().get(), 7);
        assert_eq!(h.destination().unwrap().as_str(), "net.netnsd.Netns1");
        assert_eq!(h.member().unwrap().as_str(), "GetNetworkNamespaceByName");
        assert_eq!(m.body().deserialize::<&str>().unwrap(), "p1");

        let rule = "type='signal',sender='net.netnsd.Netns1'";
        let m = zbus_reads(
            marshal(&Call {
                serial: 3,
                flags: 0,
                destination: "org.freedesktop.DBus",
                path: "/org/freedesktop/DBus",
                interface: "org.freedesktop.DBus",
                member: "AddMatch",
                args: &[Arg::Str(rule)],
                fds: 0,
            }),
            0,
        );
        assert_eq!(m.body().deserialize::<&str>().unwrap(), rule);
    }

    /// A Spawn of object 3 with `args` and three descriptors, marshalled.
    fn spawn_call(args: &[Arg<'_>]) -> Vec<u8> {
        marshal(&Call {
            serial: 5,
            flags: ALLOW_INTERACTIVE_AUTH,
            destination: "net.netnsd.Netns1",
            path: "/net/netnsd/Netns1/NetNs/3",
            interface: "net.netnsd.Netns1.NetNsInstance",
            member: "Spawn",
            args,
            fds: 3,
        })
    }

    #[test]
    fn spawn_marshals_as_zbus_marshals_it() {
        let argv = vec!["sh", "-c", "echo hi"];
        let env = vec![("PATH", "/usr/bin:/bin"), ("LANG", "C.UTF-8")];
        let args = [
            Arg::StrArray(argv.clone()),
            Arg::StrDict(env.clone()),
            Arg::Str("/tmp"),
            Arg::FdDict(vec![("stdin", 0), ("stdout", 1), ("stderr", 2)]),
            Arg::BoolDict(vec![("pty", true)]),
        ];
        let ours = spawn_call(&args);
        let m = zbus_reads(ours.clone(), 3);
        let h = m.header();
        assert!(h.primary().flags().contains(Flags::ALLOW_INTERACTIVE_AUTH));
        assert_eq!(h.path().unwrap().as_str(), "/net/netnsd/Netns1/NetNs/3");
        assert_eq!(h.unix_fds(), Some(3));
        type Body<'a> = (
            Vec<&'a str>,
            HashMap<&'a str, &'a str>,
            &'a str,
            HashMap<&'a str, Fd<'a>>,
            HashMap<&'a str, Variant<'a>>,
        );
        let body = m.body();
        let (a, e, cwd, fds, opts): Body<'_> = body.deserialize().unwrap();
        assert_eq!(a, argv);
        assert_eq!(e, env.into_iter().collect::<HashMap<_, _>>());
        assert_eq!(cwd, "/tmp");
        assert_eq!(fds.len(), 3);
        assert_eq!(opts.get("pty"), Some(&Variant::from(true)));

        // zbus's own bytes for the same call (its dicts in a BTreeMap's
        // order, ours given in that order): the same body, byte for byte
        // (header fields may come in another order).
        let devnull: Vec<OwnedFd> = (0..3)
            .map(|_| std::fs::File::open("/dev/null").unwrap().into())
            .collect();
        let zfds: BTreeMap<&str, Fd<'_>> = ["stderr", "stdin", "stdout"]
            .into_iter()
            .zip(&devnull)
            .map(|(n, f)| (n, Fd::from(f)))
            .collect();
        let zopts: BTreeMap<&str, Variant<'_>> = [("pty", Variant::from(true))].into();
        let zenv: BTreeMap<&str, &str> = [("LANG", "C.UTF-8"), ("PATH", "/usr/bin:/bin")].into();
        let theirs = zbus::Message::method_call("/net/netnsd/Netns1/NetNs/3", "Spawn")
            .interface("net.netnsd.Netns1.NetNsInstance")
            .destination("net.netnsd.Netns1")
            .build(&(&argv, zenv, "/tmp", zfds, zopts))
            .unwrap();
        let args = [
            Arg::StrArray(argv.clone()),
            Arg::StrDict(vec![("LANG", "C.UTF-8"), ("PATH", "/usr/bin:/bin")]),
            Arg::Str("/tmp"),
            Arg::FdDict(vec![("stderr", 0), ("stdin", 1), ("stdout", 2)]),
            Arg::BoolDict(vec![("pty", true)]),
        ];
        let ours = spawn_call(&args);
        let (t, o) = (
            unmarshal(theirs.data().bytes()).unwrap(),
            unmarshal(&ours).unwrap(),
        );
        assert_eq!(t.signature, o.signature);
        assert_eq!(t.body, o.body);
    }

    /// The handshake over a socket pair, the bus played by the test: the
    /// SASL lines, BEGIN, Hello and the first calls arrive in one read;
    /// the bus's lines and its first message arriving together are split
    /// where the lines end.
    #[test]
    fn the_handshake_and_first_calls_go_in_one_write() {
        use std::io::{Read, Write};

        let (client, mut bus) = UnixStream::pair().unwrap();
        let reply = zbus::Message::method_call("/", "Hello").build(&()).unwrap();
        let reply = zbus::Message::method_return(&reply.header())
            .sender("org.freedesktop.DBus")
            .build(&(":1.42",))
            .unwrap();
        let mut answer = b"OK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n".to_vec();
        answer.extend_from_slice(reply.data().bytes());
        bus.write_all(&answer).unwrap();
        let args = [Arg::Str("p1")];
        let first = [Call {
            serial: 2,
            flags: 0,
            destination: "net.netnsd.Netns1",
            path: "/net/netnsd/Netns1/NetworkNamespacesController",
            interface: "net.netnsd.Netns1.NetworkNamespacesController",
            member: "GetNetworkNamespaceByName",
            args: &args,
            fds: 0,
        }];
        let mut conn = Conn::open(client, 1000, &first).expect("handshake");
        assert_eq!(conn.serial(), 3);
        let m = conn.read().unwrap().expect("the Hello reply");
        assert_eq!(Body::of(&m).str().unwrap(), ":1.42");
        assert!(!conn.has_message());

        // What the bus read: all of it in one write.
        bus.set_nonblocking(true).unwrap();
        let mut got = vec![0; 4096];
        let n = bus.read(&mut got).unwrap();
        got.truncate(n);
        let lines = sasl(1000);
        assert!(got.starts_with(&lines));
        let hello = unmarshal(&got[lines.len()..]).unwrap();
        assert_eq!(hello.member.as_deref(), Some("Hello"));
        let rest = &got
            [lines.len() + message_len(got[lines.len()..][..16].try_into().unwrap()).unwrap()..];
        let lookup = unmarshal(rest).unwrap();
        assert_eq!(
            (lookup.serial, lookup.member.as_deref()),
            (2, Some("GetNetworkNamespaceByName"))
        );
    }

    /// A bus that refuses the authentication, or descriptors, is said to.
    #[test]
    fn a_refusal_is_reported() {
        use std::io::Write;

        for (answer, want) in [
            (&b"REJECTED EXTERNAL\r\n"[..], "REJECTED EXTERNAL"),
            (
                b"OK 0123\r\nERROR no fds\r\n",
                "does not pass file descriptors",
            ),
            (b"OK 0123\r\n", "closed the connection"),
        ] {
            let (client, mut bus) = UnixStream::pair().unwrap();
            bus.write_all(answer).unwrap();
            bus.shutdown(std::net::Shutdown::Write).unwrap();
            match Conn::open(client, 0, &[]) {
                Err(Handshake::Refused(m)) => assert!(m.contains(want), "{m}"),
                Err(Handshake::Io(e)) => panic!("{want}: {e}"),
                Ok(_) => panic!("{want}: accepted"),
            }
        }
    }

    /// zbus's replies and signals, read by us.
    #[test]
    fn replies_and_signals_unmarshal_as_zbus_wrote_them() {
        let call = zbus::Message::method_call("/net/netnsd/Netns1/NetNs/3", "Spawn")
            .build(&())
            .unwrap();
        let reply = zbus::Message::method_return(&call.header())
            .sender(":1.4")
            .build(&(4242u32,))
            .unwrap();
        let m = unmarshal(reply.data().bytes()).unwrap();
        assert_eq!(m.kind, METHOD_RETURN);
        assert_eq!(
            m.reply_serial,
            Some(call.primary_header().serial_num().get())
        );
        assert_eq!(m.sender.as_deref(), Some(":1.4"));
        assert_eq!(Body::of(&m).u32().unwrap(), 4242);

        let err = zbus::Message::error(&call.header(), "net.netnsd.Netns1.Error.NotFound")
            .build(&("no such thing",))
            .unwrap();
        let m = unmarshal(err.data().bytes()).unwrap();
        assert_eq!(m.kind, ERROR);
        assert_eq!(
            m.error_name.as_deref(),
            Some("net.netnsd.Netns1.Error.NotFound")
        );
        assert_eq!(Body::of(&m).str().unwrap(), "no such thing");

        let sig = zbus::Message::signal(
            "/net/netnsd/Netns1/NetNs/3",
            "net.netnsd.Netns1.NetNsInstance",
            "ProcessExited",
        )
        .sender(":1.4")
        .build(&(77u32, -9i32))
        .unwrap();
        let m = unmarshal(sig.data().bytes()).unwrap();
        assert_eq!(m.kind, SIGNAL);
        assert_eq!(m.path.as_deref(), Some("/net/netnsd/Netns1/NetNs/3"));
        assert_eq!(m.member.as_deref(), Some("ProcessExited"));
        let mut b = Body::of(&m);
        assert_eq!((b.u32().unwrap(), b.i32().unwrap()), (77, -9));
        assert_eq!(
            message_len(sig.data().bytes()[..16].try_into().unwrap()).unwrap(),
            sig.data().len()
        );

        // A property's value: v holding t.
        let get = zbus::Message::method_return(&call.header())
            .build(&(Variant::from(4026531840u64),))
            .unwrap();
        let m = unmarshal(get.data().bytes()).unwrap();
        let mut b = Body::of(&m);
        assert_eq!(b.sig().unwrap(), "t");
        assert_eq!(b.u64().unwrap(), 4026531840);

        // Big-endian (a bus on another machine's order).
        let be = zbus::Message::method_return(&call.header())
            .endian(zbus::wire::Endian::Big)
            .build(&("x", 5u32))
            .unwrap();
        let m = unmarshal(be.data().bytes()).unwrap();
        let mut b = Body::of(&m);
        assert_eq!((b.str().unwrap().as_str(), b.u32().unwrap()), ("x", 5));
    }
}
