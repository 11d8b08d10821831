//! A child whose stderr is a terminal (a pseudo-terminal this test holds the
//! other end of), for what harmy shows only on a terminal: the import's progress
//! line; or a child whose controlling terminal it is, for `harmy init`'s questions.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the child wrote to the terminal so far.
pub struct Screen {
    text: Arc<(Mutex<String>, Condvar)>,
}

impl Screen {
    /// Waits until the text written so far satisfies `done`, and returns it
    /// (panics after 60 s, or when the child closed the terminal first).
    pub fn wait_for(&self, done: impl Fn(&str) -> bool) -> String {
        let (text, changed) = &*self.text;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut text = text.lock().unwrap();
        while !done(&text) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the terminal never showed it; it shows {text:?}");
            text = changed.wait_timeout(text, left).unwrap().0;
        }
        text.clone()
    }
}

/// Spawns `cmd` with stdout and stdin null and stderr on a new pseudo-terminal.
pub fn spawn_with_stderr_on_a_terminal(cmd: &mut Command) -> (Child, Screen) {
    let (master, slave) = openpty();
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(slave)).spawn().unwrap();
    (child, screen(master))
}

/// The test's end of a terminal that is a child's controlling terminal.
pub struct Keyboard {
    master: std::fs::File,
}

impl Keyboard {
    /// Types `bytes` (`\x03` is Ctrl-C: the terminal sends SIGINT).
    pub fn type_in(&mut self, bytes: &[u8]) {
        std::io::Write::write_all(&mut self.master, bytes).unwrap();
    }

    /// Waits until the terminal's echo is `on` (panics after 60 s).
    pub fn wait_for_echo(&self, on: bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.echoes() != on {
            assert!(Instant::now() < deadline, "the echo never turned {}", if on { "on" } else { "off" });
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether the terminal echoes what is typed (its `ECHO` flag).
    pub fn echoes(&self) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: a zeroed termios is a valid value to be overwritten by tcgetattr.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: the master of a pseudo-terminal reads its settings; `settings` is valid to write.
        assert_eq!(unsafe { libc::tcgetattr(self.master.as_raw_fd(), &mut settings) }, 0);
        settings.c_lflag & libc::ECHO != 0
    }
}

/// Spawns `cmd` in a session of its own whose controlling terminal is a new
/// pseudo-terminal (stdin, stdout and stderr on it, and `/dev/tty`).
pub fn spawn_on_a_terminal(cmd: &mut Command) -> (Child, Screen, Keyboard) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let (master, slave) = openpty();
    let fd = slave.as_raw_fd();
    let (input, output) = (slave.try_clone().unwrap(), slave.try_clone().unwrap());
    // SAFETY: setsid and ioctl are async-signal-safe, as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.stdin(Stdio::from(input)).stdout(Stdio::from(output)).stderr(Stdio::from(slave)).spawn().unwrap();
    let keyboard = Keyboard { master: std::fs::File::from(master.try_clone().unwrap()) };
    (child, screen(master), keyboard)
}

fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the integers it is given.
    let opened =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// What the terminal shows, read from its `master` end on a thread of its own.
fn screen(master: OwnedFd) -> Screen {
    let text = Arc::new((Mutex::new(String::new()), Condvar::new()));
    std::thread::spawn({
        let text = text.clone();
        move || {
            let mut master = std::fs::File::from(master);
            let mut buf = [0u8; 4096];
            // Ends with EIO once the child (the last holder of the terminal's other end) exits.
            while let Ok(n @ 1..) = master.read(&mut buf) {
                text.0.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                text.1.notify_all();
            }
        }
    });
    Screen { text }
}
