//! netnsd: serve network namespaces on the D-Bus system bus.

use clap::Parser;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

/// Root daemon that owns the host's network namespaces and serves them on the
/// D-Bus system bus as net.netnsd.Netns1. Clients: nsctl, busctl, gdbus.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// IPv4 pool for veth uplinks; each uplink takes a /30 of it.
    #[arg(long, value_name = "CIDR", default_value = netnsd::uplink::DEFAULT_POOL_V4)]
    uplink_pool_v4: netnsd_api::Cidr,
    /// IPv6 pool for veth uplinks (each takes a /64), or "none" for IPv4 only.
    #[arg(long, value_name = "CIDR|none", default_value = netnsd::uplink::DEFAULT_POOL_V6)]
    uplink_pool_v6: String,
    /// How veth uplinks reach their uplink namespace: "bridge" (the host
    /// ends isolated ports of a bridge, nsbrK, 512 each, holding the
    /// gateway's addresses; no route per uplink in the uplink namespace, so
    /// creation does not slow down with thousands of uplinks) or "routed"
    /// (each host end a /30 and a /64 of its own, routed). Applies where no
    /// veth uplink goes through the uplink namespace yet (new ones follow
    /// those already there); also NETNSD_UPLINK_TOPOLOGY. Default: bridge.
    #[arg(long, value_name = "routed|bridge")]
    uplink_topology: Option<netnsd::uplink::Topology>,
    /// How long a dispatcher script (/etc/netnsd/dispatcher.d) may run
    /// before it is killed; also NETNSD_DISPATCHER_TIMEOUT.
    #[arg(long, value_name = "SECONDS")]
    dispatcher_timeout: Option<f64>,
    /// Network namespaces made ahead of need, so that a create only binds
    /// one at /run/netns/NAME: held by the daemon alone, nothing on the
    /// host, gone with it; 0 makes every namespace on demand (at most 64;
    /// default 2); also NETNSD_SPARE_NAMESPACES.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=64))]
    spare_namespaces: Option<u64>,

    /// Internal: run as a VPN client's "up" hook, handing its environment
    /// (the pushed configuration) to the daemon over this socket.
    #[arg(long, hide = true, value_name = "SOCKET")]
    vpn_helper: Option<std::path::PathBuf>,
    /// Internal: host a NetworkManager VPN plugin (its input on stdin),
    /// reporting to the daemon over this socket.
    #[arg(long, hide = true, value_name = "SOCKET")]
    vpn_plugin_host: Option<std::path::PathBuf>,
    /// Internal: the arguments a VPN client appends to its hook command
    /// (device, MTU, ...); the environment carries all of it.
    #[arg(hide = true, num_args = 0.., allow_hyphen_values = true)]
    hook_args: Vec<String>,
}

fn init_logging() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("netnsd=info"));
    let registry = tracing_subscriber::registry().with(filter);
    // Under systemd, stderr is a journal stream: log to the journal natively.
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        registry.with(journald).init();
        return;
    }
    registry
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
}

/// Waits for SIGTERM or SIGINT. The handlers are installed at once, when
/// this is called, so a signal that comes before the daemon is fully up is
/// caught too.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    })
}

