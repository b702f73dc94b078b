//! The SQLite store: one file, WAL mode (readers never block the writer),
//! versioned schema marked with an application id, one transaction per write
//! so that every stored day is complete, and a `flock` on the database file
//! itself for the write lock.

mod claim;
mod days;
mod guard;
mod plan_memory;
mod request_log;
mod run_log;
mod schema;
mod upkeep;

pub use schema::VERSION;

use super::{StoreError, Target};
use rusqlite::{Connection, OpenFlags};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use guard::Found;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct SqliteStore {
    conn: Connection,
    target: Target,
    /// Held by a store opened for writing; declared last so that it is
    /// released only after the connection has closed.
    _lock: Option<claim::WriteLock>,
}

/// Shorthand for mapping a driver's error to a [`StoreError::Io`].
trait IoContext<T> {
    fn io(self, what: impl FnOnce() -> String) -> Result<T, StoreError>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> IoContext<T> for Result<T, E> {
    fn io(self, what: impl FnOnce() -> String) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::io(what(), e))
    }
}

impl SqliteStore {
    /// Opens the database for writing, creating it (mode 0600, and its
    /// directory) if needed and `create`, and migrating it to this binary's
    /// schema. Holds the write lock until dropped: another writer waits for
    /// it, readers do not. What is not an fxrates database is refused
    /// before a byte of it is written.
    pub(super) fn open_for_writing(
        path: &Path,
        create: bool,
        lock_wait: Duration,
    ) -> Result<SqliteStore, StoreError> {
        let target = Target::Sqlite(path.to_owned());
        if !guard::check_type(path, &target)? {
            if !create {
                return Err(StoreError::Missing(target));
            }
            create_dir(path)?;
        }
        let real = guard::canonical(path)?;
        if !guard::check_type(&real, &target)? {
            create_file(&real, &target)?;
        }
        let lock = claim::acquire(&real, &target, lock_wait)?;
        let found = guard::inspect(lock.file(), &real, &target)?;
        let conn = Connection::open_with_flags(
            &real,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .io(|| format!("cannot open the database {target}"))?;
        let mut store = SqliteStore {
            conn,
            target,
            _lock: Some(lock),
        };
        store.configure()?;
        store.migrate(found)?;
        store
            .conn
            .pragma_update(None, "journal_mode", "WAL")
            .io(|| store.named("cannot switch the database to WAL mode"))?;
        // No full check here: it reads the whole file, so its cost grows
        // with the history. A run meets damage on the pages it touches
        // (SQLite says so), and `check_if_due` checks the rest weekly.
        Ok(store)
    }

    /// Opens an existing fxrates database for reading only; never creates a
    /// file, and refuses anything else without changing a byte of it.
    pub(super) fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        let target = Target::Sqlite(path.to_owned());
        if !guard::check_type(path, &target)? {
            return Err(StoreError::Missing(target));
        }
        let real = guard::canonical(path)?;
        let found = {
            let file = guard::open_file(&real, &target)?;
            guard::inspect(&file, &real, &target)?
        };
        match found {
            Found::Empty => return Err(StoreError::Empty(target)),
            Found::Ours { version, .. } if version < VERSION => {
                return Err(StoreError::TooOld {
                    target,
                    version,
                    known: VERSION,
                });
            }
            Found::Ours { .. } => {}
        }
        // Known to be fxrates' own: read-write without CREATE, but
        // query-only, because a read-only connection to a WAL database would
        // leave -wal and -shm files behind, while the last read-write
        // connection to close removes them.
        let conn = Connection::open_with_flags(
            &real,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| c.pragma_update(None, "query_only", true).map(|()| c))
        .io(|| format!("cannot open the database {target}"))?;
        let store = SqliteStore {
            conn,
            target,
            _lock: None,
        };
        store.configure()?;
        Ok(store)
    }

    /// A read that fails because the file is damaged says so.
    fn corrupt_or_io(&self, e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Corrupt {
                    target: self.target.clone(),
                    problem: e.to_string(),
                }
            }
            _ => StoreError::io(self.named("cannot read the database"), e),
        }
    }

    /// `what`, naming the database.
    fn named(&self, what: &str) -> String {
        format!("{what} ({})", self.target)
    }

    fn read_err(&self) -> impl FnOnce() -> String + '_ {
        || self.named("cannot read the database")
    }

    fn write_err(&self) -> impl FnOnce() -> String + '_ {
        || self.named("cannot write to the database")
    }

    fn configure(&self) -> Result<(), StoreError> {
        let result = self
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| self.conn.pragma_update(None, "foreign_keys", "ON"))
            .and_then(|()| self.conn.pragma_update(None, "synchronous", "FULL"));
        match result {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                Err(self.not_ours())
            }
            other => other.io(|| self.named("cannot configure the database")),
        }
    }

    fn not_ours(&self) -> StoreError {
        StoreError::NotOurs {
            target: self.target.clone(),
            why: "it is not SQLite, or is damaged",
        }
    }

    /// Brings what `found` to this binary's schema, and marks it as
    /// fxrates' own, in one transaction.
    fn migrate(&mut self, found: Found) -> Result<(), StoreError> {
        let (version, marked) = match found {
            Found::Empty => (0, false),
            Found::Ours { version, marked } => (version, marked),
        };
        if version == VERSION && marked {
            return Ok(());
        }
        let path = self.target.to_string();
        let tx = self
            .conn
            .transaction()
            .io(|| format!("cannot write to the database {path}"))?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let to = i as i64 + 1;
            let step = || -> rusqlite::Result<()> {
                let old = match to {
                    schema::TYPED_MEMORY => Some(plan_memory::recall(&tx)?),
                    _ => None,
                };
                tx.execute_batch(sql)?;
                if let Some(old) = old {
                    plan_memory::remember(&tx, &old)?;
                }
                tx.pragma_update(None, "user_version", to)
            };
            step().io(|| format!("cannot upgrade the database {path} to schema version {to}"))?;
        }
        tx.pragma_update(None, "application_id", guard::APPLICATION_ID)
            .and_then(|()| tx.commit())
            .io(|| format!("cannot write to the database {path}"))?;
        if version < VERSION {
            log::info!("database {path} is at schema version {VERSION}");
        }
        Ok(())
    }
}

/// Creates the database's directory (0700) if it does not exist.
fn create_dir(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if dir.exists() && !dir.is_dir() {
            return Err(StoreError::Unusable(format!(
                "{} is a file, not a directory, so the database cannot go in it; point --db \
                 (FXRATES_DB) at another path",
                dir.display()
            )));
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .io(|| {
                format!(
                    "cannot create the directory {} for the database",
                    dir.display()
                )
            })?;
    }
    Ok(())
}

/// Creates an empty database file (0600) if there is none, so that SQLite
/// never creates a world-readable file.
fn create_file(path: &Path, target: &Target) -> Result<(), StoreError> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {
            log::info!("created the database {target}");
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).io(|| {
            format!(
                "cannot create the database {target}; check that its directory is writable, or set --db (FXRATES_DB)"
            )
        }),
    }
}
