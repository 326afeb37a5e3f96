//! Secret agents (issue 14) against the real OpenVPN rig: a profile whose
//! password belongs to an agent (`password-flags=1`, as `nmcli connection
//! import type openvpn` writes it) is activated by nsadmin; the daemon
//! waits in need-auth and asks nsadmin's agent — a python3-dbus script
//! running as nsadmin on the sandbox's bus, exporting
//! net.netnsd.Netns1.SecretAgent — never another user's. Its answer brings
//! the VPN up (traffic to the intranet); no agent, a refusal or a timeout
//! fail the activation with no-secrets and leave nothing; deactivating
//! while it waits sends CancelGetSecrets; an agent that leaves the bus is
//! unregistered.

use std::path::Path;
use std::time::{Duration, Instant};

use netnsd_api::state::{active, reason, vpn};
use netnsd_tests::openvpn::*;
use netnsd_tests::secret_agent::{AGENT_PY, ScriptedAgent, activate_as_admin};
use netnsd_tests::*;

const DIR: &str = "/run/netnsd-tests-agents";

const USER: &str = "alice";
const PASSWORD: &str = "agent-horse-9Zk";

/// nsadmin (netns-admins) may activate; the rig with user and password.
async fn setup() -> (OpenVpnRig, PolkitRules) {
    let rig = OpenVpnRig::start_with(RigOptions {
        user_pass: Some((USER.into(), PASSWORD.into())),
        ..RigOptions::default()
    })
    .await;
    let rules = PolkitRules::install("50-agents-admins", GRANT_ADMINS_RULE);
    wait_polkit(ADMIN_UID, netnsd_api::actions::ACTIVATE_CONNECTION, true).await;
    (rig, rules)
}

/// The profile as `nmcli connection import type openvpn` writes it for a
/// configuration with auth-user-pass: the user name in vpn.data, the
/// password agent-owned (password-flags=1) and not stored.
fn agent_owned(rig: &OpenVpnRig, id: &str, ns: &str) -> VpnProfile {
    rig.profile(id).isolated(ns).data("password-flags", "1")
}

fn vpn_states(log: &StateLog, ac: &str) -> Vec<u32> {
    log.states(ac, Sig::Vpn).iter().map(|s| s.0).collect()
}

/// The activation ends deactivated with no-secrets, having waited in
/// need-auth, and leaves nothing.
async fn assert_no_secrets(log: &mut StateLog, ac: &str, rig: &OpenVpnRig) {
    log.wait_deactivated(ac, Duration::from_secs(15)).await;
    assert!(
        vpn_states(log, ac).contains(&vpn::NEED_AUTH),
        "{}",
        log.describe()
    );
    assert_eq!(
        log.states(ac, Sig::State).last().copied(),
        Some((active::DEACTIVATED, reason::NO_SECRETS)),
        "{}",
        log.describe()
    );
    assert_eq!(
        log.states(ac, Sig::Vpn).last().copied(),
        Some((vpn::FAILED, reason::NO_SECRETS)),
        "{}",
        log.describe()
    );
    assert!(rig.foreign_openvpn_pids().is_empty());
    assert_nothing_left(&rig.keep()).await;
}

