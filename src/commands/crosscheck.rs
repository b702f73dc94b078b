//! `fxrates crosscheck`: the stored fixer rates against the ECB's reference
//! rates of the same days, fetched in one request; exits 1 (as `diff` does)
//! when a rate deviates beyond the limit, a data-quality alarm for cron.

use super::Run;
use crate::calendar::{MONTH_DAYS, window_ending};
use crate::cli::{CrosscheckArgs, CrosscheckFormat};
use crate::crosscheck::{Report, by_date};
use crate::error::{Exit, Failure, ResultExt, fail};
use crate::fixer::{RecordError, Recorder};
use crate::rates::Source;
use crate::settings::Settings;
use crate::store;
use crate::target_calendar::last_published_date;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use std::io::Write;
use std::str::FromStr;

/// A read-only check records no request: the ECB's cost no quota.
struct Unrecorded;

impl Recorder for Unrecorded {
    fn sending(&mut self, _: DateTime<Utc>, _: &'static str) -> Result<i64, RecordError> {
        Ok(0)
    }

    fn answered(&mut self, _: i64, _: &str, _: bool) -> Result<(), RecordError> {
        Ok(())
    }
}

impl Run for CrosscheckArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let today = settings.now.today;
        let to = self.to.unwrap_or(today);
        let from = self.from.unwrap_or(window_ending(to, MONTH_DAYS).0);
        super::not_in_future(to, today)?;
        super::ordered_range(from, to, self.to.is_some())?;
        let max = Decimal::from_str(&self.max_deviation).map_err(|_| {
            fail(
                Exit::Usage,
                format!("--max-deviation {} is too large", self.max_deviation),
            )
        })?;
        // Only the data API is asked: no fallback file, no fixer setting.
        let client = settings.ecb_client(&self.ecb, crate::ecb::DEFAULT_FILES, &self.requests)?;
        let store = settings.read_store()?;
        let mut fixer = Vec::new();
        store::walk_days(&*store, from, to, &[], |day| {
            if day.provider == Source::Fixer {
                fixer.push((day.date, day.rates));
            }
            Ok::<_, anyhow::Error>(())
        })?;
        let mut report = Report::default();
        let (first, last) = (fixer.first().map(|d| d.0), fixer.last().map(|d| d.0));
        let last = last.map(|l| l.min(last_published_date(settings.now.utc)));
        if let (Some(first), Some(last)) = (first, last)
            && first <= last
        {
            let ecb = by_date(client.data(first, last, &mut Unrecorded)?);
            for (date, rates) in &fixer {
                report.add_day(*date, rates, ecb.get(date), max);
            }
        } else {
            log::info!("no day from {from} to {to} is stored from fixer.io; nothing to compare");
        }
        let report = report.finish();
        let mut out = std::io::stdout().lock();
        match self.format {
            CrosscheckFormat::Text => write_text(&report, from, to, &self.max_deviation, &mut out),
            CrosscheckFormat::Json => write_json(&report, from, to, &self.max_deviation, &mut out),
            CrosscheckFormat::Csv => write_csv(&report, &mut out),
        }
        .and_then(|()| out.flush())
        .exit(Exit::IoErr, || "cannot write to stdout".into())?;
        if report.deviations.is_empty() {
            Ok(())
        } else {
            Err(Failure::silent(Exit::Unhealthy))
        }
    }
}

fn write_text(
    r: &Report,
    from: NaiveDate,
    to: NaiveDate,
    max: &str,
    out: &mut impl Write,
) -> std::io::Result<()> {
    if r.deviations.is_empty() {
        return writeln!(
            out,
            "No fixer.io rate from {from} to {to} deviates from the ECB's by more than {max}% \
             ({} rates compared)",
            r.compared
        );
    }
    writeln!(
        out,
        "{} of {} fixer.io rates from {from} to {to} deviate from the ECB's by more than {max}%:",
        r.deviations.len(),
        r.compared
    )?;
    writeln!(
        out,
        "{:<10}  {:<8}  {:>16}  {:>16}  {:>12}",
        "Date", "Currency", "fixer.io", "ECB", "Deviation %"
    )?;
    for d in &r.deviations {
        writeln!(
            out,
            "{:<10}  {:<8}  {:>16}  {:>16}  {:>12}",
            d.date.to_string(),
            d.currency.as_str(),
            d.fixer,
            d.ecb,
            d.pct.to_string()
        )?;
    }
    Ok(())
}

fn write_csv(r: &Report, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "date,currency,fixer,ecb,deviation_pct")?;
    for d in &r.deviations {
        writeln!(
            out,
            "{},{},{},{},{}",
            d.date, d.currency, d.fixer, d.ecb, d.pct
        )?;
    }
    Ok(())
}

fn write_json(
    r: &Report,
    from: NaiveDate,
    to: NaiveDate,
    max: &str,
    out: &mut impl Write,
) -> std::io::Result<()> {
    // Every rate as the exact JSON number it is stored as.
    let number = |text: &str| -> std::io::Result<Box<RawValue>> {
        RawValue::from_string(text.to_string()).map_err(std::io::Error::from)
    };
    let deviations = r
        .deviations
        .iter()
        .map(|d| {
            Ok(serde_json::json!({
                "date": d.date,
                "currency": d.currency.as_str(),
                "fixer": number(&d.fixer)?,
                "ecb": number(&d.ecb)?,
                "deviation_pct": number(&d.pct.to_string())?,
            }))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let value = serde_json::json!({
        "from": from,
        "to": to,
        "max_deviation_pct": number(max)?,
        "compared": r.compared,
        "deviations": deviations,
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}
