//! The monthly request budget. fixer counts every request against the plan's
//! monthly quota, so fxrates counts them too (the `requests` table) and plans
//! its work within what is left.
//!
//! "This month" is the calendar month, in UTC, of the run's time: the request
//! record is kept in UTC, so the count needs no time-zone arithmetic.

use crate::clock::Now;
use crate::error::{Exit, fail};
use crate::store::{Reader, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// fixer's free plan allows 100 requests a month.
pub(crate) const DEFAULT_MONTHLY_QUOTA: u64 = 100;

/// The budget of this month as the run sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Budget {
    pub quota: u64,
    pub used: u64,
    /// The first day of the month being counted.
    pub month: NaiveDate,
}

/// The start of the UTC calendar month of `now`.
pub(crate) fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let first = now.date_naive().with_day(1).unwrap_or(now.date_naive());
    first.and_time(chrono::NaiveTime::MIN).and_utc()
}

impl Budget {
    /// Counts this month's requests in the record.
    pub(crate) fn read(store: &dyn Reader, now: &Now, quota: u64) -> Result<Budget, StoreError> {
        let start = month_start(now.utc);
        Ok(Budget {
            quota,
            used: store.requests_since(start)?,
            month: start.date_naive(),
        })
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.quota.saturating_sub(self.used)
    }

    /// The refusal of a plan of `needed` requests that does not fit.
    pub(crate) fn refuse(&self, needed: u64, what: &str) -> anyhow::Error {
        fail(
            Exit::Config,
            format!(
                "{what} needs {needed} requests, but only {} of the monthly quota of {} remain \
                 ({} used since {}); fetch a smaller window, set FIXER_MONTHLY_QUOTA \
                 (--monthly-quota) to your plan's real quota, or pass --ignore-quota",
                self.remaining(),
                self.quota,
                self.used,
                self.month
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_starts_on_the_first_at_midnight_utc() {
        let t = DateTime::parse_from_rfc3339("2024-03-31T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(month_start(t).to_rfc3339(), "2024-03-01T00:00:00+00:00");
    }
}