/// The agent of the user who activates is asked (need-auth meanwhile), its
/// password brings the VPN up, another user's agent is never asked; once
/// the agent has left the bus it is unregistered, and the next activation
/// fails at once with no-secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_owned_password_comes_from_the_users_agent() {
    let _env = TestEnv::new();
    timed(async {
        let (rig, _rules) = setup().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &agent_owned(&rig, "corp-agent", "vpnagent")).await;

        let other = ScriptedAgent::start(PLAIN_UID, "test.agent", "answer:wrong").await;
        let agent = ScriptedAgent::start(ADMIN_UID, "test.agent", &format!("answer:{PASSWORD}")).await;
        let mut log = StateLog::new(&conn).await;
        let ac = activate_as_admin(&path).await;
        log.wait(&ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
            ev.iter().any(|e| {
                e.sig == Sig::State
                    && (e.state == active::ACTIVATED || e.state == active::DEACTIVATED)
            })
        })
        .await;
        assert_eq!(
            log.states(&ac, Sig::State).last().map(|s| s.0),
            Some(active::ACTIVATED),
            "{}\nagent: {}",
            log.describe(),
            agent.calls()
        );
        assert!(
            in_order(
                &vpn_states(&log, &ac),
                &[vpn::PREPARE, vpn::NEED_AUTH, vpn::CONNECT, vpn::IP_CONFIG_GET]
            ),
            "VpnState must go prepare → need-auth → connect → ip-config-get: {}",
            log.describe()
        );
        let calls = agent.calls();
        assert!(
            calls.contains(&format!("GetSecrets corp-agent {path} vpn password 5")),
            "nsadmin's agent was asked for vpn.secrets.password (flags allow-interaction | user-requested): {calls}"
        );
        assert!(
            !other.calls().contains("GetSecrets"),
            "another user's agent was asked: {}",
            other.calls()
        );
        let out = curl_in("vpnagent", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        // The password is not saved with the profile.
        let stored = std::fs::read_dir(CONNECTIONS_DIR)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .collect::<String>();
        assert!(!stored.contains(PASSWORD), "{stored}");
        deactivate(&conn, &ac).await.unwrap();
        log.wait_deactivated(&ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left(&rig.keep()).await;

        // The agent leaves the bus: it is no longer asked; with no agent of
        // nsadmin's left the activation fails at once.
        agent.stop().await;
        wait_for(Duration::from_secs(5), "the agent unregistered", || {
            let text = daemon.log_text();
            async move { text.contains("secret agent left the bus").then_some(()) }
        })
        .await;
        let started = Instant::now();
        let ac = activate_as_admin(&path).await;
        assert_no_secrets(&mut log, &ac, &rig).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no agent must fail quickly, took {:?}",
            started.elapsed()
        );
        assert!(!other.calls().contains("GetSecrets"), "{}", other.calls());
        // Its identifier is free again for nsadmin (one per uid and identifier).
        ScriptedAgent::start(ADMIN_UID, "test.agent", "refuse")
            .await
            .stop()
            .await;
        other.stop().await;
    })
    .await
}

/// A refusal (UserCanceled) and a timeout (NETNSD_AGENT_TIMEOUT_MS) fail
/// the activation with no-secrets and leave nothing; a deactivation while
/// the agent is asked sends it CancelGetSecrets; a bad identifier is
/// refused as NetworkManager refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusal_timeout_and_cancel() {
    let _env = TestEnv::new();
    timed(async {
        let (rig, _rules) = setup().await;
        let _daemon = Daemon::start_with_env(&[("NETNSD_AGENT_TIMEOUT_MS", "1500")]).await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &agent_owned(&rig, "corp-refuse", "vpnrefuse")).await;
        let mut log = StateLog::new(&conn).await;

        // A bad identifier.
        let bad = start_failing_agent(ADMIN_UID, "a..b").await;
        assert!(
            bad.contains("register-failed net.netnsd.Netns1.Error.InvalidArgument"),
            "{bad}"
        );

        // Refused.
        let agent = ScriptedAgent::start(ADMIN_UID, "test.refuse", "refuse").await;
        let ac = activate_as_admin(&path).await;
        assert_no_secrets(&mut log, &ac, &rig).await;
        assert!(
            agent.calls().contains("GetSecrets corp-refuse"),
            "{}",
            agent.calls()
        );
        agent.stop().await;

        // No answer within the timeout: cancelled, no-secrets.
        let agent = ScriptedAgent::start(ADMIN_UID, "test.hang", "hang").await;
        let started = Instant::now();
        let ac = activate_as_admin(&path).await;
        assert_no_secrets(&mut log, &ac, &rig).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_secs(10),
            "the 1.5 s timeout took {took:?}"
        );
        wait_for(
            Duration::from_secs(5),
            "CancelGetSecrets after the timeout",
            || {
                let calls = agent.calls();
                async move { calls.contains("CancelGetSecrets").then_some(()) }
            },
        )
        .await;

        // Deactivated while asked: CancelGetSecrets, user-disconnected.
        let ac2 = {
            let calls_before = agent.calls().matches("CancelGetSecrets").count();
            let ac = activate_as_admin(&path).await;
            log.wait(&ac, Duration::from_secs(5), "need-auth", |ev| {
                ev.iter()
                    .any(|e| e.sig == Sig::Vpn && e.state == vpn::NEED_AUTH)
            })
            .await;
            deactivate(&conn, &ac).await.unwrap();
            log.wait_deactivated(&ac, Duration::from_secs(5)).await;
            wait_for(
                Duration::from_secs(5),
                "CancelGetSecrets on deactivation",
                || {
                    let n = agent.calls().matches("CancelGetSecrets").count();
                    async move { (n > calls_before).then_some(()) }
                },
            )
            .await;
            ac
        };
        assert_eq!(
            log.states(&ac2, Sig::State).last().copied(),
            Some((active::DEACTIVATED, reason::USER_DISCONNECTED)),
            "{}",
            log.describe()
        );
        assert!(
            agent
                .calls()
                .contains(&format!("CancelGetSecrets {path} vpn")),
            "{}",
            agent.calls()
        );
        assert_nothing_left(&rig.keep()).await;
        agent.stop().await;
    })
    .await
}

