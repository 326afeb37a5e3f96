//! NAT for veth uplinks, in netnsd's own nftables table `inet netnsd`.
//! Nothing else in the host's firewall is touched.
//!
//! The table holds one masquerade rule for both families, matching a set of
//! the uplinks' host-side interfaces: traffic that came in from a namespace's
//! host end and leaves by any interface but another host end is masqueraded.
//! Each uplink is one set element, its host end's name (in the bridge
//! topology, the bridge is the one element for all its ports):
//!
//! ```text
//! table inet netnsd {
//!     set hostifs { type ifname; }
//!     chain postrouting {
//!         type nat hook postrouting priority srcnat; policy accept;
//!         iifname @hostifs oifname != @hostifs masquerade
//!     }
//!     chain output {
//!         type filter hook output priority filter; policy accept;
//!         oifname @hostifs icmp type redirect drop
//!         oifname @hostifs icmpv6 type nd-redirect drop
//!     }
//! }
//! ```
//!
//! The table is declared (or re-declared, whatever was in it before) through
//! nft's JSON interface, as netavark does, when the first uplink of an uplink
//! namespace is made; after that an uplink's element is added and removed in
//! process, with one nf_tables netlink batch ([`add_host_if`],
//! [`remove_host_ifs`]): no child process, and no read of the whole ruleset.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use netnsd_api::Error;
use serde_json::{Value, json};

pub mod forward;

pub const TABLE: &str = "netnsd";
/// The set of uplink host ends.
pub const SET: &str = "hostifs";

fn obj(kind: &str, mut body: Value) -> Value {
    body["family"] = json!("inet");
    body["table"] = json!(TABLE);
    json!({ kind: body })
}

