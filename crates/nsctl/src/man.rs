//! Man pages, generated from the clap definition so they cannot drift from
//! `--help`: clap_mangen renders the NAME, SYNOPSIS, DESCRIPTION, OPTIONS,
//! SUBCOMMANDS and VERSION sections, and this module adds EXIT STATUS,
//! ENVIRONMENT and SEE ALSO (clap_mangen would put `after_help` under a
//! heading called EXTRA, as unformatted text).
//!
//! `docs/` holds the rendered pages; regenerate them with
//! `cargo run -p nsctl -- generate-man docs`. A unit test checks they are current.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::{Cli, LONG_ABOUT};
use crate::error::EXIT_STATUSES;
use crate::exec::{FORWARDED_ENV, NOT_FOUND_EXIT_CODE};

/// Every page as (file name, roff text): `nsctl.1` first, then one per
/// visible subcommand at every level, depth first (`nsctl-list.1`, ...,
/// `nsctl-device.1`, `nsctl-device-list.1`, ...).
pub fn pages() -> io::Result<Vec<(String, String)>> {
    // `nsctl --help` is short (usage and commands first); the prose is here.
    let mut cmd = without_help_subcommands(Cli::command()).long_about(LONG_ABOUT);
    cmd.build();
    let mut out = Vec::new();
    collect(&cmd, None, &mut out)?;
    Ok(out)
}

/// clap adds a `help` subcommand to every command that has subcommands;
/// it has no page of its own.
fn without_help_subcommands(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help_subcommands)
}

fn collect(
    cmd: &clap::Command,
    parent: Option<&str>,
    out: &mut Vec<(String, String)>,
) -> io::Result<()> {
    let name = page_name(cmd);
    let children: Vec<String> = visible_subcommands(cmd).map(page_name).collect();
    out.push(page(cmd, parent, &children)?);
    for sub in visible_subcommands(cmd) {
        collect(sub, Some(&name), out)?;
    }
    Ok(())
}

/// Writes every page into `dir`; returns the files written.
pub fn write_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, text) in pages()? {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

fn visible_subcommands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// `nsctl-list`, as clap names a built subcommand.
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned()
}

type Section = fn(&Man, &mut dyn Write) -> io::Result<()>;

/// The pages about connection profiles and VPNs, which point to nmcli and
/// openvpn too.
fn is_vpn_page(name: &str) -> bool {
    matches!(name.split('-').nth(1), Some("connection" | "vpn"))
}

/// The iproute2 pages that match a page: `nsctl-route-add` → ip-route(8).
fn iproute2_pages(name: &str) -> Vec<&'static str> {
    let group = name.split('-').nth(1).unwrap_or("");
    match group {
        "" => vec!["ip-netns", "ip-link", "ip-address", "ip-route", "ip-rule"],
        "device" | "link" => vec!["ip-link"],
        "addr" => vec!["ip-address"],
        "route" => vec!["ip-route"],
        "rule" => vec!["ip-rule"],
        "connection" | "vpn" => vec!["ip-netns"],
        _ => vec!["ip-netns"],
    }
}

