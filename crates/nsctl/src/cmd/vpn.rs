//! `nsctl vpn up|down|status`: activating a profile and watching it come up
//! through the StateChanged and VpnStateChanged signals of its
//! Connection.Active object, deactivating it, listing the active ones.

use std::io::Write;
use std::num::NonZeroUsize;
use std::time::Duration;

use futures::StreamExt;
use netnsd_api::state::{active as st, reason, vpn as vs};
use netnsd_api::{ACTIVE_INTERFACE, ACTIVE_PATH_PREFIX, BUS_NAME, VPN_INTERFACE, object_number};
use serde::Serialize;
use zbus::message::Type;
use zbus::wire::{ObjectPath, OwnedObjectPath, OwnedVariant};
use zbus::{Connection, MatchRule, Message, MessageStream};

use crate::active::{actives_of, current_active};
use crate::cli::VpnCommand;
use crate::cmd::connection;
use crate::cmd::{call_authorized, managed_objects, netns, object_path, platform_at};
use crate::error::{CliError, Kind};
use crate::output;

pub async fn exec(conn: &Connection, command: VpnCommand, json: bool) -> Result<String, CliError> {
    match command {
        VpnCommand::Up {
            connection,
            from,
            timeout,
            ask,
            no_ask,
        } => {
            // A secret agent for this run (issue 14), before the activation.
            if let Some(tty) = crate::agent::wanted(ask, no_ask) {
                crate::agent::register(conn, tty).await?;
            }
            up(conn, &connection, &from, timeout, json).await
        }
        VpnCommand::Down {
            connection,
            timeout,
        } => down(conn, &connection, timeout, json).await,
        VpnCommand::Status => {
            let actives = actives_of(&managed_objects(conn).await?);
            Ok(if json {
                output::actives_json(&actives)
            } else {
                output::actives_table(&actives)
            })
        }
    }
}

/// The signals of every active connection, and netnsd leaving the bus,
/// subscribed to before the call that starts the changes, so none is missed.
struct Watch {
    signals: MessageStream,
    owner: MessageStream,
}

/// Signals that may arrive while nsctl waits for a reply, before it reads
/// them: far more than one activation sends.
const QUEUED_SIGNALS: usize = 4096;

impl Watch {
    async fn subscribe(conn: &Connection) -> Result<Self, CliError> {
        let queued = NonZeroUsize::new(QUEUED_SIGNALS);
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender(BUS_NAME)
            .path_namespace(ACTIVE_PATH_PREFIX)
            .build()?;
        let signals = MessageStream::for_match_rule(rule, conn, queued).await?;
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .sender("org.freedesktop.DBus")
            .interface("org.freedesktop.DBus")
            .member("NameOwnerChanged")
            .add_arg(BUS_NAME)
            .build()?;
        let owner = MessageStream::for_match_rule(rule, conn, queued).await?;
        Ok(Watch { signals, owner })
    }
}

/// A change of an active connection, from one of its signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// StateChanged(state, reason) of Connection.Active.
    State(u32, u32),
    /// VpnStateChanged(state, reason) of VPN.Connection.
    Vpn(u32, u32),
}

/// The change `msg` announces for the active connection at `object`, if it
/// is one of its StateChanged or VpnStateChanged signals.
fn change_of(msg: &Message, object: &str) -> Option<Change> {
    let h = msg.header();
    if h.path()?.as_str() != object {
        return None;
    }
    let args: (u32, u32) = msg.body().deserialize().ok()?;
    match (h.interface()?.as_str(), h.member()?.as_str()) {
        (ACTIVE_INTERFACE, "StateChanged") => Some(Change::State(args.0, args.1)),
        (VPN_INTERFACE, "VpnStateChanged") => Some(Change::Vpn(args.0, args.1)),
        _ => None,
    }
}

/// What nsctl waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Up,
    Down,
}

