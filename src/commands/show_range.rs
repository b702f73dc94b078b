//! `show --from D --to D`: every stored day of a range, read and written one
//! day at a time.

use crate::cli::ShowArgs;
use crate::error::{Exit, fail};
use crate::present::series::SeriesWriter;
use crate::rates::{Currency, EUR};
use crate::settings::Settings;
use crate::store::{self, Reader};
use chrono::NaiveDate;
use std::io::{self, BufWriter};

pub(super) fn run(args: &ShowArgs, from: NaiveDate, settings: &Settings) -> anyhow::Result<()> {
    let to = args.to.unwrap_or(settings.now.today);
    super::ordered_range(from, to, args.to.is_some())?;
    let store = settings.read_store()?;
    if store.count_days(from, to)? == 0 {
        return Err(fail(
            Exit::NoInput,
            format!(
                "no rates are stored from {from} to {to}; fetch days with `fxrates ingest --date DAY` \
                 (or `fxrates backfill`)"
            ),
        ));
    }
    check_stored(&*store, args.base, &args.symbols, from, to)?;
    // With symbols, read only them and the base: a grid of three currencies
    // over twenty years need not read 170.
    let mut wanted = Vec::new();
    if !args.symbols.is_empty() {
        wanted.extend(&args.symbols);
        wanted.extend(args.base);
        wanted.push(EUR);
    }
    // Read before the first line: the title names the provider when the
    // range has one, and a table gives each day's when it has several.
    let providers = store.providers_between(from, to)?;
    // Buffered: stdout is line-buffered, and a CSV of the whole history
    // has a million lines.
    let mut writer = SeriesWriter::new(
        BufWriter::new(io::stdout().lock()),
        args.format,
        (from, to),
        args.base,
        &args.symbols,
        providers,
    );
    store::walk_days(&*store, from, to, &wanted, |day| writer.day(day))?;
    let written = writer.finish()?;
    if written.without_base > 0 {
        let n = written.without_base;
        log::warn!(
            "left out {n} stored day{} from {from} to {to} without a {} rate",
            if n == 1 { "" } else { "s" },
            args.base.unwrap_or(EUR)
        );
    }
    if written.days == 0 {
        return Err(fail(
            Exit::NoInput,
            format!(
                "no stored day from {from} to {to} has rates for both {} and {}",
                args.base.unwrap_or(EUR),
                codes(&args.symbols)
            ),
        ));
    }
    Ok(())
}

/// Refuses, before anything is printed, a base or symbol that has no rate
/// on any stored day of the range (most likely a typing error).
fn check_stored(
    store: &dyn Reader,
    base: Option<Currency>,
    symbols: &[Currency],
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<()> {
    if let Some(b) = base.filter(|&b| b != EUR)
        && !store.has_currency_between(b, from, to)?
    {
        return Err(fail(
            Exit::NoInput,
            format!("there is no {b} rate stored from {from} to {to}, so it cannot be the base"),
        ));
    }
    let mut unknown = Vec::new();
    for &c in symbols {
        if c != EUR
            && Some(c) != base
            && !unknown.contains(&c)
            && !store.has_currency_between(c, from, to)?
        {
            unknown.push(c);
        }
    }
    if !unknown.is_empty() {
        return Err(fail(
            Exit::NoInput,
            format!(
                "no rate for {} is stored from {from} to {to}",
                codes(&unknown)
            ),
        ));
    }
    Ok(())
}

fn codes(list: &[Currency]) -> String {
    list.iter()
        .map(Currency::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
