//! A child whose stderr is a terminal (a pseudo-terminal this test holds the
//! other end of), for what harmy shows only on a terminal: the import's progress line.

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
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the integers it is given.
    let opened =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(slave)).spawn().unwrap();
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
    (child, Screen { text })
}
