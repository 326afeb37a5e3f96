//! The launch every VPN type shares, in one place: the activation's
//! names and files (secrets written 0600 in the state directory), the
//! helper socket the client's hook reports to, starting the client in the
//! uplink namespace (secrets on its stdin, never on a command line), its
//! log, its end, and stopping it. What differs between types is in their
//! [`super::VpnType`]; the manager keeps the state.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use netnsd_api::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// How many of a client's last output lines are kept (for its failure
/// reason).
pub const LOG_LINES: usize = 200;

/// A client's last output lines.
pub type Log = Arc<Mutex<VecDeque<String>>>;

/// One activation's names and places, as a type's launch uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The active connection's number.
    pub number: u32,
    /// The tunnel's name in the uplink namespace (`nsvpnN`).
    pub tundev: String,
    /// The command the client's hook runs: the daemon's own binary with
    /// `--vpn-helper SOCKET`.
    pub helper: String,
    /// Where the helper reports.
    pub socket: PathBuf,
    /// Every secret agent of the activating user has NetworkManager's
    /// VPN_HINTS capability (true with none): a NetworkManager VPN plugin
    /// may then be driven with ConnectInteractive, as NetworkManager does.
    pub vpn_hints: bool,
    dir: PathBuf,
}

impl Activation {
    /// Activation `number`, its files in `state_dir`/vpn (made if missing).
    pub fn new(state_dir: &Path, number: u32) -> Result<Activation, Error> {
        let dir = state_dir.join("vpn");
        // Root's alone: the helper sockets and secrets are in there.
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(|e| Error::Failed(format!("create {}: {e}", dir.display())))?;
        let exe =
            std::env::current_exe().map_err(|e| Error::Failed(format!("own executable: {e}")))?;
        Ok(Activation::in_dir(dir, number, &exe))
    }

    /// Activation `number`, its files in `dir`, its helper `exe`.
    pub(crate) fn in_dir(dir: PathBuf, number: u32, exe: &Path) -> Activation {
        let socket = dir.join(format!("{number}.sock"));
        Activation {
            number,
            tundev: format!("nsvpn{number}"),
            helper: format!("{} --vpn-helper {}", exe.display(), socket.display()),
            socket,
            vpn_hints: true,
            dir,
        }
    }

    /// Where this activation's file `kind` goes (`N.auth`, `N.pass`).
    pub fn file(&self, kind: &str) -> PathBuf {
        self.dir.join(format!("{}.{kind}", self.number))
    }
}

/// How to start a client: program, arguments, what goes to its stdin, and
/// root-only files to write first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub program: &'static str,
    pub args: Vec<String>,
    pub stdin: Option<String>,
    pub files: Vec<(PathBuf, String)>,
}

/// The longest message the helper may send (its client's environment as
/// one JSON line): a longer one fails the activation, unread.
pub const MAX_MESSAGE: usize = 256 * 1024;

/// How long a peer has to send its message once connected.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the helper reported: the client's environment, or why its message
/// could not be read (too long, not JSON).
pub type Report = Result<HashMap<String, String>, Error>;

/// The listener of an activation's helper socket, held by its connection
/// while it runs. Dropping it stops the listener: its task ends, and the
/// socket's descriptor is closed.
pub struct Helper {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes the client's files (0600) and opens the helper socket, whose
/// reports (the hook's environment and where the verdict goes) are handed
/// to `report` until it returns false. Returns the files made, the
/// socket first, which are removed when the connection ends (and here,
/// on failure).
pub fn prepare(
    at: &Activation,
    client: &Client,
    report: impl FnMut(Report, oneshot::Sender<String>) -> bool + Send + 'static,
) -> Result<(Vec<PathBuf>, Helper), Error> {
    let mut files = vec![at.socket.clone()];
    for (path, content) in &client.files {
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, content.as_bytes()));
        files.push(path.clone());
        if let Err(e) = written {
            remove_files(&files);
            return Err(Error::Failed(format!("write {}: {e}", path.display())));
        }
    }
    match listen(&at.socket, report) {
        Ok(helper) => Ok((files, helper)),
        Err(e) => {
            remove_files(&files);
            Err(Error::Failed(format!(
                "listen on {}: {e}",
                at.socket.display()
            )))
        }
    }
}