/// Starts a scripted agent whose Register must fail; returns its log.
async fn start_failing_agent(uid: u32, identifier: &str) -> String {
    std::fs::create_dir_all(DIR).unwrap();
    let script = Path::new(DIR).join("agent.py");
    std::fs::write(&script, AGENT_PY).unwrap();
    let log = Path::new(DIR).join(format!("bad-{}.log", unique("a")));
    std::fs::write(&log, "").unwrap();
    nix::unistd::chown(&log, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
    let out = as_user(
        uid,
        "/usr/bin/python3",
        &[
            script.display().to_string(),
            identifier.into(),
            "refuse".into(),
            log.display().to_string(),
        ],
    )
    .await;
    assert_eq!(out.code(), Some(3), "{out}");
    std::fs::read_to_string(&log).unwrap_or_default()
}

/// Drives `nsctl ARGS…` at a pseudo-terminal: types ANSWER after the
/// prompt PROMPT; prints everything the terminal showed.
const PTY_PY: &str = r#"
import os, pty, sys, select, time
prompt, answer = sys.argv[1].encode(), sys.argv[2].encode()
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b''
sent = False
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if fd in r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        if not sent and prompt in out:
            time.sleep(0.2)
            os.write(fd, answer + b'\n')
            sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// `nsctl vpn up` at a terminal asks for the agent-owned password, naming
/// the profile and the field, without echo, and the VPN comes up with it;
/// without a terminal nsctl is no agent and the activation fails with
/// no-secrets at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nsctl_vpn_up_asks_at_the_terminal_without_echo() {
    let _env = TestEnv::new();
    timed(async {
        let (rig, _rules) = setup().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_connection(&conn, &agent_owned(&rig, "work", "vpnwork")).await;

        // No terminal: no agent, no-secrets.
        let out = run(&nsctl_bin().display().to_string(), &["vpn", "up", "work"]).await;
        assert_eq!(out.code(), Some(1), "{out}");
        assert!(
            out.stdout.contains("no-secrets") || out.stderr.contains("no-secrets"),
            "{out}"
        );
        assert_nothing_left(&rig.keep()).await;

        std::fs::create_dir_all(DIR).unwrap();
        let script = Path::new(DIR).join("drive_tty.py");
        std::fs::write(&script, PTY_PY).unwrap();
        let prompt = "Password for VPN \"work\" (vpn.secrets.password): ";
        let out = run(
            "/usr/bin/python3",
            &[
                script.display().to_string(),
                prompt.into(),
                PASSWORD.into(),
                nsctl_bin().display().to_string(),
                "vpn".into(),
                "up".into(),
                "work".into(),
            ],
        )
        .await;
        assert!(out.success(), "{out}");
        assert!(out.stdout.contains(prompt), "no prompt: {out}");
        assert!(
            !out.stdout.contains(PASSWORD),
            "the password was echoed: {out}"
        );
        let out = curl_in("vpnwork", &intranet_url(), 10).await;
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        nsctl(None, &["vpn", "down", "work"]).await.ok();
        assert_nothing_left(&rig.keep()).await;
    })
    .await
}

