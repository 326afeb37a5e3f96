//! Issue 12, authorization completed and DNS (items 8–12), with the
//! sandbox's real polkitd, dbus-daemon and OpenVPN rig:
//!
//! - rootns has an action of its own, `configure-host`: a user a rule
//!   allows `configure` still cannot touch the host's namespace (item 12);
//! - `connection.permissions` limits who may activate and deactivate a
//!   profile and spawn into its namespace (item 10);
//! - an Update that moves a profile to another server drops its stored
//!   secrets unless the caller may read them (item 11);
//! - deactivating a VPN isolated into an existing namespace puts back the
//!   DNS it wrote over (item 8);
//! - with /etc/resolv.conf a link into /run/systemd/resolve (as
//!   systemd-resolved has it), Spawn still shows the namespace's resolv.conf
//!   (item 9).

use std::time::Duration;

use netnsd_api::actions;
use netnsd_api::state::active;
use netnsd_tests::openvpn::*;
use netnsd_tests::wan::*;
use netnsd_tests::*;

const DENIED: &str = "net.netnsd.Netns1.Error.PermissionDenied";
const PLAIN_USER: &str = "nsuser";

fn method(m: &str) -> String {
    format!("{INSTANCE_INTERFACE}.{m}")
}

/// A rule that grants `actions` to the users named.
fn grant(actions: &[&str], users: &[&str]) -> String {
    let list = |v: &[&str]| {
        v.iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "polkit.addRule(function(action, subject) {{\n    \
         if ([{}].indexOf(action.id) >= 0 && [{}].indexOf(subject.user) >= 0)\n        \
         return polkit.Result.YES;\n}});\n",
        list(actions),
        list(users)
    )
}

// ---------------------------------------------------------------------------
// Item 12: configure-host

/// A rule that allows nsuser `configure` lets it configure a namespace of
/// its own but not rootns: AddBridge there, AddVeth with its peer there,
/// SetUplink/ClearUplink of rootns are refused, naming configure-host, and
/// nothing changes on the host. With configure-host granted too, rootns
/// can be configured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_does_not_reach_the_host_namespace() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "ch-a").await;
        assert!(!pkcheck(ADMIN_UID, actions::CONFIGURE_HOST).await);
        let _rule = PolkitRules::install(
            "50-user-configure",
            &grant(&[actions::CONFIGURE], &[PLAIN_USER]),
        );
        wait_polkit(PLAIN_UID, actions::CONFIGURE, true).await;
        assert!(!pkcheck(PLAIN_UID, actions::CONFIGURE_HOST).await);
        let user = Some(PLAIN_UID);

        // Its own namespace: allowed.
        gdbus_call(
            user,
            &a,
            &method("AddBridge"),
            &["'chbr0'".into(), "@a{sv} {}".into()],
        )
        .await
        .ok();
        assert!(ip_link("ch-a", "chbr0").await.is_some());

        let links_before = brief_links(ROOT_NS_NAME).await;
        let refused: Vec<(&str, &str, Vec<String>)> = vec![
            (
                &root,
                "AddBridge",
                vec!["'chbr1'".into(), "@a{sv} {}".into()],
            ),
            (
                &a,
                "AddVeth",
                vec![
                    "'chv0'".into(),
                    "'chv1'".into(),
                    format!("objectpath '{root}'"),
                    "@a{sv} {}".into(),
                ],
            ),
            (
                &root,
                "AddRoute",
                vec!["{'destination': <'10.123.0.0/24'>, 'gateway': <'203.0.113.254'>}".into()],
            ),
            (&root, "ClearUplink", vec![]),
        ];
        for (path, m, args) in &refused {
            let out = gdbus_call(user, path, &method(m), args).await.failed();
            assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{m}: {out}");
            assert!(
                out.stderr.contains(actions::CONFIGURE_HOST),
                "{m}: the error names configure-host: {out}"
            );
        }
        assert_eq!(
            brief_links(ROOT_NS_NAME).await,
            links_before,
            "rootns changed"
        );
        assert!(ip_link("ch-a", "chv0").await.is_none());

        // Granted configure-host too, rootns is the user's to configure.
        let _rule2 = PolkitRules::install(
            "50-user-configure-host",
            &grant(&[actions::CONFIGURE_HOST], &[PLAIN_USER]),
        );
        wait_polkit(PLAIN_UID, actions::CONFIGURE_HOST, true).await;
        gdbus_call(
            user,
            &root,
            &method("AddBridge"),
            &["'chbr1'".into(), "@a{sv} {}".into()],
        )
        .await
        .ok();
        assert!(ip_link(ROOT_NS_NAME, "chbr1").await.is_some());
        ip(&["link", "del", "chbr1"]).await.ok();
    })
    .await
}

