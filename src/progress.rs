//! A one-line progress display on stderr, shown only on a terminal (and not
//! with `-q`), so that cron mail stays empty.

use std::io::{IsTerminal, Write};

pub(crate) struct Progress {
    what: &'static str,
    total: usize,
    done: usize,
    shown: bool,
}

impl Progress {
    pub(crate) fn new(what: &'static str, total: usize) -> Progress {
        let shown =
            total > 1 && log::log_enabled!(log::Level::Info) && std::io::stderr().is_terminal();
        let p = Progress {
            what,
            total,
            done: 0,
            shown,
        };
        p.draw();
        p
    }

    /// `n` more of the total are done.
    pub(crate) fn advance(&mut self, n: usize) {
        self.done = (self.done + n).min(self.total);
        self.draw();
    }

    fn draw(&self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rfxrates: {} {}/{}\x1b[K",
                self.what, self.done, self.total
            );
            let _ = err.flush();
        }
    }
}

impl Drop for Progress {
    /// Clears the line, so that what follows starts clean.
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}
