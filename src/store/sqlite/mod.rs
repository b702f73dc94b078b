//! The SQLite store: one file, WAL mode (readers never block the writer),
//! versioned schema marked with an application id, one transaction per write
//! so that every stored day is complete, and a `flock` on the database file
//! itself for the write lock.

mod guard;
mod history;
mod lock;
mod plan_memory;
mod schema;
mod walk;

pub use schema::VERSION;

use super::{
    LastRun, NewDay, Provenance, ProviderDays, Pruned, Request, RequestId, RunFailure, RunId,
    StoreError, StoredDay, Summary, Target, timestamp,
};
use crate::calendar::parse_date;
use crate::rates::{Currency, RateSet, Source};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;
use std::time::Duration;

use guard::Found;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a writer runs the full check of the file (`PRAGMA
/// quick_check`, which reads every page): weekly, so the daily run does not
/// pay for the whole history every day.
const FULL_CHECK_DAYS: i64 = 7;

pub(super) struct SqliteStore {
    conn: Connection,
    target: Target,
    /// Held by a store opened for writing; declared last so that it is
    /// released only after the connection has closed.
    _lock: Option<lock::WriteLock>,
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
        let lock = lock::acquire(&real, &target, lock_wait)?;
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

    /// What `PRAGMA quick_check` finds wrong, if anything: a damaged page or
    /// index that would otherwise surface as "cannot read" much later.
    pub(super) fn integrity_problem(&self) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check(3)")
            .map_err(|e| self.corrupt_or_io(e))?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.corrupt_or_io(e))?;
        Ok(match rows.as_slice() {
            [ok] if ok == "ok" => None,
            _ => Some(crate::untrusted::one_line(
                &rows.join("; ").replace('\n', " "),
            )),
        })
    }

    /// Runs the full check when the last one that found the file whole is
    /// [`FULL_CHECK_DAYS`] days old or more (or is dated after `today`: a
    /// clock was wrong), and records it; damage is [`StoreError::Corrupt`],
    /// and nothing is recorded then, so every writer checks until the file
    /// is restored.
    fn check_if_due(&mut self, today: NaiveDate) -> Result<(), StoreError> {
        let due = self
            .last_full_check()?
            .is_none_or(|last| !(0..FULL_CHECK_DAYS).contains(&(today - last).num_days()));
        if !due {
            return Ok(());
        }
        if let Some(problem) = self.integrity_problem()? {
            return Err(StoreError::Corrupt {
                target: self.target.clone(),
                problem,
            });
        }
        record_full_check(&self.conn, today).io(self.write_err())
    }

    /// The day of the last full check that found the file whole.
    fn last_full_check(&self) -> Result<Option<NaiveDate>, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT full_check_on FROM upkeep", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.corrupt_or_io(e))?;
        Ok(value.as_deref().and_then(parse_date))
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

    fn has_day(&self, date: NaiveDate) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM days WHERE date = ?1")
            .and_then(|mut s| s.exists([date.to_string()]))
            .io(self.read_err())
    }

    fn put_days(
        &mut self,
        days: &[NewDay<'_>],
        base: Currency,
        provenance: &Provenance<'_>,
    ) -> Result<(), StoreError> {
        let path = self.target.to_string();
        let fetched_at = timestamp(provenance.fetched_at);
        let write = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<()> {
            let mut del = tx.prepare_cached("DELETE FROM day_rates WHERE date = ?1")?;
            let mut day = tx.prepare_cached(
                "INSERT OR REPLACE INTO days (date, base, source, endpoint, source_date, source_timestamp, fetched_at)
                 VALUES (?1, ?2, ?7, ?3, ?4, ?5, ?6)",
            )?;
            let mut rate = tx.prepare_cached(
                "INSERT INTO day_rates (date, currency, rate) VALUES (?1, ?2, ?3)",
            )?;
            let mut unavailable =
                tx.prepare_cached("DELETE FROM unavailable_days WHERE date = ?1")?;
            let mut unusable = tx.prepare_cached("DELETE FROM unusable_days WHERE date = ?1")?;
            for d in days {
                let date = d.date.to_string();
                del.execute([&date])?;
                day.execute(params![
                    date,
                    base.as_str(),
                    provenance.endpoint,
                    d.source_date.to_string(),
                    d.source_timestamp,
                    fetched_at,
                    provenance.provider.as_str()
                ])?;
                for (currency, decimal) in d.rates.iter() {
                    rate.execute(params![date, currency.as_str(), decimal])?;
                }
                unavailable.execute([&date])?;
                unusable.execute([&date])?;
            }
            Ok(())
        };
        let tx = self
            .conn
            .transaction()
            .io(|| format!("cannot write to the database {path}"))?;
        write(&tx)
            .and_then(|()| tx.commit())
            .io(|| format!("cannot store rates in the database {path}"))
    }

    fn day_on_or_before(
        &self,
        date: Option<NaiveDate>,
        max_back: u64,
    ) -> Result<Option<StoredDay>, StoreError> {
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
        .io(self.read_err())?;
        match found {
            None => Ok(None),
            Some(d) => self.day(&d).map(Some),
        }
    }

    fn day(&self, date: &str) -> Result<StoredDay, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT d.date, d.base, d.source_date, d.source_timestamp, d.fetched_at, r.currency, r.rate, d.endpoint, d.source
                 FROM days AS d LEFT JOIN day_rates AS r ON r.date = d.date
                 WHERE d.date = ?1 ORDER BY r.currency",
            )
            .io(self.read_err())?;
        let mut rows = stmt.query([date]).io(self.read_err())?;
        let mut day: Option<StoredDay> = None;
        while let Some(row) = rows.next().io(self.read_err())? {
            let day = match &mut day {
                Some(d) => d,
                None => day.insert(self.day_head(row)?),
            };
            self.push_rate(day, row)?;
        }
        day.ok_or_else(|| self.damaged(date.to_string()))
    }

    /// A day without its rates, from the first row that names it (columns
    /// date, base, source_date, source_timestamp, fetched_at, and endpoint
    /// and provider in columns 7 and 8).
    fn day_head(&self, row: &rusqlite::Row<'_>) -> Result<StoredDay, StoreError> {
        let (date, base, source_date, source_timestamp, fetched_at, endpoint, provider) = (|| {
            Ok::<_, rusqlite::Error>((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(7)?,
                row.get::<_, String>(8)?,
            ))
        })(
        )
        .io(self.read_err())?;
        let (Some(d), Some(b), Some(s), Some(provider)) = (
            parse_date(&date),
            Currency::parse(&base),
            parse_date(&source_date),
            Source::parse(&provider),
        ) else {
            return Err(self.damaged(date));
        };
        // Shown as it is stored (`show --format json`): only a time.
        if DateTime::parse_from_rfc3339(&fetched_at).is_err() {
            return Err(self.damaged(date));
        }
        Ok(StoredDay {
            date: d,
            base: b,
            source_date: s,
            source_timestamp,
            fetched_at,
            endpoint,
            provider,
            rates: RateSet::with_capacity(180),
        })
    }

    /// Adds the rate of a row (columns 5 and 6: currency, rate), if any.
    fn push_rate(&self, day: &mut StoredDay, row: &rusqlite::Row<'_>) -> Result<(), StoreError> {
        let code = row.get_ref(5).and_then(|v| Ok(v.as_str_or_null()?));
        let rate = row.get_ref(6).and_then(|v| Ok(v.as_str_or_null()?));
        let (code, rate) = code.and_then(|c| Ok((c, rate?))).io(self.read_err())?;
        if let (Some(code), Some(rate)) = (code, rate)
            && let Some(c) = Currency::parse(code)
        {
            if !crate::decimal::is_storable(rate) {
                return Err(self.damaged(day.date.to_string()));
            }
            day.rates.push(c, rate);
        }
        Ok(())
    }

    fn damaged(&self, date: String) -> StoreError {
        StoreError::Damaged {
            target: self.target.clone(),
            date,
        }
    }
}

