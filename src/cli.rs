//! The command line: clap types only. Doc comments are the help text.

use crate::calendar::parse_date;
use crate::fixer::DEFAULT_ENDPOINT;
use crate::rates::Currency;
use crate::secret::Secret;
use crate::store::{StoreArg, store_arg};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keeps a history of daily currency exchange rates from fixer.io, in a
/// SQLite file or a PostgreSQL database.
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
pub(crate) struct Cli {
    /// The SQLite database file, or a PostgreSQL URL (postgresql://...)
    /// [default: $XDG_DATA_HOME/fxrates/rates.db, else
    /// ~/.local/share/fxrates/rates.db]
    // An empty value is read, and refused, never taken for the default.
    #[arg(
        long = "db",
        global = true,
        env = "FXRATES_DB",
        value_name = "PATH|URL",
        value_parser = StoreArgParser
    )]
    pub db: Option<StoreArg>,

    /// Say more on stderr (-v: details, -vv: HTTP library traces too)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print nothing on stderr but errors
    #[arg(short = 'q', long = "quiet", global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Ping this URL when ingest or backfill starts (<URL>/start), succeeds
    /// (<URL>) and fails (<URL>/fail), as healthchecks.io expects; kept out
    /// of every log line
    #[arg(long = "ping-url", global = true, env = "FXRATES_PING_URL", value_name = "URL",
          value_parser = crate::ping::url_arg, hide_env_values = true)]
    pub ping_url: Option<Secret>,

    /// After each ingest or backfill, write the Prometheus metrics to this
    /// file (replaced atomically), for node_exporter's textfile collector
    #[arg(long = "metrics-file", global = true, env = "FXRATES_METRICS_FILE", value_name = "PATH",
          value_parser = path_arg)]
    pub metrics_file: Option<PathBuf>,

    /// The time this run takes as now (RFC 3339): for tests, which need a
    /// fixed clock
    // Kept as text and read with the other settings: commands that need no
    // clock (completions, manpage) must not fail on it.
    #[arg(
        long = "now",
        global = true,
        hide = true,
        env = "FXRATES_NOW",
        value_name = "TIME"
    )]
    pub now: Option<String>,

    /// Milliseconds before the first retry of a failed request: for tests,
    /// which must not wait seconds between tries
    #[arg(long = "retry-base-ms", global = true, hide = true, env = "FXRATES_RETRY_BASE_MS",
          value_name = "MILLISECONDS", value_parser = clap::value_parser!(u64).range(..=600_000))]
    pub retry_base_ms: Option<u64>,

    /// Milliseconds a writer's claim on a PostgreSQL store lasts unless
    /// renewed: for tests, which must not wait for the real lease to lapse
    #[arg(long = "lease-ms", global = true, hide = true, env = "FXRATES_LEASE_MS",
          value_name = "MILLISECONDS", value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub lease_ms: Option<u64>,

    /// The host name recorded with requests and runs, instead of the
    /// machine's: for tests, which play several hosts on one machine
    #[arg(
        long = "hostname",
        global = true,
        hide = true,
        env = "FXRATES_HOSTNAME",
        value_name = "NAME"
    )]
    pub hostname: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments and environment. A variable that is
    /// set but empty (`NAME=` in an env file) counts as unset, as it does
    /// for every other setting, rather than as an empty value; except where
    /// a path is expected ([`EMPTY_IS_A_VALUE`]): there an empty value is
    /// most likely a settings line cut short, and the settings refuse it
    /// rather than fall back on a default the user did not choose.
    ///
    /// A store named wrongly (`--db`, `FXRATES_DB`) fails only the commands
    /// that open a store (completions and man pages need none), and only
    /// when the rest of the command line is right.
    pub(crate) fn parse_env() -> Result<Cli, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let command = Cli::command().mut_subcommands(without_empty_env);
        let command = without_empty_env(command);
        let matches = match command.clone().try_get_matches() {
            Ok(matches) => matches,
            Err(e) if BadStoreName::of(&e).is_some() => {
                let unread = command.mut_arg("db", |arg| {
                    arg.value_parser(clap::builder::OsStringValueParser::new())
                });
                let mut matches = unread.try_get_matches()?;
                if !matches!(matches.subcommand_name(), Some("completions" | "manpage")) {
                    return Err(e);
                }
                matches.remove_one::<std::ffi::OsString>("db");
                matches
            }
            Err(e) => return Err(e),
        };
        Cli::from_arg_matches(&matches)
    }

    /// The environment variable behind `--flag` (as clap names it in an
    /// error, `--flag <VALUE>`), when the value came from it: not given on
    /// the command line, and set.
    pub(crate) fn variable_of(flag: &str) -> Option<String> {
        use clap::CommandFactory;
        let long = flag.trim_start_matches('-').split([' ', '=']).next()?;
        let command = Cli::command();
        let arg = std::iter::once(&command)
            .chain(command.get_subcommands())
            .flat_map(|c| c.get_arguments())
            .find(|a| a.get_long() == Some(long))?;
        let name = arg.get_env()?.to_str()?.to_string();
        let on_line = std::env::args().any(|a| {
            a.strip_prefix("--")
                .is_some_and(|rest| rest == long || rest.starts_with(&format!("{long}=")))
        });
        (!on_line && std::env::var_os(&name).is_some()).then_some(name)
    }
}

