//! Everything a run depends on besides its command's own arguments, resolved
//! once in [`crate::run`] (ripgrep's `HiArgs`): the database, the clock, the
//! lock timeout, the monitoring outputs, the terminal, and what the provider
//! needs. This module is the only one that reads the environment; the layers
//! below are handed plain values. Each reader names the variable it reads in
//! its errors.

mod ecb;
mod key;
mod network;
mod postgres;
mod provider;
mod token;

pub(crate) use provider::Provider;

use crate::cli::{AuthStyle, Cli, ProviderArgs};
use crate::clock::Now;
use crate::error::{Exit, fail};
use crate::fixer::{self, Auth, Endpoint, RetryPolicy};
use crate::net::Network;
use crate::secret::Secret;
use crate::store::{self, StoreArg, StoreError, Target, Writer};
use crate::tls::CaSources;
use chrono::{DateTime, Utc};
use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// What every command is given besides its own arguments.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Where the history is kept (`--db`).
    pub db: Target,
    /// Whether `db` is the default path, no store having been named: a new
    /// database there is announced, since a job that meant another store
    /// (its setting lost) would otherwise go on unnoticed.
    db_is_default: bool,
    /// How long a writer waits for another run to finish with the database.
    pub lock_timeout: Duration,
    /// This machine's name, recorded with every request and run so that a
    /// store shared by several hosts says which one did what.
    pub host: String,
    /// How long a writer's claim on a PostgreSQL store lasts unless renewed:
    /// the longest another host waits after this one dies.
    pub lease: Duration,
    pub now: Now,
    /// The monitoring ping for the commands that write (`--ping-url`).
    pub ping_url: Option<Secret>,
    /// Where the commands that write leave their metrics (`--metrics-file`).
    pub metrics_file: Option<PathBuf>,
    pub terminal: Terminal,
    /// The first wait between tries of a failed request.
    pub retry_base: Duration,
    /// The provider the run asks (and falls back on), whose calendar
    /// decides what is missing: the command's `--provider` (`--fallback`),
    /// else `FXRATES_PROVIDER` (`serve`, ...). Commands read it here only.
    pub provider: Provider,
    /// `FIXER_API_KEY`, registered as a secret as soon as it is read.
    api_key: Option<Secret>,
    /// The variables more than one setting needs, read once.
    shared: Shared,
    /// How HTTP servers are reached, worked out when first needed.
    network: OnceLock<Network>,
}

