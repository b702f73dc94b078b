//! The PostgreSQL store: every object in one schema (`fxrates` by default),
//! a versioned format migrated in one transaction under a lock, one
//! transaction per write so that every stored day is whole, and PostgreSQL's
//! MVCC so that readers never block the writer.
//!
//! The write lock is a claim with a lease in the database's clock, shared
//! safely by several hosts (see [`claim`]). Migrations take a
//! transaction-level advisory lock, so that they stay serialised whatever
//! coordinates the writers.

mod bulk;
mod claim;
mod plan_memory;
mod privileges;
mod schema;
mod session;
mod target;

pub use schema::VERSION;
pub use target::PgTarget;

use super::{
    Access, LastRun, NewDay, Provenance, ProviderDays, Pruned, Request, RequestId, RunFailure,
    RunId, StoreError, StoredDay, Summary, Target, Writer, timestamp,
};
use crate::rates::{Currency, RateSet, Source};
use chrono::{DateTime, NaiveDate, Utc};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// The first key of the lock migrations take ("fxrm").
const MIGRATION_CLASS: i32 = 0x6678_726d;

pub(super) struct PgStore {
    // The trait reads through `&self`; the client needs `&mut` to query.
    // Shared with the thread that renews the writer's claim, so that the
    // claim lives exactly as long as this connection works.
    client: Arc<Mutex<session::Conn>>,
    /// The connection's watchdog, outside the lock: an error is told apart
    /// while the connection is still held.
    watch: Arc<crate::pg::Watch>,
    bounds: session::Bounds,
    /// The writer's claim; `None` for a reader.
    claim: Option<claim::Claim>,
    /// The writer's host, recorded with its requests and runs.
    host: Option<String>,
    target: Target,
    /// The schema's name, as given.
    schema: String,
    /// The schema's name quoted as an identifier, for SQL text.
    quoted: String,
    /// The server's encoding is not UTF-8: free text is escaped to ASCII.
    escape: bool,
    /// The server's clock when the store was opened, and when that was.
    server_now: DateTime<Utc>,
    opened: std::time::Instant,
}

/// What is in the schema before fxrates touches it.
enum Found {
    /// No schema of that name.
    Nothing,
    /// A schema with nothing in it (a DBA may create it for fxrates).
    Empty,
    /// fxrates' schema at this version.
    Ours(i64),
    /// Someone else's: the first few of its tables.
    Foreign(Vec<String>),
}

impl PgStore {
    pub(super) fn open(
        target: &PgTarget,
        access: Access,
        writer: &Writer,
    ) -> Result<PgStore, StoreError> {
        let bounds = session::Bounds::of(access, writer);
        let (client, watch) = target.server.connect_watched(bounds.limits(writer))?;
        let watch = Arc::new(watch);
        let mut store = PgStore {
            client: Arc::new(Mutex::new(session::Conn {
                client,
                watch: Arc::clone(&watch),
            })),
            watch,
            bounds,
            claim: None,
            host: Some(writer.host.clone()).filter(|h| !h.is_empty()),
            target: target.clone().into(),
            schema: target.schema.clone(),
            quoted: quote_ident(&target.schema),
            escape: false,
            server_now: DateTime::<Utc>::UNIX_EPOCH,
            opened: std::time::Instant::now(),
        };
        let mut settings = bounds.sql();
        if access == Access::Read {
            settings.push_str(" SET default_transaction_read_only = on;");
        }
        store.set_up(&settings)?;
        if let (Access::Write { .. }, Some(clock)) = (access, writer.clock) {
            store.check_clock(clock)?;
        }
        store.host = store.host.as_deref().map(|h| store.text(h).into_owned());
        match access {
            Access::Read => store.check_readable()?,
            Access::Write { create, lock_wait } => {
                // The claims table is part of the format: the schema is
                // brought up to date (under its own lock) before it is
                // claimed.
                store.migrate(create)?;
                store.check_writable()?;
                store.claim(lock_wait, writer)?;
            }
        }
        Ok(store)
    }

