//! What nsctl prints on stdout: tables and key/value lines for people,
//! one-line JSON documents for scripts (`--json`). Every function returns the
//! whole text, ending in a newline.

use std::borrow::Cow;

use serde_json::json;

use crate::namespace::Namespace;

/// Column headings of `nsctl list`.
pub const LIST_COLUMNS: [&str; 6] = ["NAME", "ID", "MANAGED", "PERSISTENT", "PATH", "OBJECT"];

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A name can hold any byte but `/` and NUL, so control characters (a newline,
/// an escape sequence) are shown escaped rather than sent to the terminal.
/// JSON output carries the names unchanged.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// An empty value (the root namespace has no path under /run/netns) shown as `-`.
fn or_dash(s: &str) -> Cow<'_, str> {
    if s.is_empty() {
        Cow::Borrowed("-")
    } else {
        terminal_safe(s)
    }
}

/// Left-aligned columns two spaces apart, no trailing blanks.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `nsctl list`: one row per namespace, in the order given.
pub fn list_table(namespaces: &[Namespace]) -> String {
    let rows: Vec<Vec<String>> = namespaces
        .iter()
        .map(|ns| {
            vec![
                terminal_safe(&ns.name).into_owned(),
                ns.id.to_string(),
                yes_no(ns.managed).to_owned(),
                yes_no(ns.persistent).to_owned(),
                or_dash(&ns.path).into_owned(),
                ns.object.clone(),
            ]
        })
        .collect();
    table(&LIST_COLUMNS, &rows)
}

/// `nsctl --json list`: an array of `{name,id,path,persistent,managed,object}`.
pub fn list_json(namespaces: &[Namespace]) -> String {
    to_line(&namespaces)
}

/// `nsctl show NAME`: `Key: value` lines, values aligned.
pub fn show_text(ns: &Namespace) -> String {
    let lines = [
        ("Name", terminal_safe(&ns.name)),
        ("Id", Cow::Owned(ns.id.to_string())),
        ("Path", or_dash(&ns.path)),
        ("Persistent", Cow::Borrowed(yes_no(ns.persistent))),
        ("Managed", Cow::Borrowed(yes_no(ns.managed))),
        ("Object", Cow::Borrowed(ns.object.as_str())),
    ];
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(k, v)| format!("{:<width$} {v}\n", format!("{k}:")))
        .collect()
}

/// `nsctl --json show NAME`: one `{name,id,path,persistent,managed,object}`.
pub fn show_json(ns: &Namespace) -> String {
    to_line(ns)
}

/// `nsctl add NAME`: the new object's path.
pub fn add_text(object: &str) -> String {
    format!("{object}\n")
}

/// `nsctl --json add NAME`: `{"object": PATH}`.
pub fn add_json(object: &str) -> String {
    to_line(&json!({ "object": object }))
}

/// `nsctl delete NAME` prints nothing on success, as `ip netns delete` does.
pub fn delete_text(_result: &str) -> String {
    String::new()
}

/// `nsctl --json delete NAME`: `{"result": "Success"}`, the daemon's reply.
pub fn delete_json(result: &str) -> String {
    to_line(&json!({ "result": result }))
}

fn to_line<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain strings, numbers and booleans cannot fail.
    let mut s = serde_json::to_string(value).expect("JSON serialization");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::namespace::tests::ns;
    use serde_json::Value;

    fn sample() -> Vec<Namespace> {
        let mut vpn = ns("vpn", 1, 4026532281, true);
        vpn.persistent = true;
        vec![
            ns("rootns", 0, 4026531840, false),
            vpn,
            ns("from-ip", 2, 4026532400, false),
        ]
    }

    #[test]
    fn table_has_aligned_columns_and_no_trailing_blanks() {
        let expected = "\
NAME     ID          MANAGED  PERSISTENT  PATH                OBJECT
rootns   4026531840  no       no          -                   /net/netnsd/Netns1/NetworkNamespace/0
vpn      4026532281  yes      yes         /run/netns/vpn      /net/netnsd/Netns1/NetworkNamespace/1
from-ip  4026532400  no       no          /run/netns/from-ip  /net/netnsd/Netns1/NetworkNamespace/2
";
        assert_eq!(list_table(&sample()), expected);
    }

    #[test]
    fn table_of_nothing_is_the_header() {
        assert_eq!(
            list_table(&[]),
            "NAME  ID  MANAGED  PERSISTENT  PATH  OBJECT\n"
        );
    }

    #[test]
    fn table_escapes_control_characters_and_counts_characters() {
        let t = list_table(&[ns("a\nb", 1, 1, true), ns("ünï", 2, 2, true)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[1].starts_with("a\\nb  1 "), "{t}");
        assert!(lines[2].starts_with("ünï   2 "), "{t}");
    }

    #[test]
    fn list_json_is_an_array_of_objects_with_the_agreed_keys() {
        let out = list_json(&sample());
        assert!(out.ends_with('\n') && out.lines().count() == 1);
        let v: Value = serde_json::from_str(&out).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 3);
        assert_eq!(
            arr[1],
            json!({
                "name": "vpn",
                "id": 4026532281u64,
                "path": "/run/netns/vpn",
                "persistent": true,
                "managed": true,
                "object": "/net/netnsd/Netns1/NetworkNamespace/1",
            })
        );
        // Keys in the documented order.
        assert!(out.starts_with(
            r#"[{"name":"rootns","id":4026531840,"path":"","persistent":false,"managed":false,"object":"/net/netnsd/Netns1/NetworkNamespace/0"}"#
        ));
        assert_eq!(list_json(&[]), "[]\n");
    }

    #[test]
    fn json_keeps_names_unescaped() {
        let v: Value = serde_json::from_str(&show_json(&ns("a\nb", 1, 1, true))).unwrap();
        assert_eq!(v["name"], "a\nb");
    }

    #[test]
    fn show_prints_aligned_key_value_lines() {
        let expected = "\
Name:       vpn
Id:         4026532281
Path:       /run/netns/vpn
Persistent: yes
Managed:    yes
Object:     /net/netnsd/Netns1/NetworkNamespace/1
";
        assert_eq!(show_text(&sample()[1]), expected);
        assert!(show_text(&sample()[0]).contains("Path:       -\n"));
    }

    #[test]
    fn show_json_is_one_object() {
        let v: Value = serde_json::from_str(&show_json(&sample()[1])).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec!["name", "id", "path", "persistent", "managed", "object"];
        expected.sort();
        let mut keys = keys;
        keys.sort();
        assert_eq!(keys, expected);
        assert_eq!(v["id"], 4026532281u64);
    }

    #[test]
    fn add_and_delete_output() {
        let o = "/net/netnsd/Netns1/NetworkNamespace/4";
        assert_eq!(add_text(o), format!("{o}\n"));
        assert_eq!(add_json(o), format!("{{\"object\":\"{o}\"}}\n"));
        assert_eq!(delete_text("Success"), "");
        assert_eq!(delete_json("Success"), "{\"result\":\"Success\"}\n");
    }
}