/// The variables several settings need (the key file and every PostgreSQL
/// store the run names), read once.
#[derive(Debug)]
struct Shared {
    /// `HOME`, for `~/.pgpass` and the default database path.
    home: Option<PathBuf>,
    /// systemd's `CREDENTIALS_DIRECTORY`, where a key or password file is
    /// systemd's to guard.
    credentials: Option<PathBuf>,
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`.
    ca: CaSources,
    /// What a PostgreSQL store reads (`copy` may name two).
    pg: postgres::PgEnv,
}

impl Shared {
    fn read() -> Shared {
        Shared {
            home: env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
            credentials: env::var_os("CREDENTIALS_DIRECTORY")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute()),
            ca: network::ca_sources(),
            pg: postgres::PgEnv::read(),
        }
    }
}

/// What the terminal (or the variables describing it) allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Terminal {
    /// The width to fill, if known.
    pub columns: Option<usize>,
    /// Whether the locale promises UTF-8 output.
    pub utf8: bool,
}

impl Settings {
    /// Resolves everything from the parsed command line and the environment.
    pub(crate) fn resolve(cli: &Cli) -> anyhow::Result<Settings> {
        let shared = Shared::read();
        Ok(Settings {
            db: database(cli.db.as_ref(), &shared)?,
            db_is_default: cli.db.is_none(),
            now: now(cli.now.as_deref())?,
            lock_timeout: lock_timeout()?,
            host: hostname(cli.hostname.as_deref())?,
            lease: cli
                .lease_ms
                .map_or(store::DEFAULT_LEASE, Duration::from_millis),
            ping_url: cli.ping_url.clone(),
            metrics_file: not_empty(
                cli.metrics_file.clone(),
                "FXRATES_METRICS_FILE (--metrics-file)",
            )?,
            terminal: Terminal {
                columns: columns(),
                utf8: utf8_locale(),
            },
            retry_base: cli
                .retry_base_ms
                .map_or(RetryPolicy::default().base, Duration::from_millis),
            provider: provider::provider(cli.command.provider_flags())?,
            api_key: var("FIXER_API_KEY")?.map(Secret::new),
            shared,
            network: OnceLock::new(),
        })
    }

    /// How fixer.io and the monitoring ping are reached: the trusted CAs.
    pub(crate) fn network(&self) -> anyhow::Result<&Network> {
        if let Some(n) = self.network.get() {
            return Ok(n);
        }
        let n = network::network(&self.shared.ca, network::proxy_env())?;
        Ok(self.network.get_or_init(|| n))
    }

    /// The store `name` names, as `--db` would, for commands that take
    /// stores as arguments: `what` names the argument in errors, and
    /// `schema` (a flag's value) replaces `FXRATES_DB_SCHEMA` for a URL.
    pub(crate) fn store_at(
        &self,
        name: &StoreArg,
        what: &str,
        schema: Option<(&str, &str)>,
    ) -> anyhow::Result<Target> {
        target(name, what, schema, &self.shared)
    }

    /// Opens the history for reading.
    pub(crate) fn read_store(&self) -> Result<Box<dyn store::Reader>, StoreError> {
        store::open_read(&self.db)
    }

    /// Opens the history for writing, creating it if `create`; a run with a
    /// `deadline` (`--max-run-time`) gives up on a silent database by then.
    pub(crate) fn write_store(
        &self,
        create: bool,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn store::Store>, StoreError> {
        if let Target::Sqlite(path) = &self.db
            && create
            && self.db_is_default
            && !path.exists()
        {
            log::warn!(
                "creating a new database at the default path {} (no --db or FXRATES_DB given)",
                path.display()
            );
        }
        self.write_store_at(&self.db, create, deadline)
    }

    /// Opens the store at `target` for writing, as [`Settings::write_store`]
    /// opens the history.
    pub(crate) fn write_store_at(
        &self,
        target: &Target,
        create: bool,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn store::Store>, StoreError> {
        store::open_write_as(
            target,
            create,
            self.lock_timeout,
            &Writer {
                deadline,
                ..self.writer()
            },
        )
    }

    /// The token `serve` requires, read from `path` with the key file's
    /// rules (the caller's own file, closed to group and others).
    pub(crate) fn token(&self, path: &std::path::Path) -> anyhow::Result<Secret> {
        token::token(path, self.shared.credentials.as_deref())
    }

    /// This run as a writer: its host and the lease of its claims.
    pub(crate) fn writer(&self) -> Writer {
        Writer {
            host: self.host.clone(),
            lease: self.lease,
            deadline: None,
            clock: Some(store::HostClock {
                now: self.now.current(),
                fixed: self.now.fixed,
            }),
        }
    }

    /// The fixer client the provider flags (and their variables) describe,
    /// with the API key. A proxy that cannot be honoured is refused now,
    /// before anything is opened or sent.
    pub(crate) fn fixer(&self, args: &ProviderArgs) -> anyhow::Result<fixer::Client> {
        fixer::Client::new(self.fixer_settings(args)?, self.now.utc)
            .map_err(|why| fail(Exit::Config, why))
    }

    /// Connection settings from the provider flags (and their variables),
    /// with the API key.
    fn fixer_settings(&self, args: &ProviderArgs) -> anyhow::Result<fixer::Settings> {
        let endpoint = Endpoint::parse(&args.endpoint)
            .map_err(|why| fail(Exit::Config, format!("FIXER_ENDPOINT (--endpoint): {why}")))?;
        let auth = match args.auth {
            Some(AuthStyle::Query) => Auth::Query,
            Some(AuthStyle::Header) => Auth::Header,
            None => endpoint.default_auth(),
        };
        let key_file = not_empty(
            args.api_key_file.clone(),
            "FIXER_API_KEY_FILE (--api-key-file)",
        )?;
        let key = key::api_key(
            key_file.as_deref(),
            self.api_key.as_ref().map(Secret::expose),
            self.shared.credentials.as_deref(),
        )?;
        let network = self.network()?.clone();
        Ok(fixer::Settings {
            network,
            endpoint,
            auth,
            key,
            connect_timeout: Duration::from_secs(args.requests.connect_timeout),
            timeout: args.requests.timeout_ms.map_or(
                Duration::from_secs(args.requests.timeout),
                Duration::from_millis,
            ),
            max_body: MAX_BODY,
            retry: RetryPolicy {
                base: self.retry_base,
                budget: Duration::from_secs(args.requests.max_run_time),
                ..RetryPolicy::default()
            },
        })
    }
}

/// The value of the variable `name`: `None` when unset or empty (an env
/// file's `NAME=` line means "not set", for every variable alike); a value
/// that is not UTF-8 is refused naming the variable.
fn var(name: &str) -> anyhow::Result<Option<String>> {
    text(name, env::var_os(name))
}

/// `value`, read from the variable `name`, as [`var`] reads it.
fn text(name: &str, value: Option<OsString>) -> anyhow::Result<Option<String>> {
    match value.map(OsString::into_string) {
        None => Ok(None),
        Some(Ok(v)) if v.is_empty() => Ok(None),
        Some(Ok(v)) => Ok(Some(v)),
        Some(Err(_)) => Err(fail(
            Exit::Config,
            format!("{name} is not valid UTF-8 text; set it again, or unset it"),
        )),
    }
}

/// `RUST_LOG`, which replaces the log levels `-v` and `-q` choose. Read
/// when logging starts, before the other settings, so that resolving them
/// can be logged.
pub(crate) fn log_filters() -> Option<String> {
    env::var("RUST_LOG").ok()
}

/// The largest answer read from the provider: a 365-day timeseries of 170
/// currencies is about 1.5 MB.
pub(crate) const MAX_BODY: u64 = 8 * 1024 * 1024;

/// The real clock, or the hidden `--now` (`FXRATES_NOW`), which exists for
/// tests.
fn now(fixed: Option<&str>) -> anyhow::Result<Now> {
    let utc = match fixed {
        Some(text) => DateTime::parse_from_rfc3339(text.trim())
            .map_err(|e| {
                fail(
                    Exit::Usage,
                    format!(
                        "FXRATES_NOW (--now) {text:?} is not an RFC 3339 time such as \
                         2024-09-20T09:00:00Z ({e}); unset it"
                    ),
                )
            })?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    Ok(Now::at(utc, fixed.is_some()))
}

/// The history's store: a PostgreSQL URL or a SQLite file (`--db`/
/// `FXRATES_DB`), else the SQLite file in the XDG data directory.
fn database(flag: Option<&StoreArg>, shared: &Shared) -> anyhow::Result<Target> {
    match flag {
        Some(name) => target(name, "FXRATES_DB (--db)", None, shared),
        None => Ok(Target::Sqlite(default_db_path(shared)?)),
    }
}

/// The store `name` names; `what` says where it came from, `schema` as in
/// [`Settings::store_at`].
fn target(
    name: &StoreArg,
    what: &str,
    schema: Option<(&str, &str)>,
    shared: &Shared,
) -> anyhow::Result<Target> {
    match name {
        StoreArg::Sqlite(path) => Ok(Target::Sqlite(path.clone())),
        StoreArg::Postgres(url) => postgres::target(url, what, schema, shared),
    }
}

/// A path setting (`what` names it), refused when empty: an empty path is
/// a settings line cut short far more often than a wish for none.
fn not_empty(path: Option<PathBuf>, what: &str) -> anyhow::Result<Option<PathBuf>> {
    match path {
        Some(p) if p.as_os_str().is_empty() => Err(fail(
            Exit::Config,
            format!("{what} is empty; name a file, or unset the variable"),
        )),
        other => Ok(other),
    }
}

/// The database path when none is named: in the XDG data directory.
fn default_db_path(shared: &Shared) -> anyhow::Result<PathBuf> {
    let data = env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| shared.home.as_ref().map(|h| h.join(".local/share")))
        .ok_or_else(|| {
            fail(
                Exit::Config,
                "cannot choose a database path: neither XDG_DATA_HOME nor HOME is set; set FXRATES_DB",
            )
        })?;
    Ok(data.join("fxrates").join("rates.db"))
}

/// This machine's name: the hidden `--hostname` (`FXRATES_HOSTNAME`, so
/// that tests can play several hosts on one machine), else the kernel's.
fn hostname(fixed: Option<&str>) -> anyhow::Result<String> {
    if let Some(name) = fixed.map(str::trim).filter(|h| !h.is_empty()) {
        return Ok(name.to_string());
    }
    let name = whoami::hostname().unwrap_or_default().trim().to_string();
    if name.is_empty() {
        return Err(fail(
            Exit::Config,
            "cannot read this machine's host name (gethostname failed); set one with hostnamectl",
        ));
    }
    Ok(name)
}

/// How long a writer waits for another fxrates run to finish with the
/// database: `FXRATES_LOCK_TIMEOUT` seconds, 60 by default.
fn lock_timeout() -> anyhow::Result<Duration> {
    match var("FXRATES_LOCK_TIMEOUT")? {
        None => Ok(Duration::from_secs(60)),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= 86400)
            .map(Duration::from_secs)
            .ok_or_else(|| {
                fail(
                    Exit::Usage,
                    format!(
                        "FXRATES_LOCK_TIMEOUT={text:?} is not a number of seconds from 0 to 86400"
                    ),
                )
            }),
    }
}

/// The width to fill: `COLUMNS` when it holds a number, else the terminal's
/// width (shells rarely export `COLUMNS`), else `None`.
fn columns() -> Option<usize> {
    match env::var("COLUMNS").ok().map(|c| c.trim().parse::<usize>()) {
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            log::debug!("COLUMNS is not a positive number; ignored");
            terminal_columns()
        }
        None => terminal_columns(),
    }
}

fn terminal_columns() -> Option<usize> {
    terminal_size::terminal_size().map(|(w, _)| usize::from(w.0))
}

/// Whether the locale promises UTF-8 output: the first of `LC_ALL`,
/// `LC_CTYPE` and `LANG` that is set decides, as POSIX orders them.
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("utf-8") || s.contains("utf8")
        })
}
