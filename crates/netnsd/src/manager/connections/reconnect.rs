//! A VPN that survives an outage: once a connection has been up, a client
//! that loses its server reconnects by itself (OpenVPN's ping-restart)
//! and says so in its log ([`crate::vpn::VpnType::progress`]). Meanwhile
//! the connection is *reconnecting*: State activating, VpnState connect,
//! the tunnel and the isolated namespace kept as they are (nothing else
//! in it: no way out around the tunnel), the programs in it running. When
//! the client is through again the states go ip-config-get → activated;
//! when the outage outlasts the profile's bound (`vpn.data.reconnect-timeout`,
//! default 300 s) the connection fails with connect-timeout and everything
//! it made is removed, as for any failure.

use std::time::Duration;

use netnsd_api::state::{active as st, reason, vpn as vs};

use crate::manager::{Later, Manager};
use crate::vpn::Progress;

/// One connection's reconnections.
pub(in crate::manager) struct Reconnect {
    /// How long one may last.
    bound: Duration,
    /// The connection has been activated once.
    was_up: bool,
    /// The reconnection under way, by number.
    current: Option<u64>,
    /// Reconnections so far.
    count: u64,
}

impl Reconnect {
    pub(in crate::manager) fn new(bound: Duration) -> Reconnect {
        Reconnect {
            bound,
            was_up: false,
            current: None,
            count: 0,
        }
    }

    /// The connection is (again) activated.
    pub(in crate::manager) fn up(&mut self) {
        self.was_up = true;
        self.current = None;
    }

    pub(in crate::manager) fn was_up(&self) -> bool {
        self.was_up
    }
}

impl Manager {
    /// A client's news of its connection (from its log).
    pub(in crate::manager) async fn vpn_progress(&mut self, n: u32, p: Progress) {
        let Some(run) = self.runs.get_mut(&n) else {
            return;
        };
        let r = &mut run.reconnect;
        if run.ending.is_some() || !r.was_up {
            // Before the first activation the connect timeout bounds it all.
            return;
        }
        match p {
            Progress::Reconnecting => {
                if r.current.is_some() {
                    return;
                }
                r.count += 1;
                r.current = Some(r.count);
                let (number, bound) = (r.count, r.bound);
                tracing::warn!(
                    active = n,
                    reconnection = number,
                    "the VPN server stopped answering: reconnecting for at most {bound:?}"
                );
                self.transition(n, Some(st::ACTIVATING), Some(vs::CONNECT), reason::NONE)
                    .await;
                self.later(bound, Later::ReconnectTimeout(n, number));
            }
            Progress::Reconnected => {
                let Some(number) = r.current.take() else {
                    return;
                };
                tracing::info!(
                    active = n,
                    reconnection = number,
                    "the VPN is through again"
                );
                self.transition(n, None, Some(vs::IP_CONFIG_GET), reason::NONE)
                    .await;
                self.transition(n, Some(st::ACTIVATED), Some(vs::ACTIVATED), reason::NONE)
                    .await;
            }
        }
    }

    /// The bound of reconnection `number`: if it is still under way, the
    /// connection fails (connect-timeout) and is cleaned up.
    pub(in crate::manager) async fn reconnect_timeout(&mut self, n: u32, number: u64) {
        let under_way = self
            .runs
            .get(&n)
            .is_some_and(|r| r.ending.is_none() && r.reconnect.current == Some(number));
        if under_way {
            tracing::warn!(
                active = n,
                "the VPN server did not come back within reconnect-timeout"
            );
            self.fail(n, reason::CONNECT_TIMEOUT).await;
        }
    }
}
