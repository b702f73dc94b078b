//! One file per subcommand; each turns its parsed arguments into work.

mod backfill;
mod chart;
mod convert;
mod ingest;
mod prune;
mod show;
mod show_range;
mod status;

use crate::cli::Command;
use crate::config::Now;
use crate::error::Failure;
use crate::secret::scrub;
use crate::store::Store;
use std::path::PathBuf;

/// What every command is given besides its own arguments.
pub struct Context {
    pub db: PathBuf,
    pub now: Now,
}

pub trait Run {
    fn run(&self, ctx: &Context) -> anyhow::Result<()>;
}

impl Run for Command {
    fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Command::Ingest(args) => args.run(ctx),
            Command::Show(args) => args.run(ctx),
            Command::Backfill(args) => args.run(ctx),
            Command::Prune(args) => args.run(ctx),
            Command::Status(args) => args.run(ctx),
            Command::Convert(args) => args.run(ctx),
            Command::Chart(args) => args.run(ctx),
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
    let error = result.as_ref().err().map(headline);
    match store.finish_run(id, ctx.now.utc, error.as_deref()) {
        Err(e) if result.is_ok() => Err(e),
        Err(e) => {
            log::warn!("could not record the end of this run: {e}");
            result
        }
        Ok(()) => result,
    }
}

/// The error's line as the user reads it: the chain down to the first
/// [`Failure`], scrubbed.
fn headline(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !text.is_empty() {
            parts.push(text);
        }
        if cause.downcast_ref::<Failure>().is_some() {
            break;
        }
    }
    scrub(&parts.join(": ")).replace('\n', " ")
}
