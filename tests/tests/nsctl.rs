//! nsctl (NSCTL_BIN) against the real daemon: list, add, show, delete as
//! root, --json, exit statuses, a non-root caller, a granted user, and the
//! daemon not running. The results are checked with iproute2 and the bus.

use netnsd_tests::*;
use serde_json::Value;

/// Exit statuses of nsctl (see `nsctl --help`).
const NOT_FOUND: i32 = 3;
const ALREADY_EXISTS: i32 = 4;
const PERMISSION_DENIED: i32 = 5;
const INVALID_ARGUMENT: i32 = 6;
const USAGE: i32 = 2;
const UNREACHABLE: i32 = 10;

fn json(out: &Out) -> Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Fails with `code`, a one-line-or-more `nsctl: …` message on stderr and
/// nothing on stdout.
#[track_caller]
fn assert_fails_with(out: &Out, code: i32) {
    assert_eq!(out.code(), Some(code), "{out}");
    assert!(
        out.stderr.starts_with("nsctl: "),
        "plain-words message expected: {out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        !out.stderr.contains("net.netnsd.Netns1.Error."),
        "raw error name instead of plain words: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_add_show_delete_as_root() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;

        let out = nsctl(None, &["list"]).await.ok();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(lines[0].starts_with("NAME"), "a table with a header: {out}");
        assert_eq!(lines.len(), 2, "header and rootns: {out}");
        assert!(lines[1].starts_with("rootns "), "{out}");
        assert!(lines[1].contains(&own_netns_inode().to_string()), "{out}");

        let out = nsctl(None, &["add", "nsctl-one"]).await.ok();
        let path = out.stdout.trim().to_owned();
        object_number(&path);
        assert_eq!(ip_netns_list().await, vec!["nsctl-one".to_owned()]);
        let on_bus = controller(&conn)
            .await
            .get_network_namespace_by_name("nsctl-one")
            .await
            .unwrap();
        assert_eq!(on_bus.as_str(), path);
        let inode = netns_inode("nsctl-one").to_string();

        let out = nsctl(None, &["list"]).await.ok();
        let row = out
            .stdout
            .lines()
            .find(|l| l.starts_with("nsctl-one "))
            .unwrap_or_else(|| panic!("no row for nsctl-one: {out}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells,
            vec![
                "nsctl-one",
                inode.as_str(),
                "yes",
                "yes",
                "none",
                "/run/netns/nsctl-one",
                path.as_str()
            ],
            "{out}"
        );

        let out = nsctl(None, &["show", "nsctl-one"]).await.ok();
        let fields: Vec<(String, String)> = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let field = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {k}: in {out}"))
        };
        assert_eq!(field("Name"), "nsctl-one");
        assert_eq!(field("Id"), inode);
        assert_eq!(field("Path"), "/run/netns/nsctl-one");
        assert_eq!(field("Managed"), "yes");
        assert_eq!(field("Persistent"), "yes");
        assert_eq!(field("Object"), path);

        let out = nsctl(None, &["show", ROOT_NS_NAME]).await.ok();
        assert!(out.stdout.contains(&namespace_path(0)), "{out}");

        let out = nsctl(None, &["delete", "nsctl-one"]).await.ok();
        assert!(out.stdout.is_empty(), "delete prints nothing: {out}");
        assert!(ip_netns_list().await.is_empty());
        assert_eq!(list_paths(&conn).await, vec![namespace_path(0)]);
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_parses_and_matches_the_host() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;

        let out = nsctl(None, &["add", "nsctl-json", "--json"]).await.ok();
        let path = json(&out)["object"]
            .as_str()
            .unwrap_or_else(|| panic!("{out}"))
            .to_owned();
        object_number(&path);
        ip(&["netns", "add", "nsctl-ipr"]).await.ok();
        wait_ns_on_bus(&conn, "nsctl-ipr", WATCH_TIMEOUT).await;

        for args in [&["--json", "list"][..], &["list", "--json"]] {
            let out = nsctl(None, args).await.ok();
            let v = json(&out);
            let arr = v
                .as_array()
                .unwrap_or_else(|| panic!("not an array: {out}"));
            assert_eq!(arr.len(), 3, "{out}");
            let by_name = |n: &str| {
                arr.iter()
                    .find(|e| e["name"] == n)
                    .unwrap_or_else(|| panic!("no {n} in {out}"))
                    .clone()
            };
            let root = by_name(ROOT_NS_NAME);
            assert_eq!(root["object"], namespace_path(0));
            assert_eq!(root["managed"], false);
            assert_eq!(root["path"], "");
            assert_eq!(root["id"], own_netns_inode());
            let own = by_name("nsctl-json");
            assert_eq!(own["object"], path.as_str());
            assert_eq!(own["managed"], true);
            assert_eq!(own["persistent"], true);
            assert_eq!(own["path"], "/run/netns/nsctl-json");
            assert_eq!(own["id"], netns_inode("nsctl-json"));
            let ext = by_name("nsctl-ipr");
            assert_eq!(ext["managed"], false);
            assert_eq!(ext["id"], netns_inode("nsctl-ipr"));
        }

        let out = nsctl(None, &["--json", "show", "nsctl-json"]).await.ok();
        let v = json(&out);
        assert_eq!(v["name"], "nsctl-json");
        assert_eq!(v["id"], netns_inode("nsctl-json"));
        assert_eq!(v["object"], path.as_str());

        let out = nsctl(None, &["--json", "delete", "nsctl-json"]).await.ok();
        assert_eq!(json(&out)["result"], "Success");
        assert_eq!(ip_netns_list().await, vec!["nsctl-ipr".to_owned()]);
        assert_nothing_left(&Keep::nothing().ns("nsctl-ipr")).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_have_distinct_exit_statuses() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        nsctl(None, &["add", "nsctl-taken"]).await.ok();
        let before = host_state(&conn).await;

        let out = nsctl(None, &["show", "nsctl-missing"]).await;
        assert_fails_with(&out, NOT_FOUND);
        assert!(out.stderr.contains("nsctl-missing"), "{out}");
        assert_fails_with(&nsctl(None, &["delete", "nsctl-missing"]).await, NOT_FOUND);

        let out = nsctl(None, &["add", "nsctl-taken"]).await;
        assert_fails_with(&out, ALREADY_EXISTS);
        assert!(out.stderr.contains("nsctl-taken"), "{out}");
        assert_fails_with(&nsctl(None, &["add", ROOT_NS_NAME]).await, ALREADY_EXISTS);

        for bad in ["a/b", "", "..", &"n".repeat(256)] {
            assert_fails_with(&nsctl(None, &["add", bad]).await, INVALID_ARGUMENT);
        }

        let out = nsctl(None, &["delete", ROOT_NS_NAME]).await;
        assert_fails_with(&out, PERMISSION_DENIED);

        for args in [&[][..], &["frobnicate"], &["add"]] {
            let out = nsctl(None, args).await;
            assert_eq!(out.code(), Some(USAGE), "{out}");
        }
        assert_eq!(host_state(&conn).await, before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_not_running_is_exit_10() {
    let _env = TestEnv::new();
    timed(async {
        let conn = system_conn().await;
        assert_eq!(name_owner_pid(&conn).await, None, "a netnsd is running");
        for args in [
            &["list"][..],
            &["show", "rootns"],
            &["add", "nsctl-down"],
            &["delete", "x"],
        ] {
            let out = nsctl(None, args).await;
            assert_fails_with(&out, UNREACHABLE);
            assert!(out.stderr.contains("not running"), "{out}");
        }
        assert!(ip_netns_list().await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_reads_but_cannot_change() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_ns(&conn, "nsctl-root-made").await;
        let before = host_state(&conn).await;
        let nobody = Some(NOBODY_UID);

        let out = nsctl(nobody, &["list"]).await.ok();
        assert!(out.stdout.contains("nsctl-root-made"), "{out}");
        let out = nsctl(nobody, &["--json", "show", "nsctl-root-made"])
            .await
            .ok();
        assert_eq!(json(&out)["id"], netns_inode("nsctl-root-made"));

        let out = nsctl(nobody, &["add", "nsctl-nobody"]).await;
        assert_fails_with(&out, PERMISSION_DENIED);
        assert!(out.stderr.contains("permission denied"), "{out}");
        assert_fails_with(
            &nsctl(nobody, &["delete", "nsctl-root-made"]).await,
            PERMISSION_DENIED,
        );
        // Validation still comes first.
        assert_fails_with(&nsctl(nobody, &["add", "a/b"]).await, INVALID_ARGUMENT);
        assert_eq!(host_state(&conn).await, before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_user_adds_and_deletes() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let admin = Some(ADMIN_UID);

        wait_polkit(ADMIN_UID, MANAGE_ACTION, false).await;
        assert_fails_with(
            &nsctl(admin, &["add", "nsctl-admin"]).await,
            PERMISSION_DENIED,
        );

        let _rules = PolkitRules::install("50-netnsd-test", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, MANAGE_ACTION, true).await;
        let out = nsctl(admin, &["add", "nsctl-admin"]).await.ok();
        object_number(out.stdout.trim());
        assert_eq!(ip_netns_list().await, vec!["nsctl-admin".to_owned()]);
        ip(&["netns", "exec", "nsctl-admin", "true"]).await.ok();
        nsctl(admin, &["delete", "nsctl-admin"]).await.ok();
        assert!(ip_netns_list().await.is_empty());

        // Not the plain user, who is not in netns-admins.
        assert_fails_with(
            &nsctl(Some(PLAIN_UID), &["add", "nsctl-plain"]).await,
            PERMISSION_DENIED,
        );
        assert!(ip_netns_list().await.is_empty());
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}

// ---------------------------------------------------------------------------
// Connection profiles: WireGuard and OpenConnect from nsctl

/// Keys in WireGuard's form (32 bytes of base64), made up for these tests.
const WG_PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const WG_PEER: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const WG_PSK: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

fn wg_quick_text() -> String {
    format!(
        "[Interface]\nPrivateKey = {WG_PRIVATE}\nAddress = 10.66.0.2/24\n\
         DNS = 10.99.0.53, corp.test\n\n[Peer]\nPublicKey = {WG_PEER}\n\
         PresharedKey = {WG_PSK}\nAllowedIPs = 0.0.0.0/0\n\
         Endpoint = 203.0.113.1:51820\nPersistentKeepalive = 25\n"
    )
}

/// A root-only scratch directory for configuration files, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::path::PathBuf::from(format!("/run/netnsd-tests-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        Scratch(dir)
    }

    fn write(&self, file: &str, text: &str) -> String {
        let p = self.0.join(file);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The profile's settings and secrets over the bus, from the object path
/// nsctl printed.
async fn profile_at(
    conn: &zbus::Connection,
    out: &Out,
) -> (
    netnsd_api::proxy::SettingsDict,
    netnsd_api::proxy::SettingsDict,
) {
    let path = out.stdout.trim();
    assert!(
        path.starts_with("/net/netnsd/Netns1/Settings/"),
        "nsctl printed no object path: {out}"
    );
    let p = openvpn::connection_proxy(conn, path).await;
    let settings = p.get_settings().await.expect("GetSettings");
    let secrets = p.get_secrets("").await.expect("GetSecrets");
    (settings, secrets)
}

/// `nsctl connection import` takes a wg-quick file (.conf, or any name
/// with --type wireguard) to a wireguard profile on the bus, with the
/// namespace keys asked for and the keys as secrets; an OpenVPN file named
/// .conf needs --type openvpn; a name that says nothing needs --type,
/// and then nothing is added.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_import_reads_wg_quick_files() {
    use openvpn::{list_connections, setting_bool, setting_str};
    let _env = TestEnv::new();
    timed(async {
        openvpn::clear_connections_dir();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let dir = Scratch::new("nsctl-import");
        let wg = dir.write("corp-wg.conf", &wg_quick_text());

        let out = nsctl(
            None,
            &[
                "connection",
                "import",
                &wg,
                "--isolate",
                "--netns-name",
                "wgq",
                "--persistent",
            ],
        )
        .await
        .ok();
        let (s, secrets) = profile_at(&conn, &out).await;
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("wireguard")
        );
        assert_eq!(
            setting_str(&s, "connection", "id").as_deref(),
            Some("corp-wg"),
            "the id comes from the file's name"
        );
        assert_eq!(setting_bool(&s, "connection", "netns-isolate"), Some(true));
        assert_eq!(
            setting_str(&s, "connection", "netns-name").as_deref(),
            Some("wgq")
        );
        assert_eq!(
            setting_bool(&s, "connection", "netns-persistent"),
            Some(true)
        );
        assert_eq!(
            setting_str(&s, "ipv4", "address1").as_deref(),
            Some("10.66.0.2/24")
        );
        let peer = format!("wireguard-peer.{WG_PEER}");
        assert_eq!(
            setting_str(&s, &peer, "endpoint").as_deref(),
            Some("203.0.113.1:51820")
        );
        assert!(setting_str(&s, "wireguard", "private-key").is_none());
        assert!(setting_str(&s, &peer, "preshared-key").is_none());
        // The keys are secrets, kept through the Update that set the
        // namespace keys.
        assert_eq!(
            setting_str(&secrets, "wireguard", "private-key").as_deref(),
            Some(WG_PRIVATE)
        );
        assert_eq!(
            setting_str(&secrets, &peer, "preshared-key").as_deref(),
            Some(WG_PSK)
        );
        let list = json(&nsctl(None, &["--json", "connection", "list"]).await.ok());
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "corp-wg")
            .unwrap_or_else(|| panic!("corp-wg not listed: {list}"));
        assert_eq!(row["type"], "wireguard", "{row}");
        assert_eq!(row["netns_name"], "wgq", "{row}");

        // Any other name: --type is needed, and nothing is added.
        let before = list_connections(&conn).await;
        let txt = dir.write("corp.txt", &wg_quick_text());
        let out = nsctl(None, &["connection", "import", &txt]).await;
        assert_fails_with(&out, INVALID_ARGUMENT);
        assert!(out.stderr.contains("--type"), "{out}");
        assert_eq!(list_connections(&conn).await, before);
        let out = nsctl(
            None,
            &[
                "connection",
                "import",
                &txt,
                "--type",
                "wireguard",
                "--id",
                "txt",
            ],
        )
        .await
        .ok();
        let (s, _) = profile_at(&conn, &out).await;
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("wireguard")
        );
        assert_eq!(setting_str(&s, "connection", "id").as_deref(), Some("txt"));

        // An OpenVPN configuration named .conf: read as wg-quick it is
        // refused (naming the line); with --type openvpn it imports.
        let ovpn = dir.write(
            "office.conf",
            "client\ndev tun\nproto udp\nremote 203.0.113.1 1194\nca ca.crt\n",
        );
        let before = list_connections(&conn).await;
        let out = nsctl(None, &["connection", "import", &ovpn]).await;
        assert_fails_with(&out, INVALID_ARGUMENT);
        assert!(out.stderr.contains("line 1"), "{out}");
        assert_eq!(list_connections(&conn).await, before);
        let out = nsctl(None, &["connection", "import", &ovpn, "--type", "openvpn"])
            .await
            .ok();
        let (s, _) = profile_at(&conn, &out).await;
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("vpn")
        );
        assert_eq!(
            setting_str(&s, "vpn", "service-type").as_deref(),
            Some("org.freedesktop.NetworkManager.openvpn")
        );
        // A hook line is refused by netnsd, naming it.
        let hooked = dir.write(
            "hooked.conf",
            &wg_quick_text().replace("[Peer]", "PostUp = echo hi\n[Peer]"),
        );
        let out = nsctl(None, &["connection", "import", &hooked]).await;
        assert_fails_with(&out, INVALID_ARGUMENT);
        assert!(out.stderr.contains("PostUp"), "{out}");
    })
    .await
}

/// `nsctl connection add --type wireguard` makes a WireGuard profile with
/// the private and preshared keys read from stdin (on no command line);
/// without a key, peer or address it is refused and nothing is added.
/// `--vpn-type openconnect` makes an OpenConnect profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_add_makes_wireguard_and_openconnect_profiles() {
    use openvpn::{list_connections, setting_map, setting_str};
    let _env = TestEnv::new();
    timed(async {
        openvpn::clear_connections_dir();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let peer_arg = format!(
            "{WG_PEER} endpoint=203.0.113.1:51820 allowed-ips=0.0.0.0/0,10.99.0.0/24 \
             persistent-keepalive=25"
        );
        let wg_args = [
            "connection",
            "add",
            "wg-added",
            "--type",
            "wireguard",
            "--isolate",
            "--netns-name",
            "wga",
            "--address",
            "10.66.0.2/24",
            "--dns",
            "10.99.0.53",
            "--dns-search",
            "corp.test",
            "--peer",
            &peer_arg,
            "--secret",
            "private-key=-",
            "--secret",
            "preshared-key=-",
        ];
        let out = nsctl_with_input(&wg_args, &format!("{WG_PRIVATE}\n{WG_PSK}\n"))
            .await
            .ok();
        let (s, secrets) = profile_at(&conn, &out).await;
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("wireguard")
        );
        assert_eq!(
            setting_str(&s, "connection", "netns-name").as_deref(),
            Some("wga")
        );
        let peer = format!("wireguard-peer.{WG_PEER}");
        assert_eq!(
            setting_str(&s, &peer, "endpoint").as_deref(),
            Some("203.0.113.1:51820")
        );
        assert_eq!(
            setting_str(&s, "ipv4", "address1").as_deref(),
            Some("10.66.0.2/24")
        );
        let text = nsctl(None, &["connection", "show", "wg-added"]).await.ok();
        for line in [
            format!("{peer}.allowed-ips = 0.0.0.0/0,10.99.0.0/24"),
            format!("{peer}.persistent-keepalive = 25"),
            "ipv4.dns = 10.99.0.53".to_owned(),
            "ipv4.dns-search = corp.test".to_owned(),
        ] {
            assert!(
                text.stdout.lines().any(|l| l.trim() == line),
                "no `{line}` in:\n{text}"
            );
        }
        assert!(!text.stdout.contains(WG_PRIVATE) && !text.stdout.contains(WG_PSK));
        assert_eq!(
            setting_str(&secrets, "wireguard", "private-key").as_deref(),
            Some(WG_PRIVATE)
        );
        assert_eq!(
            setting_str(&secrets, &peer, "preshared-key").as_deref(),
            Some(WG_PSK)
        );

        // Refused, naming what is missing; nothing added.
        let before = list_connections(&conn).await;
        let no_key: Vec<&str> = wg_args[..wg_args.len() - 4].to_vec();
        let out = nsctl(None, &no_key).await;
        assert_fails_with(&out, INVALID_ARGUMENT);
        assert!(out.stderr.contains("private-key=-"), "{out}");
        let out = nsctl_with_input(
            &[
                "connection",
                "add",
                "wg-nopeer",
                "--type",
                "wireguard",
                "--address",
                "10.66.0.2/24",
                "--secret",
                "private-key=-",
            ],
            &format!("{WG_PRIVATE}\n"),
        )
        .await;
        assert_fails_with(&out, INVALID_ARGUMENT);
        assert!(out.stderr.contains("--peer"), "{out}");
        let out = nsctl(
            None,
            &[
                "connection",
                "add",
                "wg-data",
                "--type",
                "wireguard",
                "--data",
                "remote=x",
            ],
        )
        .await;
        assert_fails_with(&out, INVALID_ARGUMENT);
        assert_eq!(list_connections(&conn).await, before);

        // OpenConnect: a VPN of the openconnect plugin, password from stdin.
        let out = nsctl_with_input(
            &[
                "connection",
                "add",
                "oc-added",
                "--vpn-type",
                "openconnect",
                "--isolate",
                "--data",
                "gateway=203.0.113.1",
                "--data",
                "protocol=anyconnect",
                "--data",
                "username=alice",
                "--secret",
                "password=-",
            ],
            "oc-secret-pw\n",
        )
        .await
        .ok();
        let (s, secrets) = profile_at(&conn, &out).await;
        assert_eq!(
            setting_str(&s, "connection", "type").as_deref(),
            Some("vpn")
        );
        assert_eq!(
            setting_str(&s, "vpn", "service-type").as_deref(),
            Some("org.freedesktop.NetworkManager.openconnect")
        );
        assert_eq!(
            setting_map(&s, "vpn", "data")
                .unwrap_or_default()
                .get("gateway")
                .map(String::as_str),
            Some("203.0.113.1")
        );
        assert_eq!(
            setting_map(&secrets, "vpn", "secrets")
                .unwrap_or_default()
                .get("password")
                .map(String::as_str),
            Some("oc-secret-pw")
        );
        let list = json(&nsctl(None, &["--json", "connection", "list"]).await.ok());
        let types: std::collections::BTreeMap<String, String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    format!("{}/{}", r["type"], r["vpn_type"]),
                )
            })
            .collect();
        assert_eq!(
            types,
            std::collections::BTreeMap::from([
                ("oc-added".to_owned(), "\"vpn\"/\"openconnect\"".to_owned()),
                ("wg-added".to_owned(), "\"wireguard\"/null".to_owned()),
            ])
        );
    })
    .await
}
