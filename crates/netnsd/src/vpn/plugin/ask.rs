//! The plugin host asks the daemon for secrets while the plugin runs, as
//! NetworkManager's `nm-vpn-connection.c` asks its agents: after
//! `NeedSecrets` named a setting (hints none), or when the plugin, in
//! `ConnectInteractive`, emitted `SecretsRequired(message, secrets)` (hints
//! the secret names and `x-vpn-message:MESSAGE`).
//!
//! It is one message on the activation's helper socket, the same socket
//! the configuration is reported on: a JSON object of strings marked with
//! [`ASK_MARK`] (the setting and the hints), answered by one JSON line,
//! [`Answer`]: the `vpn.secrets` the user's agent gave, or why there are
//! none. The daemon asks the agents of the user who activated, with
//! VpnState need-auth meanwhile (`manager/plugin_secrets.rs`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The key that marks a helper-socket message as the host's request.
pub const ASK_MARK: &str = "NETNSD_PLUGIN_SECRETS";

/// The hint NetworkManager adds for the plugin's message.
pub const MESSAGE_HINT: &str = "x-vpn-message:";

/// How long the host waits for the daemon's answer: the daemon bounds the
/// agents' time itself (the agent timeout per agent); this is only the
/// host's last guard against a daemon that never answers.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// One request: the setting (`vpn`) and the hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub setting: String,
    pub hints: Vec<String>,
}

impl Ask {
    /// The message as the helper socket carries it.
    pub fn to_message(&self) -> HashMap<String, String> {
        HashMap::from([
            (ASK_MARK.to_owned(), "1".to_owned()),
            ("setting".to_owned(), self.setting.clone()),
            (
                "hints".to_owned(),
                serde_json::to_string(&self.hints).expect("strings serialize"),
            ),
        ])
    }

    /// The request a helper-socket message carries, if it is one (None: a
    /// report of configuration). A request without a readable setting is
    /// for `vpn`, as every plugin's.
    pub fn from_message(m: &HashMap<String, String>) -> Option<Ask> {
        m.get(ASK_MARK)?;
        let setting = m
            .get("setting")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "vpn".to_owned());
        let hints = m
            .get("hints")
            .and_then(|h| serde_json::from_str(h).ok())
            .unwrap_or_default();
        Some(Ask { setting, hints })
    }
}

/// NetworkManager's hints for `SecretsRequired(message, secrets)`: the
/// secrets' names, then `x-vpn-message:MESSAGE` (when there is a message).
pub fn interactive_hints(message: &str, secrets: &[String]) -> Vec<String> {
    let mut hints = secrets.to_vec();
    if !message.is_empty() {
        hints.push(format!("{MESSAGE_HINT}{message}"));
    }
    hints
}

/// The daemon's answer, one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// vpn.secrets from the user's agent.
    Secrets(BTreeMap<String, String>),
    /// None: no agent, a refusal, a timeout, the connection going down.
    Error(String),
}

impl Answer {
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("strings serialize")
    }

    pub fn from_line(line: &str) -> Answer {
        serde_json::from_str(line.trim()).unwrap_or_else(|_| {
            Answer::Error(if line.trim().is_empty() {
                "the daemon gave no answer".to_owned()
            } else {
                format!("the daemon answered {:?}", line.trim())
            })
        })
    }
}

/// Asks the daemon over `socket` (blocking: the host calls it off its
/// runtime): the secrets, or why there are none.
pub fn ask(socket: &Path, req: &Ask) -> Result<BTreeMap<String, String>, String> {
    let line = serde_json::to_string(&req.to_message()).map_err(|e| e.to_string())?;
    let answer = (|| -> std::io::Result<String> {
        let mut s = UnixStream::connect(socket)?;
        s.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        s.write_all(line.as_bytes())?;
        s.write_all(b"\n")?;
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer)?;
        Ok(answer)
    })()
    .map_err(|e| format!("asking the daemon for secrets: {e}"))?;
    match Answer::from_line(&answer) {
        Answer::Secrets(s) => Ok(s),
        Answer::Error(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip() {
        let req = Ask {
            setting: "vpn".into(),
            hints: interactive_hints(
                "Enter password for alice@192.0.2.1: ",
                &["Xauth password".to_owned()],
            ),
        };
        assert_eq!(
            req.hints,
            [
                "Xauth password",
                "x-vpn-message:Enter password for alice@192.0.2.1: "
            ]
        );
        let m = req.to_message();
        assert_eq!(Ask::from_message(&m), Some(req));
        // A configuration report is not a request.
        assert_eq!(
            Ask::from_message(&HashMap::from([("tundev".into(), "tun0".into())])),
            None
        );
        // No message: no message hint (NeedSecrets' request has no hints).
        assert!(interactive_hints("", &[]).is_empty());

        let ok = Answer::Secrets(BTreeMap::from([("password".into(), "pw".into())]));
        assert_eq!(Answer::from_line(&ok.to_line()), ok);
        let no = Answer::Error("agent refused".into());
        assert_eq!(Answer::from_line(&no.to_line()), no);
        assert!(!ok.to_line().contains('\n'));
        // The socket's old verdicts and nothing at all are no secrets.
        assert!(matches!(
            Answer::from_line("failed: no-secrets\n"),
            Answer::Error(_)
        ));
        assert!(matches!(Answer::from_line(""), Answer::Error(_)));
    }
}
