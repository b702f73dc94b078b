use super::{Monitored, Run, RunName, RunStore, Watched, Writing};
use crate::cli::PruneArgs;
use crate::error::{Exit, ResultExt};
use crate::retention::{check_keep_days, cutoff, prune};
use crate::settings::Settings;
use crate::store::Pruned;
use std::io::Write;

impl Monitored for PruneArgs {
    const NAME: RunName = RunName::Prune;

    fn watched(&self) -> Option<Watched> {
        None
    }

    fn prepare<'a>(&'a self, settings: &'a Settings) -> anyhow::Result<Option<Writing<'a>>> {
        check_keep_days(self.keep_days)?;
        let today = settings.now.today;
        Ok(Some(Writing {
            deadline: None,
            // Never create an empty database just to prune it.
            store: RunStore::History { create: false },
            work: Box::new(move |store| {
                let (cutoff, pruned) = prune(store, today, self.keep_days)?;
                log::info!("deleted {} before {cutoff}", counts(&pruned));
                Ok(None)
            }),
        }))
    }
}

/// The dry run (`--dry-run`): it only reads, so it is no recorded run.
impl Run for PruneArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        check_keep_days(self.keep_days)?;
        let store = settings.read_store()?;
        let cutoff = cutoff(settings.now.today, self.keep_days);
        let pruned = store.count_before(cutoff)?;
        let line = format!(
            "prune would delete {} before {cutoff}; nothing was deleted",
            counts(&pruned)
        );
        // The I/O error stays in the chain: a reader that closed the
        // pipe early (`| head`) ends the run quietly, with 0.
        writeln!(std::io::stdout().lock(), "{line}")
            .exit(Exit::IoErr, || "cannot write to stdout".into())
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
