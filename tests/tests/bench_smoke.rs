//! The benchmark (crates/netnsd-bench, run in full by `sudo tests/bench`) at a
//! small size, so that it cannot rot: every phase runs — the daemon over the
//! bus, the shell recipe, the in-process floor — with 1 and 3 namespaces
//! alive and two create+remove cycles each (and a second round of the
//! daemon's), and the report comes out whole.
//! Only completion and sane numbers are checked, never speed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use netnsd_tests::*;
use serde_json::Value;

/// How long the small run may take (debug build, a loaded machine).
const BENCH_TIMEOUT: Duration = Duration::from_secs(80);

/// target/debug/netnsd-bench, built by tests/run's `cargo build --workspace`
/// next to the daemon; NETNSD_BENCH_BIN overrides it.
fn bench_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NETNSD_BENCH_BIN") {
        return PathBuf::from(p);
    }
    let p = netnsd_bin()
        .parent()
        .expect("NETNSD_BIN has a directory")
        .join("netnsd-bench");
    assert!(
        p.exists(),
        "{} was not built: tests/run builds it with `cargo build --workspace --all-targets`",
        p.display()
    );
    p
}

/// A scratch directory under /tmp, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let p = PathBuf::from(format!("/tmp/netnsd-bench-smoke.{}", tmp_tag()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create the scratch directory");
        Scratch(p)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A latency summary: samples taken, figures finite and ordered.
#[track_caller]
fn sane_samples(v: &Value, what: &str, n: u64) {
    assert_eq!(v["n"].as_u64(), Some(n), "{what}: sample count in {v}");
    let f = |k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("{what}: {k} is not a number in {v}"))
    };
    let (min, p50, p99, max) = (f("min_ms"), f("p50_ms"), f("p99_ms"), f("max_ms"));
    assert!(min > 0.0, "{what}: a zero or negative latency: {v}");
    assert!(
        min <= p50 && p50 <= p99 && p99 <= max,
        "{what}: percentiles out of order: {v}"
    );
    assert!(max < 60_000.0, "{what}: a latency over a minute: {v}");
}