// ---------------------------------------------------------------------------
// Item 11: an Update that moves the server drops the stored secrets

fn password_profile(remote: &str) -> VpnProfile {
    VpnProfile {
        id: "corp-pw".into(),
        uuid: new_uuid(),
        service_type: Some(OPENVPN_SERVICE.into()),
        data: Default::default(),
        secrets: Default::default(),
        connection: Vec::new(),
    }
    .data("connection-type", "password")
    .data("remote", remote)
    .data("username", "alice")
    .data("ca", "/etc/ssl/certs/ca.pem")
    .data("password-flags", "0")
}

/// The settings of `p` (without secrets) as GVariant text for gdbus.
fn gvariant_settings(p: &VpnProfile) -> String {
    let map = |m: &std::collections::BTreeMap<String, String>| {
        let items: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{}: {}", gvariant_str(k), gvariant_str(v)))
            .collect();
        format!("@a{{ss}} {{{}}}", items.join(", "))
    };
    let mut vpn = format!(
        "'service-type': <{}>, 'data': <{}>",
        gvariant_str(p.service_type.as_deref().unwrap()),
        map(&p.data)
    );
    if !p.secrets.is_empty() {
        vpn.push_str(&format!(", 'secrets': <{}>", map(&p.secrets)));
    }
    format!(
        "{{'connection': {{'id': <{}>, 'uuid': <{}>, 'type': <'vpn'>}}, 'vpn': {{{vpn}}}}}",
        gvariant_str(&p.id),
        gvariant_str(&p.uuid)
    )
}

async fn stored_password(conn: &zbus::Connection, path: &str) -> Option<String> {
    let s = connection_proxy(conn, path)
        .await
        .get_secrets("vpn")
        .await
        .expect("GetSecrets as root");
    setting_map(&s, "vpn", "secrets").and_then(|m| m.get("password").cloned())
}