    /// Sets the session up, in the round trip that reads the server's
    /// clock and encoding.
    fn set_up(&mut self, settings: &str) -> Result<(), StoreError> {
        let messages = self
            .conn()
            .simple_query(&format!(
                "{settings} SELECT extract(epoch FROM now())::float8::text, \
                 current_setting('server_encoding')"
            ))
            .map_err(self.err("cannot set up the database session"))?;
        let (epoch, encoding) = messages
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => {
                    Some((row.get(0)?.parse::<f64>().ok()?, row.get(1)?.to_string()))
                }
                _ => None,
            })
            .ok_or_else(|| {
                StoreError::io(
                    format!("cannot set up the database session ({})", self.target),
                    "the server did not say its time",
                )
            })?;
        self.server_now =
            DateTime::from_timestamp_millis((epoch * 1000.0) as i64).unwrap_or_default();
        // SQL_ASCII stores any bytes as they are.
        self.escape = !matches!(encoding.as_str(), "UTF8" | "SQL_ASCII");
        Ok(())
    }

    /// A host ahead of the server would store days that have not begun;
    /// one behind it is a test's or a replay's clock, or a host to fix.
    fn check_clock(&self, clock: crate::store::HostClock) -> Result<(), StoreError> {
        let ahead = clock.now - self.server_now;
        if ahead > session::CLOCK_SKEW {
            return Err(StoreError::ClockAhead {
                target: self.target.clone(),
                host: clock.now,
                server: self.server_now,
            });
        }
        if -ahead > session::CLOCK_SKEW && !clock.fixed {
            log::warn!(
                "this host's clock ({}) is {} min behind the database server's ({}) at {}; \
                 carrying on, but set the host's clock right (NTP)",
                clock.now.format("%Y-%m-%d %H:%M:%S UTC"),
                (-ahead).num_minutes(),
                self.server_now.format("%Y-%m-%d %H:%M:%S UTC"),
                self.target
            );
        }
        Ok(())
    }

    /// Free text as the server can store it (see [`session::storable`]).
    fn text<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        session::storable(text, self.escape)
    }

    /// The latest day the server's clock allows: today somewhere on Earth
    /// (UTC+14), as the server's clock has it.
    fn latest_day(&self) -> NaiveDate {
        (self.server_now + self.opened.elapsed() + chrono::TimeDelta::hours(14)).date_naive()
    }

    /// Refuses a day the server's clock says has not begun.
    fn check_not_future(
        &self,
        mut dates: impl Iterator<Item = NaiveDate>,
    ) -> Result<(), StoreError> {
        let latest = self.latest_day();
        match dates.find(|d| *d > latest) {
            Some(date) => Err(StoreError::FutureDay {
                target: self.target.clone(),
                date,
                server: self.server_now,
            }),
            None => Ok(()),
        }
    }

    fn conn(&self) -> session::Guard<'_> {
        session::lock(&self.client)
    }

    /// SQL with `{s}` replaced by the quoted schema.
    fn sql(&self, text: &str) -> String {
        text.replace("{s}", &self.quoted)
    }

    /// Maps a driver error met while doing `what`.
    fn err(&self, what: &str) -> impl FnOnce(postgres::Error) -> StoreError + '_ {
        let what = what.to_string();
        move |e| self.classify(what, e)
    }

    fn read_err(&self) -> impl FnOnce(postgres::Error) -> StoreError + '_ {
        self.err("cannot read the database")
    }

    fn write_err(&self) -> impl FnOnce(postgres::Error) -> StoreError + '_ {
        self.err("cannot write to the database")
    }

    /// A reader's session: the format must be this binary's.
    fn check_readable(&mut self) -> Result<(), StoreError> {
        match self.inspect()? {
            Found::Nothing | Found::Empty => Err(StoreError::Missing(self.target.clone())),
            Found::Foreign(tables) => Err(self.foreign(tables)),
            Found::Ours(v) if v > VERSION => Err(self.too_new(v)),
            Found::Ours(v) if v < VERSION => Err(StoreError::TooOld {
                target: self.target.clone(),
                version: v,
                known: VERSION,
            }),
            Found::Ours(_) => Ok(()),
        }
    }

    fn inspect(&self) -> Result<Found, StoreError> {
        let mut conn = self.conn();
        let found = conn
            .query_opt(
                "SELECT has_schema_privilege(oid, 'USAGE'), current_user::text FROM pg_namespace
                 WHERE nspname = $1",
                &[&self.schema],
            )
            .map_err(self.read_err())?;
        let Some(found) = found else {
            return Ok(Found::Nothing);
        };
        if !found.get::<_, bool>(0) {
            let role: String = found.get(1);
            return Err(StoreError::Ungranted {
                target: self.target.clone(),
                missing: format!("USAGE on the schema {}", self.quoted),
                grants: format!(
                    "GRANT USAGE ON SCHEMA {} TO {};",
                    self.quoted,
                    quote_ident(&role)
                ),
                role,
            });
        }
        let rows = conn
            .query(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
                 ORDER BY c.relname",
                &[&self.schema],
            )
            .map_err(self.read_err())?;
        let tables: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        if tables.is_empty() {
            return Ok(Found::Empty);
        }
        if !tables.iter().any(|t| t == "meta") {
            return Ok(Found::Foreign(tables));
        }
        let version = conn
            .query_opt(
                &self.sql("SELECT value FROM {s}.meta WHERE key = $1"),
                &[&schema::VERSION_KEY],
            )
            .map_err(self.read_err())?
            .map(|r| r.get::<_, String>(0));
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(v) => Ok(Found::Ours(v)),
            None => Ok(Found::Foreign(tables)),
        }
    }

    fn foreign(&self, mut tables: Vec<String>) -> StoreError {
        let more = tables.len().saturating_sub(5);
        tables.truncate(5);
        let mut list = tables.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        StoreError::ForeignSchema {
            target: self.target.clone(),
            schema: self.schema.clone(),
            tables: list,
        }
    }

    fn too_new(&self, version: i64) -> StoreError {
        StoreError::TooNew {
            target: self.target.clone(),
            version,
            known: VERSION,
        }
    }

    /// Brings the schema to this binary's version, creating it if `create`.
    fn migrate(&mut self, create: bool) -> Result<(), StoreError> {
        match self.inspect()? {
            Found::Ours(v) if v == VERSION => return Ok(()),
            Found::Ours(v) if v > VERSION => return Err(self.too_new(v)),
            Found::Foreign(tables) => return Err(self.foreign(tables)),
            Found::Nothing | Found::Empty if !create => {
                return Err(StoreError::Missing(self.target.clone()));
            }
            _ => {}
        }
        let this = &*self;
        let upgrade_err = |what: String| move |e| this.classify(what, e);
        let mut conn = self.conn();
        let mut tx = conn
            .transaction()
            .map_err(upgrade_err("cannot write to the database".into()))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&MIGRATION_CLASS, &self.schema],
        )
        .map_err(upgrade_err("cannot lock the database".into()))?;
        // Only a missing schema is created: `CREATE SCHEMA IF NOT EXISTS`
        // needs CREATE on the database even when the schema is there, and
        // the documented grants give the role its schema, not that.
        let schema_exists = tx
            .query_opt(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                &[&self.schema],
            )
            .map_err(upgrade_err("cannot read the database".into()))?
            .is_some();
        if !schema_exists {
            tx.batch_execute(&format!("CREATE SCHEMA {}", self.quoted))
                .map_err(upgrade_err(format!(
                    "cannot create the schema {:?}",
                    self.schema
                )))?;
        }
        // Under the lock, the version is read again: another run may have
        // upgraded the schema meanwhile.
        let has_meta = tx
            .query_opt(
                "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = 'meta'",
                &[&self.schema],
            )
            .map_err(upgrade_err("cannot read the database".into()))?
            .is_some();
        let version: i64 = if has_meta {
            tx.query_opt(
                &self.sql("SELECT value FROM {s}.meta WHERE key = $1"),
                &[&schema::VERSION_KEY],
            )
            .map_err(upgrade_err("cannot read the database".into()))?
            .and_then(|r| r.get::<_, String>(0).parse().ok())
            .unwrap_or(0)
        } else {
            0
        };
        if version > VERSION {
            return Err(self.too_new(version));
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let to = i as i64 + 1;
            let sql = self.sql(sql);
            tx.batch_execute(&sql)
                .and_then(|()| match to {
                    schema::TYPED_MEMORY => plan_memory::move_from_meta(&mut tx, &self.quoted),
                    _ => Ok(()),
                })
                .and_then(|()| {
                    tx.execute(
                        &self.sql(
                            "INSERT INTO {s}.meta (key, value) VALUES ($1, $2)
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        ),
                        &[&schema::VERSION_KEY, &to.to_string()],
                    )
                })
                .map_err(upgrade_err(format!(
                    "cannot upgrade the schema {:?} to version {to}",
                    self.schema
                )))?;
        }
        tx.commit()
            .map_err(upgrade_err("cannot write to the database".into()))?;
        log::info!("{} is at schema version {VERSION}", self.target);
        Ok(())
    }

    /// Rows of one day with its rates: date, base, source_date,
    /// source_timestamp, fetched_at, endpoint, currency, rate, provider.
    const DAY_COLUMNS: &'static str = "d.date, d.base, d.source_date, d.source_timestamp, \
                                       d.fetched_at, d.endpoint, r.currency, r.rate, d.source";

    fn day_head(&self, row: &postgres::Row) -> Result<StoredDay, StoreError> {
        let date: NaiveDate = row.get(0);
        let base: String = row.get(1);
        let fetched_at: DateTime<Utc> = row.get(4);
        let provider: String = row.get(8);
        let damaged = || StoreError::Damaged {
            target: self.target.clone(),
            date: date.to_string(),
        };
        Ok(StoredDay {
            date,
            base: Currency::parse(&base).ok_or_else(damaged)?,
            provider: Source::parse(&provider).ok_or_else(damaged)?,
            source_date: row.get(2),
            source_timestamp: row.get(3),
            fetched_at: timestamp(fetched_at),
            endpoint: row.get(5),
            rates: RateSet::with_capacity(180),
        })
    }

    /// Adds the rate of a row, if any; one that cannot be a stored rate is
    /// damage (another host or program shares the schema).
    fn push_rate(&self, day: &mut StoredDay, row: &postgres::Row) -> Result<(), StoreError> {
        let code: Option<&str> = row.get(6);
        let rate: Option<&str> = row.get(7);
        if let (Some(code), Some(rate)) = (code, rate)
            && let Some(c) = Currency::parse(code)
        {
            if !crate::decimal::is_storable(rate) {
                return Err(StoreError::Damaged {
                    target: self.target.clone(),
                    date: day.date.to_string(),
                });
            }
            day.rates.push(c, rate);
        }
        Ok(())
    }

    fn dates(
        &self,
        sql: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        let rows = self
            .conn()
            .query(&self.sql(sql), &[&from, &to])
            .map_err(self.read_err())?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn count(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_one(&self.sql(sql), params)
            .map_err(self.read_err())?
            .get(0);
        Ok(n as u64)
    }
}