/// Where a wait stands after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Waiting,
    /// Up and running (Goal::Up) or down (Goal::Down).
    Done,
    /// Goal::Up: it failed and is down now, for this reason.
    Failed(u32),
}

/// The states of one active connection as its signals tell them, and the
/// line each change prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub goal: Goal,
    pub vpn: bool,
    pub state: u32,
    pub vpn_state: u32,
    pub reason: u32,
    /// The reason the VPN failed, once it has.
    pub failure: Option<u32>,
}

impl Progress {
    /// The states of a connection just activated: netnsd makes it
    /// activating and its VPN prepare before it announces anything.
    pub fn new(goal: Goal, vpn: bool) -> Self {
        Progress {
            goal,
            vpn,
            state: st::ACTIVATING,
            vpn_state: if vpn { vs::PREPARE } else { vs::UNKNOWN },
            reason: reason::NONE,
            failure: None,
        }
    }

    /// Takes in a change; returns whether to print it and where the wait stands.
    pub fn apply(&mut self, change: Change) -> (bool, Outcome) {
        let print = match change {
            Change::State(s, r) => {
                let new = s != self.state;
                self.state = s;
                self.reason = r;
                // The VPN's own states tell the story; of the connection's,
                // only the end has no VPN state to match it.
                new && (s == st::DEACTIVATED || !self.vpn)
            }
            Change::Vpn(s, r) => {
                let new = s != self.vpn_state;
                self.vpn_state = s;
                self.reason = r;
                if s == vs::FAILED {
                    self.failure = Some(r);
                }
                new
            }
        };
        (print, self.outcome())
    }

    pub fn outcome(&self) -> Outcome {
        match self.goal {
            Goal::Up if self.state == st::DEACTIVATED => {
                Outcome::Failed(self.failure.unwrap_or(self.reason))
            }
            Goal::Up if self.vpn && self.vpn_state == vs::ACTIVATED => Outcome::Done,
            Goal::Up if !self.vpn && self.state == st::ACTIVATED => Outcome::Done,
            Goal::Down if self.state == st::DEACTIVATED => Outcome::Done,
            _ => Outcome::Waiting,
        }
    }

    /// The line a change prints: `vpn: connect`, `vpn: failed
    /// (login-failed)`, `vpn: activated (namespace vpn1)`, `connection:
    /// deactivated (user-disconnected)`.
    pub fn line(&self, change: Change, namespace: Option<&str>) -> String {
        let (what, name, r) = match change {
            Change::State(s, r) => ("connection", st::name(s), r),
            Change::Vpn(s, r) => ("vpn", vs::name(s), r),
        };
        let mut notes = Vec::new();
        if r != reason::NONE && r != reason::UNKNOWN {
            notes.push(reason::name(r).to_owned());
        }
        if let Some(ns) = namespace {
            notes.push(format!("namespace {}", output::terminal_safe(ns)));
        }
        if notes.is_empty() {
            format!("{what}: {name}")
        } else {
            format!("{what}: {name} ({})", notes.join(", "))
        }
    }

    /// A change as one JSON line: the states after it.
    pub fn json(&self, object: &str, namespace: Option<&str>) -> String {
        output::progress_json(&ProgressJson {
            object,
            state: st::name(self.state),
            vpn_state: self.vpn.then(|| vs::name(self.vpn_state)),
            reason: reason::name(self.reason),
            namespace,
        })
    }
}

/// One line of `nsctl --json vpn up|down`, keys in this order.
#[derive(Serialize)]
pub struct ProgressJson<'a> {
    object: &'a str,
    state: &'a str,
    vpn_state: Option<&'a str>,
    reason: &'a str,
    namespace: Option<&'a str>,
}

