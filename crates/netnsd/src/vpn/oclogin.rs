//! OpenConnect's interactive login (issue 14), split as NetworkManager
//! splits it: before the tunnel, the daemon runs `openconnect
//! --authenticate` in the uplink namespace and holds the gateway's login
//! conversation itself; the tunnel then runs with the cookie it got
//! (`--cookie-on-stdin`, the fingerprint as `--servercert`).
//!
//! openconnect prints each form the gateway sends (`-v
//! --dump-http-traffic`: the AnyConnect XML, lines beginning `< `) and
//! then, when its stdin is no terminal, asks for each field on stderr with
//! the field's label and no newline (`Password:`; a select as
//! `Group: [eng|ops]:`), reading the answer as one line of stdin. The
//! [`Reader`] here turns that stream into prompts that name the form and
//! the field (`form:main:password`, as NetworkManager-openconnect's auth
//! dialog names its secrets); [`login`] answers each from the stored
//! secrets or asks the user's agents, and retries once (REQUEST_NEW) what
//! the gateway refused. Lines beginning `> ` (what openconnect sends,
//! answers included) are dropped unread.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use netnsd_api::state::reason;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// NetworkManager's NMSecretAgentGetSecretsFlags the login asks with.
pub const ALLOW_INTERACTION: u32 = 0x1;
pub const REQUEST_NEW: u32 = 0x2;
pub const USER_REQUESTED: u32 = 0x4;

/// The hints that describe a field to an agent, after the secret's name
/// (see docs/vpn.md, "OpenConnect's login").
pub const HINT_MESSAGE: &str = "x-vpn-message:";
pub const HINT_LABEL: &str = "x-netnsd-label:";
pub const HINT_KIND: &str = "x-netnsd-kind:";
pub const HINT_CHOICE: &str = "x-netnsd-choice:";

/// How long openconnect may print nothing while no agent is being asked.
const QUIET_LIMIT: Duration = Duration::from_secs(30);

/// What kind of field a form asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Password,
    Select,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Password => "password",
            Kind::Select => "select",
        }
    }
}

/// One field of a gateway's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The form's `<auth id>`.
    pub form: String,
    pub name: String,
    pub kind: Kind,
    pub label: String,
    /// A select's options: (value, label).
    pub choices: Vec<(String, String)>,
}

impl Field {
    /// The secret's name, as NetworkManager-openconnect's auth dialog has
    /// it: `form:FORMID:FIELD`.
    pub fn key(&self) -> String {
        format!("form:{}:{}", self.form, self.name)
    }

    /// How openconnect asks for it.
    fn prompt(&self) -> String {
        match self.kind {
            Kind::Select => {
                let labels: Vec<&str> = self.choices.iter().map(|(_, l)| l.as_str()).collect();
                format!("{} [{}]:", self.label, labels.join("|"))
            }
            _ => self.label.clone(),
        }
    }

    /// What to type for `answer`: a select's label (openconnect matches
    /// labels), whether the answer named its value or its label.
    fn typed(&self, answer: &str) -> String {
        match self.kind {
            Kind::Select => self
                .choices
                .iter()
                .find(|(v, _)| v == answer)
                .map(|(_, l)| l.clone())
                .unwrap_or_else(|| answer.to_owned()),
            _ => answer.to_owned(),
        }
    }
}

/// A form as the gateway sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pub id: String,
    pub message: String,
    pub error: String,
    pub fields: Vec<Field>,
}

/// What openconnect's stderr said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// It waits for the answer to a field of `form`.
    Prompt(Field, Form),
    /// It asks whether to accept a server certificate it could not verify.
    Certificate,
    /// A line of its log.
    Line(String),
}

const CERT_PROMPT: &str = "anything else to view: ";

/// Turns openconnect's stderr into [`Event`]s.
#[derive(Debug, Default)]
pub struct Reader {
    partial: String,
    xml: Option<String>,
    form: Option<Form>,
}

