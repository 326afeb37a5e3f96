//! Issue 13 item 8: a program `Spawn` forked (no systemd in the sandbox)
//! outlives a crash of the daemon, and the restarted daemon still knows
//! it: its namespace refuses removal (`Busy`) while it runs, and its end
//! is announced with `ProcessExited(pid, -1)` (no longer the daemon's
//! child, its exit status cannot be known).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use netnsd_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_program_is_known_to_the_daemon_after_a_crash() {
    let _env = TestEnv::new();
    timed(async {
        let daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = add_ns(&conn, "sp-keep").await;
        let pid = instance(&conn, &path)
            .await
            .spawn(
                &["/bin/sleep", "1000"],
                HashMap::new(),
                "/",
                HashMap::new(),
                HashMap::new(),
            )
            .await
            .expect("Spawn sleep");
        daemon.kill9().await;
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the program did not outlive the daemon"
        );

        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let path = wait_ns_on_bus(&conn, "sp-keep", Duration::from_secs(10)).await;
        let e = controller(&conn)
            .await
            .remove_network_namespace("sp-keep")
            .await
            .expect_err("removal while the program runs");
        assert!(format!("{e:?}").contains("Busy"), "{e:?}");

        let inst = instance(&conn, &path).await;
        let mut exits = inst.receive_process_exited().await.unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(sig) = exits.next().await {
                let a = sig.args().unwrap();
                if a.pid == pid {
                    return a.status;
                }
            }
            panic!("the ProcessExited stream ended")
        })
        .await
        .expect("ProcessExited within 10 s of its end");
        assert_eq!(status, -1);
        controller(&conn)
            .await
            .remove_network_namespace("sp-keep")
            .await
            .expect("removal once it ended");
        assert_nothing_left(&Keep::nothing()).await;
    })
    .await
}
