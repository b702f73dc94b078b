//! The command line: clap types only. Doc comments are the help text.

use crate::calendar::parse_date;
use crate::fixer::{Auth, DEFAULT_ENDPOINT};
use crate::rates::Currency;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keeps a local SQLite history of daily currency exchange rates from fixer.io.
///
/// Weekdays only, base EUR as fixer sends it, every rate the exact decimal the
/// provider sent. Run `fxrates ingest` from cron at 9:00 Monday to Friday.
#[derive(Debug, Parser)]
#[command(
    name = "fxrates",
    version,
    help_expected = true,
    propagate_version = true
)]
pub struct Cli {
    /// The SQLite database file [default: $XDG_DATA_HOME/fxrates/rates.db, else
    /// ~/.local/share/fxrates/rates.db]
    #[arg(long = "db", global = true, env = "FXRATES_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Say more on stderr (-v: details, -vv: HTTP library traces too)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing on stderr but errors
    #[arg(short = 'q', long = "quiet", global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch and store one business day's rates (today by default)
    Ingest(IngestArgs),
    /// Print the stored rates of one day
    Show(ShowArgs),
}

/// Where and how to reach fixer.io. The key itself is never a flag: it comes
/// from FIXER_API_KEY or a key file.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// A file holding the API key (must not be readable by group or others);
    /// read instead of FIXER_API_KEY
    #[arg(long = "api-key-file", env = "FIXER_API_KEY_FILE", value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,

    /// The API base URL (https://api.apilayer.com/fixer for APILayer keys)
    #[arg(long = "endpoint", env = "FIXER_ENDPOINT", value_name = "URL", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,

    /// Where to send the key [default: header for api.apilayer.com, else query]
    #[arg(long = "auth", env = "FIXER_AUTH", value_enum, value_name = "STYLE")]
    pub auth: Option<Auth>,

    /// Seconds allowed to connect to the provider
    #[arg(long = "connect-timeout", env = "FXRATES_CONNECT_TIMEOUT", value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub connect_timeout: u64,

    /// Seconds allowed for one whole request, answer included
    #[arg(long = "timeout", env = "FXRATES_TIMEOUT", value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Seconds all requests of one run may take together, retries and waits
    /// included; what is left unfetched is fetched by the next run
    #[arg(long = "max-run-time", env = "FXRATES_MAX_RUN_TIME", value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub max_run_time: u64,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The business day to fetch (YYYY-MM-DD) through the historical endpoint
    /// [default: today, through the latest endpoint]
    #[arg(long = "date", value_name = "DATE", value_parser = date_arg)]
    pub date: Option<NaiveDate>,

    /// Fetch the day even if it is stored, and replace it
    #[arg(long = "force")]
    pub force: bool,

    #[command(flatten)]
    pub provider: ProviderArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The day to show (YYYY-MM-DD); a day without rates shows the latest
    /// stored day up to 7 days before it [default: the latest stored day]
    #[arg(long = "date", value_name = "DATE", value_parser = date_arg)]
    pub date: Option<NaiveDate>,

    /// Show rates against this currency, derived from the stored EUR rates
    #[arg(long = "base", value_name = "CUR", value_parser = currency_arg)]
    pub base: Option<Currency>,

    /// Only these currencies (comma-separated codes)
    #[arg(long = "symbols", value_name = "A,B,...", value_delimiter = ',', value_parser = currency_arg)]
    pub symbols: Vec<Currency>,

    /// Output format
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people
    Table,
    /// One JSON object
    Json,
    /// date,base,currency,rate
    Csv,
}

pub fn date_arg(text: &str) -> Result<NaiveDate, String> {
    parse_date(text).ok_or_else(|| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

pub fn currency_arg(text: &str) -> Result<Currency, String> {
    Currency::parse(&text.trim().to_ascii_uppercase())
        .ok_or_else(|| format!("{text:?} is not a three-letter currency code such as USD"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
