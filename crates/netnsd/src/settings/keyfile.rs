//! NetworkManager's keyfile format (`man nm-settings-keyfile`): a GKeyFile
//! whose groups are settings and whose keys are their properties, with
//! GKeyFile's value escaping (`\s \n \t \r \\`, and `\;` inside lists) and
//! NetworkManager's own encoding of unusual key names (`\XX`). The vpn
//! setting's data items are the other keys of `[vpn]`, its secrets the keys
//! of `[vpn-secrets]`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use netnsd_api::Error;

use super::schema::{self, Kind, VPN_PROPERTIES, VPN_SECRETS_GROUP, WIREGUARD_PEER_PREFIX};
use super::{Settings, Value};

/// A parsed GKeyFile: groups in file order, each with its keys in order and
/// their raw (still escaped) values. A repeated group continues the first;
/// a repeated key replaces the earlier value, as GKeyFile does.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct KeyFile {
    pub(crate) groups: Vec<Group>,
}

#[derive(Debug, PartialEq)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) entries: Vec<(String, String)>,
}

impl Group {
    fn set(&mut self, key: String, raw: String) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = raw,
            None => self.entries.push((key, raw)),
        }
    }
}

fn is_space(c: char) -> bool {
    // g_ascii_isspace
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// A valid GKeyFile group name: not empty, no '[' or ']', no control
/// characters.
pub(crate) fn valid_group_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c == '[' || c == ']' || c.is_control())
}

impl KeyFile {
    pub(crate) fn parse(text: &str) -> Result<KeyFile, String> {
        let mut kf = KeyFile::default();
        let mut current: Option<usize> = None;
        for (n, line) in text.split('\n').enumerate() {
            let n = n + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = line.trim_start_matches(is_space);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some((name, after)) = rest.split_once(']') else {
                    return Err(format!("line {n}: group header without ']'"));
                };
                if !after.chars().all(|c| c == ' ' || c == '\t') {
                    return Err(format!("line {n}: text after the group header [{name}]"));
                }
                if !valid_group_name(name) {
                    return Err(format!("line {n}: invalid group name {name:?}"));
                }
                current = Some(match kf.groups.iter().position(|g| g.name == name) {
                    Some(i) => i,
                    None => {
                        kf.groups.push(Group {
                            name: name.to_string(),
                            entries: Vec::new(),
                        });
                        kf.groups.len() - 1
                    }
                });
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!(
                    "line {n}: {line:?} is not a key=value pair, a [group] or a comment"
                ));
            };
            let key = key.trim_end_matches(is_space);
            if key.is_empty() {
                return Err(format!("line {n}: empty key"));
            }
            let Some(g) = current else {
                return Err(format!("line {n}: key {key:?} before the first [group]"));
            };
            let value = value.trim_start_matches(is_space);
            kf.groups[g].set(key.to_string(), value.to_string());
        }
        Ok(kf)
    }

    /// The text, as g_key_file_to_data() writes it: a blank line between
    /// groups.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "[{}]", g.name);
            for (k, v) in &g.entries {
                let _ = writeln!(out, "{k}={v}");
            }
        }
        out
    }

    fn group(&mut self, name: &str) -> &mut Group {
        match self.groups.iter().position(|g| g.name == name) {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(Group {
                    name: name.to_string(),
                    entries: Vec::new(),
                });
                self.groups.last_mut().expect("just pushed")
            }
        }
    }
}

/// GKeyFile's value unescaping (g_key_file_parse_value_as_string). Strict:
/// an unknown escape or a trailing backslash is an error, as in
/// g_key_file_get_string(). Lenient: they are kept as they are.
pub(crate) fn unescape(raw: &str, lenient: bool) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(o) if lenient => {
                out.push('\\');
                out.push(o);
            }
            None if lenient => out.push('\\'),
            Some(o) => return Err(format!("invalid escape sequence \\{o}")),
            None => return Err("escape character at the end of the value".into()),
        }
    }
    Ok(out)
}

