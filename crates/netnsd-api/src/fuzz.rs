//! Fuzz target for namespace names, which every caller hands the daemon
//! (AddNetworkNamespace, netns-name, nsctl's arguments). Property-based with
//! proptest: a short run in every `cargo test`, a long one with
//! `PROPTEST_CASES=1000000 cargo test -p netnsd-api --release fuzz_`
//! (docs/security.md).

use proptest::prelude::*;

use crate::validate::{NETNS_NAME_MAX, netns_name};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Names near the edges: dots, slashes, NULs, multi-byte characters around
/// the length limit.
fn name() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        proptest::sample::select(&[".", "..", "/", "\0", "ü", "€", "😀", "a", " ", "-", "\n"][..])
            .prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
        "[a-z]{1,64}",
    ];
    prop_oneof![
        proptest::collection::vec(piece, 0..80).prop_map(|v| v.concat()),
        any::<String>(),
        (250usize..260, "[a-zü]").prop_map(|(n, c)| c.repeat(n)),
    ]
}

/// What a valid name is, said another way than validate.rs says it.
fn acceptable(s: &str) -> bool {
    (1..=NETNS_NAME_MAX).contains(&s.len())
        && s != "."
        && s != ".."
        && !s.bytes().any(|b| b == b'/' || b == 0)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_netns_name(s in name()) {
        let verdict = netns_name(&s);
        prop_assert_eq!(verdict.is_ok(), acceptable(&s), "{:?}: {:?}", s, verdict);
        if let Err(e) = verdict {
            prop_assert!(e.starts_with("namespace name"), "{}", e);
        }
        // A valid name is one path component, safe under /run/netns and
        // /etc/netns.
        if acceptable(&s) {
            let p = std::path::Path::new("/run/netns").join(&s);
            prop_assert_eq!(p.parent(), Some(std::path::Path::new("/run/netns")));
        }
    }
}
