use super::Run;
use crate::cli::{ConvertArgs, ConvertFormat};
use crate::conversion::{Conversion, parse_amount};
use crate::error::{Exit, ResultExt, fail};
use crate::rates::EUR;
use crate::settings::Settings;
use std::io::{self, Write};

/// How far back `convert` looks for a stored day (a weekend, a holiday).
const MAX_FALLBACK_DAYS: u64 = 7;

impl Run for ConvertArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let amount = parse_amount(&self.amount)?;
        let today = settings.now.today;
        let date = self.date.unwrap_or(today);
        if date > today {
            return Err(fail(
                Exit::Usage,
                format!("--date {date} is in the future (today is {today})"),
            ));
        }
        let store = settings.read_store()?;
        let day = store
            .day_on_or_before(Some(date), MAX_FALLBACK_DAYS)?
            .ok_or_else(|| {
                fail(
                    Exit::NoInput,
                    format!(
                        "no rates stored for {date} or the {MAX_FALLBACK_DAYS} days before it; run \
                         `fxrates ingest --date {date}` to fetch it"
                    ),
                )
            })?;
        let fallback = (day.date != date).then(|| format!(", the latest stored day before {date}"));
        if fallback.is_some() {
            log::warn!(
                "no rates stored for {date}; converting at those of {}",
                day.date
            );
        }
        let c = Conversion::new(amount, self.from, self.to, &day)?;
        let text = match self.format {
            ConvertFormat::Text => format!(
                "{} {} = {} {}\n1 {} = {} {} on {}{}{}\n",
                c.amount,
                c.from,
                c.result,
                c.to,
                c.from,
                c.rate,
                c.to,
                day.date,
                fallback.unwrap_or_default(),
                if c.derived {
                    format!(" (derived from {EUR} rates)")
                } else {
                    String::new()
                },
            ),
            ConvertFormat::Json => format!(
                "{{\"amount\":{},\"from\":\"{}\",\"to\":\"{}\",\"result\":{},\"rate\":{},\"derived\":{},\"date\":\"{}\",\"requested_date\":\"{date}\"}}\n",
                c.amount, c.from, c.to, c.result, c.rate, c.derived, day.date
            ),
        };
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .exit(Exit::IoErr, || "cannot write to stdout".into())
    }
}
