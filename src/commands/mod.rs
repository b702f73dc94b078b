//! One file per subcommand; each turns its parsed arguments into work.

mod backfill;
mod chart;
mod completions;
mod convert;
mod copy;
mod crosscheck;
mod currencies;
mod ecb_fetch;
mod ingest;
mod manpage;
mod notes;
mod prune;
mod serve;
mod show;
mod show_range;
mod status;

use crate::cli::Command;
use crate::error::{Exit, ResultExt, fail};
use crate::health::Health;
use crate::ping;
use crate::rates::Source;
use crate::settings::Settings;
use crate::store::{Reader, RunFailure, Store, StoreError, StoredDay, Target};
use chrono::NaiveDate;
use std::io::Write;

/// A command that only reads: no run of it is recorded.
trait Run {
    fn run(&self, settings: &Settings) -> anyhow::Result<()>;
}

/// The runs kept in the `runs` table, as `status` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunName {
    Ingest,
    Backfill,
    Prune,
    Copy,
}

impl RunName {
    fn as_str(self) -> &'static str {
        match self {
            RunName::Ingest => "ingest",
            RunName::Backfill => "backfill",
            RunName::Prune => "prune",
            RunName::Copy => "copy",
        }
    }
}

/// A command that writes a store as one run recorded in its runs table:
/// [`monitored`] owns the run. The command only checks its arguments,
/// prepares, and says which store to open and what to do in it.
trait Monitored {
    const NAME: RunName;

    /// What the run's pings and metrics file need; `None` for a run that
    /// is only recorded (prune, copy): it pings nothing and leaves the
    /// metrics file alone.
    fn watched(&self) -> Option<Watched>;

    /// Checks the arguments and prepares what the work needs (the client
    /// first: a missing key must not leave a new, empty database behind);
    /// `None` when there is nothing to do, so no store is opened.
    fn prepare<'a>(&'a self, settings: &'a Settings) -> anyhow::Result<Option<Writing<'a>>>;

    /// What to try when the run failed with `err`, before it is reported:
    /// `--fallback ecb` fills days from the ECB into the history, which the
    /// wrapper opens if the run did not get that far. `Ok(None)`: the run
    /// fails as it failed (most runs); an error: the fallback could not
    /// even be prepared.
    fn fall_back<'a>(
        &'a self,
        _err: &anyhow::Error,
        _settings: &'a Settings,
    ) -> anyhow::Result<Option<Fallback<'a>>> {
        Ok(None)
    }
}

/// A failed run's fallback, once prepared.
struct Fallback<'a> {
    /// When its requests must be done, for the store's waits.
    deadline: Option<std::time::Instant>,
    /// What to do in the history; it returns what the run's error line
    /// says first (what the fallback did).
    work: Box<FallbackWork<'a>>,
}

type FallbackWork<'a> = dyn FnOnce(&mut dyn Store) -> anyhow::Result<String> + 'a;

/// What a watched run's metrics judge the history by, besides the provider
/// (`Settings::provider`).
struct Watched {
    monthly_quota: u64,
}

/// The work of a run, once prepared.
struct Writing<'a> {
    /// When the requests of the run must be done, for the store's waits.
    deadline: Option<std::time::Instant>,
    /// The store the run writes.
    store: RunStore,
    /// What to do in the store the wrapper opened; it returns what to print
    /// on stdout once the run is recorded (a reader that leaves early fails
    /// no run).
    work: Box<Work<'a>>,
}

type Work<'a> = dyn FnOnce(&mut dyn Store) -> anyhow::Result<Option<String>> + 'a;

/// The store a run writes.
enum RunStore {
    /// The history (`--db`), created if missing when `create`.
    History { create: bool },
    /// A store the command names itself (`copy`'s DEST), created if
    /// missing; `named` turns an error opening it into the command's words.
    Named {
        target: Target,
        named: fn(StoreError) -> anyhow::Error,
    },
}

impl<'a> Writing<'a> {
    /// `work` in the history, created if missing, printing nothing.
    fn in_history(
        deadline: Option<std::time::Instant>,
        work: impl FnOnce(&mut dyn Store) -> anyhow::Result<()> + 'a,
    ) -> Writing<'a> {
        Writing {
            deadline,
            store: RunStore::History { create: true },
            work: Box::new(|store| work(store).map(|()| None)),
        }
    }

    /// Opens the run's store for writing.
    fn open(&self, settings: &Settings) -> anyhow::Result<Box<dyn Store>> {
        match &self.store {
            RunStore::History { create } => Ok(settings.write_store(*create, self.deadline)?),
            RunStore::Named { target, named } => settings
                .write_store_at(target, true, self.deadline)
                .map_err(named),
        }
    }
}

