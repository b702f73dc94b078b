//! The currencies the ECB publishes, as this release knows them: asked one
//! at a time when the query for every currency fails and no stored ECB day
//! says better.

use crate::rates::Currency;
use chrono::NaiveDate;

/// The ECB's reference rates as of 2026 (BGN ended with 2025).
const CURRENT: [&str; 29] = [
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "GBP", "HKD", "HUF", "IDR", "ILS", "INR",
    "ISK", "JPY", "KRW", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD", "THB",
    "TRY", "USD", "ZAR",
];

/// Currencies the ECB stopped publishing, each with the last day it did
/// (the euro's new members, RUB's suspension, the redenominations).
const ENDED: [(&str, (i32, u32, u32)); 13] = [
    ("BGN", (2025, 12, 31)),
    ("CYP", (2007, 12, 31)),
    ("EEK", (2010, 12, 31)),
    ("GRD", (2000, 12, 29)),
    ("HRK", (2022, 12, 30)),
    ("LTL", (2014, 12, 31)),
    ("LVL", (2013, 12, 31)),
    ("MTL", (2007, 12, 31)),
    ("ROL", (2005, 6, 30)),
    ("RUB", (2022, 3, 1)),
    ("SIT", (2006, 12, 29)),
    ("SKK", (2008, 12, 31)),
    ("TRL", (2004, 12, 31)),
];

/// The currencies the ECB publishes today.
pub(crate) fn current() -> Vec<Currency> {
    CURRENT.iter().filter_map(|c| Currency::parse(c)).collect()
}

/// The currencies the ECB published on or after `day`, as far as this
/// release knows: today's, and those that ended since.
pub(crate) fn published_since(day: NaiveDate) -> Vec<Currency> {
    let ended = ENDED
        .iter()
        .filter_map(|(c, _)| Currency::parse(c))
        .filter(|&c| ended(c).is_some_and(|end| end >= day));
    let mut all: Vec<Currency> = current().into_iter().chain(ended).collect();
    all.sort_unstable();
    all
}

/// The last day the ECB published `currency`, if it stopped.
pub(crate) fn ended(currency: Currency) -> Option<NaiveDate> {
    ENDED
        .iter()
        .find(|(c, _)| *c == currency.as_str())
        .and_then(|(_, (y, m, d))| NaiveDate::from_ymd_opt(*y, *m, *d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_codes_and_never_overlap() {
        assert_eq!(current().len(), CURRENT.len());
        assert!(
            CURRENT.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicate"
        );
        for (code, _) in ENDED {
            let c = Currency::parse(code).unwrap();
            assert!(ended(c).is_some(), "{code}");
            assert!(!current().contains(&c), "{code} is both current and ended");
        }
        assert_eq!(ended(Currency::parse("USD").unwrap()), None);
        let bgn = Currency::parse("BGN").unwrap();
        let day = |s| crate::calendar::parse_date(s).unwrap();
        assert!(published_since(day("2025-12-31")).contains(&bgn));
        assert!(!published_since(day("2026-01-02")).contains(&bgn));
        assert_eq!(published_since(day("2026-01-02")), current());
    }
}
