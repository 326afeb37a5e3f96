//! The daemon learns who a caller is from the bus (GetConnectionCredentials)
//! once per connection, starting as soon as the connection looks a
//! namespace up (issue 18 item 2): a client that looks its namespace up and then
//! calls Spawn finds its uid known by then, instead of waiting for a
//! further round trip to the bus. A bus monitor (the real dbus-daemon's
//! BecomeMonitor) sees every message, so the order is observed, not
//! inferred from timing.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::time::Duration;

use futures::StreamExt;
use netnsd_tests::*;
use zbus::message::Type;
use zbus::wire::Fd;

/// What the monitor saw, in order, about the client `client`.
#[derive(Debug, PartialEq, Clone, Copy)]
enum Seen {
    /// The daemon asked the bus about the client (GetConnectionCredentials).
    Asked,
    /// The bus answered that question.
    Answered,
    /// The client's Spawn reached the bus.
    Spawn,
}

/// What `m` is to the test, about the client `me`; `asked` keeps the
/// serials of the daemon's questions, to know the bus's answers.
fn classify(m: &zbus::Message, me: &str, asked: &mut Vec<std::num::NonZeroU32>) -> Option<Seen> {
    let h = m.header();
    match h.message_type() {
        Type::MethodCall
            if h.member().is_some_and(|n| n == "GetConnectionCredentials")
                && m.body().deserialize::<&str>().ok() == Some(me) =>
        {
            asked.push(h.primary().serial_num());
            Some(Seen::Asked)
        }
        Type::MethodReturn
            if h.sender().is_some_and(|s| s == "org.freedesktop.DBus")
                && h.reply_serial().is_some_and(|r| asked.contains(&r)) =>
        {
            Some(Seen::Answered)
        }
        Type::MethodCall
            if h.member().is_some_and(|n| n == "Spawn")
                && h.sender().is_some_and(|s| s.as_str() == me) =>
        {
            Some(Seen::Spawn)
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_uid_is_asked_on_its_first_call_once_and_known_by_spawn() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns(&conn, "cw-app").await;

        let (_monitor, mut seen_all) = bus_monitor().await;

        // A fresh client: its lookup; then (with the change) the daemon
        // asks the bus about it unprompted: wait for the answer on the
        // monitor (bounded: without the change it never comes); then Spawn
        // twice.
        let client = system_conn().await;
        let me = client.unique_name().unwrap().to_string();
        let object = controller(&client)
            .await
            .get_network_namespace_by_name("cw-app")
            .await
            .unwrap();
        assert_eq!(object.as_str(), path);
        let mut order = Vec::new();
        let mut asked = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(m)) = seen_all.next().await {
                if let Some(s) = classify(&m, &me, &mut asked) {
                    order.push(s);
                    if s == Seen::Answered {
                        break;
                    }
                }
            }
        })
        .await;
        let ns = instance(&client, &path).await;
        let null = dev_null();
        for _ in 0..2 {
            let fds: HashMap<&str, Fd<'_>> = [("stdin", 0), ("stdout", 1), ("stderr", 2)]
                .into_iter()
                .map(|(n, _)| (n, Fd::from(null.as_fd())))
                .collect();
            ns.spawn(
                &["true"],
                HashMap::from([("PATH", "/usr/bin:/bin")]),
                "/",
                fds,
                HashMap::new(),
            )
            .await
            .expect("Spawn true");
        }
        // The rest the monitor saw, in order.
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            while let Some(Ok(m)) = seen_all.next().await {
                if let Some(s) = classify(&m, &me, &mut asked) {
                    order.push(s);
                }
            }
        })
        .await;
        assert_eq!(
            order,
            [Seen::Asked, Seen::Answered, Seen::Spawn, Seen::Spawn],
            "the daemon must ask about a caller once, on its first call, before its Spawn"
        );
    })
    .await;
}
