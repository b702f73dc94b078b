//! The fixer.io client: one ureq agent, both API stacks, bounded bodies, and
//! answers validated whole before anything is returned.
//!
//! All fixer-specific knowledge lives in this module; the rest of fxrates sees
//! [`Snapshot`]s and [`RateSet`]s.

mod answer;
mod endpoint;
mod error;
pub mod response;
mod retry;
mod transport;

pub use endpoint::Endpoint;
#[cfg(test)]
pub(crate) use error::samples;
pub(crate) use error::{FetchError, FetchErrorKind, GaveUp, ProviderRefusal, RecordError};
pub(crate) use retry::{Jitter, Pace, RetryPolicy, TryFailure, retry_after};
pub(crate) use transport::{Limits, classify, through_proxy};

use crate::rates::{EUR, RateSet, Snapshot};
use crate::secret::{Secret, percent_encode, scrub};
use answer::Headers;
use chrono::{DateTime, NaiveDate, Utc};
use response::Parsed;
use std::time::{Duration, Instant};

/// fixer's default endpoint (legacy stack).
pub(crate) const DEFAULT_ENDPOINT: &str = "https://data.fixer.io/api";

/// Where the key goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `access_key=KEY` query parameter (data.fixer.io).
    Query,
    /// `apikey: KEY` request header (api.apilayer.com).
    Header,
}

/// Connection settings.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The trusted CAs (and the proxy) every request goes by.
    pub network: crate::net::Network,
    pub endpoint: Endpoint,
    pub auth: Auth,
    pub key: Secret,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    pub retry: RetryPolicy,
}

/// Keeps the record of requests for the monthly quota. The client calls
/// [`Recorder::sending`] before every request it sends, and sends nothing
/// the recorder refused; then [`Recorder::answered`] with its outcome.
pub(crate) trait Recorder {
    /// A request to `endpoint` is about to be sent, at `at`. Returns a token
    /// for [`Recorder::answered`].
    fn sending(&mut self, at: DateTime<Utc>, endpoint: &'static str) -> Result<i64, RecordError>;

    /// The request `token` ended with `outcome`: `ok`, or what went wrong;
    /// `sent` is false when it never left the machine (its host name did
    /// not resolve, its connection or the proxy's tunnel was refused), so
    /// that the provider cannot have counted it.
    fn answered(&mut self, token: i64, outcome: &str, sent: bool) -> Result<(), RecordError>;
}

/// What to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Latest,
    Historical(NaiveDate),
    Timeseries(NaiveDate, NaiveDate),
    /// The names of fixer's currencies.
    Symbols,
}

impl Call {
    fn path(&self) -> String {
        match self {
            Call::Latest => "latest".into(),
            Call::Historical(d) => d.format("%Y-%m-%d").to_string(),
            Call::Timeseries(..) => "timeseries".into(),
            Call::Symbols => "symbols".into(),
        }
    }

    fn params(&self) -> String {
        match self {
            Call::Timeseries(from, to) => format!("start_date={from}&end_date={to}&base=EUR"),
            Call::Symbols => String::new(),
            _ => "base=EUR".into(),
        }
    }

    /// The endpoint's name in the request record.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Call::Latest => "latest",
            Call::Historical(_) => "historical",
            Call::Timeseries(..) => "timeseries",
            Call::Symbols => "symbols",
        }
    }
}

/// What was asked for, as messages name it.
impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Call::Latest => f.write_str("the latest rates"),
            Call::Historical(d) => write!(f, "{d}"),
            Call::Timeseries(a, b) => write!(f, "{a} to {b}"),
            Call::Symbols => f.write_str("the currency names"),
        }
    }
}

pub(crate) struct Client {
    agent: ureq::Agent,
    /// The proxy the agent goes through, if any.
    proxy: Option<crate::net::Proxy>,
    settings: Settings,
    /// The run's clock; each request is stamped with it plus the time passed
    /// since the client was made.
    now: DateTime<Utc>,
    /// When the client was made: the run's time budget for requests counts
    /// from here.
    started: Instant,
    jitter: Jitter,
}

/// A try that failed: what happened, and whether the request may have
/// reached the server (and so spent quota).
struct Failed {
    kind: FetchErrorKind,
    sent: bool,
}

