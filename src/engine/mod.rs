//! The fetch engine: the one code path that asks the provider for days and
//! stores them. `ingest` fetches its day with [`Engine::fetch_day`];
//! `backfill` and the healing step of `ingest` carry out a [`Plan`] with
//! [`Engine::run`], which fetches one day at a time the same way, or a
//! window at a time through `timeseries`.
//!
//! Every request goes through the engine's ledger, which records it in the
//! store before it is sent and counts it against the month's budget; every
//! day is committed as soon as it arrives, so that an interruption keeps
//! what was fetched. fixer's "no rates for that date" (106) marks the date
//! unavailable, wherever it comes from.

mod by_currency;
mod ecb;
mod error;
mod gaps;
mod plan;

pub(crate) use ecb::{Filled, fill, wanted_days};
pub(crate) use error::EngineError;
use gaps::Missing;
pub(crate) use plan::{Limit, Method, Plan, fit};

use crate::fixer::{Call, Client, FetchError, FetchErrorKind, RecordError, Recorder};
use crate::progress::Progress;
use crate::quota::Budget;
use crate::rates::{EUR, Snapshot, Source};
use crate::store::{
    CurrencyNames, NewDay, Provenance, Request, RequestId, Store, TimeseriesAnswer,
};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeSet;

/// How far the provider's date may be from the business date asked for
/// before the answer is refused.
const MAX_DATE_DRIFT_DAYS: i64 = 7;

/// Asks the provider for days and stores them, counting every request.
pub(crate) struct Engine<'a> {
    store: &'a mut dyn Store,
    client: &'a Client,
    /// The run's clock, for provenance and the records.
    now: DateTime<Utc>,
    /// The run's local date, for the plan's remembered answers.
    today: NaiveDate,
    /// This month's budget; counts the requests as they are made.
    budget: Budget,
    /// The requests this engine made.
    requests: u64,
}

/// What became of one day asked for.
#[derive(Debug)]
pub(crate) enum Day {
    /// Stored, with this many rates.
    Stored(usize),
    /// fixer has no rates for it (error 106); a historical date is now
    /// recorded as unavailable.
    Unavailable(FetchError),
}

/// What carrying out a plan did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub stored: usize,
    /// Days fixer has no rates for, now recorded as such.
    pub unavailable: Vec<NaiveDate>,
}

/// How a plan is carried out.
#[derive(Clone, Copy)]
pub(crate) struct Batch<'n> {
    /// Applied again if the plan must switch to one request per day.
    pub limit: Limit,
    /// The name of the work in messages: "backfill", "healing".
    pub what: &'static str,
    /// Told what happens as the plan is carried out; the command puts it in
    /// words, at the level it chooses.
    pub notes: &'n dyn Fn(Note<'_>),
}

/// Something a run should hear about while a plan is carried out.
#[derive(Debug)]
pub(crate) enum Note<'e> {
    /// The plan lacks the timeseries endpoint (remembered, and asked again
    /// after [`plan::TIMESERIES_RETRY_DAYS`] days).
    TimeseriesRefused { retry_days: i64 },
    /// The plan changed as it went: what it is now.
    Replanned(&'e Plan),
    /// The answer for `date` was unusable: skipped until tomorrow, and the
    /// run goes on with the other days.
    Skipped {
        date: NaiveDate,
        error: &'e anyhow::Error,
    },
    /// fixer has no rates for `date` (error 106): recorded, not asked again.
    NoRates(NaiveDate),
    /// A timeseries answer lacks `date`, between days it has: recorded as a
    /// day without rates.
    Gap(NaiveDate),
    /// A timeseries answer for `from..=to` stops short of `date`, which stays
    /// missing.
    CutOff {
        date: NaiveDate,
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// The request record, kept in the store, and the count of this run's
/// requests: the client hands it every request before sending it.
struct Ledger<'s> {
    store: &'s mut dyn Store,
    budget: &'s mut Budget,
    requests: &'s mut u64,
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
        self.budget.used += 1;
        *self.requests += 1;
        Ok(id.0)
    }

    fn answered(&mut self, token: i64, outcome: &str, sent: bool) -> Result<(), RecordError> {
        // Provider text in it was made safe where it entered; this keeps
        // the record short and free of control characters whatever it holds.
        let mut outcome = crate::untrusted::one_line(outcome);
        if !sent {
            outcome.insert_str(0, Request::NOT_SENT);
            self.budget.used = self.budget.used.saturating_sub(1);
            *self.requests = self.requests.saturating_sub(1);
        }
        self.store
            .set_request_outcome(RequestId(token), &outcome)
            .map_err(|e| RecordError(Box::new(e)))
    }
}