/// Progress goes to stderr (`nsctl exec --vpn`: stdout is the program's).
static PROGRESS_TO_STDERR: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Prints one line now, as it happens; a reader that went away is ignored.
fn emit(line: &str) {
    if PROGRESS_TO_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{line}");
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// The name of the namespace the connection's device is in now.
async fn device_namespace(conn: &Connection, object: &str) -> Option<String> {
    let reply = conn
        .call_method(
            Some(BUS_NAME),
            object,
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &(ACTIVE_INTERFACE, "NetworkNamespace"),
        )
        .await
        .ok()?;
    let v: OwnedVariant = reply.body().deserialize().ok()?;
    let ns = OwnedObjectPath::try_from(v).ok()?;
    crate::cmd::namespace_at(conn, ns.as_str())
        .await
        .ok()
        .flatten()
        .map(|n| n.name)
}

/// Follows the active connection at `object` until `progress` reaches its
/// goal, printing each change; at most `timeout` long.
async fn follow(
    conn: &Connection,
    watch: &mut Watch,
    object: &str,
    id: &str,
    mut progress: Progress,
    timeout: Duration,
    json: bool,
) -> Result<(), CliError> {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        let outcome = progress.outcome();
        match outcome {
            Outcome::Done => return Ok(()),
            Outcome::Failed(r) => {
                return Err(CliError::new(
                    Kind::Failed,
                    format!("connection {id:?} failed: {}", reason::name(r)),
                ));
            }
            Outcome::Waiting => {}
        }
        let msg = tokio::select! {
            m = watch.signals.next() => m,
            _ = watch.owner.next() => {
                return Err(CliError::new(
                    Kind::Unreachable,
                    format!("netnsd left the bus while {id:?} was {}", st::name(progress.state)),
                ));
            }
            () = &mut deadline => {
                let what = match progress.goal {
                    Goal::Up => "up",
                    Goal::Down => "down",
                };
                let mut m = format!(
                    "connection {id:?} is not {what} after {} s (it is {}",
                    timeout.as_secs(),
                    st::name(progress.state)
                );
                if progress.vpn {
                    m.push_str(&format!(", vpn {}", vs::name(progress.vpn_state)));
                }
                m.push(')');
                if progress.goal == Goal::Up {
                    m.push_str(&format!(
                        "; it goes on: \"nsctl vpn down {}\" stops it",
                        shell_word(id)
                    ));
                }
                return Err(CliError::new(Kind::Timeout, m));
            }
        };
        let msg = match msg {
            Some(Ok(m)) => m,
            Some(Err(e)) => return Err(e.into()),
            None => {
                return Err(CliError::new(
                    Kind::Unreachable,
                    "lost the connection to the system bus",
                ));
            }
        };
        let Some(change) = change_of(&msg, object) else {
            continue;
        };
        let (print, _) = progress.apply(change);
        if !print {
            continue;
        }
        let namespace = match change {
            Change::Vpn(vs::ACTIVATED, _) | Change::State(st::ACTIVATED, _) => {
                device_namespace(conn, object).await
            }
            _ => None,
        };
        emit(&if json {
            progress.json(object, namespace.as_deref())
        } else {
            progress
                .line(change, namespace.as_deref())
                .trim_end()
                .to_owned()
        });
    }
}

/// `s` as one word for a shell, quoted if it needs to be.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.,:/@%+=".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

async fn up(
    conn: &Connection,
    connection: &str,
    from: &str,
    timeout: u32,
    json: bool,
) -> Result<String, CliError> {
    let profile = connection::find(conn, connection).await?;
    let id = profile.id();
    let is_vpn =
        crate::profile::get_str(&profile.settings, "connection", "type").as_deref() == Some("vpn");
    let ns = netns(conn, from).await?;
    let mut watch = Watch::subscribe(conn).await?;
    let none = ObjectPath::from_static_str_unchecked("/");
    let active: OwnedObjectPath = call_authorized(
        ns.platform.inner(),
        "ActivateConnection",
        &(&profile.object, &none, &none),
    )
    .await?;
    if timeout == 0 {
        return Ok(if json {
            output::add_json(active.as_str())
        } else {
            output::add_text(active.as_str())
        });
    }
    follow(
        conn,
        &mut watch,
        active.as_str(),
        &id,
        Progress::new(Goal::Up, is_vpn),
        Duration::from_secs(timeout.into()),
        json,
    )
    .await?;
    Ok(String::new())
}

