//! Port forwards (DNAT) in netnsd's table `inet netnsd` of an uplink
//! namespace: two chains of their own, rewritten whole (flush and add, in
//! one nft transaction) whenever a forward through that namespace comes or
//! goes, and declared with the table ([`super::declare_batch`]'s caller adds
//! [`commands`]).
//!
//! ```text
//! chain fwd-prerouting {            # from outside the host
//!     type nat hook prerouting priority dstnat; policy accept;
//!     meta nfproto ipv4 fib daddr type local tcp dport 8080 dnat ip to 10.…:80
//!     ip daddr 192.0.2.7 udp dport 53 dnat ip to 10.…:53
//! }
//! chain fwd-output {                # from the host itself
//!     type nat hook output priority dstnat; policy accept;
//!     meta nfproto ipv4 fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 8080 dnat ip to 10.…:80
//! }
//! ```
//!
//! `fib daddr type local` limits a forward to the host's own addresses, so
//! traffic passing through (a namespace's own connections to port 80
//! elsewhere) is never taken. Loopback destinations are left alone: a
//! connection to 127.0.0.1 cannot be sent to another host without
//! route_localnet, which netnsd does not turn on.

use std::net::IpAddr;

use netnsd_api::forward::Proto;
use serde_json::{Value, json};

use super::TABLE;

pub const PREROUTING: &str = "fwd-prerouting";
pub const OUTPUT: &str = "fwd-output";

/// One family's DNAT of one forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnat {
    pub proto: Proto,
    pub host_port: u16,
    pub host_address: Option<IpAddr>,
    /// The namespace's uplink address (its family is the rule's).
    pub to: IpAddr,
    pub port: u16,
}

fn obj(kind: &str, mut body: Value) -> Value {
    body["family"] = json!("inet");
    body["table"] = json!(TABLE);
    json!({ kind: body })
}

fn eq(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

fn rule(chain: &str, d: &Dnat) -> Value {
    let (nfproto, l3, fam) = match d.to {
        IpAddr::V4(_) => ("ipv4", "ip", "ip"),
        IpAddr::V6(_) => ("ipv6", "ip6", "ip6"),
    };
    let mut expr = vec![eq(json!({"meta": {"key": "nfproto"}}), json!(nfproto))];
    match d.host_address {
        Some(a) => expr.push(eq(
            json!({"payload": {"protocol": l3, "field": "daddr"}}),
            json!(a.to_string()),
        )),
        None => expr.push(eq(
            json!({"fib": {"result": "type", "flags": ["daddr"]}}),
            json!("local"),
        )),
    }
    if chain == OUTPUT {
        let lo = match d.to {
            IpAddr::V4(_) => json!({"prefix": {"addr": "127.0.0.0", "len": 8}}),
            IpAddr::V6(_) => json!("::1"),
        };
        expr.push(json!({"match": {"op": "!=", "left": {"payload": {"protocol": l3, "field": "daddr"}}, "right": lo}}));
    }
    expr.push(eq(
        json!({"payload": {"protocol": d.proto.as_str(), "field": "dport"}}),
        json!(d.host_port),
    ));
    expr.push(json!({"dnat": {"family": fam, "addr": d.to.to_string(), "port": d.port}}));
    obj("rule", json!({"chain": chain, "expr": expr}))
}

/// The commands that make the two chains hold exactly `dnats` (the table
/// must exist, or be made earlier in the same batch).
pub fn commands(dnats: &[Dnat]) -> Vec<Value> {
    let mut cmds = Vec::new();
    for (chain, hook) in [(PREROUTING, "prerouting"), (OUTPUT, "output")] {
        cmds.push(json!({"add": obj("chain", json!({"name": chain, "type": "nat", "hook": hook, "prio": -100, "policy": "accept"}))}));
        cmds.push(json!({"flush": obj("chain", json!({"name": chain}))}));
    }
    for d in dnats {
        cmds.push(json!({"add": rule(PREROUTING, d)}));
        cmds.push(json!({"add": rule(OUTPUT, d)}));
    }
    cmds
}

/// A batch that rewrites the two chains of an existing table.
pub fn refresh_batch(dnats: &[Dnat]) -> Value {
    json!({ "nftables": commands(dnats) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_forward_is_a_prerouting_and_an_output_dnat_to_the_namespace() {
        let d = Dnat {
            proto: Proto::Udp,
            host_port: 5353,
            host_address: None,
            to: "10.66.0.2".parse().unwrap(),
            port: 53,
        };
        let d6 = Dnat {
            proto: Proto::Tcp,
            host_port: 8080,
            host_address: Some("2001:db8::2".parse().unwrap()),
            to: "fd6e::2".parse().unwrap(),
            port: 80,
        };
        let b = refresh_batch(&[d, d6]);
        let cmds = b["nftables"].as_array().unwrap();
        // add + flush of both chains, then two rules per forward.
        assert_eq!(cmds.len(), 4 + 4);
        assert_eq!(cmds[0]["add"]["chain"]["hook"], "prerouting");
        assert_eq!(cmds[1]["flush"]["chain"]["name"], PREROUTING);
        assert_eq!(cmds[2]["add"]["chain"]["hook"], "output");
        assert_eq!(cmds[3]["flush"]["chain"]["name"], OUTPUT);
        let r = &cmds[4]["add"]["rule"];
        assert_eq!(r["table"], "netnsd");
        assert_eq!(r["chain"], PREROUTING);
        let e = r["expr"].as_array().unwrap();
        assert_eq!(e[0]["match"]["right"], "ipv4");
        assert_eq!(e[1]["match"]["left"]["fib"]["result"], "type");
        assert_eq!(e[2]["match"]["left"]["payload"]["protocol"], "udp");
        assert_eq!(e[2]["match"]["right"], 5353);
        assert_eq!(
            e[3]["dnat"],
            json!({"family": "ip", "addr": "10.66.0.2", "port": 53})
        );
        let out = &cmds[5]["add"]["rule"];
        assert_eq!(out["chain"], OUTPUT);
        assert_eq!(out["expr"][2]["match"]["op"], "!=");
        assert_eq!(
            out["expr"][2]["match"]["right"]["prefix"]["addr"],
            "127.0.0.0"
        );
        let r6 = &cmds[6]["add"]["rule"]["expr"];
        assert_eq!(r6[1]["match"]["left"]["payload"]["protocol"], "ip6");
        assert_eq!(r6[1]["match"]["right"], "2001:db8::2");
        assert_eq!(r6[3]["dnat"]["family"], "ip6");
        assert_eq!(cmds[7]["add"]["rule"]["expr"][2]["match"]["right"], "::1");
        // Only netnsd's own table.
        assert!(cmds.iter().all(|c| !c.to_string().contains("\"filter\"")));
    }
}
