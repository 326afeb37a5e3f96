//! The shapes nsctl prints in: tables with aligned columns, `Key: value`
//! lines, one-line JSON documents; names made safe for a terminal.

use std::borrow::Cow;

pub(super) fn yes_no(b: bool) -> &'static str {
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
pub(super) fn or_dash(s: &str) -> Cow<'_, str> {
    if s.is_empty() {
        Cow::Borrowed("-")
    } else {
        terminal_safe(s)
    }
}

/// Left-aligned columns two spaces apart, no trailing blanks.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
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

/// `Key: value` lines, the values aligned; an empty key continues the
/// value above.
pub(super) fn key_value_lines(lines: &[(&str, Cow<'_, str>)]) -> String {
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    lines
        .iter()
        .map(|(k, v)| {
            let key = if k.is_empty() {
                String::new()
            } else {
                format!("{k}:")
            };
            format!("{key:<width$} {v}\n")
        })
        .collect()
}

pub(super) fn to_line<T: serde::Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain strings, numbers and booleans cannot fail.
    let mut s = serde_json::to_string(value).expect("JSON serialization");
    s.push('\n');
    s
}