/// The batch that (re)declares the table with exactly these host ends in
/// it: anything else in a table of that name, from an older netnsd or left
/// by a crash, goes in the same transaction, so NAT never lapses.
pub fn declare_batch(host_ifs: &[String]) -> Value {
    let table = json!({"table": {"family": "inet", "name": TABLE}});
    let mut cmds = vec![
        json!({ "add": table }),
        json!({ "delete": table }),
        json!({ "add": table }),
        json!({"add": obj("set", json!({"name": SET, "type": "ifname"}))}),
        json!({"add": obj("chain", json!({"name": "postrouting", "type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"}))}),
        json!({"add": obj("rule", json!({"chain": "postrouting", "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": format!("@{SET}")}},
            {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": format!("@{SET}")}},
            {"masquerade": null}
        ]}))}),
        // No redirect back to a namespace: one that forwards between two
        // namespaces behind one bridge (bridge topology) would tell the
        // sender the other is on-link, which its isolated port is not.
        json!({"add": obj("chain", json!({"name": "output", "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}))}),
        redirect_drop("icmp", "redirect"),
        redirect_drop("icmpv6", "nd-redirect"),
    ];
    if !host_ifs.is_empty() {
        cmds.push(json!({"add": obj("element", json!({"name": SET, "elem": host_ifs}))}));
    }
    json!({ "nftables": cmds })
}

/// `oifname @hostifs PROTO type TYPE drop`, in chain output.
fn redirect_drop(proto: &str, kind: &str) -> Value {
    json!({"add": obj("rule", json!({"chain": "output", "expr": [
        {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": format!("@{SET}")}},
        {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "type"}}, "right": kind}},
        {"drop": null}
    ]}))})
}

/// The batch that removes the table.
pub fn delete_table_batch() -> Value {
    json!({ "nftables": [{"delete": {"table": {"family": "inet", "name": TABLE}}}] })
}

/// Applies a batch with `nft -j -f -`, inside the namespace open at `netns`
/// (the daemon's own when None). Blocking: call it off the async workers.
pub fn apply(batch: &Value, netns: Option<&File>) -> Result<(), Error> {
    let mut cmd = crate::helpers::command("nft").map_err(|e| {
        Error::NotSupported(format!(
            "cannot run nft (is the nftables package installed?): {e}"
        ))
    })?;
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
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotSupported(format!(
            "cannot run nft (is the nftables package installed?): {e}"
        )),
        _ => Error::Failed(format!("cannot run nft: {e}")),
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

// nf_tables over netlink: linux/netfilter/nfnetlink.h and nf_tables.h.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_DATA_VALUE: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;
const NFPROTO_INET: u8 = 1;
const IFNAMSIZ: usize = 16;

/// Appends a netlink attribute (header, payload, padding to 4 bytes).
fn attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

fn nested(buf: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    attr(buf, kind | NLA_F_NESTED, &inner);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Appends one netlink message with an nfgenmsg header.
fn message(
    buf: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    body: &[u8],
) {
    let len = 16 + 4 + body.len();
    buf.extend_from_slice(&(len as u32).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(&(flags | libc::NLM_F_REQUEST as u16).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.push(family);
    buf.push(0); // NFNETLINK_V0
    buf.extend_from_slice(&res_id.to_be_bytes());
    buf.extend_from_slice(body);
}

/// A batch holding one NEWSETELEM or DELSETELEM of `names` in set
/// `hostifs` of table `inet netnsd`; the element message has sequence
/// number `seq + 1` and asks for an acknowledgement.
fn element_batch(add: bool, names: &[&str], seq: u32) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    attr(&mut body, NFTA_SET_ELEM_LIST_TABLE, &cstr(TABLE));
    attr(&mut body, NFTA_SET_ELEM_LIST_SET, &cstr(SET));
    let mut keys = Vec::with_capacity(names.len());
    for n in names {
        if n.is_empty() || n.len() >= IFNAMSIZ {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{n:?} is not an interface name"),
            ));
        }
        let mut key = [0u8; IFNAMSIZ];
        key[..n.len()].copy_from_slice(n.as_bytes());
        keys.push(key);
    }
    nested(&mut body, NFTA_SET_ELEM_LIST_ELEMENTS, |b| {
        for key in &keys {
            nested(b, NFTA_LIST_ELEM, |b| {
                nested(b, NFTA_SET_ELEM_KEY, |b| attr(b, NFTA_DATA_VALUE, key));
            });
        }
    });
    let subsys = NFNL_SUBSYS_NFTABLES << 8;
    let (kind, flags) = if add {
        // No NLM_F_EXCL: adding an element already there is accepted.
        (
            subsys | NFT_MSG_NEWSETELEM,
            (libc::NLM_F_CREATE | libc::NLM_F_ACK) as u16,
        )
    } else {
        (subsys | NFT_MSG_DELSETELEM, libc::NLM_F_ACK as u16)
    };
    let mut buf = Vec::with_capacity(64 + body.len());
    let unspec = libc::AF_UNSPEC as u8;
    message(
        &mut buf,
        NFNL_MSG_BATCH_BEGIN,
        0,
        seq,
        unspec,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    message(&mut buf, kind, flags, seq + 1, NFPROTO_INET, 0, &body);
    message(
        &mut buf,
        NFNL_MSG_BATCH_END,
        0,
        seq + 2,
        unspec,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    Ok(buf)
}

/// Reads replies until the one to message `seq` (or any error) arrives.
fn await_ack(sock: &impl AsRawFd, seq: u32) -> io::Result<()> {
    let mut buf = vec![0u8; 8192];
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut rest = &buf[..n as usize];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes(rest[0..4].try_into().unwrap()) as usize;
            let kind = u16::from_ne_bytes(rest[4..6].try_into().unwrap());
            let got = u32::from_ne_bytes(rest[8..12].try_into().unwrap());
            if len < 16 || len > rest.len() {
                return Err(io::Error::other("a truncated netlink reply"));
            }
            if kind == libc::NLMSG_ERROR as u16 && len >= 20 {
                let code = i32::from_ne_bytes(rest[16..20].try_into().unwrap());
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(-code));
                }
                if got == seq {
                    return Ok(());
                }
            }
            rest = &rest[len.next_multiple_of(4).min(rest.len())..];
        }
    }
}

