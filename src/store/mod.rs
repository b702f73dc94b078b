//! The history's storage, behind object-safe traits: [`Reader`] for a store
//! opened for reading, [`Store`] for one opened for writing.
//!
//! Commands open a store from a [`Target`]: for reading with [`open_read`],
//! as a `Box<dyn Reader>` that has no method that writes, or for writing
//! with [`open_write_as`], as a `Box<dyn Store>`; they never see SQL. The store is
//! handed plain values (a path, a lock timeout, dates, rates): it reads no
//! environment, and knows nothing of the provider or of the command line.
//!
//! # The contract every implementation keeps
//!
//! - **A day is all or nothing.** [`DaysWrite::put_days`] writes every day it is
//!   given, with all its rates, in one transaction, and clears any
//!   "unavailable" mark of those days; a reader sees a day whole or not at
//!   all. A failed call leaves the store as it was.
//! - **One writer at a time.** A store opened for writing holds
//!   an exclusive write lock on the history from `open` until it is dropped,
//!   waiting at most `lock_wait` for another writer ([`StoreError::Locked`]
//!   after that). Two runs therefore never fetch or store the same day twice.
//! - **Readers never block writers, and are never blocked by them.** A store
//!   opened for reading takes no lock, never creates anything, and sees only
//!   committed data. It has no write methods; its connection is read-only
//!   as well (SQLite's `query_only`, PostgreSQL's read-only transactions).
//! - **Every request is recorded before it is sent.**
//!   [`RequestLogWrite::record_request`] commits at once (it is not part of a day's
//!   transaction), so a run killed while a request is in flight still counts
//!   it toward the monthly quota; [`RequestLogWrite::set_request_outcome`] completes the
//!   record when the answer is in. [`RequestLog::requests_since`] counts every
//!   request to fixer.io (the ECB's, recorded as `ecb-*`, cost no quota)
//!   whatever its outcome, except those that never left the machine
//!   ([`Request::NOT_SENT`]).
//! - **Rates are exact decimal text**: what goes in is what comes out,
//!   character for character; days come out in date order, rates in currency
//!   order.
//! - **The format is versioned.** A writer upgrades an older format in one
//!   transaction; a store newer than this binary is refused
//!   ([`StoreError::TooNew`]), by readers and writers alike, and a reader
//!   refuses an older one ([`StoreError::TooOld`]) rather than upgrading it.
//! - **Errors are typed** ([`StoreError`]); the command layer turns them into
//!   exit codes. An I/O failure keeps its cause (a `rusqlite::Error`, an
//!   `io::Error`, ...) as its `source`, so the user is told "the disk is full"
//!   rather than a driver's code.
//!
//! - **Several hosts, one writer.** On PostgreSQL the write lock is a
//!   *claim*: a row of the `claims` table with a lease measured in the
//!   database's clock, renewed while the writer lives and released when it
//!   is dropped. A writer that dies or is cut off loses it when the lease
//!   runs out ([`Writer::lease`]), and every write that matters (a request's
//!   record, a day, an unavailable mark, a prune) checks in its own
//!   transaction that the claim is still the writer's, so a host that lost
//!   it can neither spend the quota nor store anything
//!   ([`StoreError::ClaimLost`]). The SQLite store's file lock is the
//!   one-host form of the same promise. Requests and runs are recorded with
//!   the writer's host name.
//!
//! # Where things are
//! - `sqlite`: the SQLite implementation (one file in WAL mode, marked
//!   with an application id, locked with `flock` on the file itself, a
//!   versioned schema).
//! - `postgres`: the PostgreSQL implementation (one schema, a claim with
//!   a lease for the write lock, a versioned schema); where such a store is
//!   ([`PgTarget`]: the server and the schema) is its own business.

mod error;
mod legacy;
mod name;
mod postgres;
mod sqlite;

pub use error::StoreError;
pub(crate) use name::{StoreArg, store_arg};
pub use postgres::PgTarget;
pub use postgres::VERSION as PG_VERSION;
pub use sqlite::VERSION;

use crate::rates::{Currency, RateSet, Snapshot, Source};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the history is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A schema in a PostgreSQL database.
    Postgres(Box<PgTarget>),
}

/// The schema fxrates uses in PostgreSQL unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "fxrates";

impl fmt::Display for Target {
    /// How messages name the store (never with a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sqlite(path) => write!(f, "{}", path.display()),
            Target::Postgres(target) => target.fmt(f),
        }
    }
}

