//! Per-namespace DNS (issue 4): /etc/netns/NAME/{resolv.conf,hosts,nsswitch.conf}
//! written world-readable from the `dns`/`dns-search` options or SetDns,
//! seen by `ip netns exec`, replaced, cleared and removed with the
//! namespace; the sandbox's own /etc files never change.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use netnsd_tests::wan::*;
use netnsd_tests::*;
use zbus::Connection;

/// The sandbox's /etc/nsswitch.conf made to look like a desktop's (hosts
/// through systemd-resolved and mDNS) while the guard lives.
struct DesktopNsswitch {
    saved: Vec<u8>,
}

const DESKTOP_NSSWITCH: &str = "passwd:         files systemd\n\
group:          files systemd\n\
hosts:          files mymachines mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] dns myhostname\n\
networks:       files\n";

impl DesktopNsswitch {
    fn install() -> DesktopNsswitch {
        let saved = std::fs::read("/etc/nsswitch.conf").expect("read /etc/nsswitch.conf");
        std::fs::write("/etc/nsswitch.conf", DESKTOP_NSSWITCH).expect("write nsswitch.conf");
        DesktopNsswitch { saved }
    }
}

impl Drop for DesktopNsswitch {
    fn drop(&mut self) {
        let _ = std::fs::write("/etc/nsswitch.conf", &self.saved);
    }
}

fn host_files() -> Vec<(&'static str, Vec<u8>)> {
    ["/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"]
        .into_iter()
        .map(|f| (f, std::fs::read(f).unwrap_or_default()))
        .collect()
}

fn dir_of(name: &str) -> PathBuf {
    Path::new(NETNS_ETC_DIR).join(name)
}

fn read(name: &str, file: &str) -> String {
    let p = dir_of(name).join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The files of /etc/netns/NAME: exactly the three, root's, 0644 in a 0755
/// directory, and readable by an ordinary user.
async fn assert_files_shape(name: &str) {
    let dir = dir_of(name);
    let meta = std::fs::metadata(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(meta.is_dir());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o755,
        "{}",
        dir.display()
    );
    let entries: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries,
        BTreeSet::from([
            "hosts".to_owned(),
            "nsswitch.conf".to_owned(),
            "resolv.conf".to_owned()
        ]),
        "{} (no temporary files left either)",
        dir.display()
    );
    for f in &entries {
        let m = std::fs::metadata(dir.join(f)).unwrap();
        assert!(m.is_file(), "{f}");
        assert_eq!(m.permissions().mode() & 0o777, 0o644, "{f}");
        assert_eq!((m.uid(), m.gid()), (0, 0), "{f} must be root's");
        let p = dir.join(f);
        let out = as_user(NOBODY_UID, "cat", &[p.to_str().unwrap()]).await;
        assert!(out.success(), "uid 65534 cannot read {f}: {out}");
    }
}