impl From<FetchErrorKind> for Failed {
    fn from(kind: FetchErrorKind) -> Failed {
        Failed { kind, sent: true }
    }
}

/// An answer as it came: status, the headers that matter, the body.
struct Answer {
    status: u16,
    headers: Headers,
    location: Option<String>,
    body: Vec<u8>,
}

impl Client {
    /// A client for `settings`, or why none can be had: a proxy that cannot
    /// be honoured (fxrates never goes around one), in one line.
    pub(crate) fn new(settings: Settings, now: DateTime<Utc>) -> Result<Client, String> {
        let endpoint = &settings.endpoint;
        let route = settings
            .network
            .route(endpoint.https, &endpoint.host, |config| {
                config
                    .timeout_connect(Some(settings.connect_timeout))
                    .timeout_global(Some(settings.timeout))
                    .http_status_as_error(false)
                    // Never follow a redirect: the key would go along with it.
                    .max_redirects(0)
                    .user_agent(concat!("fxrates/", env!("CARGO_PKG_VERSION")))
                    .accept("application/json")
            })?;
        Ok(Client {
            agent: route.agent,
            proxy: route.proxy,
            settings,
            now,
            started: Instant::now(),
            jitter: Jitter::new(),
        })
    }

    /// One day's rates, base EUR: today's from `latest`, or a past day's
    /// from the historical endpoint.
    pub(crate) fn day(
        &self,
        call: Call,
        recorder: &mut dyn Recorder,
    ) -> Result<Snapshot, FetchError> {
        self.fetch(call, recorder, |body| response::parse_day(body, EUR))
    }

    /// The days from `from` to `to` from `timeseries` (paid plans).
    pub(crate) fn timeseries(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        recorder: &mut dyn Recorder,
    ) -> Result<Vec<(NaiveDate, RateSet)>, FetchError> {
        let call = Call::Timeseries(from, to);
        self.fetch(call, recorder, |body| response::parse_timeseries(body, EUR))
    }

    /// fixer's names of its currencies, from `symbols`, in one try: names
    /// can wait for the next run, and a retry would spend quota the days
    /// may need.
    pub(crate) fn symbols(
        &self,
        recorder: &mut dyn Recorder,
    ) -> Result<std::collections::BTreeMap<crate::rates::Currency, String>, FetchError> {
        self.fetch_tries(Call::Symbols, recorder, response::parse_symbols, 1)
    }

    /// Sends `call` until it succeeds, fails for good, runs out of tries or
    /// runs out of the run's time budget. Every try is recorded before it is
    /// sent: each one spends quota.
    fn fetch<T>(
        &self,
        call: Call,
        recorder: &mut dyn Recorder,
        parse: impl Fn(&str) -> Result<Parsed<T>, String>,
    ) -> Result<T, FetchError> {
        self.fetch_tries(call, recorder, parse, self.settings.retry.tries)
    }

    /// [`Client::fetch`], with at most `max_tries` tries.
    fn fetch_tries<T>(
        &self,
        call: Call,
        recorder: &mut dyn Recorder,
        parse: impl Fn(&str) -> Result<Parsed<T>, String>,
        max_tries: u32,
    ) -> Result<T, FetchError> {
        let policy = &RetryPolicy {
            tries: max_tries.min(self.settings.retry.tries),
            ..self.settings.retry.clone()
        };
        let pace = Pace {
            policy,
            jitter: &self.jitter,
            now: self.now,
            started: self.started,
        };
        pace.send(
            recorder,
            call.name(),
            |left| {
                self.try_once(call, &parse, left.min(self.settings.timeout))
                    .map_err(|failed| (self.error(call, failed.kind, None), failed.sent))
            },
            |kind| self.error(call, kind, None),
        )
    }

    fn error(&self, call: Call, kind: FetchErrorKind, gave_up: Option<GaveUp>) -> FetchError {
        let endpoint = &self.settings.endpoint;
        FetchError {
            call,
            host: endpoint.host.clone(),
            https: endpoint.https,
            header_auth: self.settings.auth == Auth::Header,
            kind: Box::new(kind),
            gave_up,
        }
    }