fn page(
    cmd: &clap::Command,
    parent: Option<&str>,
    subpages: &[String],
) -> io::Result<(String, String)> {
    let version = cmd.get_version().unwrap_or_default();
    let man = Man::new(cmd.clone())
        .source(format!("nsctl {version}"))
        .manual("User Commands");
    let mut sections: Vec<Section> = vec![
        Man::render_title,
        Man::render_name_section,
        Man::render_synopsis_section,
        Man::render_description_section,
        Man::render_options_section,
    ];
    if cmd.has_subcommands() {
        sections.push(Man::render_subcommands_section);
    }

    // Each render_* call starts with the same preamble (a string register
    // for apostrophes); keep the first only.
    let mut text = String::new();
    let mut preamble = None::<String>;
    for section in sections {
        let s = render(&man, section)?;
        match &preamble {
            None => {
                preamble = Some(s[..s.find(".TH ").unwrap_or(0)].to_owned());
                text.push_str(&s);
            }
            Some(p) => text.push_str(s.strip_prefix(p.as_str()).unwrap_or(&s)),
        }
    }

    let name = page_name(cmd);
    let exec = name == "nsctl-exec";
    text.push_str(".SH \"EXIT STATUS\"\n");
    if exec {
        text.push_str(&escape(
            "The exit status of the program, or 128 plus the number of the signal that killed \
             it (130 for SIGINT), as a shell reports it. When the program could not be started, \
             or nsctl stopped waiting for it:",
        ));
        text.push('\n');
        text.push_str(&format!(
            ".TP\n\\fB{NOT_FOUND_EXIT_CODE}\\fR\n{}\n",
            escape("the program, or the working directory, was not found")
        ));
    }
    for (code, meaning) in EXIT_STATUSES.iter().filter(|(c, _)| !exec || *c != 0) {
        text.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", escape(meaning)));
    }
    if exec {
        text.push_str(&format!(
            ".TP\n\\fB128+N\\fR\n{}\n",
            escape(
                "nsctl got signal N and stopped waiting (see DESCRIPTION); the program may still run"
            )
        ));
    }

    text.push_str(".SH ENVIRONMENT\n.TP\n\\fBDBUS_SYSTEM_BUS_ADDRESS\\fR\n");
    text.push_str(&escape(
        "The address of the system bus; unix:path=/var/run/dbus/system_bus_socket if unset.",
    ));
    text.push('\n');
    if exec {
        let names: Vec<String> = FORWARDED_ENV
            .iter()
            .copied()
            .chain(["LC_*"])
            .map(|n| format!("\\fB{}\\fR", escape(n)))
            .collect();
        text.push_str(&format!(".TP\n{}\n", names.join(", ")));
        text.push_str(&escape(
            "Passed on to the program when set, and nothing else of nsctl's environment unless \
             asked for with --env.",
        ));
        text.push('\n');
        text.push_str(".TP\n\\fBNETNSD_PRIVATE_SOCKET\\fR\n");
        text.push_str(&escape(
            "Run as root with the default system bus, nsctl exec goes through netnsd's private \
             socket, /run/netnsd/private, when it is there (peer to peer, without the bus daemon), \
             and through the bus otherwise. This names another socket; set and empty, none is used.",
        ));
        text.push('\n');
    }

    text.push_str(".SH \"SEE ALSO\"\n");
    let mut see_also: Vec<(String, &str)> = Vec::new();
    if let Some(parent) = parent {
        if parent != "nsctl" {
            see_also.push(("nsctl".to_owned(), "1"));
        }
        see_also.push((parent.to_owned(), "1"));
    }
    see_also.extend(subpages.iter().map(|p| (p.clone(), "1")));
    see_also.extend(
        iproute2_pages(&name)
            .into_iter()
            .map(|p| (p.to_owned(), "8")),
    );
    if exec {
        see_also.push(("systemd-run".to_owned(), "1"));
    }
    if is_vpn_page(&name) {
        see_also.extend([("nmcli".to_owned(), "1"), ("openvpn".to_owned(), "8")]);
    }
    see_also.extend(
        [("busctl", "1"), ("pkttyagent", "1"), ("polkit", "8")].map(|(n, s)| (n.to_owned(), s)),
    );
    let refs: Vec<String> = see_also
        .iter()
        .map(|(n, s)| format!("\\fB{}\\fR({s})", escape(n)))
        .collect();
    text.push_str(&refs.join(",\n"));
    text.push('\n');

    let version = render(&man, Man::render_version_section)?;
    let preamble = preamble.unwrap_or_default();
    text.push_str(version.strip_prefix(preamble.as_str()).unwrap_or(&version));

    Ok((man.get_filename(), text))
}