/// The helper socket: one JSON line (the hook's environment) in, one
/// verdict line out, per connection. The socket is 0600 in a 0700
/// directory, and only root (or the daemon's own user, when it is not
/// root) may talk to it (SO_PEERCRED: the VPN clients run as root); a message longer than [`MAX_MESSAGE`] or not JSON is
/// reported as an error.
fn listen(
    socket: &Path,
    mut report: impl FnMut(Report, oneshot::Sender<String>) -> bool + Send + 'static,
) -> std::io::Result<Helper> {
    let _ = std::fs::remove_file(socket);
    let listener = tokio::net::UnixListener::bind(socket)?;
    // Not from the umask: root's alone (the directory is 0700 too, so
    // there is no moment it is open to others).
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            match stream.peer_cred() {
                Ok(c) if c.uid() == 0 || c.uid() == nix::unistd::geteuid().as_raw() => {}
                Ok(c) => {
                    tracing::warn!(
                        uid = c.uid(),
                        pid = c.pid(),
                        "refused a helper connection: not root"
                    );
                    continue;
                }
                Err(e) => {
                    tracing::warn!("refused a helper connection: SO_PEERCRED: {e}");
                    continue;
                }
            }
            let (r, mut w) = stream.into_split();
            let Ok(message) = tokio::time::timeout(READ_TIMEOUT, read_message(r)).await else {
                tracing::warn!("the helper sent nothing in {READ_TIMEOUT:?}");
                continue;
            };
            let Some(message) = message else { continue };
            let (tx, rx) = oneshot::channel();
            if !report(message, tx) {
                break;
            }
            let verdict = rx.await.unwrap_or_else(|_| "the daemon went away".into());
            let _ = w.write_all(format!("{verdict}\n").as_bytes()).await;
        }
    });
    Ok(Helper { task })
}

/// Reads one message, at most [`MAX_MESSAGE`] bytes up to its newline
/// (None: the peer went before sending a whole one).
async fn read_message(r: impl tokio::io::AsyncRead + Unpin) -> Option<Report> {
    let mut line = Vec::new();
    let limit = MAX_MESSAGE as u64 + 1;
    let mut bounded = tokio::io::BufReader::new(r.take(limit));
    bounded.read_until(b'\n', &mut line).await.ok()?;
    if line.len() > MAX_MESSAGE {
        return Some(Err(Error::InvalidArgument(format!(
            "the VPN helper's message is longer than {} KiB",
            MAX_MESSAGE / 1024
        ))));
    }
    if !line.ends_with(b"\n") {
        return None;
    }
    Some(
        serde_json::from_slice(&line).map_err(|e| {
            Error::InvalidArgument(format!("the VPN helper's message is not JSON: {e}"))
        }),
    )
}

/// Starts the client in the namespace `netns` (None: the daemon's own),
/// off the runtime, its secrets written to its stdin.
pub async fn start(client: &Client, netns: Option<File>) -> Result<Child, Error> {
    let program = client.program;
    let (args, stdin) = (client.args.clone(), client.stdin.clone());
    let spawned = tokio::task::spawn_blocking(move || {
        let mut cmd = crate::helpers::command(program)?;
        cmd.args(&args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
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
        let mut child = cmd.spawn()?;
        if let (Some(secret), Some(mut input)) = (stdin, child.stdin.take()) {
            // Secrets go in on stdin, never on a command line.
            std::io::Write::write_all(&mut input, secret.as_bytes())?;
        }
        Ok::<_, std::io::Error>(child)
    })
    .await
    .map_err(|e| Error::Failed(e.to_string()))?;
    spawned.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotSupported(format!(
                "{program} is not installed (Debian package {program})"
            ))
        } else {
            Error::Failed(format!("start {program}: {e}"))
        }
    })
}

