//! The body of GetManagedObjects's reply, `a{oa{sa{sv}}}`, written in the
//! D-Bus wire format (little-endian) straight into one buffer: no map of
//! variants per object, no allocation per property. Alignment is counted
//! from the body's start, which a message keeps 8-aligned. Values of rare
//! or nested types go through zbus's own serializer at the same offset
//! ([`Body::prop_value`]).
//!
//! The buffer may start with the message's header ([`Body::behind`]): the
//! body is then written where it goes in the message, and the message is
//! made from the buffer as it is ([`Body::into_message`]), without the copy
//! of the body (2.2 MB at 1000 namespaces) that zbus's `build_raw_body`
//! makes.

use std::fmt::Display;
use std::io::{Cursor, Write as _};

use serde::Serialize;
use zbus::message::Message;
use zbus::wire::serialized::{Context, Data};
use zbus::wire::{DynamicType, LE};

/// The largest message the D-Bus specification allows (128 MiB).
const MAX_MESSAGE_SIZE: usize = 128 * 1024 * 1024;

/// A body being written. Every string handed to it must be valid where it
/// goes (object paths are ours, made from known prefixes and numbers).
pub struct Body {
    buf: Vec<u8>,
    /// Where the body starts in `buf`: 0, or the length of the message
    /// header before it (a multiple of 8, as the body is 8-aligned).
    start: usize,
}

impl Body {
    #[cfg(test)]
    pub fn with_capacity(n: usize) -> Self {
        Body {
            buf: Vec::with_capacity(n),
            start: 0,
        }
    }

    /// A body to be written behind `head`: a whole little-endian message
    /// with an empty body (its header and the padding after it), whose
    /// body length [`Body::into_message`] fills in.
    pub fn behind(head: &[u8], capacity: usize) -> Self {
        debug_assert!(head.len().is_multiple_of(8) && head.first() == Some(&b'l'));
        let mut buf = Vec::with_capacity(head.len() + capacity);
        buf.extend_from_slice(head);
        Body {
            buf,
            start: head.len(),
        }
    }

