//! NetworkManager's VPN plugins hosted by netnsd (issue 17), against real
//! servers in the sandbox: strongSwan's charon in `wan` (kernel-libipsec,
//! swanctl; tests/src/ipsec.rs) behind which the OpenVPN rig's corp
//! network sits, and NetworkManager's strongSwan plugin (charon-nm, run by
//! `netnsd --vpn-plugin-host`) on the client side. The tunnel that carries
//! the traffic (libipsec's TUN device) is taken into the isolated
//! namespace; a capture on the uplink shows only IKE and ESP-in-UDP.

use std::collections::BTreeSet;
use std::time::Duration;

use netnsd_api::Error;
use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::ipsec::*;
use netnsd_tests::openvpn::*;
use netnsd_tests::secret_agent::*;
use netnsd_tests::vpnpeers::*;
use netnsd_tests::*;

/// What must hold while an IPsec connection isolated in `ns` is up: `ns`
/// holds only lo and one TUN device with a virtual IP from the pool; the
/// intranet answers by name from `ns` (DNS from the responder). Returns
/// the tunnel's name. (That rootns still cannot reach corp is checked by
/// the callers, outside any capture: its probes go out by the uplink.)
async fn assert_ipsec_up(gw: &StrongSwanGw, daemon: &Daemon, ns: &str) -> String {
    let links = brief_links(ns).await;
    let tuns = links_of_kinds(ns, &["tun"]).await;
    assert_eq!(
        tuns.len(),
        1,
        "one tun in {ns}: {links:?}\n{}",
        daemon.log_text()
    );
    let tun = tuns[0].clone();
    assert_eq!(
        links.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["lo".to_owned(), tun.clone()]),
        "{ns} must hold only lo and the tunnel"
    );
    let addrs = ip_addrs(ns, &tun).await;
    assert!(
        addrs.iter().any(|a| a.starts_with(IPSEC_POOL_PREFIX)),
        "{tun} lacks a virtual IP from the pool: {addrs:?}"
    );
    let resolv = std::fs::read_to_string(format!("/etc/netns/{ns}/resolv.conf")).unwrap();
    assert!(resolv.contains(CORP_DNS), "{resolv}");
    let out = curl_in(ns, &intranet_url(), 10).await;
    assert!(
        out.stdout.contains(INTRANET_TOKEN),
        "the intranet by name from {ns}: {out}\n{}\n{}",
        gw.log_text(),
        daemon.log_text()
    );
    tun
}

fn keep(rig: &OpenVpnRig, gw: &StrongSwanGw) -> Keep {
    gw.pids().into_iter().fold(rig.keep(), |k, p| k.pid(p))
}

/// Nothing of the plugin is left: no charon-nm, no plugin host.
fn assert_no_plugin_left() {
    let left = processes_of(CHARON_NM_BIN);
    assert!(left.is_empty(), "charon-nm left: {left:?}");
    let hosts = processes_mentioning("--vpn-plugin-host");
    assert!(hosts.is_empty(), "plugin hosts left: {hosts:?}");
}