/// Keeps the client's output: each line to the daemon's log (debug) and
/// the last LOG_LINES in `log`.
pub fn capture_log(child: &mut Child, active: u32, log: &Log) {
    capture_log_with(child, active, log, Arc::new(|_: &str| {}));
}

/// What is told each line a client prints, as it prints it.
pub type OnLine = Arc<dyn Fn(&str) + Send + Sync>;

/// [`capture_log`], each line also handed to `on_line`.
pub fn capture_log_with(child: &mut Child, active: u32, log: &Log, on_line: OnLine) {
    for out in [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let (log, on_line) = (log.clone(), on_line.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                tracing::debug!(target: "netnsd::openvpn", active, "{line}");
                on_line(&line);
                let mut l = log.lock().unwrap();
                if l.len() == LOG_LINES {
                    l.pop_front();
                }
                l.push_back(line);
            }
        });
    }
}

/// Waits for the client to end and hands `ended` its status (the exit
/// code, or minus the signal that killed it).
pub fn watch_exit(child: Child, ended: impl FnOnce(i32) + Send + 'static) {
    tokio::spawn(async move {
        let status = crate::spawn::wait_exit(child)
            .await
            .map(crate::spawn::status_code)
            .unwrap_or(-1);
        ended(status);
    });
}

/// Asks a client to end (SIGTERM).
pub fn stop(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
}

