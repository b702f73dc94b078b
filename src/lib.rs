//! fxrates keeps a local SQLite history of daily exchange rates from fixer.io.
//!
//! The binary is a thin shell around [`run`]; the modules are public so that
//! tests and benchmarks can reach them.

pub mod calendar;
pub mod chart;
pub mod cli;
pub mod commands;
pub mod conversion;
pub mod decimal;
pub mod engine;
pub mod error;
pub mod fixer;
pub mod logging;
pub mod metrics;
pub mod pg;
pub mod ping;
pub mod progress;
pub mod quota;
pub mod rates;
pub mod secret;
pub mod series;
pub mod settings;
pub mod store;
pub mod untrusted;
pub mod view;

use cli::Cli;
use commands::Run;
use error::Exit;
use settings::Settings;

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    // These only print what the clap definitions say: no database, no clock.
    if let cli::Command::Completions(args) = &cli.command {
        return args.print();
    }
    if let cli::Command::Manpage(args) = &cli.command {
        return args.print();
    }
    let settings = Settings::resolve(cli)?;
    log::debug!("database: {}", settings.db);
    cli.command.run(&settings)
}

/// Parses the command line, runs it, and reports any error as one line.
pub fn main_exit() -> Exit {
    let cli = match <Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => return logging::report_clap_error(e),
    };
    logging::init(cli.verbose, cli.quiet);
    match run(&cli) {
        Ok(()) => Exit::Ok,
        Err(err) => logging::report_error(&err, cli.verbose > 0),
    }
}
