//! The fixer.io client: one ureq agent, both API stacks, bounded bodies, and
//! answers validated whole before anything is returned.
//!
//! All fixer-specific knowledge lives in this module; the rest of fxrates sees
//! [`Snapshot`]s and [`RateSet`]s.

mod errors;
pub mod response;
mod retry;

use crate::error::{Exit, ResultExt, fail};
use crate::rates::{EUR, RateSet, Snapshot};
use crate::secret::{Secret, percent_encode, scrub};
use chrono::{DateTime, NaiveDate, Utc};
pub use errors::ProviderCode;
use errors::{Asked, api_failure, status_failure};
use response::Parsed;
pub use retry::RetryPolicy;
use retry::{Jitter, Retry};
use std::cell::RefCell;
use std::io;
use std::time::{Duration, Instant};

/// fixer's default endpoint (legacy stack).
pub const DEFAULT_ENDPOINT: &str = "https://data.fixer.io/api";

/// Where the key goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// `access_key=KEY` query parameter (data.fixer.io).
    Query,
    /// `apikey: KEY` request header (api.apilayer.com).
    Header,
}

/// A validated endpoint base URL, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    host: String,
    https: bool,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let url = text.trim().trim_end_matches('/');
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{url:?} must start with http:// or https://"));
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        if host.is_empty() || authority.contains('@') || rest.contains(['?', '#', ' ']) {
            return Err(format!(
                "{url:?} is not a plain base URL such as {DEFAULT_ENDPOINT}"
            ));
        }
        Ok(Endpoint {
            url: url.to_string(),
            host: host.to_ascii_lowercase(),
            https,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The auth style that fits this endpoint when none is configured.
    pub fn default_auth(&self) -> Auth {
        if self.host == "api.apilayer.com" {
            Auth::Header
        } else {
            Auth::Query
        }
    }
}

/// Connection settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub endpoint: Endpoint,
    pub auth: Auth,
    pub key: Secret,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    pub retry: RetryPolicy,
}

/// One request fxrates made, for the quota record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub endpoint: &'static str,
    pub outcome: String,
}

/// What to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    Latest,
    Historical(NaiveDate),
    Timeseries(NaiveDate, NaiveDate),
}

impl Call {
    fn path(&self) -> String {
        match self {
            Call::Latest => "latest".into(),
            Call::Historical(d) => d.format("%Y-%m-%d").to_string(),
            Call::Timeseries(..) => "timeseries".into(),
        }
    }

    fn params(&self) -> String {
        match self {
            Call::Timeseries(from, to) => format!("start_date={from}&end_date={to}&base=EUR"),
            _ => "base=EUR".into(),
        }
    }

    /// The endpoint's name in the request record.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Latest => "latest",
            Call::Historical(_) => "historical",
            Call::Timeseries(..) => "timeseries",
        }
    }

    fn describe(&self) -> String {
        match self {
            Call::Latest => "the latest rates".into(),
            Call::Historical(d) => d.to_string(),
            Call::Timeseries(a, b) => format!("{a} to {b}"),
        }
    }
}

pub struct Client {
    agent: ureq::Agent,
    settings: Settings,
    /// The run's clock: requests are recorded at the time the run started.
    now: DateTime<Utc>,
    /// When the client was made: the run's time budget for requests counts
    /// from here.
    started: Instant,
    jitter: Jitter,
    attempts: RefCell<Vec<Attempt>>,
}

/// A failed try, and whether another may succeed.
struct Failed {
    error: anyhow::Error,
    retry: Retry,
}

impl Failed {
    fn no(error: anyhow::Error) -> Failed {
        Failed {
            error,
            retry: Retry::No,
        }
    }
}

