//! How much history is kept: `prune` and `ingest --keep-days` both delete
//! what lies before the last `keep_days` days, never less than the month
//! that is healed every morning.

use crate::calendar::{MONTH_DAYS, window_ending};
use crate::error::{Exit, fail};
use crate::store::{Pruned, Store};
use chrono::NaiveDate;

/// Refuses to keep less than the last month.
pub(crate) fn check_keep_days(days: u32) -> anyhow::Result<()> {
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
pub(crate) fn cutoff(today: NaiveDate, keep_days: u32) -> NaiveDate {
    // Keeping more days than the calendar has before year 1 keeps them all:
    // never a date before it (chrono's minimum prints as year -262143).
    let first = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(NaiveDate::MIN);
    window_ending(today, keep_days.max(MONTH_DAYS)).0.max(first)
}

/// Deletes what lies before the `keep_days` days ending `today`; returns
/// the first day kept and what went.
pub(crate) fn prune(
    store: &mut dyn Store,
    today: NaiveDate,
    keep_days: u32,
) -> anyhow::Result<(NaiveDate, Pruned)> {
    let cutoff = cutoff(today, keep_days);
    Ok((cutoff, store.prune_before(cutoff)?))
}