/// nsuser, allowed modify-settings but not read-secrets: an Update that
/// keeps the server keeps the stored password; one that changes the remote,
/// the CA or adds a proxy drops it (GetSecrets and the keyfile have none);
/// one that brings its own password keeps that one. Root moving the server
/// keeps the password (root may read it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_a_profile_to_another_server_drops_its_secrets() {
    let _env = TestEnv::new();
    timed(async {
        clear_connections_dir();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let good = password_profile("vpn.corp.test:1194").secret("password", "hunter2");
        let path = add_connection(&conn, &good).await;
        assert_eq!(
            stored_password(&conn, &path).await.as_deref(),
            Some("hunter2")
        );
        let _rule = PolkitRules::install(
            "50-user-modify",
            &grant(&[actions::MODIFY_SETTINGS], &[PLAIN_USER]),
        );
        wait_polkit(PLAIN_UID, actions::MODIFY_SETTINGS, true).await;
        assert!(!pkcheck(PLAIN_UID, actions::READ_SECRETS).await);
        let update = |p: VpnProfile, uid: Option<u32>| {
            let path = path.clone();
            async move {
                gdbus_call(
                    uid,
                    &path,
                    "net.netnsd.Netns1.Settings.Connection.Update",
                    &[gvariant_settings(&p)],
                )
                .await
                .ok();
            }
        };
        let user = Some(PLAIN_UID);
        let keyfile_has = |s: &str| {
            connection_files()
                .iter()
                .any(|f| std::fs::read_to_string(f).unwrap_or_default().contains(s))
        };

        // Same server, another option: the password stays.
        let same = password_profile("vpn.corp.test:1194").data("mssfix", "1400");
        let same = VpnProfile {
            uuid: good.uuid.clone(),
            ..same
        };
        update(same.clone(), user).await;
        assert_eq!(
            stored_password(&conn, &path).await.as_deref(),
            Some("hunter2")
        );

        // Another server: the password goes, from the bus and the disk.
        let evil = VpnProfile {
            uuid: good.uuid.clone(),
            ..password_profile("evil.example.net:1194")
        };
        update(evil.clone(), user).await;
        assert_eq!(
            stored_password(&conn, &path).await,
            None,
            "the password went along to evil"
        );
        assert!(
            !keyfile_has("hunter2"),
            "the keyfile still holds the password"
        );
        let s = connection_proxy(&conn, &path)
            .await
            .get_settings()
            .await
            .unwrap();
        assert_eq!(
            setting_map(&s, "vpn", "data")
                .unwrap()
                .get("remote")
                .map(String::as_str),
            Some("evil.example.net:1194"),
            "the update itself applies"
        );

        // Root puts it back, with the password.
        update(good.clone(), None).await;
        let with_pw = VpnProfile {
            secrets: good.secrets.clone(),
            ..good.clone()
        };
        update(with_pw, None).await;
        assert_eq!(
            stored_password(&conn, &path).await.as_deref(),
            Some("hunter2")
        );
        // A new CA, or a proxy on the way, count as moving too.
        let bare = |p: VpnProfile| VpnProfile {
            secrets: Default::default(),
            ..p
        };
        update(bare(good.clone().data("ca", "/tmp/evil-ca.pem")), user).await;
        assert_eq!(
            stored_password(&conn, &path).await,
            None,
            "the password went along to another CA"
        );
        update(
            VpnProfile {
                secrets: good.secrets.clone(),
                ..good.clone()
            },
            None,
        )
        .await;
        update(
            bare(
                good.clone()
                    .data("proxy-type", "http")
                    .data("proxy-server", "proxy.evil.example.net"),
            ),
            user,
        )
        .await;
        assert_eq!(
            stored_password(&conn, &path).await,
            None,
            "the password went along through a proxy"
        );

        // Root may read secrets: moving the server keeps them.
        update(
            VpnProfile {
                secrets: good.secrets.clone(),
                ..good.clone()
            },
            None,
        )
        .await;
        update(evil.clone(), None).await;
        assert_eq!(
            stored_password(&conn, &path).await.as_deref(),
            Some("hunter2")
        );

        // The user's own password for the new server is kept.
        update(good.clone(), None).await;
        let own = VpnProfile {
            uuid: good.uuid.clone(),
            ..password_profile("other.example.net:1194").secret("password", "users-own")
        };
        update(own, user).await;
        assert_eq!(
            stored_password(&conn, &path).await.as_deref(),
            Some("users-own")
        );
        clear_connections_dir();
    })
    .await
}

// ---------------------------------------------------------------------------
// Item 10: connection.permissions

/// ActivateConnection over gdbus as `uid`.
async fn gdbus_activate(uid: u32, connection: &str) -> Out {
    gdbus_call(
        Some(uid),
        &rootns_path(),
        &method("ActivateConnection"),
        &[
            gvariant_str(connection),
            gvariant_str("/"),
            gvariant_str("/"),
        ],
    )
    .await
}

async fn gdbus_deactivate(uid: u32, ac: &str) -> Out {
    gdbus_call(
        Some(uid),
        &rootns_path(),
        &method("DeactivateConnection"),
        &[format!("objectpath {}", gvariant_str(ac))],
    )
    .await
}

