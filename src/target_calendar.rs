//! The ECB's calendar: the TARGET closing days, on which the ECB publishes
//! no reference rates, and the time of day at which a day's rates appear
//! (about 16:00 Europe/Berlin).
//!
//! Berlin's time is worked out here from the EU's summer-time rule rather
//! than from the system's time zone database: a minimal container or a cron
//! job's environment may have none, and the rule (since 1996: CEST from the
//! last Sunday of March to the last Sunday of October, switching at 01:00
//! UTC) is all that is needed.

use crate::calendar::is_weekend;
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};

/// The hour (Europe/Berlin) from which a day's ECB rates count as published.
pub const PUBLICATION_HOUR: u32 = 16;

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous
/// Gregorian computus, "Meeus/Jones/Butcher").
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("the computus yields a date")
}

/// Whether TARGET is closed on `date` (a weekday or not): 1 January and
/// 25 December always; from 2000 also Good Friday, Easter Monday, 1 May and
/// 26 December; and the two one-off closures 1999-12-31 and 2001-12-31.
/// In 1999 TARGET (and so the ECB) worked on Good Friday and Easter Monday.
pub fn is_closing_day(date: NaiveDate) -> bool {
    let (m, d) = (date.month(), date.day());
    if (m, d) == (1, 1) || (m, d) == (12, 25) {
        return true;
    }
    if (m, d) == (12, 31) && matches!(date.year(), 1999 | 2001) {
        return true;
    }
    if date.year() < 2000 {
        return false;
    }
    if (m, d) == (5, 1) || (m, d) == (12, 26) {
        return true;
    }
    let easter = easter_sunday(date.year());
    date == easter - Days::new(2) || date == easter + Days::new(1)
}

/// Whether the ECB publishes rates for `date`: a weekday that is not a
/// TARGET closing day.
pub fn is_business_day(date: NaiveDate) -> bool {
    !is_weekend(date) && !is_closing_day(date)
}

/// The TARGET business days from `from` to `to`, both included.
pub fn business_days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days()
        .take_while(move |d| *d <= to)
        .filter(|d| is_business_day(*d))
}

/// What a closing day is called, for messages.
pub fn closing_name(date: NaiveDate) -> Option<&'static str> {
    if !is_closing_day(date) {
        return None;
    }
    let easter = easter_sunday(date.year());
    Some(match (date.month(), date.day()) {
        (1, 1) => "New Year's Day",
        (5, 1) => "Labour Day",
        (12, 25) => "Christmas Day",
        (12, 26) => "Boxing Day",
        (12, 31) => "a one-off TARGET closing day",
        _ if date == easter - Days::new(2) => "Good Friday",
        _ => "Easter Monday",
    })
}

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("a valid month");
    let mut d = next.pred_opt().expect("not the first day ever");
    while d.weekday() != Weekday::Sun {
        d = d.pred_opt().expect("not the first day ever");
    }
    d
}

/// The wall-clock time in Berlin at `utc`: UTC+2 between 01:00 UTC on the
/// last Sunday of March and 01:00 UTC on the last Sunday of October, else
/// UTC+1.
pub fn berlin_time(utc: DateTime<Utc>) -> NaiveDateTime {
    let year = utc.year();
    let one = NaiveTime::from_hms_opt(1, 0, 0).expect("01:00");
    let summer_from = last_sunday(year, 3).and_time(one);
    let summer_to = last_sunday(year, 10).and_time(one);
    let t = utc.naive_utc();
    let hours = if (summer_from..summer_to).contains(&t) {
        2
    } else {
        1
    };
    t + chrono::Duration::hours(hours)
}

