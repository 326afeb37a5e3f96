//! Argument checks shared by the daemon (authoritative) and nsctl (early,
//! friendlier): namespace names, interface names, MTUs.

/// Longest namespace name: NAME_MAX, as iproute2 allows.
pub const NETNS_NAME_MAX: usize = 255;

/// Checks a namespace name the way iproute2 does (`is_valid_netns_name`), and
/// for what makes it unsafe as a file name under /run/netns and /etc/netns.
/// The error text names the problem.
pub fn netns_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("namespace name is empty".into());
    }
    if name.len() > NETNS_NAME_MAX {
        return Err(format!(
            "namespace name is {} bytes long, longer than {NETNS_NAME_MAX}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("namespace name {name:?} is not allowed"));
    }
    if name.contains('/') {
        return Err(format!("namespace name {name:?} contains '/'"));
    }
    if name.contains('\0') {
        return Err("namespace name contains a NUL byte".into());
    }
    Ok(())
}

/// Checks an interface name as the kernel's `dev_valid_name` does: 1 to 15
/// bytes, not `.` or `..`, no `/`, `:` or whitespace. `%` is refused as
/// well: the kernel would take the name as a pattern (`veth%d`) and choose
/// another.
pub fn ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty interface name".into());
    }
    if name.len() > 15 {
        return Err(format!(
            "interface name '{name}' is {} bytes long; the kernel allows at most 15",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("'{name}' is not a valid interface name"));
    }
    // The kernel's isspace() also counts VT and 0xa0, a byte that occurs
    // inside UTF-8 sequences.
    let bad = |b: u8| matches!(b, b'/' | b':' | b'%' | 0 | b' ' | b'\t'..=b'\r' | 0xa0);
    if let Some(b) = name.bytes().find(|&b| bad(b)) {
        let what = match b {
            b'/' | b':' | b'%' => format!("'{}'", b as char),
            0 => "a NUL byte".into(),
            _ => "whitespace".into(),
        };
        return Err(format!("interface name '{name}' contains {what}"));
    }
    Ok(())
}

/// Checks an MTU for a link that carries IPv4.
pub fn mtu(mtu: u32) -> Result<(), String> {
    if !(68..=65535).contains(&mtu) {
        return Err(format!(
            "MTU {mtu} is out of range: it must be between 68 (the IPv4 minimum) and 65535"
        ));
    }
    Ok(())
}

/// Reads an Ethernet MAC address as `ip link set DEV address` takes it
/// (six hex octets separated by colons); refuses multicast and all-zero
/// addresses, which no device may take as its own.
pub fn mac(s: &str) -> Result<[u8; 6], String> {
    let bad = || format!("'{s}' is not a MAC address (six hex octets, as 02:00:5e:10:00:01)");
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (o, p) in mac.iter_mut().zip(&parts) {
        if p.is_empty() || p.len() > 2 {
            return Err(bad());
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(format!(
            "{s} is a multicast address: a device needs a unicast one"
        ));
    }
    if mac == [0; 6] {
        return Err(format!("{s} is the all-zero address"));
    }
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(mac("02:00:5e:10:0:1"), Ok([2, 0, 0x5e, 0x10, 0, 1]));
        assert_eq!(mac("AA:bb:cc:dd:ee:fe").unwrap()[0], 0xaa);
        for bad in [
            "",
            "02:00:5e:10:00",
            "02:00:5e:10:00:01:02",
            "02:00:5e:10:00:zz",
            "02:00:5e:10:00:100",
            "02::5e:10:00:01",
        ] {
            assert!(mac(bad).unwrap_err().contains("not a MAC address"), "{bad}");
        }
        assert!(mac("01:00:5e:00:00:01").unwrap_err().contains("multicast"));
        assert!(mac("00:00:00:00:00:00").unwrap_err().contains("all-zero"));
    }

    #[test]
    fn accepts_what_iproute2_accepts() {
        for ok in [
            "a",
            "vpn-1",
            "with space",
            "ünïcode",
            "x.y",
            "...",
            &"n".repeat(255),
        ] {
            assert!(netns_name(ok).is_ok(), "{ok:?} should be accepted");
        }
    }

    #[test]
    fn refuses_unsafe_names_naming_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            (".", "not allowed"),
            ("..", "not allowed"),
            ("a/b", "contains '/'"),
            ("/", "contains '/'"),
            ("a\0b", "NUL"),
        ];
        for (bad, why) in cases {
            let err = netns_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        let long = "n".repeat(256);
        assert!(netns_name(&long).unwrap_err().contains("longer than 255"));
    }

    #[test]
    fn ifnames() {
        for good in ["eth0", "veth-ns1", "a", "fifteen-chars-x", "wg.0", "tun_1"] {
            assert_eq!(ifname(good), Ok(()), "{good}");
        }
        for (bad, word) in [
            ("", "empty"),
            ("sixteen-chars-xx", "at most 15"),
            (".", "not a valid"),
            ("..", "not a valid"),
            ("a/b", "'/'"),
            ("a:b", "':'"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\x0bb", "whitespace"),
            ("veth%d", "'%'"),
            ("a\0b", "NUL"),
            // U+00E0 is C3 A0 in UTF-8; the kernel's isspace() takes 0xa0.
            ("\u{e0}", "whitespace"),
        ] {
            let e = ifname(bad).unwrap_err();
            assert!(e.contains(word), "{bad:?}: {e:?} should say {word:?}");
        }
    }

    #[test]
    fn mtus() {
        assert!(mtu(68).is_ok());
        assert!(mtu(1500).is_ok());
        assert!(mtu(65535).is_ok());
        for bad in [0, 67, 65536] {
            let e = mtu(bad).unwrap_err();
            assert!(e.contains("68 (the IPv4 minimum)"), "{e}");
        }
    }
}
