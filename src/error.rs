//! Exit codes, and the error that carries one: a leaf every layer may use.
//!
//! Commands return `anyhow::Result`. The layers below return typed errors
//! (`StoreError`, `FetchError`) that know no exit code; commands attach a
//! [`Failure`] (via [`fail`] or [`ResultExt::exit`]) where they decide one
//! themselves. The boundary (`crate::report`) turns each of them into an exit
//! code and the line the user reads; `main` exits with the code of the first
//! one in the chain, so no code below `main` calls `process::exit`.

use std::fmt;

/// Process exit codes, sysexits-style, so a cron wrapper can tell "try again
/// later" from "a person must act". Documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// `status` found the history unhealthy (missing weekdays or stale data).
    Unhealthy = 1,
    /// `status`: the last ingest or backfill failed for a reason a person
    /// must fix (see `error::needs_a_person`), whatever the history holds.
    RunFailed = 3,
    /// Bad command line or arguments (clap uses 2 too).
    Usage = 2,
    /// A store named (`--db`, `FXRATES_DB`, `copy`'s SOURCE or DEST) that
    /// cannot be meant as written: empty, or a URL that is not PostgreSQL's.
    StoreName = 64,
    /// The provider answered, but with something unusable.
    DataErr = 65,
    /// No data for what was asked (`show` without a stored day, error 106).
    NoInput = 66,
    /// The provider could not be reached (DNS, TLS, connection failed).
    Unavailable = 69,
    /// A bug in fxrates.
    Software = 70,
    /// Another fxrates run holds the database.
    Locked = 73,
    /// The database could not be read or written.
    IoErr = 74,
    /// Temporary failure worth retrying later (timeout, 5xx, 429, refused).
    TempFail = 75,
    /// Configuration or account problem a person must fix.
    Config = 78,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Whether a run that ended with `code` waits for a person (a key, plan,
/// quota, setting, permission or bug to fix) rather than for time: a
/// provider or network that was down, another run holding the database, an
/// answer that was unusable or had no rates. The next scheduled run meets
/// the latter again only if it persists, and then the history goes stale,
/// which `status` reports on its own.
pub(crate) fn needs_a_person(code: i64) -> bool {
    let passing = [
        Exit::Ok,
        Exit::DataErr,
        Exit::NoInput,
        Exit::Unavailable,
        Exit::Locked,
        Exit::TempFail,
    ];
    !passing.iter().any(|e| i64::from(e.code()) == code)
}

/// An error with the exit code it should end the process with. Its message
/// is what the user reads; the `source`, if any, is detail shown with `-v`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub exit: Exit,
    /// `None` for a [`Failure::silent`] one.
    message: Option<String>,
    // Kept as an `anyhow::Error` so that the causes below stay typed (and
    // can be told apart by the boundary).
    source: Option<anyhow::Error>,
}

impl Failure {
    /// An exit code with nothing to say: the run has printed its verdict
    /// already (an unhealthy `status`), so no error line follows.
    pub(crate) fn silent(exit: Exit) -> anyhow::Error {
        anyhow::Error::new(Failure {
            exit,
            message: None,
            source: None,
        })
    }

    /// What the user reads; `None` when the failure is silent.
    pub(crate) fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or_default())
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source: &(dyn std::error::Error + Send + Sync + 'static) =
            self.source.as_ref()?.as_ref();
        Some(source)
    }
}

/// A new error that exits with `exit`, saying `message`.
pub(crate) fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        exit,
        message: Some(message.into()),
        source: None,
    })
}

pub(crate) trait ResultExt<T> {
    /// Wraps any error in a [`Failure`] with `exit` and a message naming what
    /// failed; the original error stays in the chain for `-v`.
    fn exit(self, exit: Exit, message: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn exit(self, exit: Exit, message: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| {
            let cause: anyhow::Error = e.into();
            anyhow::Error::new(Failure {
                exit,
                message: Some(message()),
                source: Some(cause),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_time_cannot_mend_wait_for_a_person() {
        for code in [Exit::Config, Exit::IoErr, Exit::Software, Exit::Usage] {
            assert!(needs_a_person(code.code().into()), "{code:?}");
        }
        assert!(
            needs_a_person(64),
            "an exit code this version does not know"
        );
        for code in [
            Exit::Ok,
            Exit::TempFail,
            Exit::Unavailable,
            Exit::Locked,
            Exit::DataErr,
            Exit::NoInput,
        ] {
            assert!(!needs_a_person(code.code().into()), "{code:?}");
        }
    }
}
