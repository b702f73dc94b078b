//! Fetching the weekdays of a window that are not stored yet: the one code
//! path behind `backfill` and the healing step of `ingest`.
//!
//! A [`Plan`] is made from the database alone (no request), so its cost can
//! be shown and checked against the budget before anything is sent. A
//! [`Fetcher`] then carries it out, committing every day as soon as it
//! arrives, so that an interruption keeps what was fetched.

use crate::calendar::weekdays;
use crate::error::{Exit, fail};
use crate::fixer::{Attempt, Client, ProviderCode};
use crate::progress::Progress;
use crate::quota::Budget;
use crate::rates::{EUR, Snapshot};
use crate::store::{NewDay, Provenance, Request, Store, TimeseriesAnswer};
use anyhow::Context;
use chrono::{DateTime, Days, NaiveDate, Utc};
use std::collections::BTreeSet;

/// The longest window one `timeseries` request may cover, in days.
pub const CHUNK_DAYS: u64 = 365;

/// After the plan refused `timeseries`, how many days pass before fxrates
/// tries it again on its own (the plan may have been upgraded).
pub const TIMESERIES_RETRY_DAYS: i64 = 31;

/// How far the provider's date may be from the business date asked for
/// before the answer is refused.
const MAX_DATE_DRIFT_DAYS: i64 = 7;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// One request per missing day.
    Historical,
    /// One request per run of up to [`CHUNK_DAYS`] days.
    Timeseries,
}

/// The missing weekdays of a window and how they will be fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Weekdays neither stored nor known to be unavailable, in date order.
    pub missing: Vec<NaiveDate>,
    pub method: Method,
}

/// What the plan answered the last time `timeseries` was asked.
fn timeseries_refused_on(store: &dyn Store) -> anyhow::Result<Option<NaiveDate>> {
    Ok(store
        .timeseries_answer()?
        .filter(|a| !a.allowed)
        .map(|a| a.on))
}

impl Plan {
    /// Plans the window from `from` to `to` (both included). `today` decides
    /// whether a refusal of `timeseries` is old enough to try again;
    /// `retry_timeseries` tries it regardless.
    pub fn new(
        store: &dyn Store,
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        retry_timeseries: bool,
    ) -> anyhow::Result<Plan> {
        let stored = store.stored_between(from, to)?;
        let unavailable = store.unavailable_between(from, to)?;
        let missing: Vec<NaiveDate> = weekdays(from, to)
            .filter(|d| !stored.contains(d) && !unavailable.contains(d))
            .collect();
        // One missing day costs one request either way; the historical
        // endpoint works on every plan.
        let method = if missing.len() < 2 {
            Method::Historical
        } else {
            match timeseries_refused_on(store)? {
                Some(on)
                    if !retry_timeseries && (today - on).num_days() < TIMESERIES_RETRY_DAYS =>
                {
                    Method::Historical
                }
                _ => Method::Timeseries,
            }
        };
        Ok(Plan {
            from,
            to,
            missing,
            method,
        })
    }

    /// The `timeseries` windows: each starts on a missing day and ends on
    /// the last missing day within [`CHUNK_DAYS`] of it.
    pub fn chunks(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut chunks = Vec::new();
        let mut rest = &self.missing[..];
        while let Some(&start) = rest.first() {
            let limit = start
                .checked_add_days(Days::new(CHUNK_DAYS - 1))
                .unwrap_or(NaiveDate::MAX);
            let n = rest.partition_point(|d| *d <= limit);
            chunks.push((start, rest[n - 1]));
            rest = &rest[n..];
        }
        chunks
    }

    /// The requests the plan makes if every answer is a success.
    pub fn requests(&self) -> u64 {
        match self.method {
            Method::Historical => self.missing.len() as u64,
            Method::Timeseries => self.chunks().len() as u64,
        }
    }

    /// Drops the oldest missing days so that at most `requests` are made.
    pub fn keep_newest(&mut self, requests: u64) {
        let keep_from = match self.method {
            Method::Historical => {
                let n = self.missing.len().saturating_sub(requests as usize);
                self.missing.get(n).copied()
            }
            Method::Timeseries => {
                let chunks = self.chunks();
                let n = chunks.len().saturating_sub(requests as usize);
                chunks.get(n).map(|c| c.0)
            }
        };
        match keep_from {
            Some(first) => self.missing.retain(|d| *d >= first),
            None => self.missing.clear(),
        }
    }

    /// One line for the log: what is missing and what it will cost.
    pub fn describe(&self) -> String {
        let how = match self.method {
            Method::Historical => "one historical request per day",
            Method::Timeseries => "timeseries, up to 365 days per request",
        };
        let n = self.requests();
        format!(
            "{} weekdays missing from {} to {}; {n} request{} planned ({how})",
            self.missing.len(),
            self.from,
            self.to,
            if n == 1 { "" } else { "s" }
        )
    }
}