/// How a backend opens a store: [`open_read`] and [`open_write_as`] choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reading only: the store must exist and be of this binary's version.
    Read,
    /// Writing, holding the write lock (waiting at most `lock_wait` for it).
    /// With `create`, a missing store is created; without, it is
    /// [`StoreError::Missing`].
    Write { create: bool, lock_wait: Duration },
}

/// How long a writer's claim on a PostgreSQL store lasts unless renewed
/// (it is renewed every third of it): the longest a dead writer keeps
/// another host waiting.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// Who writes: recorded with every request and run, and named to other
/// hosts waiting for the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writer {
    /// The machine's name.
    pub host: String,
    /// How long the claim on a shared store outlives its last renewal.
    pub lease: Duration,
    /// When the run must be over (`--max-run-time`): no call to a database
    /// server that stopped answering outlives it.
    pub deadline: Option<Instant>,
    /// The host's clock, which a shared store compares with its server's.
    pub clock: Option<HostClock>,
}

/// A host's clock, as a writer on a shared store gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostClock {
    pub now: DateTime<Utc>,
    /// Set by hand (tests, replays) rather than read from the machine: a
    /// clock behind the server's is then meant, and not worth a warning.
    pub fixed: bool,
}

/// A writer with no name (tools and tests).
fn unnamed() -> Writer {
    Writer {
        host: String::new(),
        lease: DEFAULT_LEASE,
        deadline: None,
        clock: None,
    }
}

/// Opens the store at `target` for reading: it must exist and be of this
/// binary's version. What comes back has no method that writes.
///
/// ```compile_fail
/// # fn f(target: &fxrates::store::Target) -> Result<(), fxrates::store::StoreError> {
/// let mut reader = fxrates::store::open_read(target)?;
/// reader.prune_before(chrono::NaiveDate::MIN)?; // a reader cannot prune
/// # Ok(()) }
/// ```
pub fn open_read(target: &Target) -> Result<Box<dyn Reader>, StoreError> {
    match target {
        Target::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open_read_only(path)?)),
        Target::Postgres(target) => Ok(Box::new(postgres::PgStore::open(
            target,
            Access::Read,
            &unnamed(),
        )?)),
    }
}

/// Opens the store at `target` for writing as an unnamed writer (tools and
/// tests); see [`open_write_as`].
pub fn open_write(
    target: &Target,
    create: bool,
    lock_wait: Duration,
) -> Result<Box<dyn Store>, StoreError> {
    open_write_as(target, create, lock_wait, &unnamed())
}

/// Opens the store at `target` for `writer`, holding the write lock
/// (waiting at most `lock_wait` for it) until it is dropped. With `create`,
/// a missing store is created; without, it is [`StoreError::Missing`].
pub fn open_write_as(
    target: &Target,
    create: bool,
    lock_wait: Duration,
    writer: &Writer,
) -> Result<Box<dyn Store>, StoreError> {
    match target {
        Target::Sqlite(path) => Ok(Box::new(sqlite::SqliteStore::open_for_writing(
            path, create, lock_wait,
        )?)),
        Target::Postgres(target) => Ok(Box::new(postgres::PgStore::open(
            target,
            Access::Write { create, lock_wait },
            writer,
        )?)),
    }
}

/// A stored day, as `show` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDay {
    pub date: NaiveDate,
    pub base: Currency,
    pub source_date: NaiveDate,
    pub source_timestamp: Option<i64>,
    /// When it was fetched: UTC, RFC 3339, whole seconds.
    pub fetched_at: String,
    /// The provider's endpoint it came from: latest, historical or
    /// timeseries (provenance, which `copy` carries over).
    pub endpoint: String,
    /// Where its rates came from.
    pub provider: Source,
    pub rates: RateSet,
}

/// A day the provider said it has no rates for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnavailableDay {
    pub date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub reason: String,
}

/// One day to store: its business date and what the provider sent.
#[derive(Clone, Copy, Debug)]
pub struct NewDay<'a> {
    pub date: NaiveDate,
    /// The provider's own date for it (provenance).
    pub source_date: NaiveDate,
    pub source_timestamp: Option<i64>,
    pub rates: &'a RateSet,
}