/// Opens an nf_tables netlink socket in the namespace open at `netns` (the
/// daemon's own when None), from a throw-away thread for another one.
fn socket_in(netns: Option<&File>) -> io::Result<rtnetlink::sys::Socket> {
    fn open() -> io::Result<rtnetlink::sys::Socket> {
        let mut s = rtnetlink::sys::Socket::new(rtnetlink::sys::protocols::NETLINK_NETFILTER)?;
        s.bind_auto()?;
        Ok(s)
    }
    let Some(f) = netns else { return open() };
    let target = f.try_clone()?;
    std::thread::Builder::new()
        .name("nft-open".into())
        .spawn(move || {
            // A fresh thread: entering the namespace affects only it.
            nix::sched::setns(target.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)?;
            open()
        })?
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the nftables thread panicked")))
}

fn elements(netns: Option<&File>, add: bool, names: &[&str]) -> io::Result<()> {
    let sock = socket_in(netns)?;
    let seq = 1;
    let batch = element_batch(add, names, seq)?;
    let sent = sock.send(&batch, 0)?;
    if sent != batch.len() {
        return Err(io::Error::other("a short send of the nftables batch"));
    }
    await_ack(&sock, seq + 1)
}

/// Adds host end `name` to the NAT set, in process. Fails with ENOENT when
/// the table or set is missing (declare it, then try again). Blocking.
pub fn add_host_if(netns: Option<&File>, name: &str) -> io::Result<()> {
    elements(netns, true, &[name])
}

