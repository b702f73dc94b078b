//! What can go wrong with a request, as data: what happened, to which
//! request, and whether another try may help. The words a user reads and the
//! exit code are chosen at the command boundary (`crate::report`), not here.

use super::Call;
use crate::secret::scrub;
use std::fmt;
use std::time::Duration;

/// A request that did not bring usable data.
#[derive(Debug)]
pub(crate) struct FetchError {
    /// What was asked for.
    pub call: Call,
    /// The provider's host.
    pub host: String,
    /// Whether the endpoint is HTTPS.
    pub https: bool,
    /// Whether the key went in a header (APILayer) rather than the query.
    pub header_auth: bool,
    /// What happened on the last try (boxed: errors travel in `Result`s).
    pub kind: Box<FetchErrorKind>,
    /// Why no further try was made, when the last one was worth retrying.
    pub gave_up: Option<GaveUp>,
}

/// What happened on one try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FetchErrorKind {
    /// No answer within the time allowed: `connect` and `total` are the
    /// limits; `cut_short` says the run's time budget shortened `total`.
    Timeout {
        connect: Duration,
        total: Duration,
        cut_short: bool,
    },
    /// The answer was larger than `limit` bytes.
    TooLarge { limit: u64 },
    /// The host name did not resolve.
    HostNotFound,
    /// The connection could not be made.
    ConnectFailed,
    /// The connection broke off; `what` names how.
    ConnectionBroken { what: String },
    /// TLS failed: `why` in words; `certificate` when the server's
    /// certificate was refused (untrusted, expired, for another name).
    Tls { why: String, certificate: bool },
    /// The proxy (`proxy`, as messages name it) failed or refused: `what`
    /// in words, its HTTP status if it answered one; `retry` when another
    /// try may pass (the proxy unreachable, or 502 to 504).
    Proxy {
        proxy: String,
        what: String,
        status: Option<u16>,
        retry: bool,
    },
    /// The server was reached but its reply broke HTTP's rules; `what`
    /// names how (a bad chunk size, conflicting Content-Lengths, ...).
    Malformed { what: String },
    /// Another transport failure; `detail` is the library's text, scrubbed.
    Transport { detail: String },
    /// The endpoint answered with a redirect, which is never followed (the
    /// key would go along).
    Redirect { status: u16, location: String },
    /// An HTTP error status without fixer's own error envelope (or with the
    /// APILayer gateway's `{"message": ...}`).
    Status {
        status: u16,
        message: Option<String>,
        /// `x-ratelimit-remaining-month`, when the gateway sent it.
        quota_left: Option<u64>,
        /// `Retry-After`, when sent and readable.
        retry_after: Option<Duration>,
    },
    /// fixer's own refusal (`success: false`, or the APILayer error envelope).
    Provider(ProviderRefusal),
    /// HTTP 200, but a body that cannot be used; `why` says what is wrong.
    Unusable { why: String },
    /// The run's time budget was spent before the request could be sent.
    BudgetSpent {
        budget: Duration,
        after_retries: bool,
    },
    /// The request could not be recorded, so it was not sent.
    NotRecorded(RecordError),
}

/// fixer's error code, type and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProviderRefusal {
    /// The numeric code, from the answer or, for the APILayer envelope's
    /// string codes, from its type (0 when unknown).
    pub code: i64,
    /// Whether the answer itself carried the numeric code.
    pub code_sent: bool,
    pub kind: Option<String>,
    pub info: Option<String>,
}

/// Why a retryable failure was not tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// Every try allowed failed.
    Tries(u32),
    /// The server asked for a longer wait than a run waits.
    RetryAfter { asked: Duration, max: Duration },
    /// The run's time budget allows no further try.
    NoTimeLeft { budget: Duration },
}

/// A failure to record a request, from whatever keeps the record.
#[derive(Debug)]
pub(crate) struct RecordError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl PartialEq for RecordError {
    fn eq(&self, other: &RecordError) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for RecordError {}

impl Clone for RecordError {
    fn clone(&self) -> RecordError {
        RecordError(self.0.to_string().into())
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for FetchError {
    /// The record's own failure, so that its cause (a full disk, ...) can be
    /// told to the user.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            FetchErrorKind::NotRecorded(e) => Some(e.0.as_ref()),
            _ => None,
        }
    }
}

impl super::retry::TryFailure for FetchError {
    fn retryable(&self) -> bool {
        FetchError::retryable(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        self.kind.retry_after()
    }

    fn give_up(&mut self, why: GaveUp) {
        self.gave_up = Some(why);
    }
}

impl FetchError {
    /// Whether the same request may succeed if sent again.
    pub(crate) fn retryable(&self) -> bool {
        self.gave_up.is_none() && self.kind.retryable()
    }

