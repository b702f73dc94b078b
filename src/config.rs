//! Configuration that does not come through clap: defaults that depend on the
//! environment, the API key, and the current time. Each reader names the
//! variable it reads in its errors.

use crate::cli::ProviderArgs;
use crate::error::{Exit, ResultExt, fail};
use crate::fixer::{Endpoint, RetryPolicy, Settings};
use crate::secret::Secret;
use chrono::{DateTime, Local, NaiveDate, Utc};
use std::env;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest answer read from the provider: a 365-day timeseries of 170
/// currencies is about 1.5 MB.
pub const MAX_BODY: u64 = 8 * 1024 * 1024;

/// The current time, read once per run and passed down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub utc: DateTime<Utc>,
    /// The machine's local date (TZ is honoured): cron runs in local time.
    pub today: NaiveDate,
}

impl Now {
    /// The real clock, or `FXRATES_NOW` (RFC 3339), which exists for tests.
    pub fn read() -> anyhow::Result<Now> {
        let utc = match env::var("FXRATES_NOW") {
            Ok(text) => DateTime::parse_from_rfc3339(&text)
                .map_err(|e| {
                    fail(
                        Exit::Usage,
                        format!("FXRATES_NOW={text:?} is not an RFC 3339 time ({e}); unset it"),
                    )
                })?
                .with_timezone(&Utc),
            Err(_) => Utc::now(),
        };
        Ok(Now {
            utc,
            today: utc.with_timezone(&Local).date_naive(),
        })
    }
}

/// The database path: `--db`/`FXRATES_DB` (via clap), else the XDG data dir.
pub fn db_path(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p.to_owned());
    }
    let data = env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })
        .ok_or_else(|| {
            fail(
                Exit::Config,
                "cannot choose a database path: neither XDG_DATA_HOME nor HOME is set; set FXRATES_DB",
            )
        })?;
    Ok(data.join("fxrates").join("rates.db"))
}

/// The API key: from the key file when one is given, else `FIXER_API_KEY`.
pub fn api_key(file: Option<&Path>) -> anyhow::Result<Secret> {
    let key = match file {
        Some(path) => read_key_file(path)?,
        None => match env::var("FIXER_API_KEY") {
            Ok(k) if !k.trim().is_empty() => k.trim().to_string(),
            Ok(_) => {
                return Err(fail(
                    Exit::Config,
                    "FIXER_API_KEY is empty; set it to your fixer.io API key",
                ));
            }
            Err(_) => {
                return Err(fail(
                    Exit::Config,
                    "no fixer.io API key: set FIXER_API_KEY, or FIXER_API_KEY_FILE (--api-key-file) \
                     to a file holding it",
                ));
            }
        },
    };
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(fail(
            Exit::Config,
            "the fixer.io API key contains spaces or non-ASCII characters; check FIXER_API_KEY or the key file",
        ));
    }
    Ok(Secret::new(key))
}

fn read_key_file(path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    let meta = fs::metadata(path).exit(Exit::Config, || {
        format!("cannot read the API key file {shown} (FIXER_API_KEY_FILE)")
    })?;
    let mode = meta.mode() & 0o777;
    // systemd guards its credentials itself; depending on the file system
    // it grants the service access through an ACL on a root-owned file,
    // which the two checks below would refuse.
    let checked = !is_systemd_credential(path);
    if checked && mode & 0o077 != 0 {
        return Err(fail(
            Exit::Config,
            format!(
                "the API key file {shown} has mode {mode:04o} and is open to group or others; run `chmod 600 {shown}`"
            ),
        ));
    }
    // Another user's file could be changed behind our back. /proc/self is
    // owned by this process's user, which std cannot ask for directly.
    let uid = fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if checked && uid.is_some_and(|uid| uid != meta.uid()) {
        return Err(fail(
            Exit::Config,
            format!("the API key file {shown} is owned by another user; it must be yours"),
        ));
    }
    let text = fs::read_to_string(path).exit(Exit::Config, || {
        format!("cannot read the API key file {shown} (FIXER_API_KEY_FILE)")
    })?;
    let key = text.trim();
    if key.is_empty() {
        return Err(fail(
            Exit::Config,
            format!("the API key file {shown} is empty; put your fixer.io API key in it"),
        ));
    }
    Ok(key.to_string())
}

/// Whether `path` is a credential systemd passed to this service
/// (`LoadCredential=`, read through `FIXER_API_KEY_FILE=%d/NAME`).
fn is_systemd_credential(path: &Path) -> bool {
    let Some(dir) = env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from) else {
        return false;
    };
    let parent = path.parent().and_then(|p| p.canonicalize().ok());
    dir.is_absolute() && parent.is_some() && parent == dir.canonicalize().ok()
}

/// Connection settings from the provider flags (and their variables).
pub fn provider(args: &ProviderArgs) -> anyhow::Result<Settings> {
    let endpoint = Endpoint::parse(&args.endpoint)
        .map_err(|why| fail(Exit::Config, format!("FIXER_ENDPOINT (--endpoint): {why}")))?;
    let auth = args.auth.unwrap_or_else(|| endpoint.default_auth());
    let key = api_key(args.api_key_file.as_deref())?;
    Ok(Settings {
        endpoint,
        auth,
        key,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        timeout: args
            .timeout_ms
            .map_or(Duration::from_secs(args.timeout), Duration::from_millis),
        max_body: MAX_BODY,
        retry: RetryPolicy {
            base: retry_base()?,
            budget: Duration::from_secs(args.max_run_time),
            ..RetryPolicy::default()
        },
    })
}

/// The first wait between tries, from the hidden `FXRATES_RETRY_BASE_MS`,
/// which exists so that tests need not wait seconds.
fn retry_base() -> anyhow::Result<Duration> {
    millis_var("FXRATES_RETRY_BASE_MS").map(|ms| ms.unwrap_or(RetryPolicy::default().base))
}

/// How long a writer waits for another fxrates run to finish with the
/// database: `FXRATES_LOCK_TIMEOUT` seconds, 60 by default.
pub fn lock_timeout() -> anyhow::Result<Duration> {
    match env::var("FXRATES_LOCK_TIMEOUT") {
        Err(_) => Ok(Duration::from_secs(60)),
        Ok(text) => text
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

fn millis_var(name: &str) -> anyhow::Result<Option<Duration>> {
    match env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map(|ms| Some(Duration::from_millis(ms)))
            .map_err(|_| {
                fail(
                    Exit::Usage,
                    format!("{name}={text:?} is not a number of milliseconds; unset it"),
                )
            }),
    }
}

/// The width to fill: `COLUMNS` when it holds a number, else the terminal's
/// width (shells rarely export `COLUMNS`), else `None`.
pub fn columns() -> Option<usize> {
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
pub fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| env::var(v).ok().filter(|s| !s.is_empty()))
        .is_some_and(|s| {
            let s = s.to_ascii_lowercase();
            s.contains("utf-8") || s.contains("utf8")
        })
}
