//! One file per subcommand; each turns its parsed arguments into work.

mod backfill;
mod chart;
mod completions;
mod convert;
mod copy;
mod ingest;
mod manpage;
mod prune;
mod show;
mod show_range;
mod status;

use crate::cli::Command;
use crate::ping;
use crate::settings::Settings;
use crate::store::Store;

pub trait Run {
    fn run(&self, settings: &Settings) -> anyhow::Result<()>;
}

impl Run for Command {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        match self {
            Command::Ingest(args) => {
                monitored(settings, args.budget.monthly_quota, || args.run(settings))
            }
            Command::Show(args) => args.run(settings),
            Command::Backfill(args) => {
                monitored(settings, args.budget.monthly_quota, || args.run(settings))
            }
            Command::Prune(args) => args.run(settings),
            Command::Status(args) => args.run(settings),
            Command::Convert(args) => args.run(settings),
            Command::Chart(args) => args.run(settings),
            Command::Copy(args) => args.run(settings),
            Command::Completions(args) => args.print(),
            Command::Manpage(args) => args.print(),
        }
    }
}

/// Runs `body` as a run of `command` recorded in the `runs` table, with its
/// outcome, for `status`.
fn recorded<T>(
    store: &mut dyn Store,
    command: &str,
    settings: &Settings,
    body: impl FnOnce(&mut dyn Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let id = store.start_run(command, settings.now.utc)?;
    let result = body(store);
    let error = result.as_ref().err().map(crate::logging::headline);
    match store.finish_run(id, settings.now.utc, error.as_deref()) {
        Err(e) if result.is_ok() => Err(e.into()),
        Err(e) => {
            log::warn!("could not record the end of this run: {e}");
            result
        }
        Ok(()) => result,
    }
}

/// Wraps a command that writes the history in what monitoring needs: the
/// start, success and failure pings, and the metrics file, written whatever
/// the outcome. Neither changes the outcome.
fn monitored(
    settings: &Settings,
    monthly_quota: u64,
    work: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    ping::around(settings.ping_url.as_ref(), || {
        let result = work();
        if let Some(path) = &settings.metrics_file
            && let Err(e) = status::write_metrics_file(settings, monthly_quota, path)
        {
            log::warn!("{e:#}; the run itself is unaffected");
        }
        result
    })
}
