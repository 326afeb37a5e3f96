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

#[tokio::main]
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