impl PgStore {
    /// A driver error as a [`StoreError`]: a server that did not answer in
    /// time, or a lost connection, is worth a retry; a lock another session
    /// holds too long is a busy store; a missing privilege needs a grant;
    /// anything else is the store failing.
    fn classify(&self, what: String, e: postgres::Error) -> StoreError {
        let code = e.code().map(SqlState::code).unwrap_or("");
        if let Some(waited) = self.watch.fired() {
            return StoreError::Unanswered {
                target: self.target.clone(),
                what,
                within: waited,
            };
        }
        if code == SqlState::QUERY_CANCELED.code() {
            return StoreError::Unanswered {
                target: self.target.clone(),
                what,
                within: self.bounds.statement,
            };
        }
        if code == SqlState::LOCK_NOT_AVAILABLE.code() {
            return StoreError::Blocked {
                target: self.target.clone(),
                what,
                waited: self.bounds.lock,
            };
        }
        // The server ended the session of a writer that sat in a
        // transaction for longer than its lease: it was frozen, and its
        // claim is gone.
        if code == SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT.code() && self.claim.is_some() {
            return StoreError::ClaimLost {
                target: self.target.clone(),
                by: None,
            };
        }
        classify(&self.target, what, e)
    }
}

/// A driver error as a [`StoreError`]: a lost connection is worth a retry,
/// a missing privilege needs a grant, anything else is the store failing.
fn classify(target: &Target, what: String, e: postgres::Error) -> StoreError {
    let code = e.code().map(SqlState::code).unwrap_or("");
    if e.is_closed()
        || code.starts_with("08")
        || matches!(code, "57P01" | "57P02" | "57P03" | "25P03")
        || (e.as_db_error().is_none() && e.to_string().starts_with("error communicating"))
    {
        return StoreError::Lost {
            target: target.clone(),
            what,
            cause: Box::new(e),
        };
    }
    if code == SqlState::READ_ONLY_SQL_TRANSACTION.code() {
        return StoreError::Unusable(format!(
            "{what}: the PostgreSQL server at {target} takes no writes (a hot standby, or \
             default_transaction_read_only); point FXRATES_DB at the primary, or add \
             target_session_attrs=read-write to the URL, with every host, so that fxrates \
             connects only to one that takes writes"
        ));
    }
    if code == SqlState::INSUFFICIENT_PRIVILEGE.code() {
        let detail = e
            .as_db_error()
            .map(|d| d.message().to_string())
            .unwrap_or_default();
        return StoreError::Denied {
            target: target.clone(),
            what,
            detail,
        };
    }
    let what = match e.as_db_error() {
        Some(db) => format!("{what} ({target}: {})", db.message()),
        None => format!("{what} ({target})"),
    };
    StoreError::io(what, e)
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl super::Days for PgStore {
    fn target(&self) -> &Target {
        &self.target
    }

    fn has_day(&self, date: NaiveDate) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_opt(
                &self.sql("SELECT 1 FROM {s}.days WHERE date = $1"),
                &[&date],
            )
            .map_err(self.read_err())?
            .is_some())
    }

    fn day_on_or_before(
        &self,
        date: Option<NaiveDate>,
        max_back: u64,
    ) -> Result<Option<StoredDay>, StoreError> {
        let (filter, params): (&str, Vec<NaiveDate>) = match date {
            None => ("", vec![]),
            Some(d) => (
                " WHERE date <= $1 AND date >= $2",
                vec![
                    d,
                    d.checked_sub_days(chrono::Days::new(max_back)).unwrap_or(d),
                ],
            ),
        };
        let sql = self.sql(&format!(
            "SELECT {} FROM {{s}}.days AS d LEFT JOIN {{s}}.day_rates AS r ON r.date = d.date
             WHERE d.date = (SELECT max(date) FROM {{s}}.days{filter})
             ORDER BY r.currency",
            Self::DAY_COLUMNS
        ));
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|d| d as &(dyn ToSql + Sync)).collect();
        let rows = self.conn().query(&sql, &params).map_err(self.read_err())?;
        let mut day: Option<StoredDay> = None;
        for row in &rows {
            let day = match &mut day {
                Some(d) => d,
                None => day.insert(self.day_head(row)?),
            };
            self.push_rate(day, row)?;
        }
        Ok(day)
    }

    fn for_each_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        currencies: &[Currency],
        each: &mut dyn FnMut(StoredDay) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let codes: Vec<&str> = currencies.iter().map(|c| c.as_str()).collect();
        let filter = if codes.is_empty() {
            ""
        } else {
            " AND r.currency = ANY($3)"
        };
        let sql = self.sql(&format!(
            "SELECT {} FROM {{s}}.days AS d JOIN {{s}}.day_rates AS r ON r.date = d.date
             WHERE r.date >= $1 AND r.date <= $2{filter}
             ORDER BY r.date, r.currency",
            Self::DAY_COLUMNS
        ));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&from, &to];
        if !codes.is_empty() {
            params.push(&codes);
        }
        let mut conn = self.conn();
        // Streamed: a full history is over a million rows.
        let mut rows = conn
            .query_raw(&sql, params.iter().copied())
            .map_err(self.read_err())?;
        let mut current: Option<StoredDay> = None;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(self.read_err())? {
            let date: NaiveDate = row.get(0);
            if current.as_ref().is_none_or(|d| d.date != date) {
                let next = self.day_head(&row)?;
                if let Some(day) = current.replace(next) {
                    count += 1;
                    if each(day).is_break() {
                        return Ok(count);
                    }
                }
            }
            if let Some(day) = current.as_mut() {
                self.push_rate(day, &row)?;
            }
        }
        if let Some(day) = current {
            count += 1;
            let _ = each(day);
        }
        Ok(count)
    }

    fn count_days(&self, from: NaiveDate, to: NaiveDate) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM {s}.days WHERE date >= $1 AND date <= $2",
            &[&from, &to],
        )
    }

    fn providers_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<Source>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql("SELECT DISTINCT source FROM {s}.days WHERE date >= $1 AND date <= $2"),
                &[&from, &to],
            )
            .map_err(self.read_err())?;
        let mut out = BTreeSet::new();
        for row in rows {
            let name: String = row.get(0);
            out.insert(Source::parse(&name).ok_or_else(|| StoreError::Damaged {
                target: self.target.clone(),
                date: format!("{from} to {to}"),
            })?);
        }
        Ok(out)
    }

    fn has_currency_between(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_opt(
                &self.sql(
                    "SELECT 1 FROM {s}.day_rates WHERE currency = $1 AND date >= $2 AND date <= $3 \
                     LIMIT 1",
                ),
                &[&currency.as_str(), &from, &to],
            )
            .map_err(self.read_err())?
            .is_some())
    }

    fn stored_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        self.dates(
            "SELECT date FROM {s}.days WHERE date >= $1 AND date <= $2",
            from,
            to,
        )
    }

    fn unavailable_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        self.dates(
            "SELECT date FROM {s}.unavailable_days WHERE date >= $1 AND date <= $2",
            from,
            to,
        )
    }

    fn unavailable_days(&self) -> Result<Vec<super::UnavailableDay>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql(
                    "SELECT date, recorded_at, reason FROM {s}.unavailable_days ORDER BY date",
                ),
                &[],
            )
            .map_err(self.read_err())?;
        Ok(rows
            .iter()
            .map(|r| super::UnavailableDay {
                date: r.get(0),
                recorded_at: r.get(1),
                reason: r.get(2),
            })
            .collect())
    }

    fn providers(&self) -> Result<Vec<ProviderDays>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql("SELECT source, count(*), max(date) FROM {s}.days GROUP BY source"),
                &[],
            )
            .map_err(self.read_err())?;
        let mut out = Vec::new();
        for row in rows {
            let provider: String = row.get(0);
            let latest: NaiveDate = row.get(2);
            let provider = Source::parse(&provider).ok_or_else(|| StoreError::Damaged {
                target: self.target.clone(),
                date: latest.to_string(),
            })?;
            out.push(ProviderDays {
                provider,
                days: row.get::<_, i64>(1) as u64,
                latest,
            });
        }
        out.sort_by_key(|p| p.provider);
        Ok(out)
    }

    fn summary(&self) -> Result<Summary, StoreError> {
        let row = self
            .conn()
            .query_one(
                &self.sql("SELECT count(*), min(date), max(date) FROM {s}.days"),
                &[],
            )
            .map_err(self.read_err())?;
        Ok(Summary {
            days: row.get::<_, i64>(0) as u64,
            oldest: row.get(1),
            latest: row.get(2),
        })
    }

    fn count_before(&self, cutoff: NaiveDate) -> Result<Pruned, StoreError> {
        Ok(Pruned {
            days: self.count("SELECT count(*) FROM {s}.days WHERE date < $1", &[&cutoff])?,
            rates: self.count(
                "SELECT count(*) FROM {s}.day_rates WHERE date < $1",
                &[&cutoff],
            )?,
            unavailable: self.count(
                "SELECT count(*) FROM {s}.unavailable_days WHERE date < $1",
                &[&cutoff],
            )?,
        })
    }
}

