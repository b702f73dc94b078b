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
mod days;
mod plan_memory;
mod privileges;
mod request_log;
mod run_log;
mod schema;
mod session;
mod target;
mod upkeep;

pub use schema::VERSION;
pub use target::PgTarget;

use super::{Access, StoreError, Target, Writer};
use chrono::{DateTime, NaiveDate, Utc};
use postgres::error::SqlState;
use postgres::types::ToSql;
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
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {}",
            session::millis(self.bounds.lock.max(session::MIGRATION_LOCK_WAIT))
        ))
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

impl Drop for PgStore {
    fn drop(&mut self) {
        self.release();
    }
}
