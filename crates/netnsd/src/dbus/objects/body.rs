//! The body of GetManagedObjects's reply, `a{oa{sa{sv}}}`, written in the
//! D-Bus wire format (little-endian) straight into one buffer: no map of
//! variants per object, no allocation per property. Alignment is counted
//! from the body's start, which a message keeps 8-aligned. Values of rare
//! or nested types go through zbus's own serializer at the same offset
//! ([`Body::prop_value`]).

use std::io::Cursor;

use serde::Serialize;
use zbus::wire::serialized::Context;
use zbus::wire::{DynamicType, LE};

/// A body being written. Every string handed to it must be valid where it
/// goes (object paths are ours, made from known prefixes and numbers).
pub struct Body(Vec<u8>);

impl Body {
    pub fn with_capacity(n: usize) -> Self {
        Body(Vec::with_capacity(n))
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn pad(&mut self, align: usize) {
        let n = self.0.len().next_multiple_of(align) - self.0.len();
        self.0.extend_from_slice(&[0; 8][..n]);
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A string or an object path: length, bytes, NUL.
    fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }

    /// `PREFIX/N`, as an object path.
    fn numbered(&mut self, prefix: &str, n: u32) {
        let mut digits = [0u8; 10];
        let digits = decimal(n, &mut digits);
        self.u32((prefix.len() + 1 + digits.len()) as u32);
        self.0.extend_from_slice(prefix.as_bytes());
        self.0.push(b'/');
        self.0.extend_from_slice(digits);
        self.0.push(0);
    }

    /// A signature (of a variant's value): length byte, bytes, NUL.
    fn signature(&mut self, s: &str) {
        self.0.push(s.len() as u8);
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }

    /// An array of elements aligned to `align`, written by `f`: its length
    /// (in bytes, without the padding before the first element) filled in
    /// after.
    fn array<R>(&mut self, align: usize, f: impl FnOnce(&mut Self) -> R) -> R {
        self.pad(4);
        let at = self.0.len();
        self.0.extend_from_slice(&[0; 4]);
        self.pad(align);
        let start = self.0.len();
        let r = f(self);
        let len = (self.0.len() - start) as u32;
        self.0[at..at + 4].copy_from_slice(&len.to_le_bytes());
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

    fn path(&mut self, path: Path<'_>) {
        match path {
            Path::Str(s) => self.string(s),
            Path::Numbered(prefix, n) => self.numbered(prefix, n),
        }
    }

    /// The start of a `{sv}` entry: its name and the value's signature.
    fn prop(&mut self, name: &str, signature: &str) {
        self.pad(8);
        self.string(name);
        self.signature(signature);
    }

    pub fn prop_str(&mut self, name: &str, v: &str) {
        self.prop(name, "s");
        self.string(v);
    }

    pub fn prop_path(&mut self, name: &str, v: Path<'_>) {
        self.prop(name, "o");
        self.path(v);
    }

    pub fn prop_u32(&mut self, name: &str, v: u32) {
        self.prop(name, "u");
        self.u32(v);
    }

    pub fn prop_i32(&mut self, name: &str, v: i32) {
        self.prop(name, "i");
        self.u32(v as u32);
    }

    pub fn prop_u64(&mut self, name: &str, v: u64) {
        self.prop(name, "t");
        self.pad(8);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub fn prop_bool(&mut self, name: &str, v: bool) {
        self.prop(name, "b");
        self.u32(v as u32);
    }

    pub fn prop_strs<'s>(&mut self, name: &str, v: impl IntoIterator<Item = &'s str>) {
        self.prop(name, "as");
        self.array(4, |b| v.into_iter().for_each(|s| b.string(s)));
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
        let at = self.0.len();
        let ctxt = Context::new(LE, at);
        let mut cursor = Cursor::new(&mut self.0);
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
    fn decimals() {
        for n in [0, 7, 10, 4242, u32::MAX] {
            assert_eq!(decimal(n, &mut [0; 10]), n.to_string().as_bytes());
        }
    }
}