/// A profile with `permissions=user:nsadmin;` (as NetworkManager writes it
/// in a keyfile), and a rule that lets both nsadmin and nsuser activate
/// and spawn: nsuser is refused activation (PermissionDenied naming the
/// profile; nothing starts), nsadmin activates; nsuser may neither spawn
/// into the isolated namespace nor deactivate; nsadmin may both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_permissions_limit_who_may_use_a_profile() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let profile = rig.profile("corp-alice").isolated("vpnperm");
        let text = profile.keyfile().replace(
            "permissions=\n",
            &format!("permissions=user:{ADMIN_USER};\n"),
        );
        assert!(text.contains("permissions=user:nsadmin;"), "{text}");
        install_keyfile_text("corp-alice", &text);
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = settings_proxy(&conn)
            .await
            .get_connection_by_uuid(&profile.uuid)
            .await
            .expect("the keyfile's connection")
            .to_string();
        let _rule = PolkitRules::install(
            "50-users-vpn",
            &grant(
                &[actions::ACTIVATE_CONNECTION, actions::SPAWN],
                &[ADMIN_USER, PLAIN_USER],
            ),
        );
        wait_polkit(PLAIN_UID, actions::ACTIVATE_CONNECTION, true).await;
        wait_polkit(ADMIN_UID, actions::SPAWN, true).await;

        // nsuser is not listed.
        let out = gdbus_activate(PLAIN_UID, &path).await.failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
        assert!(
            out.stderr.contains("corp-alice"),
            "the error names the profile: {out}"
        );
        assert!(
            rig.foreign_openvpn_pids().is_empty(),
            "openvpn started for nsuser"
        );
        assert!(!ip_netns_list().await.iter().any(|n| n == "vpnperm"));

        // nsadmin is.
        let mut log = StateLog::new(&conn).await;
        let out = gdbus_activate(ADMIN_UID, &path).await.ok();
        let ac = out
            .stdout
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no object path in {out}"))
            .to_owned();
        log.wait_state(&ac, active::ACTIVATED, VPN_UP_TIMEOUT).await;
        let ns = wait_ns_on_bus(&conn, "vpnperm", Duration::from_secs(2)).await;

        // Spawn into its namespace: nsuser refused, nsadmin allowed.
        let s = spawn_as(PLAIN_UID, &ns, &["id", "-u"], &[], "").await;
        match &s.result {
            Err((name, msg)) => {
                assert_eq!(name, DENIED, "{msg}");
                assert!(msg.contains("corp-alice"), "{msg}");
            }
            Ok(pid) => panic!("nsuser spawned pid {pid} into vpnperm: {}", s.out),
        }
        let mut exits = process_exits(&conn, &ns).await;
        let s = spawn_as(ADMIN_UID, &ns, &["/usr/bin/id", "-u"], &[], "").await;
        let pid = s.pid();
        assert_eq!(exit_status_of(&mut exits, pid).await, 0);
        assert_eq!(s.stdout, format!("{ADMIN_UID}\n"));

        // Deactivation: nsuser refused (still up), nsadmin allowed.
        let out = gdbus_deactivate(PLAIN_UID, &ac).await.failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
        assert_eq!(
            active_proxy(&conn, &ac).await.state().await.unwrap(),
            active::ACTIVATED
        );
        gdbus_deactivate(ADMIN_UID, &ac).await.ok();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left_within(&rig.keep(), VPN_DOWN_TIMEOUT).await;
    })
    .await
}

// ---------------------------------------------------------------------------
// Item 8: a VPN isolated into an existing namespace gives its DNS back

fn resolv_of(ns: &str) -> Option<String> {
    std::fs::read_to_string(format!("{NETNS_ETC_DIR}/{ns}/resolv.conf")).ok()
}

/// `keep`: what else the test keeps (namespaces made before).
async fn up_and_down(conn: &zbus::Connection, rig: &OpenVpnRig, keep: Keep, id: &str, ns: &str) {
    let profile = rig.profile(id).isolated(ns);
    let path = add_connection(conn, &profile).await;
    let mut log = StateLog::new(conn).await;
    let ac = activate(conn, &path).await.expect("ActivateConnection");
    log.wait_state(&ac, active::ACTIVATED, VPN_UP_TIMEOUT).await;
    let during = resolv_of(ns).unwrap_or_default();
    assert!(during.contains(CORP_DNS), "the VPN's DNS in {ns}: {during}");
    deactivate(conn, &ac).await.expect("DeactivateConnection");
    log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
    assert_nothing_left_within(&keep.ns(ns), VPN_DOWN_TIMEOUT).await;
}