    /// fixer's answer that its data has no rates for the date asked (106).
    pub(crate) fn is_no_rates(&self) -> bool {
        matches!(&*self.kind, FetchErrorKind::Provider(r) if r.code == 106)
    }

    /// Whether the provider answered this request with something that
    /// cannot be used (a bad body, one too large, broken HTTP, an unknown
    /// refusal or status): a fault of this answer, not of the settings or
    /// the network, so another day's request may still succeed.
    pub(crate) fn is_unusable(&self) -> bool {
        match &*self.kind {
            FetchErrorKind::TooLarge { .. }
            | FetchErrorKind::Malformed { .. }
            | FetchErrorKind::Unusable { .. } => true,
            // 101-106 are the account's or the plan's; 302 on `latest` is a
            // wrong endpoint. Any other code is about this answer.
            FetchErrorKind::Provider(r) => {
                let settings = (101..=106).contains(&r.code)
                    || (r.code == 302 && matches!(self.call, Call::Latest));
                !settings
            }
            FetchErrorKind::Status { status, .. } => {
                !matches!(status, 401 | 403 | 404 | 408 | 429 | 500..=599)
            }
            _ => false,
        }
    }

    /// Whether fixer cannot deliver what was asked for reasons another
    /// provider does not share: the key, account, plan or quota refused, a
    /// setting that sends the request astray, fixer or the way to it down,
    /// the run's time spent. Not an answer that came but cannot be used,
    /// fixer having no rates for the day, or a request that could not be
    /// recorded (the store's failure, which no provider mends).
    pub(crate) fn cannot_deliver(&self) -> bool {
        !(self.is_unusable()
            || self.is_no_rates()
            || matches!(&*self.kind, FetchErrorKind::NotRecorded(_)))
    }

    /// fixer's answer that the plan lacks the endpoint asked for (105
    /// `function_access_restricted`).
    pub(crate) fn is_plan_refusal(&self) -> bool {
        matches!(&*self.kind, FetchErrorKind::Provider(r)
            if r.code == 105 && r.kind.as_deref() == Some("function_access_restricted"))
    }
}

impl FetchErrorKind {
    /// Whether a failure of this kind may pass if the request is sent again:
    /// a timeout, a broken connection, HTTP 408, 429 or 5xx (unless the
    /// monthly quota is known to be spent). Never a refusal, bad data or a
    /// plan restriction: sending those again would only spend quota.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            FetchErrorKind::Timeout { .. } => true,
            FetchErrorKind::ConnectFailed | FetchErrorKind::ConnectionBroken { .. } => true,
            FetchErrorKind::Proxy { retry, .. } => *retry,
            FetchErrorKind::Status {
                status, quota_left, ..
            } => matches!(status, 408 | 429 | 500..=599) && *quota_left != Some(0),
            _ => false,
        }
    }

    /// The wait the server asked for, if it did.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchErrorKind::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A short, plain description: the request record's outcome and the log
/// line of a failed try. Never carries the key.
impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchErrorKind::Timeout { total, .. } => {
                write!(f, "no answer within {} ms", total.as_millis())
            }
            FetchErrorKind::TooLarge { limit } => write!(f, "answer larger than {limit} bytes"),
            FetchErrorKind::HostNotFound => f.write_str("host not found"),
            FetchErrorKind::ConnectFailed => f.write_str("cannot connect"),
            FetchErrorKind::ConnectionBroken { what } => write!(f, "connection failed ({what})"),
            FetchErrorKind::Tls { why, .. } => write!(f, "TLS failed: {why}"),
            FetchErrorKind::Malformed { what } => write!(f, "not valid HTTP: {what}"),
            FetchErrorKind::Proxy { proxy, what, .. } => write!(f, "proxy {proxy}: {what}"),
            FetchErrorKind::Transport { detail } => write!(f, "transport error: {detail}"),
            FetchErrorKind::Redirect { status, location } => {
                write!(f, "redirect (HTTP {status}) to {location}, not followed")
            }
            FetchErrorKind::Status {
                status, message, ..
            } => match message {
                Some(m) => write!(f, "HTTP {status}: {}", scrub(m.trim())),
                None => write!(f, "HTTP {status}"),
            },
            FetchErrorKind::Provider(r) => {
                write!(
                    f,
                    "fixer.io error {} ({})",
                    r.code,
                    r.kind.as_deref().unwrap_or("-")
                )?;
                match &r.info {
                    Some(i) => write!(f, ": {}", scrub(i.trim())),
                    None => Ok(()),
                }
            }
            FetchErrorKind::Unusable { why } => write!(f, "unusable answer: {}", scrub(why)),
            FetchErrorKind::BudgetSpent { budget, .. } => {
                write!(f, "time budget of {} s spent", budget.as_secs())
            }
            FetchErrorKind::NotRecorded(e) => write!(f, "not sent: cannot record it ({})", e.0),
        }
    }
}

