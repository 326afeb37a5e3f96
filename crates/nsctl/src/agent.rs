//! nsctl as a secret agent for its own run (issue 14), as nmcli is with
//! `--ask`: while `nsctl vpn up` waits, it exports
//! net.netnsd.Netns1.SecretAgent and registers with netnsd's AgentManager;
//! when the activation lacks a secret, netnsd asks it and nsctl asks the
//! person at the terminal, without echo, naming the profile and the field
//! (`Password for VPN "work" (vpn.secrets.password): `). By default it
//! does so when stdin is a terminal; `--ask` makes it read the answers
//! from stdin even when it is not one (a line each), `--no-ask` never.
//! An OpenConnect gateway's form fields come one per request, described by
//! `x-` hints (docs/vpn.md, "OpenConnect's login"): nsctl shows the form's
//! message, prompts with the field's label, echoes only text fields and
//! numbers a select's choices.

use std::collections::HashMap;
use std::io::{self, BufRead};

use netnsd_api::{
    AGENT_MANAGER_INTERFACE, AGENT_MANAGER_PATH, BUS_NAME, SECRET_AGENT_PATH,
    SECRET_AGENT_USER_CANCELED,
};
use zbus::Connection;
use zbus::wire::{ObjectPath, OwnedVariant, Variant};

use crate::error::{CliError, Kind};

type Settings = HashMap<String, HashMap<String, OwnedVariant>>;

/// The reply an agent gives when the user does not answer.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "net.netnsd.Netns1.SecretAgent.Error")]
enum AgentError {
    #[zbus(error)]
    ZBus(zbus::Error),
    UserCanceled(String),
}

const _: () = assert!(!SECRET_AGENT_USER_CANCELED.is_empty());

struct TerminalAgent {
    /// Ask on the terminal without echo (else: a line each from stdin).
    tty: bool,
}

/// What a field is called at the prompt.
fn label(key: &str) -> &'static str {
    match key {
        "password" | "form:main:password" => "Password",
        "cert-pass" => "Passphrase of the private key",
        "http-proxy-password" => "HTTP proxy password",
        "private-key" => "Private key",
        "preshared-key" => "Pre-shared key",
        "form:main:username" => "User name",
        "form:main:secondary_password" => "One-time code",
        _ => "Secret",
    }
}

/// The prompt for one field: `Password for VPN "work" (vpn.secrets.password): `.
pub fn prompt_text(id: &str, setting: &str, key: &str) -> String {
    let field = if setting == "vpn" {
        format!("vpn.secrets.{key}")
    } else {
        format!("{setting}.{key}")
    };
    format!("{} for VPN {id:?} ({field}): ", label(key))
}

/// A field of an OpenConnect gateway's form, as netnsd describes it in
/// the hints after the secret's name (docs/vpn.md): the form's message,
/// the field's label, its kind (`text`, `password`, `select`) and a
/// select's choices (value, label).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FormField {
    pub message: String,
    pub label: String,
    pub kind: String,
    pub choices: Vec<(String, String)>,
}

/// The keys asked for (hints not beginning `x-`) and the form field the
/// `x-` hints describe, if they describe one.
pub fn read_hints(hints: &[String]) -> (Vec<String>, Option<FormField>) {
    let mut keys = Vec::new();
    let mut f = FormField::default();
    let mut described = false;
    for h in hints {
        if let Some(m) = h.strip_prefix("x-vpn-message:") {
            f.message = m.to_owned();
        } else if let Some(l) = h.strip_prefix("x-netnsd-label:") {
            f.label = l.to_owned();
            described = true;
        } else if let Some(k) = h.strip_prefix("x-netnsd-kind:") {
            f.kind = k.to_owned();
            described = true;
        } else if let Some(c) = h.strip_prefix("x-netnsd-choice:") {
            let (v, l) = c.split_once(':').unwrap_or((c, c));
            f.choices.push((v.to_owned(), l.to_owned()));
        } else if !h.starts_with("x-") {
            keys.push(h.clone());
        }
    }
    (keys, described.then_some(f))
}

