//! Fetching from the ECB: the missing TARGET business days of a window, in
//! one request, stored with the provider `ecb`. A day stored from fixer is
//! never replaced. When the data API fails for a window within the last 90
//! days, the 90-day reference file is read instead; when it answers no data
//! for days it has published and the file cannot help, one query per
//! currency (`by_currency`). The run says which, and why.

use crate::ecb::{Client, Days, EcbError};
use crate::error::{Exit, fail};
use crate::fixer::{RecordError, Recorder};
use crate::rates::{EUR, Source};
use crate::store::{NewDay, Provenance, Request, RequestId, Store};
use crate::target_calendar::{business_days, is_business_day, last_published_date};
use chrono::{DateTime, Days as Span, NaiveDate, Utc};
use std::collections::BTreeSet;

/// How far back the 90-day reference file reaches (it holds about 64
/// business days; a window must lie within it).
const RECENT_DAYS: u64 = 90;

/// Days stored per transaction: an interrupted whole-history fetch keeps
/// the years already written.
const DAYS_PER_COMMIT: usize = 366;

/// What a fetch from the ECB did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Filled {
    /// The business days that were missing and asked for.
    pub wanted: usize,
    /// The days stored (a day the answer held that the calendar did not
    /// expect is stored too).
    pub stored: usize,
    /// The latest day asked for, when the ECB has not published it yet.
    pub not_yet: Option<NaiveDate>,
    /// Requests sent.
    pub requests: u64,
    /// Where the days came from instead of the data API's query for every
    /// currency, if they did (words for the run's summary).
    pub fallback: Option<&'static str>,
}

/// Records every request to the ECB before it is sent.
pub(super) struct Ledger<'s> {
    pub store: &'s mut dyn Store,
    pub requests: &'s mut u64,
}

impl Recorder for Ledger<'_> {
    fn sending(&mut self, at: DateTime<Utc>, endpoint: &'static str) -> Result<i64, RecordError> {
        let id = self
            .store
            .record_request(&Request {
                at,
                endpoint,
                outcome: Request::UNANSWERED,
            })
            .map_err(|e| RecordError(Box::new(e)))?;
        *self.requests += 1;
        Ok(id.0)
    }

    // The ECB counts no quota: a request that never left costs nothing more
    // than one that did.
    fn answered(&mut self, token: i64, outcome: &str, _sent: bool) -> Result<(), RecordError> {
        self.store
            .set_request_outcome(RequestId(token), &crate::untrusted::one_line(outcome))
            .map_err(|e| RecordError(Box::new(e)))
    }
}

/// The days of `from..=to` an ECB fetch asks for: the TARGET business days
/// up to the last one published by `now`, neither stored nor known to have
/// no rates; with `replace`, the days stored from the ECB too.
pub(crate) fn wanted_days(
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    replace: bool,
) -> anyhow::Result<Vec<NaiveDate>> {
    let to = to.min(last_published_date(now));
    if from > to {
        return Ok(Vec::new());
    }
    let stored = store.stored_between(from, to)?;
    let unavailable = store.unavailable_between(from, to)?;
    let fixer = if replace {
        fixer_days(store, from, to)?
    } else {
        BTreeSet::new()
    };
    Ok(business_days(from, to)
        .filter(|d| {
            if replace {
                !fixer.contains(d)
            } else {
                !stored.contains(d) && !unavailable.contains(d)
            }
        })
        .collect())
}