/// `nsctl exec --vpn PROFILE -- CMD` as nsadmin from a state where the VPN
/// is down (a profile with its password stored) brings it up and runs CMD
/// in its namespace; run again while it is up, it just runs. `nsctl
/// desktop-entry` writes a valid menu entry "NAME (PROFILE VPN)" whose Exec
/// line, run as it stands, does the same; `--remove` deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_vpn_brings_the_vpn_up_and_desktop_entries_launch_it() {
    let _env = TestEnv::new();
    timed(async {
        let (rig, _rules) = setup().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let profile = rig
            .profile("work")
            .isolated("vpnexec")
            .secret("password", PASSWORD);
        add_connection(&conn, &profile).await;
        let nsctl_path = nsctl_bin().display().to_string();
        let curl = ["/usr/bin/curl", "-s", "--max-time", "10", &intranet_url()].map(String::from);

        let mut args: Vec<String> = ["exec", "--vpn", "work", "--"].map(String::from).to_vec();
        args.extend(curl.iter().cloned());
        let out = nsctl(Some(ADMIN_UID), &args).await;
        assert!(out.success(), "{out}");
        assert!(out.stdout.contains(INTRANET_TOKEN), "{out}");
        assert!(run_netns_entries().contains(&"vpnexec".to_owned()));
        // Up already: run again, no second activation.
        let out = nsctl(Some(ADMIN_UID), &args).await;
        assert!(
            out.success() && out.stdout.contains(INTRANET_TOKEN),
            "{out}"
        );
        nsctl(None, &["vpn", "down", "work"]).await.ok();
        assert_nothing_left(&rig.keep()).await;

        // The menu entry, in nsadmin's own applications folder.
        let data = Path::new(DIR).join(unique("xdg"));
        std::fs::create_dir_all(&data).unwrap();
        nix::unistd::chown(&data, Some(nix::unistd::Uid::from_raw(ADMIN_UID)), None).unwrap();
        let xdg = format!("XDG_DATA_HOME={}", data.display());
        let mut args: Vec<String> = vec![xdg.clone(), nsctl_path.clone()];
        args.extend(["desktop-entry", "work", "--name", "Intranet Fetch", "--"].map(String::from));
        args.extend(curl.iter().cloned());
        let out = as_user(ADMIN_UID, "env", &args).await.ok();
        let file = data.join("applications/netnsd-work-intranet-fetch.desktop");
        assert_eq!(out.stdout.trim(), file.display().to_string());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("\nName=Intranet Fetch (work VPN)\n"),
            "{text}"
        );
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("Exec="))
            .unwrap_or_else(|| panic!("no Exec line: {text}"));
        let want = format!("{nsctl_path} exec --vpn work -- {}", curl.join(" "));
        assert_eq!(exec, want);
        let out = run("desktop-file-validate", &[file.display().to_string()]).await;
        assert!(out.success() && out.stdout.trim().is_empty(), "{out}");

        // Launched as the menu would (no terminal): the VPN comes up again.
        let words: Vec<&str> = exec.split(' ').collect();
        let out = as_user(ADMIN_UID, words[0], &words[1..]).await;
        assert!(
            out.success() && out.stdout.contains(INTRANET_TOKEN),
            "{out}"
        );
        nsctl(None, &["vpn", "down", "work"]).await.ok();
        assert_nothing_left(&rig.keep()).await;

        let out = as_user(
            ADMIN_UID,
            "env",
            &[
                xdg,
                nsctl_path,
                "desktop-entry".into(),
                "work".into(),
                "--name".into(),
                "Intranet Fetch".into(),
                "--remove".into(),
            ],
        )
        .await
        .ok();
        assert!(out.stdout.contains("removed"), "{out}");
        assert!(!file.exists());
    })
    .await
}

