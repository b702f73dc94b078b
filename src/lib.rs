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
pub mod health;
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
use error::Exit;
use settings::Settings;

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    commands::run(&cli.command, || {
        let settings = Settings::resolve(cli)?;
        log::debug!("database: {}", settings.db);
        Ok(settings)
    })
}

/// Parses the command line, runs it, and reports any error as one line; a
/// panic exits 70, as documented, not Rust's 101.
pub fn main_exit() -> Exit {
    catching_panics(parse_and_run)
}

/// `body`'s exit code, or 70 ([`Exit::Software`]) if it panics. The panic
/// hook ([`logging::init`]) has printed the one error line by then; unwinding
/// (rather than exiting from the hook) lets an open transaction roll back
/// and the lock go cleanly.
pub fn catching_panics(body: impl FnOnce() -> Exit) -> Exit {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(Exit::Software)
}

fn parse_and_run() -> Exit {
    let cli = match Cli::parse_env() {
        Ok(cli) => cli,
        Err(e) => return logging::report_clap_error(e),
    };
    logging::init(cli.verbose, cli.quiet);
    match run(&cli) {
        Ok(()) => Exit::Ok,
        Err(err) => logging::report_error(&err, cli.verbose > 0),
    }
}