/// An IPsec profile as NetworkManager-strongswan writes it (PSK), isolated:
/// activated, the libipsec tunnel in the namespace with its virtual IP and
/// DNS, the intranet answering by name, only UDP 500/4500 on the uplink;
/// deactivation leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_psk_isolated_only_ike_on_the_wire_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let profile = gw.psk_profile("corp-ipsec").isolated("ipsec1");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let capture = Capture::start(RIG_HOST_IF, &gw.dir.join("uplink.pcap")).await;
        let t0 = std::time::Instant::now();
        let ac = activate_until_up(&conn, &mut log, &path).await;
        eprintln!("IPsec (PSK) activation took {:?}", t0.elapsed());
        let tun = assert_ipsec_up(&gw, &daemon, "ipsec1").await;
        eprintln!("the tunnel in ipsec1: {tun}");
        // More traffic through the tunnel, by address too.
        let out = curl_in("ipsec1", &intranet_url_by_addr(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        let packets = capture.stop().await;
        rig.assert_rootns_cut_off().await;
        // Every IP packet, less the link's own link-scope multicast
        // housekeeping (IPv6 MLD and router solicitations to ff02::, IGMP
        // to 224.0.0.x from the responder's side): no unicast but IKE.
        let ip: Vec<&String> = packets
            .iter()
            .filter(|l| l.contains(" IP"))
            .filter(|l| !l.contains(" > ff02::"))
            .filter(|l| !(l.contains(" > 224.0.0.") && l.ends_with("igmp")))
            .collect();
        let leaks: Vec<&&String> = ip
            .iter()
            .filter(|l| {
                let ike = |port: &str| {
                    l.contains(&format!("{SERVER_ADDR}.{port}:"))
                        || l.contains(&format!("{SERVER_ADDR}.{port} "))
                };
                !(l.contains("UDP") && (ike("500") || ike("4500")))
            })
            .collect();
        assert!(
            leaks.is_empty(),
            "the uplink carried more than IKE/ESP-in-UDP: {leaks:#?}"
        );
        let esp = ip.iter().filter(|l| l.contains(".4500")).count();
        assert!(esp >= 4, "no ESP-in-UDP seen on the uplink: {packets:#?}");
        eprintln!("capture: {} IP packets, {esp} on 4500, none else", ip.len());
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        drop(daemon);
        drop(gw);
    })
    .await
}

/// EAP (user and password) against the responder's certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_eap_isolated_reaches_the_intranet() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let profile = gw.eap_profile("corp-ipsec-eap").isolated("ipsec2");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_ipsec_up(&gw, &daemon, "ipsec2").await;
        rig.assert_rootns_cut_off().await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        drop(daemon);
        drop(gw);
    })
    .await
}

/// Certificate authentication (`method=cert`, the client's certificate
/// and key made by the rig, signed by the responder's CA): no secret is
/// asked, the responder takes it on its `cert` connection, the connection
/// comes up isolated and leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_cert_isolated_reaches_the_intranet() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let profile = gw.cert_profile("corp-ipsec-cert").isolated("ipsec6");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_ipsec_up(&gw, &daemon, "ipsec6").await;
        let vpn_states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
        assert!(
            !vpn_states.contains(&vpn::NEED_AUTH),
            "nothing to ask: {}",
            log.describe()
        );
        let gw_log = gw.log_text();
        assert!(
            gw_log.contains("IKE_SA cert[") && gw_log.contains(CERT_CLIENT_DN),
            "the responder's cert connection took the client's certificate:\n{gw_log}"
        );
        rig.assert_rootns_cut_off().await;
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        drop(daemon);
        drop(gw);
    })
    .await
}

/// Certificate authentication with an encrypted key. Its passphrase
/// (`password`) neither stored nor given to an agent (flags 0): charon-nm's
/// NeedSecrets asks for it, and the connection fails with no-secrets,
/// leaving nothing. Given to the agent (`password-flags=1`): nsadmin's
/// agent is asked for it, and charon-nm opens the key with the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_cert_key_passphrase_missing_or_from_the_agent() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let mut log = StateLog::new(&conn).await;

        let missing = gw
            .cert_profile_encrypted_key("corp-ipsec-key-missing")
            .isolated("ipsec7");
        let path = add_connection(&conn, &missing).await;
        let ac = activate(&conn, &path).await.unwrap();
        log.wait_deactivated(&ac, VPN_UP_TIMEOUT).await;
        assert_eq!(
            log.states(&ac, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::NO_SECRETS)),
            "{}\n{}",
            log.describe(),
            daemon.log_text()
        );
        assert!(
            daemon.log_text().contains("no secret agent gave"),
            "{}",
            daemon.log_text()
        );
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();

        let agent_owned = gw
            .cert_profile_encrypted_key("corp-ipsec-key-agent")
            .data("password-flags", "1")
            .isolated("ipsec8");
        let path = add_connection(&conn, &agent_owned).await;
        let agent = ScriptedAgent::start(
            ADMIN_UID,
            "test.plugin",
            &format!("answer:{CERT_KEY_PASSPHRASE}"),
        )
        .await;
        let ac = activate_with_agent(&mut log, &path, &agent, &daemon).await;
        assert!(
            agent.calls().contains(&format!(
                "GetSecrets corp-ipsec-key-agent {path} vpn password 5"
            )),
            "{}",
            agent.calls()
        );
        assert_ipsec_up(&gw, &daemon, "ipsec8").await;
        assert_not_saved(CERT_KEY_PASSPHRASE);
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        agent.stop().await;
        drop(daemon);
        drop(gw);
    })
    .await
}