/// The prompt for a gateway's form field: its label, the profile and the
/// secret (`Password for VPN "work" (vpn.secrets.form:main:password): `).
pub fn form_prompt(id: &str, key: &str, field: &FormField) -> String {
    let label = field.label.trim().trim_end_matches(':').trim();
    let label = if label.is_empty() { "Answer" } else { label };
    let range = if field.kind == "select" && !field.choices.is_empty() {
        format!(" [1-{}]", field.choices.len())
    } else {
        String::new()
    };
    format!("{label} for VPN {id:?} (vpn.secrets.{key}){range}: ")
}

/// A select's answer: a number from the list, or a value or label typed
/// out; the option's value.
pub fn choice(field: &FormField, typed: &str) -> Option<String> {
    let t = typed.trim();
    if let Ok(n) = t.parse::<usize>()
        && (1..=field.choices.len()).contains(&n)
    {
        return Some(field.choices[n - 1].0.clone());
    }
    field
        .choices
        .iter()
        .find(|(v, l)| v == t || l.eq_ignore_ascii_case(t))
        .map(|(v, _)| v.clone())
}

/// Asks for one field of a gateway's form: the form's message first, a
/// select's choices numbered; no echo for a password (a one-time code
/// is one), echo for text and choices.
fn ask_form_field(
    id: &str,
    key: &str,
    field: &FormField,
    tty: bool,
    input: &mut impl BufRead,
) -> Result<String, CliError> {
    if !field.message.is_empty() {
        eprintln!("VPN {id:?}: {}", field.message.replace('\n', " "));
    }
    let text = form_prompt(id, key, field);
    if field.kind == "select" {
        for (i, (_, l)) in field.choices.iter().enumerate() {
            eprintln!("  {}) {l}", i + 1);
        }
        for _ in 0..3 {
            if tty {
                eprint!("{text}");
                let _ = std::io::Write::flush(&mut std::io::stderr());
            }
            let typed = read_answer(key, input)?;
            if let Some(v) = choice(field, &typed) {
                return Ok(v);
            }
            eprintln!("nsctl: {typed:?} is none of the choices");
        }
        return Err(CliError::new(
            Kind::InvalidArgument,
            format!("no choice made for {key:?}"),
        ));
    }
    if !tty {
        read_answer(key, input)
    } else if field.kind == "text" {
        eprint!("{text}");
        let _ = std::io::Write::flush(&mut std::io::stderr());
        read_answer(key, input)
    } else {
        crate::secret::ask_hidden(&text, key, input)
    }
}

#[zbus::interface(name = "net.netnsd.Netns1.SecretAgent")]
impl TerminalAgent {
    async fn get_secrets(
        &self,
        connection: Settings,
        _connection_path: ObjectPath<'_>,
        setting_name: String,
        hints: Vec<String>,
        _flags: u32,
    ) -> Result<Settings, AgentError> {
        let id = connection
            .get("connection")
            .and_then(|c| c.get("id"))
            .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
            .unwrap_or_default();
        let tty = self.tty;
        let setting = setting_name.clone();
        let (keys, form) = read_hints(&hints);
        let answers = tokio::task::spawn_blocking(move || {
            let mut stdin = io::stdin().lock();
            keys.iter()
                .map(|key| {
                    let value = if let Some(field) = &form {
                        ask_form_field(&id, key, field, tty, &mut stdin)
                    } else if tty {
                        let text = prompt_text(&id, &setting, key);
                        crate::secret::ask_hidden(&text, key, &mut stdin)
                    } else {
                        read_answer(key, &mut stdin)
                    };
                    value.map(|v| (key.clone(), v))
                })
                .collect::<Result<Vec<(String, String)>, CliError>>()
        })
        .await
        .map_err(|e| AgentError::UserCanceled(e.to_string()))?
        .map_err(|e| AgentError::UserCanceled(e.message().to_owned()))?;
        let mut out = Settings::new();
        let mut inner = HashMap::new();
        if setting_name == "vpn" {
            let secrets: HashMap<String, String> = answers.into_iter().collect();
            inner.insert(
                "secrets".to_owned(),
                OwnedVariant::try_from(Variant::from(secrets)).expect("plain values"),
            );
        } else {
            for (k, v) in answers {
                inner.insert(
                    k,
                    OwnedVariant::try_from(Variant::from(v)).expect("plain values"),
                );
            }
        }
        out.insert(setting_name, inner);
        Ok(out)
    }

