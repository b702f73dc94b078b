use super::{Run, RunName, recorded};
use crate::cli::PruneArgs;
use crate::error::{Exit, ResultExt};
use crate::retention::{check_keep_days, cutoff, prune};
use crate::settings::Settings;
use crate::store::Pruned;
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
        recorded(&mut *store, RunName::Prune, settings, |store| {
            let (cutoff, pruned) = prune(store, today, self.keep_days)?;
            log::info!("deleted {} before {cutoff}", counts(&pruned));
            Ok(())
        })
    }
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
