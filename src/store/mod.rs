//! The SQLite store: one file, WAL mode, versioned schema, one transaction per
//! write so that every stored day is complete.

mod history;
mod lock;
mod schema;
mod series;

pub use history::{LastRun, Pruned, Summary};
pub use lock::lock_path;
pub use schema::VERSION;

use crate::error::{Exit, ResultExt, fail};
use crate::fixer::Attempt;
use crate::rates::{Currency, RateSet, Snapshot};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Held by a store opened for writing; declared last so that it is
    /// released only after the connection has closed.
    _lock: Option<lock::WriteLock>,
}

/// A stored day, as `show` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDay {
    pub date: NaiveDate,
    pub base: Currency,
    pub source_date: NaiveDate,
    pub source_timestamp: Option<i64>,
    pub fetched_at: String,
    pub rates: RateSet,
}

/// How the day being stored was fetched.
pub struct Provenance<'a> {
    pub endpoint: &'a str,
    pub fetched_at: DateTime<Utc>,
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Store {
    /// Opens the database for writing, creating it (mode 0600, and its
    /// directory) if needed, and migrating it to this binary's schema.
    /// Holds the write lock until dropped: another writer waits for it (see
    /// `config::lock_timeout`), readers do not.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        create_dir(path)?;
        let lock = lock::acquire(path, crate::config::lock_timeout()?)?;
        match Store::open_locked(path) {
            Ok(mut store) => {
                store._lock = Some(lock);
                Ok(store)
            }
            Err(e) => {
                lock.abandon();
                Err(e)
            }
        }
    }

    fn open_locked(path: &Path) -> anyhow::Result<Store> {
        create_file(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .exit(Exit::IoErr, || {
            format!("cannot open the database {}", path.display())
        })?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
            _lock: None,
        };
        store.configure()?;
        store.migrate()?;
        store
            .conn
            .pragma_update(None, "journal_mode", "WAL")
            .exit(Exit::IoErr, || {
                store.named("cannot switch the database to WAL mode")
            })?;
        Ok(store)
    }

    /// Opens an existing database for reading only; never creates a file.
    pub fn open_read_only(path: &Path) -> anyhow::Result<Store> {
        if !path.exists() {
            return Err(fail(
                Exit::NoInput,
                format!(
                    "there is no database at {}; run `fxrates backfill` or `fxrates ingest` first, \
                     or point --db (FXRATES_DB) at the right file",
                    path.display()
                ),
            ));
        }
        // Read-write without CREATE, but query-only: a read-only connection
        // to a WAL database would leave -wal and -shm files behind, while
        // the last read-write connection to close removes them.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| c.pragma_update(None, "query_only", true).map(|()| c))
        .exit(Exit::IoErr, || {
            format!("cannot open the database {}", path.display())
        })?;
        let store = Store {
            conn,
            path: path.to_owned(),
            _lock: None,
        };
        store.configure()?;
        let version = store.version()?;
        if version == 0 && !store.is_empty()? {
            return Err(store.foreign());
        }
        if version > VERSION {
            return Err(store.too_new(version));
        }
        if version < VERSION {
            return Err(fail(
                Exit::IoErr,
                format!(
                    "{} has schema version {version}, this fxrates reads version {VERSION}; run \
                     `fxrates ingest` once to upgrade it",
                    store.path.display()
                ),
            ));
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn named(&self, what: &str) -> String {
        format!("{what} ({})", self.path.display())
    }

    fn configure(&self) -> anyhow::Result<()> {
        let result = self
            .conn
            .busy_timeout(BUSY_TIMEOUT)
            .and_then(|()| self.conn.pragma_update(None, "foreign_keys", "ON"))
            .and_then(|()| self.conn.pragma_update(None, "synchronous", "FULL"));
        if let Err(e) = &result
            && e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase)
        {
            return result.exit(Exit::IoErr, || self.not_fxrates());
        }
        result.exit(Exit::IoErr, || self.named("cannot configure the database"))
    }

    fn not_fxrates(&self) -> String {
        format!(
            "{} is not an fxrates database (it is not SQLite, or is damaged); point --db \
             (FXRATES_DB) at another path",
            self.path.display()
        )
    }

    fn version(&self) -> anyhow::Result<i64> {
        self.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .exit(Exit::IoErr, || self.not_fxrates())
    }

    fn is_empty(&self) -> anyhow::Result<bool> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .exit(Exit::IoErr, || self.named("cannot read the database"))?;
        Ok(n == 0)
    }

    fn foreign(&self) -> anyhow::Error {
        fail(
            Exit::IoErr,
            format!(
                "{} is a SQLite database of another program, not fxrates'; point --db (FXRATES_DB) \
                 at another path",
                self.path.display()
            ),
        )
    }

    fn too_new(&self, version: i64) -> anyhow::Error {
        fail(
            Exit::IoErr,
            format!(
                "{} has schema version {version}, newer than the version {VERSION} this fxrates \
                 knows; upgrade fxrates",
                self.path.display()
            ),
        )
    }

    fn migrate(&mut self) -> anyhow::Result<()> {
        let version = self.version()?;
        if version == 0 && !self.is_empty()? {
            return Err(self.foreign());
        }
        if version > VERSION {
            return Err(self.too_new(version));
        }
        if version == VERSION {
            return Ok(());
        }
        let path = self.path.display().to_string();
        let tx = self.conn.transaction().exit(Exit::IoErr, || {
            format!("cannot write to the database {path}")
        })?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", i as i64 + 1))
                .exit(Exit::IoErr, || {
                    format!(
                        "cannot upgrade the database {path} to schema version {}",
                        i + 1
                    )
                })?;
        }
        tx.commit().exit(Exit::IoErr, || {
            format!("cannot write to the database {path}")
        })?;
        log::info!("database {path} is at schema version {VERSION}");
        Ok(())
    }

    /// Whether `date` is stored.
    pub fn has_day(&self, date: NaiveDate) -> anyhow::Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM days WHERE date = ?1")
            .and_then(|mut s| s.exists([date.to_string()]))
            .exit(Exit::IoErr, || self.named("cannot read the database"))
    }

    /// Stores `snapshot` under the business date `date`, replacing any stored
    /// rates of that day, in one transaction.
    pub fn put_day(
        &mut self,
        date: NaiveDate,
        snapshot: &Snapshot,
        provenance: &Provenance<'_>,
    ) -> anyhow::Result<()> {
        self.put_days(
            std::iter::once((
                date,
                snapshot.source_date,
                snapshot.source_timestamp,
                &snapshot.rates,
            )),
            snapshot.base,
            provenance,
        )
    }

    /// Stores several days in one transaction: all of them or none.
    pub fn put_days<'r>(
        &mut self,
        days: impl IntoIterator<Item = (NaiveDate, NaiveDate, Option<i64>, &'r RateSet)>,
        base: Currency,
        provenance: &Provenance<'_>,
    ) -> anyhow::Result<()> {
        let path = self.path.display().to_string();
        let fetched_at = timestamp(provenance.fetched_at);
        let write = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<()> {
            let mut del = tx.prepare_cached("DELETE FROM day_rates WHERE date = ?1")?;
            let mut day = tx.prepare_cached(
                "INSERT OR REPLACE INTO days (date, base, source, endpoint, source_date, source_timestamp, fetched_at)
                 VALUES (?1, ?2, 'fixer', ?3, ?4, ?5, ?6)",
            )?;
            let mut rate = tx.prepare_cached(
                "INSERT INTO day_rates (date, currency, rate) VALUES (?1, ?2, ?3)",
            )?;
            let mut unavailable =
                tx.prepare_cached("DELETE FROM unavailable_days WHERE date = ?1")?;
            for (date, source_date, source_ts, rates) in days {
                let date = date.to_string();
                del.execute([&date])?;
                day.execute(params![
                    date,
                    base.as_str(),
                    provenance.endpoint,
                    source_date.to_string(),
                    source_ts,
                    fetched_at
                ])?;
                for (currency, decimal) in rates.iter() {
                    rate.execute(params![date, currency.as_str(), decimal])?;
                }
                unavailable.execute([&date])?;
            }
            Ok(())
        };
        let tx = self.conn.transaction().exit(Exit::IoErr, || {
            format!("cannot write to the database {path}")
        })?;
        write(&tx).and_then(|()| tx.commit()).exit(Exit::IoErr, || {
            format!("cannot store rates in the database {path}")
        })
    }

    /// The most recent stored day on or before `date`, at most `max_back`
    /// days earlier; the latest stored day when `date` is `None`.
    pub fn day_on_or_before(
        &self,
        date: Option<NaiveDate>,
        max_back: u64,
    ) -> anyhow::Result<Option<StoredDay>> {
        let found: Option<String> = match date {
            None => self
                .conn
                .query_row("SELECT max(date) FROM days", [], |r| r.get(0))
                .optional()
                .map(Option::flatten),
            Some(d) => {
                let earliest = d.checked_sub_days(chrono::Days::new(max_back)).unwrap_or(d);
                self.conn
                    .query_row(
                        "SELECT max(date) FROM days WHERE date <= ?1 AND date >= ?2",
                        [d.to_string(), earliest.to_string()],
                        |r| r.get(0),
                    )
                    .optional()
                    .map(Option::flatten)
            }
        }
        .exit(Exit::IoErr, || self.named("cannot read the database"))?;
        match found {
            None => Ok(None),
            Some(d) => self.day(&d).map(Some),
        }
    }

    fn day(&self, date: &str) -> anyhow::Result<StoredDay> {
        let read =
            || -> rusqlite::Result<(String, String, String, Option<i64>, String, RateSet)> {
                let (base, source_date, ts, fetched_at) = self.conn.query_row(
                "SELECT base, source_date, source_timestamp, fetched_at FROM days WHERE date = ?1",
                [date],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?)),
            )?;
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT currency, rate FROM day_rates WHERE date = ?1")?;
                let mut rows = stmt.query([date])?;
                let mut rates = RateSet::with_capacity(180);
                while let Some(row) = rows.next()? {
                    let code = row.get_ref(0)?.as_str()?;
                    let rate = row.get_ref(1)?.as_str()?;
                    if let Some(c) = Currency::parse(code) {
                        rates.push(c, rate);
                    }
                }
                Ok((date.to_string(), base, source_date, ts, fetched_at, rates))
            };
        let (date, base, source_date, source_timestamp, fetched_at, mut rates) =
            read().exit(Exit::IoErr, || self.named("cannot read the database"))?;
        rates.sort_and_find_duplicate();
        let bad = || {
            fail(
                Exit::IoErr,
                self.named(&format!("the stored day {date} is damaged")),
            )
        };
        Ok(StoredDay {
            date: crate::calendar::parse_date(&date).ok_or_else(bad)?,
            base: Currency::parse(&base).ok_or_else(bad)?,
            source_date: crate::calendar::parse_date(&source_date).ok_or_else(bad)?,
            source_timestamp,
            fetched_at,
            rates,
        })
    }

    /// Records requests made to the provider, for the quota.
    pub fn record_attempts(&self, attempts: &[Attempt]) -> anyhow::Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO requests (at, endpoint, outcome) VALUES (?1, ?2, ?3)")
            .exit(Exit::IoErr, || self.named("cannot record a request"))?;
        for a in attempts {
            stmt.execute(params![timestamp(a.at), a.endpoint, a.outcome])
                .exit(Exit::IoErr, || self.named("cannot record a request"))?;
        }
        Ok(())
    }

    /// How many requests were made at or after `since`.
    pub fn requests_since(&self, since: DateTime<Utc>) -> anyhow::Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM requests WHERE at >= ?1",
                [timestamp(since)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .exit(Exit::IoErr, || self.named("cannot read the request record"))
    }

    /// The connection, for modules that add their own queries.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// Creates the database's directory (0700) if it does not exist.
fn create_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if dir.exists() && !dir.is_dir() {
            return Err(fail(
                Exit::IoErr,
                format!(
                    "{} is a file, not a directory, so the database cannot go in it; point --db \
                     (FXRATES_DB) at another path",
                    dir.display()
                ),
            ));
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .exit(Exit::IoErr, || {
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
fn create_file(path: &Path) -> anyhow::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {
            log::info!("created the database {}", path.display());
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e)
            .context(format!("creating {}", path.display()))
            .exit(Exit::IoErr, || {
                format!(
                    "cannot create the database {}; check that its directory is writable, or set --db (FXRATES_DB)",
                    path.display()
                )
            }),
    }
}
