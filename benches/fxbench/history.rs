//! A synthetic but realistic rate history: fixer's ~170 codes, each with its
//! own magnitude and a daily wobble, rendered the way fixer renders numbers
//! (at most 6 decimals, tiny values in exponent form such as `1.25511e-05`).
//! Every calendar day from 1999-01-01 to `today` is pre-rendered once, so the
//! server's own cost per request is a copy.

use chrono::{Datelike, NaiveDate};

/// The codes fixer's `symbols` endpoint lists (170), including the non-ISO ones.
pub const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTC", "BTN", "BWP", "BYN", "BYR",
    "BZD", "CAD", "CDF", "CHF", "CLF", "CLP", "CNY", "COP", "CRC", "CUC", "CUP", "CVE", "CZK",
    "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GGP",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS",
    "IMP", "INR", "IQD", "IRR", "ISK", "JEP", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
    "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LTL", "LVL", "LYD",
    "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRO", "MRU", "MUR", "MVR", "MWK", "MXN",
    "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
    "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "STD", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND",
    "VUV", "WST", "XAF", "XAG", "XAU", "XCD", "XDR", "XOF", "XPF", "YER", "ZAR", "ZMK", "ZMW",
    "ZWL",
];

/// The first calendar day rendered.
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1999, 1, 1).expect("valid date")
}

/// The first weekday of fixer's history, where a full backfill starts.
pub fn history_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(1999, 1, 4).expect("valid date")
}

/// Every calendar day's `{"CODE":rate,...}` object, indexed from [`first_day`].
pub struct History {
    pub today: NaiveDate,
    days: Vec<String>,
}

impl History {
    pub fn generate(today: NaiveDate) -> History {
        let n = (today - first_day()).num_days() as usize + 1;
        let magnitudes: Vec<i32> = CODES.iter().map(|c| magnitude(c)).collect();
        let mut days = Vec::with_capacity(n);
        let mut number = String::with_capacity(24);
        for i in 0..n {
            let mut body = String::with_capacity(CODES.len() * 16);
            body.push('{');
            for (j, code) in CODES.iter().enumerate() {
                if j > 0 {
                    body.push(',');
                }
                body.push('"');
                body.push_str(code);
                body.push_str("\":");
                render(significand(i as u64, j as u64), magnitudes[j], &mut number);
                body.push_str(&number);
            }
            body.push('}');
            days.push(body);
        }
        History { today, days }
    }

    /// The rates object of `date`, if it is inside the history.
    pub fn rates(&self, date: NaiveDate) -> Option<&str> {
        let i = (date - first_day()).num_days();
        if i < 0 {
            return None;
        }
        self.days.get(i as usize).map(String::as_str)
    }

    /// Bytes of all pre-rendered days (the server's resident data).
    pub fn bytes(&self) -> usize {
        self.days.iter().map(String::len).sum()
    }
}

/// Weekdays from `from` to `to`, both included.
pub fn weekdays(from: NaiveDate, to: NaiveDate) -> usize {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .count()
}

/// The power of ten of a code's rate against EUR, close to the real one for
/// the codes whose shape matters (tiny BTC and gold, large VND and IRR).
fn magnitude(code: &str) -> i32 {
    match code {
        "BTC" => -5,
        "XAU" => -4,
        "XAG" | "CLF" => -2,
        "EUR" | "USD" | "CHF" | "CAD" | "AUD" | "NZD" | "SGD" | "BGN" => 0,
        "GBP" => -1,
        "INR" | "RUB" => 2,
        "JPY" => 2,
        "IRR" | "VND" | "LBP" | "VES" | "SLL" | "IDR" | "STD" => 4,
        "KRW" | "COP" | "UGX" | "PYG" | "MGA" | "TZS" | "KPW" | "LAK" | "MMK" | "GNF" => 3,
        _ => (hash(code.bytes().fold(7, |h, b| h * 31 + u64::from(b))) % 4) as i32 - 1,
    }
}

/// A 7-digit significand for day `i` and code `j`: a per-code level plus a
/// slow drift and a small daily wobble, so neighbouring days differ.
fn significand(i: u64, j: u64) -> u64 {
    if CODES[j as usize] == "EUR" {
        return 1_000_000;
    }
    let level = 1_000_000 + hash(j + 1) % 8_000_000;
    let drift = (i / 30 + j) % 200; // slow: +/- 10 % over months
    let wobble = hash(i * 1_000 + j) % 2_000; // daily: +/- 0.1 %
    level * (9_000 + drift * 10 + wobble / 10) / 10_000
}

fn hash(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Writes `s / 10^6 * 10^exp` as fixer does: a plain decimal with at most 6
/// decimals and no trailing zeros, or `d.ddddde-05` below 1e-4.
fn render(s: u64, exp: i32, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    if exp <= -5 {
        // Exponent form, keeping 6 significant digits.
        let s = s / 10;
        let (int, mut frac) = (s / 100_000, s % 100_000);
        let mut width = 5;
        while width > 0 && frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        if width == 0 {
            let _ = write!(out, "{int}e-{:02}", -exp);
        } else {
            let _ = write!(out, "{int}.{frac:0width$}e-{:02}", -exp);
        }
        return;
    }
    // value = s * 10^(exp - 6); keep at most 6 decimals.
    let decimals = 6 - exp; // 2..=10
    let (mut n, mut decimals) = (s, decimals as u32);
    if decimals > 6 {
        let cut = 10u64.pow(decimals - 6);
        n = (n + cut / 2) / cut;
        decimals = 6;
    }
    let scale = 10u64.pow(decimals);
    let (int, mut frac) = (n / scale, n % scale);
    let mut width = decimals as usize;
    while width > 0 && frac % 10 == 0 {
        frac /= 10;
        width -= 1;
    }
    if width == 0 {
        let _ = write!(out, "{int}");
    } else {
        let _ = write!(out, "{int}.{frac:0width$}");
    }
}

/// The benchmark's own check that numbers come out as fixer writes them.
pub fn check_rendering() {
    let mut s = String::new();
    for (sig, exp, want) in [
        (1_255_110, -5, "1.25511e-05"),
        (4_350_000, -4, "0.000435"),
        (1_322_891, 0, "1.322891"),
        (2_543_210, 4, "25432.1"),
        (1_000_000, 0, "1"),
    ] {
        render(sig, exp, &mut s);
        assert_eq!(s, want, "rendering {sig}e{exp}");
    }
}
