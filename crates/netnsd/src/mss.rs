//! TCP MSS clamping on chosen devices of a namespace, in netnsd's own
//! nftables table `inet netnsd-mss` there:
//!
//! ```text
//! table inet netnsd-mss {
//!     set clampifs { type ifname; elements = { "gre1", "tun0" } }
//!     chain forward {
//!         type filter hook forward priority mangle; policy accept;
//!         oifname @clampifs tcp flags syn / syn,rst tcp option maxseg size set rt mtu
//!     }
//! }
//! ```
//!
//! A SYN (and a SYN-ACK) forwarded out of a clamped device gets the MSS the
//! route's MTU allows, so connections through a tunnel or an uplink with a
//! smaller MTU never depend on path-MTU discovery (seed 001's
//! `iptables -t mangle … -j TCPMSS --clamp-mss-to-pmtu`). The table is
//! declared anew, with its whole list, on each change (one transaction);
//! an empty list removes it.

use serde_json::{Value, json};

pub const TABLE: &str = "netnsd-mss";
const SET: &str = "clampifs";

fn obj(kind: &str, mut body: Value) -> Value {
    body["family"] = json!("inet");
    body["table"] = json!(TABLE);
    json!({ kind: body })
}

/// The batch that leaves the table holding exactly `ifnames` (none: no
/// table), whatever was there before.
pub fn declare_batch(ifnames: &[String]) -> Value {
    let table = json!({"table": {"family": "inet", "name": TABLE}});
    let mut cmds = vec![json!({ "add": table }), json!({ "delete": table })];
    if !ifnames.is_empty() {
        cmds.extend([
            json!({ "add": table }),
            json!({"add": obj("set", json!({"name": SET, "type": "ifname"}))}),
            json!({"add": obj("chain", json!({"name": "forward", "type": "filter", "hook": "forward", "prio": -150, "policy": "accept"}))}),
            json!({"add": obj("rule", json!({"chain": "forward", "expr": [
                {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": format!("@{SET}")}},
                {"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["syn", "rst"]]}, "right": "syn"}},
                {"mangle": {"key": {"tcp option": {"name": "maxseg", "field": "size"}}, "value": {"rt": {"key": "mtu"}}}}
            ]}))}),
            json!({"add": obj("element", json!({"name": SET, "elem": ifnames}))}),
        ]);
    }
    json!({ "nftables": cmds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_exactly_the_list_or_goes() {
        let b = declare_batch(&["gre1".into(), "tun0".into()]);
        let cmds = b["nftables"].as_array().unwrap();
        assert_eq!(cmds[1]["delete"]["table"]["name"], TABLE);
        assert_eq!(
            cmds.last().unwrap()["add"]["element"]["elem"],
            json!(["gre1", "tun0"])
        );
        let rule = &cmds[5]["add"]["rule"]["expr"];
        assert_eq!(rule[2]["mangle"]["value"]["rt"]["key"], "mtu");
        let b = declare_batch(&[]);
        assert_eq!(
            b["nftables"].as_array().unwrap().len(),
            2,
            "add+delete: no table"
        );
        assert!(!b.to_string().contains("\"name\":\"netnsd\""));
    }
}