impl super::DaysWrite for PgStore {
    fn put_days(
        &mut self,
        days: &[NewDay<'_>],
        base: Currency,
        provenance: &Provenance<'_>,
    ) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        self.check_not_future(days.iter().map(|d| d.date))?;
        // Whole arrays in five statements, however many days: a timeseries
        // answer of a year is one round trip per statement, not 60,000.
        let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
        let source_dates: Vec<NaiveDate> = days.iter().map(|d| d.source_date).collect();
        let source_ts: Vec<Option<i64>> = days.iter().map(|d| d.source_timestamp).collect();
        let total: usize = days.iter().map(|d| d.rates.len()).sum();
        let (mut rate_dates, mut codes, mut values) = (
            Vec::with_capacity(total),
            Vec::with_capacity(total),
            Vec::with_capacity(total),
        );
        for d in days {
            for (currency, decimal) in d.rates.iter() {
                rate_dates.push(d.date);
                codes.push(currency.as_str().to_string());
                values.push(decimal);
            }
        }
        let sql = [
            self.sql("DELETE FROM {s}.day_rates WHERE date = ANY($1)"),
            self.sql(
                "INSERT INTO {s}.days (date, base, source, endpoint, source_date, source_timestamp, fetched_at)
                 SELECT d, $2::text, $7::text, $3::text, s, t, $4::timestamptz
                 FROM unnest($1::date[], $5::date[], $6::bigint[]) AS x (d, s, t)
                 ON CONFLICT (date) DO UPDATE SET base = excluded.base, source = excluded.source,
                     endpoint = excluded.endpoint, source_date = excluded.source_date,
                     source_timestamp = excluded.source_timestamp, fetched_at = excluded.fetched_at",
            ),
            self.sql(
                "INSERT INTO {s}.day_rates (date, currency, rate)
                 SELECT * FROM unnest($1::date[], $2::text[], $3::text[])",
            ),
            self.sql("DELETE FROM {s}.unavailable_days WHERE date = ANY($1)"),
            self.sql("DELETE FROM {s}.unusable_days WHERE date = ANY($1)"),
        ];
        let mut conn = self.conn();
        let store_err = || self.err("cannot store rates in the database");
        let mut tx = conn.transaction().map_err(store_err())?;
        self.fence(&mut tx, "cannot store rates in the database")?;
        tx.execute(&sql[0], &[&dates]).map_err(store_err())?;
        tx.execute(
            &sql[1],
            &[
                &dates,
                &base.as_str(),
                &provenance.endpoint,
                &provenance.fetched_at,
                &source_dates,
                &source_ts,
                &provenance.provider.as_str(),
            ],
        )
        .map_err(store_err())?;
        tx.execute(&sql[2], &[&rate_dates, &codes, &values])
            .map_err(store_err())?;
        tx.execute(&sql[3], &[&dates]).map_err(store_err())?;
        tx.execute(&sql[4], &[&dates]).map_err(store_err())?;
        tx.commit().map_err(store_err())
    }

