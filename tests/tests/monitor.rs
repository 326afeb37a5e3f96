//! `nsctl monitor` (issue 18 item 7) against the real daemon: two monitors
//! (text and --json) run as children while nsctl makes changes — a
//! namespace with a veth uplink, its DNS, a program exiting in it, a
//! WireGuard profile added, changed, brought up in a namespace of its own
//! and down, deleted; the namespace deleted — and each must have printed
//! the lines of those changes, in order.

use std::process::Stdio;
use std::time::Duration;

use netnsd_tests::*;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const WG_PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const WG_PEER: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

/// What `nsctl monitor` says on stderr once it listens.
const READY: &str = "Monitoring netnsd; Ctrl-C to stop.";

/// `nsctl monitor [ARGS]` as a child, returned once it listens.
async fn start_monitor(args: &[&str]) -> Child {
    let mut child = Command::new(nsctl_bin())
        .arg("monitor")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("nsctl monitor starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), stderr.next_line())
        .await
        .expect("nsctl monitor says it listens within 10 s")
        .unwrap();
    assert_eq!(line.as_deref(), Some(READY));
    child
}

/// Stops a monitor (SIGTERM) and returns its lines.
async fn lines_of(child: Child) -> Vec<String> {
    let pid = child.id().unwrap() as i32;
    // Let the last signals reach it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().await.unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `wanted` appear in `lines` in this order (other lines may come between);
/// each wanted line is matched by its start.
#[track_caller]
fn assert_in_order(lines: &[String], wanted: &[String]) {
    let mut at = 0;
    for w in wanted {
        match lines[at..].iter().position(|l| l.starts_with(w.as_str())) {
            Some(i) => at += i + 1,
            None => panic!("no line `{w}…` after line {at} in:\n{}", lines.join("\n")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_prints_each_change_in_order_as_text_and_json() {
    let _env = TestEnv::new();
    timed(async {
        netnsd_tests::openvpn::clear_connections_dir();
        let _daemon = Daemon::start().await;
        let text = start_monitor(&[]).await;
        let json = start_monitor(&["--json"]).await;

        nsctl(None, &["add", "mon-a", "--uplink", "veth"])
            .await
            .ok();
        nsctl(None, &["dns", "set", "mon-a", "--server", "192.0.2.53"])
            .await
            .ok();
        let out = nsctl(None, &["exec", "mon-a", "--", "sh", "-c", "exit 3"]).await;
        assert_eq!(out.code(), Some(3), "{out}");
        let peer = format!("{WG_PEER} endpoint=203.0.113.1:51820 allowed-ips=0.0.0.0/0");
        nsctl_with_input(
            &[
                "connection",
                "add",
                "mon-wg",
                "--type",
                "wireguard",
                "--isolate",
                "--netns-name",
                "mon-wg",
                "--address",
                "10.66.0.2/24",
                "--peer",
                &peer,
                "--secret",
                "private-key=-",
            ],
            &format!("{WG_PRIVATE}\n"),
        )
        .await
        .ok();
        nsctl(None, &["connection", "modify", "mon-wg", "--persistent"])
            .await
            .ok();
        let up = nsctl(None, &["vpn", "up", "mon-wg"]).await;
        let vpn_up = up.success();
        if vpn_up {
            nsctl(None, &["vpn", "down", "mon-wg"]).await.ok();
        }
        nsctl(None, &["connection", "delete", "mon-wg"]).await.ok();
        nsctl(None, &["delete", "mon-a"]).await.ok();
        if vpn_up {
            // Kept: the profile was made persistent.
            nsctl(None, &["delete", "mon-wg"]).await.ok();
        }

        // mon-a's uplink bridge goes a second after its last port: once it
        // has, both are stopped at once, having seen the same signals.
        wait_for(Duration::from_secs(10), "nsbr0 to go", || async {
            ip_link(ROOT_NS_NAME, BRIDGE_IF)
                .await
                .is_none()
                .then_some(())
        })
        .await;
        let (text, json) = tokio::join!(lines_of(text), lines_of(json));
        let mut wanted: Vec<String> = [
            "namespace mon-a: added",
            "device ",
            "namespace mon-a: dns-servers 192.0.2.53",
            "namespace mon-a: process ",
            "profile mon-wg: added",
            "profile mon-wg: updated",
        ]
        .map(String::from)
        .to_vec();
        if vpn_up {
            wanted.extend(
                [
                    "connection mon-wg: added (type wireguard)",
                    "namespace mon-wg: added",
                    "connection mon-wg: activated (reason ",
                    "connection mon-wg: deactivated (reason user-disconnected)",
                ]
                .map(String::from),
            );
        }
        wanted.extend(["profile mon-wg: removed", "namespace mon-a: removed"].map(String::from));
        if vpn_up {
            wanted.push("namespace mon-wg: removed".into());
        }
        assert_in_order(&text, &wanted);
        assert!(
            text.iter()
                .any(|l| l.starts_with("namespace mon-a: process ")
                    && l.ends_with(" exited with status 3")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|l| l.starts_with("device ") && l.contains(" in mon-a: added")),
            "a device of the uplink added in mon-a: {text:#?}"
        );
        assert!(
            text.iter().all(|l| !l.contains("/net/netnsd/Netns1/")),
            "objects named by their names: {text:#?}"
        );
        if !vpn_up {
            eprintln!("vpn up failed, its lines not checked: {up}");
        }

        // The JSON monitor saw the same, one object a line.
        let json: Vec<Value> = json
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        assert_eq!(json.len(), text.len(), "{json:#?}\n{text:#?}");
        let keys: Vec<String> = json
            .iter()
            .map(|j| {
                format!(
                    "{} {} {}",
                    j["event"].as_str().unwrap_or("?"),
                    j["kind"].as_str().unwrap_or("?"),
                    j["name"].as_str().unwrap_or("?")
                )
            })
            .collect();
        assert_in_order(
            &keys,
            &[
                "added namespace mon-a",
                "changed namespace mon-a",
                "process-exited namespace mon-a",
                "added profile mon-wg",
                "updated profile mon-wg",
                "removed profile mon-wg",
                "removed namespace mon-a",
            ]
            .map(String::from),
        );
        let exited = json
            .iter()
            .find(|j| j["event"] == "process-exited")
            .unwrap();
        assert_eq!(exited["status"], 3, "{exited}");
        assert!(exited["pid"].as_u64().unwrap() > 1, "{exited}");
        let dns = json
            .iter()
            .find(|j| j["event"] == "changed" && j["changed"]["DnsServers"].is_array())
            .unwrap_or_else(|| panic!("{json:#?}"));
        assert_eq!(dns["changed"]["DnsServers"][0], "192.0.2.53");
        assert!(
            dns["object"]
                .as_str()
                .unwrap()
                .starts_with("/net/netnsd/Netns1/NetworkNamespace/")
        );
    })
    .await;
}

/// Monitors say when netnsd stops, and go on when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_follows_netnsd_stopping_and_starting() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let mon = start_monitor(&[]).await;
        daemon.stop().await;
        wait_name_released().await;
        let daemon = Daemon::start().await;
        nsctl(None, &["add", "mon-b"]).await.ok();
        nsctl(None, &["delete", "mon-b"]).await.ok();
        let lines = lines_of(mon).await;
        assert_in_order(
            &lines,
            &[
                "netnsd: stopped",
                "netnsd: started",
                "namespace mon-b: added",
                "namespace mon-b: removed",
            ]
            .map(String::from),
        );
        daemon.stop().await;
    })
    .await;
}