    #[cfg(test)]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf[self.start..].to_vec()
    }

    /// The body's length so far.
    pub fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The message: the header given to [`Body::behind`] with this body's
    /// length, and the body, in the buffer they were written in.
    pub fn into_message(mut self) -> zbus::Result<Message> {
        if self.start < 16 || self.buf.len() > MAX_MESSAGE_SIZE {
            return Err(zbus::Error::ExcessData);
        }
        // The primary header: endianness, type, flags, version, then the
        // body's length (u32).
        let len = self.len() as u32;
        self.buf[4..8].copy_from_slice(&len.to_le_bytes());
        // SAFETY: the header is zbus's own (built with an empty body and
        // the body's signature), the body a whole `a{oa{sa{sv}}}` in
        // little-endian wire format (the tests parse it back), with no
        // descriptors.
        unsafe { Message::from_bytes(Data::new(self.buf, Context::new(LE, 0))) }
    }

    #[inline]
    fn pad(&mut self, align: usize) {
        let n = self.buf.len().next_multiple_of(align) - self.buf.len();
        self.buf.extend_from_slice(&[0; 8][..n]);
    }

    #[inline]
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A string or an object path: length, bytes, NUL.
    #[inline]
    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// A string as `v` displays itself, formatted in place (no String
    /// made for it).
    fn display(&mut self, v: &impl Display) {
        self.pad(4);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v}");
        let len = (self.buf.len() - at - 4) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.buf.push(0);
    }

    /// `PREFIX/N`, as an object path.
    #[inline]
    fn numbered(&mut self, prefix: &str, n: u32) {
        let mut digits = [0u8; 10];
        let digits = decimal(n, &mut digits);
        self.u32((prefix.len() + 1 + digits.len()) as u32);
        self.buf.extend_from_slice(prefix.as_bytes());
        self.buf.push(b'/');
        self.buf.extend_from_slice(digits);
        self.buf.push(0);
    }

    /// A signature (of a variant's value): length byte, bytes, NUL.
    #[inline]
    fn signature(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// An array of elements aligned to `align`, written by `f`: its length
    /// (in bytes, without the padding before the first element) filled in
    /// after.
    fn array<R>(&mut self, align: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        self.pad(4);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.pad(align);
        let start = self.buf.len();
        let r = f(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        r
    }

    /// The whole reply: `a{oa{sa{sv}}}`, its entries written by `f`
    /// ([`Body::object`]).
    pub fn objects<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.array(8, f)
    }

    /// One `{oa{sa{sv}}}` entry with one interface, whose properties `f`
    /// writes (the `prop_*` methods).
    pub fn object<R>(
        &mut self,
        path: Path<'_>,
        interface: &str,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        self.pad(8);
        self.path(path);
        self.array(8, |b| {
            b.pad(8);
            b.string(interface);
            b.array(8, f)
        })
    }

    /// One `{oa{sa{sv}}}` entry whose interfaces and properties zbus
    /// serializes (`a{sa{sv}}`).
    pub fn object_value<T>(&mut self, path: &str, interfaces: &T) -> zbus::Result<()>
    where
        T: Serialize + DynamicType,
    {
        self.pad(8);
        self.string(path);
        self.value(interfaces)
    }

    #[inline]
    fn path(&mut self, path: Path<'_>) {
        match path {
            Path::Str(s) => self.string(s),
            Path::Numbered(prefix, n) => self.numbered(prefix, n),
        }
    }

    /// The start of a `{sv}` entry: its name and the value's signature.
    #[inline]
    fn prop(&mut self, name: &str, signature: &str) {
        self.pad(8);
        self.string(name);
        self.signature(signature);
    }

    #[inline]
    pub fn prop_str(&mut self, name: &str, v: &str) {
        self.prop(name, "s");
        self.string(v);
    }

    #[inline]
    pub fn prop_path(&mut self, name: &str, v: Path<'_>) {
        self.prop(name, "o");
        self.path(v);
    }

    #[inline]
    pub fn prop_u32(&mut self, name: &str, v: u32) {
        self.prop(name, "u");
        self.u32(v);
    }

    #[inline]
    pub fn prop_i32(&mut self, name: &str, v: i32) {
        self.prop(name, "i");
        self.u32(v as u32);
    }

    #[inline]
    pub fn prop_u64(&mut self, name: &str, v: u64) {
        self.prop(name, "t");
        self.pad(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    #[inline]
    pub fn prop_bool(&mut self, name: &str, v: bool) {
        self.prop(name, "b");
        self.u32(v as u32);
    }

    pub fn prop_strs<'s>(&mut self, name: &str, v: impl IntoIterator<Item = &'s str>) {
        self.prop(name, "as");
        self.array(4, |b| v.into_iter().for_each(|s| b.string(s)));
    }

    /// `as` of values that display themselves (addresses).
    pub fn prop_display_strs<D: Display>(&mut self, name: &str, v: impl IntoIterator<Item = D>) {
        self.prop(name, "as");
        self.array(4, |b| v.into_iter().for_each(|d| b.display(&d)));
    }

    pub fn prop_paths<'s>(&mut self, name: &str, v: impl IntoIterator<Item = Path<'s>>) {
        self.prop(name, "ao");
        self.array(4, |b| v.into_iter().for_each(|p| b.path(p)));
    }

    /// `a{sas}`: a map of strings to lists of strings.
    pub fn prop_str_lists<'s, L>(&mut self, name: &str, v: impl IntoIterator<Item = (&'s str, L)>)
    where
        L: IntoIterator<Item = &'s str>,
    {
        self.prop(name, "a{sas}");
        self.array(8, |b| {
            for (k, list) in v {
                b.pad(8);
                b.string(k);
                b.array(4, |b| list.into_iter().for_each(|s| b.string(s)));
            }
        });
    }

    /// `a{sv}`: written here when empty (the usual case), else by zbus.
    pub fn prop_vardict(
        &mut self,
        name: &str,
        v: &std::collections::HashMap<String, zbus::wire::OwnedVariant>,
    ) -> zbus::Result<()> {
        if !v.is_empty() {
            return self.prop_value(name, v);
        }
        self.prop(name, "a{sv}");
        self.array(8, |_| ());
        Ok(())
    }

    /// A property of any other type, serialized by zbus where it lies.
    pub fn prop_value<T>(&mut self, name: &str, v: &T) -> zbus::Result<()>
    where
        T: Serialize + DynamicType,
    {
        self.prop(name, &v.signature().to_string());
        self.value(v)
    }

    fn value<T>(&mut self, v: &T) -> zbus::Result<()>
    where
        T: Serialize + DynamicType,
    {
        let at = self.buf.len();
        let ctxt = Context::new(LE, at);
        let mut cursor = Cursor::new(&mut self.buf);
        cursor.set_position(at as u64);
        // SAFETY: no descriptors are written (none of these values holds one).
        let written = unsafe { zbus::wire::to_writer(&mut cursor, ctxt, v) }?;
        debug_assert!(written.into_fds().is_empty());
        Ok(())
    }
}