    async fn cancel_get_secrets(&self, _connection_path: ObjectPath<'_>, _setting_name: String) {
        eprintln!("\nnsctl: netnsd no longer needs the secret");
    }

    async fn save_secrets(&self, _connection: Settings, _connection_path: ObjectPath<'_>) {}

    async fn delete_secrets(&self, _connection: Settings, _connection_path: ObjectPath<'_>) {}
}

fn read_answer(key: &str, input: &mut impl BufRead) -> Result<String, CliError> {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => Err(CliError::new(
            Kind::InvalidArgument,
            format!("stdin ended before the value of {key:?}"),
        )),
        Ok(_) => Ok(line.trim_end_matches(['\n', '\r']).to_owned()),
    }
}

/// Whether `nsctl vpn up` is to be an agent: `--ask` yes, `--no-ask` no,
/// else when stdin is a terminal. Some(tty) when it is.
pub fn wanted(ask: bool, no_ask: bool) -> Option<bool> {
    let tty = crate::pty::is_terminal(0);
    if no_ask {
        None
    } else if ask || tty {
        Some(tty)
    } else {
        None
    }
}

/// Exports the agent on `conn` and registers it for this run (it goes
/// when nsctl exits and its connection leaves the bus).
pub async fn register(conn: &Connection, tty: bool) -> Result<(), CliError> {
    let failed = |e: zbus::Error| {
        CliError::new(
            Kind::Failed,
            format!("cannot register as a secret agent: {e}"),
        )
    };
    conn.object_server()
        .at(SECRET_AGENT_PATH, TerminalAgent { tty })
        .await
        .map_err(failed)?;
    let identifier = format!("nsctl-{}", std::process::id());
    conn.call_method(
        Some(BUS_NAME),
        AGENT_MANAGER_PATH,
        Some(AGENT_MANAGER_INTERFACE),
        "Register",
        &(identifier.as_str()),
    )
    .await
    .map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateways_form_field_from_the_hints() {
        let hints: Vec<String> = [
            "form:main:group_list",
            "x-vpn-message:Please enter your username.",
            "x-netnsd-label:Group:",
            "x-netnsd-kind:select",
            "x-netnsd-choice:eng:Engineering",
            "x-netnsd-choice:ops:ops",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (keys, field) = read_hints(&hints);
        assert_eq!(keys, ["form:main:group_list"]);
        let field = field.unwrap();
        assert_eq!(field.message, "Please enter your username.");
        assert_eq!(
            form_prompt("work", &keys[0], &field),
            "Group for VPN \"work\" (vpn.secrets.form:main:group_list) [1-2]: "
        );
        assert_eq!(choice(&field, "1").as_deref(), Some("eng"));
        assert_eq!(choice(&field, "engineering").as_deref(), Some("eng"));
        assert_eq!(choice(&field, "ops").as_deref(), Some("ops"));
        assert_eq!(choice(&field, "3"), None);
        // Plain keys (an OpenVPN password) carry no form.
        let (keys, field) = read_hints(&["password".to_string()]);
        assert_eq!(
            (keys.as_slice(), field),
            (["password".to_string()].as_slice(), None)
        );
    }

    #[test]
    fn prompts_name_the_profile_and_the_field() {
        assert_eq!(
            prompt_text("work", "vpn", "password"),
            "Password for VPN \"work\" (vpn.secrets.password): "
        );
        assert_eq!(
            prompt_text("wg", "wireguard", "private-key"),
            "Private key for VPN \"wg\" (wireguard.private-key): "
        );
    }
}
