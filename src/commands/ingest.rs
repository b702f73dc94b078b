use super::{Context, Run, prune, recorded};
use crate::calendar::{FIRST_DAY, MONTH_DAYS, is_weekend, window_ending};
use crate::cli::IngestArgs;
use crate::config;
use crate::error::{Exit, fail};
use crate::fixer::{Call, Client};
use crate::quota::Budget;
use crate::store::{Provenance, Store};
use crate::sync::{Fetcher, Limit, Plan, check_drift, fit};
use chrono::NaiveDate;

impl Run for IngestArgs {
    fn run(&self, ctx: &Context) -> anyhow::Result<()> {
        let today = ctx.now.today;
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
        let client = Client::new(config::provider(&self.provider)?, ctx.now.utc);
        let mut store = Store::open(&ctx.db)?;
        recorded(&mut store, "ingest", ctx, |store| {
            self.ingest(store, &client, date, call, ctx)
        })
    }
}

impl IngestArgs {
    fn ingest(
        &self,
        store: &mut Store,
        client: &Client,
        date: NaiveDate,
        call: Call,
        ctx: &Context,
    ) -> anyhow::Result<()> {
        if !self.force && store.has_day(date)? {
            log::info!("{date} is already stored; no request made (--force fetches it again)");
        } else {
            fetch_day(store, client, date, call, ctx)?;
        }
        if self.date.is_none() && !self.no_heal {
            self.heal(store, client, ctx)?;
        }
        if let Some(days) = self.keep_days {
            let (cutoff, pruned) = prune::prune(store, ctx.now.today, days, true)?;
            if pruned.days > 0 {
                log::info!(
                    "pruned {} stored days before {cutoff} (FXRATES_KEEP_DAYS={days})",
                    pruned.days
                );
            }
        }
        Ok(())
    }

    /// Fetches the weekdays of the last month that are missing, within the
    /// monthly budget: the same work as `fxrates backfill`.
    fn heal(&self, store: &mut Store, client: &Client, ctx: &Context) -> anyhow::Result<()> {
        let (from, to) = window_ending(ctx.now.today, MONTH_DAYS);
        let mut plan = Plan::new(store, from, to, ctx.now.today, false)?;
        if plan.missing.is_empty() {
            return Ok(());
        }
        log::info!("healing the last month: {}", plan.describe());
        let budget = Budget::read(store, &ctx.now, self.budget.monthly_quota)?;
        fit(
            &mut plan,
            &budget,
            Limit::Truncate,
            "healing the last month",
        )?;
        if plan.missing.is_empty() {
            return Ok(());
        }
        let out = Fetcher {
            store,
            client,
            now: ctx.now.utc,
            today: ctx.now.today,
            budget,
            limit: Limit::Truncate,
            what: "healing the last month",
        }
        .run(plan)?;
        log::info!(
            "healed {} weekdays of the last month with {} requests",
            out.stored,
            out.requests
        );
        Ok(())
    }
}

/// Fetches one day through `call` and stores it under `date`.
fn fetch_day(
    store: &mut Store,
    client: &Client,
    date: NaiveDate,
    call: Call,
    ctx: &Context,
) -> anyhow::Result<()> {
    let result = match call {
        Call::Latest => client.latest(),
        _ => client.historical(date),
    };
    store.record_attempts(&client.take_attempts())?;
    let snapshot = result?;
    check_drift(date, &snapshot)?;
    store.put_day(
        date,
        &snapshot,
        &Provenance {
            endpoint: call.name(),
            fetched_at: ctx.now.utc,
        },
    )?;
    log::info!("stored {} rates for {date}", snapshot.rates.len());
    Ok(())
}
