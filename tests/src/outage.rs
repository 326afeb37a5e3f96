//! What the VPN outage tests share (tests/tests/vpn_reconnect*.rs): a
//! program spawned over the bus in the isolated namespace that fetches the
//! intranet's page every second, a capture on the uplink for whatever of
//! the namespace's traffic leaks there, and a path cut with nft in a
//! namespace (the server's), restored on drop.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::instance;
use crate::openvpn::{INTRANET_TOKEN, RIG_DIR};

/// A shell loop in a namespace, spawned over the bus, fetching a page
/// every second and printing `ok` (the page said its token) or `fail`.
pub struct FetchLoop {
    pub pid: u32,
    out: PathBuf,
}

impl FetchLoop {
    /// Spawns the loop in the namespace at `ns_path`, fetching `url`;
    /// its output goes to RIG_DIR/`name`.out.
    pub async fn spawn(conn: &zbus::Connection, ns_path: &str, url: &str, name: &str) -> FetchLoop {
        use std::os::fd::AsFd;
        let out = PathBuf::from(RIG_DIR).join(format!("{name}.out"));
        let file = std::fs::File::create(&out).unwrap();
        let inst = instance(conn, ns_path).await;
        let script = format!(
            "while :; do if curl -s --max-time 2 {url} | grep -q {INTRANET_TOKEN}; \
             then echo ok; else echo fail; fi; sleep 1; done"
        );
        let argv = ["/bin/sh", "-c", script.as_str()];
        let env = std::collections::HashMap::from([("PATH", "/usr/bin:/bin")]);
        let fds = std::collections::HashMap::from([
            ("stdout", zbus::wire::Fd::from(file.as_fd())),
            ("stderr", zbus::wire::Fd::from(file.as_fd())),
        ]);
        let pid = inst
            .spawn(&argv, env, "/", fds, std::collections::HashMap::new())
            .await
            .unwrap_or_else(|e| panic!("Spawn the fetch loop in {ns_path}: {e:?}"));
        FetchLoop { pid, out }
    }

    /// The loop's output lines.
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until the loop prints `want` after its first `from` lines;
    /// the number of lines up to that one.
    pub async fn wait(&self, want: &str, from: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let lines = self.lines();
            if let Some(i) = lines.iter().skip(from).position(|l| l == want) {
                return from + i + 1;
            }
            assert!(
                Instant::now() < deadline,
                "the fetch loop printed no {want:?} within {limit:?}: {lines:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether the loop (the same process) still runs.
    pub fn alive(&self) -> bool {
        std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }

    /// Ends it (so that its namespace can go).
    pub fn kill(&self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// tcpdump on an interface (the uplink) with a filter for what must not
/// be seen there; what it saw, once finished.
pub struct Capture {
    child: std::process::Child,
    out: PathBuf,
}

impl Capture {
    /// Starts tcpdump on `iface` in rootns with `filter`; returns once it
    /// listens. Its output goes to RIG_DIR/`name`.txt.
    pub fn start(iface: &str, filter: &[&str], name: &str) -> Capture {
        let out = PathBuf::from(RIG_DIR).join(format!("{name}.txt"));
        let file = std::fs::File::create(&out).unwrap();
        let mut child = std::process::Command::new("tcpdump")
            .args(["-i", iface, "-n", "-l", "-U", "-Z", "root"])
            .args(filter)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpdump (tests/run installs it)");
        let err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("tcpdump did not start listening");
        Capture { child, out }
    }

    /// What it has captured so far (it writes each packet as it sees it).
    pub fn so_far(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Stops it; what it captured.
    pub fn finish(mut self) -> String {
        self.stop();
        self.so_far()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The name of the table a [`PathCut`] adds.
const CUT_TABLE: &str = "netnsd_tests_cut";

/// Every packet in or out of one interface of a namespace dropped (an nft
/// table of its own there): the path to a server cut, the server itself
/// untouched. Restored on drop.
pub struct PathCut {
    ns: String,
}

impl PathCut {
    /// Cuts `ifname` in namespace `ns`.
    pub async fn cut(ns: &str, ifname: &str) -> PathCut {
        let rules = format!(
            "table inet {CUT_TABLE} {{\n\
             chain cut_in {{ type filter hook input priority -300; iifname \"{ifname}\" drop; }}\n\
             chain cut_out {{ type filter hook output priority -300; oifname \"{ifname}\" drop; }}\n\
             chain cut_fwd {{ type filter hook forward priority -300; iifname \"{ifname}\" drop; oifname \"{ifname}\" drop; }}\n\
             }}\n"
        );
        let file = PathBuf::from(RIG_DIR).join("path-cut.nft");
        std::fs::write(&file, rules).unwrap();
        let out = in_netns(ns, &["nft", "-f", file.to_str().unwrap()]).await;
        assert!(out.status.success(), "nft in {ns}: {out:?}");
        PathCut { ns: ns.to_owned() }
    }

    /// Lets the traffic through again.
    pub async fn restore(self) {
        let out = in_netns(&self.ns, &["nft", "delete", "table", "inet", CUT_TABLE]).await;
        assert!(out.status.success(), "nft in {}: {out:?}", self.ns);
    }
}

impl Drop for PathCut {
    fn drop(&mut self) {
        // restore() not reached (a failed test): take the table out anyway.
        let _ = std::process::Command::new("ip")
            .args([
                "netns", "exec", &self.ns, "nft", "delete", "table", "inet", CUT_TABLE,
            ])
            .stderr(Stdio::null())
            .status();
    }
}

async fn in_netns(ns: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .await
        .unwrap()
}