impl<'a> Engine<'a> {
    pub(crate) fn new(
        store: &'a mut dyn Store,
        client: &'a Client,
        now: DateTime<Utc>,
        today: NaiveDate,
        budget: Budget,
    ) -> Engine<'a> {
        Engine {
            store,
            client,
            now,
            today,
            budget,
            requests: 0,
        }
    }

    /// The store, for reads between fetches.
    pub(crate) fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// The month's budget, counting the requests made so far.
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The requests made so far.
    pub(crate) fn requests(&self) -> u64 {
        self.requests
    }

    fn ledger(&mut self) -> Ledger<'_> {
        Ledger {
            store: &mut *self.store,
            budget: &mut self.budget,
            requests: &mut self.requests,
        }
    }

    /// Fetches one day through `call` (`latest`, or the historical
    /// endpoint) and stores it under the business date `date`.
    pub(crate) fn fetch_day(&mut self, date: NaiveDate, call: Call) -> anyhow::Result<Day> {
        let client = self.client;
        match client.day(call, &mut self.ledger()) {
            Ok(snapshot) => {
                check_drift(date, &snapshot)?;
                self.store.put_day(
                    date,
                    &snapshot,
                    &Provenance {
                        endpoint: call.name(),
                        fetched_at: self.now,
                        provider: Source::Fixer,
                    },
                )?;
                log::debug!("stored {} rates for {date}", snapshot.rates.len());
                Ok(Day::Stored(snapshot.rates.len()))
            }
            Err(e) if e.is_no_rates() => {
                // `latest` names no date: there is nothing to remember.
                if let Call::Historical(d) = call {
                    self.store.mark_unavailable(d, self.now, &e.to_string())?;
                }
                Ok(Day::Unavailable(e))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fetches fixer's names of its currencies and stores them, as fetched
    /// on the run's local date; returns how many there are, or why the
    /// provider gave none. The store failing (to record the request, or to
    /// keep the names) is the outer error: that is the run's failure.
    pub(crate) fn fetch_names(&mut self) -> anyhow::Result<Result<usize, FetchError>> {
        let client = self.client;
        let names = match client.symbols(&mut self.ledger()) {
            Ok(names) => names,
            Err(e) if matches!(&*e.kind, FetchErrorKind::NotRecorded(_)) => return Err(e.into()),
            Err(e) => return Ok(Err(e)),
        };
        let count = names.len();
        self.store.set_currency_names(&CurrencyNames {
            fetched_on: Some(self.today),
            names,
        })?;
        Ok(Ok(count))
    }

    /// Fetches and stores the plan's days. On an error (quota used up, the
    /// provider failing, ...) it stops at once; what was stored stays.
    pub(crate) fn run(&mut self, mut plan: Plan, batch: Batch<'_>) -> anyhow::Result<Outcome> {
        let total = plan.missing.len();
        let mut out = Outcome::default();
        let mut progress = Progress::new("fetching weekdays", total);
        let result = self.fetch_all(&mut plan, batch, &mut out, &mut progress);
        drop(progress);
        result.map(|()| out.clone()).with_context(|| {
            format!(
                "{} stopped after storing {} of {total} missing weekdays (they are kept)",
                batch.what, out.stored
            )
        })
    }

    fn fetch_all(
        &mut self,
        plan: &mut Plan,
        batch: Batch<'_>,
        out: &mut Outcome,
        progress: &mut Progress,
    ) -> anyhow::Result<()> {
        if plan.method == Method::Timeseries {
            for (from, to) in plan.chunks() {
                if !self.timeseries(plan, from, to, batch, out, progress)? {
                    plan.one_day_per_request_from(from);
                    fit(plan, &self.budget, batch.limit, batch.what)?;
                    (batch.notes)(Note::Replanned(plan));
                    break;
                }
            }
        }
        if plan.method == Method::Historical {
            // A day whose answer is unusable (a zero rate for one currency,
            // say) is skipped so that it cannot starve the days after it;
            // two in a row is the provider failing, and ends the run.
            let mut unusable: Vec<(NaiveDate, anyhow::Error)> = Vec::new();
            let mut in_a_row = 0;
            for &date in &plan.missing {
                let day = match self.fetch_day(date, Call::Historical(date)) {
                    Err(e) if EngineError::is_unusable(&e) && in_a_row == 0 => {
                        (batch.notes)(Note::Skipped { date, error: &e });
                        // Remembered, so that the next runs today leave it
                        // out; tomorrow's asks for it again.
                        self.store.set_unusable(date, Some(self.today))?;
                        unusable.push((date, e));
                        in_a_row += 1;
                        progress.advance(1);
                        continue;
                    }
                    other => other?,
                };
                in_a_row = 0;
                match day {
                    Day::Stored(_) => out.stored += 1,
                    Day::Unavailable(_) => {
                        (batch.notes)(Note::NoRates(date));
                        out.unavailable.push(date);
                    }
                }
                progress.advance(1);
            }
            if !unusable.is_empty() {
                let days = unusable.iter().map(|(d, _)| *d).collect();
                let (_, first) = unusable.swap_remove(0);
                return Err(EngineError::UnusableDays { days, first }.into());
            }
        }
        Ok(())
    }

    /// Fetches one `timeseries` window; `false` when the plan refused the
    /// endpoint (remembered, so that the next runs ask one day at a time).
    fn timeseries(
        &mut self,
        plan: &Plan,
        from: NaiveDate,
        to: NaiveDate,
        batch: Batch<'_>,
        out: &mut Outcome,
        progress: &mut Progress,
    ) -> anyhow::Result<bool> {
        let client = self.client;
        let days = match client.timeseries(from, to, &mut self.ledger()) {
            Ok(days) => days,
            Err(e) if e.is_plan_refusal() => {
                self.store.set_timeseries_answer(TimeseriesAnswer {
                    allowed: false,
                    on: self.today,
                })?;
                (batch.notes)(Note::TimeseriesRefused {
                    retry_days: plan::TIMESERIES_RETRY_DAYS,
                });
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
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
        let keep: Vec<NewDay<'_>> = days
            .iter()
            .filter(|(d, _)| wanted.contains(d))
            .map(|(d, rates)| NewDay {
                date: *d,
                source_date: *d,
                source_timestamp: None,
                rates,
            })
            .collect();
        if keep.len() < days.len() {
            log::debug!(
                "ignored {} of the timeseries answer (weekends, stored or outside {from}..{to})",
                crate::calendar::days_text((days.len() - keep.len()) as u64)
            );
        }
        self.store.put_days(
            &keep,
            EUR,
            &Provenance {
                endpoint: "timeseries",
                fetched_at: self.now,
                provider: Source::Fixer,
            },
        )?;
        out.stored += keep.len();
        let got: BTreeSet<NaiveDate> = keep.iter().map(|d| d.date).collect();
        let answered = days.first().map(|d| d.0).zip(days.last().map(|d| d.0));
        for (date, why) in gaps::classify(&wanted, &got, answered) {
            match why {
                Missing::Unavailable => {
                    self.store.mark_unavailable(
                        date,
                        self.now,
                        "not in fixer's timeseries answer",
                    )?;
                    (batch.notes)(Note::Gap(date));
                    out.unavailable.push(date);
                }
                Missing::CutOff => (batch.notes)(Note::CutOff { date, from, to }),
            }
        }
        progress.advance(wanted.len());
        log::debug!("stored {} days from {from} to {to}", keep.len());
        Ok(true)
    }
}

/// Refuses an answer dated far from the day asked for; warns on a small drift.
fn check_drift(date: NaiveDate, snapshot: &Snapshot) -> Result<(), EngineError> {
    let drift = (snapshot.source_date - date).num_days().abs();
    if drift > MAX_DATE_DRIFT_DAYS {
        return Err(EngineError::Drift {
            asked: date,
            dated: snapshot.source_date,
        });
    }
    if drift != 0 {
        log::warn!(
            "fixer.io dated its answer {} for business day {date}; stored under {date}, with the provider's date kept",
            snapshot.source_date
        );
    }
    Ok(())
}