/// SetDns on a namespace, then a VPN isolated into it comes and goes: the
/// namespace's resolv.conf and DnsServers are what SetDns wrote. The same
/// for an administrator's own /etc/netns/NAME/resolv.conf in a namespace
/// made with `ip netns add`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpn_into_an_existing_namespace_gives_back_its_dns() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;

        let shared = add_ns_ready(&conn, "dns-shared").await;
        let inst = instance(&conn, &shared).await;
        inst.set_dns(&["192.0.2.53"], &["home.test"]).await.unwrap();
        let before = resolv_of("dns-shared").expect("SetDns wrote resolv.conf");
        up_and_down(&conn, &rig, rig.keep(), "corp-shared", "dns-shared").await;
        assert_eq!(
            resolv_of("dns-shared").as_deref(),
            Some(before.as_str()),
            "the namespace's DNS was not given back"
        );
        assert_eq!(
            inst.dns_servers().await.unwrap(),
            vec!["192.0.2.53".to_owned()]
        );
        assert!(ip_netns_list().await.iter().any(|n| n == "dns-shared"));

        // An administrator's own files, not netnsd's.
        ip(&["netns", "add", "dns-hand"]).await.ok();
        wait_ns_on_bus(&conn, "dns-hand", WATCH_TIMEOUT).await;
        let dir = format!("{NETNS_ETC_DIR}/dns-hand");
        std::fs::create_dir_all(&dir).unwrap();
        let own = "# mine\nnameserver 198.51.100.53\n";
        std::fs::write(format!("{dir}/resolv.conf"), own).unwrap();
        up_and_down(
            &conn,
            &rig,
            rig.keep().ns("dns-shared"),
            "corp-hand",
            "dns-hand",
        )
        .await;
        assert_eq!(resolv_of("dns-hand").as_deref(), Some(own));
        assert!(!std::path::Path::new(&format!("{dir}/hosts")).exists());
        ip(&["netns", "del", "dns-hand"]).await.ok();
    })
    .await
}

// ---------------------------------------------------------------------------
// Item 9: /etc/resolv.conf → /run/systemd/resolve/stub-resolv.conf

/// /etc/resolv.conf made a link to systemd-resolved's stub file, as on
/// Ubuntu and Fedora; put back on drop.
struct ResolvedLink {
    before: Vec<u8>,
}

impl ResolvedLink {
    fn install() -> ResolvedLink {
        let before = std::fs::read("/etc/resolv.conf").expect("/etc/resolv.conf");
        let _ = std::fs::remove_file("/etc/resolv.conf");
        std::os::unix::fs::symlink(
            "../run/systemd/resolve/stub-resolv.conf",
            "/etc/resolv.conf",
        )
        .expect("symlink /etc/resolv.conf");
        ResolvedLink { before }
    }
}

impl Drop for ResolvedLink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file("/etc/resolv.conf");
        let _ = std::fs::write("/etc/resolv.conf", &self.before);
    }
}

/// With /etc/resolv.conf a link into /run/systemd/resolve (whose resolver
/// socket Spawn hides), a spawned program reads the namespace's
/// resolv.conf, not a dangling link — also when the stub file is missing
/// (resolved not running); the socket stays hidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_sees_the_namespaces_resolv_conf_through_resolveds_link() {
    let _env = TestEnv::new();
    timed(async {
        let _resolvers = FakeResolvers::install();
        std::fs::write(
            format!("{RESOLVED_DIR}/stub-resolv.conf"),
            "nameserver 127.0.0.53\noptions edns0 trust-ad\n",
        )
        .unwrap();
        let _link = ResolvedLink::install();
        assert!(
            std::fs::read_to_string("/etc/resolv.conf")
                .unwrap()
                .contains("127.0.0.53")
        );
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let _rule = PolkitRules::install("50-spawn-nobody", &grant_nobody_rule(actions::SPAWN));
        wait_polkit(NOBODY_UID, actions::SPAWN, true).await;
        let path = add_ns_ready(&conn, "rl-app").await;
        instance(&conn, &path)
            .await
            .set_dns(&["192.0.2.53"], &["inside.test"])
            .await
            .unwrap();
        let own = resolv_of("rl-app").unwrap();
        let mut exits = process_exits(&conn, &path).await;
        let env = [("PATH", "/usr/bin:/bin")];

        for round in ["stub present", "stub missing"] {
            let s = spawn_as(
                NOBODY_UID,
                &path,
                &[
                    "sh",
                    "-c",
                    "cat /etc/resolv.conf; test -e /run/systemd/resolve/io.systemd.Resolve && echo LEAK",
                ],
                &env,
                "",
            )
            .await;
            let pid = s.pid();
            exit_status_of(&mut exits, pid).await;
            assert_eq!(s.stdout, own, "{round}: cat /etc/resolv.conf inside: {}", s.out);
            let _ = std::fs::remove_file(format!("{RESOLVED_DIR}/stub-resolv.conf"));
        }
        // Outside, nothing changed.
        assert!(
            std::fs::symlink_metadata("/etc/resolv.conf")
                .unwrap()
                .file_type()
                .is_symlink()
        );
    })
    .await
}