    fn put_stored_days(&mut self, days: &[StoredDay]) -> Result<(), StoreError> {
        self.put_batch(days)
    }

    fn mark_unavailable(
        &mut self,
        date: NaiveDate,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (token, lease) = self.claim_params().unwrap_or_default();
        let mut conn = self.conn();
        let n = conn
            .execute(
                &self.sql(&format!(
                    "WITH fence AS ({} RETURNING 1)
                     INSERT INTO {{s}}.unavailable_days (date, recorded_at, reason)
                     SELECT $4, $5, $6 FROM fence
                     ON CONFLICT (date) DO UPDATE SET recorded_at = excluded.recorded_at,
                         reason = excluded.reason",
                    claim::RENEW
                )),
                &[
                    &claim::WRITER,
                    &token,
                    &lease,
                    &date,
                    &at,
                    &self.text(reason),
                ],
            )
            .map_err(self.write_err())?;
        if n == 0 {
            return Err(self.claim_lost(&mut *conn));
        }
        Ok(())
    }

    fn prune_before(&mut self, cutoff: NaiveDate) -> Result<Pruned, StoreError> {
        let sql = [
            self.sql("DELETE FROM {s}.day_rates WHERE date < $1"),
            self.sql("DELETE FROM {s}.days WHERE date < $1"),
            self.sql("DELETE FROM {s}.unavailable_days WHERE date < $1"),
        ];
        let prune_err = || self.err("cannot prune the database");
        let mut conn = self.conn();
        let mut tx = conn.transaction().map_err(prune_err())?;
        self.fence(&mut tx, "cannot prune the database")?;
        let rates = tx.execute(&sql[0], &[&cutoff]).map_err(prune_err())?;
        let days = tx.execute(&sql[1], &[&cutoff]).map_err(prune_err())?;
        let unavailable = tx.execute(&sql[2], &[&cutoff]).map_err(prune_err())?;
        tx.commit().map_err(prune_err())?;
        Ok(Pruned {
            days,
            rates,
            unavailable,
        })
    }
}