fn render(man: &Man, section: Section) -> io::Result<String> {
    let mut buf = Vec::new();
    section(man, &mut buf)?;
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Escapes text for a roff text line.
fn escape(s: &str) -> String {
    let s = s
        .replace('\\', "\\\\")
        .replace('-', "\\-")
        .replace('\'', "\\*(Aq");
    if s.starts_with('.') {
        format!("\\&{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
    }

    /// The committed pages are what the current clap definition renders.
    /// If this fails after a change to the command line, run
    /// `cargo run -p nsctl -- generate-man docs` and commit the result.
    #[test]
    fn committed_man_pages_are_current() {
        for (name, text) in pages().unwrap() {
            let path = docs_dir().join(&name);
            let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run `cargo run -p nsctl -- generate-man docs`",
                    path.display()
                )
            });
            assert!(
                committed == text,
                "{} is out of date; run `cargo run -p nsctl -- generate-man docs`",
                path.display()
            );
        }
    }

    /// No page is left in docs/ for a subcommand that no longer exists.
    #[test]
    fn no_stale_man_pages() {
        let current: Vec<String> = pages().unwrap().into_iter().map(|(n, _)| n).collect();
        for entry in std::fs::read_dir(docs_dir()).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("nsctl") && name.ends_with(".1") {
                assert!(
                    current.contains(&name),
                    "docs/{name} belongs to no subcommand; remove it"
                );
            }
        }
    }

    #[test]
    fn main_page_has_every_section_once() {
        let (name, text) = pages().unwrap().remove(0);
        assert_eq!(name, "nsctl.1");
        for heading in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH \"SEE ALSO\"",
            ".SH VERSION",
        ] {
            assert_eq!(text.matches(heading).count(), 1, "{heading}\n{text}");
        }
        assert!(!text.contains(".SH EXTRA"));
        assert!(!text.contains("generate\\-man"));
        assert_eq!(text.matches(".ds Aq").count(), 2, "one preamble (.ie/.el)");
        for (code, _) in EXIT_STATUSES {
            assert!(text.contains(&format!(".TP\n\\fB{code}\\fR\n")));
        }
    }

    #[test]
    fn one_page_per_visible_subcommand() {
        let names: Vec<String> = pages().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "nsctl.1",
                "nsctl-list.1",
                "nsctl-add.1",
                "nsctl-delete.1",
                "nsctl-show.1",
                "nsctl-attach.1",
                "nsctl-exec.1",
                "nsctl-uplink.1",
                "nsctl-uplink-set.1",
                "nsctl-uplink-clear.1",
                "nsctl-dns.1",
                "nsctl-dns-set.1",
                "nsctl-dns-clear.1",
                "nsctl-forward.1",
                "nsctl-forward-add.1",
                "nsctl-forward-list.1",
                "nsctl-forward-del.1",
                "nsctl-device.1",
                "nsctl-device-list.1",
                "nsctl-device-show.1",
                "nsctl-device-take.1",
                "nsctl-link.1",
                "nsctl-link-add.1",
                "nsctl-link-add-veth.1",
                "nsctl-link-add-macvlan.1",
                "nsctl-link-add-bridge.1",
                "nsctl-link-add-tunnel.1",
                "nsctl-link-add-vlan.1",
                "nsctl-link-delete.1",
                "nsctl-link-set.1",
                "nsctl-addr.1",
                "nsctl-addr-add.1",
                "nsctl-addr-del.1",
                "nsctl-route.1",
                "nsctl-route-add.1",
                "nsctl-route-del.1",
                "nsctl-route-list.1",
                "nsctl-rule.1",
                "nsctl-rule-add.1",
                "nsctl-rule-del.1",
                "nsctl-rule-list.1",
                "nsctl-connection.1",
                "nsctl-connection-list.1",
                "nsctl-connection-show.1",
                "nsctl-connection-add.1",
                "nsctl-connection-import.1",
                "nsctl-connection-delete.1",
                "nsctl-connection-modify.1",
                "nsctl-connection-reload.1",
                "nsctl-vpn.1",
                "nsctl-vpn-up.1",
                "nsctl-vpn-down.1",
                "nsctl-vpn-status.1",
                "nsctl-reload.1",
                "nsctl-dispatcher.1",
                "nsctl-desktop-entry.1",
                "nsctl-monitor.1",
                "nsctl-graph.1",
            ]
        );
    }

    #[test]
    fn no_help_subcommand_pages_and_every_page_is_complete() {
        for (name, text) in pages().unwrap() {
            assert!(!name.contains("help"), "{name}");
            assert!(!text.contains("\\-help(1)"), "{name}");
            assert_eq!(text.matches(".SH \"EXIT STATUS\"").count(), 1, "{name}");
            assert_eq!(text.matches(".SH \"SEE ALSO\"").count(), 1, "{name}");
        }
    }

    #[test]
    fn see_also_links_parent_children_and_iproute2() {
        let pages = pages().unwrap();
        let page = |n: &str| {
            pages
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, t)| t.clone())
                .unwrap()
        };
        let see_also = |n: &str| {
            let t = page(n);
            t[t.find(".SH \"SEE ALSO\"").unwrap()..t.find(".SH VERSION").unwrap()].to_owned()
        };
        let s = see_also("nsctl-route.1");
        assert!(s.contains("\\fBnsctl\\fR(1)"), "{s}");
        assert!(s.contains("\\fBnsctl\\-route\\-add\\fR(1)"), "{s}");
        assert!(s.contains("\\fBip\\-route\\fR(8)"), "{s}");
        let s = see_also("nsctl-link-add-veth.1");
        assert!(s.contains("\\fBnsctl\\fR(1)"), "{s}");
        assert!(s.contains("\\fBnsctl\\-link\\-add\\fR(1)"), "{s}");
        assert!(s.contains("\\fBip\\-link\\fR(8)"), "{s}");
        let s = see_also("nsctl-show.1");
        assert_eq!(s.matches("\\fBnsctl\\fR(1)").count(), 1, "{s}");
        assert!(s.contains("\\fBip\\-netns\\fR(8)"), "{s}");
        let s = see_also("nsctl-vpn-up.1");
        assert!(s.contains("\\fBnsctl\\-vpn\\fR(1)"), "{s}");
        assert!(s.contains("\\fBnmcli\\fR(1)"), "{s}");
        assert!(s.contains("\\fBopenvpn\\fR(8)"), "{s}");
        let s = see_also("nsctl-connection.1");
        assert!(s.contains("\\fBnsctl\\-connection\\-import\\fR(1)"), "{s}");
        assert!(!see_also("nsctl-route.1").contains("nmcli"));
    }

    #[test]
    fn exec_page_documents_the_programs_status_and_environment() {
        let (_, text) = pages()
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == "nsctl-exec.1")
            .unwrap();
        let status =
            &text[text.find(".SH \"EXIT STATUS\"").unwrap()..text.find(".SH ENVIRONMENT").unwrap()];
        assert!(status.contains("exit status of the program"), "{status}");
        assert!(status.contains(".TP\n\\fB127\\fR\n"), "{status}");
        assert!(status.contains("\\fB128+N\\fR"), "{status}");
        assert!(!status.contains(".TP\n\\fB0\\fR\n"), "{status}");
        let env =
            &text[text.find(".SH ENVIRONMENT").unwrap()..text.find(".SH \"SEE ALSO\"").unwrap()];
        for v in ["DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "LC_*"] {
            assert!(
                env.contains(&format!("\\fB{}\\fR", escape(v))),
                "{v}: {env}"
            );
        }
        assert!(text.contains("\\fBsystemd\\-run\\fR(1)"), "{text}");
        assert!(text.contains("\\fBip\\-netns\\fR(8)"), "{text}");
    }

    #[test]
    fn escapes_roff() {
        assert_eq!(escape("a-b"), "a\\-b");
        assert_eq!(escape(".x"), "\\&.x");
        assert_eq!(escape("a\\b"), "a\\\\b");
    }
}