impl Reader {
    /// More of the stream.
    pub fn feed(&mut self, text: &str) -> Vec<Event> {
        self.partial.push_str(text);
        let mut out = Vec::new();
        while let Some(i) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=i).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(x) = line.strip_prefix("< ").or((line == "<").then_some("")) {
                let xml = self.xml.get_or_insert_with(String::new);
                xml.push_str(x);
                xml.push('\n');
                if x.contains("</config-auth>") {
                    let xml = self.xml.take().unwrap_or_default();
                    if let Some(f) = parse_form(&xml) {
                        self.form = Some(f);
                    }
                }
            } else if line.starts_with("> ") || line == ">" {
                // What openconnect sends: the answers are in there.
            } else if !line.is_empty() {
                out.push(Event::Line(line.to_owned()));
            }
        }
        if self.partial.ends_with(CERT_PROMPT) {
            self.partial.clear();
            out.push(Event::Certificate);
        } else if let Some(form) = &self.form {
            let found = form
                .fields
                .iter()
                .find(|f| self.partial.ends_with(&f.prompt()))
                .cloned();
            if let Some(field) = found {
                self.partial.clear();
                out.push(Event::Prompt(field, form.clone()));
            }
        }
        out
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let pat = format!(" {name}=\"");
    let start = tag.find(&pat)? + pat.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn element_text(xml: &str, name: &str) -> Option<String> {
    let open = xml.find(&format!("<{name}"))?;
    let body = open + xml[open..].find('>')? + 1;
    if xml[open..body].ends_with("/>") {
        return Some(String::new());
    }
    let end = body + xml[body..].find(&format!("</{name}>"))?;
    Some(unescape(xml[body..end].trim()))
}

/// The AnyConnect form in a gateway's answer (`<config-auth
/// type="auth-request">`): its id, message, error and the fields
/// openconnect asks for (hidden ones it sends by itself).
pub fn parse_form(xml: &str) -> Option<Form> {
    let auth = xml.find("<auth ")?;
    let auth_tag = &xml[auth..auth + xml[auth..].find('>')?];
    let id = attr(auth_tag, "id")?;
    let body = &xml[auth..];
    let mut form = Form {
        id: id.clone(),
        message: element_text(body, "message").unwrap_or_default(),
        error: element_text(body, "error").unwrap_or_default(),
        fields: Vec::new(),
    };
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..=end];
        if tag.starts_with("<input ") {
            let kind = match attr(tag, "type").as_deref() {
                Some("text") => Some(Kind::Text),
                Some("password") => Some(Kind::Password),
                _ => None,
            };
            if let (Some(kind), Some(name)) = (kind, attr(tag, "name")) {
                form.fields.push(Field {
                    form: id.clone(),
                    label: attr(tag, "label").unwrap_or_default(),
                    name,
                    kind,
                    choices: Vec::new(),
                });
            }
        } else if tag.starts_with("<select ") {
            let close = rest.find("</select>").unwrap_or(rest.len());
            let inner = &rest[end + 1..close];
            let mut choices = Vec::new();
            let mut o = inner;
            while let Some(i) = o.find("<option") {
                o = &o[i..];
                let Some(e) = o.find('>') else { break };
                let otag = &o[..=e];
                let Some(ce) = o.find("</option>") else { break };
                let label = unescape(o[e + 1..ce].trim());
                let value = attr(otag, "value").unwrap_or_else(|| label.clone());
                choices.push((value, label));
                o = &o[ce..];
            }
            if let Some(name) = attr(tag, "name") {
                form.fields.push(Field {
                    form: id.clone(),
                    label: attr(tag, "label").unwrap_or_default(),
                    name,
                    kind: Kind::Select,
                    choices,
                });
            }
            rest = &rest[close..];
            continue;
        }
        rest = &rest[end + 1..];
    }
    (!form.fields.is_empty()).then_some(form)
}

