//! Declared namespaces (issue 16, item 4): keyfiles in
//! /etc/netnsd/namespaces.d (the sandbox's overlay /etc) made into
//! persistent namespaces at start and on ReloadNamespaces / `nsctl reload`.
//! iproute2 (`ip netns list`), the namespace's resolv.conf and ping to the
//! `wan` stand-in are the observers; a bad file is refused naming the file
//! and key while the good one loads; a removed file's namespace goes, a
//! namespace in use stays.

use std::path::Path;
use std::time::Duration;

use netnsd_tests::wan::*;
use netnsd_tests::*;

const DIR: &str = "/etc/netnsd/namespaces.d";

fn declare(stem: &str, text: &str) {
    std::fs::create_dir_all(DIR).unwrap();
    std::fs::write(Path::new(DIR).join(format!("{stem}.conf")), text).unwrap();
}

fn undeclare(stem: &str) {
    std::fs::remove_file(Path::new(DIR).join(format!("{stem}.conf"))).unwrap();
}

async fn reload(conn: &zbus::Connection) -> (Vec<String>, Vec<String>, Vec<String>) {
    controller(conn)
        .await
        .reload_namespaces()
        .await
        .expect("ReloadNamespaces")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_namespaces_are_made_at_start_and_on_reload() {
    let _env = TestEnv::new();
    timed(async {
        let wan = Wan::start().await;
        declare(
            "decl-web",
            &format!(
                "# a web service's namespace\n[namespace]\nuplink=veth\ndns={WAN_V4}\n\
                 dns-search=test\n"
            ),
        );
        declare("decl-bad", "[namespace]\nuplink=gre\n");
        declare(
            "decl-fwd",
            "[namespace]\nuplink=veth\n[forward-1]\nproto=tcp\nhost-port=8080\nport=80\n",
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;

        // Made at start, without anyone asking: seen by iproute2, on the
        // bus, persistent, with its uplink and DNS, and it reaches wan.
        let path = wait_ns_on_bus(&conn, "decl-web", Duration::from_secs(10)).await;
        assert!(ip_netns_list().await.contains(&"decl-web".to_owned()));
        let info = ns_info(&conn, &path).await;
        assert!(info.persistent, "{info:?}");
        let resolv = std::fs::read_to_string("/etc/netns/decl-web/resolv.conf").unwrap();
        assert!(resolv.contains(&format!("nameserver {WAN_V4}")), "{resolv}");
        let p = ping_until_answered("decl-web", &["-4", WAN_V4]).await;
        assert!(p.success(), "ping {WAN_V4} from decl-web: {p}");

        // The bad file was refused, naming the file and key, in the log,
        // and made no namespace; the one with a [forward-1] group has its
        // port forward.
        let log = daemon.log_text();
        assert!(
            log.contains("/etc/netnsd/namespaces.d/decl-bad.conf: [namespace] key \"uplink\""),
            "{log}"
        );
        let names = ip_netns_list().await;
        assert!(!names.contains(&"decl-bad".to_owned()), "{names:?}");
        wait_ns_on_bus(&conn, "decl-fwd", Duration::from_secs(10)).await;
        let fwd = nsctl(None, &["--json", "forward", "list", "decl-fwd"])
            .await
            .ok();
        assert!(
            fwd.stdout.contains("8080") && fwd.stdout.contains("tcp"),
            "{fwd}"
        );

        // Reload: nothing new to make; the bad files are reported again.
        let (created, removed, errors) = reload(&conn).await;
        assert!(
            created.is_empty() && removed.is_empty(),
            "{created:?} {removed:?}"
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("/etc/netnsd/namespaces.d/decl-bad.conf: "),
            "{errors:?}"
        );
        assert!(errors[0].contains("key \"uplink\""), "{errors:?}");

        // A new file, picked up by `nsctl reload` (which prints what it made
        // and exits 1 with the problems on stderr).
        undeclare("decl-bad");
        undeclare("decl-fwd");
        declare(
            "decl-second",
            "[namespace]\nname=decl-two\ndns=192.0.2.53\n",
        );
        // Not for everyone: polkit's manage-namespaces, refused to nobody.
        let out = nsctl(Some(65534), &["reload"]).await;
        assert_eq!(out.code(), Some(5), "{out}");
        assert!(!ip_netns_list().await.contains(&"decl-two".to_owned()));
        let out = nsctl(None, &["reload"]).await;
        assert!(out.success(), "{out}");
        // decl-fwd's file went: its namespace, and with it the forward, too.
        assert_eq!(out.stdout, "created decl-two\nremoved decl-fwd\n", "{out}");
        assert!(!ip_netns_list().await.contains(&"decl-fwd".to_owned()));
        wait_ns_on_bus(&conn, "decl-two", Duration::from_secs(5)).await;
        assert!(ip_netns_list().await.contains(&"decl-two".to_owned()));
        assert_eq!(
            std::fs::read_to_string("/etc/netns/decl-two/resolv.conf")
                .unwrap()
                .lines()
                .find(|l| l.starts_with("nameserver")),
            Some("nameserver 192.0.2.53")
        );

        // A changed file is reported, not re-applied.
        declare(
            "decl-second",
            "[namespace]\nname=decl-two\ndns=192.0.2.54\n",
        );
        let (created, removed, errors) = reload(&conn).await;
        assert!(created.is_empty() && removed.is_empty());
        assert!(
            errors.len() == 1 && errors[0].contains("decl-second.conf: changed"),
            "{errors:?}"
        );

        // A removed file: its namespace goes, unless something runs in it.
        let mut sleeper = std::process::Command::new("ip")
            .args(["netns", "exec", "decl-web", "sleep", "60"])
            .spawn()
            .unwrap();
        wait_for(
            Duration::from_secs(5),
            "sleep to run in decl-web",
            || async {
                let r = run("ip", &["netns", "pids", "decl-web"]).await;
                (!r.stdout.trim().is_empty()).then_some(())
            },
        )
        .await;
        undeclare("decl-web");
        undeclare("decl-second");
        let (created, removed, errors) = reload(&conn).await;
        assert!(created.is_empty());
        assert_eq!(removed, vec!["decl-two".to_owned()]);
        assert!(
            errors.len() == 1
                && errors[0].contains("decl-web.conf: removed, but namespace \"decl-web\" is kept")
                && errors[0].contains(&sleeper.id().to_string()),
            "{errors:?}"
        );
        wait_ns_off_bus(&conn, "decl-two", Duration::from_secs(5)).await;
        assert!(!ip_netns_list().await.contains(&"decl-two".to_owned()));
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        let (_, removed, errors) = reload(&conn).await;
        assert_eq!(removed, vec!["decl-web".to_owned()], "{errors:?}");
        assert!(errors.is_empty(), "{errors:?}");
        assert_nothing_left(&wan.keep()).await;
        drop(daemon);
    })
    .await
}

/// Declared namespaces are kept across a daemon restart (and not made
/// twice); a namespace the file did not make is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_namespaces_survive_a_restart_and_leave_others_alone() {
    let _env = TestEnv::new();
    timed(async {
        declare("decl-keep", "[namespace]\n");
        ip(&["netns", "add", "decl-other"]).await.ok();
        declare("decl-other", "[namespace]\n");
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        wait_ns_on_bus(&conn, "decl-keep", Duration::from_secs(10)).await;
        let inode = netns_inode("decl-keep");
        daemon.stop().await;

        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        wait_ns_on_bus(&conn, "decl-keep", Duration::from_secs(10)).await;
        assert_eq!(
            netns_inode("decl-keep"),
            inode,
            "made again after a restart"
        );
        let (created, removed, errors) = reload(&conn).await;
        assert!(
            created.is_empty() && removed.is_empty(),
            "{created:?} {removed:?}"
        );
        assert!(
            errors.len() == 1
                && errors[0].contains("decl-other.conf: namespace \"decl-other\" exists already"),
            "{errors:?}"
        );
        // Its file gone, the namespace netnsd made goes; the other stays.
        undeclare("decl-keep");
        undeclare("decl-other");
        let (_, removed, errors) = reload(&conn).await;
        assert_eq!(removed, vec!["decl-keep".to_owned()], "{errors:?}");
        let names = ip_netns_list().await;
        assert!(names.contains(&"decl-other".to_owned()), "{names:?}");
        assert!(!names.contains(&"decl-keep".to_owned()), "{names:?}");
        drop(daemon);
    })
    .await
}
