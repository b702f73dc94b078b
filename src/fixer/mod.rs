//! The fixer.io client: one ureq agent, both API stacks, bounded bodies, and
//! answers validated whole before anything is returned.
//!
//! All fixer-specific knowledge lives in this module; the rest of fxrates sees
//! [`Snapshot`]s and [`RateSet`]s.

mod errors;
pub mod response;

use crate::error::{Exit, ResultExt, fail};
use crate::rates::{EUR, RateSet, Snapshot};
use crate::secret::{Secret, percent_encode, scrub};
use chrono::{DateTime, NaiveDate, Utc};
pub use errors::ProviderCode;
use errors::{Asked, api_failure, status_failure};
use response::Parsed;
use std::cell::RefCell;
use std::io;
use std::time::Duration;

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
    attempts: RefCell<Vec<Attempt>>,
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

    fn fetch<T>(
        &self,
        call: Call,
        parse: impl FnOnce(&str) -> Result<Parsed<T>, String>,
    ) -> anyhow::Result<T> {
        let result = self.send(call, parse);
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => scrub(&e.to_string()).into_owned(),
        };
        self.attempts.borrow_mut().push(Attempt {
            at: self.now,
            endpoint: call.name(),
            outcome,
        });
        result
    }

    fn send<T>(
        &self,
        call: Call,
        parse: impl FnOnce(&str) -> Result<Parsed<T>, String>,
    ) -> anyhow::Result<T> {
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
            .call()
            .map_err(|e| transport_failure(e, &asked, s))?;
        let status = response.status().as_u16();
        log::debug!("HTTP {status} from {}", s.endpoint.host);
        if (300..400).contains(&status) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(|l| scrub(l.split('?').next().unwrap_or_default()).into_owned())
                .unwrap_or_else(|| "an unnamed location".into());
            return Err(fail(
                Exit::Config,
                format!(
                    "the endpoint redirected to {location} (HTTP {status}); fxrates never follows a \
                     redirect with the API key: set FIXER_ENDPOINT to the new address if you trust it"
                ),
            ));
        }
        let quota_left = response
            .headers()
            .get("x-ratelimit-remaining-month")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = response
            .body_mut()
            .with_config()
            .limit(s.max_body)
            .read_to_vec()
            .map_err(|e| transport_failure(e, &asked, s))?;
        let body = String::from_utf8_lossy(&bytes);
        match parse(&body) {
            Ok(Parsed::Ok(value)) if status == 200 => Ok(value),
            Ok(Parsed::Ok(_)) => Err(status_failure(status, None, quota_left, &asked)),
            Ok(Parsed::Api(err)) if err.code.is_none() && err.kind.is_none() && status != 200 => {
                Err(status_failure(
                    status,
                    err.info.as_deref(),
                    quota_left,
                    &asked,
                ))
            }
            Ok(Parsed::Api(err)) => Err(api_failure(&err, &asked)),
            Err(_) if status != 200 => Err(status_failure(status, None, quota_left, &asked)),
            Err(why) => Err(fail(
                Exit::DataErr,
                format!(
                    "fixer.io sent an unusable answer for {}: {}; nothing was stored",
                    asked.what,
                    scrub(&why)
                ),
            )),
        }
    }
}

fn transport_failure(err: ureq::Error, asked: &Asked<'_>, s: &Settings) -> anyhow::Error {
    let host = &s.endpoint.host;
    let what = asked.what;
    let (exit, message) = match &err {
        ureq::Error::Timeout(_) => (
            Exit::TempFail,
            format!(
                "{host} did not answer for {what} within the time limit ({} s to connect, {} s in all); try again later",
                s.connect_timeout.as_secs(),
                s.timeout.as_secs()
            ),
        ),
        ureq::Error::BodyExceedsLimit(limit) => (
            Exit::DataErr,
            format!(
                "the answer from {host} for {what} is larger than {limit} bytes; nothing was stored"
            ),
        ),
        ureq::Error::HostNotFound => (
            Exit::Unavailable,
            format!("cannot resolve {host}; check the network and FIXER_ENDPOINT"),
        ),
        ureq::Error::Io(e) if is_temporary(e) => (
            Exit::TempFail,
            format!(
                "the connection to {host} failed ({}); try again later",
                e.kind()
            ),
        ),
        ureq::Error::ConnectionFailed => (
            Exit::TempFail,
            format!("cannot connect to {host}; try again later"),
        ),
        ureq::Error::Tls(_) => (
            Exit::Unavailable,
            format!(
                "the TLS connection to {host} failed; check FIXER_ENDPOINT and the system clock"
            ),
        ),
        _ => (
            Exit::Unavailable,
            format!("cannot reach {host} for {what}; check the network and FIXER_ENDPOINT"),
        ),
    };
    // The library's own text may carry the URL, and so the key: scrub it.
    let detail = scrub(&err.to_string()).into_owned();
    Err::<(), _>(anyhow::anyhow!(detail))
        .exit(exit, || message)
        .unwrap_err()
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
