//! The usual shell recipe: one `ip`/`sysctl`/`nft`/`mkdir` command per step,
//! each a child process, for the same end result as the daemon's
//! AddNetworkNamespaceWithOptions with a veth uplink, NAT and DNS.

use std::collections::HashMap;
use std::process::{Command, Stdio};

use netnsd::uplink::{Pool, Slot};

use crate::scale::Subject;
use crate::{DNS_SERVERS, ETC_NETNS, err, pool};

/// The table and NAT rules, made once before the run as an administrator
/// would (the same shape as the daemon's table `inet netnsd`).
const NFT_SETUP: &str = "\
add table inet netnsd
add set inet netnsd hostifs { type ifname; }
add chain inet netnsd postrouting { type nat hook postrouting priority srcnat; policy accept; }
add rule inet netnsd postrouting iifname @hostifs oifname != @hostifs masquerade
";

/// Runs one command; its failure is an error that shows its stderr.
pub fn sh(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("run {program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `nft -f -` with `script` on stdin.
pub fn nft_script(script: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(err("run nft"))?;
    child
        .stdin
        .take()
        .ok_or("nft has no stdin")?
        .write_all(script.as_bytes())
        .map_err(err("write to nft"))?;
    let out = child.wait_with_output().map_err(err("nft"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft -f -: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub struct RecipeSubject {
    pool: Pool,
    made: HashMap<String, (Slot, String)>,
    host_prefix: &'static str,
}

impl RecipeSubject {
    pub fn setup(host_prefix: &'static str) -> Result<Self, String> {
        // A table left by an earlier, interrupted run is replaced.
        let _ = sh("nft", &["delete", "table", "inet", "netnsd"]);
        nft_script(NFT_SETUP)?;
        Ok(RecipeSubject {
            // The shell recipe routes each host end, as such scripts do.
            pool: pool()?.with_topology(netnsd::uplink::Topology::Routed),
            made: HashMap::new(),
            host_prefix,
        })
    }

    pub fn finish(self) -> Result<(), String> {
        sh("nft", &["delete", "table", "inet", "netnsd"])
    }
}

fn nft_elements(verb: &str, host_if: &str) -> Vec<String> {
    let host = format!("\"{host_if}\"");
    [
        verb, "element", "inet", "netnsd", "hostifs", "{", &host, "}",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

impl Subject for RecipeSubject {
    async fn create(&mut self, name: &str) -> Result<(), String> {
        let slot = self.pool.allocate().ok_or("address pool exhausted")?;
        let host_if = format!("{}{}", self.host_prefix, slot.index);
        let h4 = slot.host_v4.to_string();
        let n4 = slot.ns_v4.to_string();
        let gw4 = slot.host_v4.addr.to_string();
        let (h6, n6) = (
            slot.host_v6.ok_or("no IPv6 pool")?,
            slot.ns_v6.ok_or("no IPv6 pool")?,
        );
        let (h6s, n6s, gw6) = (h6.to_string(), n6.to_string(), h6.addr.to_string());
        let h = host_if.as_str();
        let ll = format!("{}/64", netnsd::uplink::host_link_local(slot.index));
        let r = (|| {
            sh("ip", &["netns", "add", name])?;
            sh("ip", &["-n", name, "link", "set", "lo", "up"])?;
            sh(
                "ip",
                &[
                    "link", "add", h, "type", "veth", "peer", "name", "uplink0", "netns", name,
                ],
            )?;
            sh("ip", &["addr", "add", &h4, "dev", h])?;
            sh(
                "ip",
                &["addr", "add", &ll, "dev", h, "nodad", "noprefixroute"],
            )?;
            sh("ip", &["addr", "add", &h6s, "dev", h, "nodad"])?;
            sh("ip", &["-n", name, "addr", "add", &n4, "dev", "uplink0"])?;
            sh(
                "ip",
                &["-n", name, "addr", "add", &n6s, "dev", "uplink0", "nodad"],
            )?;
            sh("ip", &["-n", name, "link", "set", "uplink0", "up"])?;
            // As the daemon: the host end last, with no IPv6 link-local.
            sh("ip", &["link", "set", h, "addrgenmode", "none", "up"])?;
            sh(
                "ip",
                &[
                    "-n", name, "route", "add", "default", "via", &gw4, "dev", "uplink0",
                ],
            )?;
            sh(
                "ip",
                &[
                    "-n", name, "-6", "route", "add", "default", "via", &gw6, "dev", "uplink0",
                ],
            )?;
            sh(
                "sysctl",
                &[
                    "-qw",
                    &format!("net.ipv4.conf.{h}.forwarding=1"),
                    &format!("net.ipv6.conf.{h}.force_forwarding=1"),
                ],
            )?;
            let nft = nft_elements("add", h);
            sh("nft", &nft.iter().map(String::as_str).collect::<Vec<_>>())?;
            let dir = format!("{ETC_NETNS}/{name}");
            sh("mkdir", &["-p", &dir])?;
            // `printf … > /etc/netns/NAME/resolv.conf`: a shell built-in,
            // so no process of its own here either.
            let resolv: String = DNS_SERVERS
                .iter()
                .map(|s| format!("nameserver {s}\n"))
                .collect();
            std::fs::write(format!("{dir}/resolv.conf"), resolv).map_err(err("resolv.conf"))
        })();
        self.made.insert(name.to_owned(), (slot, host_if));
        r
    }

    async fn remove(&mut self, name: &str) -> Result<(), String> {
        let Some((slot, host_if)) = self.made.remove(name) else {
            return Err(format!("{name} was not made by the recipe"));
        };
        self.pool.release(slot.index);
        let h = host_if.as_str();
        let mut first_err = None;
        let nft = nft_elements("delete", h);
        let dir = format!("{ETC_NETNS}/{name}");
        for r in [
            sh("ip", &["link", "del", h]),
            sh("nft", &nft.iter().map(String::as_str).collect::<Vec<_>>()),
            sh("rm", &["-rf", &dir]),
            sh("ip", &["netns", "del", name]),
        ] {
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
