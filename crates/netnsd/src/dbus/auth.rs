//! polkit checks, with the caller's unique bus name (from the message header)
//! as the subject.

use std::collections::HashMap;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use netnsd_api::Error;
use zbus::Connection;
use zbus::message::{Flags, Header};
use zbus::names::{OwnedUniqueName, UniqueName};
use zbus_polkit::policykit1::{AuthorityProxy, CheckAuthorizationFlags, Subject};

/// How long a check may wait for polkitd. polkitd answers a non-interactive
/// check in milliseconds; 10 s leaves room for a loaded host and still
/// answers well before a client's default 25 s timeout.
pub const POLKIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The same for a check that may prompt the caller for a password: a
/// person needs time to type it, but a forgotten prompt must end too.
pub const POLKIT_INTERACTIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Clone)]
pub struct Authority {
    proxy: AuthorityProxy<'static>,
    uids: std::sync::Arc<UidCache>,
}

/// The uid of each caller's connection, by unique bus name, as the bus
/// daemon said it (GetConnectionCredentials). A unique name is never given
/// to another connection during the bus's life, and a connection's uid
/// does not change, so an entry never goes stale; the table is emptied
/// when it reaches [`UID_CACHE_MAX`] names, to bound it.
///
/// A caller's first lookup starts the question in the background
/// ([`Authority::warm_caller`]), so that its uid is known by
/// the time a call that needs it (Spawn, a polkit check) arrives: one
/// question in flight per name, which every caller of
/// [`Authority::credentials`] for that name awaits rather than asking
/// again. A question that fails is forgotten (the next call asks anew).
#[derive(Default)]
struct UidCache(std::sync::Mutex<HashMap<String, Entry>>);

/// A caller's uid, and its groups where the bus knows them.
type Credentials = (u32, Option<Vec<u32>>);

/// What the bus answered about a caller, or why it could not.
type Asked = Result<Credentials, String>;

/// The bus's answer being awaited, shared by everyone who needs it.
type Asking = Shared<BoxFuture<'static, Asked>>;

#[derive(Clone)]
enum Entry {
    Known(Credentials),
    Asking(Asking),
}

/// What [`UidCache::lookup`] found for a name.
enum Lookup {
    Known(Credentials),
    /// Asked already (by someone else): await this.
    Asking(Asking),
    /// Asked just now: this lookup's caller drives the question (by
    /// awaiting it, or spawning a task that does).
    Started(Asking),
}

const UID_CACHE_MAX: usize = 1024;

impl UidCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn get(&self, sender: &str) -> Option<Credentials> {
        match self.lock().get(sender) {
            Some(Entry::Known(c)) => Some(c.clone()),
            _ => None,
        }
    }

    fn put(&self, sender: &str, creds: Credentials) {
        let mut m = self.lock();
        if m.len() >= UID_CACHE_MAX && !m.contains_key(sender) {
            m.clear();
        }
        m.insert(sender.to_owned(), Entry::Known(creds));
    }

    /// `sender`'s credentials if known, else the question in flight, else
    /// `ask()` made the question in flight (one per name).
    fn lookup(&self, sender: &str, ask: impl FnOnce() -> BoxFuture<'static, Asked>) -> Lookup {
        let mut m = self.lock();
        match m.get(sender) {
            Some(Entry::Known(c)) => return Lookup::Known(c.clone()),
            Some(Entry::Asking(f)) => return Lookup::Asking(f.clone()),
            None => {}
        }
        if m.len() >= UID_CACHE_MAX {
            // Questions in flight so dropped stay with those who await them.
            m.clear();
        }
        let f = ask().shared();
        m.insert(sender.to_owned(), Entry::Asking(f.clone()));
        Lookup::Started(f)
    }

    /// Awaits `f`, the question about `sender`, and records its answer: the
    /// credentials, or (on failure) that nothing is known.
    async fn settle(&self, sender: &str, f: Asking) -> Asked {
        let r = f.clone().await;
        match &r {
            Ok(c) => self.put(sender, c.clone()),
            Err(_) => {
                let mut m = self.lock();
                if let Some(Entry::Asking(g)) = m.get(sender)
                    && g.ptr_eq(&f)
                {
                    m.remove(sender);
                }
            }
        }
        r
    }
}

/// Whether a caller with this uid is authorized without asking polkit:
/// root only, as systemd grants root its own actions without polkit. Every
/// other uid is polkit's to decide.
pub fn skips_polkit(uid: u32) -> bool {
    uid == 0
}

impl Authority {
    pub async fn new(conn: &Connection) -> zbus::Result<Self> {
        let proxy = AuthorityProxy::builder(conn)
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await?;
        Ok(Authority {
            proxy,
            uids: Default::default(),
        })
    }

