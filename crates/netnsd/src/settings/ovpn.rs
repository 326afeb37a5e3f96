//! Importing a plain OpenVPN client configuration (`.ovpn`) as a profile of
//! NetworkManager's OpenVPN plugin, the way its importer
//! (NetworkManager-openvpn, properties/import-export.c) does: the same
//! vpn.data keys and values, the same checks, unknown options skipped.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use netnsd_api::Error;

use super::{OPENVPN_SERVICE_TYPE, Profile, Settings, Value, new_uuid_v4};

/// An imported configuration: the profile, and the inline blocks of the
/// file (`<ca>`, `<cert>`, `<key>`, `<tls-auth>`, `<tls-crypt>`, …) that
/// still need a file of their own. Their vpn.data keys are left unset until
/// [`Imported::place_files`] writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub profile: Profile,
    /// (vpn.data key such as "ca" or "ta", file contents), in key order.
    pub inline_files: Vec<(String, String)>,
}

impl Imported {
    /// Writes each inline block to `dir` (created mode 0700 if missing) as
    /// `<key>.pem`, mode 0600, and sets its vpn.data key to that path.
    /// The profile's store keeps them in `/etc/netnsd/connections/<uuid>/`
    /// ([`super::Store::files_dir`]).
    pub fn place_files(&mut self, dir: &Path) -> io::Result<()> {
        if !self.inline_files.is_empty() && !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        for (key, contents) in &self.inline_files {
            let path = dir.join(format!("{key}.pem"));
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?;
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
            f.write_all(contents.as_bytes())?;
            f.sync_all()?;
            let p = path.to_str().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not UTF-8", path.display()),
                )
            })?;
            self.profile.set_vpn_data_item(key, p);
        }
        Ok(())
    }
}

/// openvpn's --proto values NetworkManager accepts.
const PROTOS: &[&str] = &[
    "udp",
    "udp4",
    "udp6",
    "tcp",
    "tcp4",
    "tcp6",
    "tcp-client",
    "tcp4-client",
    "tcp6-client",
];

/// One line split into words as openvpn does (parse_line): words separated
/// by whitespace, "double" (with backslash escapes) and 'single' quotes, a
/// backslash escaping the next character outside quotes, comments from '#'
/// or ';' at the start of a word. None for an empty or comment line.
fn split_words(line: &str) -> Result<Option<Vec<String>>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut chars = line.chars().peekable();
    let mut words = Vec::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') | Some(';') => break,
            _ => {}
        }
        let mut w = String::new();
        let c0 = chars.next().expect("peeked");
        if c0 == '"' || c0 == '\'' {
            loop {
                match chars.next() {
                    None => {
                        let what = if c0 == '"' { "double" } else { "single" };
                        return Err(format!("unterminated {what} quote"));
                    }
                    Some(c) if c == c0 => break,
                    Some('\\') if c0 == '"' => match chars.next() {
                        Some(c) => w.push(c),
                        None => return Err("unterminated double quote".into()),
                    },
                    Some(c) => w.push(c),
                }
            }
        } else {
            let mut c = c0;
            loop {
                if c == '\\' {
                    c = chars.next().ok_or("trailing escaping backslash")?;
                }
                w.push(c);
                match chars.peek() {
                    Some(n) if !n.is_ascii_whitespace() => c = chars.next().expect("peeked"),
                    _ => break,
                }
            }
        }
        words.push(w);
    }
    Ok(if words.is_empty() { None } else { Some(words) })
}

fn nargs(p: &[String], min: usize, max: usize) -> Result<(), String> {
    let n = p.len() - 1;
    if (min..=max).contains(&n) {
        return Ok(());
    }
    Err(if min != max {
        format!("option {} expects between {min} and {max} arguments", p[0])
    } else if min == 0 {
        format!("option {} expects no arguments", p[0])
    } else if min == 1 {
        format!("option {} expects exactly one argument", p[0])
    } else {
        format!("option {} expects exactly {min} arguments", p[0])
    })
}

