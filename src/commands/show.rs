use super::Run;
use crate::cli::{Format, ShowArgs};
use crate::error::{Exit, ResultExt, fail};
use crate::present::view::DayView;
use crate::settings::Settings;
use std::io::{self, Write};

/// How far back `show --date` looks for a stored day (a weekend, a holiday).
const MAX_FALLBACK_DAYS: u64 = 7;

impl Run for ShowArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        if let Some(from) = self.from {
            return super::show_range::run(self, from, settings);
        }
        let today = settings.now.today;
        if let Some(date) = self.date.filter(|d| *d > today) {
            // As `convert` says: no day after today can be stored.
            return Err(fail(
                Exit::Usage,
                format!("--date {date} is in the future (today is {today})"),
            ));
        }
        let store = settings.read_store()?;
        let day = store
            .day_on_or_before(self.date, MAX_FALLBACK_DAYS)?
            .ok_or_else(|| match self.date {
                Some(d) => fail(
                    Exit::NoInput,
                    format!(
                        "no rates stored for {d} or the {MAX_FALLBACK_DAYS} days before it; run \
                         `fxrates ingest --date {d}` to fetch it"
                    ),
                ),
                None => fail(
                    Exit::NoInput,
                    format!(
                        "{} holds no rates yet; run `fxrates backfill` or `fxrates ingest`",
                        store.target()
                    ),
                ),
            })?;
        let requested = self.date.unwrap_or(day.date);
        if day.date != requested {
            // Not only in the table header: csv and json readers see it too.
            log::warn!("no rates stored for {requested}; showing {}", day.date);
        }
        let view = DayView::new(&day, requested, self.base, &self.symbols)?;
        // Stdout is line-buffered: unbuffered, a day of 170 rates is 170 writes.
        let mut out = io::BufWriter::new(io::stdout().lock());
        match self.format {
            Format::Table => view.write_table(&mut out),
            Format::Json => view.write_json(&mut out),
            Format::Csv => view.write_csv(&mut out, true),
        }
        .and_then(|()| out.flush())
        .exit(Exit::IoErr, || "cannot write to stdout".into())
    }
}