/// The days of `from..=to` stored from fixer.
fn fixer_days(
    store: &dyn Store,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<BTreeSet<NaiveDate>> {
    let mut days = BTreeSet::new();
    crate::store::walk_days(store, from, to, &[], |day| {
        if day.provider == Source::Fixer {
            days.insert(day.date);
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(days)
}

/// Fetches `wanted` (business days, in order) from the ECB in one request
/// and stores them; `today` is the run's date, for the fallback's reach.
pub(crate) fn fill(
    store: &mut dyn Store,
    client: &Client,
    wanted: &[NaiveDate],
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<Filled> {
    let mut out = Filled {
        wanted: wanted.len(),
        ..Filled::default()
    };
    let (Some(&first), Some(&last)) = (wanted.first(), wanted.last()) else {
        return Ok(out);
    };
    let answer = {
        let mut ledger = Ledger {
            store: &mut *store,
            requests: &mut out.requests,
        };
        client.data(first, last, &mut ledger)
    };
    // A past day the ECB must have published, yet no data at all: the
    // source is failing, not "no rates".
    let must_hold = wanted.iter().any(|d| *d < last);
    let failure = match answer {
        Ok(days) if !days.is_empty() || !must_hold => {
            return store_answer(store, days, wanted, now, "ecb-data", out);
        }
        Ok(_) => Failure::Empty,
        Err(e) => Failure::Error(e),
    };
    if !failure.worth_fallback() {
        return Err(failure.into_error(first, last));
    }
    let why = failure.to_string();
    let reach = today
        .checked_sub_days(Span::new(RECENT_DAYS))
        .unwrap_or(today);
    let recent_failed = if first >= reach {
        let recent = {
            let mut ledger = Ledger {
                store: &mut *store,
                requests: &mut out.requests,
            };
            client.recent(&mut ledger)
        };
        match recent {
            Ok(days) => {
                log::warn!(
                    "the ECB's data API failed for {first} to {last} ({why}); used its 90-day \
                     reference file instead"
                );
                out.fallback = Some("from its 90-day reference file");
                return store_answer(store, days, wanted, now, "ecb-90d", out);
            }
            Err(e) => {
                log::warn!("the ECB's 90-day reference file could not be used either: {e}");
                "and its 90-day reference file failed too"
            }
        }
    } else {
        "outside its 90-day reference file"
    };
    // The known outage of the query for every currency: single-currency
    // queries answer meanwhile. Any other failure is no reason to send a
    // request per currency.
    if !matches!(failure, Failure::Empty) {
        return Err(failure.into_error(first, last));
    }
    let days = super::by_currency::fetch(store, client, (first, last), &mut out.requests)?;
    if days.is_empty() {
        return Err(failure.into_error(first, last));
    }
    log::warn!(
        "the ECB's data API answered no data for {first} to {last} to its query for every \
         currency ({recent_failed}); asked one currency at a time instead"
    );
    out.fallback = Some("one currency at a time");
    store_answer(store, days, wanted, now, "ecb-currency", out)
}

/// Why the data API let a run down.
enum Failure {
    /// No data for a window that must hold a published day.
    Empty,
    Error(EcbError),
}

impl Failure {
    /// Whether the reference file may do better: not when the request
    /// could not even be recorded, or the run's time is spent.
    fn worth_fallback(&self) -> bool {
        use crate::ecb::EcbErrorKind as K;
        use crate::fixer::FetchErrorKind as F;
        match self {
            Failure::Empty => true,
            Failure::Error(e) => !matches!(
                &*e.kind,
                K::Transport(F::NotRecorded(_) | F::BudgetSpent { .. })
            ),
        }
    }

    fn into_error(self, first: NaiveDate, last: NaiveDate) -> anyhow::Error {
        match self {
            Failure::Empty => fail(
                Exit::TempFail,
                format!(
                    "the ECB answered no data for {first} to {last}, which holds days it has \
                     published; its service is failing: try again later"
                ),
            ),
            Failure::Error(e) => e.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Empty => f.write_str("it answered no data"),
            Failure::Error(e) => write!(f, "{e}"),
        }
    }
}

/// Stores the days of `days` that were wanted, or that lie within the
/// wanted window and are not stored at all; marks a wanted business day
/// the answer skipped between days it has as one without rates.
fn store_answer(
    store: &mut dyn Store,
    days: Days,
    wanted: &[NaiveDate],
    now: DateTime<Utc>,
    endpoint: &'static str,
    mut out: Filled,
) -> anyhow::Result<Filled> {
    let (first, last) = (wanted[0], wanted[wanted.len() - 1]);
    let wanted_set: BTreeSet<NaiveDate> = wanted.iter().copied().collect();
    let stored = store.stored_between(first, last)?;
    let in_window = |d: &NaiveDate| (first..=last).contains(d);
    let keep: Vec<NewDay<'_>> = days
        .iter()
        .filter(|(d, _)| {
            in_window(d)
                && !crate::calendar::is_weekend(*d)
                && (wanted_set.contains(d) || !stored.contains(d))
        })
        .map(|(d, rates)| NewDay {
            date: *d,
            source_date: *d,
            source_timestamp: None,
            rates,
        })
        .collect();
    let provenance = Provenance {
        endpoint,
        fetched_at: now,
        provider: Source::Ecb,
    };
    for chunk in keep.chunks(DAYS_PER_COMMIT) {
        store.put_days(chunk, EUR, &provenance)?;
        out.stored += chunk.len();
    }
    let got: BTreeSet<NaiveDate> = keep.iter().map(|d| d.date).collect();
    let answered: Vec<NaiveDate> = days.iter().map(|(d, _)| *d).collect();
    let latest = answered.last().copied();
    for &date in wanted {
        if got.contains(&date) {
            continue;
        }
        if latest.is_some_and(|l| date < l) && is_business_day(date) {
            store.mark_unavailable(date, now, "not in the ECB's answer")?;
            log::warn!(
                "the ECB published no rates for {date}, a TARGET business day, though it has \
                 days after it; recorded, and not asked again"
            );
        } else if date == last {
            out.not_yet = Some(date);
        } else {
            log::warn!("the ECB's answer does not reach {date}; it stays missing");
        }
    }
    Ok(out)
}