/// The arguments (by id) whose variable keeps an empty value: paths.
const EMPTY_IS_A_VALUE: [&str; 3] = ["db", "metrics_file", "api_key_file"];

/// `command` with every argument whose variable is set but empty reading no
/// variable at all, paths excepted.
fn without_empty_env(command: clap::Command) -> clap::Command {
    command.mut_args(|arg| {
        let empty = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|v| v.is_empty());
        if empty && !EMPTY_IS_A_VALUE.contains(&arg.get_id().as_str()) {
            arg.env(None::<&str>)
        } else {
            arg
        }
    })
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Fetch and store one business day's rates (today by default)
    Ingest(IngestArgs),
    /// Print the stored rates of one day, or of a range of days
    Show(ShowArgs),
    /// Fetch the weekdays of a past window that are not stored yet
    Backfill(BackfillArgs),
    /// Delete stored days older than a number of days (never the last month)
    Prune(PruneArgs),
    /// Report gaps, staleness, runs and requests; exit 1 when unhealthy
    Status(StatusArgs),
    /// Convert an amount between two currencies at a stored day's rates
    Convert(ConvertArgs),
    /// Draw a currency's rate over a range of days in the terminal
    Chart(ChartArgs),
    /// Copy the stored days from one store to another (SQLite file or
    /// PostgreSQL URL, either way), adding only the days DEST lacks
    Copy(CopyArgs),
    /// List the stored currencies: code, name, first and last stored day
    Currencies(CurrenciesArgs),
    /// Compare the stored fixer rates with the ECB's of the same days (one
    /// request, no key); exit 1 when one deviates beyond the limit
    Crosscheck(CrosscheckArgs),
    /// Serve the stored rates over HTTP: a fixer.io-compatible API under
    /// /api/ and a Frankfurter-compatible one at / and /v1/ (read-only)
    Serve(ServeArgs),
    /// Print a shell completion script (install.sh installs them)
    Completions(CompletionsArgs),
    /// Print the man page fxrates(1), or write one page per command into a
    /// directory
    #[command(hide = true)]
    Manpage(ManpageArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CurrenciesArgs {
    /// Output format
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl Command {
    /// Whether the command runs as a service, logging what it serves.
    pub(crate) fn is_service(&self) -> bool {
        matches!(self, Command::Serve(_))
    }

    /// The provider (and fallback) the command's own flags chose, clap
    /// having read their variables when a flag is not given; `None` for a
    /// command without `--provider`.
    pub(crate) fn provider_flags(&self) -> Option<(SourceArg, Option<FallbackArg>)> {
        match self {
            Command::Ingest(IngestArgs { source, .. })
            | Command::Backfill(BackfillArgs { source, .. }) => {
                Some((source.provider, source.fallback))
            }
            Command::Status(args) => Some((args.provider, None)),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address and port to listen on; any address but a loopback one
    /// needs --token-file
    #[arg(
        long = "listen",
        env = "FXRATES_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: std::net::SocketAddr,

    /// A file holding the token every request must carry (access_key=,
    /// an apikey header, or Authorization: Bearer); it must not be readable
    /// by group or others
    #[arg(long = "token-file", env = "FXRATES_TOKEN_FILE", value_name = "PATH",
          value_parser = path_arg)]
    pub token_file: Option<PathBuf>,

    /// Seconds clients and proxies may cache a successful answer
    /// (Cache-Control: public, max-age=N)
    #[arg(long = "max-age", env = "FXRATES_MAX_AGE", value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(..=31_536_000))]
    pub max_age: u32,

    /// Allow web pages from this origin (or `*`) to read the answers
    /// (Access-Control-Allow-Origin) [default: none]
    #[arg(long = "cors", env = "FXRATES_CORS", value_name = "ORIGIN")]
    pub cors: Option<String>,

    /// Open connections served at once; more get a quick 503
    #[arg(long = "max-connections", env = "FXRATES_MAX_CONNECTIONS", value_name = "N",
          default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,

    /// Milliseconds a client may take to send its request headers: for
    /// tests, which must not wait the real 10 seconds
    #[arg(long = "header-timeout-ms", env = "FXRATES_HEADER_TIMEOUT_MS", value_name = "MILLISECONDS",
          hide = true, default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub header_timeout_ms: u64,

    #[command(flatten)]
    pub budget: BudgetArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ManpageArgs {
    /// Write fxrates.1 and fxrates-COMMAND.1 into this directory instead
    #[arg(long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Which provider a fetching run asks, and which it falls back to.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// Where the rates come from: fixer (fixer.io, ~170 currencies, needs a
    /// key) or ecb (the European Central Bank's reference rates, ~30
    /// currencies, no key)
    #[arg(long = "provider", env = "FXRATES_PROVIDER", value_enum, value_name = "PROVIDER",
          default_value_t = SourceArg::Fixer)]
    // Private, as `fallback` is: commands read the provider resolved in
    // `Settings`, never the flag.
    provider: SourceArg,

    /// With the fixer provider: fetch the days fixer cannot deliver (key
    /// refused, quota spent, fixer down) from this provider instead; the
    /// run still fails with fixer's exit code
    #[arg(
        long = "fallback",
        env = "FXRATES_FALLBACK",
        value_enum,
        value_name = "PROVIDER"
    )]
    fallback: Option<FallbackArg>,
}