fn nonempty(p: &[String], i: usize) -> Result<&str, String> {
    match p[i].as_str() {
        "" => Err(format!("argument of {:?} can not be empty", p[0])),
        s => Ok(s),
    }
}

fn int(p: &[String], i: usize, min: i64, max: i64) -> Result<i64, String> {
    p[i].parse::<i64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            format!(
                "invalid argument {i} to {:?}: a number from {min} to {max} expected",
                p[0]
            )
        })
}

fn direction(p: &[String], i: usize) -> Result<&'static str, String> {
    match p[i].as_str() {
        "0" => Ok("0"),
        "1" => Ok("1"),
        _ => Err(format!("invalid key direction {:?} to {:?}", p[i], p[0])),
    }
}

/// A file named in the configuration, made absolute against `base_dir`.
fn file_path(base_dir: &Path, f: &str) -> Result<String, String> {
    let p = Path::new(f);
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    };
    let s = full
        .to_str()
        .ok_or_else(|| format!("file name {f:?} is not UTF-8"))?
        .to_string();
    if s.contains('\\') {
        return Err(format!("file name {s:?} contains a backslash"));
    }
    Ok(s)
}

/// The most a credentials file may hold.
const MAX_CREDENTIALS: u64 = 64 * 1024;

/// Opens a file the configuration names for reading, as whoever runs this
/// (the caller: [`import_ovpn_as`]); a FIFO or device does not block.
fn open_named(path: &str) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// The first two non-empty lines of a credentials file (auth-user-pass,
/// http-proxy): user name and password.
fn read_credentials(path: &str) -> Result<(String, Option<String>), String> {
    // A credentials file is a small regular file: refuse anything else
    // (a device, a FIFO, something huge), as the descriptor opened shows.
    let f = open_named(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    if !meta.is_file() || meta.len() > MAX_CREDENTIALS {
        return Err(format!(
            "{path} is not a credentials file (a regular file of at most 64 KiB)"
        ));
    }
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(f, MAX_CREDENTIALS), &mut text)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let user = lines
        .next()
        .ok_or_else(|| format!("{path} holds no user name"))?
        .to_string();
    Ok((user, lines.next().map(str::to_string)))
}

/// A file the profile will name (a certificate, a key): one the caller
/// cannot read is refused. One missing is not (as NetworkManager's
/// importer, the path is kept for later).
fn check_readable(path: &str) -> Result<(), String> {
    match open_named(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            Err(format!("cannot read {path}: {e}"))
        }
        _ => Ok(()),
    }
}

#[derive(Default)]
struct State {
    data: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    inline: BTreeMap<String, String>,
    routes: Vec<String>,
    have_client: bool,
    have_remote: bool,
    have_pass: bool,
    have_sk: bool,
    have_cert: bool,
    have_key: bool,
    have_ca: bool,
    have_pkcs12: bool,
    ta_direction: Option<&'static str>,
    secret_direction: Option<&'static str>,
    allow_ta_direction: bool,
    allow_secret_direction: bool,
    implied_dev_type: Option<&'static str>,
}