async fn down(
    conn: &Connection,
    connection: &str,
    timeout: u32,
    json: bool,
) -> Result<String, CliError> {
    // The object of the active connection: given, or the profile's.
    let (given, profile) = if object_number(connection, ACTIVE_PATH_PREFIX).is_some() {
        (Some(object_path(connection)?), None)
    } else {
        let found = connection::find(conn, connection).await?;
        (None, Some(found))
    };
    let mut watch = Watch::subscribe(conn).await?;
    // Read after subscribing: a change from now on is in the stream.
    let actives = actives_of(&managed_objects(conn).await?);
    let active = match (&given, &profile) {
        (Some(object), _) => actives.iter().find(|a| a.object == object.as_str()),
        (None, Some(p)) => current_active(&actives, p.object.as_str()),
        (None, None) => None,
    }
    .cloned();
    let id = profile
        .as_ref()
        .map_or_else(|| connection.to_owned(), |p| p.id());
    let Some(active) = active else {
        return Err(CliError::new(
            Kind::NotFound,
            match given {
                Some(o) => format!("no active connection at {o}"),
                None => format!("connection {id:?} is not active"),
            },
        ));
    };
    if active.is_deactivated() {
        return Ok(String::new());
    }
    let uplink = object_path(&active.uplink_object)?;
    let object = object_path(&active.object)?;
    call_authorized::<_, ()>(
        platform_at(conn, uplink).await?.inner(),
        "DeactivateConnection",
        &(&object,),
    )
    .await?;
    if timeout == 0 {
        return Ok(String::new());
    }
    let mut progress = Progress::new(Goal::Down, active.vpn_state.is_some());
    progress.state = active.state_code;
    progress.vpn_state = active.vpn_state_code;
    follow(
        conn,
        &mut watch,
        &active.object,
        &active.id,
        progress,
        Duration::from_secs(timeout.into()),
        json,
    )
    .await?;
    Ok(String::new())
}

