//! Device.State as NetworkManager's NMDeviceState with the kernel's
//! operstate beside it (issue 15, item 7), the Internal device signals as
//! the prototype meant them, DependencyFailed (item 6), and active
//! connections leaving the bus and every namespace's list when they end.
//!
//! iproute2 is the observer of the devices; real traffic crosses the
//! uplink (ping to the `wan` stand-in); the VPN is WireGuard against the
//! real peer of netnsd_tests::vpnpeers.

use std::time::Duration;

use netnsd_api::state::{active, device as ds, reason};
use netnsd_tests::openvpn::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::wan::*;
use netnsd_tests::*;
use zbus::proxy::CacheProperties;

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

/// The operstate `ip link` shows for `dev` in `ns`, in lower case.
async fn ip_operstate(ns: &str, dev: &str) -> String {
    must(ip_link(ns, dev).await, dev)["operstate"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase()
}

/// A namespace's veth uplink carries traffic: its uplink0, host end (a port
/// of nsbr0, the bridge topology) and the bridge are
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
        // The host end is a port of the bridge that holds the gateway's
        // addresses (the bridge topology): activated with its bridge, as
        // NetworkManager activates a port with its controller.
        let bridge = wait_device(&conn, &namespace_path(0), BRIDGE_IF).await;
        for (path, netns, name, addressed) in [
            (&inside, "ds-up", "uplink0", true),
            (&host, ROOT_NS_NAME, u.host_if.as_str(), false),
            (&bridge, ROOT_NS_NAME, BRIDGE_IF, true),
        ] {
            assert_eq!(ip_operstate(netns, name).await, "up");
            let i = wait_dev(&conn, path, "activated, operstate up", |i| {
                i.state == ds::ACTIVATED && i.oper_state == "up"
            })
            .await;
            assert_eq!(!i.addresses.is_empty(), addressed, "{i:?}");
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

        remove_ns(&conn, "ds-up").await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

/// A WireGuard keyfile with made-up keys and `connection_extra` lines:
/// enough to be activated (DependencyFailed comes before any packet).
fn wg_keyfile(id: &str, uuid: &str, connection_extra: &[&str]) -> String {
    let (private, _) = wg_keypair();
    let (_, peer_public) = wg_keypair();
    format!(
        "[connection]\nid={id}\nuuid={uuid}\ntype=wireguard\nautoconnect=false\n{}\n\n\
         [wireguard]\nprivate-key={private}\n\n\
         [wireguard-peer.{peer_public}]\nendpoint={WAN_V4}:51820\nallowed-ips=0.0.0.0/0;\n\n\
         [ipv4]\naddress1=10.67.0.2/24\nmethod=manual\n\n[ipv6]\nmethod=disabled\n",
        connection_extra.join("\n")
    )
}

/// ActivateConnection in a namespace whose uplink is gone (its uplink0
/// deleted behind the daemon's back) is the prototype's DependencyFailed,
/// naming what is missing, as the prototype refused an activation whose
/// master device was not available: no active connection appears, no
/// isolated namespace is made, nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activating_where_the_uplink_is_gone_is_dependency_failed() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        let uuid = new_uuid();
        install_keyfile_text(
            "ds-dep-wg",
            &wg_keyfile(
                "ds-dep-wg",
                &uuid,
                &["netns-isolate=true", "netns-name=ds-dep-vpn"],
            ),
        );
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&uuid)
            .await
            .unwrap_or_else(|e| panic!("no profile {uuid}: {e:?}"))
            .to_string();
        let ns = add_veth_ns(&conn, "ds-dep").await;
        wait_device(&conn, &ns, "uplink0").await;
        ip_ns("ds-dep", &["link", "del", "uplink0"]).await.ok();
        wait_device_gone(&conn, &ns, "uplink0").await;

        let r = ns_connections(&conn, &ns)
            .await
            .activate_connection(&op(&path), &op("/"), &op("/"))
            .await;
        let (name, message) = err_name(r);
        assert_eq!(name, "DependencyFailed", "{message}");
        assert!(
            message.contains("uplink0") && message.contains("ds-dep"),
            "{message}"
        );
        for ns_path in [&ns, &namespace_path(0)] {
            let listed = ns_connections(&conn, ns_path)
                .await
                .active_connections()
                .await
                .unwrap();
            assert!(listed.is_empty(), "{ns_path}: {listed:?}");
        }
        let objects = object_manager(&conn)
            .await
            .get_managed_objects()
            .await
            .unwrap();
        assert!(
            !objects
                .keys()
                .any(|p| p.as_str().starts_with(netnsd_api::ACTIVE_PATH_PREFIX)),
            "an active connection object: {:?}",
            objects.keys().collect::<Vec<_>>()
        );
        assert!(!run_netns_entries().contains(&"ds-dep-vpn".to_owned()));

        remove_ns(&conn, "ds-dep").await;
        assert_nothing_left(&wan.keep()).await;
    })
    .await
}

/// How a test's VPN connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Deactivated,
    ClientEnded,
    NamespaceRemoved,
}

