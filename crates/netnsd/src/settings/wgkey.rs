//! WireGuard keys as profiles and wg-quick files write them: standard
//! base64 of 32 bytes. Read by the wg-quick importer and the WireGuard VPN
//! type.

/// Decodes a standard base64 WireGuard key (44 characters, 32 bytes).
pub fn key(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::with_capacity(32);
    for c in s.bytes().take_while(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err("is not base64".into()),
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    <[u8; 32]>::try_from(out.as_slice())
        .map_err(|_| format!("is {} bytes, not a 32-byte key", out.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_refused() {
        assert_eq!(
            key("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=").unwrap()[0],
            0xc8
        );
        assert!(key("short").is_err());
        assert!(key("not base64 at all!").is_err());
    }
}