/// The latest date whose ECB rates are due by `utc`: Berlin's date once its
/// clock has passed [`PUBLICATION_HOUR`], else the day before. Whether the
/// ECB publishes on that date at all is [`is_business_day`]'s question.
pub fn last_published_date(utc: DateTime<Utc>) -> NaiveDate {
    let berlin = berlin_time(utc);
    let date = berlin.date();
    if berlin.time() >= NaiveTime::from_hms_opt(PUBLICATION_HOUR, 0, 0).expect("16:00") {
        date
    } else {
        date.pred_opt().unwrap_or(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn easter_is_computed_for_known_years() {
        for (year, easter) in [
            (1999, "1999-04-04"),
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), d(easter), "{year}");
        }
    }

    #[test]
    fn target_closing_days_are_known() {
        for closed in [
            "2024-01-01",
            "2024-03-29",
            "2024-04-01",
            "2024-05-01",
            "2024-12-25",
            "2024-12-26",
            "2025-12-25",
            "2025-12-26",
            "1999-12-31",
            "2001-12-31",
            "1999-01-01",
        ] {
            assert!(is_closing_day(d(closed)), "{closed}");
            assert!(!is_business_day(d(closed)), "{closed}");
            assert!(closing_name(d(closed)).is_some(), "{closed}");
        }
        assert_eq!(closing_name(d("2024-03-29")), Some("Good Friday"));
        assert_eq!(closing_name(d("2024-04-01")), Some("Easter Monday"));
        for open in [
            "2024-03-28",
            "2024-04-02",
            "2025-12-24",
            "2000-12-29",
            "2024-12-31",
            // TARGET worked on Good Friday and Easter Monday 1999.
            "1999-04-02",
            "1999-04-05",
        ] {
            assert!(is_business_day(d(open)), "{open}");
        }
        assert!(!is_business_day(d("2024-03-30")));
    }

    #[test]
    fn business_days_skip_weekends_and_closing_days() {
        let days: Vec<_> = business_days(d("2024-03-27"), d("2024-04-03")).collect();
        assert_eq!(
            days,
            [
                d("2024-03-27"),
                d("2024-03-28"),
                d("2024-04-02"),
                d("2024-04-03")
            ]
        );
    }

    #[test]
    fn berlin_time_follows_the_eu_summer_time_rule() {
        for (at, berlin) in [
            ("2026-01-15T12:00:00Z", "2026-01-15T13:00:00"),
            ("2026-07-15T12:00:00Z", "2026-07-15T14:00:00"),
            // 2026: summer time from 29 March, 01:00 UTC, to 25 October, 01:00 UTC.
            ("2026-03-29T00:59:59Z", "2026-03-29T01:59:59"),
            ("2026-03-29T01:00:00Z", "2026-03-29T03:00:00"),
            ("2026-10-25T00:59:59Z", "2026-10-25T02:59:59"),
            ("2026-10-25T01:00:00Z", "2026-10-25T02:00:00"),
            ("2026-12-31T23:30:00Z", "2027-01-01T00:30:00"),
        ] {
            assert_eq!(
                berlin_time(utc(at)).format("%Y-%m-%dT%H:%M:%S").to_string(),
                berlin,
                "{at}"
            );
        }
    }

    #[test]
    fn a_day_counts_as_published_from_16_00_in_berlin() {
        // Winter: 16:00 CET is 15:00 UTC; summer: 16:00 CEST is 14:00 UTC.
        assert_eq!(
            last_published_date(utc("2026-01-15T14:59:59Z")),
            d("2026-01-14")
        );
        assert_eq!(
            last_published_date(utc("2026-01-15T15:00:00Z")),
            d("2026-01-15")
        );
        assert_eq!(
            last_published_date(utc("2026-07-15T13:59:59Z")),
            d("2026-07-14")
        );
        assert_eq!(
            last_published_date(utc("2026-07-15T14:00:00Z")),
            d("2026-07-15")
        );
        // Past midnight in Berlin, still the day before in UTC.
        assert_eq!(
            last_published_date(utc("2026-07-15T22:30:00Z")),
            d("2026-07-15")
        );
    }
}
