use crate::cli::{Cli, ManpageArgs};
use crate::error::{Exit, ResultExt};
use clap::CommandFactory;
use std::io::Write;

/// The pages are built from the clap definitions, so they never drift from
/// `--help`.
impl ManpageArgs {
    pub(crate) fn print(&self) -> anyhow::Result<()> {
        if let Some(dir) = &self.dir {
            return clap_mangen::generate_to(Cli::command(), dir).exit(Exit::IoErr, || {
                format!("cannot write the man pages into {}", dir.display())
            });
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut page)
            .exit(Exit::Software, || "cannot render the man page".into())?;
        std::io::stdout()
            .lock()
            .write_all(&page)
            .exit(Exit::IoErr, || "cannot write the man page to stdout".into())
    }
}
