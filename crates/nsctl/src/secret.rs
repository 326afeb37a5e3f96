//! Secrets given as `--secret KEY=-`: read from stdin, one line each, so
//! that they stay off the command line. On a terminal nsctl asks for each
//! without echo, and puts the echo back even when interrupted.

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::{KeyValue, SecretArg};
use crate::error::{CliError, Kind};
use crate::pty::{is_terminal, stdio};

/// The secrets with every `-` value read from stdin, in the order given.
pub fn read_all(secrets: &[SecretArg]) -> Result<Vec<KeyValue>, CliError> {
    let tty = secrets.iter().any(|s| s.value.is_none()) && is_terminal(0);
    let mut stdin = io::stdin().lock();
    secrets
        .iter()
        .map(|s| {
            let value = match &s.value {
                Some(v) => v.clone(),
                None if tty => prompt(&s.key, &mut stdin)?,
                None => read_line(&s.key, &mut stdin)?,
            };
            Ok(KeyValue {
                key: s.key.clone(),
                value,
            })
        })
        .collect()
}

/// One line of `input`, without its line ending.
fn read_line(key: &str, input: &mut impl BufRead) -> Result<String, CliError> {
    let mut line = String::new();
    let n = input.read_line(&mut line).map_err(|e| {
        CliError::new(
            Kind::Failed,
            format!("cannot read secret {key:?} from stdin: {e}"),
        )
    })?;
    if n == 0 {
        return Err(CliError::new(
            Kind::InvalidArgument,
            format!("stdin ended before the value of secret {key:?}"),
        ));
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}

/// The terminal's settings before echo was turned off, for the signal
/// handler; set only while a prompt is open.
static mut SAVED: Option<libc::termios> = None;
static ECHO_OFF: AtomicBool = AtomicBool::new(false);

extern "C" fn restore_and_die(sig: libc::c_int) {
    // SAFETY: only async-signal-safe calls (tcsetattr, signal, raise), and
    // SAVED is written before ECHO_OFF is set and not changed while it is.
    unsafe {
        if ECHO_OFF.load(Ordering::SeqCst)
            && let Some(t) = (*std::ptr::addr_of!(SAVED)).as_ref()
        {
            libc::tcsetattr(0, libc::TCSANOW, t);
            libc::write(2, b"\n".as_ptr().cast(), 1);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Asks for secret `key` on the terminal, without echo.
fn prompt(key: &str, input: &mut impl BufRead) -> Result<String, CliError> {
    ask_hidden(&format!("Secret {key}: "), key, input)
}

/// Prints `text` and reads secret `key` from the terminal, without echo.
pub fn ask_hidden(text: &str, key: &str, input: &mut impl BufRead) -> Result<String, CliError> {
    let fail = |e: io::Error| CliError::new(Kind::Failed, format!("terminal: {e}"));
    eprint!("{text}");
    let _ = io::stderr().flush();
    let saved = nix::sys::termios::tcgetattr(stdio(0)).map_err(|e| fail(e.into()))?;
    let mut quiet = saved.clone();
    quiet
        .local_flags
        .remove(nix::sys::termios::LocalFlags::ECHO);
    // SAFETY: no prompt is open, so the handler does not read SAVED now.
    unsafe {
        *std::ptr::addr_of_mut!(SAVED) = Some(saved.clone().into());
    }
    ECHO_OFF.store(true, Ordering::SeqCst);
    let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];
    let handler = restore_and_die as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler makes only async-signal-safe calls.
    let previous: Vec<libc::sighandler_t> = signals
        .iter()
        .map(|s| unsafe { libc::signal(*s, handler) })
        .collect();
    let line = nix::sys::termios::tcsetattr(stdio(0), nix::sys::termios::SetArg::TCSANOW, &quiet)
        .map_err(|e| fail(e.into()))
        .and_then(|()| read_line(key, input));
    let _ = nix::sys::termios::tcsetattr(stdio(0), nix::sys::termios::SetArg::TCSANOW, &saved);
    ECHO_OFF.store(false, Ordering::SeqCst);
    for (s, p) in signals.iter().zip(previous) {
        // SAFETY: puts back what was there.
        unsafe { libc::signal(*s, p) };
    }
    eprintln!();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_ending_and_nothing_else() {
        let mut input = io::Cursor::new(b"pa ss=\r\n\nlast".to_vec());
        assert_eq!(read_line("a", &mut input).unwrap(), "pa ss=");
        assert_eq!(read_line("b", &mut input).unwrap(), "");
        assert_eq!(read_line("c", &mut input).unwrap(), "last");
        let e = read_line("d", &mut input).unwrap_err();
        assert_eq!(e.exit_code(), 6);
        assert_eq!(e.message(), "stdin ended before the value of secret \"d\"");
    }

    #[test]
    fn given_values_are_kept() {
        let got = read_all(&[SecretArg {
            key: "password".into(),
            value: Some("x".into()),
        }])
        .unwrap();
        assert_eq!(
            got,
            [KeyValue {
                key: "password".into(),
                value: "x".into()
            }]
        );
    }
}
