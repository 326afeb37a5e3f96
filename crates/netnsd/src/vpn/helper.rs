//! The bridge between a VPN client's "up" hook and the daemon.
//!
//! The client runs `netnsd --vpn-helper SOCKET` when the tunnel is up; the
//! helper sends its whole environment (where OpenVPN and vpnc-script style
//! clients put the pushed configuration) as one JSON line to the daemon's
//! socket for that activation and waits for the verdict: "ok" (exit 0, the
//! client goes on) or anything else (exit 1, the client gives up).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Runs the helper side; returns the process exit code.
pub fn run(socket: &Path) -> i32 {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let Ok(line) = serde_json::to_string(&env) else {
        return 1;
    };
    let result = (|| -> std::io::Result<String> {
        let mut s = UnixStream::connect(socket)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        s.write_all(line.as_bytes())?;
        s.write_all(b"\n")?;
        let mut answer = String::new();
        BufReader::new(s).read_line(&mut answer)?;
        Ok(answer)
    })();
    match result {
        Ok(a) if a.trim() == "ok" => 0,
        Ok(a) => {
            eprintln!("netnsd refused the tunnel: {}", a.trim());
            1
        }
        Err(e) => {
            eprintln!("netnsd --vpn-helper: {}: {e}", socket.display());
            1
        }
    }
}
