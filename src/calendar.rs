//! Business days: fxrates stores Monday to Friday and never a weekend.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The first day fixer.io has rates for.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1999, 1, 1) {
    Some(d) => d,
    None => unreachable!(),
};

/// Days in "the last month" that must always be stored: the 31 days ending today.
pub const MONTH_DAYS: u32 = 31;

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The weekdays from `from` to `to`, both included, in order.
pub fn weekdays(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days()
        .take_while(move |d| *d <= to)
        .filter(|d| !is_weekend(*d))
}

/// "1 day", "2 days": a count of days as a sentence says it.
pub fn days_text(n: impl Into<i128>) -> String {
    let n = n.into();
    format!("{n} day{}", if n == 1 || n == -1 { "" } else { "s" })
}

/// The window of `days` days ending on `today` (both ends included).
pub fn window_ending(today: NaiveDate, days: u32) -> (NaiveDate, NaiveDate) {
    let start = today
        .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
        .unwrap_or(NaiveDate::MIN);
    (start, today)
}

/// The most recent weekday strictly before `date`.
pub fn previous_weekday(date: NaiveDate) -> NaiveDate {
    let mut d = date.pred_opt().unwrap_or(date);
    while is_weekend(d) {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

/// Parses `YYYY-MM-DD` strictly.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn weekends_are_skipped() {
        let days: Vec<_> = weekdays(d("2024-09-19"), d("2024-09-24")).collect();
        assert_eq!(
            days,
            [
                d("2024-09-19"),
                d("2024-09-20"),
                d("2024-09-23"),
                d("2024-09-24")
            ]
        );
        assert!(is_weekend(d("2019-07-20")));
        assert!(!is_weekend(d("2019-07-19")));
    }

    #[test]
    fn month_window_counts_today() {
        assert_eq!(
            window_ending(d("2024-03-01"), 31),
            (d("2024-01-31"), d("2024-03-01"))
        );
    }

    #[test]
    fn previous_weekday_skips_the_weekend() {
        assert_eq!(previous_weekday(d("2024-09-23")), d("2024-09-20"));
        assert_eq!(previous_weekday(d("2024-09-24")), d("2024-09-23"));
    }

    #[test]
    fn dates_are_parsed_strictly() {
        assert!(parse_date("2024-02-30").is_none());
        assert!(parse_date("2024-2-3").is_none());
        assert!(parse_date("20240203").is_none());
        assert_eq!(parse_date("2024-02-29"), Some(d("2024-02-29")));
    }
}
