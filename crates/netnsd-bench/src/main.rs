//! netnsd-bench: namespace setup at scale, three ways, in one run.
//!
//! 1. **daemon** — netnsd over the system bus, as root:
//!    AddNetworkNamespaceWithOptions (`uplink` veth, `dns`; polkit checked)
//!    and RemoveNetworkNamespace;
//! 2. **recipe** — the usual shell recipe, one `ip`/`sysctl`/`nft`/`mkdir`
//!    child process per step;
//! 3. **floor** — netnsd's own building blocks called in process: no D-Bus,
//!    no polkit, no bookkeeping.
//!
//! Each grows a population of namespaces to every size in turn and times
//! create+remove cycles of extra namespaces at that size. With the largest
//! population made by the daemon it also times ListNetworkNamespaces,
//! GetManagedObjects, TakeDevice and running /bin/true in a namespace, and
//! it reads the daemon's memory, descriptors and idle wake-ups from /proc.
//! `NETNSD_BENCH_DUMP_MANAGED_OBJECTS=FILE` writes the body of
//! GetManagedObjects's reply to FILE (to count where its bytes go).
//!
//! It makes thousands of namespaces, veths and nft elements, so it runs only
//! inside the sandbox of tests/sandbox/enter; `sudo tests/bench` builds it
//! and runs it there.

mod daemon;
mod floor;
mod procfs;
mod recipe;
mod report;
mod report_exec;
mod scale;
mod stats;
mod vpn;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

use crate::daemon::{Daemon, DaemonSubject};
use crate::floor::FloorSubject;
use crate::recipe::RecipeSubject;
use crate::report::{Config, Report};

/// Name servers written to every namespace's resolv.conf.
pub const DNS_SERVERS: &[&str] = &["192.0.2.53", "2001:db8::53"];
pub const ETC_NETNS: &str = netnsd_api::NETNS_ETC_DIR;

/// Maps an error to a message that says which step failed.
pub fn err<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{what}: {e}")
}

/// The daemon's default address pools, so all three make the same addresses.
pub fn pool() -> Result<netnsd::uplink::Pool, String> {
    let v4 = netnsd::uplink::DEFAULT_POOL_V4
        .parse()
        .map_err(err("IPv4 pool"))?;
    let v6 = netnsd::uplink::DEFAULT_POOL_V6
        .parse()
        .map_err(err("IPv6 pool"))?;
    netnsd::uplink::Pool::new(&v4, Some(&v6))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Phase {
    Daemon,
    Recipe,
    Floor,
    /// An isolated OpenVPN connection up and a page fetched through it,
    /// netnsd and by hand (see vpn.rs).
    Vpn,
}

/// Namespace setup at scale: netnsd over the bus, the iproute2 shell recipe,
/// and a bare in-process netlink floor. Runs only inside the test sandbox:
/// use `sudo tests/bench`.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The netnsd binary to start (it must not be running yet).
    #[arg(long)]
    netnsd: PathBuf,
    /// The nsctl binary (for `nsctl exec`, if it has that subcommand).
    #[arg(long)]
    nsctl: Option<PathBuf>,
    /// Population sizes, ascending.
    #[arg(long, value_delimiter = ',', default_value = "10,100,1000,3000")]
    sizes: Vec<usize>,
    /// Timed create+remove cycles at each size.
    #[arg(long, default_value_t = 100)]
    cycles: usize,
    /// Iterations of each other operation (List, GetManagedObjects,
    /// TakeDevice, exec).
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    /// Length of each idle window, seconds.
    #[arg(long, default_value_t = 10.0)]
    idle_secs: f64,
    /// How long to wait after the last call before an idle window, seconds
    /// (tokio's idle blocking-pool threads end after 10 s).
    #[arg(long, default_value_t = 12.0)]
    idle_settle_secs: f64,
    /// Which to run, in this order.
    #[arg(long, value_delimiter = ',', default_value = "daemon,recipe,floor,vpn")]
    phases: Vec<Phase>,
    /// Write the results into this Markdown file, between its markers.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write the plot here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Write every figure here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Timed repetitions of the VPN path, each way.
    #[arg(long, default_value_t = 20)]
    vpn_reps: usize,
    /// The daemon's log file.
    #[arg(long, default_value = "/run/netnsd-bench.log")]
    daemon_log: PathBuf,
    /// RUST_LOG for the daemon (netnsd=debug for a profile from its spans).
    #[arg(long, default_value = "netnsd=info")]
    rust_log: String,
    /// TakeDevice: move one device back and forth throughout, instead of a
    /// fresh veth per round trip (shows a daemon bug when it takes over 2 s).
    #[arg(long)]
    take_one_device: bool,
    /// Rounds of growing the daemon's population to the largest size and
    /// removing it all (the first with the timed cycles): its memory after
    /// some churn, not only on the first fill.
    #[arg(long, default_value_t = 3)]
    daemon_rounds: usize,
    /// Extra environment for the daemon, KEY=VALUE (repeatable), e.g.
    /// MALLOC_ARENA_MAX=1 for an experiment.
    #[arg(long = "daemon-env", value_name = "KEY=VALUE")]
    daemon_env: Vec<String>,
    /// Spare namespaces the floor keeps made ahead, as the daemon does
    /// (its --spare-namespaces; the daemon's default). 0: none.
    #[arg(long, default_value_t = netnsd::spare::DEFAULT_SPARES)]
    floor_spares: usize,
    /// How the run was started, for the report.
    #[arg(long, default_value = "sudo tests/bench")]
    command: String,
}