/// Where and how to reach the providers: fixer.io (the key itself is never
/// a flag: it comes from FIXER_API_KEY or a key file) and the ECB.
#[derive(Debug, Args)]
pub(crate) struct ProviderArgs {
    #[command(flatten)]
    pub ecb: EcbArgs,

    /// Where the ECB's reference files are: its 90-day file is read when
    /// the data API fails for a window within the last 90 days
    #[arg(long = "ecb-files", env = "FXRATES_ECB_FILES", value_name = "URL",
          default_value = crate::ecb::DEFAULT_FILES)]
    pub ecb_files: String,

    /// A file holding the API key (must not be readable by group or others);
    /// read instead of FIXER_API_KEY
    #[arg(long = "api-key-file", env = "FIXER_API_KEY_FILE", value_name = "PATH",
          value_parser = path_arg)]
    pub api_key_file: Option<PathBuf>,

    /// The API base URL (https://api.apilayer.com/fixer for APILayer keys)
    #[arg(long = "endpoint", env = "FIXER_ENDPOINT", value_name = "URL", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,

    /// Where to send the key [default: header for api.apilayer.com, else query]
    #[arg(long = "auth", env = "FIXER_AUTH", value_enum, value_name = "STYLE")]
    pub auth: Option<AuthStyle>,

    #[command(flatten)]
    pub requests: RequestArgs,
}

