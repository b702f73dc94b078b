//! One file per subcommand; each turns its parsed arguments into work.

mod backfill;
mod chart;
mod completions;
mod convert;
mod ingest;
mod manpage;
mod prune;
mod show;
mod show_range;
mod status;

use crate::cli::Command;
use crate::config::Now;
use crate::ping;
use crate::secret::Secret;
use crate::store::Store;
use std::path::PathBuf;

/// What every command is given besides its own arguments.
pub struct Context {
    pub db: PathBuf,
    pub now: Now,
    /// The monitoring ping for the commands that write (`--ping-url`).
    pub ping_url: Option<Secret>,
    /// Where the commands that write leave their metrics (`--metrics-file`).
    pub metrics_file: Option<PathBuf>,
}

pub trait Run {
    fn run(&self, ctx: &Context) -> anyhow::Result<()>;
}

impl Run for Command {
    fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Command::Ingest(args) => monitored(ctx, args.budget.monthly_quota, || args.run(ctx)),
            Command::Show(args) => args.run(ctx),
            Command::Backfill(args) => monitored(ctx, args.budget.monthly_quota, || args.run(ctx)),
            Command::Prune(args) => args.run(ctx),
            Command::Status(args) => args.run(ctx),
            Command::Convert(args) => args.run(ctx),
            Command::Chart(args) => args.run(ctx),
            Command::Completions(args) => args.print(),
            Command::Manpage(args) => args.print(),
        }
    }
}

/// Runs `body` as a run of `command` recorded in the `runs` table, with its
/// outcome, for `status`.
fn recorded<T>(
    store: &mut Store,
    command: &str,
    ctx: &Context,
    body: impl FnOnce(&mut Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let id = store.start_run(command, ctx.now.utc)?;
    let result = body(store);
    let error = result.as_ref().err().map(crate::logging::headline);
    match store.finish_run(id, ctx.now.utc, error.as_deref()) {
        Err(e) if result.is_ok() => Err(e),
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
    ctx: &Context,
    monthly_quota: u64,
    work: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    ping::around(ctx.ping_url.as_ref(), || {
        let result = work();
        if let Some(path) = &ctx.metrics_file
            && let Err(e) = status::write_metrics_file(ctx, monthly_quota, path)
        {
            log::warn!("{e:#}; the run itself is unaffected");
        }
        result
    })
}
