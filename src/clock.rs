//! The current time, read once per run and passed down as a value, so that
//! a run sees one "now" and tests can fix it.

use chrono::{DateTime, Local, NaiveDate, Utc};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Now {
    /// When the run started.
    pub utc: DateTime<Utc>,
    /// The machine's local date (TZ is honoured): cron runs in local time.
    pub today: NaiveDate,
    /// Set by hand (`--now`, for tests and replays), not read from the
    /// machine's clock.
    pub fixed: bool,
    /// The monotonic clock at the start, for [`Now::current`].
    started: Instant,
}

impl Now {
    /// The run starts at `utc` (the real clock, or a test's fixed time).
    pub(crate) fn at(utc: DateTime<Utc>, fixed: bool) -> Now {
        Now {
            utc,
            today: utc.with_timezone(&Local).date_naive(),
            fixed,
            started: Instant::now(),
        }
    }

    /// The time now: the run's start plus what has passed since (so that a
    /// test's fixed clock moves on as the run does).
    pub(crate) fn current(&self) -> DateTime<Utc> {
        self.utc + self.started.elapsed()
    }
}