    /// The daemon's bus connection.
    pub fn connection(&self) -> &Connection {
        self.proxy.inner().connection()
    }

    /// The caller's uid, as the bus daemon knows it (never from arguments;
    /// asked once per caller connection, see [`UidCache`]).
    pub async fn caller_uid(&self, hdr: &Header<'_>) -> Result<u32, Error> {
        Ok(self.credentials(hdr).await?.0)
    }

    /// The caller's uid and groups, as [`credentials`] learns them, asked
    /// once per caller connection (see [`UidCache`]).
    pub async fn credentials(&self, hdr: &Header<'_>) -> Result<Credentials, Error> {
        let Some(sender) = hdr.sender() else {
            return credentials(self.connection(), hdr).await;
        };
        let f = match self.lookup(sender) {
            Lookup::Known(c) => return Ok(c),
            Lookup::Asking(f) | Lookup::Started(f) => f,
        };
        self.uids
            .settle(sender.as_str(), f)
            .await
            .map_err(Error::PermissionDenied)
    }

    fn lookup(&self, sender: &UniqueName<'_>) -> Lookup {
        let conn = self.connection().clone();
        let name = OwnedUniqueName::from(sender.to_owned());
        self.uids.lookup(sender.as_str(), move || {
            async move { ask(&conn, name).await }.boxed()
        })
    }

    /// Starts asking the bus who `sender` is, in the background, unless
    /// that is known or being asked already.
    fn warm(&self, sender: &UniqueName<'_>) {
        if let Lookup::Started(f) = self.lookup(sender) {
            let uids = self.uids.clone();
            let sender = sender.to_string();
            tokio::spawn(async move {
                let _ = uids.settle(&sender, f).await;
            });
        }
    }

    /// Starts learning who sent `hdr` (see [`UidCache`]), in the
    /// background, unless that is known or being asked already: called by
    /// the lookups a client makes first (GetNetworkNamespaceByName,
    /// ListNetworkNamespaces), so that its Spawn or polkit check finds the
    /// uid known.
    pub fn warm_caller(&self, hdr: &Header<'_>) {
        if let Some(sender) = hdr.sender() {
            self.warm(sender);
        }
    }

    /// Succeeds when the sender of `hdr` is root (uid 0, as the bus daemon
    /// knows it: no polkit round trip, see [`skips_polkit`]) or polkit
    /// authorizes it for `action`. The caller may be prompted only if its
    /// message allows interaction.
    pub async fn check(&self, hdr: &Header<'_>, action: &str) -> Result<(), Error> {
        if skips_polkit(self.caller_uid(hdr).await?) {
            return Ok(());
        }
        let subject = Subject::new_for_message_header(hdr)
            .map_err(|e| Error::PermissionDenied(format!("cannot identify the caller: {e}")))?;
        let mut flags = CheckAuthorizationFlags::empty();
        if hdr
            .primary()
            .flags()
            .contains(Flags::ALLOW_INTERACTIVE_AUTH)
        {
            flags |= CheckAuthorizationFlags::ALLOW_USER_INTERACTION;
        }
        // A stalled polkitd must not leave the caller without an answer:
        // the wait is bounded below the clients' own 25 s default, and a
        // polkit that cannot be asked is said to be so (not a refusal).
        let limit = if flags.is_empty() {
            POLKIT_TIMEOUT
        } else {
            POLKIT_INTERACTIVE_TIMEOUT
        };
        let details = HashMap::new();
        let asked = self
            .proxy
            .check_authorization(&subject, action, &details, flags, "");
        let result = match tokio::time::timeout(limit, asked).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(Error::Failed(format!(
                    "could not ask polkit about {action} (is polkitd running?): {e}"
                )));
            }
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "polkit did not answer about {action} within {} s",
                    limit.as_secs()
                )));
            }
        };
        if result.is_authorized {
            Ok(())
        } else if result.is_challenge {
            Err(Error::PermissionDenied(format!(
                "not authorized for {action}: authentication is required"
            )))
        } else {
            Err(Error::PermissionDenied(format!(
                "not authorized for {action}"
            )))
        }
    }
}

/// Who sent `hdr`, as the bus daemon knows it (never from arguments): its
/// uid, and its groups where the bus knows them.
pub async fn credentials(
    conn: &Connection,
    hdr: &Header<'_>,
) -> Result<(u32, Option<Vec<u32>>), Error> {
    let sender = hdr
        .sender()
        .ok_or_else(|| Error::PermissionDenied("the call has no sender".into()))?
        .to_owned();
    ask(conn, sender.into())
        .await
        .map_err(Error::PermissionDenied)
}

