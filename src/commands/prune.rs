use super::{Context, Run, recorded};
use crate::calendar::{MONTH_DAYS, window_ending};
use crate::cli::PruneArgs;
use crate::error::{Exit, fail};
use crate::store::{Pruned, Store};
use chrono::NaiveDate;
use std::io::Write;

impl Run for PruneArgs {
    fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        check_keep_days(self.keep_days)?;
        let today = ctx.now.today;
        if self.dry_run {
            let mut store = Store::open_read_only(&ctx.db)?;
            let (cutoff, pruned) = prune(&mut store, today, self.keep_days, false)?;
            let line = format!(
                "prune would delete {} before {cutoff}; nothing was deleted",
                counts(&pruned)
            );
            return writeln!(std::io::stdout().lock(), "{line}")
                .map_err(|e| fail(Exit::IoErr, format!("cannot write to stdout: {e}")));
        }
        // Never create an empty database just to prune it.
        if !ctx.db.exists() {
            Store::open_read_only(&ctx.db)?;
        }
        let mut store = Store::open(&ctx.db)?;
        recorded(&mut store, "prune", ctx, |store| {
            let (cutoff, pruned) = prune(store, today, self.keep_days, true)?;
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

/// Deletes (or, without `delete`, counts) what lies before the `keep_days`
/// days ending `today`; returns the first day kept and what went.
pub(super) fn prune(
    store: &mut Store,
    today: NaiveDate,
    keep_days: u32,
    delete: bool,
) -> anyhow::Result<(NaiveDate, Pruned)> {
    let (cutoff, _) = window_ending(today, keep_days.max(MONTH_DAYS));
    Ok((cutoff, store.prune_before(cutoff, delete)?))
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