/// As NetworkManager: a profile added with an agent-owned secret
/// (`password-flags=1`) is stored without it, and the secret goes to the
/// caller's agent in SaveSecrets; an Update with a new one does the same;
/// deleting the profile sends DeleteSecrets to the agents. The keyfile
/// never holds the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_owned_secrets_go_to_save_secrets_and_delete_secrets() {
    let _env = TestEnv::new();
    timed(async {
        const FIRST: &str = "kept-by-agent-Q7";
        const SECOND: &str = "kept-by-agent-R8";
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        // Root adds the profile: root's agent keeps its secrets.
        let agent = ScriptedAgent::start(0, "test.keeper", "refuse").await;
        let profile = VpnProfile {
            id: "agent-kept".into(),
            uuid: new_uuid(),
            service_type: Some(netnsd_tests::ipsec::STRONGSWAN_SERVICE.into()),
            data: Default::default(),
            secrets: Default::default(),
            connection: Vec::new(),
        }
        .data("address", SERVER_ADDR)
        .data("method", "eap")
        .data("user", "bob")
        .data("password-flags", "1")
        .secret("password", FIRST);
        let path = add_connection(&conn, &profile).await;
        let saw = |what: String| {
            let calls = agent.calls();
            async move { calls.contains(&what).then_some(()) }
        };
        let line = format!("SaveSecrets agent-kept {path} password={FIRST}");
        wait_for(Duration::from_secs(5), "SaveSecrets", || saw(line.clone())).await;
        let stored = || {
            std::fs::read_dir(CONNECTIONS_DIR)
                .unwrap()
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
                .collect::<String>()
        };
        let text = stored();
        assert!(text.contains("agent-kept"), "{text}");
        assert!(
            !text.contains(FIRST),
            "the agent-owned secret was stored: {text}"
        );

        let mut updated = profile.clone();
        updated.secrets.insert("password".into(), SECOND.into());
        connection_proxy(&conn, &path)
            .await
            .update(settings_arg(&updated.settings()))
            .await
            .unwrap();
        let line = format!("SaveSecrets agent-kept {path} password={SECOND}");
        wait_for(Duration::from_secs(5), "SaveSecrets after Update", || {
            saw(line.clone())
        })
        .await;
        assert!(!stored().contains(SECOND), "{}", stored());

        connection_proxy(&conn, &path).await.delete().await.unwrap();
        let line = format!("DeleteSecrets agent-kept {path}");
        wait_for(
            Duration::from_secs(5),
            "DeleteSecrets",
            || saw(line.clone()),
        )
        .await;
        assert!(!agent.calls().contains("GetSecrets"), "{}", agent.calls());
        agent.stop().await;
        drop(daemon);
    })
    .await
}

/// WireGuard's key too (issue 14 item 1, as NetworkManager): a profile
/// added over the bus (gdbus, NetworkManager's a{sa{sv}}) with
/// `wireguard.private-key-flags=1` is stored without its key, the key goes
/// to root's agent in SaveSecrets as wireguard.private-key, and a delete
/// is DeleteSecrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_owned_wireguard_key_goes_to_save_secrets_not_the_keyfile() {
    let _env = TestEnv::new();
    timed(async {
        const KEY: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
        let daemon = Daemon::start().await;
        let agent = ScriptedAgent::start(0, "test.wgkeeper", "refuse").await;
        let uuid = new_uuid();
        let settings = format!(
            "{{'connection': {{'id': <'wg-agent-kept'>, 'uuid': <'{uuid}'>, \
             'type': <'wireguard'>, 'interface-name': <'wgk0'>}}, \
             'wireguard': {{'private-key': <'{KEY}'>, 'private-key-flags': <uint32 1>}}, \
             'ipv4': {{'method': <'manual'>, 'address-data': \
             <[{{'address': <'10.0.0.2'>, 'prefix': <uint32 32>}}]>}}}}"
        );
        let out = gdbus_call(
            None,
            netnsd_api::SETTINGS_PATH,
            &format!("{}.AddConnection", netnsd_api::SETTINGS_INTERFACE),
            &[settings],
        )
        .await
        .ok();
        let path = out
            .stdout
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no path in {out}\n{}", daemon.log_text()))
            .to_owned();
        let line = format!("SaveSecrets wg-agent-kept {path} wireguard.private-key={KEY}");
        wait_for(Duration::from_secs(5), "SaveSecrets of the key", || {
            let calls = agent.calls();
            let line = line.clone();
            async move { calls.contains(&line).then_some(()) }
        })
        .await;
        let stored: String = std::fs::read_dir(CONNECTIONS_DIR)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .collect();
        assert!(stored.contains("wg-agent-kept"), "{stored}");
        assert!(
            !stored.contains(KEY),
            "the agent-owned key was stored: {stored}"
        );
        let conn = system_conn().await;
        connection_proxy(&conn, &path).await.delete().await.unwrap();
        let line = format!("DeleteSecrets wg-agent-kept {path}");
        wait_for(Duration::from_secs(5), "DeleteSecrets", || {
            let calls = agent.calls();
            let line = line.clone();
            async move { calls.contains(&line).then_some(()) }
        })
        .await;
        agent.stop().await;
        drop(daemon);
    })
    .await
}