/// charon-nm killed while the connection is up: the connection fails
/// (service-stopped, as NetworkManager says of a VPN service that went)
/// and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_charon_nm_fails_the_connection_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let profile = gw.psk_profile("corp-ipsec-dies").isolated("ipsec3");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        let plugins = processes_of(CHARON_NM_BIN);
        assert_eq!(plugins.len(), 1, "one charon-nm: {plugins:?}");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(plugins[0].0 as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_eq!(
            log.states(&ac, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::SERVICE_STOPPED)),
            "{}\n{}",
            log.describe(),
            daemon.log_text()
        );
        assert_eq!(
            log.states(&ac, Sig::Vpn).last().copied(),
            Some((vpn::FAILED, reason::SERVICE_STOPPED)),
            "{}",
            log.describe()
        );
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        drop(daemon);
        drop(gw);
    })
    .await
}

/// A second plugin end to end: NetworkManager-vpnc (nm-vpnc-service
/// running vpnc, whose tun device it names in Config) against the
/// responder's IKEv1 aggressive mode with XAuth, isolated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpnc_isolated_reaches_the_intranet_and_cleans_up() {
    let _env = TestEnv::new();
    timed(async {
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let profile = gw.vpnc_profile("corp-vpnc").isolated("vpnc1");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_until_up(&conn, &mut log, &path).await;
        assert_ipsec_up(&gw, &daemon, "vpnc1").await;
        rig.assert_rootns_cut_off().await;
        let services = processes_of(NM_VPNC_BIN);
        assert_eq!(services.len(), 1, "one nm-vpnc-service: {services:?}");
        assert!(
            services[0]
                .1
                .contains("--bus-name org.freedesktop.NetworkManager.vpnc.Connection_"),
            "{}",
            services[0].1
        );
        deactivate_until_down(&conn, &mut log, &ac).await;
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        let left: Vec<_> = processes_of(NM_VPNC_BIN)
            .into_iter()
            .chain(processes_of(VPNC_BIN))
            .collect();
        assert!(left.is_empty(), "vpnc left: {left:?}");
        drop(daemon);
        drop(gw);
    })
    .await
}

/// nsadmin may activate (the user whose agent is asked).
async fn admins_may_activate() -> PolkitRules {
    let rules = PolkitRules::install("50-plugin-agents", GRANT_ADMINS_RULE);
    wait_polkit(ADMIN_UID, netnsd_api::actions::ACTIVATE_CONNECTION, true).await;
    rules
}

/// ActivateConnection as nsadmin, whose `agent` is to answer: waits until
/// it is up, having gone prepare → need-auth → connect; its path.
async fn activate_with_agent(
    log: &mut StateLog,
    path: &str,
    agent: &ScriptedAgent,
    daemon: &Daemon,
) -> String {
    let ac = activate_as_admin(path).await;
    log.wait(&ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
        ev.iter().any(|e| {
            e.sig == Sig::State && (e.state == active::ACTIVATED || e.state == active::DEACTIVATED)
        })
    })
    .await;
    assert_eq!(
        log.states(&ac, Sig::State).last().map(|s| s.0),
        Some(active::ACTIVATED),
        "{}\nagent: {}\n{}",
        log.describe(),
        agent.calls(),
        daemon.log_text()
    );
    let vpn_states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
    assert!(
        in_order(&vpn_states, &[vpn::PREPARE, vpn::NEED_AUTH, vpn::CONNECT]),
        "VpnState must go prepare → need-auth → connect: {}",
        log.describe()
    );
    ac
}

