//! Converting an amount at a stored day's rates, in decimal arithmetic only.
//!
//! From the stored base (EUR) the rate is the stored decimal and the result
//! the exact product. Any other pair is a cross rate, rate(TO) / rate(FROM),
//! shown to [`DERIVED_DIGITS`] significant digits as `show --base` shows it;
//! the result is amount x rate(TO) / rate(FROM) computed from the stored
//! decimals and rounded to the same number of significant digits, as the
//! division makes anything further noise.

use crate::decimal::{self, DERIVED_DIGITS, cross_rate};
use crate::error::{Exit, fail};
use crate::rates::Currency;
use crate::store::StoredDay;
use rust_decimal::Decimal;

/// Digits an amount may have, so that amount x rate always fits a decimal
/// (28 digits) without rounding.
pub(crate) const AMOUNT_DIGITS: usize = 15;
/// Decimal places an amount may have.
pub(crate) const AMOUNT_SCALE: usize = 10;

/// One conversion: what was asked and what it came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Conversion {
    pub amount: Decimal,
    pub from: Currency,
    pub to: Currency,
    /// The exact product or the rounded quotient, trailing zeros trimmed.
    pub result: Decimal,
    /// Units of `to` per one `from`, as text.
    pub rate: String,
    /// Whether the rate was derived from two stored rates.
    pub derived: bool,
}

/// Parses AMOUNT: a plain decimal, negative allowed (a refund converts as
/// well as a payment), no exponent, no thousands separators.
pub(crate) fn parse_amount(text: &str) -> anyhow::Result<Decimal> {
    let bad = |why: &str| {
        fail(
            Exit::Usage,
            format!("AMOUNT {text:?} {why}; write a plain decimal such as 100 or -12.50"),
        )
    };
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !plain(int) || !plain(frac) || digits.ends_with('.') {
        return Err(bad("is not a number"));
    }
    if frac.len() > AMOUNT_SCALE {
        return Err(bad(&format!("has more than {AMOUNT_SCALE} decimal places")));
    }
    if int.trim_start_matches('0').len() + frac.len() > AMOUNT_DIGITS {
        return Err(bad(&format!("has more than {AMOUNT_DIGITS} digits")));
    }
    Decimal::from_str_exact(text).map_err(|_| bad("is not a number"))
}

