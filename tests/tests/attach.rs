//! AttachNetworkNamespace / `nsctl attach NAME PID`: a running process's
//! namespace given a name, followed like any other, and its name taken away
//! again while the process keeps running in it.

use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::Duration;

use netnsd_tests::*;

fn inode(path: &str) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {path}: {e}"))
        .ino()
}

/// `unshare -n sleep 600`: a process in a fresh, unnamed namespace.
async fn unnamed_ns_process() -> (tokio::process::Child, u32) {
    let child = tokio::process::Command::new("unshare")
        .args(["-n", "sleep", "600"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run unshare -n sleep");
    let pid = child.id().expect("a pid");
    let own = own_netns_inode();
    wait_for(
        Duration::from_secs(5),
        "the process in its own namespace",
        || async move {
            let i = std::fs::metadata(format!("/proc/{pid}/ns/net")).ok()?.ino();
            (i != own).then_some(())
        },
    )
    .await;
    (child, pid)
}

fn alive(pid: u32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_names_a_process_namespace_and_delete_leaves_the_process() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let (mut child, pid) = unnamed_ns_process().await;
        let proc_ns = format!("/proc/{pid}/ns/net");

        let out = nsctl(None, &["attach", "att1", &pid.to_string()])
            .await
            .ok();
        let object = out.stdout.trim().to_owned();
        assert!(
            object.starts_with("/net/netnsd/Netns1/NetworkNamespace/"),
            "{out}"
        );

        // iproute2 sees the name, bound to the process's namespace.
        assert_eq!(ip_netns_list().await, vec!["att1".to_owned()]);
        assert_eq!(inode("/run/netns/att1"), inode(&proc_ns));
        let info = ns_info(&conn, &object).await;
        assert_eq!(info.name, "att1");
        assert_eq!(info.id, inode(&proc_ns));
        assert_eq!(info.path, "/run/netns/att1");
        let out = nsctl(None, &["list"]).await.ok();
        assert!(out.stdout.lines().any(|l| l.starts_with("att1 ")), "{out}");

        // Its devices are followed: a veth made inside by hand appears, and
        // an address given over the bus is seen from the process's side.
        run(
            "nsenter",
            &[
                &format!("--net={proc_ns}"),
                "ip",
                "link",
                "add",
                "a0",
                "type",
                "veth",
                "peer",
                "name",
                "a1",
            ],
        )
        .await
        .ok();
        let plat = platform(&conn, &object).await;
        let dev = wait_for(Duration::from_secs(5), "a0 on the bus", || {
            let inst = plat.clone();
            async move { inst.get_device_by_name("a0").await.ok() }
        })
        .await;
        plat.add_address(&dev.as_ref(), "10.77.0.1/24")
            .await
            .unwrap();
        let out = run(
            "nsenter",
            &[
                &format!("--net={proc_ns}"),
                "ip",
                "-br",
                "addr",
                "show",
                "a0",
            ],
        )
        .await
        .ok();
        assert!(out.stdout.contains("10.77.0.1/24"), "{out}");

        // Refusals, each typed and naming the problem.
        let ctl = controller(&conn).await;
        let (name, msg) = err_name(ctl.attach_network_namespace("att2", pid).await);
        assert_eq!(name, "AlreadyExists", "{msg}");
        assert!(
            msg.contains("\"att1\""),
            "the message names the namespace's name: {msg}"
        );
        let (name, msg) = err_name(ctl.attach_network_namespace("att1", pid).await);
        assert_eq!(name, "AlreadyExists", "{msg}");
        let (name, msg) = err_name(
            ctl.attach_network_namespace("att3", std::process::id())
                .await,
        );
        assert_eq!(name, "InvalidArgument", "{msg}");
        assert!(msg.contains("host"), "{msg}");
        let (name, msg) = err_name(ctl.attach_network_namespace("att3", 0x7fff_fff0).await);
        assert_eq!(name, "NotFound", "{msg}");
        let (name, msg) = err_name(ctl.attach_network_namespace("bad/name", pid).await);
        assert_eq!(name, "InvalidArgument", "{msg}");
        // Someone else's process: administrators only (nsuser is not one).
        let (child2, pid2) = unnamed_ns_process().await;
        let out = nsctl(Some(PLAIN_UID), &["attach", "att4", &pid2.to_string()])
            .await
            .failed();
        assert!(
            out.stderr.contains("polkit") || out.stderr.contains("not authorized"),
            "{out}"
        );
        assert!(!ip_netns_list().await.contains(&"att4".to_owned()));
        drop(child2);

        // Deleting takes the name away; the process and its namespace stay.
        nsctl(None, &["delete", "att1"]).await.ok();
        wait_ns_off_bus(&conn, "att1", Duration::from_secs(5)).await;
        assert!(ip_netns_list().await.is_empty());
        assert!(alive(pid), "the process must survive the name's removal");
        let out = run(
            "nsenter",
            &[
                &format!("--net={proc_ns}"),
                "ip",
                "-br",
                "addr",
                "show",
                "a0",
            ],
        )
        .await
        .ok();
        assert!(
            out.stdout.contains("10.77.0.1/24"),
            "the namespace lives on: {out}"
        );

        child.kill().await.unwrap();
        let _ = child.wait().await;
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await;
}