/// Records that the full check passed on `day`.
fn record_full_check(conn: &Connection, day: NaiveDate) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO upkeep (id, full_check_on) VALUES (1, ?1)",
        [day.to_string()],
    )
    .map(drop)
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

impl super::Days for SqliteStore {
    fn target(&self) -> &Target {
        &self.target
    }

    fn has_day(&self, date: NaiveDate) -> Result<bool, StoreError> {
        SqliteStore::has_day(self, date)
    }

    fn day_on_or_before(
        &self,
        date: Option<NaiveDate>,
        max_back: u64,
    ) -> Result<Option<StoredDay>, StoreError> {
        SqliteStore::day_on_or_before(self, date, max_back)
    }

    fn for_each_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        currencies: &[Currency],
        each: &mut dyn FnMut(StoredDay) -> std::ops::ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        SqliteStore::for_each_day(self, from, to, currencies, each)
    }

    fn count_days(&self, from: NaiveDate, to: NaiveDate) -> Result<u64, StoreError> {
        SqliteStore::count_days(self, from, to)
    }

    fn providers_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<Source>, StoreError> {
        SqliteStore::providers_between(self, from, to)
    }

    fn has_currency_between(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StoreError> {
        SqliteStore::has_currency_between(self, currency, from, to)
    }

    fn stored_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        SqliteStore::stored_between(self, from, to)
    }

    fn unavailable_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        SqliteStore::unavailable_between(self, from, to)
    }

    fn unavailable_days(&self) -> Result<Vec<super::UnavailableDay>, StoreError> {
        let read = || -> rusqlite::Result<Vec<(String, String, String)>> {
            let mut stmt = self
                .conn
                .prepare("SELECT date, recorded_at, reason FROM unavailable_days ORDER BY date")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        };
        let rows = read().io(self.read_err())?;
        rows.into_iter()
            .map(|(date, at, reason)| {
                let parsed = parse_date(&date).zip(
                    DateTime::parse_from_rfc3339(&at)
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                );
                match parsed {
                    Some((date, recorded_at)) => Ok(super::UnavailableDay {
                        date,
                        recorded_at,
                        reason,
                    }),
                    None => Err(self.damaged(date)),
                }
            })
            .collect()
    }

    fn summary(&self) -> Result<Summary, StoreError> {
        SqliteStore::summary(self)
    }

    fn providers(&self) -> Result<Vec<ProviderDays>, StoreError> {
        SqliteStore::providers(self)
    }

    fn count_before(&self, cutoff: NaiveDate) -> Result<Pruned, StoreError> {
        let path = self.target.to_string();
        let count = |sql: &str| {
            self.conn
                .query_row(sql, [cutoff.to_string()], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .io(|| format!("cannot read the database {path}"))
        };
        Ok(Pruned {
            days: count("SELECT count(*) FROM days WHERE date < ?1")?,
            rates: count("SELECT count(*) FROM day_rates WHERE date < ?1")?,
            unavailable: count("SELECT count(*) FROM unavailable_days WHERE date < ?1")?,
        })
    }
}