/// As NetworkManager orders agents: the agent of the process that
/// activates is asked first (nsctl vpn up's own), even when another agent
/// of the same user (an applet) registered before it; the other is never
/// asked. (The session comes next: logind's where it runs, else the audit
/// session of /proc/PID/sessionid — unit-tested in dbus/agents.rs, the
/// sandbox's processes have none.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activating_process_own_agent_is_asked_first() {
    let _env = TestEnv::new();
    timed(async {
        let (rig, _rules) = setup().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &agent_owned(&rig, "corp-own", "vpnown")).await;
        let applet = ScriptedAgent::start(ADMIN_UID, "test.applet", "answer:wrong").await;
        let mut log = StateLog::new(&conn).await;
        let own = ScriptedAgent::start_activating(
            ADMIN_UID,
            "test.nsctl",
            &format!("answer:{PASSWORD}"),
            &path,
        )
        .await;
        let calls = wait_for(Duration::from_secs(10), "the agent activated", || {
            let calls = own.calls();
            async move { calls.contains("activated ").then_some(calls) }
        })
        .await;
        let ac = calls
            .lines()
            .find_map(|l| l.strip_prefix("activated "))
            .unwrap()
            .trim()
            .to_owned();
        let asked = Asked {
            first: own,
            not: applet,
            id: "corp-own",
        };
        asked.up_and_down(&conn, &mut log, &ac, &daemon, &rig).await;
    })
    .await
}

/// The agents of the activating user's own session come first (issue 14
/// item 1): nsadmin has an agent in another login session, registered
/// first, that would answer a wrong password, and one in the session the
/// activation comes from (a login's audit session: /proc/PID/sessionid;
/// no logind in the sandbox), registered later, that answers right. The
/// activation (by another process of that session, not the agent) comes
/// up, and the other session's agent is never asked; in registration
/// order it would have been asked first and the activation failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_activating_sessions_agent_is_asked_before_another_sessions() {
    let _env = TestEnv::new();
    timed(async {
        let (rig, _rules) = setup().await;
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_connection(&conn, &agent_owned(&rig, "corp-sess", "vpnsess")).await;
        let other =
            ScriptedAgent::start_in_new_session(ADMIN_UID, "test.elsewhere", "answer:wrong", None)
                .await;
        let mut log = StateLog::new(&conn).await;
        let here = ScriptedAgent::start_in_new_session(
            ADMIN_UID,
            "test.here",
            &format!("answer:{PASSWORD}"),
            Some(&path),
        )
        .await;
        let answer = here.activation().await;
        let ac = answer
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no active connection in {answer}"))
            .to_owned();
        let asked = Asked {
            first: here,
            not: other,
            id: "corp-sess",
        };
        asked.up_and_down(&conn, &mut log, &ac, &daemon, &rig).await;
    })
    .await
}

/// Two agents of one user, `first` to be asked and `not` never asked, for
/// an activation of profile `id`.
struct Asked {
    first: ScriptedAgent,
    not: ScriptedAgent,
    id: &'static str,
}

impl Asked {
    /// `ac` comes up with `first`'s answer and `not` was never asked; then
    /// down, and nothing left.
    async fn up_and_down(
        self,
        conn: &zbus::Connection,
        log: &mut StateLog,
        ac: &str,
        daemon: &Daemon,
        rig: &OpenVpnRig,
    ) {
        log.wait(ac, VPN_UP_TIMEOUT, "activated or deactivated", |ev| {
            ev.iter().any(|e| {
                e.sig == Sig::State
                    && (e.state == active::ACTIVATED || e.state == active::DEACTIVATED)
            })
        })
        .await;
        assert_eq!(
            log.states(ac, Sig::State).last().map(|s| s.0),
            Some(active::ACTIVATED),
            "{}\nfirst: {}\nnot: {}\n{}",
            log.describe(),
            self.first.calls(),
            self.not.calls(),
            daemon.log_text()
        );
        let call = format!("GetSecrets {}", self.id);
        assert!(self.first.calls().contains(&call), "{}", self.first.calls());
        assert!(
            !self.not.calls().contains("GetSecrets"),
            "asked before the agent that comes first: {}",
            self.not.calls()
        );
        deactivate(conn, ac).await.unwrap();
        log.wait_deactivated(ac, VPN_DOWN_TIMEOUT).await;
        assert_nothing_left(&rig.keep()).await;
        self.first.stop().await;
        self.not.stop().await;
    }
}
