//! What can go wrong when asking the ECB, as data. The words a user reads
//! and the exit code are chosen at the command boundary (`crate::error`).

use crate::fixer::{FetchErrorKind, GaveUp};
use crate::rates::Currency;
use chrono::NaiveDate;
use std::fmt;
use std::time::Duration;

/// What was asked of the ECB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ask {
    /// The data API, for every currency from one day to another.
    Data(NaiveDate, NaiveDate),
    /// The reference file of the last 90 days.
    Recent,
    /// The data API, for one currency from one day to another: the
    /// workaround when the query for every currency answers nothing.
    Series(Currency, NaiveDate, NaiveDate),
}

impl Ask {
    /// The name in the request record.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ask::Data(..) => "ecb-data",
            Ask::Recent => "ecb-90d",
            Ask::Series(..) => "ecb-currency",
        }
    }
}

impl fmt::Display for Ask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ask::Data(a, b) if a == b => write!(f, "{a}"),
            Ask::Data(a, b) => write!(f, "{a} to {b}"),
            Ask::Recent => f.write_str("the 90-day reference file"),
            Ask::Series(c, a, b) if a == b => write!(f, "{c} alone on {a}"),
            Ask::Series(c, a, b) => write!(f, "{c} alone from {a} to {b}"),
        }
    }
}

/// A request to the ECB that brought no usable data.
#[derive(Debug)]
pub(crate) struct EcbError {
    pub ask: Ask,
    /// The ECB's host (or whichever the endpoint names).
    pub host: String,
    pub kind: Box<EcbErrorKind>,
    /// Why no further try was made, when the last one was worth retrying.
    pub gave_up: Option<GaveUp>,
}

/// What happened on one try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EcbErrorKind {
    /// The way to the server failed, or the run's time budget or the
    /// request record did; as for fixer.
    Transport(FetchErrorKind),
    /// An HTTP status that is neither data nor "no data".
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The CSV header lacks columns fxrates needs: not the answer asked for.
    Header { missing: Vec<&'static str> },
    /// An answer that cannot be used; `why` says what is wrong.
    Unusable { why: String },
}

impl crate::fixer::TryFailure for EcbError {
    fn retryable(&self) -> bool {
        self.gave_up.is_none() && self.kind.retryable()
    }

    fn retry_after(&self) -> Option<Duration> {
        self.kind.retry_after()
    }

    fn give_up(&mut self, why: GaveUp) {
        self.gave_up = Some(why);
    }
}

impl EcbErrorKind {
    pub(crate) fn retryable(&self) -> bool {
        match self {
            EcbErrorKind::Transport(k) => k.retryable(),
            EcbErrorKind::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            EcbErrorKind::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Short and plain: the request record's outcome, a failed try's log line.
impl fmt::Display for EcbErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EcbErrorKind::Transport(k) => k.fmt(f),
            EcbErrorKind::Status { status, .. } => write!(f, "HTTP {status}"),
            EcbErrorKind::Header { missing } => {
                write!(f, "no {} column in the answer", missing.join(", "))
            }
            EcbErrorKind::Unusable { why } => write!(f, "unusable answer: {why}"),
        }
    }
}

impl fmt::Display for EcbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for EcbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.kind {
            EcbErrorKind::Transport(FetchErrorKind::NotRecorded(e)) => Some(e.0.as_ref()),
            _ => None,
        }
    }
}
