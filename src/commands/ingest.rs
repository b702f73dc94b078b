use super::{Context, Run};
use crate::calendar::{FIRST_DAY, is_weekend};
use crate::cli::IngestArgs;
use crate::config;
use crate::error::{Exit, fail};
use crate::fixer::{Call, Client};
use crate::store::{Provenance, Store};
use chrono::NaiveDate;

/// How far the provider's date may be from the business date before the
/// answer is refused.
const MAX_DATE_DRIFT_DAYS: i64 = 7;

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
        // Configuration first: a missing key must not leave a new, empty
        // database behind.
        let settings = config::provider(&self.provider)?;
        let mut store = Store::open(&ctx.db)?;
        if !self.force && store.has_day(date)? {
            log::info!("{date} is already stored; no request made (--force fetches it again)");
            return Ok(());
        }
        let client = Client::new(settings, ctx.now.utc);
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