/// Refuses to run anywhere but in the sandbox of tests/sandbox/enter.
fn check_sandbox() -> Result<(), String> {
    const HOW: &str = "netnsd-bench makes thousands of namespaces, veths and nft rules: it runs \
                       only inside the test sandbox; use `sudo tests/bench`";
    if std::env::var("NETNSD_SANDBOX").as_deref() != Ok("1") {
        return Err(format!("NETNSD_SANDBOX is not 1: {HOW}"));
    }
    let host: u64 = std::env::var("NETNSD_HOST_NETNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("NETNSD_HOST_NETNS is not set: {HOW}"))?;
    let own = std::fs::metadata("/proc/self/ns/net")
        .map_err(err("stat /proc/self/ns/net"))?
        .ino();
    if own == host {
        return Err(format!("this is the host's network namespace: {HOW}"));
    }
    let fs = nix::sys::statfs::statfs("/run").map_err(err("statfs /run"))?;
    if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        return Err(format!("/run is not a tmpfs: {HOW}"));
    }
    Ok(())
}

/// Removes what an interrupted earlier run may have left: our namespaces
/// and their /etc/netns directories (the daemon's own are its business).
fn clean_leftovers() {
    let Ok(dir) = std::fs::read_dir(netnsd_api::NETNS_RUN_DIR) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("bench-") {
            eprintln!("bench: removing {name}, left by an earlier run");
            let _ = recipe::sh("ip", &["netns", "del", &name]);
            let _ = std::fs::remove_dir_all(format!("{ETC_NETNS}/{name}"));
        }
    }
}

async fn run_daemon(args: &Args, out: &mut Report) -> Result<(), String> {
    let mut env = Vec::new();
    for kv in &args.daemon_env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--daemon-env {kv:?} is not KEY=VALUE"))?;
        env.push((k.to_owned(), v.to_owned()));
    }
    let d = Daemon::start(&args.netnsd, &args.rust_log, &env, &args.daemon_log).await?;
    eprintln!("bench: daemon: netnsd running, pid {}", d.pid);
    let r = async {
        let mut s = DaemonSubject::new(
            d.pid,
            "bench-d",
            args.nsctl.clone(),
            args.iterations,
            Duration::from_secs_f64(args.idle_secs),
            Duration::from_secs_f64(args.idle_settle_secs),
        )
        .await?;
        s.take_one_device = args.take_one_device;
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.usage("0 namespaces, just started", 0)?;
        s.idle(0).await?;
        s.probes(0).await?;
        let scaling = scale::run(&mut s, "daemon", "bench-d", &args.sizes, args.cycles).await?;
        s.usage("0 after removal", 0)?;
        let largest = args.sizes.last().copied().unwrap_or(0);
        for round in 2..=args.daemon_rounds {
            s.churn(largest, round).await?;
        }
        if let Err(e) = s.plain_growth(largest).await {
            s.failed("plain growth", e);
        }
        // What it keeps once idle: the daemon closes its netlink connections
        // 1 s after their last use and then gives free memory back (after
        // whatever its own timers still do once removals pause).
        tokio::time::sleep(Duration::from_secs_f64(args.idle_settle_secs)).await;
        s.usage(
            &format!(
                "0, idle {:.0} s after the last removal",
                args.idle_settle_secs
            ),
            0,
        )?;
        out.scalings.push(scaling);
        out.extras = Some(std::mem::take(&mut s.extras));
        Ok::<_, String>(())
    }
    .await;
    let r = r.map_err(|e| format!("{e}\n{}", d.log_tail(30)));
    let stopped = d.stop().await;
    r?;
    stopped
}