/// The hints sent with a field: its secret name, then the form's error
/// and message, its label, its kind and a select's choices.
pub fn hints(field: &Field, form: &Form) -> Vec<String> {
    let mut h = vec![field.key()];
    let message = [form.error.as_str(), form.message.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    if !message.is_empty() {
        h.push(format!("{HINT_MESSAGE}{message}"));
    }
    h.push(format!("{HINT_LABEL}{}", field.label));
    h.push(format!("{HINT_KIND}{}", field.kind.name()));
    for (v, l) in &field.choices {
        h.push(format!("{HINT_CHOICE}{v}:{l}"));
    }
    h
}

/// Asks the user's agents: the hints and flags of one GetSecrets, the
/// `vpn.secrets` of their answer.
pub type Ask = Arc<
    dyn Fn(Vec<String>, u32) -> BoxFuture<'static, Result<BTreeMap<String, String>, String>>
        + Send
        + Sync,
>;

/// Why a login ended without a cookie: one of NetworkManager's VPN
/// reasons, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub reason: u32,
    pub why: String,
}

fn failed(reason: u32, why: impl Into<String>) -> Failed {
    Failed {
        reason,
        why: why.into(),
    }
}

/// What the gateway's form says of the last answer: the same field asked
/// again after an error.
fn refused(form: &Form, key: &str, last: Option<&(String, String)>) -> bool {
    !form.error.is_empty()
        || form.message.to_lowercase().contains("fail")
        || last.is_some_and(|(k, m)| k == key && *m == form.message)
}

/// What `openconnect --authenticate` printed on stdout: the secrets the
/// tunnel is started with, named as NetworkManager-openconnect's auth
/// dialog returns them (`cookie`, `gwcert`, `gateway`, `resolve`).
pub fn parse_result(stdout: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for line in stdout.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(v)
            .replace("'\\''", "'");
        let key = match k.trim() {
            "COOKIE" => "cookie",
            "FINGERPRINT" => "gwcert",
            "CONNECT_URL" => "gateway",
            "RESOLVE" => "resolve",
            _ => continue,
        };
        if !v.is_empty() {
            out.insert(key.to_owned(), v);
        }
    }
    out.contains_key("cookie").then_some(out)
}

/// A running `openconnect --authenticate`: killed if dropped before it
/// ended (the activation was cancelled).
struct Proc {
    child: Option<std::process::Child>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            std::thread::spawn(move || c.wait());
        }
    }
}

async fn spawn(
    args: &[String],
    netns: Option<&File>,
) -> Result<
    (
        Proc,
        tokio::net::unix::pipe::Sender,
        tokio::net::unix::pipe::Receiver,
        tokio::net::unix::pipe::Receiver,
    ),
    Failed,
> {
    let args = args.to_vec();
    let netns = netns
        .map(|f| f.try_clone())
        .transpose()
        .map_err(|e| failed(reason::SERVICE_START_FAILED, format!("namespace: {e}")))?;
    let spawned = tokio::task::spawn_blocking(move || {
        let mut cmd = crate::helpers::command("openconnect")?;
        cmd.args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(f) = netns {
            // SAFETY: setns is async-signal-safe; the closure only makes that call.
            unsafe {
                cmd.pre_exec(move || {
                    nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                        .map_err(std::io::Error::from)
                });
            }
        }
        cmd.spawn()
    })
    .await
    .map_err(|e| failed(reason::SERVICE_START_FAILED, e.to_string()))?
    .map_err(|e| {
        failed(
            reason::SERVICE_START_FAILED,
            format!("start openconnect: {e}"),
        )
    })?;
    let mut p = Proc {
        child: Some(spawned),
    };
    let c = p.child.as_mut().expect("just spawned");
    let pipes = (c.stdin.take(), c.stdout.take(), c.stderr.take());
    let (Some(i), Some(o), Some(e)) = pipes else {
        return Err(failed(reason::SERVICE_START_FAILED, "openconnect's pipes"));
    };
    let io = |e: std::io::Error| failed(reason::SERVICE_START_FAILED, format!("pipe: {e}"));
    let i = tokio::net::unix::pipe::Sender::from_owned_fd(i.into()).map_err(io)?;
    let o = tokio::net::unix::pipe::Receiver::from_owned_fd(o.into()).map_err(io)?;
    let e = tokio::net::unix::pipe::Receiver::from_owned_fd(e.into()).map_err(io)?;
    Ok((p, i, o, e))
}

/// One answer given in an attempt: the field's key and its value.
type Answers = Vec<(String, String)>;

/// How one attempt ended.
enum Attempt {
    Done(BTreeMap<String, String>),
    /// The gateway refused the login as a whole after these answers.
    Refused(Answers, String),
}