/// The profile's saved connection files hold none of `secret`.
fn assert_not_saved(secret: &str) {
    let stored = std::fs::read_dir(CONNECTIONS_DIR)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert!(!stored.contains(secret), "the secret was saved: {stored}");
}

/// An EAP profile as NetworkManager-strongswan's editor writes it when the
/// password belongs to the user's agent: `password-flags=1`, none stored.
fn agent_owned_eap(gw: &StrongSwanGw, id: &str) -> VpnProfile {
    let mut p = gw.eap_profile(id).data("password-flags", "1");
    p.secrets.clear();
    p
}

/// Brings `profile` up with nsadmin's scripted agent answering `answer`:
/// the agent must be asked with hints starting `asked` (as its log shows
/// them, after the profile's id and path; flags 5), the tunnel must work in `ns`, the answer is
/// never saved, and nothing is left after deactivation.
async fn up_with_the_agents_answer(
    rig: &OpenVpnRig,
    gw: &StrongSwanGw,
    profile: &VpnProfile,
    answer: &str,
    asked: &str,
    ns: &str,
) {
    up_with_an_agent(rig, gw, profile, answer, asked, ns, None).await
}

/// [`up_with_the_agents_answer`] with an agent registered with these
/// capabilities.
async fn up_with_an_agent(
    rig: &OpenVpnRig,
    gw: &StrongSwanGw,
    profile: &VpnProfile,
    answer: &str,
    asked: &str,
    ns: &str,
    capabilities: Option<u32>,
) {
    let daemon = Daemon::start().await;
    let conn = system_conn().await;
    let path = add_connection(&conn, profile).await;
    let agent = ScriptedAgent::start_with(
        ADMIN_UID,
        "test.plugin",
        &format!("answer:{answer}"),
        capabilities,
    )
    .await;
    let mut log = StateLog::new(&conn).await;
    let ac = activate_with_agent(&mut log, &path, &agent, &daemon).await;
    let calls = agent.calls();
    let line = format!("GetSecrets {} {path} vpn {asked}", profile.id);
    assert!(
        calls
            .lines()
            .any(|l| l.starts_with(&line) && l.ends_with(" 5")),
        "nsadmin's agent was asked for vpn.secrets with hints {asked:?} and flags \
         ALLOW_INTERACTION|USER_REQUESTED: {calls}"
    );
    assert_ipsec_up(gw, &daemon, ns).await;
    assert_not_saved(answer);
    deactivate_until_down(&conn, &mut log, &ac).await;
    assert_nothing_left(&keep(rig, gw)).await;
    assert_no_plugin_left();
    agent.stop().await;
    drop(daemon);
}

/// The password of an agent-owned EAP profile comes from the activating
/// user's agent (need-auth meanwhile, asked for vpn.secrets.password), is
/// handed to charon-nm in Connect, and the connection comes up isolated;
/// the password is never saved; nothing is left after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_eap_password_from_the_users_agent() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let profile = agent_owned_eap(&gw, "corp-ipsec-agent").isolated("ipsec4");
        up_with_the_agents_answer(&rig, &gw, &profile, EAP_PASSWORD, "password", "ipsec4").await;
        drop(gw);
    })
    .await
}

/// The second plugin's secrets from the agent too: a vpnc profile whose
/// XAuth password belongs to the agent (`Xauth password-flags=1`, the
/// group secret stored) asks for `Xauth password` only, and comes up
/// isolated with the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpnc_xauth_password_from_the_users_agent() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let mut profile = gw
            .vpnc_profile("corp-vpnc-agent")
            .data("Xauth password-flags", "1")
            .isolated("vpnc2");
        profile.secrets.remove("Xauth password");
        up_with_the_agents_answer(
            &rig,
            &gw,
            &profile,
            VPNC_PASSWORD,
            "Xauth password",
            "vpnc2",
        )
        .await;
        drop(gw);
    })
    .await
}