/// A VPN's active connection leaves the bus (InterfacesRemoved) and the
/// ActiveConnections of both its namespaces, as read and as announced
/// (a client's cached copy), after DeactivateConnection and after its
/// client ends on its own, also when its isolated namespace is persistent
/// and stays; when that namespace is removed under it, the connection
/// fails with reason dependency-failed and goes the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_vpn_leaves_the_bus_and_the_lists_of_both_namespaces() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let peer = WgPeer::start(&rig).await;
        let uuid = new_uuid();
        install_keyfile_text(
            "ds-keep-wg",
            &peer.keyfile(
                "ds-keep-wg",
                &uuid,
                &[
                    "netns-isolate=true",
                    "netns-name=ds-keep",
                    "netns-persistent=true",
                ],
            ),
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&uuid)
            .await
            .unwrap_or_else(|e| panic!("no profile {uuid}: {e:?}"))
            .to_string();
        let cached = |ns: String| {
            let conn = conn.clone();
            async move {
                NetNsConnectionsProxy::builder(&conn)
                    .path(ns)
                    .cache_properties(CacheProperties::Yes)
                    .build()
                    .await
                    .unwrap()
            }
        };
        let root = cached(namespace_path(0)).await;
        let mut removed = object_manager(&conn)
            .await
            .receive_interfaces_removed()
            .await
            .unwrap();
        let mut log = StateLog::new(&conn).await;
        for end in [End::Deactivated, End::ClientEnded, End::NamespaceRemoved] {
            let ac = activate_until_up(&conn, &mut log, &path).await;
            let keep = wait_ns_on_bus(&conn, "ds-keep", Duration::from_secs(5)).await;
            let isolated = cached(keep.clone()).await;
            let mut lists = vec![(&root, namespace_path(0)), (&isolated, keep.clone())];
            let has = |l: Option<Vec<zbus::wire::OwnedObjectPath>>| {
                l.is_some_and(|l| l.iter().any(|p| p.as_str() == ac))
            };
            for (proxy, ns) in &lists {
                wait_for(Duration::from_secs(5), &format!("{ac} in {ns}"), || {
                    let got = has(proxy.cached_active_connections().ok().flatten());
                    async move { got.then_some(()) }
                })
                .await;
            }
            let why = match end {
                End::Deactivated => {
                    deactivate_until_down(&conn, &mut log, &ac).await;
                    reason::USER_DISCONNECTED
                }
                End::ClientEnded => {
                    let tuns = links_of_kinds("ds-keep", &["wireguard"]).await;
                    if let Some(tun) = tuns.first() {
                        ip_ns("ds-keep", &["link", "del", tun]).await.ok();
                    } else {
                        // wireguard-go's end is logged as WireGuard's.
                        let clients = peer.client_processes();
                        assert_eq!(clients.len(), 1, "one wireguard-go: {clients:?}");
                        nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(clients[0].0 as i32),
                            nix::sys::signal::Signal::SIGKILL,
                        )
                        .unwrap();
                    }
                    reason::SERVICE_STOPPED
                }
                End::NamespaceRemoved => {
                    remove_ns(&conn, "ds-keep").await;
                    lists.truncate(1);
                    reason::DEPENDENCY_FAILED
                }
            };
            log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
            let last = log.states(&ac, Sig::State).last().copied();
            assert_eq!(
                last,
                Some((active::DEACTIVATED, why)),
                "{end:?}: {}",
                log.describe()
            );
            if end == End::ClientEnded && !kernel_has_wireguard().await {
                let text = daemon.log_text();
                assert!(
                    text.contains("WireGuard ended") && !text.contains("openvpn ended"),
                    "the client's end logged with its type:\n{text}"
                );
            }
            next_matching(&mut removed, &format!("InterfacesRemoved({ac})"), |s| {
                let args = s.args().ok()?;
                (args.object_path().as_str() == ac).then_some(())
            })
            .await;
            for (proxy, ns) in &lists {
                wait_for(
                    Duration::from_secs(5),
                    &format!("{ns}'s ActiveConnections, as announced, without {ac} ({end:?})"),
                    || {
                        let got = has(proxy.cached_active_connections().ok().flatten());
                        async move { (!got).then_some(()) }
                    },
                )
                .await;
                let now = ns_connections(&conn, ns)
                    .await
                    .active_connections()
                    .await
                    .unwrap();
                assert!(!has(Some(now.clone())), "{ns} lists {ac}: {now:?}");
            }
        }
        assert_nothing_left(&rig.keep().pid(peer.pid())).await;
    })
    .await
}

/// A link change that moves several Device properties at once is one
/// PropertiesChanged carrying them all (as NetworkManager and sd-bus send
/// them), not a signal per property: a veth end with an address brought up
/// is Up, and no longer disconnected (its State), in the same signal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_link_change_is_one_properties_changed() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        for args in [
            &["link", "add", "dsprop0", "type", "veth", "peer", "name", "dsprop1"][..],
            &["link", "set", "dsprop1", "up"],
            &["addr", "add", "192.0.2.77/24", "dev", "dsprop0"],
        ] {
            let o = ip(args).await;
            assert!(o.success(), "ip {args:?}: {o}");
        }
        let dev = wait_device(&conn, &namespace_path(0), "dsprop0").await;
        let props = properties_proxy(&conn, &dev).await;
        let mut changed = props.receive_properties_changed().await.unwrap();
        let o = ip(&["link", "set", "dsprop0", "up"]).await;
        assert!(o.success(), "ip link set dsprop0 up: {o}");
        let first = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut changed))
            .await
            .expect("no PropertiesChanged within 5 s of `ip link set up`")
            .expect("the signal stream ended");
        let args = first.args().unwrap();
        let names: Vec<&str> = args.changed_properties().keys().copied().collect();
        assert!(
            names.contains(&"Up") && names.contains(&"State"),
            "the first PropertiesChanged after `ip link set up` carries {names:?}, not Up and State together"
        );
        assert!(
            bool::try_from(&args.changed_properties()["Up"]).unwrap(),
            "Up must be true after `ip link set up`"
        );
        // Up, so no longer disconnected: unavailable until the carrier's
        // own event, or activated if it came with it.
        let state = u32::try_from(&args.changed_properties()["State"]).unwrap();
        assert!(
            [ds::UNAVAILABLE, ds::ACTIVATED].contains(&state),
            "State {state} in the signal that says Up"
        );
        ip(&["link", "del", "dsprop0"]).await;
    })
    .await;
}