impl super::DaysWrite for SqliteStore {
    fn put_days(
        &mut self,
        days: &[NewDay<'_>],
        base: Currency,
        provenance: &Provenance<'_>,
    ) -> Result<(), StoreError> {
        SqliteStore::put_days(self, days, base, provenance)
    }

    fn mark_unavailable(
        &mut self,
        date: NaiveDate,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        SqliteStore::mark_unavailable(self, date, at, reason)
    }

    fn prune_before(&mut self, cutoff: NaiveDate) -> Result<Pruned, StoreError> {
        self.prune(cutoff, true)
    }
}

impl super::RequestLog for SqliteStore {
    fn requests_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        SqliteStore::requests_since(self, since)
    }
}

impl super::RequestLogWrite for SqliteStore {
    fn record_request(&mut self, request: &Request<'_>) -> Result<RequestId, StoreError> {
        SqliteStore::record_request(self, request)
    }

    fn set_request_outcome(&mut self, id: RequestId, outcome: &str) -> Result<(), StoreError> {
        SqliteStore::set_request_outcome(self, id, outcome)
    }
}

impl super::RunLog for SqliteStore {
    fn last_success(&self, commands: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError> {
        SqliteStore::last_success(self, commands)
    }

    fn last_runs(&self) -> Result<Vec<LastRun>, StoreError> {
        SqliteStore::last_runs(self)
    }

    /// One file serves one host: the runs need no host to tell them apart.
    fn last_runs_by_host(&self) -> Result<Vec<LastRun>, StoreError> {
        Ok(Vec::new())
    }
}

impl super::RunLogWrite for SqliteStore {
    fn start_run(&mut self, command: &str, at: DateTime<Utc>) -> Result<RunId, StoreError> {
        SqliteStore::start_run(self, command, at)
    }

    fn finish_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        failure: Option<RunFailure<'_>>,
    ) -> Result<(), StoreError> {
        SqliteStore::finish_run(self, id, at, failure)
    }
}

impl super::Upkeep for SqliteStore {
    fn integrity_problem(&self) -> Result<Option<String>, StoreError> {
        SqliteStore::integrity_problem(self)
    }

    fn data_version(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map(Some)
            .map_err(|e| self.corrupt_or_io(e))
    }

    fn last_full_check(&self) -> Result<Option<NaiveDate>, StoreError> {
        SqliteStore::last_full_check(self)
    }
}

impl super::UpkeepWrite for SqliteStore {
    fn check_if_due(&mut self, today: NaiveDate) -> Result<(), StoreError> {
        SqliteStore::check_if_due(self, today)
    }
}
