//! Properties over inputs nobody would think to write down: the response
//! parser never panics and gives back exactly the decimals it was sent, and
//! the business-day calendar holds over any range of dates.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use fxrates::calendar::{MONTH_DAYS, is_weekend, previous_weekday, weekdays, window_ending};
use fxrates::fixer::response::{Parsed, parse_day, parse_timeseries};
use fxrates::rates::EUR;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// A rate as fixer may write it: plain (`0.83578`, `132.360679`) or in
/// exponent form (`1.25511e-05`, `2E3`).
fn rate_text() -> impl Strategy<Value = String> {
    let plain = (0u32..1_000_000, 0u32..1_000_000, 0usize..7).prop_filter_map(
        "a rate is positive",
        |(int, frac, places)| {
            let frac = format!("{frac:06}")[..places].to_string();
            let text = if places == 0 {
                int.to_string()
            } else {
                format!("{int}.{frac}")
            };
            (Decimal::from_str(&text).ok()? > Decimal::ZERO).then_some(text)
        },
    );
    let exponent = (1u32..10, 0u32..100_000, -12i32..8, prop::bool::ANY).prop_map(
        |(lead, frac, exp, upper)| {
            format!("{lead}.{frac:05}{}{exp}", if upper { 'E' } else { 'e' })
        },
    );
    prop_oneof![plain, exponent]
}

/// A currency code other than the base: EUR, if listed, must be 1.
fn code() -> impl Strategy<Value = String> {
    "[A-Z]{3}".prop_filter("EUR is the base", |c| c != "EUR")
}

fn rates() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(code(), rate_text(), 1..40)
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0u64..40_000).prop_map(|n| NaiveDate::from_ymd_opt(1999, 1, 1).unwrap() + Days::new(n))
}

