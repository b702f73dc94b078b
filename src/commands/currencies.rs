use super::Run;
use crate::cli::{CurrenciesArgs, Format};
use crate::error::{Exit, ResultExt};
use crate::names;
use crate::rates::Currency;
use crate::settings::Settings;
use crate::store::{StoreError, walk_days};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::io::Write;

/// One stored currency, as listed.
struct Listed {
    code: Currency,
    name: String,
    first: NaiveDate,
    last: NaiveDate,
}

impl Run for CurrenciesArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let store = settings.read_store()?;
        let stored = store.currency_names()?;
        let summary = store.summary()?;
        let mut spans: BTreeMap<Currency, (NaiveDate, NaiveDate)> = BTreeMap::new();
        if let (Some(oldest), Some(latest)) = (summary.oldest, summary.latest) {
            walk_days(&*store, oldest, latest, &[], |day| {
                for (code, _) in day.rates.iter() {
                    let span = spans.entry(code).or_insert((day.date, day.date));
                    span.1 = day.date;
                }
                Ok::<(), StoreError>(())
            })?;
        }
        let listed: Vec<Listed> = spans
            .into_iter()
            .map(|(code, (first, last))| Listed {
                code,
                name: names::name(code, stored.as_ref()),
                first,
                last,
            })
            .collect();
        let mut out = std::io::stdout().lock();
        let written = match self.format {
            Format::Table => write_table(&listed, &mut out),
            Format::Json => write_json(&listed, &mut out),
            Format::Csv => write_csv(&listed, &mut out),
        }
        .and_then(|()| out.flush());
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.exit(Exit::IoErr, || "cannot write to stdout".into()),
        }
    }
}

fn write_table(listed: &[Listed], out: &mut impl Write) -> std::io::Result<()> {
    let width = listed
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(out, "code  {:<width$}  first       last", "name")?;
    for l in listed {
        writeln!(
            out,
            "{}   {:<width$}  {}  {}",
            l.code, l.name, l.first, l.last
        )?;
    }
    Ok(())
}

fn write_json(listed: &[Listed], out: &mut impl Write) -> std::io::Result<()> {
    let rows: Vec<serde_json::Value> = listed
        .iter()
        .map(|l| {
            serde_json::json!({
                "code": l.code.as_str(),
                "name": l.name,
                "first": l.first.to_string(),
                "last": l.last.to_string(),
            })
        })
        .collect();
    serde_json::to_writer(&mut *out, &rows)?;
    writeln!(out)
}

fn write_csv(listed: &[Listed], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "code,name,first,last")?;
    for l in listed {
        let name = if l.name.contains([',', '"', '\n']) {
            format!("\"{}\"", l.name.replace('"', "\"\""))
        } else {
            l.name.clone()
        };
        writeln!(out, "{},{name},{},{}", l.code, l.first, l.last)?;
    }
    Ok(())
}