impl Conversion {
    /// Converts `amount` at the rates of `day`; a currency without a rate
    /// that day is an error naming it.
    pub(crate) fn new(
        amount: Decimal,
        from: Currency,
        to: Currency,
        day: &StoredDay,
    ) -> anyhow::Result<Conversion> {
        let rate_of = |c: Currency| -> anyhow::Result<(Decimal, &str)> {
            if c == day.base {
                return Ok((Decimal::ONE, "1"));
            }
            let text = day.rates.get(c).ok_or_else(|| {
                fail(
                    Exit::NoInput,
                    format!("no {c} rate is stored for {}", day.date),
                )
            })?;
            let value = decimal::parse(text).ok_or_else(|| {
                fail(
                    Exit::IoErr,
                    format!("the stored {c} rate of {} is damaged: {text:?}", day.date),
                )
            })?;
            Ok((value, text))
        };
        let (from_rate, _) = rate_of(from)?;
        let (to_rate, to_text) = rate_of(to)?;
        let overflow = || {
            fail(
                Exit::Usage,
                format!(
                    "{amount} {from} has too many digits to convert exactly at this rate; \
                     give fewer digits"
                ),
            )
        };
        let (result, rate, derived) = if from == to {
            (amount, "1".to_string(), false)
        } else if from == day.base {
            // The product is exact only if nothing was rounded away: its
            // scale is then the sum of both scales. Zero times anything is
            // exactly zero, whatever scale the multiplication gives it.
            let exact = amount
                .checked_mul(to_rate)
                .filter(|p| amount.is_zero() || p.scale() == amount.scale() + to_rate.scale())
                .ok_or_else(overflow)?;
            (exact, to_text.to_string(), false)
        } else {
            let q = amount
                .checked_mul(to_rate)
                .and_then(|p| p.checked_div(from_rate))
                .ok_or_else(overflow)?;
            let rounded = q.round_sf(DERIVED_DIGITS).unwrap_or(q);
            let rate = cross_rate(to_rate, from_rate).ok_or_else(overflow)?;
            (rounded, rate, true)
        };
        Ok(Conversion {
            amount,
            from,
            to,
            result: result.normalize(),
            rate,
            derived,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::{EUR, RateSet};
    use chrono::NaiveDate;

    fn day() -> StoredDay {
        let mut rates = RateSet::with_capacity(4);
        for (c, r) in [
            ("EUR", "1"),
            ("GBP", "0.83578"),
            ("JPY", "132.360679"),
            ("USD", "1.23396"),
        ] {
            rates.push(Currency::parse(c).unwrap(), r);
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

    fn convert(amount: &str, from: &str, to: &str) -> Conversion {
        let c = |s| Currency::parse(s).unwrap();
        Conversion::new(parse_amount(amount).unwrap(), c(from), c(to), &day()).unwrap()
    }

    #[test]
    fn from_eur_the_result_is_the_exact_product() {
        let c = convert("100", "EUR", "GBP");
        assert_eq!(
            (c.result.to_string(), c.rate.as_str()),
            ("83.578".into(), "0.83578")
        );
        assert!(!c.derived);
        let c = convert("123456789012.34", "EUR", "JPY");
        assert_eq!(c.result.to_string(), "16340824420833.06177886");
    }

    #[test]
    fn cross_rates_round_to_twelve_significant_digits() {
        let c = convert("100", "USD", "GBP");
        assert_eq!(c.rate, "0.677315310059");
        assert_eq!(c.result.to_string(), "67.7315310059");
        assert!(c.derived);
        let c = convert("100", "GBP", "EUR");
        assert_eq!(c.rate, "1.19648711383");
        assert_eq!(c.result.to_string(), "119.648711383");
    }

    #[test]
    fn negative_and_same_currency_amounts() {
        assert_eq!(
            convert("-12.50", "EUR", "USD").result.to_string(),
            "-15.4245"
        );
        let same = convert("7.25", "USD", "USD");
        assert_eq!(
            (same.result.to_string(), same.rate.as_str()),
            ("7.25".into(), "1")
        );
    }

    #[test]
    fn zero_negative_and_long_amounts_convert_between_every_pair() {
        let all = ["EUR", "GBP", "JPY", "USD"];
        let amounts = [
            "0",
            "-0",
            "0.00",
            "1",
            "-12.50",
            "999999999999999",
            "99999.9999999999",
        ];
        for from in all {
            for to in all {
                for a in amounts {
                    let c = convert(a, from, to);
                    let neg = convert(&format!("-{}", a.trim_start_matches('-')), from, to);
                    if parse_amount(a).unwrap().is_zero() {
                        assert_eq!(c.result.to_string(), "0", "{a} {from} {to}");
                        assert_eq!(neg.result.to_string(), "0", "-{a} {from} {to}");
                    } else {
                        assert!(
                            c.result.is_sign_positive() != a.starts_with('-'),
                            "{a} {from} {to}"
                        );
                        assert_eq!(neg.result, -c.result.abs(), "{a} {from} {to}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_product_that_would_be_rounded_is_refused() {
        let mut d = day();
        let tiny = Currency::parse("TNY").unwrap();
        d.rates.push(tiny, "0.0000000000000000000000000001");
        let amount = parse_amount("0.5").unwrap();
        let err = Conversion::new(amount, EUR, tiny, &d).unwrap_err();
        assert!(err.to_string().contains("too many digits"), "{err}");
        let c = Conversion::new(Decimal::ONE, EUR, tiny, &d).unwrap();
        assert_eq!(c.result.to_string(), "0.0000000000000000000000000001");
    }

    #[test]
    fn a_currency_without_a_rate_is_named() {
        let xyz = Currency::parse("XYZ").unwrap();
        let err = Conversion::new(Decimal::ONE, EUR, xyz, &day()).unwrap_err();
        assert_eq!(err.to_string(), "no XYZ rate is stored for 2024-09-20");
    }

    #[test]
    fn amounts_must_be_plain_decimals() {
        for ok in ["0", "100", "-12.50", "0.0000000001", "999999999999999"] {
            assert!(parse_amount(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-",
            "1e5",
            "1,000",
            "1_000",
            ".5",
            "5.",
            "+5",
            "NaN",
            "inf",
            "--1",
            "1.2.3",
            " 1",
            "0.00000000001",
            "1000000000000000",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }
}
