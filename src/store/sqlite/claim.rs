//! One writer at a time. A write command holds an exclusive `flock` on the
//! database file itself, found through its canonical path, from before its
//! first request until it ends, so two runs never fetch or store the same day
//! twice, whatever name (a link) each was given, and no file can be deleted
//! from under a run to let a second writer in. Readers never take it: WAL
//! lets them read while a writer works. The operating system releases the
//! lock when the process ends, however it ends, so it can never go stale.
//!
//! On Linux a `flock` and SQLite's own POSIX record locks on the same file
//! are independent. The descriptor stays open until the store's connection
//! has closed: closing another descriptor of the file earlier would drop
//! SQLite's record locks.

use super::guard;
use crate::store::{StoreError, Target};
use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

/// Held while it lives; the open database file it locks.
#[derive(Debug)]
pub(super) struct WriteLock {
    file: File,
}

impl WriteLock {
    /// The locked file, to read its header.
    pub(super) fn file(&self) -> &File {
        &self.file
    }
}

/// Takes the write lock of the database at `path` (canonical, existing),
/// waiting at most `wait` for another run to release it. A file replaced
/// while this run waited (restored from a backup, say) is locked afresh.
pub(super) fn acquire(
    path: &Path,
    target: &Target,
    wait: Duration,
) -> Result<WriteLock, StoreError> {
    let deadline = Instant::now() + wait;
    let mut told = false;
    let mut file = guard::open_file(path, target)?;
    loop {
        match file.try_lock() {
            Ok(()) if guard::same_file(&file, path) => return Ok(WriteLock { file }),
            Ok(()) => {
                file = guard::open_file(path, target)?;
                continue;
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::io(
                    format!("cannot lock the database {target}"),
                    e,
                ));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::Locked {
                target: target.clone(),
                waited: wait,
                by: None,
            });
        }
        if !told {
            log::info!(
                "waiting for another fxrates run to finish with {target} (at most {} s)",
                wait.as_secs()
            );
            told = true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
    }
}
