//! The cross-check of stored fixer rates against the ECB's reference rates:
//! pure, exact decimal arithmetic, so that every case is a table test.

use crate::rates::{Currency, RateSet};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Decimal places the deviation is shown with.
pub(crate) const SHOWN_PLACES: u32 = 4;

/// One rate whose deviation from the ECB's exceeds the limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Deviation {
    pub date: NaiveDate,
    pub currency: Currency,
    /// fixer's rate, as stored.
    pub fixer: String,
    /// The ECB's rate, as sent.
    pub ecb: String,
    /// `(fixer - ecb) / ecb × 100`, rounded to [`SHOWN_PLACES`].
    pub pct: Decimal,
}

/// What a comparison found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Rates present in both.
    pub compared: u64,
    /// Those beyond the limit, the largest absolute deviation first.
    pub deviations: Vec<Deviation>,
}

impl Report {
    /// Compares one fixer day with the ECB's rates of the same day (if it
    /// has any): every currency both have, against `max_pct`. A rate that
    /// is not a decimal this arithmetic holds counts as compared and
    /// deviating without limit.
    pub(crate) fn add_day(
        &mut self,
        date: NaiveDate,
        fixer: &RateSet,
        ecb: Option<&RateSet>,
        max_pct: Decimal,
    ) {
        let Some(ecb) = ecb else { return };
        for (currency, ecb_rate) in ecb.iter() {
            let Some(fixer_rate) = fixer.get(currency) else {
                continue;
            };
            self.compared += 1;
            let Some(pct) = deviation(fixer_rate, ecb_rate) else {
                continue;
            };
            if pct.abs() > max_pct {
                self.deviations.push(Deviation {
                    date,
                    currency,
                    fixer: fixer_rate.to_string(),
                    ecb: ecb_rate.to_string(),
                    pct: pct.round_dp(SHOWN_PLACES),
                });
            }
        }
    }

    /// Sorts the deviations: the largest absolute deviation first, then by
    /// date and currency.
    pub(crate) fn finish(mut self) -> Report {
        self.deviations.sort_by(|a, b| {
            b.pct
                .abs()
                .cmp(&a.pct.abs())
                .then(a.date.cmp(&b.date))
                .then(a.currency.cmp(&b.currency))
        });
        self
    }
}

/// `(fixer - ecb) / ecb × 100`, exactly as far as 28 digits go; `None` for
/// a rate that is not a positive decimal.
pub(crate) fn deviation(fixer: &str, ecb: &str) -> Option<Decimal> {
    let f = crate::decimal::parse(fixer)?;
    let e = crate::decimal::parse(ecb)?;
    if e <= Decimal::ZERO {
        return None;
    }
    (f - e)
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(e)
        .map(|d| d.normalize())
}

/// The ECB's days by date, for [`Report::add_day`].
pub(crate) fn by_date(days: Vec<(NaiveDate, RateSet)>) -> BTreeMap<NaiveDate, RateSet> {
    days.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn set(rates: &[(&str, &str)]) -> RateSet {
        let mut s = RateSet::with_capacity(rates.len());
        for (c, r) in rates {
            s.push(Currency::parse(c).unwrap(), r);
        }
        s
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn deviations_are_exact_percentages_of_the_ecb_rate() {
        for (fixer, ecb, pct) in [
            ("1.1615", "1.1615", "0"),
            ("1.17311", "1.1615", "0.9995695221695"),
            ("2", "1", "100"),
            ("0.9", "1", "-10"),
            ("0.83380", "0.8338", "0"),
            ("4.2", "4", "5"),
        ] {
            let got = deviation(fixer, ecb).unwrap();
            assert!(
                (got - dec(pct)).abs() < dec("0.000000001"),
                "{fixer} vs {ecb}: {got}"
            );
        }
        assert_eq!(deviation("1", "0"), None);
        assert_eq!(deviation("x", "1"), None);
    }

    #[test]
    fn only_deviations_beyond_the_limit_are_listed_largest_first() {
        let d1 = NaiveDate::from_ymd_opt(2026, 9, 2).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2026, 9, 3).unwrap();
        let mut report = Report::default();
        let one = dec("1");
        report.add_day(
            d1,
            &set(&[("USD", "1.1615"), ("SAR", "4.5"), ("BTC", "0.00001")]),
            Some(&set(&[("USD", "1.1615"), ("SAR", "4.35"), ("JPY", "171")])),
            one,
        );
        report.add_day(
            d2,
            &set(&[("USD", "1.10"), ("GBP", "0.8338")]),
            Some(&set(&[("USD", "1.1615"), ("GBP", "0.83380")])),
            one,
        );
        // A day the ECB has no rates for compares nothing.
        report.add_day(d2, &set(&[("USD", "9")]), None, one);
        let report = report.finish();
        assert_eq!(report.compared, 4);
        let listed: Vec<(NaiveDate, &str, String)> = report
            .deviations
            .iter()
            .map(|d| (d.date, d.currency.as_str(), d.pct.to_string()))
            .collect();
        assert_eq!(
            listed,
            [
                (d2, "USD", "-5.2949".to_string()),
                (d1, "SAR", "3.4483".to_string())
            ]
        );
        assert_eq!(report.deviations[1].fixer, "4.5");
        assert_eq!(report.deviations[1].ecb, "4.35");
    }

    #[test]
    fn a_deviation_equal_to_the_limit_is_not_listed() {
        let d = NaiveDate::from_ymd_opt(2026, 9, 2).unwrap();
        let mut report = Report::default();
        report.add_day(
            d,
            &set(&[("USD", "1.01")]),
            Some(&set(&[("USD", "1")])),
            dec("1"),
        );
        assert_eq!(report.compared, 1);
        assert!(report.deviations.is_empty());
    }
}
