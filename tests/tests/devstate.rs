//! Device.State as NetworkManager's NMDeviceState with the kernel's
//! operstate beside it (issue 15, item 7), and the Internal device signals
//! as the prototype meant them.
//!
//! iproute2 is the observer of the devices; real traffic crosses the
//! uplink (ping to the `wan` stand-in).

use std::time::Duration;

use netnsd_api::state::device as ds;
use netnsd_tests::wan::*;
use netnsd_tests::*;

/// Every signal named `member` of NetNsInstance, from any namespace, as
/// (namespace path, device path).
async fn instance_signals(conn: &zbus::Connection, member: &'static str) -> zbus::MessageStream {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(INSTANCE_INTERFACE)
        .member(member)
        .build()
        .unwrap();
    zbus::MessageStream::for_match_rule(rule, conn, None)
        .await
        .unwrap()
}

fn from_and_device(m: zbus::Result<zbus::Message>) -> Option<(String, String)> {
    let m = m.ok()?;
    let from = m.header().path()?.to_string();
    let dev: zbus::wire::OwnedObjectPath = m.body().deserialize().ok()?;
    Some((from, dev.to_string()))
}

async fn remove(conn: &zbus::Connection, name: &str) {
    let r = controller(conn)
        .await
        .remove_network_namespace(name)
        .await
        .unwrap_or_else(|e| panic!("RemoveNetworkNamespace({name:?}): {e:?}"));
    assert_eq!(r, "Success");
}

/// The operstate `ip link` shows for `dev` in `ns`, in lower case.
async fn ip_operstate(ns: &str, dev: &str) -> String {
    must(ip_link(ns, dev).await, dev)["operstate"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

/// A namespace's veth uplink carries traffic: its uplink0 and host end are
/// NMDeviceState activated (100) with OperState "up" as iproute2 says;
/// down, uplink0 is disconnected (30) and its peer unavailable (20, no
/// carrier); loopback is unmanaged (10). NetnsInternalDeviceAdded names
/// every device joining AllDevices, after NetnsDeviceAdded for one that
/// joins Devices too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uplink_carrying_traffic_is_activated_and_its_operstate_up() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let mut internal = instance_signals(&conn, "NetnsInternalDeviceAdded").await;
        let mut added = instance_signals(&conn, "NetnsDeviceAdded").await;

        let ns = add_veth_ns(&conn, "ds-up").await;
        let p = ping_until_answered("ds-up", &["-4", WAN_V4]).await;
        assert!(p.success(), "ping {WAN_V4} from ds-up: {p}");
        let u = veth_uplink("ds-up").await;
        let inside = wait_device(&conn, &ns, "uplink0").await;
        let host = wait_device(&conn, &namespace_path(0), &u.host_if).await;
        for (path, netns, name) in [
            (&inside, "ds-up", "uplink0"),
            (&host, ROOT_NS_NAME, u.host_if.as_str()),
        ] {
            assert_eq!(ip_operstate(netns, name).await, "up");
            let i = wait_dev(&conn, path, "activated, operstate up", |i| {
                i.state == ds::ACTIVATED && i.oper_state == "up"
            })
            .await;
            assert!(!i.addresses.is_empty(), "{i:?}");
        }
        // Still so while traffic crosses it.
        let p = ping("ds-up", 2, &["-4", WAN_V4]).await;
        assert!(p.success(), "{p}");
        let i = dev_info(&conn, &inside).await;
        assert_eq!((i.state, i.oper_state.as_str()), (ds::ACTIVATED, "up"));
        // nsctl names the state as nmcli does, the operstate beside it.
        let out = nsctl(None, &["device", "show", "--netns", "ds-up", "uplink0"])
            .await
            .ok();
        assert!(
            out.stdout.contains("State:     connected\nOperstate: up\n"),
            "{out}"
        );
        let out = nsctl(
            None,
            &["--json", "device", "show", "--netns", "ds-up", "uplink0"],
        )
        .await
        .ok();
        let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(
            (&v["state"], &v["oper_state"], &v["state_code"]),
            (
                &serde_json::json!("connected"),
                &serde_json::json!("up"),
                &serde_json::json!(100)
            ),
            "{out}"
        );
        let lo = must(find_device(&conn, &ns, "lo").await, "lo");
        assert_eq!(dev_info(&conn, &lo).await.state, ds::UNMANAGED);

        // The prototype's signals: uplink0 both, lo only the Internal one.
        let mut seen = std::collections::BTreeSet::new();
        next_matching(
            &mut internal,
            "NetnsInternalDeviceAdded(lo, uplink0)",
            |m| {
                let (from, dev) = from_and_device(m)?;
                if from == ns {
                    seen.insert(dev);
                }
                (seen.contains(&inside) && seen.contains(&lo)).then_some(())
            },
        )
        .await;
        next_matching(&mut added, "NetnsDeviceAdded(uplink0)", |m| {
            from_and_device(m).filter(|(f, d)| f == &ns && d == &inside)
        })
        .await;
        assert!(
            !comes_within(&mut added, Duration::from_millis(300), |m| {
                from_and_device(m).is_some_and(|(_, d)| d == lo)
            })
            .await,
            "NetnsDeviceAdded for lo"
        );

        // Down: uplink0 disconnected, its host end without a carrier.
        ip_ns("ds-up", &["link", "set", "uplink0", "down"])
            .await
            .ok();
        wait_dev(&conn, &inside, "disconnected, operstate down", |i| {
            i.state == ds::DISCONNECTED && i.oper_state == "down"
        })
        .await;
        let i = wait_dev(&conn, &host, "unavailable", |i| i.state == ds::UNAVAILABLE).await;
        assert_eq!(i.oper_state, ip_operstate(ROOT_NS_NAME, &u.host_if).await);
        ip_ns("ds-up", &["link", "set", "uplink0", "up"]).await.ok();
        for path in [&inside, &host] {
            wait_dev(&conn, path, "activated again", |i| {
                i.state == ds::ACTIVATED && i.oper_state == "up"
            })
            .await;
        }

        remove(&conn, "ds-up").await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}