/// The lines of resolv.conf that matter (comments dropped).
fn resolv_lines(name: &str) -> Vec<String> {
    read(name, "resolv.conf")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

async fn dns_of(conn: &Connection, path: &str) -> Vec<String> {
    instance(conn, path)
        .await
        .dns_servers()
        .await
        .unwrap_or_else(|e| panic!("{path}: reading DnsServers: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_files_are_written_world_readable_replaced_cleared_and_removed() {
    let _env = TestEnv::new();
    timed(async {
        let _nss = DesktopNsswitch::install();
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let files_before = host_files();

        let path = add_with_options(
            &conn,
            "dns-a",
            options(vec![
                ("dns", strs(&["192.0.2.53", "2001:db8::53"])),
                ("dns-search", strs(&["corp.test", "lab.test"])),
            ]),
        )
        .await
        .expect("AddNetworkNamespaceWithOptions with DNS only");
        let inst = instance(&conn, &path).await;
        assert_eq!(inst.uplink().await.unwrap(), "none");
        assert_eq!(
            dns_of(&conn, &path).await,
            vec!["192.0.2.53".to_owned(), "2001:db8::53".to_owned()]
        );
        assert_files_shape("dns-a").await;
        assert_eq!(
            resolv_lines("dns-a"),
            vec![
                "nameserver 192.0.2.53",
                "nameserver 2001:db8::53",
                "search corp.test lab.test"
            ]
        );
        let hosts = read("dns-a", "hosts");
        assert!(
            hosts
                .lines()
                .any(|l| l.starts_with("127.0.0.1") && l.contains("localhost")),
            "{hosts}"
        );
        // The namespace resolves hosts by files and DNS only; the rest of
        // the host's nsswitch.conf is kept.
        let nss = read("dns-a", "nsswitch.conf");
        let host_lines: Vec<&str> = nss
            .lines()
            .filter(|l| l.trim_start().starts_with("hosts:"))
            .collect();
        assert_eq!(host_lines.len(), 1, "{nss}");
        assert_eq!(
            host_lines[0].split_whitespace().collect::<Vec<_>>(),
            vec!["hosts:", "files", "dns"],
            "{nss}"
        );
        assert!(nss.contains("passwd:         files systemd"), "{nss}");
        assert!(!nss.contains("resolve"), "{nss}");

        // `ip netns exec` binds them over /etc, as Spawn does.
        let seen = in_ns("dns-a", &["cat", "/etc/resolv.conf"]).await.ok();
        assert_eq!(seen.stdout, read("dns-a", "resolv.conf"));
        let seen = in_ns("dns-a", &["cat", "/etc/nsswitch.conf"]).await.ok();
        assert_eq!(seen.stdout, nss);
        in_ns("dns-a", &["getent", "hosts", "localhost"]).await.ok();
        assert_eq!(host_files(), files_before, "the sandbox's /etc changed");

        // Replaced, announced with PropertiesChanged.
        let props = properties_proxy(&conn, &path).await;
        let mut changed = props.receive_properties_changed().await.unwrap();
        inst.set_dns(&["198.51.100.53"], &[]).await.expect("SetDns");
        next_matching(&mut changed, "PropertiesChanged of DnsServers", |s| {
            let a = s.args().ok()?;
            let v = a.changed_properties().get("DnsServers")?;
            let v: Vec<String> = v.try_clone().ok()?.try_into().ok()?;
            (v == vec!["198.51.100.53".to_owned()]).then_some(())
        })
        .await;
        assert_eq!(dns_of(&conn, &path).await, vec!["198.51.100.53".to_owned()]);
        assert_eq!(resolv_lines("dns-a"), vec!["nameserver 198.51.100.53"]);
        assert_files_shape("dns-a").await;

        inst.clear_dns().await.expect("ClearDns");
        assert!(!dir_of("dns-a").exists(), "ClearDns left /etc/netns/dns-a");
        assert_eq!(dns_of(&conn, &path).await, Vec::<String>::new());
        // Without files of its own the namespace sees the host's.
        let seen = in_ns("dns-a", &["cat", "/etc/resolv.conf"]).await.ok();
        assert_eq!(seen.stdout.as_bytes(), &files_before[0].1[..]);

        inst.set_dns(&["192.0.2.54"], &["corp.test"])
            .await
            .expect("SetDns again");
        assert_eq!(
            resolv_lines("dns-a"),
            vec!["nameserver 192.0.2.54", "search corp.test"]
        );
        let r = controller(&conn)
            .await
            .remove_network_namespace("dns-a")
            .await
            .expect("RemoveNetworkNamespace");
        assert_eq!(r, "Success");
        assert!(
            !dir_of("dns-a").exists(),
            "/etc/netns/dns-a outlived its namespace"
        );
        assert_eq!(etc_netns_entries(), Vec::<String>::new());
        assert_eq!(host_files(), files_before, "the sandbox's /etc changed");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_settings_survive_restart_and_crash() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        add_with_options(
            &conn,
            "dns-r",
            options(vec![("dns", strs(&["192.0.2.53"]))]),
        )
        .await
        .expect("AddNetworkNamespaceWithOptions");
        let resolv = read("dns-r", "resolv.conf");

        daemon.stop().await;
        assert_eq!(
            read("dns-r", "resolv.conf"),
            resolv,
            "a clean stop keeps the files"
        );
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = wait_ns_on_bus(&conn, "dns-r", WATCH_TIMEOUT).await;
        assert_eq!(dns_of(&conn, &path).await, vec!["192.0.2.53".to_owned()]);

        instance(&conn, &path)
            .await
            .set_dns(&["192.0.2.54"], &[])
            .await
            .expect("SetDns");
        daemon.kill9().await;
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = wait_ns_on_bus(&conn, "dns-r", WATCH_TIMEOUT).await;
        assert_eq!(
            dns_of(&conn, &path).await,
            vec!["192.0.2.54".to_owned()],
            "DnsServers after a crash and restart"
        );
        assert_eq!(resolv_lines("dns-r"), vec!["nameserver 192.0.2.54"]);
        controller(&conn)
            .await
            .remove_network_namespace("dns-r")
            .await
            .expect("RemoveNetworkNamespace");
        assert!(!dir_of("dns-r").exists());
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