/// A GKeyFile string list (g_key_file_get_string_list): elements separated
/// by unescaped ';', `\;` standing for ';', an empty last element dropped
/// ("a;b;" and "a;b" are both [a, b]).
pub(crate) fn unescape_list(raw: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut it = raw.chars();
    while let Some(c) = it.next() {
        match c {
            ';' => items.push(std::mem::take(&mut cur)),
            '\\' => match it.next() {
                Some('s') => cur.push(' '),
                Some('n') => cur.push('\n'),
                Some('t') => cur.push('\t'),
                Some('r') => cur.push('\r'),
                Some('\\') => cur.push('\\'),
                Some(';') => cur.push(';'),
                Some(o) => return Err(format!("invalid escape sequence \\{o}")),
                None => return Err("escape character at the end of the value".into()),
            },
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    Ok(items)
}

/// GKeyFile's value escaping (g_key_file_parse_string_as_value): leading
/// spaces as `\s`, newline, tab, carriage return and backslash escaped, and
/// in a list element also ';'.
pub(crate) fn escape(s: &str, in_list: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut leading = true;
    for c in s.chars() {
        if c == ' ' && leading {
            out.push_str("\\s");
            continue;
        }
        leading = false;
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            ';' if in_list => out.push_str("\\;"),
            c => out.push(c),
        }
    }
    out
}

/// A GKeyFile string list: every element escaped and followed by ';'.
pub(crate) fn render_list(items: &[String]) -> String {
    items.iter().map(|i| escape(i, true) + ";").collect()
}

/// NetworkManager's key name encoding (nm_keyfile_key_encode): the empty
/// name is `\00`; non-printable and non-ASCII bytes, '=', '[', ']', a
/// leading or trailing space, and a backslash that would read as an escape
/// are written as `\XX`.
pub(crate) fn encode_key(name: &str) -> String {
    if name.is_empty() {
        return "\\00".into();
    }
    let b = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    for (i, &c) in b.iter().enumerate() {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        let escape = !(b' '..127).contains(&c)
            || matches!(c, b'=' | b'[' | b']')
            || (c == b'\\' && hex(i + 1) && hex(i + 2))
            || (c == b' ' && (i == 0 || i + 1 == b.len()));
        if escape {
            let _ = write!(out, "\\{c:02X}");
        } else {
            out.push(c as char);
        }
    }
    out
}

/// The inverse of [`encode_key`] (nm_keyfile_key_decode).
pub(crate) fn decode_key(key: &str) -> String {
    if key == "\\00" {
        return String::new();
    }
    let b = key.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let v = u8::from_str_radix(&key[i + 1..i + 3], 16).expect("two hex digits");
            if v != 0 {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    // A decoded name that is not UTF-8 cannot have come from encode_key()
    // of a Rust string; keep the key as it is then.
    String::from_utf8(out).unwrap_or_else(|_| key.to_string())
}

fn bad(setting: &str, key: &str, problem: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{setting}.{key}: {problem}"))
}

fn parse_int(s: &str) -> Option<i128> {
    let s = s.trim_matches(is_space);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
            i128::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => {
            digits.parse::<i128>().ok()?
        }
        None => return None,
    };
    Some(if neg { -v } else { v })
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim_matches(is_space).to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// NetworkManager's byte strings (get_bytes): "11;25;38;" is a list of
/// bytes, anything else the string's own bytes (for the SSID with `\;`
/// standing for ';').
fn parse_bytes(raw: &str, unescape_semicolons: bool) -> Result<Vec<u8>, String> {
    let s = unescape(raw, false)?;
    if !s.is_empty()
        && s.chars()
            .all(|c| is_space(c) || c.is_ascii_digit() || c == ';')
    {
        let mut out = Vec::new();
        let mut ok = true;
        let mut rest = s.as_str();
        loop {
            rest = rest.trim_start_matches(is_space);
            if rest.is_empty() {
                break;
            }
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            match rest[..end].parse::<u8>() {
                Ok(b) if end > 0 && end <= 3 => out.push(b),
                _ => {
                    ok = false;
                    break;
                }
            }
            rest = rest[end..].trim_start_matches(is_space);
            match rest.strip_prefix(';') {
                Some(r) => rest = r,
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && !out.is_empty() {
            return Ok(out);
        }
    }
    Ok(if unescape_semicolons {
        s.replace("\\;", ";").into_bytes()
    } else {
        s.into_bytes()
    })
}

fn render_bytes(setting: &str, key: &str, b: &[u8]) -> String {
    if setting == "802-11-wireless" && key == "ssid" && b.iter().all(|c| (b' '..127).contains(c)) {
        // ssid_writer: printable SSIDs as strings, ';' as "\;".
        let s = String::from_utf8(b.to_vec()).expect("printable ASCII");
        return escape(&s.replace(';', "\\;"), false);
    }
    b.iter().map(|c| format!("{c};")).collect()
}

/// A typed value from its raw keyfile text.
fn parse_value(setting: &str, key: &str, kind: Kind, raw: &str) -> Result<Value, Error> {
    let int = |min: i128, max: i128| -> Result<i128, Error> {
        parse_int(raw)
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| {
                let want = schema::expectation(setting, key, kind);
                bad(setting, key, format!("must be {want}, not {raw:?}"))
            })
    };
    Ok(match kind {
        Kind::Str => Value::Str(unescape(raw, false).map_err(|e| bad(setting, key, e))?),
        Kind::Bool => Value::Bool(parse_bool(raw).ok_or_else(|| {
            bad(
                setting,
                key,
                format!("must be a boolean (true or false), not {raw:?}"),
            )
        })?),
        Kind::I32 => Value::I32(int(i32::MIN.into(), i32::MAX.into())? as i32),
        Kind::U32 => Value::U32(int(0, u32::MAX.into())? as u32),
        Kind::I64 => Value::I64(int(i64::MIN.into(), i64::MAX.into())? as i64),
        Kind::U64 => Value::U64(int(0, u64::MAX.into())? as u64),
        Kind::StrList => Value::StrList(unescape_list(raw).map_err(|e| bad(setting, key, e))?),
        Kind::Bytes => Value::Bytes(
            parse_bytes(raw, setting == "802-11-wireless" && key == "ssid")
                .map_err(|e| bad(setting, key, e))?,
        ),
        Kind::StrMap => return Err(bad(setting, key, "is not a key of its own in a keyfile")),
    })
}

fn render_value(setting: &str, key: &str, v: &Value) -> String {
    match v {
        Value::Str(s) => escape(s, false),
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::StrList(l) => render_list(l),
        Value::Bytes(b) => render_bytes(setting, key, b),
        // Refused by validation everywhere but vpn.data and vpn.secrets,
        // which are written as groups of their own.
        Value::StrMap(m) => m
            .iter()
            .map(|(k, v)| escape(&format!("{k}={v}"), true) + ";")
            .collect(),
    }
}

/// The settings a keyfile holds (not yet validated).
pub(crate) fn read(text: &str) -> Result<Settings, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let kf = KeyFile::parse(text).map_err(|e| Error::InvalidArgument(format!("keyfile {e}")))?;
    let mut settings = Settings::new();
    let mut secrets: Option<BTreeMap<String, String>> = None;
    for g in &kf.groups {
        if g.name == VPN_SECRETS_GROUP {
            let m = secrets.get_or_insert_with(BTreeMap::new);
            for (k, raw) in &g.entries {
                m.insert(decode_key(k), unescape(raw, true).expect("lenient"));
            }
            continue;
        }
        let name = schema::setting_for_alias(&g.name).to_string();
        let setting = settings.entry(name.clone()).or_default();
        if name == "vpn" {
            let mut data = match setting.remove("data") {
                Some(Value::StrMap(m)) => m,
                _ => BTreeMap::new(),
            };
            for (k, raw) in &g.entries {
                let key = decode_key(k);
                match key.as_str() {
                    "data" | "secrets" | "name" => {}
                    p if VPN_PROPERTIES.contains(&p) => {
                        let kind = schema::kind("vpn", p).expect("a vpn property");
                        setting.insert(key.clone(), parse_value("vpn", &key, kind, raw)?);
                    }
                    _ => {
                        data.insert(key, unescape(raw, true).expect("lenient"));
                    }
                }
            }
            setting.insert("data".into(), Value::StrMap(data));
            continue;
        }
        for (k, raw) in &g.entries {
            let key = decode_key(k);
            let mut v = match schema::kind(&name, &key) {
                Some(kind) => parse_value(&name, &key, kind, raw)?,
                None => Value::Str(unescape(raw, true).expect("lenient")),
            };
            if name == "connection"
                && key == "type"
                && let Value::Str(t) = &mut v
            {
                *t = schema::setting_for_alias(t).to_string();
            }
            setting.insert(key, v);
        }
    }
    // Like NetworkManager, [vpn-secrets] counts only with a [vpn] group.
    if let (Some(m), Some(vpn)) = (secrets, settings.get_mut("vpn")) {
        vpn.insert("secrets".into(), Value::StrMap(m));
    }
    Ok(settings)
}

/// Where a setting's group goes: [connection], the connection type's own
/// setting, the others, then [ipv4], [ipv6], [proxy], as NetworkManager
/// orders them, each part by group name. Peers follow their [wireguard]
/// group.
fn rank(name: &str, kind: &str) -> (u8, String) {
    let r = match name {
        "connection" => 0,
        n if n == kind => 1,
        n if n.starts_with(WIREGUARD_PEER_PREFIX) && kind == "wireguard" => 2,
        "ipv4" => 4,
        "ipv6" => 5,
        "proxy" => 6,
        _ => 3,
    };
    (r, schema::alias_for_setting(name).to_string())
}

/// The keyfile for validated settings.
pub(crate) fn write(settings: &Settings) -> String {
    let kind = match settings.get("connection").and_then(|c| c.get("type")) {
        Some(Value::Str(t)) => t.as_str(),
        _ => "",
    };
    let mut names: Vec<&String> = settings.keys().collect();
    names.sort_by_key(|n| rank(n, kind));
    let mut kf = KeyFile::default();
    for name in names {
        let setting = &settings[name];
        let group = schema::alias_for_setting(name).to_string();
        kf.group(&group);
        if name == "vpn" {
            if let Some(Value::StrMap(data)) = setting.get("data") {
                for (k, v) in data {
                    kf.group(&group).set(encode_key(k), escape(v, false));
                }
            }
            for (k, v) in setting {
                if k != "data" && k != "secrets" {
                    kf.group(&group)
                        .set(encode_key(k), render_value(name, k, v));
                }
            }
            if let Some(Value::StrMap(secrets)) = setting.get("secrets") {
                let g = kf.group(VPN_SECRETS_GROUP);
                for (k, v) in secrets {
                    g.set(encode_key(k), escape(v, false));
                }
            }
            continue;
        }
        let first: &[&str] = if name == "connection" {
            &["id", "uuid", "type"]
        } else {
            &[]
        };
        let ordered = first
            .iter()
            .filter_map(|k| setting.get_key_value(*k))
            .chain(setting.iter().filter(|(k, _)| !first.contains(&k.as_str())));
        for (k, v) in ordered {
            let raw = match (name.as_str(), k.as_str(), v) {
                ("connection", "type", Value::Str(t)) => {
                    escape(schema::alias_for_setting(t), false)
                }
                _ => render_value(name, k, v),
            };
            kf.group(&group).set(encode_key(k), raw);
        }
    }
    kf.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gkeyfile_syntax() {
        let kf = KeyFile::parse(
            "# comment\n\n  [a]  \nk = v \nx=1\r\n[b]\n\tk=  \\s lead\n[a]\nx=2\ny=\n",
        )
        .unwrap();
        assert_eq!(kf.groups.len(), 2);
        assert_eq!(kf.groups[0].name, "a");
        assert_eq!(
            kf.groups[0].entries,
            vec![
                ("k".to_string(), "v ".to_string()),
                ("x".to_string(), "2".to_string()),
                ("y".to_string(), String::new()),
            ]
        );
        assert_eq!(kf.groups[1].entries[0].1, "\\s lead");
        for (bad, what) in [
            ("k=v\n", "before the first [group]"),
            ("[a\n", "without ']'"),
            ("[a] x\n", "text after"),
            ("[]\n", "invalid group name"),
            ("[a]\njunk\n", "not a key=value pair"),
            ("[a]\n=v\n", "empty key"),
        ] {
            let e = KeyFile::parse(bad).unwrap_err();
            assert!(e.contains(what), "{bad:?}: {e}");
            assert!(e.starts_with("line "), "{e}");
        }
    }

    #[test]
    fn value_escapes() {
        assert_eq!(
            unescape(r"\s a\sb\n\t\r\\", false).unwrap(),
            "  a b\n\t\r\\"
        );
        assert!(unescape(r"a\x", false).is_err());
        assert!(unescape("a\\", false).is_err());
        assert_eq!(unescape(r"a\;b\x", true).unwrap(), r"a\;b\x");
        for s in [
            "  two leading",
            "a b ",
            "tab\there",
            "nl\nx",
            "back\\slash",
            ";semi;",
            "",
        ] {
            assert_eq!(unescape(&escape(s, false), false).unwrap(), s, "{s:?}");
        }
        assert_eq!(escape("  x y", false), r"\s\sx y");
        assert_eq!(escape("a;b", false), "a;b");
        assert_eq!(escape("a;b", true), r"a\;b");
    }

    #[test]
    fn lists() {
        assert_eq!(unescape_list("a;b;").unwrap(), vec!["a", "b"]);
        assert_eq!(unescape_list("a;b").unwrap(), vec!["a", "b"]);
        assert_eq!(unescape_list("").unwrap(), Vec::<String>::new());
        assert_eq!(unescape_list("a;;b;").unwrap(), vec!["a", "", "b"]);
        assert_eq!(unescape_list(r"x\;y;\sz;").unwrap(), vec!["x;y", " z"]);
        let l = vec!["x;y".to_string(), " lead".to_string(), "b\\s".to_string()];
        assert_eq!(unescape_list(&render_list(&l)).unwrap(), l);
        assert_eq!(
            render_list(&["10.0.0.1".into(), "1.1.1.1".into()]),
            "10.0.0.1;1.1.1.1;"
        );
        assert_eq!(render_list(&[]), "");
    }

    #[test]
    fn key_names() {
        for (name, key) in [
            ("remote", "remote"),
            ("", "\\00"),
            (" ", "\\20"),
            (" a", "\\20a"),
            ("a ", "a\\20"),
            ("a b", "a b"),
            ("a=b", "a\\3Db"),
            ("x[de]", "x\\5Bde\\5D"),
            ("ü", "\\C3\\BC"),
            ("\\41", "\\5C41"),
            ("\\x", "\\x"),
        ] {
            assert_eq!(encode_key(name), key, "{name:?}");
            assert_eq!(decode_key(key), name, "{key:?}");
        }
    }

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("104;105;", false).unwrap(), b"hi");
        assert_eq!(parse_bytes("hi", false).unwrap(), b"hi");
        assert_eq!(parse_bytes("12;34", false).unwrap(), b"12;34");
        assert_eq!(parse_bytes("300;", false).unwrap(), b"300;");
        assert_eq!(parse_bytes(r"16\\;17\\;", true).unwrap(), b"16;17;");
        assert_eq!(
            render_bytes("802-11-wireless", "ssid", b"16;17;"),
            r"16\\;17\\;"
        );
        assert_eq!(
            render_bytes("802-11-wireless", "ssid", b"caf\xc3"),
            "99;97;102;195;"
        );
        assert_eq!(render_bytes("802-1x", "password-raw", b"ab"), "97;98;");
        for b in [&b"cafe"[..], b"16;17;", b"\x00\x01", b" lead"] {
            let raw = render_bytes("802-11-wireless", "ssid", b);
            assert_eq!(parse_bytes(&raw, true).unwrap(), b, "{raw}");
        }
    }

    #[test]
    fn integers_and_booleans() {
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("1e3"), None);
        assert_eq!(parse_int("0x"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("no"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
