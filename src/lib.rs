//! fxrates keeps a local history of daily exchange rates from fixer.io, in
//! SQLite or PostgreSQL.
//!
//! # Where everything lives
//!
//! A run goes down these layers; a module uses only modules of the layers
//! below its own (`tests/it/layers.rs` fails on any circle). Read from the
//! bottom up, nothing uses what it has not met yet.
//!
//! 1. [`main_exit`] (called by `main.rs`): parses the command line, sets up
//!    [`logging`] (log lines and panics on stderr, scrubbed), runs, and hands
//!    any error to `report`.
//! 2. `commands`: one file per subcommand; `commands/mod.rs` dispatches.
//!    Its `monitored` wrapper owns every writing run (ingest, backfill,
//!    prune, copy): the command checks its arguments and prepares
//!    (`Monitored::prepare`), the wrapper opens the store, records the run
//!    and prints what the run has to say; for ingest and backfill it also
//!    pings and writes the metrics from that store. Commands never call
//!    each other.
//!    `commands/notes.rs` puts what the engine saw in words.
//! 3. `serve`, used only by `commands/serve.rs`: the HTTP server of `fxrates
//!    serve` (fixer's API in `serve/fixer.rs`, Frankfurter's in
//!    `serve/frankfurter.rs`, the store read on threads of its own in
//!    `serve/pool.rs`, caching and gzip in `serve/http.rs`).
//!    `report`: the command boundary's verdict on every error: the exit
//!    code and the one line on stderr for each typed error of the layers
//!    below (`report/fetch.rs` a failed request to either provider,
//!    `report/ecb.rs` the ECB's own failures, `report/store.rs` storage,
//!    `report/engine.rs` the engine), and clap's usage errors.
//!    `settings`: one `Settings`, resolved once from the command line and
//!    the environment (the only module that reads it): the database target,
//!    the clock, the lock timeout, the monitoring outputs, the terminal, the
//!    network (`settings/network.rs`), a PostgreSQL store's password,
//!    schema and user (`settings/postgres.rs`), the provider the run asks
//!    and falls back on (`settings/provider.rs`: the command's flag, else
//!    `FXRATES_PROVIDER`, read once), the provider's connection settings
//!    and key (`settings/key.rs`). `present`: how days and metrics are
//!    written: `view` (one day as a table, CSV or JSON), `series` (a range
//!    of days), `chart`, `status` (one renderer per format, each taking the
//!    `Health`), `metrics` (Prometheus text).
//! 4. `cli`: the clap types; doc comments are the help text, value parsers
//!    come from the modules that own the values (`fixer`, `ping`, `quota`,
//!    and `store` for a store's name: `--db`, `FXRATES_DB`, `copy`'s SOURCE
//!    and DEST).
//!    `engine`: the fetch engine, the one path that asks the provider for
//!    days and stores them; `engine/plan.rs` plans a window within the
//!    monthly budget, `engine/gaps.rs` reads what a timeseries answer left
//!    out, `engine/ecb.rs` fetches the ECB's window in one request and
//!    `engine/by_currency.rs` one currency at a time during the ECB's
//!    outages. It knows no exit code: it returns what happened (its typed
//!    `EngineError`, `Note`s for the command to put in words). `health`: what
//!    `status` and the metrics report, computed once.
//! 5. `quota` (the month's request budget, counted in the store),
//!    `retention` (what `prune` and `ingest --keep-days` delete),
//!    `conversion` (an amount at a day's rates), `ecb` (the European Central
//!    Bank's reference rates, through the same agents as fixer's), `names`
//!    (currency names).
//! 6. [`fixer`]: the HTTP client and the provider's JSON (`response.rs`),
//!    the pure reading of an answer (`answer.rs`), retries (`retry.rs`) and
//!    the typed `FetchError` (`error.rs`). It knows no exit code, no clap and
//!    no environment; every request goes through a `Recorder` it is given.
//!    [`store`]: its contract and its roles (`Days`, `RequestLog`, `RunLog`,
//!    `PlanMemory`, `Upkeep`), each a reading trait and a writing one
//!    (`DaysWrite`, ...): a store opened for reading is a `Reader` (the
//!    reading halves only), one opened for writing a `Store` (both). The
//!    SQLite (`store/sqlite/`) and PostgreSQL (`store/postgres/`)
//!    implementations have one file per role, of the same name in both
//!    (`days.rs`, `request_log.rs`, `run_log.rs`, `plan_memory.rs`,
//!    `upkeep.rs`) and for the one-writer claim (`claim.rs`: a lease row on
//!    PostgreSQL, a `flock` on SQLite); each `mod.rs` opens the store and migrates its schema
//!    (`schema.rs`). `store/legacy.rs` reads the `meta` keys of older
//!    formats, for their upgrade; `store/name.rs` reads a store's name (a
//!    file or a URL).
//!    `ping`: the monitoring pings.
//! 7. `net`: the HTTP agents, with the CAs and the proxy the settings chose
//!    (`net/proxy.rs`, `net/forward.rs`). [`pg`]: PostgreSQL URLs, password
//!    sources, TLS and connecting. `untrusted`: the provider's words made
//!    safe to print. [`target_calendar`]: the ECB's closing days.
//!    `crosscheck`: fixer's rates against the ECB's.
//! 8. Leaves, using nothing of the crate: [`rates`] (currencies and a day's
//!    exact decimal rates), `decimal`, [`calendar`] (weekdays and windows),
//!    [`secret`] (values that must never be shown, and the scrubber), `tls`
//!    (the CA certificates trusted), `clock` (the run's `Now`), `error` (exit
//!    codes and the `Failure` that carries one), `private_file` (the key and
//!    password files, read ssh-style), `progress` (the progress line of a
//!    long fetch).
//!
//! The public modules are the small surface the integration tests and the
//! benchmarks use; everything else is private to the crate.

// The public surface, for the binary, the tests and the benchmarks.
pub mod calendar;
pub mod fixer;
pub mod logging;
pub mod pg;
pub mod rates;
pub mod secret;
pub mod store;
pub mod target_calendar;

pub use error::Exit;

// The crate's own.
mod cli;
mod clock;
mod commands;
mod conversion;
mod crosscheck;
mod decimal;
#[allow(dead_code)] // used by the ECB provider
mod ecb;
mod engine;
mod error;
mod health;
mod names;
mod net;
mod ping;
mod present;
mod private_file;
mod progress;
mod quota;
mod report;
mod retention;
mod serve;
mod settings;
mod tls;
mod untrusted;

use cli::Cli;
use settings::Settings;

/// Runs one parsed command line.
fn run(cli: &Cli) -> anyhow::Result<()> {
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
        Err(e) => return report::usage(e),
    };
    logging::init_for(cli.verbose, cli.quiet, cli.command.is_service());
    match run(&cli) {
        Ok(()) => Exit::Ok,
        Err(err) => report::failure(&err, cli.verbose > 0),
    }
}