impl super::RequestLog for PgStore {
    fn requests_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM {s}.requests WHERE at >= $1 AND endpoint NOT LIKE 'ecb%' \
             AND outcome NOT LIKE $2",
            &[&since, &format!("{}%", Request::NOT_SENT)],
        )
    }
}

impl super::RequestLogWrite for PgStore {
    fn record_request(&mut self, request: &Request<'_>) -> Result<RequestId, StoreError> {
        // Only the holder of a live claim may spend the shared quota: the
        // record is written only if the claim is still this writer's.
        let (token, lease) = self.claim_params().unwrap_or_default();
        let mut conn = self.conn();
        let row = conn
            .query_opt(
                &self.sql(&format!(
                    "WITH fence AS ({} RETURNING 1)
                     INSERT INTO {{s}}.requests (at, endpoint, outcome, host)
                     SELECT $4, $5, $6, $7 FROM fence RETURNING id",
                    claim::RENEW
                )),
                &[
                    &claim::WRITER,
                    &token,
                    &lease,
                    &request.at,
                    &request.endpoint,
                    &self.text(request.outcome),
                    &self.host,
                ],
            )
            .map_err(self.err("cannot record a request"))?;
        match row {
            Some(row) => Ok(RequestId(row.get(0))),
            None => Err(self.claim_lost(&mut *conn)),
        }
    }

