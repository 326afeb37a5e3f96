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
    })
    .await;
}