/// What to do with a plan that needs more requests than the budget has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Refuse it before any request (`backfill`).
    Refuse,
    /// Fetch the newest days that fit and leave the rest for later (healing).
    Truncate,
    /// Go ahead (`--ignore-quota`).
    Ignore,
}

/// Makes `plan` fit the budget as `limit` says, or refuses it.
pub fn fit(plan: &mut Plan, budget: &Budget, limit: Limit, what: &str) -> anyhow::Result<()> {
    let needed = plan.requests();
    let remaining = budget.remaining();
    if needed <= remaining {
        return Ok(());
    }
    match limit {
        Limit::Refuse => Err(budget.refuse(needed, what)),
        Limit::Ignore => {
            log::warn!(
                "{what} needs {needed} requests, more than the {remaining} left of the monthly \
                 quota of {}; going ahead as --ignore-quota asks",
                budget.quota
            );
            Ok(())
        }
        Limit::Truncate => {
            let before = plan.missing.len();
            plan.keep_newest(remaining);
            log::warn!(
                "{what}: {before} missing weekdays need {needed} requests, but only {remaining} of \
                 the monthly quota of {} remain; fetching {} now and leaving {} for when the budget \
                 allows (FIXER_MONTHLY_QUOTA sets it)",
                budget.quota,
                plan.missing.len(),
                before - plan.missing.len()
            );
            Ok(())
        }
    }
}

/// Records requests made to the provider, for the quota.
pub fn record_attempts(store: &mut dyn Store, attempts: &[Attempt]) -> anyhow::Result<()> {
    for a in attempts {
        store.record_request(&Request {
            at: a.at,
            endpoint: a.endpoint,
            outcome: &a.outcome,
        })?;
    }
    Ok(())
}

/// Refuses an answer dated far from the day asked for; warns on a small drift.
pub fn check_drift(date: NaiveDate, snapshot: &Snapshot) -> anyhow::Result<()> {
    let drift = (snapshot.source_date - date).num_days().abs();
    if drift > MAX_DATE_DRIFT_DAYS {
        return Err(fail(
            Exit::DataErr,
            format!(
                "fixer.io answered with rates dated {} when {date} was asked for; nothing was stored",
                snapshot.source_date
            ),
        ));
    }
    if drift != 0 {
        log::warn!(
            "fixer.io dated its answer {} for business day {date}; stored under {date}, with the provider's date kept",
            snapshot.source_date
        );
    }
    Ok(())
}

/// What a fetch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stored: usize,
    /// Days fixer has no rates for, now recorded as such.
    pub unavailable: Vec<NaiveDate>,
    pub requests: u64,
}

/// Carries out a plan.
pub struct Fetcher<'a> {
    pub store: &'a mut dyn Store,
    pub client: &'a Client,
    /// The run's clock, for provenance and the records.
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    /// This month's budget; counts the requests made as they are made.
    pub budget: Budget,
    /// Applied again if the plan must switch to one request per day.
    pub limit: Limit,
    /// The name of the work in messages: "backfill", "healing".
    pub what: &'static str,
    /// The level of the notes on how the plan changes as it goes: info for
    /// backfill, debug where the run ends with its own summary line.
    pub notes: log::Level,
}

enum Chunk {
    Done,
    Refused,
}