    fn set_request_outcome(&mut self, id: RequestId, outcome: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                &self.sql("UPDATE {s}.requests SET outcome = $2 WHERE id = $1"),
                &[&id.0, &self.text(outcome)],
            )
            .map(drop)
            .map_err(self.err("cannot record a request"))
    }
}

impl super::RunLog for PgStore {
    fn last_success(&self, commands: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError> {
        let commands: Vec<&str> = commands.to_vec();
        Ok(self
            .conn()
            .query_one(
                &self.sql("SELECT max(finished_at) FROM {s}.runs WHERE ok AND command = ANY($1)"),
                &[&commands],
            )
            .map_err(self.read_err())?
            .get(0))
    }

    fn last_runs(&self) -> Result<Vec<LastRun>, StoreError> {
        self.runs(
            "SELECT * FROM (
                 SELECT DISTINCT ON (command) command, started_at, ok, error, host, exit_code, id
                 FROM {s}.runs
                 ORDER BY command, id DESC
             ) AS last ORDER BY command COLLATE \"C\"",
        )
    }

    fn last_runs_by_host(&self) -> Result<Vec<LastRun>, StoreError> {
        self.runs(
            "SELECT command, started_at, ok, error, host, exit_code, id FROM (
                 SELECT DISTINCT ON (host, command) * FROM {s}.runs WHERE host IS NOT NULL
                 ORDER BY host, command, id DESC
             ) AS last ORDER BY host COLLATE \"C\", command COLLATE \"C\"",
        )
    }
}