// One thread runs every task: the bus's, the manager's, the private
// socket's. A request and its answer then pass between tasks without waking
// another thread each way, which on a virtual machine can mean waking an
// idle virtual CPU: a create with an uplink, 3.8 ms against the floor's
// 2.8 ms on a 2-CPU machine with the runtime's default of one worker per
// CPU, 2.8–3.3 ms on one (docs/benchmarks.md, "One thread"). What blocks
// (the children's starts, file-system work that may hang, threads that
// enter namespaces) runs on the blocking pool or threads of its own.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Some(socket) = args.vpn_helper {
        return std::process::ExitCode::from(netnsd::vpn::helper::run(&socket) as u8);
    }
    if let Some(socket) = args.vpn_plugin_host {
        return std::process::ExitCode::from(netnsd::vpn::plugin::host::run(&socket).await as u8);
    }
    init_logging();
    if !nix::unistd::geteuid().is_root() {
        eprintln!("netnsd: must run as root (it creates namespaces and mounts)");
        return std::process::ExitCode::from(1);
    }
    match netnsd::limits::raise_nofile() {
        Ok((old, new)) if old != new => {
            tracing::debug!(old, new, "raised the soft limit on open files");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("could not raise the limit on open files: {e}"),
    }
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netnsd: cannot handle signals: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let mut config = netnsd::Config {
        pool_v4: args.uplink_pool_v4,
        ..Default::default()
    };
    let timeout = args.dispatcher_timeout.or_else(|| {
        std::env::var("NETNSD_DISPATCHER_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
    });
    if let Some(t) = timeout {
        match std::time::Duration::try_from_secs_f64(t) {
            Ok(d) if !d.is_zero() => config.dispatcher_timeout = d,
            _ => {
                eprintln!("netnsd: --dispatcher-timeout {t}: not a positive number of seconds");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let spares = args.spare_namespaces.map(Ok).or_else(|| {
        std::env::var("NETNSD_SPARE_NAMESPACES")
            .ok()
            .map(|s| s.parse::<u64>().map_err(|_| s))
    });
    match spares {
        None => {}
        Some(Ok(n)) if n <= 64 => config.spare_namespaces = n as usize,
        Some(Ok(n)) => {
            eprintln!("netnsd: NETNSD_SPARE_NAMESPACES={n}: at most 64");
            return std::process::ExitCode::from(2);
        }
        Some(Err(s)) => {
            eprintln!("netnsd: NETNSD_SPARE_NAMESPACES={s:?}: not a number");
            return std::process::ExitCode::from(2);
        }
    }
    let topology = args.uplink_topology.map(Ok).or_else(|| {
        std::env::var("NETNSD_UPLINK_TOPOLOGY")
            .ok()
            .map(|s| s.parse::<netnsd::uplink::Topology>())
    });
    match topology {
        None => {}
        Some(Ok(t)) => config.uplink_topology = t,
        Some(Err(e)) => {
            eprintln!("netnsd: NETNSD_UPLINK_TOPOLOGY: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    config.pool_v6 = match args.uplink_pool_v6.as_str() {
        "none" => None,
        s => match s.parse() {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("netnsd: --uplink-pool-v6 {s:?}: {e}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    match netnsd::run(config, shutdown).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("netnsd: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// docs/netnsd.8, rendered from [`Args`] with clap_mangen so that it cannot
/// drift from `netnsd --help`, plus what clap does not know: ENVIRONMENT,
/// FILES and SEE ALSO. A stale page fails the test; regenerate it with
/// `NETNSD_WRITE_MAN=1 cargo test -p netnsd --bin netnsd man_page`.
#[cfg(test)]
mod man_page {
    use clap::CommandFactory;

    const PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/netnsd.8");

    const DESCRIPTION: &str = "netnsd owns the host's network namespaces and serves them on the \
        D-Bus system bus as net.netnsd.Netns1: a NetworkNamespacesController that creates, lists \
        and removes them, and one NetNsInstance per namespace with its devices, addresses, \
        routes, uplinks, DNS, programs and connections, VPNs isolated in a namespace of their \
        own among them. Who may do what is asked of polkit (root is granted without asking). \
        It is started by systemd (netnsd.service) or by D-Bus activation and runs as root; \
        nsctl(1) is its command-line client, busctl(1) and gdbus(1) work as well. A namespace it \
        adds is /run/netns/NAME, as ip-netns(8) makes them, and one added with ip netns add \
        appears on the bus.";

    const ENVIRONMENT: &[(&str, &str)] = &[
        (
            "RUST_LOG",
            "The log filter (tracing's EnvFilter syntax); netnsd=info if unset, e.g. \
             netnsd=debug for every step. Under systemd (JOURNAL_STREAM set) the log goes to \
             the journal with its fields, else to standard error.",
        ),
        (
            "NETNSD_DISPATCHER_TIMEOUT",
            "As --dispatcher-timeout, which wins when both are given.",
        ),
        (
            "NETNSD_SPARE_NAMESPACES",
            "As --spare-namespaces, which wins when both are given.",
        ),
        (
            "NETNSD_EVENTS_RCVBUF",
            "The receive buffer, in bytes, asked for the netlink events socket (8 MiB if unset).",
        ),
    ];

    const FILES: &[(&str, &str)] = &[
        (
            "/run/netns/NAME",
            "The namespaces, bind-mounted as iproute2 does.",
        ),
        (
            "/etc/netns/NAME/",
            "A namespace's resolv.conf and nsswitch.conf, bound over /etc by ip netns exec and \
             by the programs netnsd starts.",
        ),
        (
            "/run/netnsd/",
            "The journal of every change made on the host, read after a crash to find and undo \
             what a previous run left; VPN clients' sockets and DNS forwarders' configuration; \
             private, the socket (0600, root only, D-Bus peer to peer) through which root's nsctl \
             exec reaches the daemon without the bus daemon.",
        ),
        (
            netnsd_api::CONNECTIONS_DIR,
            "Connection profiles, NetworkManager keyfiles (NAME.nmconnection).",
        ),
        (
            "/etc/netnsd/namespaces.d/",
            "Namespaces declared to exist at start (see docs/declared.md).",
        ),
        (
            "/etc/netnsd/dispatcher.d/",
            "Scripts run on namespace and connection events (see docs/dispatcher.md).",
        ),
    ];

    const SEE_ALSO: &[(&str, &str)] = &[
        ("nsctl", "1"),
        ("ip-netns", "8"),
        ("busctl", "1"),
        ("gdbus", "1"),
        ("polkit", "8"),
        ("NetworkManager", "8"),
    ];

    fn escape(s: &str) -> String {
        let s = s
            .replace('\\', "\\\\")
            .replace('-', "\\-")
            .replace('\'', "\\*(Aq");
        if s.starts_with('.') {
            format!("\\&{s}")
        } else {
            s
        }
    }

    fn render() -> String {
        let cmd = super::Args::command().long_about(DESCRIPTION);
        let version = cmd.get_version().unwrap_or_default().to_owned();
        let man = clap_mangen::Man::new(cmd)
            .section("8")
            .source(format!("netnsd {version}"))
            .manual("System Administration");
        let mut out = Vec::new();
        man.render_title(&mut out).unwrap();
        man.render_name_section(&mut out).unwrap();
        man.render_synopsis_section(&mut out).unwrap();
        man.render_description_section(&mut out).unwrap();
        man.render_options_section(&mut out).unwrap();
        let rendered = String::from_utf8(out).unwrap();
        // Each render_* call starts with the same preamble; keep the first.
        let preamble = &rendered[..rendered.find(".TH ").unwrap_or(0)];
        let mut text = preamble.to_owned();
        text.push_str(&rendered[preamble.len()..].replace(preamble, ""));
        text.push_str(".SH ENVIRONMENT\n");
        for (name, what) in ENVIRONMENT {
            text.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                escape(name),
                escape(what)
            ));
        }
        text.push_str(".SH FILES\n");
        for (name, what) in FILES {
            text.push_str(&format!(
                ".TP\n\\fI{}\\fR\n{}\n",
                escape(name),
                escape(what)
            ));
        }
        text.push_str(".SH \"SEE ALSO\"\n");
        let refs: Vec<String> = SEE_ALSO
            .iter()
            .map(|(n, s)| format!("\\fB{}\\fR({s})", escape(n)))
            .collect();
        text.push_str(&refs.join(",\n"));
        text.push('\n');
        text
    }

    #[test]
    fn man_page_is_current() {
        let page = render();
        if std::env::var_os("NETNSD_WRITE_MAN").is_some() {
            std::fs::write(PAGE, &page).unwrap();
        }
        let on_disk = std::fs::read_to_string(PAGE).unwrap_or_default();
        assert!(
            on_disk == page,
            "docs/netnsd.8 is not what `netnsd --help` says; regenerate it with \
             NETNSD_WRITE_MAN=1 cargo test -p netnsd --bin netnsd man_page"
        );
    }

    #[test]
    fn the_page_names_every_option_and_no_hidden_one() {
        let page = render();
        for opt in [
            "uplink\\-pool\\-v4",
            "uplink\\-pool\\-v6",
            "uplink\\-topology",
            "dispatcher\\-timeout",
            "spare\\-namespaces",
        ] {
            assert!(page.contains(opt), "{opt} missing");
        }
        assert!(!page.contains("vpn\\-helper") && !page.contains("vpn\\-plugin\\-host"));
    }
}
