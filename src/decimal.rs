//! Exact decimals: rates are kept as the decimal text the provider sent, never
//! as a binary float, and arithmetic on them is done in decimal.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Significant digits kept for derived (cross) rates.
pub(crate) const DERIVED_DIGITS: u32 = 12;

/// The longest plain decimal accepted for a rate; more means garbage.
const MAX_LEN: usize = 40;

/// Rewrites a JSON number (`0.83578`, `1.25511e-05`, `2E3`) as a plain decimal
/// (`0.83578`, `0.0000125511`, `2000`) with no exponent, no leading zeros and no
/// trailing fractional zeros. The value is never changed. Returns `None` for
/// anything that is not a positive, non-zero, plausibly sized number.
pub(crate) fn normalize(number: &str, out: &mut String) -> Option<()> {
    out.clear();
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(i) => (&number[..i], number[i + 1..].parse::<i32>().ok()?),
        None => (number, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (mantissa.contains('.') && frac.is_empty())
    {
        return None; // also rejects a sign: rates are positive
    }
    if exponent.unsigned_abs() > MAX_LEN as u32 {
        return None;
    }
    let digits = || int.bytes().chain(frac.bytes());
    let first = digits().position(|b| b != b'0')?; // all zeros: not positive
    let last = int.len() + frac.len() - digits().rev().position(|b| b != b'0')?;
    // Position of the decimal point within `digits`, after the exponent.
    let point = int.len() as i64 + i64::from(exponent);
    let (first, last) = (first as i64, last as i64);
    let (int_b, frac_b) = (int.as_bytes(), frac.as_bytes());
    let nth = |i: i64| -> char {
        match usize::try_from(i) {
            Ok(i) if i < int_b.len() => char::from(int_b[i]),
            Ok(i) if i - int_b.len() < frac_b.len() => char::from(frac_b[i - int_b.len()]),
            _ => '0',
        }
    };
    // Integer part: digits from `first` up to `point` (at least one "0").
    if point <= first {
        out.push('0');
    } else {
        for i in first..point {
            out.push(nth(i));
        }
    }
    if last > point {
        out.push('.');
        for i in point..last {
            out.push(nth(i));
        }
    }
    (out.len() <= MAX_LEN).then_some(())
}

/// Whether `text` can be a rate fxrates stored: a short run of digits, point,
/// exponent and sign, and nothing that could drive a terminal or break a
/// line of CSV. A store shared with other hosts and programs may hold
/// anything; a rate that fails this is damage, never shown.
pub(crate) fn is_storable(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// Parses a stored decimal.
pub(crate) fn parse(text: &str) -> Option<Decimal> {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

/// Parses a decimal only if it is represented exactly (at most 28
/// significant digits and 28 decimal places): a rate that is not would be
/// rounded, or overflow, in every computation made with it.
pub(crate) fn parse_exact(text: &str) -> Option<Decimal> {
    Decimal::from_str_exact(text).ok()
}

/// `rate / base` rounded to [`DERIVED_DIGITS`] significant digits, as text.
pub(crate) fn cross_rate(rate: Decimal, base: Decimal) -> Option<String> {
    let q = rate.checked_div(base)?;
    let q = q.round_sf(DERIVED_DIGITS).unwrap_or(q).normalize();
    Some(q.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Option<String> {
        let mut out = String::new();
        normalize(s, &mut out).map(|()| out)
    }

    #[test]
    fn plain_decimals_are_kept() {
        for s in ["0.83578", "132.360679", "1.23396", "1", "7.5", "1000"] {
            assert_eq!(norm(s).as_deref(), Some(s));
        }
    }

    #[test]
    fn exponents_become_equal_plain_decimals() {
        assert_eq!(norm("1.25511e-05").as_deref(), Some("0.0000125511"));
        assert_eq!(norm("1.25511E-5").as_deref(), Some("0.0000125511"));
        assert_eq!(norm("2E3").as_deref(), Some("2000"));
        assert_eq!(norm("1.5e+2").as_deref(), Some("150"));
        assert_eq!(norm("123.456e-1").as_deref(), Some("12.3456"));
        assert_eq!(norm("0.00012e2").as_deref(), Some("0.012"));
        assert_eq!(norm("5e0").as_deref(), Some("5"));
    }

    #[test]
    fn zeros_are_trimmed_without_changing_the_value() {
        assert_eq!(norm("007.2500").as_deref(), Some("7.25"));
        assert_eq!(norm("0.100").as_deref(), Some("0.1"));
        assert_eq!(norm("10.0").as_deref(), Some("10"));
    }

    #[test]
    fn non_positive_or_malformed_numbers_are_refused() {
        for s in [
            "0", "0.0", "-1.2", "", "1.", ".5", "abc", "1e999", "NaN", "+1", "1e-50",
        ] {
            assert_eq!(norm(s), None, "{s}");
        }
    }

    #[test]
    fn cross_rates_keep_twelve_significant_digits() {
        let usd = parse("1.23396").unwrap();
        let gbp = parse("0.882047").unwrap();
        assert_eq!(cross_rate(gbp, usd).unwrap(), "0.714810042465");
        assert_eq!(cross_rate(usd, usd).unwrap(), "1");
    }
}