#[tokio::test]
async fn benchmark_runs_at_small_n() {
    let _env = TestEnv::new();
    timed(async {
        let dir = Scratch::new();
        let (json, md, svg) = (dir.path("b.json"), dir.path("b.md"), dir.path("b.svg"));
        // An existing document keeps its hand-written text around the markers.
        std::fs::write(&md, "# Benchmarks\n\nWritten by hand.\n").unwrap();
        let arg = |p: &Path| p.to_str().unwrap().to_owned();
        let child = tokio::process::Command::new(bench_bin())
            .args(["--netnsd", &arg(&netnsd_bin())])
            .args(["--nsctl", &arg(&nsctl_bin())])
            .args(["--sizes", "1,3", "--cycles", "2", "--iterations", "2"])
            .args(["--daemon-rounds", "2", "--vpn-reps", "2"])
            .args(["--idle-secs", "1", "--idle-settle-secs", "0"])
            .args(["--command", "bench_smoke"])
            .args(["--json", &arg(&json), "--markdown", &arg(&md)])
            .args(["--svg", &arg(&svg)])
            .args(["--daemon-log", &arg(&dir.path("netnsd.log"))])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start netnsd-bench");
        let out = tokio::time::timeout(BENCH_TIMEOUT, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("netnsd-bench did not finish within {BENCH_TIMEOUT:?}"))
            .expect("netnsd-bench");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            out.status.success(),
            "netnsd-bench failed ({})\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}",
            describe_status(out.status)
        );

        let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap())
            .expect("the JSON report parses");
        let methods: Vec<&str> = r["scalings"]
            .as_array()
            .expect("scalings")
            .iter()
            .map(|s| s["method"].as_str().unwrap())
            .collect();
        assert_eq!(methods, ["daemon", "recipe", "floor"]);
        for s in r["scalings"].as_array().unwrap() {
            let m = s["method"].as_str().unwrap();
            let sizes = s["sizes"].as_array().unwrap();
            let alive: Vec<u64> = sizes.iter().map(|a| a["alive"].as_u64().unwrap()).collect();
            assert_eq!(alive, [1, 3], "{m}");
            for a in sizes {
                let n = a["alive"].as_u64().unwrap();
                sane_samples(&a["create"], &format!("{m} create at {n}"), 2);
                sane_samples(&a["remove"], &format!("{m} remove at {n}"), 2);
            }
            sane_samples(&s["teardown"], &format!("{m} teardown"), 3);
        }

        let d = &r["daemon"];
        let ops: Vec<&str> = d["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["op"].as_str().unwrap())
            .collect();
        for want in [
            "ListNetworkNamespaces",
            "GetManagedObjects",
            "TakeDevice",
            "ip link set DEV netns",
            "nsctl exec",
            "Spawn",
            "ip netns exec",
        ] {
            assert!(
                ops.iter().any(|o| o.starts_with(want)),
                "no {want} in {ops:?}"
            );
        }
        for o in d["ops"].as_array().unwrap() {
            let name = o["op"].as_str().unwrap();
            let n = o["n"].as_u64().unwrap();
            assert!(n >= 2, "{name}: {n} samples");
            sane_samples(o, name, n);
        }
        assert_eq!(d["failures"], serde_json::json!([]), "{d}");
        // rootns, three namespaces, and their devices: [alive, objects] at
        // the largest size (the run has no 1000).
        let objects = d["managed_objects"].as_array().unwrap();
        assert_eq!(objects.len(), 1, "{d}");
        assert_eq!(objects[0][0].as_u64(), Some(3), "{d}");
        assert!(objects[0][1].as_u64().unwrap() > 4, "{d}");
        let usage = d["usage"].as_array().unwrap();
        let at: Vec<u64> = usage.iter().map(|u| u["alive"].as_u64().unwrap()).collect();
        // Started, at each size, after removal, a second round, and idle.
        assert_eq!(at, [0, 1, 3, 0, 3, 0, 0], "{usage:?}");
        for u in usage {
            assert!(u["rss_kb"].as_u64().unwrap() > 1024, "{u}");
            assert!(u["fds"].as_u64().unwrap() >= 3, "{u}");
            assert!(u["threads"].as_u64().unwrap() >= 1, "{u}");
        }
        let idle = d["idle"].as_array().unwrap();
        assert_eq!(idle.len(), 2, "{idle:?}");
        for i in idle {
            assert!(i["per_second"].as_f64().unwrap() >= 0.0, "{i}");
        }
        let steps = r["floor_steps"].as_array().unwrap();
        assert_eq!(steps.len(), 2);
        for s in steps {
            assert!(!s["create"].as_array().unwrap().is_empty(), "{s}");
            assert!(!s["remove"].as_array().unwrap().is_empty(), "{s}");
        }
        assert!(!r["targets"].as_array().unwrap().is_empty());
        // Running a program: the three ways at every size.
        for want in ["nsctl exec", "Spawn", "ip netns exec"] {
            let at: Vec<u64> = d["ops"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["op"].as_str().unwrap().starts_with(want))
                .map(|o| o["alive"].as_u64().unwrap())
                .collect();
            assert_eq!(at, [1, 3], "{want} at every size: {d}");
        }
        // The VPN path, both ways, with the client's own time inside the total.
        let vpn = &r["vpn"];
        assert_eq!(vpn["repetitions"].as_u64(), Some(2), "{vpn}");
        for way in ["netnsd", "by_hand"] {
            for part in ["total", "client", "fetch"] {
                sane_samples(&vpn[way][part], &format!("vpn {way} {part}"), 2);
            }
            let (total, client) = (
                vpn[way]["total"]["min_ms"].as_f64().unwrap(),
                vpn[way]["client"]["max_ms"].as_f64().unwrap(),
            );
            assert!(total > 0.0 && client > 0.0, "{vpn}");
        }

        let doc = std::fs::read_to_string(&md).unwrap();
        assert!(
            doc.starts_with("# Benchmarks\n\nWritten by hand.\n"),
            "{doc}"
        );
        assert!(doc.contains("<!-- BEGIN netnsd-bench output"), "{doc}");
        assert!(doc.contains("| 3 | create |"), "{doc}");
        assert!(doc.contains("(b.svg)"), "the plot is linked: {doc}");
        let plot = std::fs::read_to_string(&svg).unwrap();
        assert!(plot.starts_with("<svg") && plot.trim_end().ends_with("</svg>"));
        assert_eq!(
            plot.matches("<polyline").count(),
            12,
            "3 methods × p50/p99 × 2 panels"
        );
        assert!(stdout.contains("| alive | op |"), "{stdout}");
        assert!(
            stdout.contains("| alive | nsctl exec NS -- true |"),
            "{stdout}"
        );
        assert!(doc.contains("### The VPN path (ms)"), "{doc}");

        // Tidy: no nft table left when it ends, and nothing else either.
        let nft = run("nft", &["list", "table", "inet", "netnsd"]).await;
        assert!(!nft.success(), "table inet netnsd was left behind: {nft}");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
