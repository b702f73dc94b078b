//! A stored day's rates as the APIs answer them: against the asked base,
//! only the asked currencies, times an amount, written as JSON numbers.
//!
//! A stored rate against the stored base is written digit for digit as it
//! is stored (the provider's decimal); anything derived is computed in
//! exact decimal arithmetic and rounded to [`DERIVED_DIGITS`] significant
//! digits, as `show --base` and `convert` do.

use crate::decimal::{self, DERIVED_DIGITS};
use crate::rates::Currency;
use crate::store::StoredDay;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::fmt::Write;

/// What a client asked for, besides the day.
#[derive(Clone, Debug)]
pub(crate) struct Ask {
    pub base: Currency,
    /// Only these currencies, in code order; all when empty.
    pub symbols: Vec<Currency>,
    /// Each rate times this; `None` for 1.
    pub amount: Option<Decimal>,
    /// Whether the base itself is listed (fixer lists it at 1; Frankfurter
    /// leaves it out).
    pub list_base: bool,
}

/// A currency the answer cannot be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unknown {
    Base(Currency),
    Symbol(Currency),
}

/// The stored rate of `c` on `day` (the stored base is 1).
fn rate_of(day: &StoredDay, c: Currency) -> Option<&str> {
    if c == day.base {
        Some(day.rates.get(c).unwrap_or("1"))
    } else {
        day.rates.get(c)
    }
}

impl Ask {
    /// Checks every currency asked for against the days of the answer: the
    /// base and each symbol must have a rate on at least one of them.
    pub(crate) fn check(&self, days: &[StoredDay]) -> Result<(), Unknown> {
        let known = |c: Currency| days.iter().any(|d| rate_of(d, c).is_some());
        if !known(self.base) {
            return Err(Unknown::Base(self.base));
        }
        match self.symbols.iter().find(|c| !known(**c)) {
            Some(c) => Err(Unknown::Symbol(*c)),
            None => Ok(()),
        }
    }

    /// Writes `{"AUD":1.566015,...}` for `day`; `false` (and nothing
    /// written) when the base has no rate that day. A year of timeseries
    /// is some 45,000 rates: each is copied as text, without an allocation.
    pub(crate) fn write_rates(&self, out: &mut String, day: &StoredDay) -> bool {
        let mark = out.len();
        out.push('{');
        let mut first = true;
        let written = self.each_value(day, |c, value| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push('"');
            out.push_str(c.as_str());
            out.push_str("\":");
            out.push_str(value);
        });
        if !written {
            out.truncate(mark);
            return false;
        }
        out.push('}');
        true
    }

    /// The rates of `day` as asked, each as the text of a JSON number;
    /// `None` when the base has no rate that day.
    pub(crate) fn values(&self, day: &StoredDay) -> Option<Vec<(Currency, String)>> {
        let mut values = Vec::new();
        self.each_value(day, |c, value| values.push((c, value.to_string())))
            .then_some(values)
    }

    /// Calls `each` with every rate of `day` as asked, in code order, as the
    /// text of a JSON number; `false` when the base has no rate that day.
    fn each_value(&self, day: &StoredDay, mut each: impl FnMut(Currency, &str)) -> bool {
        let Some(base_text) = rate_of(day, self.base) else {
            return false;
        };
        let derived = self.base != day.base;
        let base_value = if derived {
            match decimal::parse(base_text) {
                Some(v) if !v.is_zero() => v,
                _ => {
                    log::warn!("the stored {} rate of {} is damaged", self.base, day.date);
                    return false;
                }
            }
        } else {
            Decimal::ONE
        };
        let verbatim = !derived && self.amount.is_none();
        let mut computed = String::new();
        let mut one = |c: Currency, text: &str| {
            if c == self.base && !self.list_base {
                return;
            }
            if verbatim && is_json_number(text) {
                return each(c, text);
            }
            match self.compute(text, base_value, derived) {
                Some(v) => {
                    computed.clear();
                    let _ = write!(computed, "{v}");
                    each(c, &computed);
                }
                None => log::warn!("the stored {c} rate of {} is damaged: {text:?}", day.date),
            }
        };
        if self.symbols.is_empty() {
            // The stored base is 1, in its place, when the day does not list it.
            let mut base_due = day.rates.get(day.base).is_none();
            for (c, text) in day.rates.iter() {
                if base_due && day.base < c {
                    one(day.base, "1");
                    base_due = false;
                }
                one(c, text);
            }
            if base_due {
                one(day.base, "1");
            }
        } else if self.symbols.is_sorted() {
            for &c in &self.symbols {
                if let Some(text) = rate_of(day, c) {
                    one(c, text);
                }
            }
        } else {
            let mut asked = self.symbols.clone();
            asked.sort();
            for c in asked {
                if let Some(text) = rate_of(day, c) {
                    one(c, text);
                }
            }
        }
        true
    }

    /// amount x rate / base: exact from the stored base (unless the
    /// product has more digits than a decimal holds), else rounded.
    fn compute(&self, text: &str, base: Decimal, derived: bool) -> Option<Decimal> {
        let rate = decimal::parse(text)?;
        let amount = self.amount.unwrap_or(Decimal::ONE);
        let product = amount.checked_mul(rate)?;
        let exact = product.scale() == amount.scale() + rate.scale();
        let value = if derived {
            product.checked_div(base)?.round_sf(DERIVED_DIGITS)?
        } else if exact {
            product
        } else {
            product.round_sf(DERIVED_DIGITS)?
        };
        Some(value.normalize())
    }
}