/// How the days being stored were fetched.
#[derive(Clone, Copy, Debug)]
pub struct Provenance<'a> {
    /// The provider's endpoint: latest, historical or timeseries (fixer),
    /// ecb-data, ecb-90d or ecb-currency (the ECB).
    pub endpoint: &'a str,
    pub fetched_at: DateTime<Utc>,
    /// Who sent the rates.
    pub provider: Source,
}

/// One request to the provider, as the quota record keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The provider's endpoint: latest, historical or timeseries.
    pub endpoint: &'a str,
    /// `ok`, the error, or [`Request::UNANSWERED`] while it is in flight.
    pub outcome: &'a str,
}

impl Request<'_> {
    /// The outcome of a request recorded before it is sent; it stays so if
    /// the run ends before the answer.
    pub const UNANSWERED: &'static str = "unanswered";

    /// How the outcome of a request that never left the machine begins (its
    /// host name did not resolve, its connection or the proxy's tunnel was
    /// refused): kept in the record, never counted against the quota, since
    /// the provider cannot have seen it.
    pub const NOT_SENT: &'static str = "not sent: ";
}

/// A recorded request, for [`RequestLogWrite::set_request_outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestId(pub i64);

/// A recorded run, for [`RunLogWrite::finish_run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunId(pub i64);

/// How a failed run ended, for [`RunLogWrite::finish_run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunFailure<'a> {
    /// The one line the user read.
    pub error: &'a str,
    /// The process's exit code.
    pub exit_code: u8,
}

/// Counts of the stored history, for `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub days: u64,
    pub oldest: Option<NaiveDate>,
    pub latest: Option<NaiveDate>,
}

/// The days stored from one provider, for `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProviderDays {
    pub provider: Source,
    pub days: u64,
    pub latest: NaiveDate,
}

/// The last run of one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRun {
    /// Its record: a later run has a larger one.
    pub id: RunId,
    pub command: String,
    pub started_at: DateTime<Utc>,
    /// `None` while running, or when the run was killed before it ended.
    pub ok: Option<bool>,
    pub error: Option<String>,
    /// The exit code it ended with (0: success); `None` while running, when
    /// it was killed, or when it was recorded by a version that did not
    /// keep it.
    pub exit_code: Option<i64>,
    /// The machine it ran on, where the store records it (PostgreSQL).
    pub host: Option<String>,
}

/// What a prune removes (or would remove).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub days: u64,
    pub rates: u64,
    pub unavailable: u64,
}

/// What the provider's plan last answered to a `timeseries` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeseriesAnswer {
    pub allowed: bool,
    /// The day it answered (the run's local date).
    pub on: NaiveDate,
}

/// fixer's own names of its currencies (its `symbols` answer), and the
/// local date they were fetched on (`ingest` asks again a month later).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrencyNames {
    pub fetched_on: Option<NaiveDate>,
    pub names: BTreeMap<Currency, String>,
}

impl fmt::Display for TimeseriesAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "refused" };
        write!(f, "{verdict} {}", self.on)
    }
}

/// A time as the store keeps it: UTC, RFC 3339, whole seconds (so that text
/// order is time order).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A store opened for reading ([`open_read`]): the reading half of every
/// role, and nothing that writes.
pub trait Reader: Days + RequestLog + RunLog + PlanMemory + Upkeep {}

impl<T: Days + RequestLog + RunLog + PlanMemory + Upkeep + ?Sized> Reader for T {}

/// The history's storage opened for writing ([`open_write_as`]): every
/// role, both halves. Reads take `&self`, writes `&mut self`; see the module
/// documentation for what every implementation promises. A command that
/// needs one role can be handed just that one.
pub trait Store:
    Reader + DaysWrite + RequestLogWrite + RunLogWrite + PlanMemoryWrite + UpkeepWrite
{
}

impl<T> Store for T where
    T: Reader + DaysWrite + RequestLogWrite + RunLogWrite + PlanMemoryWrite + UpkeepWrite + ?Sized
{
}

/// The days and what is known of days without rates, as read.
pub trait Days {
    /// Where the store is, for messages.
    fn target(&self) -> &Target;

    // ---- days ----

    /// Whether `date` is stored.
    fn has_day(&self, date: NaiveDate) -> Result<bool, StoreError>;

    /// The most recent stored day on or before `date`, at most `max_back`
    /// days earlier; the latest stored day when `date` is `None`.
    fn day_on_or_before(
        &self,
        date: Option<NaiveDate>,
        max_back: u64,
    ) -> Result<Option<StoredDay>, StoreError>;