struct Conversation<'a> {
    stored: &'a BTreeMap<String, String>,
    ask: &'a Ask,
    /// The gateway has refused an answer once already.
    refusals: u32,
}

impl Conversation<'_> {
    /// Asks the agents for `field`; `again`: the gateway refused the last
    /// answer (REQUEST_NEW, and no answer is a failed login).
    async fn ask_agents(&self, field: &Field, form: &Form, again: bool) -> Result<String, Failed> {
        let flags = ALLOW_INTERACTION | USER_REQUESTED | if again { REQUEST_NEW } else { 0 };
        let key = field.key();
        tracing::info!(secret = %key, label = %field.label, again, "openconnect login: asking the secret agents");
        let answer = (self.ask)(hints(field, form), flags).await.map_err(|why| {
            failed(
                if again {
                    reason::LOGIN_FAILED
                } else {
                    reason::NO_SECRETS
                },
                format!("{key} ({}): {why}", field.label),
            )
        })?;
        answer.get(&key).cloned().ok_or_else(|| {
            failed(
                reason::NO_SECRETS,
                format!("the agent's answer lacks vpn.secrets.{key}"),
            )
        })
    }

    /// One run of `openconnect --authenticate`. `previous`: the answers
    /// of an attempt the gateway refused, all but the last given again.
    async fn attempt(
        &mut self,
        args: &[String],
        netns: Option<&File>,
        previous: Option<&Answers>,
    ) -> Result<Attempt, Failed> {
        let (mut proc, mut stdin, mut stdout, mut stderr) = spawn(args, netns).await?;
        let out_task = tokio::spawn(async move {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s).await;
            s
        });
        let mut reader = Reader::default();
        let mut answers: Answers = Vec::new();
        let mut last: Option<(String, String)> = None;
        let mut log: Vec<String> = Vec::new();
        let mut cert_refused = false;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match tokio::time::timeout(QUIET_LIMIT, stderr.read(&mut buf)).await {
                Err(_) => {
                    return Err(failed(
                        reason::SERVICE_START_FAILED,
                        format!(
                            "openconnect --authenticate printed nothing for {}s (last: {:?})",
                            QUIET_LIMIT.as_secs(),
                            reader.partial
                        ),
                    ));
                }
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => n,
            };
            for ev in reader.feed(&String::from_utf8_lossy(&buf[..n])) {
                let value = match ev {
                    Event::Line(l) => {
                        tracing::debug!(target: "netnsd::openconnect", "login: {l}");
                        log.push(l);
                        if log.len() > 40 {
                            log.remove(0);
                        }
                        continue;
                    }
                    Event::Certificate => {
                        cert_refused = true;
                        "no".to_owned()
                    }
                    Event::Prompt(field, form) => {
                        let key = field.key();
                        let again = refused(&form, &key, last.as_ref());
                        let step = answers.len();
                        let value = if again {
                            self.refusals += 1;
                            if self.refusals > 1 {
                                return Err(failed(
                                    reason::LOGIN_FAILED,
                                    format!("the gateway refused {key} ({}) again", field.label),
                                ));
                            }
                            self.ask_agents(&field, &form, true).await?
                        } else if let Some((_, v)) = previous
                            .filter(|p| step + 1 < p.len())
                            .and_then(|p| p.get(step))
                            .filter(|(k, _)| *k == key)
                        {
                            v.clone()
                        } else if previous.is_some_and(|p| step + 1 == p.len()) {
                            // The answer the gateway refused: asked anew.
                            self.ask_agents(&field, &form, true).await?
                        } else if let Some(v) = self
                            .stored
                            .get(&key)
                            .filter(|_| !answers.iter().any(|(k, _)| *k == key))
                        {
                            v.clone()
                        } else {
                            self.ask_agents(&field, &form, false).await?
                        };
                        last = Some((key.clone(), form.message.clone()));
                        answers.push((key, value.clone()));
                        field.typed(&value)
                    }
                };
                let line = format!("{}\n", value.replace(['\n', '\r'], ""));
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        }
        drop(stdin);
        let child = proc.child.take().expect("running");
        let status = crate::spawn::wait_exit(child)
            .await
            .map(crate::spawn::status_code)
            .unwrap_or(-1);
        let out = out_task.await.unwrap_or_default();
        let tail = log
            .iter()
            .rev()
            .take(3)
            .rev()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if status == 0 {
            return parse_result(&out).map(Attempt::Done).ok_or_else(|| {
                failed(
                    reason::SERVICE_START_FAILED,
                    "openconnect --authenticate printed no cookie",
                )
            });
        }
        if cert_refused {
            return Err(failed(
                reason::SERVICE_START_FAILED,
                format!(
                    "the gateway's certificate could not be verified (set vpn.data.cacert or servercert): {tail}"
                ),
            ));
        }
        let why = format!("openconnect --authenticate exited with {status}: {tail}");
        let text = log.join("\n");
        if super::openconnect::failure_reason(&text) == reason::LOGIN_FAILED
            || text.contains("Failed to complete authentication")
                && !text.contains("Failed to open HTTPS connection")
        {
            if answers.is_empty() {
                return Err(failed(reason::LOGIN_FAILED, why));
            }
            return Ok(Attempt::Refused(answers, why));
        }
        Err(failed(reason::SERVICE_START_FAILED, why))
    }
}