/// Whether `text` can be written into JSON as it is: a plain decimal, as
/// the store keeps rates.
fn is_json_number(text: &str) -> bool {
    let (int, frac) = text.split_once('.').unwrap_or((text, "1"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac) && (int == "0" || !int.starts_with('0'))
}

/// When a stored day was fetched, from the store's text.
pub(crate) fn fetched_at(day: &StoredDay) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&day.fetched_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The newest fetch time of `days`: when the data behind an answer last
/// changed.
pub(crate) fn last_fetched(days: &[StoredDay]) -> Option<DateTime<Utc>> {
    days.iter().filter_map(fetched_at).max()
}

/// Reads `symbols` (or Frankfurter's `to`): codes separated by commas,
/// in any case; `Err` with the first that is not a code.
pub(crate) fn parse_codes(text: &str) -> Result<Vec<Currency>, String> {
    let mut codes = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let code = parse_code(part).ok_or_else(|| part.to_string())?;
        codes.push(code);
    }
    codes.sort();
    codes.dedup();
    Ok(codes)
}

/// A currency code in any case.
pub(crate) fn parse_code(text: &str) -> Option<Currency> {
    Currency::parse(&text.trim().to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::{EUR, RateSet};
    use chrono::NaiveDate;

    fn c(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }

    fn day() -> StoredDay {
        let mut rates = RateSet::with_capacity(4);
        for (code, r) in [
            ("BTC", "0.0000125511"),
            ("EUR", "1"),
            ("GBP", "0.83578"),
            ("USD", "1.23396"),
        ] {
            rates.push(c(code), r);
        }
        let date = NaiveDate::from_ymd_opt(2024, 9, 20).unwrap();
        StoredDay {
            date,
            base: EUR,
            source_date: date,
            source_timestamp: None,
            fetched_at: "2024-09-20T09:00:00Z".into(),
            endpoint: "latest".into(),
            provider: crate::rates::Source::Fixer,
            rates,
        }
    }

    fn rates(ask: &Ask) -> String {
        let mut out = String::new();
        assert!(ask.write_rates(&mut out, &day()));
        out
    }

    fn ask(base: &str, symbols: &[&str], amount: Option<&str>, list_base: bool) -> Ask {
        Ask {
            base: c(base),
            symbols: symbols.iter().map(|s| c(s)).collect(),
            amount: amount.map(|a| a.parse().unwrap()),
            list_base,
        }
    }

    #[test]
    fn stored_rates_are_written_digit_for_digit() {
        assert_eq!(
            rates(&ask("EUR", &[], None, true)),
            r#"{"BTC":0.0000125511,"EUR":1,"GBP":0.83578,"USD":1.23396}"#
        );
        assert_eq!(
            rates(&ask("EUR", &["USD", "GBP"], None, false)),
            r#"{"GBP":0.83578,"USD":1.23396}"#
        );
    }

    #[test]
    fn another_base_is_exact_then_rounded_to_twelve_digits() {
        assert_eq!(
            rates(&ask("USD", &["EUR", "GBP", "USD"], None, true)),
            r#"{"EUR":0.810399040488,"GBP":0.677315310059,"USD":1}"#
        );
        assert_eq!(
            rates(&ask("USD", &["GBP", "USD"], None, false)),
            r#"{"GBP":0.677315310059}"#
        );
    }

    #[test]
    fn a_day_that_does_not_list_its_base_has_it_at_one_in_its_place() {
        let mut d = day();
        let mut rates = RateSet::with_capacity(3);
        for (code, r) in [
            ("BTC", "0.0000125511"),
            ("GBP", "0.83578"),
            ("USD", "1.23396"),
        ] {
            rates.push(c(code), r);
        }
        d.rates = rates;
        let mut out = String::new();
        assert!(ask("EUR", &[], None, true).write_rates(&mut out, &d));
        assert_eq!(
            out,
            r#"{"BTC":0.0000125511,"EUR":1,"GBP":0.83578,"USD":1.23396}"#
        );
        out.clear();
        assert!(ask("EUR", &[], None, false).write_rates(&mut out, &d));
        assert_eq!(out, r#"{"BTC":0.0000125511,"GBP":0.83578,"USD":1.23396}"#);
        // A day without the asked base writes nothing.
        out.clear();
        out.push_str("kept");
        assert!(!ask("JPY", &[], None, true).write_rates(&mut out, &d));
        assert_eq!(out, "kept");
    }

    #[test]
    fn an_amount_multiplies_exactly() {
        assert_eq!(
            rates(&ask("EUR", &["GBP", "USD"], Some("10.00"), false)),
            r#"{"GBP":8.3578,"USD":12.3396}"#
        );
        assert_eq!(
            rates(&ask("USD", &["GBP"], Some("10"), false)),
            r#"{"GBP":6.77315310059}"#
        );
    }

    #[test]
    fn unknown_currencies_are_named() {
        let days = [day()];
        assert_eq!(ask("EUR", &["GBP"], None, true).check(&days), Ok(()));
        assert_eq!(
            ask("XYZ", &[], None, true).check(&days),
            Err(Unknown::Base(c("XYZ")))
        );
        assert_eq!(
            ask("EUR", &["GBP", "ABC"], None, true).check(&days),
            Err(Unknown::Symbol(c("ABC")))
        );
    }

    #[test]
    fn only_plain_decimals_are_copied() {
        for ok in ["1", "0.5", "10.25", "0.0000125511"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "1e5", "-1", "1.2.3"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