/// The user's agent refuses: the activation waits in need-auth, then ends
/// with no-secrets; no plugin was started and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_agent_refusal_is_no_secrets_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = VpnProfile {
            id: "corp-ipsec-refused".into(),
            uuid: new_uuid(),
            service_type: Some(STRONGSWAN_SERVICE.into()),
            data: Default::default(),
            secrets: Default::default(),
            connection: Vec::new(),
        }
        .data("address", SERVER_ADDR)
        .data("virtual", "yes")
        .data("method", "eap")
        .data("user", EAP_USER)
        .data("password-flags", "1")
        .isolated("ipsec5");
        let path = add_connection(&conn, &profile).await;
        let agent = ScriptedAgent::start(ADMIN_UID, "test.plugin", "refuse").await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_as_admin(&path).await;
        log.wait_deactivated(&ac, Duration::from_secs(15)).await;
        let vpn_states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
        assert!(vpn_states.contains(&vpn::NEED_AUTH), "{}", log.describe());
        assert_eq!(
            log.states(&ac, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::NO_SECRETS)),
            "{}\n{}",
            log.describe(),
            daemon.log_text()
        );
        assert_eq!(
            log.states(&ac, Sig::Vpn).last().copied(),
            Some((vpn::FAILED, reason::NO_SECRETS)),
            "{}",
            log.describe()
        );
        assert!(
            agent.calls().contains("GetSecrets corp-ipsec-refused"),
            "{}",
            agent.calls()
        );
        assert!(
            !daemon.log_text().contains("plugin host: started"),
            "the plugin was started though the agent refused:\n{}",
            daemon.log_text()
        );
        assert_nothing_left(&Keep::nothing()).await;
        assert_no_plugin_left();
        agent.stop().await;
    })
    .await
}

/// NetworkManager's NeedSecrets round: an EAP profile whose password has
/// flags 0 and is not stored is not asked before the launch; charon-nm's
/// NeedSecrets names "vpn", the host asks the daemon, nsadmin's agent is
/// asked (no hints, flags 5; need-auth meanwhile), NeedSecrets is content
/// with the answer and the connection comes up isolated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipsec_need_secrets_asks_the_users_agent() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let mut profile = gw
            .eap_profile("corp-ipsec-need")
            .data("password-flags", "0")
            .isolated("ipsec9");
        profile.secrets.clear();
        // No hints: the agent's log shows "vpn " then the flags.
        up_with_the_agents_answer(&rig, &gw, &profile, EAP_PASSWORD, " ", "ipsec9").await;
        drop(gw);
    })
    .await
}

/// vpnc with the XAuth password neither stored nor to be asked before
/// (`Xauth password-flags=4`, as a profile whose password is typed when
/// the server asks): NeedSecrets is content, the host calls
/// ConnectInteractive, vpnc asks for the password, nm-vpnc-service emits
/// SecretsRequired, and nsadmin's agent is asked with the secret's name
/// and NetworkManager's `x-vpn-message:` hint carrying vpnc's prompt; its
/// answer goes to the plugin in NewSecrets and the connection comes up
/// isolated. Nothing is saved or left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpnc_secrets_required_asks_the_users_agent_with_the_message() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let mut profile = gw
            .vpnc_profile("corp-vpnc-ask")
            .data("Xauth password-flags", "4")
            .isolated("vpnc3");
        profile.secrets.remove("Xauth password");
        up_with_an_agent(
            &rig,
            &gw,
            &profile,
            VPNC_PASSWORD,
            "Xauth password,x-vpn-message:Enter password for ",
            "vpnc3",
            Some(VPN_HINTS),
        )
        .await;
        drop(gw);
    })
    .await
}

