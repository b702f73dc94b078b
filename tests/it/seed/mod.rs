//! Stores days straight through the library's Store, for tests that read
//! history and need many days with rates that move.

use crate::common::{TestEnv, weekdays};
use chrono::{DateTime, NaiveDate};
use fxrates::rates::{Currency, EUR, RateSet, Snapshot};
use fxrates::store::{self, Provenance};
use std::time::Duration;

pub fn date(s: &str) -> NaiveDate {
    fxrates::calendar::parse_date(s).unwrap()
}

/// Stores each `(date, [(code, rate)])` as fixer would have sent it.
pub fn store_days(env: &TestEnv, days: &[(&str, Vec<(&str, &str)>)]) {
    let mut store = store::open_write(&env.target(), true, Duration::ZERO).unwrap();
    for (day, rates) in days {
        let mut set = RateSet::with_capacity(rates.len());
        for (c, r) in rates {
            set.push(Currency::parse(c).unwrap(), r);
        }
        assert_eq!(set.duplicate(), None);
        let snapshot = Snapshot {
            source_date: date(day),
            source_timestamp: Some(1_726_790_399),
            base: EUR,
            rates: set,
        };
        let provenance = Provenance {
            endpoint: "historical",
            fetched_at: DateTime::parse_from_rfc3339("2024-09-30T09:00:00Z")
                .unwrap()
                .to_utc(),
            provider: fxrates::rates::Source::Fixer,
        };
        store.put_day(date(day), &snapshot, &provenance).unwrap();
    }
}

/// Twenty GBP rates for the weekdays of 2024-09-02 to 2024-09-27: a dip,
/// a rise, a fall and a partial recovery.
pub const GBP_SEPTEMBER: [&str; 20] = [
    "0.8421", "0.84305", "0.8419", "0.84012", "0.8396", "0.84077", "0.84233", "0.84401", "0.84512",
    "0.8446", "0.84391", "0.8425", "0.84102", "0.83985", "0.8387", "0.83912", "0.84055", "0.8418",
    "0.84302", "0.84275",
];

/// USD rates for the same days.
pub const USD_SEPTEMBER: [&str; 20] = [
    "1.1052", "1.10611", "1.10433", "1.1029", "1.10815", "1.1102", "1.11214", "1.1087", "1.1065",
    "1.10702", "1.11033", "1.11345", "1.1151", "1.11687", "1.1154", "1.11302", "1.11198", "1.1123",
    "1.1149", "1.11623",
];

/// Stores the twenty weekdays of September 2024 with moving GBP and USD.
pub fn september(env: &TestEnv) -> Vec<String> {
    let days = weekdays("2024-09-02", "2024-09-27");
    assert_eq!(days.len(), 20);
    let rows: Vec<(&str, Vec<(&str, &str)>)> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                d.as_str(),
                vec![
                    ("EUR", "1"),
                    ("GBP", GBP_SEPTEMBER[i]),
                    ("JPY", "159.3"),
                    ("USD", USD_SEPTEMBER[i]),
                ],
            )
        })
        .collect();
    store_days(env, &rows);
    days
}
