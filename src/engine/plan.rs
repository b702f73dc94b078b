//! Which weekdays of a window are missing and how to fetch them. A [`Plan`]
//! is made from the store alone (no request), so its cost can be shown and
//! checked against the budget before anything is sent.

use crate::quota::Budget;
use crate::store::{self, Reader};
use chrono::{Days, NaiveDate};

/// The longest window one `timeseries` request may cover, in days.
pub(super) const CHUNK_DAYS: u64 = 365;

/// After the plan refused `timeseries`, how many days pass before fxrates
/// tries it again on its own (the plan may have been upgraded).
pub(super) const TIMESERIES_RETRY_DAYS: i64 = 31;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// One request per missing day.
    Historical,
    /// One request per run of up to [`CHUNK_DAYS`] days.
    Timeseries,
}

/// The missing weekdays of a window and how they will be fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Weekdays neither stored nor known to be unavailable, in date order.
    pub missing: Vec<NaiveDate>,
    pub method: Method,
    /// Missing weekdays left out until tomorrow: fixer sent an unusable
    /// answer for them today (asked again the next day, or with `ingest
    /// --date`).
    pub held: Vec<NaiveDate>,
}

/// What the plan answered the last time `timeseries` was asked.
fn timeseries_refused_on(store: &dyn Reader) -> anyhow::Result<Option<NaiveDate>> {
    Ok(store
        .timeseries_answer()?
        .filter(|a| !a.allowed)
        .map(|a| a.on))
}

impl Plan {
    /// Plans the window from `from` to `to` (both included). `today` decides
    /// whether a refusal of `timeseries` is old enough to try again;
    /// `retry_timeseries` tries it regardless.
    pub(crate) fn new(
        store: &dyn Reader,
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        retry_timeseries: bool,
    ) -> anyhow::Result<Plan> {
        let mut missing = store::missing_weekdays(store, from, to)?;
        // A day whose answer was unusable today is asked for once a day,
        // not at every run: its answer will not have changed by the next.
        let unusable = store.unusable_days()?;
        let (held, asked): (Vec<NaiveDate>, Vec<NaiveDate>) = missing
            .iter()
            .partition(|d| unusable.get(d) == Some(&today));
        missing = asked;
        if !held.is_empty() {
            let dates: Vec<String> = held.iter().map(|d| d.to_string()).collect();
            log::info!(
                "{} left out until tomorrow: fixer.io sent an unusable answer for {} today \
                 (`fxrates ingest --date {}` asks anyway)",
                dates.join(", "),
                if held.len() == 1 { "it" } else { "them" },
                dates[0]
            );
        }
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
            held,
        })
    }

    /// A plan to fetch `days` (stored, in date order) again from fixer:
    /// the days of the window held from the ECB, which fixer's replace.
    pub(crate) fn replacing(
        store: &dyn Reader,
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        days: Vec<NaiveDate>,
    ) -> anyhow::Result<Plan> {
        let refused = timeseries_refused_on(store)?
            .is_some_and(|on| (today - on).num_days() < TIMESERIES_RETRY_DAYS);
        let method = if days.len() < 2 || refused {
            Method::Historical
        } else {
            Method::Timeseries
        };
        Ok(Plan {
            from,
            to,
            missing: days,
            method,
            held: Vec::new(),
        })
    }

    /// The `timeseries` windows: each starts on a missing day and ends on
    /// the last missing day within [`CHUNK_DAYS`] of it.
    pub(crate) fn chunks(&self) -> Vec<(NaiveDate, NaiveDate)> {
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
    pub(crate) fn requests(&self) -> u64 {
        match self.method {
            Method::Historical => self.missing.len() as u64,
            Method::Timeseries => self.chunks().len() as u64,
        }
    }

    /// Switches to one request per day for the days from `from` on: the
    /// plan lacks `timeseries`, and the windows before `from` are stored.
    pub(crate) fn one_day_per_request_from(&mut self, from: NaiveDate) {
        self.method = Method::Historical;
        self.missing.retain(|d| *d >= from);
    }

    /// Drops the oldest missing days so that at most `requests` are made.
    pub(crate) fn keep_newest(&mut self, requests: u64) {
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
    pub(crate) fn describe(&self) -> String {
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
pub(crate) enum Limit {
    /// Refuse it before any request (`backfill`).
    Refuse,
    /// Fetch the newest days that fit and leave the rest for later (healing).
    Truncate,
    /// Go ahead (`--ignore-quota`).
    Ignore,
}

/// Makes `plan` fit the budget as `limit` says, or refuses it.
pub(crate) fn fit(
    plan: &mut Plan,
    budget: &Budget,
    limit: Limit,
    what: &str,
) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;
    use crate::calendar::weekdays;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn plan(missing: Vec<NaiveDate>, method: Method) -> Plan {
        Plan {
            from: missing[0],
            to: *missing.last().unwrap(),
            missing,
            method,
            held: Vec::new(),
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
