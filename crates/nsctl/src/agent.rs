//! nsctl as a secret agent for its own run (issue 14), as nmcli is with
//! `--ask`: while `nsctl vpn up` waits, it exports
//! net.netnsd.Netns1.SecretAgent and registers with netnsd's AgentManager;
//! when the activation lacks a secret, netnsd asks it and nsctl asks the
//! person at the terminal, without echo, naming the profile and the field
//! (`Password for VPN "work" (vpn.secrets.password): `). By default it
//! does so when stdin is a terminal; `--ask` makes it read the answers
//! from stdin even when it is not one (a line each), `--no-ask` never.

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
        let answers = tokio::task::spawn_blocking(move || {
            let mut stdin = io::stdin().lock();
            hints
                .iter()
                .map(|key| {
                    let text = prompt_text(&id, &setting, key);
                    let value = if tty {
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
