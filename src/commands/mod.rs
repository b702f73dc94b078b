//! One file per subcommand; each turns its parsed arguments into work.

mod chart;
mod completions;
mod convert;
mod ingest;
mod manpage;
mod show;
mod show_range;

use crate::cli::Command;
use crate::config::Now;
use crate::ping;
use crate::secret::Secret;
use std::path::PathBuf;

/// What every command is given besides its own arguments.
pub struct Context {
    pub db: PathBuf,
    pub now: Now,
    /// The monitoring ping for the commands that write (`--ping-url`).
    pub ping_url: Option<Secret>,
}

pub trait Run {
    fn run(&self, ctx: &Context) -> anyhow::Result<()>;
}

impl Run for Command {
    fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        match self {
            Command::Ingest(args) => monitored(ctx, || args.run(ctx)),
            Command::Show(args) => args.run(ctx),
            Command::Convert(args) => args.run(ctx),
            Command::Chart(args) => args.run(ctx),
            Command::Completions(args) => args.run(ctx),
            Command::Manpage(args) => args.run(ctx),
        }
    }
}

/// Wraps a command that writes the history in what monitoring needs: the
/// start, success and failure pings.
fn monitored(ctx: &Context, work: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    ping::around(ctx.ping_url.as_ref(), work)
}
