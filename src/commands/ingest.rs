use super::{Fallback, Monitored, RunName, Watched, Writing};
use crate::calendar::{FIRST_DAY, MONTH_DAYS, is_weekend, window_ending};
use crate::cli::IngestArgs;
use crate::engine::{Batch, Day, Engine, Limit, Plan, fit};
use crate::error::{Exit, fail};
use crate::fixer::{Call, Client};
use crate::quota::Budget;
use crate::settings::{Provider, Settings};
use crate::store::Store;
use chrono::{Datelike, Months, NaiveDate};

impl Monitored for IngestArgs {
    const NAME: RunName = RunName::Ingest;

    fn watched(&self) -> Option<Watched> {
        Some(Watched {
            monthly_quota: self.budget.monthly_quota,
        })
    }

    fn fall_back<'a>(
        &'a self,
        err: &anyhow::Error,
        settings: &'a Settings,
    ) -> anyhow::Result<Option<Fallback<'a>>> {
        let today = settings.now.today;
        let window = match self.date {
            Some(d) => (d, d),
            None if self.no_heal => (today, today),
            None => window_ending(today, MONTH_DAYS),
        };
        super::ecb_fetch::fall_back(err, &self.provider, window, settings)
    }

    fn prepare<'a>(&'a self, settings: &'a Settings) -> anyhow::Result<Option<Writing<'a>>> {
        if settings.provider == Provider::Ecb {
            return super::ecb_fetch::ingest(self, settings);
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
            return Ok(None);
        }
        if let Some(days) = self.keep_days {
            crate::retention::check_keep_days(days)?;
        }
        // Configuration first: a missing key must not leave a new, empty
        // database behind.
        let client = settings.fixer(&self.provider)?;
        Ok(Some(Writing::in_history(
            Some(client.deadline()),
            move |store| self.ingest(store, &client, date, call, settings),
        )))
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
        // Weekdays of the month the budget left missing.
        let mut left_out = 0;
        if self.date.is_none() && !self.no_heal {
            match heal(&mut engine, settings)? {
                None => done.push("no weekday of the last month missing".into()),
                Some((healed, missing)) => {
                    left_out = missing.saturating_sub(healed);
                    done.push(format!("healed {healed} of {missing} missing weekdays"));
                }
            }
            match upgrade(&mut engine, settings)? {
                (_, 0) => {}
                (replaced, held) => done.push(format!(
                    "replaced {replaced} of {held} days held from the ECB with fixer's"
                )),
            }
        }
        // Names come after the days, and only once the month is whole: a
        // day left out for want of budget needs the requests more.
        if self.date.is_none() {
            if !self.no_heal && !month_whole(&engine, settings.now.today)? {
                log::debug!("the currency names wait until no weekday of the month is missing");
            } else if let Some(note) = names(&mut engine, settings.now.today, self.fetch_names)? {
                done.push(note);
            }
        }
        // The engine's work is done; the store is the run's again.
        let requests = engine.requests();
        if left_out > 0
            && let Some(note) = super::ecb_fetch::fill_what_the_budget_left_out(
                store,
                &self.provider,
                window_ending(settings.now.today, MONTH_DAYS),
                settings,
            )?
        {
            done.push(note);
        }
        if let Some(days) = self.keep_days {
            let (cutoff, pruned) = crate::retention::prune(store, settings.now.today, days)?;
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

/// Fetches fixer's currency names when they are missing or a calendar month
/// old (`force`: whatever their age), and the budget can spare the request:
/// after it, what is left must still cover a request for every weekday left
/// in the month, today included. One try, never retried: a failure is a
/// warning and the run goes on, names are not what the run is for; the next
/// run tries again.
fn names(engine: &mut Engine<'_>, today: NaiveDate, force: bool) -> anyhow::Result<Option<String>> {
    let fetched_on = engine.store().currency_names()?.and_then(|n| n.fetched_on);
    if !force && fetched_on.is_some_and(|on| !names_due(on, today)) {
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
    match engine.fetch_names()? {
        Ok(count) => Ok(Some(format!("stored the names of {count} currencies"))),
        Err(e) => {
            log::warn!("the currency names could not be fetched ({e}); the next run tries again");
            Ok(None)
        }
    }
}

/// Whether no weekday of the last month is left to fetch (days fixer has
/// no rates for, or skipped as unusable until tomorrow, are not).
fn month_whole(engine: &Engine<'_>, today: NaiveDate) -> anyhow::Result<bool> {
    let (from, to) = window_ending(today, MONTH_DAYS);
    Ok(Plan::new(engine.store(), from, to, today, false)?
        .missing
        .is_empty())
}

/// Whether names fetched `on` are due again `today`: a calendar month later
/// (fetched on 31 January, due on 29 February of a leap year).
fn names_due(on: NaiveDate, today: NaiveDate) -> bool {
    on.checked_add_months(Months::new(1))
        .is_some_and(|due| due <= today)
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

/// Fetches again from fixer the days of the last month held from the ECB
/// (fixer has ~170 currencies against the ECB's ~30), once no day of the
/// month is missing, within the monthly budget; each replaced day is stored
/// whole. Returns how many were replaced and how many are held from the ECB.
fn upgrade(engine: &mut Engine<'_>, settings: &Settings) -> anyhow::Result<(usize, usize)> {
    let today = settings.now.today;
    let (from, to) = window_ending(today, MONTH_DAYS);
    let mut ecb = Vec::new();
    crate::store::walk_days(engine.store(), from, to, &[], |day| {
        if day.provider == crate::rates::Source::Ecb {
            ecb.push(day.date);
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let held = ecb.len();
    // Missing days come first: an ECB day is a day held, not a gap.
    if held == 0
        || !Plan::new(engine.store(), from, to, today, false)?
            .missing
            .is_empty()
    {
        return Ok((0, held));
    }
    let what = "replacing the ECB's days of the last month";
    let mut plan = Plan::replacing(engine.store(), from, to, today, ecb)?;
    fit(&mut plan, engine.budget(), Limit::Truncate, what)?;
    if plan.missing.is_empty() {
        return Ok((0, held));
    }
    let batch = Batch {
        limit: Limit::Truncate,
        what,
        notes: &|note| super::notes::log(note, log::Level::Debug),
    };
    let out = engine.run(plan, batch)?;
    Ok((out.stored, held))
}
