use super::{Monitored, prune, recorded};
use crate::calendar::{FIRST_DAY, MONTH_DAYS, is_weekend, window_ending};
use crate::cli::{IngestArgs, SourceArg};
use crate::engine::{Batch, Day, Engine, Limit, Plan, fit};
use crate::error::{Exit, fail};
use crate::fixer::{Call, Client};
use crate::quota::Budget;
use crate::settings::Settings;
use crate::store::Store;
use chrono::{Datelike, Months, NaiveDate};

impl Monitored for IngestArgs {
    fn monthly_quota(&self) -> u64 {
        self.budget.monthly_quota
    }

    fn provider(&self) -> crate::rates::Source {
        self.provider.source.source()
    }

    fn run(&self, settings: &Settings, store: &mut Option<Box<dyn Store>>) -> anyhow::Result<()> {
        if self.provider.source == SourceArg::Ecb {
            return super::ecb_fetch::ingest(self, settings, store);
        }
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
        // A weekend has no rates to fetch; but a run on a weekend without
        // --date (a timer catching up on Saturday for a machine that was off
        // on Friday) still heals the month.
        if is_weekend(date) && (self.date.is_some() || self.no_heal) {
            log::warn!(
                "{date} is a {}; fxrates stores weekdays only, so there is nothing to ingest",
                date.format("%A")
            );
            return Ok(());
        }
        if let Some(days) = self.keep_days {
            prune::check_keep_days(days)?;
        }
        let result = self.run_fixer(settings, store, date, call);
        let window = match self.date {
            Some(d) => (d, d),
            None if self.no_heal => (today, today),
            None => crate::calendar::window_ending(today, crate::calendar::MONTH_DAYS),
        };
        super::ecb_fetch::or_fall_back(result, &self.provider, window, settings, store)
    }
}

impl IngestArgs {
    fn run_fixer(
        &self,
        settings: &Settings,
        store: &mut Option<Box<dyn Store>>,
        date: NaiveDate,
        call: Call,
    ) -> anyhow::Result<()> {
        // Configuration first: a missing key must not leave a new, empty
        // database behind.
        let client = Client::new(settings.provider(&self.provider)?, settings.now.utc);
        let store = store.insert(settings.write_store(true, Some(client.deadline()))?);
        recorded(&mut **store, "ingest", settings, |store| {
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
        let budget = Budget::read(store, &settings.now, self.budget.monthly_quota)?;
        let mut engine = Engine::new(
            &mut *store,
            client,
            settings.now.utc,
            settings.now.today,
            budget,
        );
        if is_weekend(date) {
            log::debug!(
                "{date} is a {}: no rates to fetch for it",
                date.format("%A")
            );
            done.push(format!("{date} is a {}", date.format("%A")));
        } else if !self.force && engine.store().has_day(date)? {
            log::debug!("{date} is already stored; no request made (--force fetches it again)");
            done.push(format!("{date} was already stored"));
        } else {
            match engine.fetch_day(date, call)? {
                Day::Stored(rates) => done.push(format!("stored {rates} rates for {date}")),
                // The day asked for is the run's whole point.
                Day::Unavailable(e) => return Err(e.into()),
            }
        }
        if self.date.is_none() && !self.no_heal {
            match heal(&mut engine, settings)? {
                None => done.push("no weekday of the last month missing".into()),
                Some((healed, missing)) => {
                    done.push(format!("healed {healed} of {missing} missing weekdays"));
                }
            }
        }
        if self.fetch_names
            && let Some(note) = names(&mut engine, settings.now.today)?
        {
            done.push(note);
        }
        // The engine's work is done; the store is the run's again.
        let requests = engine.requests();
        if let Some(days) = self.keep_days {
            let (cutoff, pruned) = prune::prune(store, settings.now.today, days)?;
            if pruned.days > 0 {
                done.push(format!(
                    "pruned {} before {cutoff} (FXRATES_KEEP_DAYS={days})",
                    crate::calendar::days_text(pruned.days)
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
}

/// Fetches fixer's currency names when they are missing or a month old
/// and the budget can spare the request: after it, what is left must still
/// cover a request for every weekday left in the month. A failure is
/// reported and the run goes on: names are not what the run is for.
fn names(engine: &mut Engine<'_>, today: NaiveDate) -> anyhow::Result<Option<String>> {
    let fetched_on = engine.store().currency_names()?.and_then(|n| n.fetched_on);
    if fetched_on.is_some_and(|on| {
        on.checked_add_months(Months::new(1))
            .is_none_or(|due| due > today)
    }) {
        return Ok(None);
    }
    let month_end = today
        .with_day(1)
        .and_then(|d| d.checked_add_months(Months::new(1)))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    let needed = crate::calendar::weekdays(today, month_end).count() as u64;
    if engine.budget().remaining() <= needed {
        log::info!(
            "the currency names were not fetched: this month's budget keeps its {} requests left \
             for the weekdays to come",
            engine.budget().remaining()
        );
        return Ok(None);
    }
    match engine.fetch_names() {
        Ok(count) => Ok(Some(format!("stored the names of {count} currencies"))),
        Err(e) => {
            log::warn!("the currency names could not be fetched ({e:#}); the next run tries again");
            Ok(None)
        }
    }
}

/// Fetches the weekdays of the last month that are missing, within the
/// monthly budget: the same work as `fxrates backfill`. Returns how many
/// were stored and how many were missing; `None` when none was missing.
fn heal(engine: &mut Engine<'_>, settings: &Settings) -> anyhow::Result<Option<(usize, usize)>> {
    let today = settings.now.today;
    let (from, to) = window_ending(today, MONTH_DAYS);
    let mut plan = Plan::new(engine.store(), from, to, today, false)?;
    // Days left out until tomorrow are still missing.
    let missing = plan.missing.len() + plan.held.len();
    if missing == 0 {
        return Ok(None);
    }
    let what = "healing the last month";
    log::debug!("healing the last month: {}", plan.describe());
    fit(&mut plan, engine.budget(), Limit::Truncate, what)?;
    if plan.missing.is_empty() {
        return Ok(Some((0, missing)));
    }
    let batch = Batch {
        limit: Limit::Truncate,
        what,
        notes: &|note| super::notes::log(note, log::Level::Debug),
    };
    let out = engine.run(plan, batch)?;
    Ok(Some((out.stored, missing)))
}