/// `{"USD":1.2,...}` in the given order.
fn render(rates: &[(String, String)]) -> String {
    let pairs: Vec<String> = rates.iter().map(|(c, r)| format!(r#""{c}":{r}"#)).collect();
    format!("{{{}}}", pairs.join(","))
}

/// The value of a rate as fixer wrote it and as fxrates gives it back.
fn value(text: &str) -> Decimal {
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_day(&text, EUR);
        let _ = parse_timeseries(&text, EUR);
    }

    #[test]
    fn json_shaped_noise_never_panics_the_parser(
        text in r#"[{}\[\]":,.0-9eE+\- a-zA-Z_]{0,300}"#,
    ) {
        let _ = parse_day(&text, EUR);
        let _ = parse_timeseries(&text, EUR);
    }

    #[test]
    fn a_damaged_answer_never_panics_and_never_half_parses(
        rates in rates(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let pairs: Vec<_> = rates.into_iter().collect();
        let body = format!(
            r#"{{"success":true,"base":"EUR","date":"2024-09-20","rates":{}}}"#,
            render(&pairs)
        );
        // Cut short: always refused, never a partial set of rates.
        let short = &body[..cut.index(body.len())];
        prop_assert!(matches!(parse_day(short, EUR), Err(_) | Ok(Parsed::Api(_))), "{short}");
        // One byte changed: whatever comes out, no panic.
        let mut bytes = body.into_bytes();
        let i = flip.index(bytes.len());
        bytes[i] = byte;
        let _ = parse_day(&String::from_utf8_lossy(&bytes), EUR);
    }

    #[test]
    fn a_valid_day_round_trips_exactly(
        rates in rates(),
        date in date(),
        timestamp in any::<u32>(),
        order in any::<u64>(),
    ) {
        let mut pairs: Vec<_> = rates.clone().into_iter().collect();
        // fixer's key order varies; the answer must not depend on it.
        pairs.sort_by_key(|(c, _)| (c.bytes().map(u64::from).sum::<u64>() ^ order) % 97);
        let body = format!(
            r#"{{"success":true,"timestamp":{timestamp},"historical":true,"base":"EUR","date":"{date}","rates":{}}}"#,
            render(&pairs)
        );
        let Ok(Parsed::Ok(day)) = parse_day(&body, EUR) else {
            return Err(TestCaseError::fail(format!("refused: {body}")));
        };
        prop_assert_eq!(day.source_date, date);
        prop_assert_eq!(day.source_timestamp, Some(i64::from(timestamp)));
        let got: Vec<(String, String)> =
            day.rates.iter().map(|(c, r)| (c.to_string(), r.to_string())).collect();
        prop_assert_eq!(got.len(), rates.len());
        for ((code, sent), (got_code, got_rate)) in rates.iter().zip(&got) {
            prop_assert_eq!(code, got_code);
            // The same number, written as a plain decimal without exponent,
            // leading zeros or trailing fractional zeros.
            prop_assert_eq!(value(sent), value(got_rate), "{} sent {} got {}", code, sent, got_rate);
            prop_assert!(!got_rate.contains(['e', 'E', '-', '+']), "{}", got_rate);
            prop_assert!(!got_rate.contains('.') || !got_rate.ends_with('0'), "{}", got_rate);
            prop_assert!(!got_rate.starts_with('0') || got_rate.starts_with("0."), "{}", got_rate);
            // A plain decimal comes back character for character.
            if !sent.contains(['e', 'E']) {
                prop_assert_eq!(value(sent).normalize().to_string(), got_rate.clone());
            }
        }
    }

    #[test]
    fn a_valid_timeseries_round_trips_exactly(
        days in prop::collection::btree_map(date(), rates(), 1..8),
    ) {
        let body = format!(
            r#"{{"success":true,"timeseries":true,"base":"EUR","rates":{{{}}}}}"#,
            days.iter()
                .map(|(d, r)| format!(r#""{d}":{}"#, render(&r.clone().into_iter().collect::<Vec<_>>())))
                .collect::<Vec<_>>()
                .join(",")
        );
        let Ok(Parsed::Ok(got)) = parse_timeseries(&body, EUR) else {
            return Err(TestCaseError::fail(format!("refused: {body}")));
        };
        prop_assert_eq!(got.len(), days.len());
        for ((date, sent), (got_date, got_rates)) in days.iter().zip(&got) {
            prop_assert_eq!(date, got_date);
            prop_assert_eq!(got_rates.len(), sent.len());
            for ((code, s), (c, r)) in sent.iter().zip(got_rates.iter()) {
                prop_assert_eq!(code.as_str(), c.as_str());
                prop_assert_eq!(value(s), value(r));
            }
        }
    }

    #[test]
    fn weekdays_are_exactly_the_mondays_to_fridays_of_the_range(
        from in date(),
        len in 0u64..800,
    ) {
        let to = from + Days::new(len);
        let got: Vec<NaiveDate> = weekdays(from, to).collect();
        let expected: Vec<NaiveDate> = (0..=len)
            .map(|i| from + Days::new(i))
            .filter(|d| d.weekday().num_days_from_monday() < 5)
            .collect();
        prop_assert_eq!(&got, &expected);
        prop_assert!(got.iter().all(|d| !is_weekend(*d)));
        // Any 7 consecutive days hold exactly 5 weekdays.
        let weeks = (len + 1) / 7;
        prop_assert!(got.len() as u64 >= weeks * 5 && got.len() as u64 <= weeks * 5 + 5);
        // A range that ends before it starts is empty.
        prop_assert_eq!(weekdays(to + Days::new(1), to).count(), 0);
    }

    #[test]
    fn the_month_window_is_31_days_ending_today_across_year_ends_and_leap_days(
        year in 1999i32..2100,
        (month, day) in prop_oneof![
            (Just(1u32), 1u32..=31),
            (Just(2u32), 1u32..=29),
            (Just(3u32), 1u32..=31),
            (Just(12u32), 1u32..=31),
        ],
    ) {
        let Some(today) = NaiveDate::from_ymd_opt(year, month, day) else {
            return Ok(()); // 29 February of a common year
        };
        let (start, end) = window_ending(today, MONTH_DAYS);
        prop_assert_eq!(end, today);
        prop_assert_eq!((today - start).num_days(), i64::from(MONTH_DAYS) - 1);
        prop_assert!(start.year() == year || (start.year() == year - 1 && month == 1));
        // 31 days are four weeks and three days: 21 to 23 weekdays.
        let n = weekdays(start, end).count();
        prop_assert!((21..=23).contains(&n), "{} weekdays from {} to {}", n, start, end);
        // Which days a window ending 1 March holds depends on the leap day.
        if month == 3 && day == 1 {
            let leap = NaiveDate::from_ymd_opt(year, 2, 29).is_some();
            prop_assert_eq!(start.day(), if leap { 31 } else { 30 });
        }
    }

    #[test]
    fn the_previous_weekday_is_the_nearest_one_before(date in date()) {
        let prev = previous_weekday(date);
        prop_assert!(prev < date);
        prop_assert!(!is_weekend(prev));
        prop_assert!((date - prev).num_days() <= 3);
        prop_assert_eq!(weekdays(prev + Days::new(1), date - Days::new(1)).count(), 0);
        if date.weekday() == Weekday::Mon {
            prop_assert_eq!(prev.weekday(), Weekday::Fri);
        }
    }
}
