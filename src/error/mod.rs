//! Exit codes, and the command boundary's verdict on every error.
//!
//! Commands return `anyhow::Result`. The layers below return typed errors
//! ([`StoreError`], [`FetchError`]) that know no exit code; commands attach a
//! [`Failure`] (via [`fail`] or [`ResultExt::exit`]) where they decide one
//! themselves. [`verdict`] is the one place that turns each of them into an
//! exit code and the line the user reads; `main` exits with the code of the
//! first one in the chain, so no code below `main` calls `process::exit`.

mod ecb;
mod fetch;

pub(crate) use ecb::describe as describe_ecb;

use crate::fixer::FetchError;
use crate::store::StoreError;
use std::fmt;

/// Process exit codes, sysexits-style, so a cron wrapper can tell "try again
/// later" from "a person must act". Documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Ok = 0,
    /// `status` found the history unhealthy (missing weekdays or stale data).
    Unhealthy = 1,
    /// Bad command line or arguments (clap uses 2 too).
    Usage = 2,
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

/// An error with the exit code it should end the process with. Its message
/// is what the user reads; the `source`, if any, is detail shown with `-v`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub exit: Exit,
    pub message: String,
    // Kept as an `anyhow::Error` so that the causes below stay typed (and
    // can be told apart, see `storage_cause`).
    source: Option<anyhow::Error>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source: &(dyn std::error::Error + Send + Sync + 'static) =
            self.source.as_ref()?.as_ref();
        Some(source)
    }
}

/// A new error that exits with `exit`.
pub(crate) fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        exit,
        message: message.into(),
        source: None,
    })
}

/// What a typed error means for the user: the exit code and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub exit: Exit,
    pub message: String,
}

/// The verdict on `cause`, if it is one of the typed errors of the layers
/// below: this is where the command boundary turns them into exit codes and
/// messages. `None` for an error that is only context.
pub(crate) fn verdict(cause: &(dyn std::error::Error + 'static)) -> Option<Verdict> {
    if let Some(f) = cause.downcast_ref::<Failure>() {
        return Some(Verdict {
            exit: f.exit,
            message: f.message.clone(),
        });
    }
    if let Some(e) = cause.downcast_ref::<StoreError>() {
        return Some(Verdict {
            exit: e.exit(),
            message: e.to_string(),
        });
    }
    if let Some(e) = cause.downcast_ref::<FetchError>() {
        let (exit, message) = fetch::describe(e);
        return Some(Verdict { exit, message });
    }
    if let Some(e) = cause.downcast_ref::<crate::ecb::EcbError>() {
        let (exit, message) = ecb::describe(e);
        return Some(Verdict { exit, message });
    }
    None
}

impl StoreError {
    /// A store that is not there is missing input; another run holding it
    /// says "try again"; everything else is the store failing.
    pub fn exit(&self) -> Exit {
        match self {
            StoreError::Missing(_) | StoreError::Empty(_) => Exit::NoInput,
            StoreError::Locked { .. } => Exit::Locked,
            StoreError::Connect(e) if e.temporary => Exit::TempFail,
            StoreError::Connect(_) => Exit::Config,
            StoreError::Lost { .. } | StoreError::ClaimLost { .. } => Exit::TempFail,
            _ => Exit::IoErr,
        }
    }
}

/// The exit code an error chain asks for: the outermost typed error (see
/// [`verdict`]), else a storage error (74), else 70.
pub(crate) fn exit_of(err: &anyhow::Error) -> Exit {
    if let Some(v) = err.chain().find_map(verdict) {
        return v.exit;
    }
    for cause in err.chain() {
        if cause.downcast_ref::<rusqlite::Error>().is_some()
            || cause.downcast_ref::<std::io::Error>().is_some()
        {
            return Exit::IoErr;
        }
    }
    Exit::Software
}

/// Why storage failed, when the error chain says so plainly enough to tell
/// the user: a full disk reads differently from a missing permission.
pub(crate) fn storage_cause(err: &anyhow::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode as Sql;
    use std::io::ErrorKind as Io;
    err.chain().find_map(|cause| {
        if let Some(rusqlite::Error::SqliteFailure(e, _)) = cause.downcast_ref::<rusqlite::Error>()
        {
            return match e.code {
                Sql::DiskFull => Some("the disk is full: free some space"),
                Sql::SystemIoFailure => Some("disk I/O error: the disk may be full or failing"),
                Sql::ReadOnly => Some("the file or its directory is read-only"),
                Sql::CannotOpen => Some("the file or its directory cannot be opened or written"),
                Sql::DatabaseCorrupt | Sql::NotADatabase => Some(
                    "the file is damaged: restore it from a backup (see \"Backups\" in DEPLOYMENT.md)",
                ),
                _ => None,
            };
        }
        match cause.downcast_ref::<std::io::Error>()?.kind() {
            Io::StorageFull => Some("the disk is full: free some space"),
            Io::ReadOnlyFilesystem => Some("the file system is read-only"),
            Io::PermissionDenied => Some("permission denied"),
            Io::NotADirectory => Some("a part of the path is not a directory"),
            _ => None,
        }
    })
}

/// Whether the error is stdout closed by its reader (`fxrates show | head`),
/// which is no failure of fxrates.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
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
                message: message(),
                source: Some(cause),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn the_exit_code_and_the_cause_survive_wrapping() {
        let err = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .exit(Exit::IoErr, || "cannot write to stdout".into())
            .map_err(|e| e.context("showing rates"))
            .unwrap_err();
        assert_eq!(exit_of(&err), Exit::IoErr);
        assert!(is_broken_pipe(&err));
        let other = Err::<(), _>(io::Error::from(io::ErrorKind::PermissionDenied))
            .exit(Exit::IoErr, || "cannot write".into())
            .unwrap_err();
        assert!(!is_broken_pipe(&other));
        assert_eq!(exit_of(&fail(Exit::Config, "x")), Exit::Config);
    }
}
