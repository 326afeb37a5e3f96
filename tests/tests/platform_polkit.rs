//! Authorization of the platform methods with the sandbox's real polkitd:
//! nobody (uid 65534) is refused TakeDevice (take-device) and every
//! configure method, and nothing changes; nobody still reads devices,
//! routes and rules; validation comes before polkit; root is allowed; the
//! rule of docs/bus-api.md lets members of netns-admins configure and take devices.

use netnsd_api::actions;
use netnsd_tests::*;

const DENIED: &str = "net.netnsd.Netns1.Error.PermissionDenied";

fn method(m: &str) -> String {
    format!("{INSTANCE_INTERFACE}.{m}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_is_refused_take_device_and_configure() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "pp-a").await;
        let pa = platform(&conn, &a).await;
        let (v0, _) = pa
            .add_veth("pv0", "pv1", &op(&a), dict(vec![("up", vb(true))]))
            .await
            .unwrap();
        let v0 = v0.to_string();
        pa.add_address(&op(&v0), "10.57.0.1/24").await.unwrap();
        ip(&[
            "link", "add", "ppt0", "type", "veth", "peer", "name", "ppt1",
        ])
        .await
        .ok();
        let t0 = wait_device(&conn, &root, "ppt0").await;
        assert!(!pkcheck(NOBODY_UID, actions::TAKE_DEVICE).await);
        assert!(!pkcheck(NOBODY_UID, actions::CONFIGURE).await);
        let before = settled_snapshots(&["pp-a", ROOT_NS_NAME]).await;
        let t0_before = dev_info(&conn, &t0).await;

        let nobody = Some(NOBODY_UID);
        let calls: Vec<(&str, Vec<String>)> = vec![
            (
                "TakeDevice",
                vec![format!("objectpath '{t0}'"), "2000".into()],
            ),
            ("AddBridge", vec!["'ppbr0'".into(), "@a{sv} {}".into()]),
            (
                "AddVeth",
                vec![
                    "'ppn0'".into(),
                    "'ppn1'".into(),
                    format!("objectpath '{a}'"),
                    "@a{sv} {}".into(),
                ],
            ),
            ("DeleteDevice", vec![format!("objectpath '{v0}'")]),
            (
                "SetDeviceUp",
                vec![format!("objectpath '{v0}'"), "false".into()],
            ),
            (
                "SetDeviceMtu",
                vec![format!("objectpath '{v0}'"), "uint32 1400".into()],
            ),
            (
                "RenameDevice",
                vec![format!("objectpath '{v0}'"), "'ppz0'".into()],
            ),
            (
                "AddAddress",
                vec![format!("objectpath '{v0}'"), "'10.57.0.9/24'".into()],
            ),
            (
                "RemoveAddress",
                vec![format!("objectpath '{v0}'"), "'10.57.0.1/24'".into()],
            ),
            (
                "AddRoute",
                vec![format!(
                    "{{'destination': <'10.58.0.0/24'>, 'device': <objectpath '{v0}'>}}"
                )],
            ),
            (
                "AddRule",
                vec!["{'from': <'10.57.0.0/24'>, 'table': <uint32 100>}".into()],
            ),
        ];
        for (m, args) in &calls {
            let out = gdbus_call(nobody, &a, &method(m), args).await.failed();
            assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{m}: {out}");
            assert_unchanged(&before, &format!("a refused {m} by nobody")).await;
        }
        // busctl too.
        let out = busctl_call(
            nobody,
            &a,
            INSTANCE_INTERFACE,
            "AddBridge",
            &["sa{sv}", "ppbr1", "0"],
        )
        .await
        .failed();
        assert!(!out.stderr.trim().is_empty(), "{out}");
        assert_unchanged(&before, "a refused AddBridge over busctl").await;
        assert_eq!(dev_info(&conn, &t0).await, t0_before);
        assert_eq!(find_device(&conn, &a, "ppbr0").await, None);

        // Validation first: nobody learns that a name is bad.
        let out = gdbus_call(
            nobody,
            &a,
            &method("AddBridge"),
            &["'a/b'".into(), "@a{sv} {}".into()],
        )
        .await
        .failed();
        assert_eq!(
            out.gdbus_error(),
            Some(netnsd_error("InvalidArgument")),
            "{out}"
        );

        // Reading is open to nobody.
        for m in ["GetDevices", "GetAllDevices"] {
            let out = gdbus_call(nobody, &a, &method(m), &[]).await.ok();
            assert!(out.stdout.contains(&v0), "{m}: {out}");
        }
        let out = gdbus_call(nobody, &a, &method("GetRoutes"), &[]).await.ok();
        assert!(out.stdout.contains("'10.57.0.0/24'"), "{out}");
        let out = gdbus_call(nobody, &a, &method("GetRules"), &[]).await.ok();
        assert!(out.stdout.contains("uint32 32766"), "{out}");
        let out = busctl(
            nobody,
            &["get-property", BUS_NAME, &v0, DEVICE_INTERFACE, "Addresses"],
        )
        .await
        .ok();
        assert!(out.stdout.contains("10.57.0.1/24"), "{out}");
        let out = busctl(
            nobody,
            &["get-property", BUS_NAME, &a, INSTANCE_INTERFACE, "Devices"],
        )
        .await
        .ok();
        assert!(out.stdout.contains(&v0), "{out}");

        // Root is allowed, through gdbus as well.
        let out = gdbus_call(
            None,
            &a,
            &method("AddBridge"),
            &["'ppbr0'".into(), "@a{sv} {}".into()],
        )
        .await
        .ok();
        assert!(out.stdout.contains(DEVICE_PATH_PREFIX), "{out}");
        assert!(ip_link("pp-a", "ppbr0").await.is_some());
        gdbus_call(
            None,
            &a,
            &method("TakeDevice"),
            &[format!("objectpath '{t0}'"), "2000".into()],
        )
        .await
        .ok();
        assert!(ip_link("pp-a", "ppt0").await.is_some());
    })
    .await;
}