impl Client {
    pub fn new(settings: Settings, now: DateTime<Utc>) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.timeout))
            .http_status_as_error(false)
            // Never follow a redirect: the key would go along with it.
            .max_redirects(0)
            .user_agent(concat!("fxrates/", env!("CARGO_PKG_VERSION")))
            .accept("application/json")
            .build();
        Client {
            agent: config.new_agent(),
            settings,
            now,
            started: Instant::now(),
            jitter: Jitter::new(),
            attempts: RefCell::new(Vec::new()),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.settings.endpoint
    }

    /// The requests made since the last call, for the quota record.
    pub fn take_attempts(&self) -> Vec<Attempt> {
        std::mem::take(&mut *self.attempts.borrow_mut())
    }

    /// Today's rates from `latest`, base EUR.
    pub fn latest(&self) -> anyhow::Result<Snapshot> {
        self.day(Call::Latest)
    }

    /// One past day from the historical endpoint, base EUR.
    pub fn historical(&self, date: NaiveDate) -> anyhow::Result<Snapshot> {
        self.day(Call::Historical(date))
    }

    /// The days from `from` to `to` from `timeseries` (paid plans).
    pub fn timeseries(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<(NaiveDate, RateSet)>> {
        let call = Call::Timeseries(from, to);
        self.fetch(call, |body| response::parse_timeseries(body, EUR))
    }

    fn day(&self, call: Call) -> anyhow::Result<Snapshot> {
        self.fetch(call, |body| response::parse_day(body, EUR))
    }

    /// Sends `call` until it succeeds, fails for good, runs out of tries or
    /// runs out of the run's time budget. Every try is recorded: each one
    /// spends quota.
    fn fetch<T>(
        &self,
        call: Call,
        parse: impl Fn(&str) -> Result<Parsed<T>, String>,
    ) -> anyhow::Result<T> {
        let policy = &self.settings.retry;
        let mut tries = 0;
        loop {
            let Some(timeout) = self.time_left().filter(|t| !t.is_zero()) else {
                return Err(self.budget_spent(call, tries));
            };
            tries += 1;
            let result = self.send(call, &parse, timeout.min(self.settings.timeout));
            self.attempts.borrow_mut().push(Attempt {
                at: self.now,
                endpoint: call.name(),
                outcome: match &result {
                    Ok(_) => "ok".to_string(),
                    Err(f) => scrub(&f.error.to_string()).into_owned(),
                },
            });
            let (error, hint) = match result {
                Ok(value) => return Ok(value),
                Err(Failed {
                    error,
                    retry: Retry::No,
                }) => return Err(error),
                Err(Failed {
                    error,
                    retry: Retry::Yes(hint),
                }) => (error, hint),
            };
            if let Some(asked) = hint.filter(|h| *h > policy.max_retry_after) {
                return Err(error.context(format!(
                    "{} asked fxrates to wait {} s before trying again (Retry-After), longer than \
                     the {} s it waits within a run",
                    self.settings.endpoint.host,
                    asked.as_secs(),
                    policy.max_retry_after.as_secs()
                )));
            }
            if tries >= policy.tries {
                return Err(error.context(format!("{tries} tries failed")));
            }
            let wait = hint.unwrap_or_else(|| policy.backoff(tries + 1, &self.jitter));
            if self.time_left().is_none_or(|left| left <= wait) {
                return Err(error.context(format!(
                    "the run's time budget of {} s allows no further try",
                    policy.budget.as_secs()
                )));
            }
            log::info!(
                "try {tries} of {} failed: {}; trying again in {:.1} s",
                policy.tries,
                scrub(&error.to_string()),
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
        }
    }

    /// What remains of the run's time budget for requests.
    fn time_left(&self) -> Option<Duration> {
        self.settings
            .retry
            .budget
            .checked_sub(self.started.elapsed())
    }

    fn budget_spent(&self, call: Call, tries: u32) -> anyhow::Error {
        fail(
            Exit::TempFail,
            format!(
                "the run's time budget of {} s for requests (--max-run-time) is spent{}; {} was not \
                 fetched: the next run fetches it",
                self.settings.retry.budget.as_secs(),
                if tries > 0 { " after retries" } else { "" },
                call.describe()
            ),
        )
    }

    /// One try, within `timeout`.
    fn send<T>(
        &self,
        call: Call,
        parse: impl Fn(&str) -> Result<Parsed<T>, String>,
        timeout: Duration,
    ) -> Result<T, Failed> {
        let s = &self.settings;
        let mut url = format!("{}/{}?{}", s.endpoint.url, call.path(), call.params());
        if s.auth == Auth::Query {
            url.push_str("&access_key=");
            url.push_str(&percent_encode(s.key.expose()));
        }
        let mut request = self.agent.get(&url);
        if s.auth == Auth::Header {
            request = request.header("apikey", s.key.expose());
        }
        log::debug!("GET {}", scrub(&url));
        let asked = Asked {
            what: &call.describe(),
            https: s.endpoint.https,
            header_auth: s.auth == Auth::Header,
        };
        let mut response = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call()
            .map_err(|e| transport_failure(e, &asked, s, timeout))?;
        let status = response.status().as_u16();
        log::debug!("HTTP {status} from {}", s.endpoint.host);
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(|l| scrub(l.split('?').next().unwrap_or_default()).into_owned())
                .unwrap_or_else(|| "an unnamed location".into());
            return Err(Failed::no(fail(
                Exit::Config,
                format!(
                    "the endpoint redirected to {location} (HTTP {status}); fxrates never follows a \
                     redirect with the API key: set FIXER_ENDPOINT to the new address if you trust it"
                ),
            )));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let quota_left =
            header("x-ratelimit-remaining-month").and_then(|v| v.trim().parse::<u64>().ok());
        let retry = match status {
            408 | 429 | 500..=599 if quota_left != Some(0) => {
                Retry::Yes(header("retry-after").and_then(|v| retry::retry_after(&v, self.clock())))
            }
            _ => Retry::No,
        };
        let bytes = response
            .body_mut()
            .with_config()
            .limit(s.max_body)
            .read_to_vec()
            .map_err(|e| transport_failure(e, &asked, s, timeout))?;
        let body = String::from_utf8_lossy(&bytes);
        let error = match parse(&body) {
            Ok(Parsed::Ok(value)) if status == 200 => return Ok(value),
            Ok(Parsed::Ok(_)) => status_failure(status, None, quota_left, &asked),
            Ok(Parsed::Api(err)) if err.code.is_none() && err.kind.is_none() && status != 200 => {
                status_failure(status, err.info.as_deref(), quota_left, &asked)
            }
            // fixer's own refusal: the same request would be refused again.
            Ok(Parsed::Api(err)) => return Err(Failed::no(api_failure(&err, &asked))),
            Err(_) if status != 200 => status_failure(status, None, quota_left, &asked),
            Err(why) => fail(
                Exit::DataErr,
                format!(
                    "fixer.io sent an unusable answer for {}: {}; nothing was stored",
                    asked.what,
                    scrub(&why)
                ),
            ),
        };
        Err(Failed { error, retry })
    }

    /// The time now, as the run's clock plus what has passed since.
    fn clock(&self) -> DateTime<Utc> {
        self.now + self.started.elapsed()
    }
}

fn transport_failure(
    err: ureq::Error,
    asked: &Asked<'_>,
    s: &Settings,
    timeout: Duration,
) -> Failed {
    let host = &s.endpoint.host;
    let what = asked.what;
    let (exit, retry, message) = match &err {
        ureq::Error::Timeout(_) => (
            Exit::TempFail,
            Retry::Yes(None),
            if timeout < s.timeout {
                format!(
                    "{host} did not answer for {what} within what was left of the run's time budget; try again later"
                )
            } else {
                format!(
                    "{host} did not answer for {what} within the time limit ({} s to connect, {} s in all); try again later",
                    s.connect_timeout.as_secs(),
                    s.timeout.as_secs()
                )
            },
        ),
        ureq::Error::BodyExceedsLimit(limit) => (
            Exit::DataErr,
            Retry::No,
            format!(
                "the answer from {host} for {what} is larger than {limit} bytes; nothing was stored"
            ),
        ),
        ureq::Error::HostNotFound => (
            Exit::Unavailable,
            Retry::No,
            format!("cannot resolve {host}; check the network and FIXER_ENDPOINT"),
        ),
        ureq::Error::Io(e) if is_temporary(e) => (
            Exit::TempFail,
            Retry::Yes(None),
            format!(
                "the connection to {host} failed ({}); try again later",
                e.kind()
            ),
        ),
        ureq::Error::ConnectionFailed => (
            Exit::TempFail,
            Retry::Yes(None),
            format!("cannot connect to {host}; try again later"),
        ),
        ureq::Error::Tls(_) => (
            Exit::Unavailable,
            Retry::No,
            format!(
                "the TLS connection to {host} failed; check FIXER_ENDPOINT and the system clock"
            ),
        ),
        _ => (
            Exit::Unavailable,
            Retry::No,
            format!("cannot reach {host} for {what}; check the network and FIXER_ENDPOINT"),
        ),
    };
    // The library's own text may carry the URL, and so the key: scrub it.
    let detail = scrub(&err.to_string()).into_owned();
    let error = Err::<(), _>(anyhow::anyhow!(detail))
        .exit(exit, || message)
        .unwrap_err();
    Failed { error, retry }
}

fn is_temporary(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | TimedOut
            | UnexpectedEof
            | BrokenPipe
            | Interrupted
    )
}
