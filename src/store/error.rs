//! What can go wrong with a store, whatever keeps it. Each message names the
//! store and says how to fix it; the command layer chooses the exit code
//! (see `crate::report`).

use super::Target;
use std::time::Duration;

type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading a store that does not exist.
    #[error(
        "there is no database at {0}; run `fxrates backfill` or `fxrates ingest` first, or point \
         --db (FXRATES_DB) at the right file"
    )]
    Missing(Target),

    /// A database with nothing in it yet (a 0-byte file, as a reader sees
    /// one while the first run creates it).
    #[error("{0} holds no rates yet; run `fxrates backfill` or `fxrates ingest`")]
    Empty(Target),

    /// The file is damaged: SQLite's own check, or a read, found it so.
    #[error(
        "{target} is damaged ({problem}); restore it from a backup (see \"Backups\" in \
         DEPLOYMENT.md), then run `fxrates ingest` to fetch what is missing since"
    )]
    Corrupt { target: Target, problem: String },

    /// Another run held the write lock for longer than the wait allowed.
    #[error(
        "another fxrates run{} is using {target} and did not finish within {} s; try again later, \
         or wait longer with FXRATES_LOCK_TIMEOUT",
        by.as_deref().map(|h| format!(" (on {h})")).unwrap_or_default(),
        waited.as_secs()
    )]
    Locked {
        target: Target,
        waited: Duration,
        /// The host holding it, where the store knows.
        by: Option<String>,
    },

    /// Another session (a program holding a transaction open, or a frozen
    /// run) kept a lock on the store's tables for longer than the wait
    /// allowed.
    #[error(
        "{what}: another session held a lock on fxrates' tables in {target} for more than {} s \
         (a transaction left open, in psql or another program); end it (see pg_stat_activity), \
         or wait longer with FXRATES_LOCK_TIMEOUT",
        waited.as_secs_f32()
    )]
    Blocked {
        target: Target,
        what: String,
        waited: Duration,
    },

    /// The database server did not answer in time; the connection was
    /// closed and whatever was being written is rolled back whole.
    #[error(
        "{what}: the database server at {target} did not answer within {:.1} s; nothing was \
         half-written: check that the server is well, then try again",
        within.as_secs_f32()
    )]
    Unanswered {
        target: Target,
        what: String,
        within: Duration,
    },

    /// This writer's claim on a shared store ran out (the host was cut off
    /// from the database for longer than the lease) and another host may
    /// have taken over: nothing more is written or asked for.
    #[error(
        "this run lost its claim on {target} (cut off from the database for longer than the \
         lease{}); it stopped before writing or sending anything more, and whatever it had \
         stored is kept; the next run carries on",
        by.as_deref().map(|h| format!("; {h} took over")).unwrap_or_default()
    )]
    ClaimLost { target: Target, by: Option<String> },

    /// This host's clock is ahead of the database server's: it would store
    /// days that have not begun, and other hosts would then skip them.
    #[error(
        "this host's clock ({}) is {} min ahead of the database server's ({}) at {target}; \
         nothing was asked for or stored: set the host's clock right (NTP: \
         `timedatectl set-ntp true`)",
        host.format("%Y-%m-%d %H:%M:%S UTC"),
        (*host - *server).num_minutes(),
        server.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    ClockAhead {
        target: Target,
        host: chrono::DateTime<chrono::Utc>,
        server: chrono::DateTime<chrono::Utc>,
    },

    /// A day later than the database server's today: this host's clock
    /// (or the provider's date) is wrong.
    #[error(
        "refusing to store {date} in {target}: the database server's clock says that day has \
         not begun (it is {} there); check this host's clock",
        server.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    FutureDay {
        target: Target,
        date: chrono::NaiveDate,
        server: chrono::DateTime<chrono::Utc>,
    },

    /// Something is there, but it is not a store fxrates can use.
    #[error("{target} is not an fxrates database ({why}); point --db (FXRATES_DB) at another path")]
    NotOurs { target: Target, why: &'static str },

    /// Another program's database.
    #[error(
        "{0} is a SQLite database of another program, not fxrates'; point --db (FXRATES_DB) at \
         another path"
    )]
    Foreign(Target),

    /// Written by a newer fxrates.
    #[error(
        "{target} has schema version {version}, newer than the version {known} this fxrates \
         knows; upgrade fxrates"
    )]
    TooNew {
        target: Target,
        version: i64,
        known: i64,
    },

    /// Older than this binary reads; a writer upgrades it.
    #[error(
        "{target} has schema version {version}, this fxrates reads version {known}; run \
         `fxrates ingest` once to upgrade it"
    )]
    TooOld {
        target: Target,
        version: i64,
        known: i64,
    },

    /// A stored day that cannot be read back.
    #[error("the stored day {date} is damaged ({target})")]
    Damaged { target: Target, date: String },

    /// A PostgreSQL schema of that name holds another program's tables.
    #[error(
        "the schema {schema:?} in {target} holds tables of another program ({tables}), not \
         fxrates'; it was left as it is: choose another schema with FXRATES_DB_SCHEMA"
    )]
    ForeignSchema {
        target: Target,
        schema: String,
        tables: String,
    },

    /// The database server could not be reached, or refused to let fxrates
    /// in; the error says which and what to do.
    #[error(transparent)]
    Connect(#[from] crate::pg::ConnectError),

    /// The connection to the database server broke mid-run. Whatever was
    /// being written is rolled back whole by the server.
    #[error(
        "{what}: the connection to {target} was lost ({cause}); nothing was half-written, try \
         again"
    )]
    Lost {
        target: Target,
        what: String,
        cause: Cause,
    },

    /// The database refused an operation for want of a privilege.
    #[error(
        "{what}: permission denied by {target} ({detail}); grant fxrates' role the privileges \
         DEPLOYMENT.md lists"
    )]
    Denied {
        target: Target,
        what: String,
        detail: String,
    },

    /// The role lacks privileges the run needs, found before anything was
    /// asked for or written: `grants` is the statement that gives them.
    #[error(
        "{target}: permission denied: the role {role:?} lacks {missing}; as the schema's owner: \
         {grants}"
    )]
    Ungranted {
        target: Target,
        role: String,
        /// What is missing, as "INSERT on fxrates.days, ...".
        missing: String,
        grants: String,
    },

    /// The store is unusable where it is (say, its directory is a file).
    #[error("{0}")]
    Unusable(String),

    /// Reading or writing failed; `what` says what was being done, the
    /// cause why.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        cause: Cause,
    },
}

impl StoreError {
    /// What SQLite said is wrong with a damaged file, when this is such an
    /// error: the full check's finding, or a read or write that met a
    /// damaged page.
    pub fn damage(&self) -> Option<String> {
        match self {
            StoreError::Corrupt { problem, .. } => Some(problem.clone()),
            StoreError::Io { cause, .. } => match cause.downcast_ref::<rusqlite::Error>()? {
                e @ rusqlite::Error::SqliteFailure(f, _)
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                    ) =>
                {
                    Some(e.to_string())
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>, cause: impl Into<Cause>) -> StoreError {
        StoreError::Io {
            what: what.into(),
            cause: cause.into(),
        }
    }
}
