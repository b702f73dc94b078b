//! What a storage failure means for the user: the exit code of a
//! [`StoreError`], and the system's reason in words.

use crate::error::Exit;
use crate::store::StoreError;

/// A store that is not there is missing input; another run holding it says
/// "try again"; everything else is the store failing.
pub(super) fn exit(e: &StoreError) -> Exit {
    match e {
        StoreError::Missing(_) | StoreError::Empty(_) => Exit::NoInput,
        StoreError::Locked { .. } | StoreError::Blocked { .. } => Exit::Locked,
        StoreError::Connect(e) if e.temporary => Exit::TempFail,
        StoreError::Connect(_) | StoreError::ClockAhead { .. } | StoreError::FutureDay { .. } => {
            Exit::Config
        }
        StoreError::Lost { .. } | StoreError::ClaimLost { .. } | StoreError::Unanswered { .. } => {
            Exit::TempFail
        }
        _ => Exit::IoErr,
    }
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
