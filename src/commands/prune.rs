use super::{Run, recorded};
use crate::calendar::{MONTH_DAYS, window_ending};
use crate::cli::PruneArgs;
use crate::error::{Exit, ResultExt, fail};
use crate::settings::Settings;
use crate::store::{Pruned, Store};
use chrono::NaiveDate;
use std::io::Write;

impl Run for PruneArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        check_keep_days(self.keep_days)?;
        let today = settings.now.today;
        if self.dry_run {
            let store = settings.read_store()?;
            let cutoff = cutoff(today, self.keep_days);
            let pruned = store.count_before(cutoff)?;
            let line = format!(
                "prune would delete {} before {cutoff}; nothing was deleted",
                counts(&pruned)
            );
            // The I/O error stays in the chain: a reader that closed the
            // pipe early (`| head`) ends the run quietly, with 0.
            return writeln!(std::io::stdout().lock(), "{line}")
                .exit(Exit::IoErr, || "cannot write to stdout".into());
        }
        // Never create an empty database just to prune it.
        let mut store = settings.write_store(false, None)?;
        recorded(&mut *store, "prune", settings, |store| {
            let (cutoff, pruned) = prune(store, today, self.keep_days)?;
            log::info!("deleted {} before {cutoff}", counts(&pruned));
            Ok(())
        })
    }
}

/// Refuses to keep less than the last month.
pub(super) fn check_keep_days(days: u32) -> anyhow::Result<()> {
    if days < MONTH_DAYS {
        return Err(fail(
            Exit::Usage,
            format!(
                "--keep-days (FXRATES_KEEP_DAYS) is {days}, below {MONTH_DAYS}: fxrates always \
                 keeps the last month (the {MONTH_DAYS} days ending today), which it promises to \
                 hold and heals every morning; use {MONTH_DAYS} or more"
            ),
        ));
    }
    Ok(())
}

/// The first day kept when keeping the `keep_days` days ending `today`
/// (never less than the last month).
fn cutoff(today: NaiveDate, keep_days: u32) -> NaiveDate {
    // Keeping more days than the calendar has before year 1 keeps them all:
    // never a date before it (chrono's minimum prints as year -262143).
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    window_ending(today, keep_days.max(MONTH_DAYS)).0.max(first)
}

/// Deletes what lies before the `keep_days` days ending `today`; returns
/// the first day kept and what went.
pub(super) fn prune(
    store: &mut dyn Store,
    today: NaiveDate,
    keep_days: u32,
) -> anyhow::Result<(NaiveDate, Pruned)> {
    let cutoff = cutoff(today, keep_days);
    Ok((cutoff, store.prune_before(cutoff)?))
}

fn counts(p: &Pruned) -> String {
    format!(
        "{} stored day{} ({} rate rows) and {} unavailable-day record{}",
        p.days,
        if p.days == 1 { "" } else { "s" },
        p.rates,
        p.unavailable,
        if p.unavailable == 1 { "" } else { "s" }
    )
}
