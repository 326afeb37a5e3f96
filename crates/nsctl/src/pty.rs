//! The terminal side of `nsctl exec`, as `systemd-run --pty` does it: a
//! pseudo-terminal whose subordinate end the program gets as its controlling
//! terminal, nsctl's own terminal in raw mode, and a thread relaying bytes
//! between the two until the program ends.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::pty::{Winsize, openpty};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

/// nsctl's standard descriptors.
pub fn stdio(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: 0, 1 and 2 stay open for the life of the process (nsctl
    // never closes them); `is_open` is asked before one is passed on.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Whether descriptor `fd` is open.
pub fn is_open(fd: RawFd) -> bool {
    fcntl(stdio(fd), FcntlArg::F_GETFD).is_ok()
}

/// Whether descriptor `fd` is a terminal.
pub fn is_terminal(fd: RawFd) -> bool {
    is_open(fd) && nix::unistd::isatty(stdio(fd)).unwrap_or(false)
}

/// The window size of terminal `fd`.
fn window_size(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut ws = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_row > 0 && ws.ws_col > 0).then_some(ws)
}

/// A new pseudo-terminal, with the window size of nsctl's terminal.
pub struct Pty {
    /// The controlling end, which nsctl keeps and relays.
    pub master: Arc<OwnedFd>,
    /// The subordinate end, which the program gets.
    pub slave: OwnedFd,
}

impl Pty {
    pub fn open() -> io::Result<Self> {
        let ws = window_size(stdio(0));
        let p = openpty(ws.as_ref(), None)?;
        for fd in [&p.master, &p.slave] {
            fcntl(fd, FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
        }
        fcntl(&p.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok(Self {
            master: Arc::new(p.master),
            slave: p.slave,
        })
    }
}

/// Copies the window size of nsctl's terminal to the pseudo-terminal (on
/// SIGWINCH); the kernel tells the program's foreground process group.
pub fn copy_window_size(master: &OwnedFd) {
    if let Some(ws) = window_size(stdio(0)) {
        // SAFETY: TIOCSWINSZ reads one struct winsize.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
}

/// nsctl's terminal (stdin) in raw mode; dropping this restores it.
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> io::Result<Self> {
        let saved = tcgetattr(stdio(0))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(stdio(0), SetArg::TCSANOW, &raw)?;
        Ok(Self { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(stdio(0), SetArg::TCSADRAIN, &self.saved);
    }
}

/// After the program ended: how long to keep reading what it left in the
/// pseudo-terminal, and for how long nothing must come before nsctl stops.
const DRAIN_MAX: Duration = Duration::from_secs(2);
const DRAIN_QUIET: Duration = Duration::from_millis(100);

/// The relay thread: `input` → master, master → `output`.
pub struct Relay {
    stop: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts relaying. `input` is nsctl's terminal (stdin); `output` is
    /// where the program's terminal output goes (nsctl's stdout), None to
    /// drop it.
    pub fn start(
        master: Arc<OwnedFd>,
        input: Option<RawFd>,
        output: Option<RawFd>,
    ) -> io::Result<Self> {
        let (stop_rx, stop_tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let thread = std::thread::Builder::new()
            .name("pty-relay".into())
            .spawn(move || relay(&master, input, output, &stop_rx))?;
        Ok(Self {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Stops relaying after passing on what the program left in the
    /// pseudo-terminal; returns when the thread is done.
    pub fn finish(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = nix::unistd::write(&stop, b"x");
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.finish();
    }
}

fn pollfd(fd: Option<RawFd>, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd: fd.unwrap_or(-1),
        events,
        revents: 0,
    }
}

/// poll(2), retried on EINTR; `timeout` in ms, -1 for none.
fn poll(fds: &mut [libc::pollfd], timeout: i32) -> io::Result<()> {
    loop {
        // SAFETY: `fds` is a valid slice of pollfd.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        match Errno::result(r) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes all of `buf` to `fd` (a blocking descriptor), ignoring failures:
/// a terminal that went away has nobody left to read.
fn write_all(fd: Option<RawFd>, mut buf: &[u8]) {
    let Some(fd) = fd else { return };
    while !buf.is_empty() {
        match nix::unistd::write(stdio(fd), buf) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

const READABLE: libc::c_short = libc::POLLIN;
const GONE: libc::c_short = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;

fn relay(master: &OwnedFd, input: Option<RawFd>, output: Option<RawFd>, stop: &OwnedFd) {
    let mut buf = [0u8; 16 * 1024];
    // Input read from stdin that the pseudo-terminal did not take yet.
    let mut pending: Vec<u8> = Vec::new();
    let mut input_open = input.is_some();
    let mut master_open = true;
    loop {
        let mut fds = [
            pollfd(Some(stop.as_raw_fd()), READABLE),
            pollfd(input.filter(|_| input_open && pending.is_empty()), READABLE),
            pollfd(
                master_open.then_some(master.as_raw_fd()),
                READABLE | if pending.is_empty() { 0 } else { libc::POLLOUT },
            ),
        ];
        if poll(&mut fds, -1).is_err() {
            break;
        }
        if fds[0].revents != 0 {
            break;
        }
        if let Some(fd) = input
            && fds[1].revents != 0
        {
            match nix::unistd::read(stdio(fd), &mut buf) {
                Ok(0) => input_open = false,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => input_open = false,
            }
        }
        let revents = fds[2].revents;
        if revents & libc::POLLOUT != 0 {
            match nix::unistd::write(master, &pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => pending.clear(),
            }
        }
        if revents & READABLE != 0 {
            match nix::unistd::read(master, &mut buf) {
                Ok(0) => master_open = false,
                Ok(n) => write_all(output, &buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                // EIO: no one holds the subordinate end any longer.
                Err(_) => master_open = false,
            }
        } else if revents & GONE != 0 {
            master_open = false;
        }
        if !master_open {
            pending.clear();
        }
    }
    if master_open {
        drain(master, output, &mut buf);
    }
}

/// Passes on what is left in the pseudo-terminal: until it reports that no
/// one holds the subordinate end (EIO), or nothing came for DRAIN_QUIET
/// (a background process still holds it), or DRAIN_MAX passed.
fn drain(master: &OwnedFd, output: Option<RawFd>, buf: &mut [u8]) {
    let deadline = Instant::now() + DRAIN_MAX;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let timeout = left.min(DRAIN_QUIET).as_millis() as i32;
        let mut fds = [pollfd(Some(master.as_raw_fd()), READABLE)];
        if poll(&mut fds, timeout).is_err() || fds[0].revents == 0 {
            return;
        }
        match nix::unistd::read(master, buf) {
            Ok(0) => return,
            Ok(n) => write_all(output, &buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program's output written to the subordinate end arrives on the
    /// output, also what is still in the pseudo-terminal when the relay is
    /// told to stop; the relay ends once the subordinate end is closed.
    #[test]
    fn relays_and_drains_the_output() {
        let pty = openpty(None, None).unwrap();
        fcntl(&pty.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let (out_rx, out_tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        // Raw, so that the pseudo-terminal passes bytes unchanged.
        let mut t = tcgetattr(&pty.slave).unwrap();
        cfmakeraw(&mut t);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &t).unwrap();
        let master = Arc::new(pty.master);
        nix::unistd::write(&pty.slave, b"hello ").unwrap();
        let mut relay = Relay::start(master, None, Some(out_tx.as_raw_fd())).unwrap();
        nix::unistd::write(&pty.slave, b"world").unwrap();
        drop(pty.slave);
        relay.finish();
        drop(out_tx);
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&out_rx, &mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(String::from_utf8_lossy(&got), "hello world");
    }

    /// What is typed on nsctl's terminal reaches the program's terminal.
    #[test]
    fn relays_the_input() {
        let pty = openpty(None, None).unwrap();
        fcntl(&pty.master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
        let mut t = tcgetattr(&pty.slave).unwrap();
        cfmakeraw(&mut t);
        tcsetattr(&pty.slave, SetArg::TCSANOW, &t).unwrap();
        let (in_rx, in_tx) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
        let mut relay = Relay::start(Arc::new(pty.master), Some(in_rx.as_raw_fd()), None).unwrap();
        nix::unistd::write(&in_tx, b"\x03typed\r").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < 7 && Instant::now() < deadline {
            let mut fds = [pollfd(Some(pty.slave.as_raw_fd()), READABLE)];
            poll(&mut fds, 100).unwrap();
            if fds[0].revents != 0 {
                let n = nix::unistd::read(&pty.slave, &mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
            }
        }
        relay.finish();
        assert_eq!(got, b"\x03typed\r");
    }
}
