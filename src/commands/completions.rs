use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Exit, ResultExt};
use clap::CommandFactory;
use std::io::Write;

impl CompletionsArgs {
    pub(crate) fn print(&self) -> anyhow::Result<()> {
        let mut script = Vec::new();
        clap_complete::generate(self.shell, &mut Cli::command(), "fxrates", &mut script);
        std::io::stdout()
            .lock()
            .write_all(&script)
            .exit(Exit::IoErr, || {
                "cannot write the completion script to stdout".into()
            })
    }
}