/// Removes host ends from the NAT set, in process, in one transaction; ones
/// already gone are skipped. Blocking: the kernel's commit of a removal
/// waits for a grace period (~15 ms).
pub fn remove_host_ifs(netns: Option<&File>, names: &[&str]) -> io::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    match elements(netns, false, names) {
        // One missing element fails the whole transaction: one at a time.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && names.len() > 1 => {
            for n in names {
                match elements(netns, false, &[n]) {
                    Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declare_batch_replaces_the_table_with_one_rule_and_the_given_elements() {
        let b = declare_batch(&["nsu1".into(), "nsu7".into()]);
        let cmds = b["nftables"].as_array().unwrap();
        // add + delete + add: whatever was there goes, in the same transaction.
        assert_eq!(cmds[0]["add"]["table"]["name"], "netnsd");
        assert_eq!(cmds[1]["delete"]["table"]["name"], "netnsd");
        assert_eq!(cmds[2]["add"]["table"]["name"], "netnsd");
        let rules: Vec<&Value> = cmds.iter().filter_map(|c| c["add"].get("rule")).collect();
        assert_eq!(rules.len(), 3);
        // Redirects to the host ends are dropped, for both families.
        assert!(rules[1..].iter().all(|r| r["chain"] == "output"));
        assert_eq!(rules[1]["expr"][1]["match"]["right"], "redirect");
        assert_eq!(rules[2]["expr"][1]["match"]["right"], "nd-redirect");
        let expr = rules[0]["expr"].as_array().unwrap();
        assert_eq!(expr[0]["match"]["left"]["meta"]["key"], "iifname");
        assert_eq!(expr[0]["match"]["right"], "@hostifs");
        assert_eq!(expr[1]["match"]["op"], "!=");
        assert!(expr[2].get("masquerade").is_some());
        let elems: Vec<&Value> = cmds
            .iter()
            .filter_map(|c| c["add"].get("element"))
            .collect();
        assert_eq!(elems.len(), 1);
        assert_eq!(elems[0]["elem"], json!(["nsu1", "nsu7"]));
        // Only netnsd's own table is ever named.
        assert!(!b.to_string().contains("\"table\":\"filter\""));
        // No element: no element command (nft refuses an empty one).
        let b = declare_batch(&[]);
        assert!(
            b["nftables"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["add"].get("element").is_none())
        );
    }

    #[test]
    fn delete_table_batch_names_only_netnsd() {
        let b = delete_table_batch();
        assert_eq!(b["nftables"][0]["delete"]["table"]["name"], "netnsd");
        assert_eq!(b["nftables"].as_array().unwrap().len(), 1);
    }

    /// Reads one netlink message at `at`: (length, type, flags, seq, body).
    fn msg_at(b: &[u8], at: usize) -> (usize, u16, u16, u32, &[u8]) {
        let len = u32::from_ne_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(b[at + 4..at + 6].try_into().unwrap());
        let flags = u16::from_ne_bytes(b[at + 6..at + 8].try_into().unwrap());
        let seq = u32::from_ne_bytes(b[at + 8..at + 12].try_into().unwrap());
        (len, kind, flags, seq, &b[at + 16..at + len])
    }

    #[test]
    fn element_batch_is_begin_setelem_end_with_the_ifname_keys() {
        let b = element_batch(true, &["nsu3"], 7).unwrap();
        let (l1, k1, _, s1, g1) = msg_at(&b, 0);
        assert_eq!((k1, s1), (NFNL_MSG_BATCH_BEGIN, 7));
        assert_eq!(g1, &[0, 0, 0, 10]); // AF_UNSPEC, v0, res_id = nftables (big endian)
        let (l2, k2, f2, s2, g2) = msg_at(&b, l1);
        assert_eq!(k2, (10 << 8) | 12, "NFT_MSG_NEWSETELEM");
        assert_eq!(s2, 8);
        let want = (libc::NLM_F_REQUEST | libc::NLM_F_CREATE | libc::NLM_F_ACK) as u16;
        assert_eq!(f2, want, "no NLM_F_EXCL: re-adding is fine");
        assert_eq!(&g2[..4], &[NFPROTO_INET, 0, 0, 0]);
        let attrs = &g2[4..];
        // table "netnsd\0" padded to 8: len 11 → 12 bytes.
        assert_eq!(&attrs[0..4], &[11, 0, 1, 0]);
        assert_eq!(&attrs[4..11], b"netnsd\0");
        // set "hostifs\0": len 12.
        assert_eq!(&attrs[12..16], &[12, 0, 2, 0]);
        assert_eq!(&attrs[16..24], b"hostifs\0");
        // ELEMENTS { LIST_ELEM { KEY { DATA_VALUE: 16 bytes } } }, all nested.
        let nest = |len: u16, t: u16| {
            let mut v = len.to_ne_bytes().to_vec();
            v.extend((t | NLA_F_NESTED).to_ne_bytes());
            v
        };
        assert_eq!(&attrs[24..28], &nest(4 + 4 + 4 + 20, 3)[..]);
        assert_eq!(&attrs[28..32], &nest(4 + 4 + 20, 1)[..]);
        assert_eq!(&attrs[32..36], &nest(4 + 20, 1)[..]);
        assert_eq!(&attrs[36..40], &[20, 0, 1, 0]);
        assert_eq!(&attrs[40..56], b"nsu3\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(attrs.len(), 56);
        let (l3, k3, _, s3, _) = msg_at(&b, l1 + l2);
        assert_eq!((k3, s3), (NFNL_MSG_BATCH_END, 9));
        assert_eq!(l1 + l2 + l3, b.len());

        let d = element_batch(false, &["nsu3", "nsu4"], 1).unwrap();
        let (l1, ..) = msg_at(&d, 0);
        let (_, k2, f2, _, g2) = msg_at(&d, l1);
        assert_eq!(k2, (10 << 8) | 14, "NFT_MSG_DELSETELEM");
        assert_eq!(f2, (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16);
        assert_eq!(g2.len(), 4 + 24 + 4 + 2 * 28);
    }

    #[test]
    fn bad_interface_names_are_refused_before_anything_is_sent() {
        assert!(element_batch(true, &[""], 1).is_err());
        assert!(element_batch(true, &["a-name-far-too-long"], 1).is_err());
    }
}