impl Fetcher<'_> {
    /// Fetches and stores the plan's days. On an error (quota used up, the
    /// provider failing, ...) it stops at once; what was stored stays.
    pub fn run(&mut self, mut plan: Plan) -> anyhow::Result<Outcome> {
        let total = plan.missing.len();
        let mut out = Outcome::default();
        let mut progress = Progress::new("fetching weekdays", total);
        let result = self.fetch_all(&mut plan, &mut out, &mut progress);
        drop(progress);
        result.map(|()| out.clone()).with_context(|| {
            format!(
                "{} stopped after storing {} of {total} missing weekdays (they are kept)",
                self.what, out.stored
            )
        })
    }

    fn fetch_all(
        &mut self,
        plan: &mut Plan,
        out: &mut Outcome,
        progress: &mut Progress,
    ) -> anyhow::Result<()> {
        if plan.method == Method::Timeseries {
            for (from, to) in plan.chunks() {
                if let Chunk::Refused = self.timeseries(plan, from, to, out, progress)? {
                    plan.method = Method::Historical;
                    plan.missing.retain(|d| *d >= from);
                    fit(plan, &self.budget, self.limit, self.what)?;
                    log::log!(self.notes, "{}", plan.describe());
                    break;
                }
            }
        }
        if plan.method == Method::Historical {
            for &date in &plan.missing {
                self.historical(date, out)?;
                progress.advance(1);
            }
        }
        Ok(())
    }

    /// Records the requests just made, for the quota.
    fn record(&mut self, out: &mut Outcome) -> anyhow::Result<()> {
        let attempts = self.client.take_attempts();
        record_attempts(&mut *self.store, &attempts)?;
        self.budget.used += attempts.len() as u64;
        out.requests += attempts.len() as u64;
        Ok(())
    }

    fn timeseries(
        &mut self,
        plan: &Plan,
        from: NaiveDate,
        to: NaiveDate,
        out: &mut Outcome,
        progress: &mut Progress,
    ) -> anyhow::Result<Chunk> {
        let result = self.client.timeseries(from, to);
        self.record(out)?;
        let days = match result {
            Ok(days) => days,
            Err(e) if ProviderCode::of(&e).is_some_and(ProviderCode::is_function_restricted) => {
                self.store.set_timeseries_answer(TimeseriesAnswer {
                    allowed: false,
                    on: self.today,
                })?;
                log::log!(
                    self.notes,
                    "the fixer.io plan does not include the timeseries endpoint; fetching one day \
                     per request instead (remembered: asked again after {TIMESERIES_RETRY_DAYS} \
                     days, or with `fxrates backfill --retry-timeseries`)"
                );
                return Ok(Chunk::Refused);
            }
            Err(e) => return Err(e),
        };
        self.store.set_timeseries_answer(TimeseriesAnswer {
            allowed: true,
            on: self.today,
        })?;
        // Only the missing weekdays asked for: never a weekend key, never a
        // stored day, never a day outside the window.
        let wanted: BTreeSet<NaiveDate> = plan
            .missing
            .iter()
            .copied()
            .filter(|d| (from..=to).contains(d))
            .collect();
        let keep: Vec<_> = days.iter().filter(|(d, _)| wanted.contains(d)).collect();
        if keep.len() < days.len() {
            log::debug!(
                "ignored {} days of the timeseries answer (weekends, stored or outside {from}..{to})",
                days.len() - keep.len()
            );
        }
        let new: Vec<NewDay<'_>> = keep
            .iter()
            .map(|(d, rates)| NewDay {
                date: *d,
                source_date: *d,
                source_timestamp: None,
                rates,
            })
            .collect();
        self.store.put_days(
            &new,
            EUR,
            &Provenance {
                endpoint: "timeseries",
                fetched_at: self.now,
            },
        )?;
        out.stored += keep.len();
        let got: BTreeSet<NaiveDate> = keep.iter().map(|(d, _)| *d).collect();
        for &date in &wanted {
            if !got.contains(&date) {
                self.store
                    .mark_unavailable(date, self.now, "not in fixer's timeseries answer")?;
                log::warn!(
                    "fixer.io sent no rates for {date} in its timeseries answer; recorded, and not asked again"
                );
                out.unavailable.push(date);
            }
        }
        progress.advance(wanted.len());
        log::debug!("stored {} days from {from} to {to}", keep.len());
        Ok(Chunk::Done)
    }

    fn historical(&mut self, date: NaiveDate, out: &mut Outcome) -> anyhow::Result<()> {
        let result = self.client.historical(date);
        self.record(out)?;
        match result {
            Ok(snapshot) => {
                check_drift(date, &snapshot)?;
                self.store.put_day(
                    date,
                    &snapshot,
                    &Provenance {
                        endpoint: "historical",
                        fetched_at: self.now,
                    },
                )?;
                out.stored += 1;
                log::debug!("stored {} rates for {date}", snapshot.rates.len());
                Ok(())
            }
            Err(e) => match ProviderCode::of(&e).filter(|c| c.is_no_rates()) {
                Some(code) => {
                    self.store
                        .mark_unavailable(date, self.now, &code.to_string())?;
                    log::warn!(
                        "fixer.io has no rates for {date} (error 106); recorded, and not asked again \
                         (`fxrates ingest --date {date}` asks anyway)"
                    );
                    out.unavailable.push(date);
                    Ok(())
                }
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn plan(missing: Vec<NaiveDate>, method: Method) -> Plan {
        Plan {
            from: missing[0],
            to: *missing.last().unwrap(),
            missing,
            method,
        }
    }

    #[test]
    fn chunks_span_at_most_365_days() {
        let missing: Vec<_> = weekdays(d("2023-01-02"), d("2024-06-28")).collect();
        let p = plan(missing, Method::Timeseries);
        let chunks = p.chunks();
        assert_eq!(chunks.len(), 2);
        for (a, b) in &chunks {
            assert!((*b - *a).num_days() < CHUNK_DAYS as i64, "{a}..{b}");
        }
        assert_eq!(chunks[0].0, d("2023-01-02"));
        assert_eq!(chunks[1].1, d("2024-06-28"));
        assert_eq!(p.requests(), 2);
    }

    #[test]
    fn keeping_the_newest_drops_the_oldest_days() {
        let missing: Vec<_> = weekdays(d("2024-09-02"), d("2024-09-06")).collect();
        let mut p = plan(missing, Method::Historical);
        p.keep_newest(2);
        assert_eq!(p.missing, [d("2024-09-05"), d("2024-09-06")]);
        p.keep_newest(0);
        assert!(p.missing.is_empty());
    }
}