/// Logs in with `openconnect ARGS` (`--authenticate` among them) in the
/// namespace `netns` (None: the daemon's own): each field the gateway's
/// forms ask is answered from `stored` (the profile's `form:ID:FIELD`
/// secrets, each used once) or by the agents through `ask`. A login the
/// gateway refuses is tried once more, the refused answer asked anew
/// with REQUEST_NEW; a second refusal fails with login-failed, no answer
/// from the agents with no-secrets. Returns the secrets the tunnel is
/// started with ([`parse_result`]).
pub async fn login(
    args: Vec<String>,
    netns: Option<File>,
    stored: BTreeMap<String, String>,
    ask: Ask,
) -> Result<BTreeMap<String, String>, Failed> {
    let mut conv = Conversation {
        stored: &stored,
        ask: &ask,
        refusals: 0,
    };
    let mut previous: Option<Answers> = None;
    loop {
        match conv
            .attempt(&args, netns.as_ref(), previous.as_ref())
            .await?
        {
            Attempt::Done(secrets) => return Ok(secrets),
            Attempt::Refused(answers, why) => {
                conv.refusals += 1;
                if conv.refusals > 1 {
                    return Err(failed(reason::LOGIN_FAILED, why));
                }
                tracing::info!("openconnect login refused ({why}): trying once more");
                previous = Some(answers);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD_FORM: &str = "HTTP body length:  (310)\n\
< <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
< <config-auth client=\"vpn\" type=\"auth-request\">\n\
< <version who=\"sg\">0.1(1)</version>\n\
< <auth id=\"main\">\n\
< <message>Please enter your OTP password.</message>\n\
< <form method=\"post\" action=\"/auth\">\n\
< <input type=\"password\" name=\"password\" label=\"Password:\" />\n\
< </form></auth>\n\
< </config-auth>\n\
Please enter your OTP password.\n";

    const GROUP_FORM: &str = "< <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
< <config-auth client=\"vpn\" type=\"auth-request\">\n\
< <auth id=\"main\">\n\
< <message>Please enter your username.</message>\n\
< <form method=\"post\" action=\"/auth\">\n\
< <input type=\"text\" name=\"username\" label=\"Username:\" />\n\
< <input type=\"hidden\" name=\"x\" value=\"y\" />\n\
< <select name=\"group_list\" label=\"Group:\">\n\
< <option value=\"eng\">Engineering &amp; Co</option>\n\
< <option value=\"ops\">ops</option>\n\
< </select>\n\
< </form></auth>\n\
< </config-auth>\n";

    #[test]
    fn ocservs_forms_as_openconnect_dumps_them() {
        let mut r = Reader::default();
        let ev = r.feed(GROUP_FORM);
        assert!(ev.is_empty(), "{ev:?}");
        let f = r.form.clone().unwrap();
        assert_eq!(f.id, "main");
        assert_eq!(f.message, "Please enter your username.");
        assert_eq!(f.fields.len(), 2);
        assert_eq!(f.fields[0].key(), "form:main:username");
        assert_eq!(f.fields[0].kind, Kind::Text);
        assert_eq!(f.fields[1].key(), "form:main:group_list");
        assert_eq!(
            f.fields[1].choices,
            [
                ("eng".to_owned(), "Engineering & Co".to_owned()),
                ("ops".to_owned(), "ops".to_owned())
            ]
        );
        // The select's prompt comes in pieces.
        assert!(r.feed("Group: [").is_empty());
        assert!(r.feed("Engineering & Co|ops").is_empty());
        let ev = r.feed("]:");
        let [Event::Prompt(field, form)] = ev.as_slice() else {
            panic!("{ev:?}")
        };
        assert_eq!(field.name, "group_list");
        assert_eq!(field.typed("eng"), "Engineering & Co");
        assert_eq!(field.typed("ops"), "ops");
        let h = hints(field, form);
        assert_eq!(h[0], "form:main:group_list");
        assert!(h.contains(&"x-vpn-message:Please enter your username.".to_owned()));
        assert!(h.contains(&"x-netnsd-kind:select".to_owned()));
        assert!(h.contains(&"x-netnsd-choice:eng:Engineering & Co".to_owned()));
        let ev = r.feed("POST https://203.0.113.1/auth\nUsername:");
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert_eq!(ev[0], Event::Line("POST https://203.0.113.1/auth".into()));
        assert!(matches!(&ev[1], Event::Prompt(f, _) if f.key() == "form:main:username"));
    }

    #[test]
    fn the_one_time_code_is_a_second_password_prompt() {
        let mut r = Reader::default();
        let mut ev = r.feed(PASSWORD_FORM);
        ev.extend(r.feed("Password:"));
        assert_eq!(ev[0], Event::Line("HTTP body length:  (310)".into()));
        let Some(Event::Prompt(field, form)) = ev.last() else {
            panic!("{ev:?}")
        };
        assert_eq!(field.key(), "form:main:password");
        assert_eq!(field.kind, Kind::Password);
        let h = hints(field, form);
        assert!(h.contains(&"x-vpn-message:Please enter your OTP password.".to_owned()));
        assert!(h.contains(&"x-netnsd-label:Password:".to_owned()));
        // The same field again with the same message, or after an error:
        // the gateway refused the answer.
        let last = ("form:main:password".to_owned(), form.message.clone());
        assert!(refused(form, "form:main:password", Some(&last)));
        let other = (
            "form:main:password".to_owned(),
            "Please enter your password.".into(),
        );
        assert!(!refused(form, "form:main:password", Some(&other)));
        let mut failed_form = form.clone();
        failed_form.message = "Login failed.\nPlease enter your password.".into();
        assert!(refused(&failed_form, "form:main:password", Some(&other)));
    }

    #[test]
    fn what_openconnect_sends_is_never_read() {
        let mut r = Reader::default();
        let ev =
            r.feed("> POST /auth HTTP/1.1\n> <auth><password>hunter2</password></auth>\nPOST x\n");
        assert_eq!(ev, [Event::Line("POST x".into())]);
        let ev = r.feed("Enter 'yes' to accept, 'no' to abort; anything else to view: ");
        assert_eq!(ev, [Event::Certificate]);
    }

    #[test]
    fn the_cookie_and_where_it_goes() {
        let out = "COOKIE='openconnect_strapkey=MHc; webvpn=AA+WU='\nHOST='203.0.113.1'\n\
                   CONNECT_URL='https://203.0.113.1/'\nFINGERPRINT='pin-sha256:anad5T9E='\n\
                   RESOLVE='203.0.113.1:203.0.113.1'\n";
        let s = parse_result(out).unwrap();
        assert_eq!(s["cookie"], "openconnect_strapkey=MHc; webvpn=AA+WU=");
        assert_eq!(s["gwcert"], "pin-sha256:anad5T9E=");
        assert_eq!(s["gateway"], "https://203.0.113.1/");
        assert_eq!(s["resolve"], "203.0.113.1:203.0.113.1");
        assert_eq!(parse_result("HOST='x'\n"), None);
    }
}
