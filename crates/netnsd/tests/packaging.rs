//! The Debian package's own copies of the systemd unit and the bus
//! activation file (packaging/deb/) are the repository's, with the daemon
//! at /usr/libexec/netnsd (a package installs nothing under /usr/local);
//! the maintainer scripts are valid sh; every asset exists. `scripts/deb`
//! builds the package; tests/tests/package.rs installs and purges it.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn packaged_unit_and_activation_file_are_the_repositorys_with_usr_libexec() {
    for (original, packaged) in [
        ("systemd/netnsd.service", "packaging/deb/netnsd.service"),
        (
            "dbus-interfaces/net.netnsd.Netns1.service",
            "packaging/deb/net.netnsd.Netns1.service",
        ),
    ] {
        let want = read(original).replace("/usr/local/libexec/netnsd", "/usr/libexec/netnsd");
        assert!(
            read(packaged) == want,
            "{packaged} differs from {original} (with /usr/libexec/netnsd): copy it again, \
             `sed 's|/usr/local/libexec/netnsd|/usr/libexec/netnsd|g' {original} > {packaged}`"
        );
        assert!(!want.contains("/usr/local"), "{packaged}");
        assert!(want.contains("/usr/libexec/netnsd"), "{packaged}");
    }
}

#[test]
fn maintainer_scripts_are_executable_sh() {
    use std::os::unix::fs::PermissionsExt;
    for name in ["postinst", "prerm", "postrm"] {
        let path = repo().join("packaging/deb/maintainer-scripts").join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{name} is not executable");
        let text = read(&format!("packaging/deb/maintainer-scripts/{name}"));
        assert!(text.starts_with("#!/bin/sh\n"), "{name}");
        assert!(text.contains("set -e\n"), "{name}");
        let ok = std::process::Command::new("sh")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "sh -n {name}");
    }
}

#[test]
fn every_package_asset_exists() {
    let manifest = read("crates/netnsd/Cargo.toml");
    let deb = &manifest[manifest
        .find("[package.metadata.deb]")
        .expect("deb metadata")..];
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for line in deb.lines().filter(|l| l.trim_start().starts_with("[\"")) {
        let src = line.trim_start().trim_start_matches("[\"");
        let src = &src[..src.find('"').unwrap()];
        if src.starts_with("target/") {
            continue;
        }
        n += 1;
        if let Some(dir) = src
            .strip_suffix("/*.1")
            .or_else(|| src.strip_suffix("/*.xml"))
        {
            assert!(crate_dir.join(dir).is_dir(), "{src}");
        } else {
            assert!(crate_dir.join(src).is_file(), "{src} is missing");
        }
    }
    assert!(n >= 10, "{n} assets read from:\n{deb}");
}
