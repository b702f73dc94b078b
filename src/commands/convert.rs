use super::{Run, not_in_future, stored_day};
use crate::cli::{ConvertArgs, ConvertFormat};
use crate::conversion::{Conversion, parse_amount};
use crate::error::{Exit, ResultExt};
use crate::rates::EUR;
use crate::settings::Settings;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::value::RawValue;
use std::io::{self, Write};

/// `convert --format json`: the decimals as JSON numbers, exactly as
/// computed (never through a float).
#[derive(Serialize)]
struct JsonConversion<'a> {
    amount: Box<RawValue>,
    from: &'a str,
    to: &'a str,
    result: Box<RawValue>,
    rate: Box<RawValue>,
    derived: bool,
    date: NaiveDate,
    requested_date: NaiveDate,
}

impl Run for ConvertArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let amount = parse_amount(&self.amount)?;
        let today = settings.now.today;
        let date = self.date.unwrap_or(today);
        not_in_future(date, today)?;
        let store = settings.read_store()?;
        let day = stored_day(&*store, Some(date))?;
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
            ConvertFormat::Json => {
                let number = |text: String| {
                    RawValue::from_string(text).exit(Exit::Software, || {
                        "a converted amount is not a JSON number".into()
                    })
                };
                let json = JsonConversion {
                    amount: number(c.amount.to_string())?,
                    from: c.from.as_str(),
                    to: c.to.as_str(),
                    result: number(c.result.to_string())?,
                    rate: number(c.rate.clone())?,
                    derived: c.derived,
                    date: day.date,
                    requested_date: date,
                };
                let mut text = serde_json::to_string(&json).exit(Exit::Software, || {
                    "cannot write the conversion as JSON".into()
                })?;
                text.push('\n');
                text
            }
        };
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .exit(Exit::IoErr, || "cannot write to stdout".into())
    }
}