async fn run_recipe(args: &Args, out: &mut Report) -> Result<(), String> {
    let mut s = RecipeSubject::setup("nsr")?;
    let r = scale::run(&mut s, "recipe", "bench-r", &args.sizes, args.cycles).await;
    let f = s.finish();
    out.scalings.push(r?);
    f
}

async fn run_floor(args: &Args, out: &mut Report) -> Result<(), String> {
    let mut s = FloorSubject::setup("nsf", args.floor_spares)?;
    let r = scale::run(&mut s, "floor", "bench-f", &args.sizes, args.cycles).await;
    out.floor_steps = std::mem::take(&mut s.steps);
    out.route_dumps = std::mem::take(&mut s.route_dumps);
    let f = s.finish().await;
    out.scalings.push(r?);
    f
}

async fn run(args: Args) -> Result<(), String> {
    check_sandbox()?;
    if args.sizes.is_empty() || args.sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err("--sizes must be ascending, e.g. 10,100,1000".into());
    }
    if args.phases.contains(&Phase::Daemon) && args.sizes.last() < Some(&2) {
        return Err("the daemon phase needs a largest size of at least 2 (TakeDevice)".into());
    }
    clean_leftovers();
    let started = Instant::now();
    let mut report = Report {
        machine: procfs::Machine::now(),
        config: Config {
            sizes: args.sizes.clone(),
            cycles: args.cycles,
            iterations: args.iterations,
            idle_secs: args.idle_secs,
            idle_settle_secs: args.idle_settle_secs,
            command: args.command.clone(),
        },
        scalings: Vec::new(),
        extras: None,
        floor_steps: Vec::new(),
        route_dumps: Vec::new(),
        vpn: None,
        seconds: 0.0,
    };
    for (i, phase) in args.phases.iter().enumerate() {
        if i > 0 {
            // Let the kernel finish tearing down the last phase's namespaces.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        eprintln!("bench: --- {phase:?} --- (load {})", procfs::loadavg());
        match phase {
            Phase::Daemon => run_daemon(&args, &mut report).await?,
            Phase::Recipe => run_recipe(&args, &mut report).await?,
            Phase::Floor => run_floor(&args, &mut report).await?,
            Phase::Vpn => {
                report.vpn = Some(
                    vpn::run(
                        &args.netnsd,
                        &args.rust_log,
                        &args.daemon_log,
                        args.vpn_reps,
                    )
                    .await?,
                )
            }
        }
    }
    report.machine.load_end = procfs::loadavg();
    report.seconds = started.elapsed().as_secs_f64();
    report.print();
    if let Some(p) = &args.json {
        let text = serde_json::to_string_pretty(&report.to_json()).map_err(err("JSON"))?;
        std::fs::write(p, text + "\n").map_err(|e| format!("write {}: {e}", p.display()))?;
    }
    if let Some(p) = &args.svg {
        std::fs::write(p, report.svg()).map_err(|e| format!("write {}: {e}", p.display()))?;
    }
    if let Some(p) = &args.markdown {
        let existing = std::fs::read_to_string(p).unwrap_or_default();
        let svg_name = args.svg.as_ref().and_then(|s| {
            // A link relative to the Markdown file when they share a directory.
            if s.parent() == p.parent() {
                s.file_name().map(|f| f.to_string_lossy().into_owned())
            } else {
                Some(s.display().to_string())
            }
        });
        let doc = report::splice(&existing, &report.markdown(svg_name.as_deref()));
        std::fs::write(p, doc).map_err(|e| format!("write {}: {e}", p.display()))?;
        eprintln!("bench: wrote {}", p.display());
    }
    match report.extras.as_ref().map_or(0, |x| x.failures.len()) {
        0 => Ok(()),
        n => Err(format!("{n} operation(s) failed; see FAILED above")),
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("netnsd-bench: tokio: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netnsd-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
