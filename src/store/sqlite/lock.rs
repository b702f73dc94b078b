//! One writer at a time. A write command holds an exclusive lock on the
//! sidecar file `<db>.lock` from before its first request until it ends, so
//! two runs never fetch or store the same day twice. Readers never take it:
//! WAL lets them read while a writer works. The operating system releases the
//! lock when the process ends, however it ends, so it can never go stale.

use super::IoContext;
use crate::store::{StoreError, Target};
use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held while it lives.
#[derive(Debug)]
pub(super) struct WriteLock {
    _file: File,
    path: PathBuf,
    /// Whether this run made the lock file.
    created: bool,
}

impl WriteLock {
    /// Releases the lock after a failed open, removing the lock file if this
    /// run made it: a refused path (not a database, a newer fxrates' one)
    /// is left with nothing new beside it. A run that waited on the file
    /// meanwhile then holds a lock on a removed file, which is harmless:
    /// it meets the same refusal.
    pub(super) fn abandon(self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The lock file of the database at `db`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = OsString::from(db.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the write lock of `db`, waiting at most `wait` for another run to
/// release it.
pub(super) fn acquire(db: &Path, wait: Duration) -> Result<WriteLock, StoreError> {
    let path = lock_path(db);
    let open = |create_new: bool| {
        OpenOptions::new()
            .write(true)
            .create_new(create_new)
            .mode(0o600)
            .open(&path)
    };
    let (file, created) = match open(true) {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => open(false).map(|f| (f, false)),
        Err(e) => Err(e),
    }
    .io(|| {
        format!(
            "cannot create the lock file {}; check that the database's directory is writable, \
                 or set --db (FXRATES_DB)",
            path.display()
        )
    })?;
    let deadline = Instant::now() + wait;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                return Ok(WriteLock {
                    _file: file,
                    path,
                    created,
                });
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(e).io(|| format!("cannot lock {}", path.display()));
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::Locked {
                target: Target::Sqlite(db.to_owned()),
                waited: wait,
                by: None,
            });
        }
        if !told {
            log::info!(
                "waiting for another fxrates run to finish with {} (at most {} s)",
                db.display(),
                wait.as_secs()
            );
            told = true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(100)));
    }
}