/// Runs `command`. `settings` resolves the settings, for the commands that
/// need them: completions and man pages need no home, database or clock.
pub(crate) fn run(
    command: &Command,
    settings: impl FnOnce() -> anyhow::Result<Settings>,
) -> anyhow::Result<()> {
    match command {
        Command::Completions(args) => args.print(),
        Command::Manpage(args) => args.print(),
        Command::Ingest(args) => monitored(args, &settings()?),
        Command::Backfill(args) => monitored(args, &settings()?),
        Command::Show(args) => args.run(&settings()?),
        // A dry run only reads.
        Command::Prune(args) if args.dry_run => args.run(&settings()?),
        Command::Prune(args) => monitored(args, &settings()?),
        Command::Status(args) => args.run(&settings()?),
        Command::Convert(args) => args.run(&settings()?),
        Command::Chart(args) => args.run(&settings()?),
        Command::Copy(args) => monitored(args, &settings()?),
        Command::Crosscheck(args) => args.run(&settings()?),
        Command::Serve(args) => args.run(&settings()?),
        Command::Currencies(args) => args.run(&settings()?),
    }
}

/// Runs `body` as a run of `command` recorded in the `runs` table, with its
/// outcome, for `status`.
fn recorded<T>(
    store: &mut dyn Store,
    command: RunName,
    settings: &Settings,
    body: impl FnOnce(&mut dyn Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let id = store.start_run(command.as_str(), settings.now.utc)?;
    // Damage the run's own pages do not show is found by the weekly check.
    let result = store
        .check_if_due(settings.now.today)
        .map_err(anyhow::Error::from)
        .and_then(|()| body(store));
    let error = result
        .as_ref()
        .err()
        .map(|e| (crate::report::headline(e), crate::report::exit_of(e)));
    let failure = error.as_ref().map(|(line, exit)| RunFailure {
        error: line,
        exit_code: exit.code(),
    });
    match store.finish_run(id, settings.now.current(), failure) {
        Err(e) if result.is_ok() => Err(e.into()),
        // The run failed because the database went away: its error says
        // so already, and the record stays "unfinished".
        Err(
            e @ (StoreError::Lost { .. }
            | StoreError::ClaimLost { .. }
            | StoreError::Unanswered { .. }),
        ) => {
            log::debug!("could not record the end of this run: {e}");
            result
        }
        Err(e) => {
            log::warn!("could not record the end of this run: {e}");
            result
        }
        Ok(()) => result,
    }
}

/// Runs a command that writes a store: prepares it, opens the run's store,
/// records the run, and prints what the run has to say. A watched run is
/// also pinged (start, success, failure) and followed by the metrics file,
/// written whatever the outcome from the run's own store (else from a
/// store opened for reading); neither changes the outcome.
fn monitored<M: Monitored>(command: &M, settings: &Settings) -> anyhow::Result<()> {
    let Some(watched) = command.watched() else {
        return recorded_run(command, settings, &mut None);
    };
    ping::around(
        settings.ping_url.as_ref(),
        || settings.network().cloned(),
        crate::report::headline,
        || {
            let mut store: Option<Box<dyn Store>> = None;
            let result = recorded_run(command, settings, &mut store);
            if let Some(path) = &settings.metrics_file
                && let Err(e) = write_metrics_file(
                    settings,
                    store.as_deref().map(|s| s as &dyn Reader),
                    &watched,
                    path,
                )
            {
                log::warn!("{e:#}; the run itself is unaffected");
            }
            result
        },
    )
}

/// The run itself: prepared, in the store it opens (left in `store`),
/// recorded, and fallen back on if it fails; then its words on stdout.
fn recorded_run<M: Monitored>(
    command: &M,
    settings: &Settings,
    store: &mut Option<Box<dyn Store>>,
) -> anyhow::Result<()> {
    let result = command.prepare(settings).and_then(|writing| {
        let Some(writing) = writing else {
            return Ok(None);
        };
        let opened = store.insert(writing.open(settings)?);
        recorded(&mut **opened, M::NAME, settings, writing.work)
    });
    let said = match result {
        Err(err) => return Err(fallen_back(command, err, settings, store)),
        Ok(said) => said,
    };
    match said {
        // The cause stays in the chain: a reader that left early (`| head`)
        // is no failure, and the run is recorded by now.
        Some(text) => writeln!(std::io::stdout().lock(), "{text}")
            .exit(Exit::IoErr, || "cannot write to stdout".into()),
        None => Ok(()),
    }
}

/// The error a failed run ends with once its fallback, if any, is done:
/// `err` with what the fallback did in front, or `err` as it was when the
/// fallback failed too (which the command's notes warn of).
fn fallen_back<M: Monitored>(
    command: &M,
    err: anyhow::Error,
    settings: &Settings,
    store: &mut Option<Box<dyn Store>>,
) -> anyhow::Error {
    let done = command.fall_back(&err, settings).and_then(|fallback| {
        let Some(Fallback { deadline, work }) = fallback else {
            return Ok(None);
        };
        let store = match store {
            Some(store) => store,
            None => store.insert(settings.write_store(true, deadline)?),
        };
        work(&mut **store).map(Some)
    });
    match done {
        Ok(Some(said)) => err.context(said),
        Ok(None) => err,
        Err(e) => {
            notes::fallback_failed(&e);
            err
        }
    }
}

/// Writes the metrics `status --format prometheus` prints to `path`, from
/// the run's own store when it opened one (else from a store opened for
/// reading, if there is one).
fn write_metrics_file(
    settings: &Settings,
    store: Option<&dyn Reader>,
    watched: &Watched,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let (quota, provider) = (watched.monthly_quota, settings.provider.source());
    let health = match store {
        Some(store) => Health::gather(Some(store), &settings.now, quota, false, provider)?,
        None => read_health(settings, quota, false, provider)?,
    };
    crate::present::status::write_metrics_file(&health, path).exit(Exit::IoErr, || {
        format!(
            "cannot write the metrics file {} (FXRATES_METRICS_FILE)",
            path.display()
        )
    })
}

/// The health of the history, from a store opened for reading; a store
/// that does not exist yet, or is still a 0-byte file, is reported as empty.
pub(super) fn read_health(
    settings: &Settings,
    quota: u64,
    deep: bool,
    provider: Source,
) -> anyhow::Result<Health> {
    let store = match settings.read_store() {
        Ok(store) => Some(store),
        Err(StoreError::Missing(_) | StoreError::Empty(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Health::gather(
        store.as_deref(),
        &settings.now,
        quota,
        deep,
        provider,
    )?)
}

/// How far back `show --date` and `convert` look for a stored day (a
/// weekend, a holiday).
const MAX_FALLBACK_DAYS: u64 = 7;

/// Refuses a `--date` after today: no day after today can be stored.
fn not_in_future(date: NaiveDate, today: NaiveDate) -> anyhow::Result<()> {
    if date > today {
        return Err(fail(
            Exit::Usage,
            format!("--date {date} is in the future (today is {today})"),
        ));
    }
    Ok(())
}

/// Refuses a range whose first day comes after its last; `to_given` says
/// whether the last day came from `--to` or is today.
fn ordered_range(from: NaiveDate, to: NaiveDate, to_given: bool) -> anyhow::Result<()> {
    if from > to {
        let to_text = if to_given {
            format!("--to {to}")
        } else {
            format!("today ({to})")
        };
        return Err(fail(
            Exit::Usage,
            format!("--from {from} is after {to_text}; give the earlier day to --from"),
        ));
    }
    Ok(())
}

/// How to fetch the rates of `d` (a day not in the future): only a command
/// `ingest` accepts is suggested.
fn fetch_hint(d: NaiveDate) -> String {
    use crate::calendar::{FIRST_DAY, is_weekend};
    if d < FIRST_DAY {
        return format!(
            "fixer's history begins on {FIRST_DAY}, so no day before it can be fetched"
        );
    }
    let mut weekday = d;
    while is_weekend(weekday) {
        weekday = weekday.pred_opt().unwrap_or(FIRST_DAY);
    }
    if weekday == d {
        format!("run `fxrates ingest --date {d}` to fetch it")
    } else if weekday < FIRST_DAY {
        format!(
            "{d} is a {}, and fixer's history begins on {FIRST_DAY}",
            d.format("%A")
        )
    } else {
        format!(
            "{d} is a {}, which has no rates of its own: run `fxrates ingest --date {weekday}` \
             to fetch the weekday before it",
            d.format("%A")
        )
    }
}

/// The stored day `date` is shown or converted at: `date` itself, else the
/// latest stored day of the [`MAX_FALLBACK_DAYS`] before it (warned about);
/// the latest stored day when no date is given.
fn stored_day(store: &dyn Reader, date: Option<NaiveDate>) -> anyhow::Result<StoredDay> {
    let day = store
        .day_on_or_before(date, MAX_FALLBACK_DAYS)?
        .ok_or_else(|| match date {
            Some(d) => fail(
                Exit::NoInput,
                format!(
                    "no rates stored for {d} or the {MAX_FALLBACK_DAYS} days before it; {}",
                    fetch_hint(d)
                ),
            ),
            None => fail(
                Exit::NoInput,
                format!(
                    "{} holds no rates yet; run `fxrates backfill` or `fxrates ingest`",
                    store.target()
                ),
            ),
        })?;
    Ok(day)
}