/// `nsctl exec --vpn PROFILE`: the name of the namespace PROFILE's tunnel
/// is in, the VPN brought up first (from rootns, nsctl asking for missing
/// secrets as `vpn up` does) if it is not activated; its progress goes to
/// stderr.
pub async fn namespace_up(conn: &Connection, connection: &str) -> Result<String, CliError> {
    let profile = connection::find(conn, connection).await?;
    let activated = |objects: &crate::active::ManagedObjects| {
        current_active(&actives_of(objects), profile.object.as_str())
            .filter(|a| a.state_code == st::ACTIVATED)
            .map(|a| a.namespace.clone())
    };
    if let Some(ns) = activated(&managed_objects(conn).await?) {
        return Ok(ns);
    }
    if let Some(tty) = crate::agent::wanted(false, false) {
        crate::agent::register(conn, tty).await?;
    }
    PROGRESS_TO_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
    up(conn, connection, netnsd_api::ROOT_NS_NAME, 90, false).await?;
    activated(&managed_objects(conn).await?).ok_or_else(|| {
        CliError::new(
            Kind::Failed,
            format!("connection {connection:?} went down right after it came up"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vpn_coming_up() {
        let mut pr = Progress::new(Goal::Up, true);
        let steps = [
            (Change::Vpn(vs::CONNECT, reason::NONE), true, "vpn: connect"),
            (
                Change::Vpn(vs::IP_CONFIG_GET, reason::NONE),
                true,
                "vpn: ip-config-get",
            ),
            (
                Change::State(st::ACTIVATED, reason::NONE),
                false,
                "connection: activated",
            ),
        ];
        for (c, print, line) in steps {
            assert_eq!(pr.apply(c), (print, Outcome::Waiting), "{c:?}");
            assert_eq!(pr.line(c, None), line);
        }
        let c = Change::Vpn(vs::ACTIVATED, reason::NONE);
        assert_eq!(pr.apply(c), (true, Outcome::Done));
        assert_eq!(pr.line(c, Some("vpn1")), "vpn: activated (namespace vpn1)");
        let j: serde_json::Value =
            serde_json::from_str(&pr.json("/net/netnsd/Netns1/ActiveConnection/1", Some("vpn1")))
                .unwrap();
        assert_eq!(
            j,
            serde_json::json!({
                "object": "/net/netnsd/Netns1/ActiveConnection/1",
                "state": "activated",
                "vpn_state": "activated",
                "reason": "none",
                "namespace": "vpn1",
            })
        );
    }

    #[test]
    fn a_vpn_failing_waits_for_the_end_and_keeps_the_first_reason() {
        let mut pr = Progress::new(Goal::Up, true);
        pr.apply(Change::Vpn(vs::CONNECT, reason::NONE));
        assert_eq!(
            pr.apply(Change::State(st::DEACTIVATING, reason::LOGIN_FAILED)),
            (false, Outcome::Waiting)
        );
        let c = Change::Vpn(vs::FAILED, reason::LOGIN_FAILED);
        assert_eq!(pr.apply(c), (true, Outcome::Waiting));
        assert_eq!(pr.line(c, None), "vpn: failed (login-failed)");
        let c = Change::State(st::DEACTIVATED, reason::UNKNOWN);
        assert_eq!(pr.apply(c), (true, Outcome::Failed(reason::LOGIN_FAILED)));
        assert_eq!(pr.line(c, None), "connection: deactivated");
        // Without a VPN failure, the connection's own reason.
        let mut pr = Progress::new(Goal::Up, true);
        assert_eq!(
            pr.apply(Change::State(st::DEACTIVATED, reason::SERVICE_STOPPED))
                .1,
            Outcome::Failed(reason::SERVICE_STOPPED)
        );
    }

    #[test]
    fn going_down() {
        let mut pr = Progress::new(Goal::Down, true);
        pr.state = st::ACTIVATED;
        let c = Change::Vpn(vs::DISCONNECTED, reason::USER_DISCONNECTED);
        assert_eq!(pr.apply(c), (true, Outcome::Waiting));
        assert_eq!(pr.line(c, None), "vpn: disconnected (user-disconnected)");
        let c = Change::State(st::DEACTIVATED, reason::USER_DISCONNECTED);
        assert_eq!(pr.apply(c), (true, Outcome::Done));
        assert_eq!(
            pr.line(c, None),
            "connection: deactivated (user-disconnected)"
        );
        // A repeated state prints nothing.
        assert_eq!(pr.apply(c), (false, Outcome::Done));
    }

    #[test]
    fn only_this_connections_signals_count() {
        let sig = |path: &str, iface: &str, member: &str| {
            Message::signal(path, iface, member)
                .build(&(2u32, 1u32))
                .unwrap()
        };
        let a = "/net/netnsd/Netns1/ActiveConnection/3";
        assert_eq!(
            change_of(&sig(a, ACTIVE_INTERFACE, "StateChanged"), a),
            Some(Change::State(2, 1))
        );
        assert_eq!(
            change_of(&sig(a, VPN_INTERFACE, "VpnStateChanged"), a),
            Some(Change::Vpn(2, 1))
        );
        assert_eq!(
            change_of(
                &sig(
                    "/net/netnsd/Netns1/ActiveConnection/4",
                    ACTIVE_INTERFACE,
                    "StateChanged"
                ),
                a
            ),
            None
        );
        assert_eq!(
            change_of(
                &sig(a, "org.freedesktop.DBus.Properties", "PropertiesChanged"),
                a
            ),
            None
        );
    }

    #[test]
    fn ids_are_quoted_for_the_shell_when_needed() {
        assert_eq!(shell_word("office"), "office");
        assert_eq!(shell_word("my vpn"), "'my vpn'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
