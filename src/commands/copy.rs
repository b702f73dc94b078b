//! `fxrates copy SOURCE DEST`: moves a history between stores, either way
//! (SQLite to PostgreSQL, back, or between two of a kind). Only the days
//! DEST lacks are copied, each in its own transaction with its provenance,
//! so a copy can be stopped and run again. The request log stays behind:
//! fixer's monthly quota belongs to the account, and each store counts the
//! requests made with it.

use super::{Run, recorded};
use crate::cli::CopyArgs;
use crate::error::{Exit, fail};
use crate::progress::Progress;
use crate::settings::Settings;
use crate::store::{self, Access, NewDay, Provenance, Store, StoreError, Target};
use chrono::{DateTime, Utc};
use std::io::Write;

impl Run for CopyArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
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
        let source = store::open(&from, Access::Read)?;
        let mut dest = store::open_as(
            &to,
            Access::Write {
                create: true,
                lock_wait: settings.lock_timeout,
            },
            &settings.writer(),
        )?;
        let copied = recorded(&mut *dest, "copy", settings, |dest| copy(&*source, dest))?;
        let line = format!(
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
        );
        writeln!(std::io::stdout().lock(), "{line}")
            .map_err(|e| fail(Exit::IoErr, format!("cannot write to stdout: {e}")))
    }
}

#[derive(Default)]
struct Copied {
    days: u64,
    rates: u64,
    unavailable: u64,
    skipped: u64,
}

fn copy(source: &dyn Store, dest: &mut dyn Store) -> anyhow::Result<Copied> {
    let mut copied = Copied::default();
    let summary = source.summary()?;
    if let (Some(oldest), Some(latest)) = (summary.oldest, summary.latest) {
        let present = dest.stored_between(oldest, latest)?;
        let wanted = source.stored_between(oldest, latest)?;
        let missing = wanted.difference(&present).count();
        copied.skipped = (wanted.len() - missing) as u64;
        let mut progress = Progress::new("copying days", missing);
        store::walk_days(source, oldest, latest, &[], |day| {
            if present.contains(&day.date) {
                return Ok::<_, anyhow::Error>(());
            }
            let fetched_at = DateTime::parse_from_rfc3339(&day.fetched_at)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| StoreError::Damaged {
                    target: source.target().clone(),
                    date: day.date.to_string(),
                })?;
            // One transaction per day: a stopped copy leaves whole days,
            // and the next run adds the rest.
            dest.put_days(
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
            copied.days += 1;
            copied.rates += day.rates.len() as u64;
            progress.advance(1);
            Ok(())
        })?;
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