/// The ECB's data API, all that `crosscheck` asks.
#[derive(Debug, Args)]
pub(crate) struct EcbArgs {
    /// The ECB data API's base URL
    #[arg(long = "ecb-endpoint", env = "FXRATES_ECB_ENDPOINT", value_name = "URL",
          default_value = crate::ecb::DEFAULT_ENDPOINT)]
    pub ecb_endpoint: String,
}

/// The time requests may take, whichever provider they go to.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// Seconds allowed to connect to the provider
    #[arg(long = "connect-timeout", env = "FXRATES_CONNECT_TIMEOUT", value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub connect_timeout: u64,

    /// Seconds allowed for one whole request, answer included
    #[arg(long = "timeout", env = "FXRATES_TIMEOUT", value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Milliseconds for one whole request, replacing --timeout: for tests,
    /// which must not wait seconds for a server that never answers
    #[arg(long = "timeout-ms", env = "FXRATES_TIMEOUT_MS", value_name = "MILLISECONDS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub timeout_ms: Option<u64>,

    /// Seconds all requests of one run may take together, retries and waits
    /// included; what is left unfetched is fetched by the next run
    #[arg(long = "max-run-time", env = "FXRATES_MAX_RUN_TIME", value_name = "SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub max_run_time: u64,
}

/// Where the rates come from (`--provider`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SourceArg {
    /// fixer.io (or APILayer), with an API key
    Fixer,
    /// The European Central Bank's euro reference rates, without a key
    Ecb,
}

/// The provider asked when fixer fails (`--fallback`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FallbackArg {
    /// The European Central Bank's euro reference rates
    Ecb,
}

/// Where the key goes (`--auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AuthStyle {
    /// `access_key=KEY` query parameter (data.fixer.io)
    Query,
    /// `apikey: KEY` request header (api.apilayer.com)
    Header,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// The business day to fetch (YYYY-MM-DD) through the historical endpoint
    /// [default: today, through the latest endpoint]
    #[arg(long = "date", value_name = "DATE", value_parser = date_arg)]
    pub date: Option<NaiveDate>,

    /// Fetch the day even if it is stored, and replace it
    #[arg(long = "force")]
    pub force: bool,

    /// Do not fetch the missing weekdays of the last 31 days afterwards
    #[arg(long = "no-heal")]
    pub no_heal: bool,

    /// Fetch fixer's names of its currencies now, even if the stored ones
    /// are less than a month old (without it, a run without --date fetches
    /// them when missing or a month old); still only after the days, and
    /// only if the month's budget can spare the request
    #[arg(long = "fetch-names", conflicts_with = "date")]
    pub fetch_names: bool,

    /// After a successful run, delete stored days older than N days (at least 31)
    #[arg(long = "keep-days", env = "FXRATES_KEEP_DAYS", value_name = "N")]
    pub keep_days: Option<u32>,

    #[command(flatten)]
    pub budget: BudgetArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub provider: ProviderArgs,
}

