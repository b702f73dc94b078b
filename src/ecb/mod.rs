//! The European Central Bank's euro reference rates: the keyless source.
//!
//! One request to the data API covers any window (`data`), read as a CSV
//! stream; when that fails for a recent window, the reference file of the
//! last 90 days (`recent`) is the fallback, and when the query for every
//! currency answers nothing, one query per currency (`series`) is the
//! workaround for the ECB's known outages of the former. All go through the same
//! agents, proxies, CAs, timeouts, retries and request record as fixer's
//! requests. The ECB's calendar is `crate::target_calendar`.

mod csv;
pub(crate) mod currencies;
mod error;
mod xml;

pub(crate) use error::{Ask, EcbError, EcbErrorKind};

use crate::fixer::{Endpoint, FetchErrorKind, Jitter, Pace, Recorder, RetryPolicy};
use crate::rates::{Currency, RateSet};
use chrono::{DateTime, NaiveDate, Utc};
use std::io::Read;
use std::time::{Duration, Instant};

/// The data API's default base URL.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://data-api.ecb.europa.eu/service";

/// Where the reference files are by default.
pub(crate) const DEFAULT_FILES: &str = "https://www.ecb.europa.eu/stats/eurofxref";

/// The largest answer read from the ECB: the whole history since 1999 is
/// about 13 MB in the data-only format, which grows by about half a
/// megabyte a year.
pub(crate) const MAX_BODY: u64 = 64 * 1024 * 1024;

/// The largest error page read, to be named in a message.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Days with their rates, oldest first.
pub(crate) type Days = Vec<(NaiveDate, RateSet)>;

/// Connection settings.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub network: crate::net::Network,
    /// The data API's base URL.
    pub endpoint: Endpoint,
    /// The reference files' base URL.
    pub files: Endpoint,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    pub retry: RetryPolicy,
}

/// The data API's URL for every currency's daily reference rate from
/// `from` to `to`.
pub(crate) fn data_url(endpoint: &str, from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "{endpoint}/data/EXR/D..EUR.SP00.A?format=csvdata&detail=dataonly&startPeriod={from}&endPeriod={to}"
    )
}

/// The data API's URL for one currency's daily reference rate from `from`
/// to `to`.
pub(crate) fn series_url(
    endpoint: &str,
    currency: Currency,
    from: NaiveDate,
    to: NaiveDate,
) -> String {
    format!(
        "{endpoint}/data/EXR/D.{currency}.EUR.SP00.A?format=csvdata&detail=dataonly&startPeriod={from}&endPeriod={to}"
    )
}

/// The 90-day reference file's URL.
pub(crate) fn recent_url(files: &str) -> String {
    format!("{files}/eurofxref-hist-90d.xml")
}

/// Whether `text` is a rate as the ECB writes one: a positive plain
/// decimal (digits, at most one point), of a sane length.
fn is_rate(text: &str) -> bool {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    text.len() <= 40
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(text.contains('.') && frac.is_empty())
        && text.bytes().any(|b| (b'1'..=b'9').contains(&b))
        && crate::decimal::parse_exact(text).is_some()
}

/// `days` if no day holds a currency twice; else the line (0: unknown) and
/// what is wrong.
fn checked(days: Days) -> Result<Days, (u64, String)> {
    for (date, rates) in &days {
        if let Some(c) = rates.duplicate() {
            return Err((0, format!("{c} twice on {date}")));
        }
    }
    Ok(days)
}

/// An agent for one base URL, and the proxy it goes through.
type Route = (ureq::Agent, Option<crate::net::Proxy>);

pub(crate) struct Client {
    data: Route,
    files: Route,
    settings: Settings,
    now: DateTime<Utc>,
    started: Instant,
    jitter: Jitter,
}