/// GetConnectionCredentials about `sender`: its uid and groups, or why the
/// bus could not say.
async fn ask(conn: &Connection, sender: OwnedUniqueName) -> Asked {
    let creds = zbus::fdo::DBusProxy::new(conn)
        .await
        .map_err(|e| format!("cannot learn who the caller is: {e}"))?
        .get_connection_credentials(sender.into())
        .await
        .map_err(|e| format!("cannot learn who the caller is: {e}"))?;
    let uid = creds
        .unix_user_id()
        .ok_or_else(|| "the bus does not know the caller's uid".to_string())?;
    Ok((uid, creds.unix_group_ids().cloned()))
}

/// Who sent `hdr`, as the bus knows it (uid, groups), for reading files as
/// the caller ([`crate::settings::caller`]).
pub async fn caller(
    conn: &Connection,
    hdr: &Header<'_>,
) -> Result<crate::settings::caller::Caller, Error> {
    let (uid, groups) = credentials(conn, hdr).await?;
    tokio::task::spawn_blocking(move || crate::settings::caller::Caller::lookup(uid, groups))
        .await
        .map_err(|e| Error::Failed(e.to_string()))?
}

#[cfg(test)]
mod tests {
    /// Only root goes without polkit; every other uid, the nobody user and
    /// a uid that wraps to 0 in 16 bits included, is asked about.
    #[test]
    fn only_root_skips_polkit() {
        assert!(super::skips_polkit(0));
        for uid in [1, 999, 1000, 4242, 65534, 65536, u32::MAX] {
            assert!(!super::skips_polkit(uid), "uid {uid} skipped polkit");
        }
    }

    #[test]
    fn the_uid_cache_is_bounded() {
        let c = super::UidCache::default();
        for i in 0..super::UID_CACHE_MAX + 10 {
            c.put(&format!(":1.{i}"), (i as u32, None));
        }
        assert!(c.lock().len() <= super::UID_CACHE_MAX);
        assert_eq!(
            c.get(&format!(":1.{}", super::UID_CACHE_MAX + 9)),
            Some((super::UID_CACHE_MAX as u32 + 9, None))
        );
    }

    /// Asking about a caller whose question is in flight awaits that
    /// question: the bus is asked once per name, however many calls need
    /// the answer meanwhile; the answer is then kept.
    #[tokio::test]
    async fn one_question_per_caller_in_flight() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use futures::FutureExt;

        let c = std::sync::Arc::new(super::UidCache::default());
        let asked = std::sync::Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let rx = rx.shared();
        let ask = || {
            let (asked, rx) = (asked.clone(), rx.clone());
            move || {
                async move {
                    asked.fetch_add(1, Ordering::SeqCst);
                    let _ = rx.await;
                    Ok((1000, None))
                }
                .boxed()
            }
        };
        let super::Lookup::Started(first) = c.lookup(":1.7", ask()) else {
            panic!("the first lookup did not start the question");
        };
        let super::Lookup::Asking(second) = c.lookup(":1.7", ask()) else {
            panic!("the second lookup did not find the question in flight");
        };
        let (c1, c2) = (c.clone(), c.clone());
        let a = tokio::spawn(async move { c1.settle(":1.7", first).await });
        let b = tokio::spawn(async move { c2.settle(":1.7", second).await });
        tx.send(()).unwrap();
        assert_eq!(a.await.unwrap(), Ok((1000, None)));
        assert_eq!(b.await.unwrap(), Ok((1000, None)));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert!(matches!(
            c.lookup(":1.7", ask()),
            super::Lookup::Known((1000, None))
        ));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    /// A question that failed is forgotten: the next call asks again.
    #[tokio::test]
    async fn a_failed_question_is_asked_again() {
        use futures::FutureExt;

        let c = super::UidCache::default();
        let super::Lookup::Started(f) =
            c.lookup(":1.9", || async { Err("gone".to_string()) }.boxed())
        else {
            panic!("not started");
        };
        assert_eq!(c.settle(":1.9", f).await, Err("gone".to_string()));
        assert!(matches!(
            c.lookup(":1.9", || async { Ok((5, None)) }.boxed()),
            super::Lookup::Started(_)
        ));
    }

    /// The action ids the daemon checks are exactly those in the .policy
    /// file that packaging installs.
    #[test]
    fn actions_match_the_policy_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../polkit/net.netnsd.Netns1.policy"
        );
        let xml = std::fs::read_to_string(path).unwrap();
        let ids: Vec<&str> = xml
            .split("<action id=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(ids, netnsd_api::actions::ALL);
    }
}
