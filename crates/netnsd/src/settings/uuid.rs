//! UUIDs for connection profiles: random (version 4) ones for new profiles,
//! and stable name-based ones for keyfiles written without a uuid.

use std::fs::File;
use std::io::Read;

/// A random version 4 UUID (RFC 9562), from the kernel's random source.
pub fn new_uuid_v4() -> String {
    let mut b = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("/dev/urandom is readable");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// A UUID derived from `seed` and always the same for it: the 128-bit
/// FNV-1a hash of the seed, marked as a version 8 (custom) UUID.
pub(crate) fn uuid_from_seed(seed: &str) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for &c in b"netnsd-keyfile\0".iter().chain(seed.as_bytes()) {
        h ^= u128::from(c);
        h = h.wrapping_mul(PRIME);
    }
    let mut b = h.to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

fn format_uuid(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// Whether `s` is a UUID in its usual text form: 32 hexadecimal digits in
/// groups of 8-4-4-4-12 separated by '-' (either case).
pub fn is_valid_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_is_random_and_well_formed() {
        let a = new_uuid_v4();
        let b = new_uuid_v4();
        assert_ne!(a, b);
        for u in [&a, &b] {
            assert!(is_valid_uuid(u), "{u}");
            assert_eq!(&u[14..15], "4", "{u}");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        }
    }

    #[test]
    fn seeded_is_stable_and_distinct() {
        let a = uuid_from_seed("/etc/netnsd/connections/a.nmconnection");
        assert_eq!(a, uuid_from_seed("/etc/netnsd/connections/a.nmconnection"));
        assert_ne!(a, uuid_from_seed("/etc/netnsd/connections/b.nmconnection"));
        assert!(is_valid_uuid(&a));
        assert_eq!(&a[14..15], "8");
    }

    #[test]
    fn validity() {
        assert!(is_valid_uuid("2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a11"));
        assert!(is_valid_uuid("2A5B9A4C-5CB5-4D8B-9C1E-0C3F3F5E9A11"));
        for bad in [
            "",
            "2a5b9a4c5cb54d8b9c1e0c3f3f5e9a11",
            "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a1",
            "2a5b9a4c-5cb5-4d8b-9c1e-0c3f3f5e9a1g",
            "2a5b9a4c-5cb5-4d8b-9c1e/0c3f3f5e9a11",
        ] {
            assert!(!is_valid_uuid(bad), "{bad:?}");
        }
    }
}