/// Errors as the client builds them, for the tests of the modules that
/// judge them (here and at the command boundary).
#[cfg(test)]
pub(crate) mod samples {
    use super::*;

    pub(crate) fn error(call: Call, kind: FetchErrorKind) -> FetchError {
        FetchError {
            call,
            host: "data.fixer.io".into(),
            https: true,
            header_auth: false,
            kind: Box::new(kind),
            gave_up: None,
        }
    }

    pub(crate) fn refusal(code: i64, kind: &str) -> FetchErrorKind {
        FetchErrorKind::Provider(ProviderRefusal {
            code,
            code_sent: true,
            kind: Some(kind.into()),
            info: None,
        })
    }

    pub(crate) fn status(status: u16) -> FetchErrorKind {
        FetchErrorKind::Status {
            status,
            message: None,
            quota_left: None,
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::samples::{error, refusal, status};
    use super::*;
    use chrono::NaiveDate;

    /// `--fallback ecb` asks the ECB for what fixer cannot deliver.
    #[test]
    fn what_fixer_cannot_deliver() {
        let day = Call::Historical(NaiveDate::from_ymd_opt(2024, 9, 20).unwrap());
        let second = Duration::from_secs(1);
        let table = [
            (day, refusal(101, "invalid_access_key"), true),
            (day, refusal(101, "missing_access_key"), true),
            (day, refusal(102, "inactive_user"), true),
            (day, refusal(104, "usage_limit_reached"), true),
            (day, refusal(105, "function_access_restricted"), true),
            (Call::Latest, refusal(302, "invalid_date"), true),
            (day, status(401), true),
            (day, status(403), true),
            (day, status(404), true),
            (day, status(408), true),
            (day, status(429), true),
            (day, status(503), true),
            (day, FetchErrorKind::HostNotFound, true),
            (day, FetchErrorKind::ConnectFailed, true),
            (
                day,
                FetchErrorKind::Timeout {
                    connect: second,
                    total: second,
                    cut_short: false,
                },
                true,
            ),
            (
                day,
                FetchErrorKind::Tls {
                    why: "expired".into(),
                    certificate: true,
                },
                true,
            ),
            (
                day,
                FetchErrorKind::Proxy {
                    proxy: "p".into(),
                    what: "refused".into(),
                    status: None,
                    retry: false,
                },
                true,
            ),
            (
                day,
                FetchErrorKind::Redirect {
                    status: 301,
                    location: "x".into(),
                },
                true,
            ),
            (
                day,
                FetchErrorKind::BudgetSpent {
                    budget: second,
                    after_retries: true,
                },
                true,
            ),
            // fixer answered: what it said is the trouble, not whether it
            // can be reached.
            (day, refusal(106, "no_rates_available"), false),
            (day, refusal(302, "invalid_date"), false),
            (day, refusal(201, "invalid_base_currency"), false),
            (day, status(418), false),
            (day, FetchErrorKind::TooLarge { limit: 10 }, false),
            (day, FetchErrorKind::Malformed { what: "x".into() }, false),
            (day, FetchErrorKind::Unusable { why: "x".into() }, false),
            // The store failed: no provider mends that.
            (
                day,
                FetchErrorKind::NotRecorded(RecordError("disk full".into())),
                false,
            ),
        ];
        for (call, kind, expected) in table {
            let e = error(call, kind.clone());
            assert_eq!(e.cannot_deliver(), expected, "{call:?} {kind:?}");
        }
    }
}