impl State {
    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.data.insert(key.to_string(), value.into());
    }

    /// A file-valued key: a later file or inline block replaces an earlier
    /// one.
    fn set_file(&mut self, key: &str, path: String) -> Result<(), String> {
        check_readable(&path)?;
        self.inline.remove(key);
        self.set(key, path);
        Ok(())
    }

    fn set_inline(&mut self, key: &str, contents: String) {
        self.data.remove(key);
        self.inline.insert(key.to_string(), contents);
    }

    fn option(&mut self, p: &[String], base_dir: &Path) -> Result<(), String> {
        match p[0].as_str() {
            "client" | "tls-client" => {
                nargs(p, 0, 0)?;
                self.have_client = true;
            }
            "key-direction" => {
                nargs(p, 1, 1)?;
                let d = direction(p, 1)?;
                self.ta_direction = Some(d);
                self.secret_direction = Some(d);
            }
            "dev" => {
                nargs(p, 1, 1)?;
                let dev = nonempty(p, 1)?;
                self.implied_dev_type = if dev.starts_with("tun") {
                    Some("tun")
                } else if dev.starts_with("tap") {
                    Some("tap")
                } else {
                    None
                };
                self.set("dev", dev);
            }
            "dev-type" => {
                nargs(p, 1, 1)?;
                if !matches!(p[1].as_str(), "tun" | "tap") {
                    return Err(format!("invalid argument 1 to {:?}: tun or tap", p[0]));
                }
                self.set("dev-type", p[1].as_str());
            }
            "proto" => {
                nargs(p, 1, 1)?;
                if !PROTOS.contains(&p[1].as_str()) {
                    return Err("proto expects a protocol type like \"udp\" or \"tcp\"".into());
                }
                if !p[1].starts_with("udp") {
                    self.set("proto-tcp", "yes");
                }
            }
            "mssfix" => {
                nargs(p, 0, 1)?;
                match p.get(1) {
                    Some(_) => {
                        let v = int(p, 1, 0, i32::MAX.into())?;
                        self.set("mssfix", v.to_string());
                    }
                    None => self.set("mssfix", "yes"),
                }
            }
            "mtu-disc" => {
                nargs(p, 1, 1)?;
                if !matches!(p[1].as_str(), "no" | "maybe" | "yes") {
                    return Err("unsupported mtu-disc argument".into());
                }
                self.set("mtu-disc", p[1].as_str());
            }
            "crl-verify" => {
                nargs(p, 1, 2)?;
                let f = file_path(base_dir, nonempty(p, 1)?)?;
                match p.get(2).map(String::as_str) {
                    None => self.set_file("crl-verify-file", f)?,
                    Some("dir") => {
                        check_readable(&f)?;
                        self.set("crl-verify-dir", f);
                    }
                    Some(_) => return Err("unsupported crl-verify argument".into()),
                }
            }
            "ns-cert-type" | "remote-cert-tls" => {
                nargs(p, 1, 1)?;
                if !matches!(p[1].as_str(), "client" | "server") {
                    return Err(format!("{}: client or server expected", p[0]));
                }
                self.set(&p[0], p[1].as_str());
            }
            "tun-mtu" => {
                nargs(p, 1, 1)?;
                self.set("tunnel-mtu", int(p, 1, 0, 0xffff)?.to_string());
            }
            "connect-timeout" | "server-poll-timeout" => {
                nargs(p, 1, 1)?;
                self.set(
                    "connect-timeout",
                    int(p, 1, 0, i32::MAX.into())?.to_string(),
                );
            }
            "fragment" => {
                nargs(p, 1, 1)?;
                self.set("fragment-size", int(p, 1, 0, 0xffff)?.to_string());
            }
            "comp-lzo" => {
                nargs(p, 0, 1)?;
                let v = match p.get(1).map(String::as_str) {
                    None => "adaptive",
                    // NetworkManager's way to say an explicit "no".
                    Some("no") => "no-by-default",
                    Some(v @ ("yes" | "adaptive")) => v,
                    Some(_) => return Err("unsupported comp-lzo argument".into()),
                };
                self.set("comp-lzo", v);
            }
            "compress" => {
                nargs(p, 0, 1)?;
                let v = match p.get(1).map(String::as_str) {
                    None => "yes",
                    Some(v @ ("lzo" | "lz4" | "lz4-v2" | "stub" | "stub-v2" | "migrate")) => v,
                    Some(_) => return Err("unsupported compress argument".into()),
                };
                self.set("compress", v);
            }
            "reneg-sec" => {
                nargs(p, 1, 1)?;
                self.set("reneg-seconds", int(p, 1, 0, i32::MAX.into())?.to_string());
            }
            "max-routes" => {
                nargs(p, 1, 1)?;
                self.set("max-routes", int(p, 1, 0, 100_000_000)?.to_string());
            }
            "http-proxy-retry" | "socks-proxy-retry" => {
                nargs(p, 0, 0)?;
                self.set("proxy-retry", "yes");
            }
            "http-proxy" | "socks-proxy" => {
                let http = p[0] == "http-proxy";
                if http {
                    nargs(p, 2, 4)?;
                } else {
                    nargs(p, 1, 3)?;
                }
                let server = nonempty(p, 1)?.to_string();
                let port = match p.get(2) {
                    Some(_) => Some(int(p, 2, 1, 65535)?),
                    None => None,
                };
                self.set("proxy-type", if http { "http" } else { "socks" });
                self.set("proxy-server", server);
                if let Some(port) = port {
                    self.set("proxy-port", port.to_string());
                }
                if let Some(auth) = p.get(3).map(String::as_str)
                    && !matches!(auth, "stdin" | "auto")
                {
                    let (user, pass) = read_credentials(&file_path(base_dir, auth)?)?;
                    let pass = pass.ok_or("the HTTP proxy auth file holds no password")?;
                    // What a credentials file holds is a secret, user name too.
                    self.secrets.insert("http-proxy-username".into(), user);
                    self.secrets.insert("http-proxy-password".into(), pass);
                }
            }
            "remote" => {
                nargs(p, 1, 3)?;
                let host = nonempty(p, 1)?;
                if host.contains(' ') || host.contains(',') {
                    return Err("remote cannot contain a space or a comma".into());
                }
                if p.len() > 2 {
                    int(p, 2, 1, 65535)?;
                }
                if let Some(proto) = p.get(3)
                    && !PROTOS.contains(&proto.as_str())
                {
                    return Err("remote expects a protocol type like \"udp\" or \"tcp\"".into());
                }
                let has_colon = host.contains(':');
                let mut r = if has_colon && host.parse::<Ipv6Addr>().is_ok() {
                    format!("[{host}]")
                } else {
                    host.to_string()
                };
                match (p.get(2), p.get(3)) {
                    (Some(port), Some(proto)) => r += &format!(":{port}:{proto}"),
                    (Some(port), None) => {
                        r += &format!(":{port}");
                        if has_colon {
                            r.push(':');
                        }
                    }
                    _ if has_colon => r += "::",
                    _ => {}
                }
                let all = match self.data.get("remote") {
                    Some(prev) => format!("{prev}, {r}"),
                    None => r,
                };
                self.set("remote", all);
                self.have_remote = true;
            }
            "remote-random"
            | "remote-random-hostname"
            | "allow-pull-fqdn"
            | "tun-ipv6"
            | "push-peer-info"
            | "float" => {
                nargs(p, 0, 0)?;
                self.set(&p[0], "yes");
            }
            "port" | "rport" => {
                nargs(p, 1, 1)?;
                self.set("port", int(p, 1, 1, 65535)?.to_string());
            }
            "ping" | "ping-exit" | "ping-restart" => {
                nargs(p, 1, 1)?;
                let v = int(p, 1, 0, i32::MAX.into())?;
                self.set(&p[0], v.to_string());
            }
            "keepalive" => {
                nargs(p, 2, 2)?;
                let ping = int(p, 1, 0, i32::MAX.into())?;
                let restart = int(p, 2, 0, i32::MAX.into())?;
                self.set("ping", ping.to_string());
                self.set("ping-restart", restart.to_string());
            }
            "tls-version-min" | "tls-version-max" | "cipher" | "data-ciphers" | "tls-cipher"
            | "auth" | "tls-remote" => {
                nargs(p, 1, 1)?;
                let v = nonempty(p, 1)?.to_string();
                self.set(&p[0], v);
            }
            "keysize" => {
                nargs(p, 1, 1)?;
                self.set("keysize", int(p, 1, 1, 65535)?.to_string());
            }
            "ca" | "cert" | "extra-certs" | "key" | "pkcs12" | "secret" | "tls-auth"
            | "tls-crypt" | "tls-crypt-v2" => {
                let with_direction = matches!(p[0].as_str(), "secret" | "tls-auth");
                nargs(p, 1, if with_direction { 2 } else { 1 })?;
                let f = nonempty(p, 1)?;
                let dir = match p.get(2) {
                    Some(_) => Some(direction(p, 2)?),
                    None => None,
                };
                // "[inline]": an old way to point at an inline block.
                let path = if f == "[inline]" {
                    None
                } else {
                    Some(file_path(base_dir, f)?)
                };
                let key = match p[0].as_str() {
                    "secret" => {
                        self.secret_direction = dir.or(self.secret_direction);
                        self.allow_secret_direction = true;
                        self.have_sk = true;
                        "static-key"
                    }
                    "tls-auth" => {
                        self.ta_direction = dir.or(self.ta_direction);
                        self.allow_ta_direction = true;
                        "ta"
                    }
                    "ca" => {
                        self.have_ca = true;
                        "ca"
                    }
                    "cert" => {
                        self.have_cert = true;
                        "cert"
                    }
                    "key" => {
                        self.have_key = true;
                        "key"
                    }
                    "pkcs12" => {
                        // openvpn allows a PEM --ca with --pkcs12.
                        let path = path.ok_or("an inline <pkcs12> block is not supported")?;
                        if !self.have_ca {
                            self.set_file("ca", path.clone())?;
                            self.have_ca = true;
                        }
                        self.set_file("cert", path.clone())?;
                        self.set_file("key", path)?;
                        self.have_pkcs12 = true;
                        return Ok(());
                    }
                    other => other,
                };
                if let Some(path) = path {
                    self.set_file(key, path)?;
                }
            }
            "verify-x509-name" => {
                nargs(p, 1, 2)?;
                let name = nonempty(p, 1)?;
                let kind = match p.get(2).map(String::as_str) {
                    None => "subject",
                    Some(t @ ("subject" | "name" | "name-prefix")) => t,
                    Some(_) => return Err("invalid verify-x509-name type".into()),
                };
                self.set("verify-x509-name", format!("{kind}:{name}"));
            }
            "ifconfig" => {
                nargs(p, 2, 2)?;
                let local = nonempty(p, 1)?.to_string();
                let remote = nonempty(p, 2)?.to_string();
                self.set("local-ip", local);
                self.set("remote-ip", remote);
            }
            "auth-user-pass" => {
                nargs(p, 0, 1)?;
                self.have_pass = true;
                if let Some(f) = p.get(1).map(String::as_str)
                    && f != "stdin"
                {
                    let (user, pass) = read_credentials(&file_path(base_dir, f)?)?;
                    // What a credentials file holds is a secret, user name
                    // too: vpn.secrets, never shown by GetSettings.
                    self.secrets.insert("username".into(), user);
                    if let Some(pass) = pass {
                        self.secrets.insert("password".into(), pass);
                    }
                }
            }
            "route" => {
                nargs(p, 1, 4)?;
                let ip4 = |i: usize| -> Result<Ipv4Addr, String> {
                    p[i].parse::<Ipv4Addr>().map_err(|_| {
                        format!(
                            "invalid argument {i} to \"route\": only IPv4 addresses are supported, not {:?}",
                            p[i]
                        )
                    })
                };
                let net = ip4(1)?;
                let prefix = match p.get(2) {
                    Some(_) => {
                        let m = u32::from(ip4(2)?);
                        if m.leading_ones() + m.trailing_zeros() != 32 {
                            return Err(format!("invalid netmask {:?} to \"route\"", p[2]));
                        }
                        m.leading_ones()
                    }
                    None => 32,
                };
                let gw = match p.get(3) {
                    Some(_) => Some(ip4(3)?),
                    None => None,
                };
                let metric = match p.get(4) {
                    Some(_) => Some(int(p, 4, 0, u32::MAX.into())?),
                    None => None,
                };
                if prefix == 0 && net.is_unspecified() {
                    // The default route is not a route of the profile.
                    return Ok(());
                }
                let mut r = format!("{net}/{prefix}");
                match (gw, metric) {
                    (gw, Some(m)) => r += &format!(",{},{m}", gw.unwrap_or(Ipv4Addr::UNSPECIFIED)),
                    (Some(gw), None) => r += &format!(",{gw}"),
                    (None, None) => {}
                }
                self.routes.push(r);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The data key an inline block sets.
fn inline_key(token: &str) -> Result<&'static str, String> {
    Ok(match token {
        "ca" => "ca",
        "cert" => "cert",
        "key" => "key",
        "extra-certs" => "extra-certs",
        "crl-verify" => "crl-verify-file",
        "tls-crypt" => "tls-crypt",
        "tls-crypt-v2" => "tls-crypt-v2",
        "tls-auth" => "ta",
        "secret" => "static-key",
        "pkcs12" => {
            return Err(
                "an inline <pkcs12> block is not supported; save it to a file and use \"pkcs12 FILE\""
                    .into(),
            );
        }
        _ => return Err(format!("unsupported inline block <{token}>")),
    })
}

/// [`import_ovpn`] as `caller`: every file the configuration names is
/// opened with the caller's credentials ([`super::caller`]), so nothing
/// the caller could not read is read for it.
pub async fn import_ovpn_as(
    caller: super::caller::Caller,
    text: String,
    id: String,
    base_dir: std::path::PathBuf,
) -> Result<Imported, Error> {
    super::caller::run_as(caller, move || import_ovpn(&text, &id, &base_dir)).await?
}

/// Turns a plain OpenVPN client configuration into a type=vpn profile of
/// NetworkManager's OpenVPN plugin (service-type
/// org.freedesktop.NetworkManager.openvpn) named `id`. Files named in it
/// are made absolute against `base_dir` (one that exists but cannot be read
/// is refused); an `auth-user-pass` or `http-proxy` credentials file is
/// read (user name and password into vpn.secrets). Unlike NetworkManager's importer, a `dev tun…` or
/// `dev tap…` without `dev-type` also sets vpn.data dev-type, as openvpn
/// infers it. Errors are InvalidArgument with the line number.
pub fn import_ovpn(text: &str, id: &str, base_dir: &Path) -> Result<Imported, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let err = |n: usize, e: String| Error::InvalidArgument(format!("line {n}: {e}"));
    let mut st = State::default();
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, line)) = lines.next() {
        let Some(mut p) = split_words(line).map_err(|e| err(n, e))? else {
            continue;
        };
        if let Some(opt) = p[0].strip_prefix("--") {
            p[0] = opt.to_string();
        }
        let w = p[0].as_str();
        if w.len() > 2 && w.starts_with('<') && w.ends_with('>') {
            let token = w[1..w.len() - 1].to_string();
            let key = inline_key(&token).map_err(|e| err(n, e))?;
            let end = format!("</{token}>");
            let mut body = String::new();
            let mut closed = false;
            for (_, l) in lines.by_ref() {
                let l = l.trim_start();
                if l.starts_with(&end) {
                    closed = true;
                    break;
                }
                body.push_str(l.strip_suffix('\r').unwrap_or(l));
                body.push('\n');
            }
            if !closed {
                return Err(err(n, format!("unterminated inline block <{token}>")));
            }
            match key {
                "ca" => st.have_ca = true,
                "cert" => st.have_cert = true,
                "key" => st.have_key = true,
                "ta" => st.allow_ta_direction = true,
                "static-key" => {
                    st.allow_secret_direction = true;
                    st.have_sk = true;
                }
                _ => {}
            }
            st.set_inline(key, body);
            continue;
        }
        st.option(&p, base_dir).map_err(|e| err(n, e))?;
    }

    let invalid = |why: &str| {
        Error::InvalidArgument(format!("not a valid OpenVPN client configuration ({why})"))
    };
    if let (true, Some(d)) = (st.allow_secret_direction, st.secret_direction) {
        st.set("static-key-direction", d);
    }
    if let (true, Some(d)) = (st.allow_ta_direction, st.ta_direction) {
        st.set("ta-dir", d);
    }
    if !st.data.contains_key("dev-type")
        && let Some(t) = st.implied_dev_type
    {
        st.set("dev-type", t);
    }
    if !st.have_client && !st.have_sk {
        return Err(invalid("neither client nor secret"));
    }
    if !st.have_remote {
        return Err(invalid("no remote"));
    }
    if st.have_client {
        if st.have_pkcs12 {
            if st.have_cert || st.have_key {
                return Err(invalid("pkcs12 can not be used with cert or key"));
            }
        } else {
            if !st.have_ca {
                return Err(invalid("missing ca"));
            }
            if st.have_cert != st.have_key {
                return Err(invalid("cert and key go together"));
            }
        }
    }
    let ctype = if st.have_pass {
        if st.have_cert || st.have_pkcs12 {
            "password-tls"
        } else {
            "password"
        }
    } else if st.have_cert || st.have_pkcs12 {
        "tls"
    } else if st.have_sk {
        "static-key"
    } else {
        "tls"
    };
    st.set("connection-type", ctype);

    let mut settings = Settings::new();
    let con = settings.entry("connection".into()).or_default();
    con.insert("id".into(), Value::from(id));
    con.insert("uuid".into(), Value::Str(new_uuid_v4()));
    con.insert("type".into(), Value::from("vpn"));
    let vpn = settings.entry("vpn".into()).or_default();
    vpn.insert("service-type".into(), Value::from(OPENVPN_SERVICE_TYPE));
    vpn.insert("data".into(), Value::StrMap(st.data));
    if !st.secrets.is_empty() {
        vpn.insert("secrets".into(), Value::StrMap(st.secrets));
    }
    let ipv4 = settings.entry("ipv4".into()).or_default();
    ipv4.insert("method".into(), Value::from("auto"));
    for (i, r) in st.routes.into_iter().enumerate() {
        ipv4.insert(format!("route{}", i + 1), Value::Str(r));
    }
    let ipv6 = settings.entry("ipv6".into()).or_default();
    ipv6.insert("method".into(), Value::from("auto"));
    Ok(Imported {
        profile: Profile::from_settings(settings)?,
        inline_files: st.inline.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(l: &str) -> Vec<String> {
        split_words(l).unwrap().unwrap()
    }

    #[test]
    fn openvpn_word_splitting() {
        assert_eq!(
            words("remote vpn.example.com 1194"),
            ["remote", "vpn.example.com", "1194"]
        );
        assert_eq!(words("  ca \"my dir/ca.crt\" # c"), ["ca", "my dir/ca.crt"]);
        assert_eq!(words("ca 'a b' ;c"), ["ca", "a b"]);
        assert_eq!(words(r#"x "a\"b" a\ b"#), ["x", "a\"b", "a b"]);
        assert_eq!(words("x a'b'"), ["x", "a'b'"]);
        assert_eq!(words("x\r"), ["x"]);
        assert_eq!(split_words("   # comment").unwrap(), None);
        assert_eq!(split_words("; comment").unwrap(), None);
        assert_eq!(split_words("").unwrap(), None);
        assert!(split_words("ca \"open").is_err());
        assert!(split_words("ca x\\").is_err());
    }
}