/// Ends a client that did not end when asked (SIGKILL).
pub fn kill(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Removes an activation's files.
pub fn remove_files(files: &[PathBuf]) {
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    fn activation(dir: &Path, number: u32) -> Activation {
        Activation::in_dir(dir.to_path_buf(), number, Path::new("/usr/sbin/netnsd"))
    }

    fn client(program: &'static str, args: &[&str], stdin: Option<&str>) -> Client {
        Client {
            program,
            args: args.iter().map(|a| a.to_string()).collect(),
            stdin: stdin.map(str::to_string),
            files: Vec::new(),
        }
    }

    #[test]
    fn names_of_an_activation() {
        let at = activation(Path::new("/run/netnsd/vpn"), 7);
        assert_eq!(at.tundev, "nsvpn7");
        assert_eq!(at.socket, Path::new("/run/netnsd/vpn/7.sock"));
        assert_eq!(
            at.helper,
            "/usr/sbin/netnsd --vpn-helper /run/netnsd/vpn/7.sock"
        );
        assert_eq!(at.file("auth"), Path::new("/run/netnsd/vpn/7.auth"));
    }

    #[tokio::test]
    async fn secrets_written_0600_and_the_helper_answered() {
        let dir = tempfile::tempdir().unwrap();
        let at = activation(dir.path(), 3);
        let mut c = client("true", &[], None);
        c.files.push((at.file("auth"), "user\npass\n".into()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (files, _helper) = prepare(&at, &c, move |env, reply| {
            let _ = reply.send("ok".into());
            tx.send(env.unwrap()).is_ok()
        })
        .unwrap();
        assert_eq!(files, [at.socket.clone(), at.file("auth")]);
        let meta = std::fs::metadata(at.file("auth")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(at.file("auth")).unwrap(),
            "user\npass\n"
        );

        // The helper's side: its environment in, the verdict out.
        let socket = at.socket.clone();
        let code = tokio::task::spawn_blocking(move || super::super::helper::run(&socket))
            .await
            .unwrap();
        assert_eq!(code, 0);
        let env = rx.recv().await.unwrap();
        assert!(env.contains_key("PATH"), "{env:?}");

        remove_files(&files);
        assert!(!at.socket.exists() && !at.file("auth").exists());
    }

    #[test]
    fn the_state_directory_is_root_s_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vpn")).unwrap();
        std::fs::set_permissions(
            dir.path().join("vpn"),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        let at = Activation::new(dir.path(), 1).unwrap();
        let meta = std::fs::metadata(at.socket.parent().unwrap()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    }

    /// Sends `message` to the helper socket and returns what came back.
    async fn send(socket: &Path, message: &[u8]) -> String {
        let mut s = tokio::net::UnixStream::connect(socket).await.unwrap();
        // The daemon may stop reading (and close) before all is written.
        let _ = s.write_all(message).await;
        let mut answer = String::new();
        let _ = tokio::io::BufReader::new(s).read_line(&mut answer).await;
        answer
    }

    #[tokio::test]
    async fn the_helper_socket_is_0600_and_its_messages_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let at = activation(dir.path(), 5);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (files, helper) = prepare(&at, &client("true", &[], None), move |r, reply| {
            let _ = reply.send(match &r {
                Ok(_) => "ok".into(),
                Err(e) => e.message(),
            });
            tx.send(r).is_ok()
        })
        .unwrap();
        let meta = std::fs::metadata(&at.socket).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);

        // Just under the bound: read.
        let pad = "x".repeat(MAX_MESSAGE - 100);
        let ok = format!("{{\"dev\":\"nsvpn5\",\"pad\":\"{pad}\"}}\n");
        assert_eq!(send(&at.socket, ok.as_bytes()).await, "ok\n");
        let env = rx.recv().await.unwrap().unwrap();
        assert_eq!(env["dev"], "nsvpn5");

        // Over it, with or without a newline: an error, unread.
        for tail in ["\n", ""] {
            let big = format!("{{\"pad\":\"{}\"}}{tail}", "x".repeat(MAX_MESSAGE));
            let answer = send(&at.socket, big.as_bytes()).await;
            assert!(answer.contains("longer than 256 KiB"), "{answer:?}");
            let e = rx.recv().await.unwrap().unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        }
        // Not JSON: an error, not an empty environment.
        let answer = send(&at.socket, b"dev=nsvpn5\n").await;
        assert!(answer.contains("not JSON"), "{answer:?}");
        assert!(rx.recv().await.unwrap().is_err());

        // Dropped, the listener is gone: nobody answers any more.
        drop(helper);
        tokio::task::yield_now().await;
        let mut refused = false;
        for _ in 0..100 {
            if tokio::net::UnixStream::connect(&at.socket).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            refused,
            "the helper socket still accepts after its Helper was dropped"
        );
        remove_files(&files);
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_written_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let at = activation(dir.path(), 4);
        let mut c = client("true", &[], None);
        c.files.push((at.file("auth"), "a".into()));
        c.files.push((dir.path().join("no/such/dir"), "b".into()));
        let e = prepare(&at, &c, |_, _| true).err().unwrap();
        assert!(
            matches!(e, Error::Failed(ref m) if m.starts_with("write ")),
            "{e:?}"
        );
        assert!(!at.file("auth").exists());
    }

    #[tokio::test]
    async fn client_started_with_secrets_on_stdin_and_its_log_kept() {
        let c = client(
            "sh",
            &["-c", "read x; echo got $x; echo late >&2; exit 3"],
            Some("it\n"),
        );
        let mut child = start(&c, None).await.unwrap();
        let log = Log::default();
        capture_log(&mut child, 1, &log);
        let (tx, rx) = oneshot::channel();
        watch_exit(child, move |status| {
            let _ = tx.send(status);
        });
        let status = tokio::time::timeout(Duration::from_secs(10), rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, 3);
        // The log threads finish at end of file, shortly after the exit.
        for _ in 0..100 {
            if log.lock().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut lines: Vec<String> = log.lock().unwrap().iter().cloned().collect();
        lines.sort();
        assert_eq!(lines, ["got it", "late"]);
    }

    #[tokio::test]
    async fn a_missing_client_is_not_supported() {
        let c = client("netnsd-no-such-vpn-client", &[], None);
        match start(&c, None).await {
            Err(Error::NotSupported(m)) => assert_eq!(
                m,
                "netnsd-no-such-vpn-client is not installed (Debian package netnsd-no-such-vpn-client)"
            ),
            other => panic!("{:?}", other.map(|c| c.id())),
        }
    }
}
