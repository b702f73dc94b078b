//! `fxrates copy SOURCE DEST`: moves a history between stores, either way
//! (SQLite to PostgreSQL, back, or between two of a kind). Only the days
//! DEST lacks are copied, with their provenance, in batches of whole days
//! (one transaction each on PostgreSQL, with the rates sent as `COPY`), so
//! a copy can be stopped and run again. The request log stays behind:
//! fixer's monthly quota belongs to the account, and each store counts the
//! requests made with it.

use super::{Monitored, RunName, RunStore, Watched, Writing};
use crate::cli::CopyArgs;
use crate::error::{Exit, ResultExt, fail};
use crate::progress::Progress;
use crate::settings::Settings;
use crate::store::{self, Reader, Store, StoreError, StoredDay, Target};

impl Monitored for CopyArgs {
    const NAME: RunName = RunName::Copy;

    fn watched(&self) -> Option<Watched> {
        None
    }

    fn prepare<'a>(&'a self, settings: &'a Settings) -> anyhow::Result<Option<Writing<'a>>> {
        let from = settings.store_at(
            &self.source,
            "SOURCE",
            self.source_schema
                .as_deref()
                .map(|s| ("--source-schema", s)),
        )?;
        let to = settings.store_at(
            &self.dest,
            "DEST",
            self.dest_schema.as_deref().map(|s| ("--dest-schema", s)),
        )?;
        if same(&from, &to) {
            return Err(fail(
                Exit::Usage,
                format!("SOURCE and DEST are the same store ({from}); name two different ones"),
            ));
        }
        let source =
            store::open_read(&from).map_err(|e| as_argument(e, "SOURCE", "--source-schema"))?;
        Ok(Some(Writing {
            deadline: None,
            store: RunStore::Named {
                target: to.clone(),
                named: |e| as_argument(e, "DEST", "--dest-schema"),
            },
            work: Box::new(move |dest| {
                let copied = copy(&*source, dest, self.batch_rates)?;
                Ok(Some(summary(&copied, &from, &to)))
            }),
        }))
    }
}

/// What `copy` prints once the run is recorded.
fn summary(copied: &Copied, from: &Target, to: &Target) -> String {
    format!(
        "copied {} day{} ({} rates) and {} unavailable-day record{} from {from} to {to}; {} \
         day{} {} there already\n\
         the request log was not copied: fixer's monthly quota belongs to the account, and \
         each store counts the requests made with it",
        copied.days,
        plural(copied.days),
        copied.rates,
        copied.unavailable,
        plural(copied.unavailable),
        copied.skipped,
        plural(copied.skipped),
        if copied.skipped == 1 { "was" } else { "were" },
    )
}

/// `err` from opening the store `copy` was given as `argument`: the store's
/// hints name what `--db` reads, which `copy` does not, so they are turned
/// to name the argument and its schema flag instead. The exit code stays.
fn as_argument(err: StoreError, argument: &str, schema_flag: &str) -> anyhow::Error {
    let text = err.to_string();
    let renamed = text
        .replace("--db (FXRATES_DB)", argument)
        .replace("FXRATES_DB_SCHEMA", schema_flag);
    if renamed == text {
        return err.into();
    }
    let exit = crate::report::verdict(&err).map_or(Exit::IoErr, |v| v.exit);
    let has_cause = std::error::Error::source(&err).is_some();
    if has_cause {
        // The cause below stays, so that the line still ends with why.
        Err::<(), _>(err).exit(exit, || renamed).unwrap_err()
    } else {
        fail(exit, renamed)
    }
}

#[derive(Default)]
struct Copied {
    days: u64,
    rates: u64,
    unavailable: u64,
    skipped: u64,
}

/// Copies what `dest` lacks, in batches of about `batch_rates` rates (the
/// default, 60,000, is about a year of days: a few MB).
fn copy(source: &dyn Reader, dest: &mut dyn Store, batch_rates: u64) -> anyhow::Result<Copied> {
    let mut copied = Copied::default();
    let summary = source.summary()?;
    if let (Some(oldest), Some(latest)) = (summary.oldest, summary.latest) {
        let present = dest.stored_between(oldest, latest)?;
        let wanted = source.stored_between(oldest, latest)?;
        let missing = wanted.difference(&present).count();
        copied.skipped = (wanted.len() - missing) as u64;
        let mut progress = Progress::new("copying days", missing);
        // Batches, each stored whole in one transaction where the store
        // can (PostgreSQL): a stopped copy leaves whole days, and the next
        // run adds the rest.
        let mut batch: Vec<StoredDay> = Vec::new();
        let mut rates_in_batch = 0;
        let mut flush = |batch: &mut Vec<StoredDay>, copied: &mut Copied| {
            dest.put_stored_days(batch)?;
            copied.days += batch.len() as u64;
            copied.rates += batch.iter().map(|d| d.rates.len() as u64).sum::<u64>();
            progress.advance(batch.len());
            batch.clear();
            Ok::<_, anyhow::Error>(())
        };
        store::walk_days(source, oldest, latest, &[], |day| {
            if present.contains(&day.date) {
                return Ok::<_, anyhow::Error>(());
            }
            rates_in_batch += day.rates.len();
            batch.push(day);
            if rates_in_batch as u64 >= batch_rates {
                flush(&mut batch, &mut copied)?;
                rates_in_batch = 0;
            }
            Ok(())
        })?;
        flush(&mut batch, &mut copied)?;
    }
    for record in source.unavailable_days()? {
        let known = dest.has_day(record.date)?
            || !dest
                .unavailable_between(record.date, record.date)?
                .is_empty();
        if !known {
            dest.mark_unavailable(record.date, record.recorded_at, &record.reason)?;
            copied.unavailable += 1;
        }
    }
    Ok(copied)
}

/// Whether two targets are one store (a file named two ways counts).
fn same(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Sqlite(x), Target::Sqlite(y)) => {
            x == y
                || (x.canonicalize().ok().is_some()
                    && x.canonicalize().ok() == y.canonicalize().ok())
        }
        _ => a == b,
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