/// The monthly request budget.
#[derive(Debug, Args)]
pub(crate) struct BudgetArgs {
    /// Requests the fixer plan allows per calendar month (UTC); backfill and
    /// healing plan within what is left of it
    #[arg(long = "monthly-quota", env = "FIXER_MONTHLY_QUOTA", value_name = "N",
          default_value_t = crate::quota::DEFAULT_MONTHLY_QUOTA)]
    pub monthly_quota: u64,
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    /// Fetch the N days ending today [default: 31]
    #[arg(long = "days", value_name = "N", conflicts_with = "from",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub days: Option<u32>,

    /// The first day of the window (YYYY-MM-DD)
    #[arg(long = "from", value_name = "DATE", value_parser = date_arg)]
    pub from: Option<NaiveDate>,

    /// The last day of the window (YYYY-MM-DD) [default: today]
    #[arg(long = "to", value_name = "DATE", value_parser = date_arg, requires = "from")]
    pub to: Option<NaiveDate>,

    /// Go ahead even if the plan needs more requests than this month's budget has left
    #[arg(long = "ignore-quota")]
    pub ignore_quota: bool,

    /// Try the timeseries endpoint even though the plan refused it less than a month ago
    #[arg(long = "retry-timeseries")]
    pub retry_timeseries: bool,

    #[command(flatten)]
    pub budget: BudgetArgs,

    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub provider: ProviderArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Keep the N days ending today (at least 31)
    #[arg(
        long = "keep-days",
        env = "FXRATES_KEEP_DAYS",
        value_name = "N",
        default_value_t = 365
    )]
    pub keep_days: u32,

    /// Report what would be deleted, and delete nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Output format
    #[arg(long = "format", value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,

    /// Also check every page of the database for damage (SQLite), which
    /// takes longer as the history grows; writers do it weekly
    #[arg(long = "deep")]
    pub deep: bool,

    /// Whose calendar decides what is missing: with ecb, TARGET closing
    /// days are not missing, nor today before 16:00 Berlin time
    #[arg(long = "provider", env = "FXRATES_PROVIDER", value_enum, value_name = "PROVIDER",
          default_value_t = SourceArg::Fixer)]
    provider: SourceArg,

    #[command(flatten)]
    pub budget: BudgetArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusFormat {
    /// Lines for people
    Text,
    /// One JSON object
    Json,
    /// Prometheus text exposition (the metrics --metrics-file writes)
    Prometheus,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The day to show (YYYY-MM-DD); a day without rates shows the latest
    /// stored day up to 7 days before it [default: the latest stored day]
    #[arg(long = "date", value_name = "DATE", value_parser = date_arg)]
    pub date: Option<NaiveDate>,

    /// Show every stored day from this day on (YYYY-MM-DD), one after another
    #[arg(long = "from", value_name = "DATE", value_parser = date_arg, conflicts_with = "date")]
    pub from: Option<NaiveDate>,

    /// The last day of the range (YYYY-MM-DD) [default: today]
    #[arg(long = "to", value_name = "DATE", value_parser = date_arg, requires = "from",
          conflicts_with = "date")]
    pub to: Option<NaiveDate>,

    /// Show rates against this currency, derived from the stored EUR rates
    #[arg(long = "base", value_name = "CUR", value_parser = currency_arg)]
    pub base: Option<Currency>,

    /// Only these currencies (comma-separated codes); a range shows up to 6
    /// of them as a date-by-currency grid
    #[arg(long = "symbols", value_name = "A,B,...", value_delimiter = ',', value_parser = currency_arg)]
    pub symbols: Vec<Currency>,

    /// Output format (a range in JSON is an array of day objects)
    #[arg(long = "format", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct CrosscheckArgs {
    /// The first day to compare (YYYY-MM-DD) [default: 30 days before --to]
    #[arg(long = "from", value_name = "DATE", value_parser = date_arg)]
    pub from: Option<NaiveDate>,

    /// The last day to compare (YYYY-MM-DD) [default: today]
    #[arg(long = "to", value_name = "DATE", value_parser = date_arg)]
    pub to: Option<NaiveDate>,

    /// The largest deviation from the ECB's rate tolerated, in percent
    #[arg(long = "max-deviation", value_name = "PCT", default_value = "1",
          value_parser = percent_arg)]
    pub max_deviation: String,

    /// Output format
    #[arg(long = "format", value_enum, default_value_t = CrosscheckFormat::Text)]
    pub format: CrosscheckFormat,

    #[command(flatten)]
    pub ecb: EcbArgs,

    #[command(flatten)]
    pub requests: RequestArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CrosscheckFormat {
    /// Aligned columns for people
    Text,
    /// One JSON object
    Json,
    /// date,currency,fixer,ecb,deviation_pct
    Csv,
}