impl super::RunLogWrite for PgStore {
    fn start_run(&mut self, command: &str, at: DateTime<Utc>) -> Result<RunId, StoreError> {
        let id: i64 = self
            .conn()
            .query_one(
                &self.sql(
                    "INSERT INTO {s}.runs (command, started_at, host) VALUES ($1, $2, $3) \
                     RETURNING id",
                ),
                &[&self.text(command), &at, &self.host],
            )
            .map_err(self.write_err())?
            .get(0);
        Ok(RunId(id))
    }

    fn finish_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        failure: Option<RunFailure<'_>>,
    ) -> Result<(), StoreError> {
        let error = failure.map(|f| self.text(f.error));
        let exit_code = i32::from(failure.map_or(0, |f| f.exit_code));
        self.conn()
            .execute(
                &self.sql(
                    "UPDATE {s}.runs SET finished_at = $2, ok = $3, error = $4, exit_code = $5 \
                     WHERE id = $1",
                ),
                &[&id.0, &at, &failure.is_none(), &error, &exit_code],
            )
            .map(drop)
            .map_err(self.write_err())
    }
}

/// The full check and `data_version` are SQLite's: PostgreSQL keeps the defaults.
impl super::Upkeep for PgStore {}
impl super::UpkeepWrite for PgStore {}

impl PgStore {
    /// Runs as `sql` lists them: command, started_at, ok, error, host,
    /// exit_code, id.
    fn runs(&self, sql: &str) -> Result<Vec<LastRun>, StoreError> {
        let rows = self
            .conn()
            .query(&self.sql(sql), &[])
            .map_err(self.read_err())?;
        Ok(rows
            .iter()
            .map(|r| LastRun {
                id: RunId(r.get(6)),
                command: r.get(0),
                started_at: r.get(1),
                ok: r.get(2),
                error: r.get(3),
                host: r.get(4),
                exit_code: r.get::<_, Option<i32>>(5).map(i64::from),
            })
            .collect())
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.release();
    }
}
