//! Argument checks shared by the daemon (authoritative) and nsctl (early, friendlier).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