/// An object path to write: as it is, or `PREFIX/N` made as it is written.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Str(&'a str),
    Numbered(&'a str, u32),
}

/// `n` in decimal, in `buf`.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use zbus::fdo::ManagedObjects;
    use zbus::wire::OwnedVariant;
    use zbus::wire::serialized::{Context, Data};

    use super::*;

    type Props = HashMap<String, OwnedVariant>;

    /// The body read back as a client reads it, keyed by plain strings.
    fn parse(body: Body) -> HashMap<String, HashMap<String, Props>> {
        let data = Data::new(body.into_bytes(), Context::new(LE, 0));
        let (objs, used): (ManagedObjects, usize) = data.deserialize().expect("a{oa{sa{sv}}}");
        assert_eq!(used, data.len());
        objs.into_iter()
            .map(|(p, i)| {
                let i = i.into_iter().map(|(n, p)| (n.to_string(), p)).collect();
                (p.to_string(), i)
            })
            .collect()
    }

    #[test]
    fn written_as_zbus_reads_it() {
        let mut b = Body::with_capacity(0);
        let lease: HashMap<String, OwnedVariant> =
            HashMap::from([("lease-time".to_owned(), OwnedVariant::from(3600u32))]);
        b.objects(|b| {
            b.object_value(
                "/o/a",
                &HashMap::from([(
                    "x.Y",
                    HashMap::from([("K", zbus::wire::Variant::from("v"))]),
                )]),
            )
            .unwrap();
            b.object(Path::Numbered("/o/ns", 17), "x.Ns", |b| {
                b.prop_str("Name", "blue");
                b.prop_bool("Persistent", true);
                b.prop_u64("Id", 4026532000);
                b.prop_paths(
                    "Devices",
                    [Path::Numbered("/o/dev", 3), Path::Str("/o/dev/40")],
                );
                b.prop_paths("None", []);
                b.prop_strs("Dns", ["192.0.2.1", "2001:db8::1"]);
                b.prop_str_lists("Split", [("corp", ["10.0.0.1"])]);
                b.prop_value("Lease", &lease).unwrap();
                b.prop_i32("Ifindex", -2);
                b.prop_path("Primary", Path::Str("/"));
                b.prop_u32("Mtu", 1500);
            });
            b.object(Path::Str("/o/empty"), "x.E", |_| {});
        });
        let objs = parse(b);
        assert_eq!(objs.len(), 3);
        let ns = &objs["/o/ns/17"]["x.Ns"];
        let get = |k: &str| ns[k].try_clone().unwrap();
        assert_eq!(String::try_from(get("Name")).unwrap(), "blue");
        assert!(bool::try_from(get("Persistent")).unwrap());
        assert_eq!(u64::try_from(get("Id")).unwrap(), 4026532000);
        let devs: Vec<zbus::wire::OwnedObjectPath> = get("Devices").try_into().unwrap();
        assert_eq!(devs.len(), 2);
        assert_eq!(devs[0].as_str(), "/o/dev/3");
        let none: Vec<zbus::wire::OwnedObjectPath> = get("None").try_into().unwrap();
        assert!(none.is_empty());
        let dns: Vec<String> = get("Dns").try_into().unwrap();
        assert_eq!(dns, ["192.0.2.1", "2001:db8::1"]);
        let split: HashMap<String, Vec<String>> = get("Split").try_into().unwrap();
        assert_eq!(split["corp"], ["10.0.0.1"]);
        let l: HashMap<String, OwnedVariant> = get("Lease").try_into().unwrap();
        assert_eq!(
            u32::try_from(l["lease-time"].try_clone().unwrap()).unwrap(),
            3600
        );
        assert_eq!(i32::try_from(get("Ifindex")).unwrap(), -2);
        assert_eq!(u32::try_from(get("Mtu")).unwrap(), 1500);
        assert!(objs["/o/empty"]["x.E"].is_empty());
    }

    #[test]
    fn the_same_bytes_as_zbus_writes() {
        // Properties in a fixed order, written both ways.
        let mut b = Body::with_capacity(0);
        b.objects(|b| {
            b.object(Path::Numbered("/p", 0), "a.B", |b| {
                b.prop_str("S", "x");
                b.prop_u64("T", 7);
            })
        });
        let ours = b.into_bytes();
        // BTreeMap: the properties in the same order as written above.
        let one = HashMap::from([(
            zbus::wire::ObjectPath::from_static_str_unchecked("/p/0"),
            HashMap::from([(
                "a.B",
                std::collections::BTreeMap::from([
                    ("S", zbus::wire::Variant::from("x")),
                    ("T", zbus::wire::Variant::from(7u64)),
                ]),
            )]),
        )]);
        let theirs = zbus::wire::to_bytes(Context::new(LE, 0), &one).unwrap();
        assert_eq!(ours, theirs.bytes());
    }

    #[test]
    fn a_message_written_in_place_is_the_one_zbus_builds() {
        use zbus::fdo::ManagedObjects;
        use zbus::wire::Type;
        let call = Message::method_call("/", "GetManagedObjects")
            .build(&())
            .unwrap();
        let reply = |body: &[u8]| {
            // SAFETY: the test's own body, checked below.
            unsafe {
                Message::method_return(&call.header())
                    .endian(LE)
                    .build_raw_body(body, <ManagedObjects as Type>::SIGNATURE.clone(), vec![])
            }
            .unwrap()
        };
        let write = |b: &mut Body| {
            b.objects(|b| {
                b.object(Path::Numbered("/p", 1), "a.B", |b| {
                    b.prop_str("S", "x");
                    b.prop_u64("T", 7);
                    let dns: [std::net::IpAddr; 2] =
                        ["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
                    b.prop_display_strs("Dns", dns);
                })
            })
        };
        let head = reply(&[]);
        let mut b = Body::behind(head.data(), 0);
        write(&mut b);
        let ours = b.into_message().unwrap();
        let mut alone = Body::with_capacity(0);
        write(&mut alone);
        let theirs = reply(&alone.into_bytes());
        // The same bytes but the serial (each message its own).
        let (ours_b, theirs_b) = (&ours.data()[..], &theirs.data()[..]);
        assert_eq!(ours_b.len(), theirs_b.len());
        assert_eq!(ours_b[..8], theirs_b[..8]);
        assert_eq!(ours_b[12..], theirs_b[12..]);
        assert_eq!(
            ours.header().reply_serial(),
            Some(call.primary_header().serial_num())
        );
        let objs: ManagedObjects = ours.body().deserialize().unwrap();
        let props = &objs[&zbus::wire::ObjectPath::from_static_str_unchecked("/p/1")]["a.B"];
        let dns: Vec<String> = props["Dns"].try_clone().unwrap().try_into().unwrap();
        assert_eq!(dns, ["192.0.2.1", "2001:db8::1"]);
    }

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 4242, u32::MAX] {
            assert_eq!(decimal(n, &mut [0; 10]), n.to_string().as_bytes());
        }
    }
}
