use super::{Run, prune, recorded};
use crate::calendar::{FIRST_DAY, MONTH_DAYS, is_weekend, window_ending};
use crate::cli::IngestArgs;
use crate::error::{Exit, fail};
use crate::fixer::{Call, Client};
use crate::quota::Budget;
use crate::settings::Settings;
use crate::store::{Provenance, Store};
use crate::sync::{Fetcher, Limit, Plan, check_drift, fit, record_attempts};
use chrono::NaiveDate;

impl Run for IngestArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let today = settings.now.today;
        let (date, call) = match self.date {
            None => (today, Call::Latest),
            Some(d) if d > today => {
                return Err(fail(
                    Exit::Usage,
                    format!(
                        "--date {d} is in the future (today is {today}); fixer has no rates for it yet"
                    ),
                ));
            }
            Some(d) if d < FIRST_DAY => {
                return Err(fail(
                    Exit::Usage,
                    format!("--date {d} is before {FIRST_DAY}, where fixer's history begins"),
                ));
            }
            Some(d) => (d, Call::Historical(d)),
        };
        if is_weekend(date) {
            log::warn!(
                "{date} is a {}; fxrates stores weekdays only, so there is nothing to ingest",
                date.format("%A")
            );
            return Ok(());
        }
        if let Some(days) = self.keep_days {
            prune::check_keep_days(days)?;
        }
        // Configuration first: a missing key must not leave a new, empty
        // database behind.
        let client = Client::new(settings.provider(&self.provider)?, settings.now.utc);
        let mut store = settings.write_store(true)?;
        recorded(&mut *store, "ingest", settings, |store| {
            self.ingest(store, &client, date, call, settings)
        })
    }
}

impl IngestArgs {
    fn ingest(
        &self,
        store: &mut dyn Store,
        client: &Client,
        date: NaiveDate,
        call: Call,
        settings: &Settings,
    ) -> anyhow::Result<()> {
        // What was done, for the run's one summary line.
        let mut done = Vec::new();
        let mut requests = 0;
        if !self.force && store.has_day(date)? {
            log::debug!("{date} is already stored; no request made (--force fetches it again)");
            done.push(format!("{date} was already stored"));
        } else {
            let (rates, made) = fetch_day(store, client, date, call, settings)?;
            done.push(format!("stored {rates} rates for {date}"));
            requests += made;
        }
        if self.date.is_none() && !self.no_heal {
            match self.heal(store, client, settings)? {
                None => done.push("no weekday of the last month missing".into()),
                Some((healed, missing, made)) => {
                    done.push(format!("healed {healed} of {missing} missing weekdays"));
                    requests += made;
                }
            }
        }
        if let Some(days) = self.keep_days {
            let (cutoff, pruned) = prune::prune(store, settings.now.today, days)?;
            if pruned.days > 0 {
                done.push(format!(
                    "pruned {} days before {cutoff} (FXRATES_KEEP_DAYS={days})",
                    pruned.days
                ));
            }
        }
        let budget = Budget::read(store, &settings.now, self.budget.monthly_quota)?;
        log::info!(
            "{}; {requests} request{} ({} of {} this month)",
            done.join("; "),
            if requests == 1 { "" } else { "s" },
            budget.used,
            budget.quota
        );
        Ok(())
    }

    /// Fetches the weekdays of the last month that are missing, within the
    /// monthly budget: the same work as `fxrates backfill`. Returns how many
    /// were stored, how many were missing and the requests made; `None` when
    /// none was missing.
    fn heal(
        &self,
        store: &mut dyn Store,
        client: &Client,
        settings: &Settings,
    ) -> anyhow::Result<Option<(usize, usize, u64)>> {
        let (from, to) = window_ending(settings.now.today, MONTH_DAYS);
        let mut plan = Plan::new(store, from, to, settings.now.today, false)?;
        let missing = plan.missing.len();
        if missing == 0 {
            return Ok(None);
        }
        log::debug!("healing the last month: {}", plan.describe());
        let budget = Budget::read(store, &settings.now, self.budget.monthly_quota)?;
        fit(
            &mut plan,
            &budget,
            Limit::Truncate,
            "healing the last month",
        )?;
        if plan.missing.is_empty() {
            return Ok(Some((0, missing, 0)));
        }
        let out = Fetcher {
            store,
            client,
            now: settings.now.utc,
            today: settings.now.today,
            budget,
            limit: Limit::Truncate,
            what: "healing the last month",
            notes: log::Level::Debug,
        }
        .run(plan)?;
        Ok(Some((out.stored, missing, out.requests)))
    }
}

/// Fetches one day through `call` and stores it under `date`. Returns the
/// number of rates stored and of requests made.
fn fetch_day(
    store: &mut dyn Store,
    client: &Client,
    date: NaiveDate,
    call: Call,
    settings: &Settings,
) -> anyhow::Result<(usize, u64)> {
    let result = match call {
        Call::Latest => client.latest(),
        _ => client.historical(date),
    };
    let attempts = client.take_attempts();
    record_attempts(store, &attempts)?;
    let snapshot = result?;
    check_drift(date, &snapshot)?;
    store.put_day(
        date,
        &snapshot,
        &Provenance {
            endpoint: call.name(),
            fetched_at: settings.now.utc,
        },
    )?;
    Ok((snapshot.rates.len(), attempts.len() as u64))
}
