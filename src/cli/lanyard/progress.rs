//! The progress line of a long import, on a terminal only: one line on stderr,
//! rewritten in place, gone when the import ends (stdout keeps the report).

use std::io::{IsTerminal, Write};

/// Users done out of all, shown while an import runs.
pub struct Progress {
    total: usize,
    shown: bool,
    dry_run: bool,
}

impl Progress {
    /// A progress line for `total` users, shown when stderr is a terminal and the
    /// import takes more than one batch.
    pub fn new(total: usize, batch: usize, dry_run: bool) -> Progress {
        Progress { total, shown: total > batch && std::io::stderr().is_terminal(), dry_run }
    }

    /// `done` users are through.
    pub fn update(&self, done: usize) {
        if self.shown {
            let verb = if self.dry_run { "checking" } else { "importing" };
            let percent = done * 100 / self.total.max(1);
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K{verb} from Lanyard: {done} of {} users ({percent}%)", self.total);
            let _ = err.flush();
        }
    }

    /// Clears the line.
    pub fn finish(&self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