/// A non-negative plain decimal, kept as typed.
pub(crate) fn percent_arg(text: &str) -> Result<String, String> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let plain = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(t.contains('.') && frac.is_empty())
        && t.len() <= 20;
    if plain {
        Ok(t.to_string())
    } else {
        Err(format!("{text:?} is not a percentage such as 1 or 0.5"))
    }
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The store to copy from: a SQLite file or a postgresql:// URL
    #[arg(value_name = "SOURCE", value_parser = StoreArgParser)]
    pub source: StoreArg,

    /// The store to copy into, created if missing: a SQLite file or a
    /// postgresql:// URL
    #[arg(value_name = "DEST", value_parser = StoreArgParser)]
    pub dest: StoreArg,

    /// The schema of a PostgreSQL SOURCE [default: FXRATES_DB_SCHEMA, else
    /// fxrates]
    #[arg(long = "source-schema", value_name = "SCHEMA")]
    pub source_schema: Option<String>,

    /// The schema of a PostgreSQL DEST [default: FXRATES_DB_SCHEMA, else
    /// fxrates]
    #[arg(long = "dest-schema", value_name = "SCHEMA")]
    pub dest_schema: Option<String>,

    /// Rates per batch (a transaction on PostgreSQL): for tests, which
    /// stop a copy between batches of a small history
    #[arg(long = "batch-rates", env = "FXRATES_COPY_BATCH_RATES", hide = true,
          value_name = "RATES", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub batch_rates: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The amount to convert, a plain decimal such as 100 or -12.50
    #[arg(value_name = "AMOUNT", allow_negative_numbers = true)]
    pub amount: String,

    /// The currency of the amount
    #[arg(value_name = "FROM", value_parser = currency_arg)]
    pub from: Currency,

    /// The currency to convert to
    #[arg(value_name = "TO", value_parser = currency_arg)]
    pub to: Currency,

    /// Use the rates of this day (YYYY-MM-DD); a day without rates uses the
    /// latest stored day up to 7 days before it [default: today]
    #[arg(long = "date", value_name = "DATE", value_parser = date_arg)]
    pub date: Option<NaiveDate>,

    /// Output format
    #[arg(long = "format", value_enum, default_value_t = ConvertFormat::Text)]
    pub format: ConvertFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConvertFormat {
    /// Two lines for people: the result, then the rate and its day
    Text,
    /// One JSON object
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ChartArgs {
    /// The currency to draw
    #[arg(value_name = "CUR", value_parser = currency_arg)]
    pub currency: Currency,

    /// Draw the rate against this currency, derived from the stored EUR rates
    #[arg(long = "base", value_name = "CUR", value_parser = currency_arg)]
    pub base: Option<Currency>,

    /// Draw the N days up to --to [default: 90]
    #[arg(long = "days", value_name = "N", conflicts_with = "from",
          value_parser = clap::value_parser!(u32).range(2..=20_000))]
    pub days: Option<u32>,

    /// The first day to draw (YYYY-MM-DD)
    #[arg(long = "from", value_name = "DATE", value_parser = date_arg)]
    pub from: Option<NaiveDate>,

    /// The last day to draw (YYYY-MM-DD) [default: today]
    #[arg(long = "to", value_name = "DATE", value_parser = date_arg)]
    pub to: Option<NaiveDate>,

    /// Columns to fill [default: $COLUMNS, else the terminal's width, else 80]
    #[arg(long = "width", value_name = "COLUMNS",
          value_parser = clap::value_parser!(u16).range(40..=1000))]
    pub width: Option<u16>,

    /// Rows of the plot itself
    #[arg(long = "height", value_name = "ROWS", default_value_t = 12,
          value_parser = clap::value_parser!(u16).range(3..=200))]
    pub height: u16,

    /// Draw with ASCII characters only [default: when LC_ALL, LC_CTYPE or
    /// LANG does not name UTF-8]
    #[arg(long = "ascii")]
    pub ascii: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people
    Table,
    /// One JSON object
    Json,
    /// date,base,currency,rate
    Csv,
}

