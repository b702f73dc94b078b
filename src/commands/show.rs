use super::{Run, not_in_future, stored_day};
use crate::cli::{Format, ShowArgs};
use crate::error::{Exit, ResultExt};
use crate::present::view::DayView;
use crate::rates::Source;
use crate::settings::Settings;
use crate::target_calendar::closing_name;
use std::io::{self, Write};

impl Run for ShowArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        if let Some(from) = self.from {
            return super::show_range::run(self, from, settings);
        }
        let today = settings.now.today;
        if let Some(date) = self.date {
            not_in_future(date, today)?;
        }
        let store = settings.read_store()?;
        let day = stored_day(&*store, self.date)?;
        let requested = self.date.unwrap_or(day.date);
        if day.date != requested {
            // Not only in the table header: csv and json readers see it too.
            match closing_name(requested).filter(|_| day.provider == Source::Ecb) {
                Some(name) => log::warn!(
                    "the ECB published no rates for {requested} ({name}, a TARGET closing day); \
                     showing {}",
                    day.date
                ),
                None => log::warn!("no rates stored for {requested}; showing {}", day.date),
            }
        }
        let view = DayView::new(day, requested, self.base, &self.symbols)?;
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