    /// Calls `each` with every stored day from `from` to `to` (both
    /// included), in date order, until it breaks. With `currencies`
    /// non-empty, each day holds only those of them that are stored (a day
    /// holding none is skipped). Returns how many days were passed to `each`.
    /// See [`walk_days`] for a form whose callback may fail.
    fn for_each_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        currencies: &[Currency],
        each: &mut dyn FnMut(StoredDay) -> ControlFlow<()>,
    ) -> Result<usize, StoreError>;

    /// How many days are stored from `from` to `to`, both included.
    fn count_days(&self, from: NaiveDate, to: NaiveDate) -> Result<u64, StoreError>;

    /// The providers of the days stored from `from` to `to`, both included.
    fn providers_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<Source>, StoreError>;

    /// Whether `currency` has a rate on any stored day from `from` to `to`.
    fn has_currency_between(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StoreError>;

    /// The stored dates from `from` to `to`, both included.
    fn stored_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError>;

    /// Every day the provider said it has no rates for, in date order.
    fn unavailable_days(&self) -> Result<Vec<UnavailableDay>, StoreError>;

    /// The dates the provider said it has no rates for, from `from` to `to`.
    fn unavailable_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError>;

    /// How many days are stored, and the oldest and latest of them.
    fn summary(&self) -> Result<Summary, StoreError>;

    /// How many days each provider's are, and its latest, in provider
    /// order; a provider with no day is left out.
    fn providers(&self) -> Result<Vec<ProviderDays>, StoreError>;

    /// What pruning everything before `cutoff` would remove.
    fn count_before(&self, cutoff: NaiveDate) -> Result<Pruned, StoreError>;
}

/// The days written: stored, marked, pruned.
pub trait DaysWrite: Days {
    /// Stores `days` against `base`, replacing any stored rates of those
    /// days and clearing their "unavailable" and "unusable" marks (a day
    /// stored is neither, whoever stores it): all of them or none, in one
    /// transaction.
    fn put_days(
        &mut self,
        days: &[NewDay<'_>],
        base: Currency,
        provenance: &Provenance<'_>,
    ) -> Result<(), StoreError>;

    /// Stores days as another store holds them, each with its own base and
    /// provenance (`copy`), replacing their rates and clearing their
    /// "unavailable" and "unusable" marks. Each day is whole; a store may write them all in
    /// one transaction (PostgreSQL does), or one by one.
    fn put_stored_days(&mut self, days: &[StoredDay]) -> Result<(), StoreError> {
        for day in days {
            let fetched_at = DateTime::parse_from_rfc3339(&day.fetched_at)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| StoreError::Damaged {
                    target: self.target().clone(),
                    date: day.date.to_string(),
                })?;
            self.put_days(
                &[NewDay {
                    date: day.date,
                    source_date: day.source_date,
                    source_timestamp: day.source_timestamp,
                    rates: &day.rates,
                }],
                day.base,
                &Provenance {
                    endpoint: &day.endpoint,
                    fetched_at,
                    provider: day.provider,
                },
            )?;
        }
        Ok(())
    }

    /// Remembers that the provider has no rates for `date`, so it is not
    /// asked again.
    fn mark_unavailable(
        &mut self,
        date: NaiveDate,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// Removes every day (and unavailable mark) before `cutoff`, in one
    /// transaction. The request record is never touched: the monthly quota
    /// is counted from it.
    fn prune_before(&mut self, cutoff: NaiveDate) -> Result<Pruned, StoreError>;
}

/// The record of requests made to the provider, which the monthly budget counts.
pub trait RequestLog {
    /// How many requests to fixer.io were recorded at or after `since`,
    /// whatever their outcome (the ECB's cost no quota).
    fn requests_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Requests recorded.
pub trait RequestLogWrite: RequestLog {
    /// Records a request, committed at once; see [`Request::UNANSWERED`].
    fn record_request(&mut self, request: &Request<'_>) -> Result<RequestId, StoreError>;

    /// Completes the record of a request with its outcome.
    fn set_request_outcome(&mut self, id: RequestId, outcome: &str) -> Result<(), StoreError>;
}

/// The record of runs, for `status` and the metrics.
pub trait RunLog {
    /// When a run of one of `commands` last succeeded.
    fn last_success(&self, commands: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// The last run of each command, in command-name order.
    fn last_runs(&self) -> Result<Vec<LastRun>, StoreError>;

    /// The last run of each command on each host, in host then command
    /// order; empty where hosts are not recorded (SQLite: one host).
    fn last_runs_by_host(&self) -> Result<Vec<LastRun>, StoreError>;
}

/// Runs recorded.
pub trait RunLogWrite: RunLog {
    /// Records the start of a run of `command`.
    fn start_run(&mut self, command: &str, at: DateTime<Utc>) -> Result<RunId, StoreError>;