/// The rule of docs/bus-api.md grants netns-admins everything: nsadmin can then take
/// devices and configure; nsuser still cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_file_grants_take_device_and_configure_to_the_group() {
    let _env = TestEnv::new();
    timed(async {
        let _daemon = Daemon::start().await;
        let conn = system_conn().await;
        let root = namespace_path(0);
        let a = add_ns_ready(&conn, "pp-adm").await;
        ip(&[
            "link", "add", "ppa0", "type", "veth", "peer", "name", "ppa1",
        ])
        .await
        .ok();
        let dev = wait_device(&conn, &root, "ppa0").await;
        let admin = Some(ADMIN_UID);
        let take = vec![format!("objectpath '{dev}'"), "2000".into()];
        let bridge = vec!["'ppadm0'".into(), "@a{sv} {}".into()];

        wait_polkit(ADMIN_UID, actions::CONFIGURE, false).await;
        let out = gdbus_call(admin, &a, &method("TakeDevice"), &take)
            .await
            .failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");

        let _rules = PolkitRules::install("50-netnsd-test", GRANT_ADMINS_RULE);
        wait_polkit(ADMIN_UID, actions::CONFIGURE, true).await;
        wait_polkit(ADMIN_UID, actions::TAKE_DEVICE, true).await;

        gdbus_call(admin, &a, &method("TakeDevice"), &take)
            .await
            .ok();
        assert!(ip_link("pp-adm", "ppa0").await.is_some());
        gdbus_call(admin, &a, &method("AddBridge"), &bridge)
            .await
            .ok();
        assert!(ip_link("pp-adm", "ppadm0").await.is_some());

        // Not for someone outside the group.
        let out = gdbus_call(
            Some(PLAIN_UID),
            &a,
            &method("AddBridge"),
            &["'ppusr0'".into(), "@a{sv} {}".into()],
        )
        .await
        .failed();
        assert_eq!(out.gdbus_error().as_deref(), Some(DENIED), "{out}");
        assert!(ip_link("pp-adm", "ppusr0").await.is_none());
    })
    .await;
}
