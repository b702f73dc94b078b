use super::{Fallback, Monitored, RunName, Watched, Writing};
use crate::calendar::{FIRST_DAY, window_ending};
use crate::cli::BackfillArgs;
use crate::engine::{Batch, Engine, Limit, Plan, fit};
use crate::error::{Exit, fail};
use crate::quota::Budget;
use crate::settings::{Provider, Settings};
use crate::store::Store;
use chrono::NaiveDate;

/// The window when none is given: the last month.
const DEFAULT_DAYS: u32 = crate::calendar::MONTH_DAYS;

impl Monitored for BackfillArgs {
    const NAME: RunName = RunName::Backfill;

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
        match self.window(settings.now.today) {
            Ok(window) => super::ecb_fetch::fall_back(err, &self.provider, window, settings),
            Err(_) => Ok(None),
        }
    }

    fn prepare<'a>(&'a self, settings: &'a Settings) -> anyhow::Result<Option<Writing<'a>>> {
        let (from, to) = self.window(settings.now.today)?;
        if settings.provider == Provider::Ecb {
            return super::ecb_fetch::backfill(self, (from, to), settings);
        }
        let client = settings.fixer(&self.provider)?;
        let deadline = Some(client.deadline());
        let work = move |store: &mut dyn Store| {
            let mut plan = Plan::new(&*store, from, to, settings.now.today, self.retry_timeseries)?;
            if plan.missing.is_empty() {
                if plan.held.is_empty() {
                    log::info!("every weekday from {from} to {to} is stored; no request made");
                } else {
                    log::info!(
                        "every weekday from {from} to {to} is stored but the {} left out until \
                         tomorrow; no request made",
                        crate::calendar::days_text(plan.held.len() as u64)
                    );
                }
                return Ok(());
            }
            log::info!("{}", plan.describe());
            let budget = Budget::read(store, &settings.now, self.budget.monthly_quota)?;
            let limit = if self.ignore_quota {
                Limit::Ignore
            } else {
                Limit::Refuse
            };
            fit(&mut plan, &budget, limit, "backfill")?;
            let mut engine =
                Engine::new(store, &client, settings.now.utc, settings.now.today, budget);
            let batch = Batch {
                limit,
                what: "backfill",
                notes: &|note| super::notes::log(note, log::Level::Info),
            };
            let out = engine.run(plan, batch)?;
            let requests = engine.requests();
            log::info!(
                "stored {} weekdays from {from} to {to} with {} requests{}",
                out.stored,
                requests,
                match out.unavailable.len() {
                    0 => String::new(),
                    n => format!("; fixer has no rates for {n}"),
                }
            );
            Ok(())
        };
        Ok(Some(Writing::in_history(deadline, work)))
    }
}

impl BackfillArgs {
    /// The window asked for, checked before anything else happens.
    fn window(&self, today: NaiveDate) -> anyhow::Result<(NaiveDate, NaiveDate)> {
        let (from, to) = match self.from {
            Some(from) => (from, self.to.unwrap_or(today)),
            None => window_ending(today, self.days.unwrap_or(DEFAULT_DAYS)),
        };
        if to > today {
            return Err(fail(
                Exit::Usage,
                format!(
                    "--to {to} is in the future (today is {today}); fixer has no rates for it yet"
                ),
            ));
        }
        if from > today {
            return Err(fail(
                Exit::Usage,
                format!("--from {from} is in the future (today is {today})"),
            ));
        }
        if from > to {
            return Err(fail(
                Exit::Usage,
                format!("--from {from} is after --to {to}; give the earlier date first"),
            ));
        }
        if from < FIRST_DAY {
            return Err(fail(
                Exit::Usage,
                format!(
                    "the window starts on {from}, before {FIRST_DAY}, where fixer's history begins; \
                     use --from {FIRST_DAY} or fewer --days"
                ),
            ));
        }
        Ok((from, to))
    }
}