    /// Records how a run ended, at `at`: `None` for success, else its error
    /// and exit code.
    fn finish_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        failure: Option<RunFailure<'_>>,
    ) -> Result<(), StoreError>;
}

/// What the plan remembers between runs: the provider's answers about the
/// timeseries endpoint, unusable days, and currency names.
pub trait PlanMemory {
    /// What the plan last answered to `timeseries`, if it was ever asked.
    fn timeseries_answer(&self) -> Result<Option<TimeseriesAnswer>, StoreError>;

    /// fixer's names of its currencies, if they were ever fetched.
    fn currency_names(&self) -> Result<Option<CurrencyNames>, StoreError>;

    /// The days whose answer was last unusable, each with the local date
    /// it was.
    fn unusable_days(&self) -> Result<BTreeMap<NaiveDate, NaiveDate>, StoreError>;
}

/// What the plan remembers, written.
pub trait PlanMemoryWrite: PlanMemory {
    fn set_timeseries_answer(&mut self, answer: TimeseriesAnswer) -> Result<(), StoreError>;

    fn set_currency_names(&mut self, names: &CurrencyNames) -> Result<(), StoreError>;

    /// Records that the answer for `date` was unusable on the local date
    /// `on`, or with `None` forgets it.
    fn set_unusable(&mut self, date: NaiveDate, on: Option<NaiveDate>) -> Result<(), StoreError>;
}

/// The store's own checks of its health.
pub trait Upkeep {
    /// What the store's own consistency check finds wrong, if anything (a
    /// damaged file): the full check, whose cost grows with the history. A
    /// store that has no such check finds nothing.
    fn integrity_problem(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    /// A number that changes whenever another connection commits a change
    /// to the store, where the store can tell at almost no cost (SQLite's
    /// `data_version`), so that a reader may keep what it computed until
    /// then; `None` where it cannot, and nothing may be kept.
    fn data_version(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }

    /// The day the full check last passed, where the store keeps one.
    fn last_full_check(&self) -> Result<Option<NaiveDate>, StoreError> {
        Ok(None)
    }
}

/// The checks only a writer runs.
pub trait UpkeepWrite: Upkeep {
    /// Runs the full check if it is due (SQLite: weekly), recording the day
    /// it passed; damage is [`StoreError::Corrupt`].
    fn check_if_due(&mut self, _today: NaiveDate) -> Result<(), StoreError> {
        Ok(())
    }
}

impl dyn Store + '_ {
    /// Stores one day under the business date `date`.
    pub fn put_day(
        &mut self,
        date: NaiveDate,
        snapshot: &Snapshot,
        provenance: &Provenance<'_>,
    ) -> Result<(), StoreError> {
        let day = NewDay {
            date,
            source_date: snapshot.source_date,
            source_timestamp: snapshot.source_timestamp,
            rates: &snapshot.rates,
        };
        self.put_days(&[day], snapshot.base, provenance)
    }
}

/// The weekdays from `from` to `to` that are neither stored nor known to
/// have no rates: what a backfill fetches and what `status` calls missing.
pub fn missing_weekdays(
    store: &dyn Reader,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, StoreError> {
    let stored = store.stored_between(from, to)?;
    let unavailable = store.unavailable_between(from, to)?;
    Ok(crate::calendar::weekdays(from, to)
        .filter(|d| !stored.contains(d) && !unavailable.contains(d))
        .collect())
}

/// [`Days::for_each_day`] with a callback that may fail: its first error
/// stops the walk and is returned as it is.
pub fn walk_days<E: From<StoreError>>(
    store: &dyn Reader,
    from: NaiveDate,
    to: NaiveDate,
    currencies: &[Currency],
    mut each: impl FnMut(StoredDay) -> Result<(), E>,
) -> Result<usize, E> {
    let mut failed = None;
    let count = store.for_each_day(from, to, currencies, &mut |day| match each(day) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            failed = Some(e);
            ControlFlow::Break(())
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(count),
    }
}
