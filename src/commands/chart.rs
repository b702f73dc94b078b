use super::{Run, ordered_range};
use crate::calendar::window_ending;
use crate::cli::ChartArgs;
use crate::decimal;
use crate::error::{Exit, ResultExt, fail};
use crate::present::chart::{self, Charset, Point};
use crate::present::view::DayView;
use crate::rates::EUR;
use crate::settings::Settings;
use crate::store;
use std::io::{self, Write};

/// Days drawn without `--days` or `--from`.
const DEFAULT_DAYS: u32 = 90;
/// Width used when neither `--width`, `COLUMNS` nor a terminal tells.
const DEFAULT_WIDTH: usize = 80;

impl Run for ChartArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let to = self.to.unwrap_or(settings.now.today);
        let from = match self.from {
            Some(d) => d,
            None => window_ending(to, self.days.unwrap_or(DEFAULT_DAYS)).0,
        };
        ordered_range(from, to, self.to.is_some())?;
        let (cur, base) = (self.currency, self.base.unwrap_or(EUR));
        let charset = if self.ascii || !settings.terminal.utf8 {
            Charset::Ascii
        } else {
            Charset::Unicode
        };
        let width = match self.width {
            Some(w) => usize::from(w),
            None => settings
                .terminal
                .columns
                .unwrap_or(DEFAULT_WIDTH)
                .clamp(40, 1000),
        };

        let store = settings.read_store()?;
        let mut points = Vec::new();
        store::walk_days(&*store, from, to, &[cur, base, EUR], |day| {
            // The rate exactly as `show --base` prints it; a day lacking
            // either currency is not drawn.
            let date = day.date;
            if let Ok(view) = DayView::new(day, date, Some(base), &[cur])
                && let Some(text) = view.rates.get(cur)
                && let Some(value) = decimal::parse(text)
            {
                points.push(Point {
                    date,
                    value,
                    text: text.to_string(),
                });
            }
            Ok::<_, anyhow::Error>(())
        })?;
        let derived = if base == EUR {
            ""
        } else {
            " (derived from EUR)"
        };
        let title = format!(
            "{cur} per 1 {base}{derived}, {from} to {to}, {}",
            crate::calendar::days_text(points.len() as u64).replace("day", "stored day")
        );
        let Some(text) = chart::render(&title, &points, width, usize::from(self.height), charset)
        else {
            let found = match points.first() {
                None => "no stored day has".to_string(),
                Some(p) => format!("only one stored day ({}) has", p.date),
            };
            return Err(fail(
                Exit::NoInput,
                format!(
                    "too little data to draw: {found} a {cur} rate against {base} from {from} to \
                     {to}; a chart needs 2 days (fetch more with `fxrates ingest --date DAY`)"
                ),
            ));
        };
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .exit(Exit::IoErr, || "cannot write to stdout".into())
    }
}