/// The user's agent refuses what vpnc asks for in ConnectInteractive: the
/// connection, in need-auth meanwhile, fails with no-secrets; the plugin
/// and vpnc are stopped and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vpnc_secrets_required_refused_is_no_secrets_and_leaves_nothing() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let mut profile = gw
            .vpnc_profile("corp-vpnc-refused")
            .data("Xauth password-flags", "4")
            .isolated("vpnc4");
        profile.secrets.remove("Xauth password");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let agent =
            ScriptedAgent::start_with(ADMIN_UID, "test.plugin", "refuse", Some(VPN_HINTS)).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_as_admin(&path).await;
        log.wait_deactivated(&ac, VPN_UP_TIMEOUT).await;
        let vpn_states: Vec<u32> = log.states(&ac, Sig::Vpn).iter().map(|s| s.0).collect();
        assert!(
            in_order(&vpn_states, &[vpn::CONNECT, vpn::NEED_AUTH]),
            "need-auth while the agent was asked: {}",
            log.describe()
        );
        assert_eq!(
            log.states(&ac, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::NO_SECRETS)),
            "{}\nagent: {}\n{}",
            log.describe(),
            agent.calls(),
            daemon.log_text()
        );
        assert!(
            agent.calls().contains("GetSecrets corp-vpnc-refused"),
            "{}",
            agent.calls()
        );
        assert!(
            agent.calls().contains("x-vpn-message:"),
            "{}",
            agent.calls()
        );
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        let left: Vec<_> = processes_of(NM_VPNC_BIN)
            .into_iter()
            .chain(processes_of(VPNC_BIN))
            .collect();
        assert!(left.is_empty(), "vpnc left: {left:?}");
        agent.stop().await;
        drop(daemon);
        drop(gw);
    })
    .await
}

/// NetworkManager's NMSecretAgentCapabilities VPN_HINTS.
const VPN_HINTS: u32 = 0x1;

/// As NetworkManager: ConnectInteractive only when every agent of the
/// activating user has VPN hints. nsadmin's agent registered with Register
/// (no capabilities): the plugin gets Connect, so vpnc (non-interactive)
/// cannot ask for the XAuth password that nobody stores; the connection
/// fails, the agent is never asked, and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_vpn_hints_the_plugin_gets_connect_not_interactive() {
    let _env = TestEnv::new();
    timed(async {
        let _rules = admins_may_activate().await;
        let rig = OpenVpnRig::start().await;
        let gw = StrongSwanGw::start(&rig).await;
        let mut profile = gw
            .vpnc_profile("corp-vpnc-nohints")
            .data("Xauth password-flags", "4")
            .isolated("vpnc5");
        profile.secrets.remove("Xauth password");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &profile).await;
        let agent =
            ScriptedAgent::start(ADMIN_UID, "test.plugin", &format!("answer:{VPNC_PASSWORD}"))
                .await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_as_admin(&path).await;
        log.wait_deactivated(&ac, VPN_UP_TIMEOUT).await;
        assert!(
            daemon
                .log_text()
                .contains("Connect, not ConnectInteractive"),
            "{}",
            daemon.log_text()
        );
        assert!(
            !agent.calls().contains("GetSecrets"),
            "the agent without VPN hints was asked: {}",
            agent.calls()
        );
        assert!(
            !log.states(&ac, Sig::State)
                .iter()
                .any(|s| s.0 == active::ACTIVATED),
            "{}",
            log.describe()
        );
        assert_nothing_left(&keep(&rig, &gw)).await;
        assert_no_plugin_left();
        agent.stop().await;
        drop(daemon);
        drop(gw);
    })
    .await
}

/// A VPN type with neither a built-in engine nor an installed plugin:
/// NotSupported naming the Debian package, and nothing made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_plugin_is_not_supported_naming_the_package() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = VpnProfile {
            id: "l2tp-work".into(),
            uuid: new_uuid(),
            service_type: Some("org.freedesktop.NetworkManager.l2tp".into()),
            data: Default::default(),
            secrets: Default::default(),
            connection: Vec::new(),
        }
        .data("gateway", SERVER_ADDR)
        .isolated("l2tp1");
        let path = add_connection(&conn, &profile).await;
        match activate(&conn, &path).await {
            Err(Error::NotSupported(m)) => {
                assert!(m.contains("network-manager-l2tp"), "{m}")
            }
            other => panic!("{other:?}\n{}", daemon.log_text()),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
