//! NAT for veth uplinks, in netnsd's own nftables table `inet netnsd`,
//! driven through nft's JSON interface (as netavark does). Nothing else in
//! the host's firewall is touched.
//!
//! The table holds one masquerade rule per family that matches sets; each
//! namespace's uplink is three set elements (its IPv4 and IPv6 prefixes and
//! its host-side interface), added and removed by value in one batch, so no
//! rule handles need to be remembered:
//!
//! ```text
//! table inet netnsd {
//!     set uplink4 { type ipv4_addr; flags interval; }
//!     set uplink6 { type ipv6_addr; flags interval; }
//!     set hostifs { type ifname; }
//!     chain postrouting {
//!         type nat hook postrouting priority srcnat; policy accept;
//!         ip saddr @uplink4 oifname != @hostifs masquerade
//!         ip6 saddr @uplink6 oifname != @hostifs masquerade
//!     }
//! }
//! ```

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use netnsd_api::Error;
use serde_json::{Value, json};

use crate::spec::Cidr;

pub const TABLE: &str = "netnsd";

/// One namespace's NAT: traffic from `v4`/`v6` leaving by any interface but
/// the uplinks' own is masqueraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkNat {
    pub v4: Cidr,
    pub v6: Option<Cidr>,
    pub host_if: String,
}

fn prefix(c: &Cidr) -> Value {
    json!({"prefix": {"addr": c.network().addr.to_string(), "len": c.prefix}})
}

fn obj(kind: &str, mut body: Value) -> Value {
    body["family"] = json!("inet");
    body["table"] = json!(TABLE);
    json!({ kind: body })
}

fn masquerade(proto: &str, set: &str) -> Value {
    obj(
        "rule",
        json!({"chain": "postrouting", "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "saddr"}}, "right": format!("@{set}")}},
            {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "@hostifs"}},
            {"masquerade": null}
        ]}),
    )
}

fn elements(n: &UplinkNat) -> Vec<Value> {
    let mut v = vec![
        obj(
            "element",
            json!({"name": "uplink4", "elem": [prefix(&n.v4)]}),
        ),
        obj("element", json!({"name": "hostifs", "elem": [n.host_if]})),
    ];
    if let Some(v6) = &n.v6 {
        v.push(obj(
            "element",
            json!({"name": "uplink6", "elem": [prefix(v6)]}),
        ));
    }
    v
}

/// The batch that makes sure the table exists and adds `n`.
pub fn add_batch(n: &UplinkNat) -> Value {
    let mut cmds = vec![
        json!({"add": {"table": {"family": "inet", "name": TABLE}}}),
        json!({"add": obj("set", json!({"name": "uplink4", "type": "ipv4_addr", "flags": ["interval"]}))}),
        json!({"add": obj("set", json!({"name": "uplink6", "type": "ipv6_addr", "flags": ["interval"]}))}),
        json!({"add": obj("set", json!({"name": "hostifs", "type": "ifname"}))}),
        json!({"add": obj("chain", json!({"name": "postrouting", "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}))}),
        // Idempotent: the two rules are written anew every time.
        json!({"flush": obj("chain", json!({"name": "postrouting"}))}),
        json!({"add": masquerade("ip", "uplink4")}),
        json!({"add": masquerade("ip6", "uplink6")}),
    ];
    cmds.extend(elements(n).into_iter().map(|e| json!({ "add": e })));
    json!({ "nftables": cmds })
}

/// The batch that removes `n`, and the whole table when `last`.
pub fn remove_batch(n: &UplinkNat, last: bool) -> Value {
    let cmds: Vec<Value> = if last {
        vec![json!({"delete": {"table": {"family": "inet", "name": TABLE}}})]
    } else {
        elements(n)
            .into_iter()
            .map(|e| json!({ "delete": e }))
            .collect()
    };
    json!({ "nftables": cmds })
}

/// Applies a batch with `nft -j -f -`, inside the namespace open at `netns`
/// (the daemon's own when None). Blocking: call it off the async workers.
pub fn apply(batch: &Value, netns: Option<&File>) -> Result<(), Error> {
    let mut cmd = Command::new("nft");
    cmd.args(["-j", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(f) = netns {
        let fd = f
            .try_clone()
            .map_err(|e| Error::Failed(format!("nft: {e}")))?;
        // SAFETY: setns is async-signal-safe; the closure only makes that call.
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::setns(fd.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::NotSupported(format!(
            "cannot run nft (is the nftables package installed?): {e}"
        ))
    })?;
    let payload = batch.to_string();
    let written = child
        .stdin
        .take()
        .map(|mut s| s.write_all(payload.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| Error::Failed(format!("nft: {e}")))?;
    if let Some(Err(e)) = written {
        return Err(Error::Failed(format!("nft: writing the batch: {e}")));
    }
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "nft refused the batch for table inet {TABLE}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    tracing::trace!(%payload, "nft batch applied");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nat() -> UplinkNat {
        UplinkNat {
            v4: "10.231.0.4/30".parse().unwrap(),
            v6: Some("fd6e:6574:6e73:1::/64".parse().unwrap()),
            host_if: "nsu1".into(),
        }
    }

    #[test]
    fn add_batch_makes_the_table_and_adds_three_elements() {
        let b = add_batch(&nat());
        let cmds = b["nftables"].as_array().unwrap();
        assert_eq!(cmds[0]["add"]["table"]["name"], "netnsd");
        let elems: Vec<&Value> = cmds
            .iter()
            .filter_map(|c| c["add"].get("element"))
            .collect();
        assert_eq!(elems.len(), 3);
        assert_eq!(elems[0]["elem"][0]["prefix"]["addr"], "10.231.0.4");
        assert_eq!(elems[0]["elem"][0]["prefix"]["len"], 30);
        assert_eq!(elems[1]["elem"][0], "nsu1");
        assert_eq!(elems[2]["name"], "uplink6");
        // Only netnsd's own table is ever named.
        assert!(!b.to_string().contains("\"table\":\"filter\""));
    }

    #[test]
    fn remove_batch_deletes_elements_or_the_table() {
        let b = remove_batch(&nat(), false);
        let cmds = b["nftables"].as_array().unwrap();
        assert_eq!(cmds.len(), 3);
        assert!(cmds.iter().all(|c| c["delete"]["element"].is_object()));
        let b = remove_batch(&nat(), true);
        assert_eq!(b["nftables"][0]["delete"]["table"]["name"], "netnsd");
    }
}
