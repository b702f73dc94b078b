use super::{Context, Run};
use crate::calendar::{FIRST_DAY, is_weekend};
use crate::cli::IngestArgs;
use crate::config;
use crate::error::{Exit, fail};
use crate::fixer::{Call, Client};
use crate::store::{Provenance, Store};
use crate::sync::check_drift;
use chrono::{Datelike, NaiveDate};

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
                "{date} is a {:?}; fxrates stores weekdays only, so there is nothing to ingest",
                date.weekday()
            );
            return Ok(());
        }
        let mut store = Store::open(&ctx.db)?;
        if !self.force && store.has_day(date)? {
            log::info!("{date} is already stored; no request made (--force fetches it again)");
            return Ok(());
        }
        let client = Client::new(config::provider(&self.provider)?, ctx.now.utc);
        fetch_day(&mut store, &client, date, call, ctx)
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