    /// When the run's time budget (`--max-run-time`) runs out.
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.settings.retry.budget
    }

    /// One try, within `timeout`: send, refuse a redirect, interpret.
    fn try_once<T>(
        &self,
        call: Call,
        parse: impl Fn(&str) -> Result<Parsed<T>, String>,
        timeout: Duration,
    ) -> Result<T, Failed> {
        let answer = self.exchange(call, timeout)?;
        if let Some(proxy) = &self.proxy {
            // Plain HTTP goes to the proxy itself, which answers for itself
            // when it cannot pass a request on: its 407, and a gateway error
            // that is not fixer's JSON, are the proxy's.
            let own = match answer.status {
                407 => Some(("it asks for credentials".to_string(), false)),
                502..=504
                    if !self.settings.endpoint.https
                        && serde_json::from_slice::<serde_json::Value>(&answer.body).is_err() =>
                {
                    Some((format!("it answered HTTP {}", answer.status), true))
                }
                _ => None,
            };
            if let Some((what, retry)) = own {
                return Err(Failed {
                    kind: FetchErrorKind::Proxy {
                        proxy: proxy.shown(),
                        what,
                        status: Some(answer.status),
                        retry,
                    },
                    // A proxy asking for credentials passed nothing on; a
                    // gateway error may come after fixer saw the request.
                    sent: answer.status != 407,
                });
            }
        }
        log::debug!(
            "HTTP {} from {}",
            answer.status,
            self.settings.endpoint.host
        );
        if (300..400).contains(&answer.status) {
            return Err(FetchErrorKind::Redirect {
                status: answer.status,
                location: answer
                    .location
                    .unwrap_or_else(|| "an unnamed location".into()),
            }
            .into());
        }
        let body = String::from_utf8_lossy(&answer.body);
        Ok(answer::interpret(
            answer.status,
            parse(&body),
            answer.headers,
        )?)
    }

    /// The URL of `call`, with the key when it goes in the query.
    fn url(&self, call: Call) -> String {
        let s = &self.settings;
        let params = call.params();
        let mut url = format!("{}/{}", s.endpoint.url, call.path());
        if !params.is_empty() {
            url.push('?');
            url.push_str(&params);
        }
        if s.auth == Auth::Query {
            url.push(if params.is_empty() { '?' } else { '&' });
            url.push_str("access_key=");
            url.push_str(&percent_encode(s.key.expose()));
        }
        url
    }

    /// Sends the request and reads the answer, within `timeout`.
    fn exchange(&self, call: Call, timeout: Duration) -> Result<Answer, Failed> {
        let s = &self.settings;
        let url = self.url(call);
        let mut request = self.agent.get(&url);
        if s.auth == Auth::Header {
            request = request.header("apikey", s.key.expose());
        }
        log::debug!("GET {}", scrub(&url));
        let mut response = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call()
            .map_err(|e| self.transport_failure(e, timeout))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let headers = Headers {
            quota_left: header("x-ratelimit-remaining-month")
                .and_then(|v| v.trim().parse::<u64>().ok()),
            retry_after: header("retry-after").and_then(|v| retry::retry_after(&v, self.clock())),
        };
        // Without its query, which may hold the key.
        let location = header("location")
            .map(|l| crate::untrusted::one_line(l.split('?').next().unwrap_or_default()));
        let body = response
            .body_mut()
            .with_config()
            .limit(s.max_body)
            .read_to_vec()
            .map_err(|e| self.transport_failure(e, timeout))?;
        Ok(Answer {
            status,
            headers,
            location,
            body,
        })
    }

    /// The time now, as the run's clock plus what has passed since.
    fn clock(&self) -> DateTime<Utc> {
        self.now + self.started.elapsed()
    }

    fn transport_failure(&self, err: ureq::Error, timeout: Duration) -> Failed {
        let s = &self.settings;
        let sent = !transport::never_left(&err);
        let kind = transport::classify(
            &err,
            transport::Limits {
                connect: s.connect_timeout,
                total: timeout,
                cut_short: timeout < s.timeout,
            },
        );
        let kind = match &self.proxy {
            Some(proxy) => transport::through_proxy(kind, &err, proxy),
            None => kind,
        };
        Failed { kind, sent }
    }
}