/// Reads a store's name (`--db`, `FXRATES_DB`, `copy`'s SOURCE and DEST)
/// with [`store_arg`], whatever the bytes (a file name need not be UTF-8).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoreArgParser;

impl clap::builder::TypedValueParser for StoreArgParser {
    type Value = StoreArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<StoreArg, clap::Error> {
        let what = arg.map_or_else(|| "the store".to_string(), store_arg_name);
        clap::builder::OsStringValueParser::new()
            .try_map(move |text| {
                store_arg(&text).map_err(|why| BadStoreName {
                    what: what.clone(),
                    why,
                })
            })
            .parse_ref(cmd, arg, value)
    }
}

/// How a message names the argument a store came from: "FXRATES_DB
/// (--db)" for a flag with a variable, "SOURCE" for a positional one.
fn store_arg_name(arg: &clap::Arg) -> String {
    match (arg.get_env(), arg.get_long()) {
        (Some(var), Some(long)) => format!("{} (--{long})", var.to_string_lossy()),
        (None, Some(long)) => format!("--{long}"),
        _ => arg
            .get_value_names()
            .and_then(|names| names.first())
            .map_or_else(|| arg.get_id().to_string(), ToString::to_string),
    }
}

/// A store name refused by [`StoreArgParser`]: the source of clap's error,
/// whose words (not clap's) the user reads, with its own exit code.
#[derive(Debug)]
pub(crate) struct BadStoreName {
    what: String,
    why: String,
}

impl BadStoreName {
    /// The refusal behind clap's error `e`, if that is what it is.
    pub(crate) fn of(e: &clap::Error) -> Option<&BadStoreName> {
        std::error::Error::source(e)?.downcast_ref()
    }
}

impl std::fmt::Display for BadStoreName {
    /// The name's source, then why it is refused (never the value: a URL
    /// may hold a password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.what, self.why)
    }
}

impl std::error::Error for BadStoreName {}

/// A path, empty included: the settings refuse an empty one, naming it.
pub(crate) fn path_arg(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

pub(crate) fn date_arg(text: &str) -> Result<NaiveDate, String> {
    parse_date(text).ok_or_else(|| format!("{text:?} is not a date in the form YYYY-MM-DD"))
}

pub(crate) fn currency_arg(text: &str) -> Result<Currency, String> {
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

    /// The words of clap's refusal of `args`, if it refused a store's name.
    fn refusal(args: &[&str]) -> Option<String> {
        let e = Cli::try_parse_from(args).err()?;
        BadStoreName::of(&e).map(ToString::to_string)
    }

    #[test]
    fn every_store_name_is_read_by_the_one_parser() {
        let says = |args: &[&str], start: &str| {
            let line = refusal(args).unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(line.starts_with(start), "{args:?}: {line}");
            assert!(!line.contains("pw"), "{args:?}: {line}");
        };
        says(
            &["fxrates", "--db", "", "show"],
            "FXRATES_DB (--db) is empty",
        );
        says(
            &["fxrates", "show", "--db= "],
            "FXRATES_DB (--db) is only blanks",
        );
        says(&["fxrates", "copy", "", "b.db"], "SOURCE is empty");
        says(
            &["fxrates", "copy", "a.db", "mysql://u:pw@h/db"],
            "DEST is a URL of scheme \"mysql\"",
        );
        let cli = Cli::try_parse_from(["fxrates", "--db", "rates.db", "show"]).unwrap();
        assert_eq!(cli.db, Some(StoreArg::Sqlite("rates.db".into())));
        let url = "postgresql://u@h/db";
        let cli = Cli::try_parse_from(["fxrates", "copy", "a.db", url]).unwrap();
        let Command::Copy(copy) = cli.command else {
            panic!("{cli:?}")
        };
        assert_eq!(copy.source, StoreArg::Sqlite("a.db".into()));
        assert_eq!(copy.dest, StoreArg::Postgres(url.into()));
    }
}
