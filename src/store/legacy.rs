//! The `meta` keys in which formats before the typed tables kept what the
//! plan remembers (SQLite up to version 3, PostgreSQL up to 4): text to be
//! parsed, one key per unusable day. Only the migration that moves them
//! into `plan_memory`, `currency_names`, `unusable_days` and `upkeep` reads
//! them; an unreadable value is as good as none, as it always was (the plan
//! asks again).

use super::{CurrencyNames, TimeseriesAnswer};
use crate::calendar::parse_date;
use crate::rates::Currency;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// `allowed YYYY-MM-DD` or `refused YYYY-MM-DD`.
const TIMESERIES: &str = "timeseries";
/// The date on the first line, then `CODE name` lines.
const NAMES: &str = "currency names";
/// This prefix then the day; the value is the local date it was unusable.
const UNUSABLE: &str = "unusable ";
/// The day of the last full check that passed (SQLite).
const FULL_CHECK: &str = "full_check";

/// What the old keys held, typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Remembered {
    pub timeseries: Option<TimeseriesAnswer>,
    pub names: Option<CurrencyNames>,
    pub unusable: BTreeMap<NaiveDate, NaiveDate>,
    pub full_check: Option<NaiveDate>,
}

/// Whether `key` is one of those the migration moves (and then deletes).
pub(super) fn is_moved(key: &str) -> bool {
    matches!(key, TIMESERIES | NAMES | FULL_CHECK) || key.starts_with(UNUSABLE)
}

/// Reads `meta`'s rows, key and value; other keys are left alone.
pub(super) fn read<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> Remembered {
    let mut out = Remembered::default();
    for (key, value) in rows {
        match key {
            TIMESERIES => out.timeseries = timeseries(value),
            NAMES => out.names = Some(names(value)),
            FULL_CHECK => out.full_check = parse_date(value),
            _ => {
                if let Some(day) = key.strip_prefix(UNUSABLE).and_then(parse_date)
                    && let Some(on) = parse_date(value)
                {
                    out.unusable.insert(day, on);
                }
            }
        }
    }
    out
}

fn timeseries(text: &str) -> Option<TimeseriesAnswer> {
    let (verdict, on) = text.split_once(' ')?;
    let allowed = match verdict {
        "allowed" => true,
        "refused" => false,
        _ => return None,
    };
    Some(TimeseriesAnswer {
        allowed,
        on: parse_date(on)?,
    })
}

fn names(text: &str) -> CurrencyNames {
    let mut lines = text.lines();
    let fetched_on = lines.next().and_then(parse_date);
    let names = lines
        .filter_map(|l| {
            let (code, name) = l.split_once(' ')?;
            Some((Currency::parse(code)?, name.to_string()))
        })
        .collect();
    CurrencyNames { fetched_on, names }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn every_old_key_is_read_typed_and_unreadable_values_are_none() {
        let rows = [
            ("fxrates_schema_version", "4"),
            ("timeseries", "refused 2024-09-20"),
            (
                "currency names",
                "2024-09-02\nUSD United States Dollar\nbad\nXAU Gold",
            ),
            ("unusable 2024-09-18", "2024-09-20"),
            ("unusable 2024-09-19", "not a date"),
            ("unusable someday", "2024-09-20"),
            ("full_check", "2024-09-16"),
        ];
        let read = read(rows);
        assert_eq!(
            read.timeseries,
            Some(TimeseriesAnswer {
                allowed: false,
                on: date("2024-09-20")
            })
        );
        let names = read.names.unwrap();
        assert_eq!(names.fetched_on, Some(date("2024-09-02")));
        let listed: Vec<_> = names
            .names
            .iter()
            .map(|(c, n)| (c.as_str(), n.as_str()))
            .collect();
        assert_eq!(listed, [("USD", "United States Dollar"), ("XAU", "Gold")]);
        assert_eq!(
            read.unusable,
            BTreeMap::from([(date("2024-09-18"), date("2024-09-20"))])
        );
        assert_eq!(read.full_check, Some(date("2024-09-16")));
        assert!(rows.iter().skip(1).all(|(k, _)| is_moved(k)));
        assert!(!is_moved("fxrates_schema_version"));
    }

    #[test]
    fn a_timeseries_answer_that_cannot_be_read_is_none() {
        assert_eq!(
            timeseries("allowed 2024-09-20"),
            Some(TimeseriesAnswer {
                allowed: true,
                on: date("2024-09-20")
            })
        );
        for bad in ["", "allowed", "maybe 2024-09-20", "refused 2024-13-01"] {
            assert_eq!(timeseries(bad), None, "{bad:?}");
        }
    }
}
