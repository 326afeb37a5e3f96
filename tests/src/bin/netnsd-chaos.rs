//! `netnsd-chaos`: the kill -9 storm and the load run of issue 13, run by
//! `sudo tests/chaos` inside the sandbox (see docs/reliability.md).

use std::process::ExitCode;

use netnsd_tests::Sandbox;
use netnsd_tests::chaos::*;

const USAGE: &str = "\
usage: netnsd-chaos [--ops N] [--clients C] [--kills K] [--seconds S]
                    [--load-clients C] [--seed X] [--storm-only | --load-only]

Runs inside the sandbox (sudo tests/chaos). The kill -9 storm: C clients
(default 8) doing N random operations (default 10000) over the bus while the
daemon is SIGKILLed K times (default 100) and restarted; then leftovers and
lost namespaces are counted. The load run: --load-clients clients (default
64) adding, removing and listing namespaces for S seconds (default 60).
Exits non-zero if anything was left or lost, a reply was lost, or the daemon
answered an error that is not the caller's fault.";

fn main() -> ExitCode {
    let mut storm_opts = StormOpts::default();
    let mut load_opts = LoadOpts::default();
    let (mut storm_on, mut load_on) = (true, true);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("netnsd-chaos: {what} needs a number\n{USAGE}");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--ops" => storm_opts.ops = num("--ops"),
            "--clients" => storm_opts.clients = num("--clients").max(1),
            "--kills" => storm_opts.kills = num("--kills"),
            "--seconds" => load_opts.seconds = num("--seconds"),
            "--load-clients" => load_opts.clients = num("--load-clients").max(1),
            "--seed" => {
                let s = num("--seed");
                storm_opts.seed = s;
                load_opts.seed = s;
            }
            "--storm-only" => load_on = false,
            "--load-only" => storm_on = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("netnsd-chaos: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    Sandbox::check();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut bad = false;
    if storm_on {
        eprintln!(
            "storm: {} ops, {} clients, {} kills, seed {}",
            storm_opts.ops, storm_opts.clients, storm_opts.kills, storm_opts.seed
        );
        let r = rt.block_on(storm(storm_opts));
        println!("{}", r.text());
        bad |=
            !r.leftovers.is_empty() || !r.lost.is_empty() || !r.leftovers_after_remove.is_empty();
    }
    if load_on {
        eprintln!(
            "load: {} clients, {} s",
            load_opts.clients, load_opts.seconds
        );
        let r = rt.block_on(load(load_opts));
        println!("{}", r.text());
        bad |= r.lost_replies > 0 || r.daemon_errors() > 0 || !r.leftovers.is_empty();
    }
    if bad {
        println!("RESULT: something was left, lost or wrongly refused (see above)");
        ExitCode::FAILURE
    } else {
        println!("RESULT: nothing left, nothing lost");
        ExitCode::SUCCESS
    }
}
