//! Questions on the terminal for `harmy init`: a line, or a secret typed without
//! echo (termios through libc). The terminal is `/dev/tty`, so that the prompts
//! show even when stdout goes to a file; with no terminal there is no one to ask.
//!
//! Not `rpassword`: it turns the echo back on in a destructor, which a Ctrl-C
//! never runs (SIGINT's default action ends the process), so the user's shell
//! would be left typing blind. Here a SIGINT handler restores the terminal
//! first (`tests/init.rs` checks it on a pseudo-terminal).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use std::io::Read as _;

use anyhow::Context;

/// A line's length past which the answer is not a token or an id.
const MAX_ANSWER: usize = 4096;

/// The controlling terminal.
pub struct Terminal {
    tty: File,
}

impl Terminal {
    /// Opens `/dev/tty`; `None` when the process has no terminal (a script, a service).
    pub fn open() -> Option<Terminal> {
        OpenOptions::new().read(true).write(true).open("/dev/tty").ok().map(|tty| Terminal { tty })
    }

    /// Asks a question and reads the answer, trimmed.
    pub fn ask(&mut self, question: &str) -> anyhow::Result<String> {
        write!(self.tty, "{question}")?;
        self.tty.flush()?;
        self.read_line()
    }

    /// Asks for a secret: what is typed is not shown.
    pub fn ask_hidden(&mut self, question: &str) -> anyhow::Result<String> {
        write!(self.tty, "{question}")?;
        self.tty.flush()?;
        // ECHONL stays on: the newline typed still shows.
        let _echo_off = EchoOff::new(&self.tty)?;
        self.read_line()
    }

    fn read_line(&mut self) -> anyhow::Result<String> {
        let mut line = String::new();
        BufReader::new(&self.tty)
            .take(MAX_ANSWER as u64)
            .read_line(&mut line)
            .context("reading the answer from the terminal")?;
        Ok(line.trim().to_string())
    }
}

/// The terminal's settings before echo was turned off, for the SIGINT handler.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
static SAVED_FD: AtomicI32 = AtomicI32::new(-1);

/// Echo off until dropped; a Ctrl-C meanwhile restores it before the process ends,
/// so the shell is not left typing blind.
struct EchoOff {
    fd: i32,
    before: libc::termios,
    previous_handler: libc::sighandler_t,
}

impl EchoOff {
    fn new(tty: &File) -> anyhow::Result<EchoOff> {
        let fd = tty.as_raw_fd();
        // SAFETY: a zeroed termios is a valid value to be overwritten by tcgetattr.
        let mut before: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is an open terminal and `before` a valid termios to write.
        if unsafe { libc::tcgetattr(fd, &mut before) } != 0 {
            return Err(std::io::Error::last_os_error()).context("reading the terminal's settings");
        }
        // (One terminal per process: a second question finds the same settings.)
        let _ = SAVED.set(before);
        SAVED_FD.store(fd, Ordering::SeqCst);
        // SAFETY: the handler only calls async-signal-safe functions (tcsetattr, _exit).
        let previous_handler =
            unsafe { libc::signal(libc::SIGINT, restore_and_exit as *const () as libc::sighandler_t) };
        let mut quiet = before;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: as for tcgetattr, with a termios derived from the terminal's own.
        if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) } != 0 {
            return Err(std::io::Error::last_os_error()).context("turning the terminal's echo off");
        }
        Ok(EchoOff { fd, before, previous_handler })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same open terminal, and
        // the SIGINT disposition found there.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSAFLUSH, &self.before);
            libc::signal(libc::SIGINT, self.previous_handler);
        }
        SAVED_FD.store(-1, Ordering::SeqCst);
    }
}

extern "C" fn restore_and_exit(_signal: libc::c_int) {
    let fd = SAVED_FD.load(Ordering::SeqCst);
    // The settings were stored before the handler was installed.
    if let (true, Some(before)) = (fd >= 0, SAVED.get()) {
        // SAFETY: tcsetattr is async-signal-safe; `before` came from tcgetattr.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, before) };
    }
    // SAFETY: _exit is async-signal-safe; 130 is the shell's code for death by SIGINT.
    unsafe { libc::_exit(130) };
}
