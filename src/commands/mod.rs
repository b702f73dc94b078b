//! One file per subcommand; each turns its parsed arguments into work.

mod chart;
mod convert;
mod ingest;
mod show;
mod show_range;

use crate::cli::Command;
use crate::config::Now;
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
            Command::Convert(args) => args.run(ctx),
            Command::Chart(args) => args.run(ctx),
        }
    }
}