impl Client {
    /// A client for `settings`, or why none can be had: a proxy that cannot
    /// be honoured for either address (fxrates never goes around one), in
    /// one line.
    pub(crate) fn new(settings: Settings, now: DateTime<Utc>) -> Result<Client, String> {
        let route = |endpoint: &Endpoint, accept: &'static str| -> Result<Route, String> {
            settings
                .network
                .route(endpoint.is_https(), endpoint.host(), |config| {
                    config
                        .timeout_connect(Some(settings.connect_timeout))
                        .timeout_global(Some(settings.timeout))
                        .http_status_as_error(false)
                        // No key to leak, but a redirect is still a change of
                        // address the operator should make themselves.
                        .max_redirects(0)
                        .user_agent(concat!("fxrates/", env!("CARGO_PKG_VERSION")))
                        .accept(accept)
                })
                .map(|r| (r.agent, r.proxy))
        };
        Ok(Client {
            data: route(&settings.endpoint, "text/csv")?,
            files: route(&settings.files, "application/xml")?,
            settings,
            now,
            started: Instant::now(),
            jitter: Jitter::new(),
        })
    }

    /// Every currency's rates from `from` to `to`, in one request. No days
    /// at all (a 404 "No results found", or an empty 200) is `Ok` and
    /// empty: only the caller knows whether the window must hold a day.
    pub(crate) fn data(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        recorder: &mut dyn Recorder,
    ) -> Result<Days, EcbError> {
        self.fetch(Ask::Data(from, to), recorder)
    }

    /// One currency's rates from `from` to `to`, in one request; no days is
    /// `Ok` and empty, as for [`Client::data`]. An answer holding another
    /// currency is unusable.
    pub(crate) fn series(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
        recorder: &mut dyn Recorder,
    ) -> Result<Days, EcbError> {
        self.fetch(Ask::Series(currency, from, to), recorder)
    }

    /// The 90-day reference file.
    pub(crate) fn recent(&self, recorder: &mut dyn Recorder) -> Result<Days, EcbError> {
        self.fetch(Ask::Recent, recorder)
    }

    fn host(&self, ask: Ask) -> String {
        match ask {
            Ask::Data(..) | Ask::Series(..) => self.settings.endpoint.host().to_string(),
            Ask::Recent => self.settings.files.host().to_string(),
        }
    }

    fn error(&self, ask: Ask, kind: EcbErrorKind) -> EcbError {
        EcbError {
            ask,
            host: self.host(ask),
            kind: Box::new(kind),
            gave_up: None,
        }
    }

    /// Sends `ask` until it succeeds, fails for good, runs out of tries or
    /// out of the run's time budget; each try recorded before it is sent.
    fn fetch(&self, ask: Ask, recorder: &mut dyn Recorder) -> Result<Days, EcbError> {
        let pace = Pace {
            policy: &self.settings.retry,
            jitter: &self.jitter,
            now: self.now,
            started: self.started,
        };
        // The ECB counts no quota, so whether a request left the machine is
        // not worked out.
        pace.send(
            recorder,
            ask.name(),
            |left| {
                self.try_once(ask, left.min(self.settings.timeout))
                    .map_err(|kind| (self.error(ask, kind), true))
            },
            |kind| self.error(ask, EcbErrorKind::Transport(kind)),
        )
    }

    /// When the run's time budget (`--max-run-time`) runs out.
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.settings.retry.budget
    }

    fn clock(&self) -> DateTime<Utc> {
        self.now + self.started.elapsed()
    }

    /// One try, within `timeout`: send, then read the answer as it comes.
    fn try_once(&self, ask: Ask, timeout: Duration) -> Result<Days, EcbErrorKind> {
        let (route, url) = match ask {
            Ask::Data(from, to) => (
                &self.data,
                data_url(self.settings.endpoint.as_str(), from, to),
            ),
            Ask::Series(currency, from, to) => (
                &self.data,
                series_url(self.settings.endpoint.as_str(), currency, from, to),
            ),
            Ask::Recent => (&self.files, recent_url(self.settings.files.as_str())),
        };
        let (agent, proxy) = route;
        log::debug!("GET {url}");
        let transport = |e: ureq::Error| EcbErrorKind::Transport(self.failure(&e, timeout, proxy));
        let mut response = agent
            .get(&url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call()
            .map_err(transport)?;
        let status = response.status().as_u16();
        log::debug!("HTTP {status} from {}", self.host(ask));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if let Some(proxy) = proxy
            && status == 407
        {
            return Err(EcbErrorKind::Transport(FetchErrorKind::Proxy {
                proxy: proxy.shown(),
                what: "it asks for credentials".into(),
                status: Some(407),
                retry: false,
            }));
        }
        if status != 200 {
            let retry_after =
                header("retry-after").and_then(|v| crate::fixer::retry_after(&v, self.clock()));
            let location = header("location");
            // Read (a little of) the body so that the connection can be
            // reused; its words are not needed.
            let _ = response
                .body_mut()
                .with_config()
                .limit(MAX_ERROR_BODY)
                .read_to_vec();
            return match (status, ask) {
                // "No results found" for a range without data.
                (404, Ask::Data(..) | Ask::Series(..)) => Ok(Vec::new()),
                (300..=399, _) => Err(EcbErrorKind::Transport(FetchErrorKind::Redirect {
                    status,
                    location: location
                        .map(|l| crate::untrusted::one_line(&l))
                        .unwrap_or_else(|| "an unnamed location".into()),
                })),
                _ => Err(EcbErrorKind::Status {
                    status,
                    retry_after,
                }),
            };
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(self.settings.max_body)
            .reader();
        match ask {
            Ask::Data(..) => read_csv(body).map_err(|e| self.csv_failure(e, timeout, proxy)),
            Ask::Series(currency, ..) => {
                let days = read_csv(body).map_err(|e| self.csv_failure(e, timeout, proxy))?;
                only(currency, days).map_err(|why| EcbErrorKind::Unusable { why })
            }
            Ask::Recent => {
                let mut text = String::new();
                let mut body = body;
                body.read_to_string(&mut text).map_err(|e| {
                    EcbErrorKind::Transport(self.failure(&ureq::Error::from(e), timeout, proxy))
                })?;
                xml::parse(&text).map_err(|why| EcbErrorKind::Unusable { why })
            }
        }
    }

    fn csv_failure(
        &self,
        e: csv::CsvError,
        timeout: Duration,
        proxy: &Option<crate::net::Proxy>,
    ) -> EcbErrorKind {
        match e {
            csv::CsvError::Header { missing } => EcbErrorKind::Header { missing },
            csv::CsvError::Row { line: 0, why } => EcbErrorKind::Unusable { why },
            csv::CsvError::Row { line, why } => EcbErrorKind::Unusable {
                why: format!("line {line}: {why}"),
            },
            csv::CsvError::Io(io) => {
                EcbErrorKind::Transport(self.failure(&ureq::Error::from(io), timeout, proxy))
            }
        }
    }

    fn failure(
        &self,
        err: &ureq::Error,
        timeout: Duration,
        proxy: &Option<crate::net::Proxy>,
    ) -> FetchErrorKind {
        let s = &self.settings;
        let kind = crate::fixer::classify(
            err,
            crate::fixer::Limits {
                connect: s.connect_timeout,
                total: timeout,
                cut_short: timeout < s.timeout,
            },
        );
        match proxy {
            Some(p) => crate::fixer::through_proxy(kind, err, p),
            None => kind,
        }
    }
}

/// `days` if they hold `currency` alone, as its single-currency query must.
fn only(currency: Currency, days: Days) -> Result<Days, String> {
    for (date, rates) in &days {
        if let Some((other, _)) = rates.iter().find(|(c, _)| *c != currency) {
            return Err(format!(
                "a rate for {other} on {date} in the answer for {currency} alone"
            ));
        }
    }
    Ok(days)
}

/// The CSV reader, fed as the bytes arrive.
fn read_csv(body: impl Read) -> Result<Days, csv::CsvError> {
    csv::parse(std::io::BufReader::with_capacity(64 * 1024, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;

    #[test]
    fn one_url_asks_for_every_currency_of_the_window() {
        assert_eq!(
            data_url(
                DEFAULT_ENDPOINT,
                parse_date("1999-01-04").unwrap(),
                parse_date("2026-09-03").unwrap()
            ),
            "https://data-api.ecb.europa.eu/service/data/EXR/D..EUR.SP00.A?format=csvdata\
             &detail=dataonly&startPeriod=1999-01-04&endPeriod=2026-09-03"
        );
        assert_eq!(
            series_url(
                DEFAULT_ENDPOINT,
                Currency::parse("USD").unwrap(),
                parse_date("2024-01-02").unwrap(),
                parse_date("2024-03-01").unwrap()
            ),
            "https://data-api.ecb.europa.eu/service/data/EXR/D.USD.EUR.SP00.A?format=csvdata\
             &detail=dataonly&startPeriod=2024-01-02&endPeriod=2024-03-01"
        );
        assert_eq!(
            recent_url(DEFAULT_FILES),
            "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
        );
        assert!(Endpoint::parse(DEFAULT_ENDPOINT).is_ok());
        assert!(Endpoint::parse(DEFAULT_FILES).is_ok());
    }

    #[test]
    fn rates_are_positive_plain_decimals() {
        for good in ["1.1615", "0.8338", "171", "0.83380", "15632.42"] {
            assert!(is_rate(good), "{good}");
        }
        for bad in [
            "", "0", "0.000", "-1", "1.", ".5", "1e3", "NaN", "1,2", " 1.2", "+1",
        ] {
            assert!(!is_rate(bad), "{bad}");
        }
    }
}
