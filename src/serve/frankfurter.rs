//! Frankfurter's v1 API, at the root and under `/v1/`: `{"amount":1.0,
//! "base":"EUR","date":"..","rates":{..}}`, errors as 404 or 422 with
//! `{"message":".."}`. Unlike Frankfurter's own service, rates are not
//! rounded: they are the stored decimals, times the amount exactly.

use super::answer::Answer;
use super::query::Params;
use super::rates::{self, Ask, Unknown, fetched_at, last_fetched};
use crate::calendar::parse_date;
use crate::rates::EUR;
use crate::store::{Reader, StoreError, StoredDay, walk_days};
use chrono::NaiveDate;
use hyper::StatusCode;
use rust_decimal::Decimal;
use std::fmt::Write;

/// How far back a day falls back (a weekend, a holiday).
const FALLBACK_DAYS: u64 = 7;

/// The answer to `path` (without `/v1`), if it is one of Frankfurter's.
pub(crate) fn answer(
    store: &dyn Reader,
    path: &str,
    params: &Params,
    today: NaiveDate,
) -> Result<Answer, StoreError> {
    match path {
        "/latest" => day(store, None, params),
        "/currencies" => currencies(store),
        _ => {
            let path = path.strip_prefix('/').unwrap_or(path);
            if let Some((start, end)) = path.split_once("..") {
                let start = parse_date(start);
                let end = if end.is_empty() {
                    Some(None)
                } else {
                    parse_date(end).map(Some)
                };
                return match (start, end) {
                    (Some(start), Some(end)) => range(store, start, end, params),
                    _ => Ok(not_found()),
                };
            }
            match parse_date(path) {
                // A date after today is today, as Frankfurter reads it.
                Some(date) => day(store, Some(date.min(today)), params),
                None => Ok(not_found()),
            }
        }
    }
}

pub(crate) fn not_found() -> Answer {
    Answer::message(StatusCode::NOT_FOUND, "not found")
}

fn unprocessable(message: &str) -> Answer {
    Answer::message(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn unknown(u: Unknown) -> Answer {
    match u {
        Unknown::Base(c) => unprocessable(&format!("unknown base currency {c}")),
        Unknown::Symbol(c) => unprocessable(&format!("unknown currency {c}")),
    }
}

/// `base` (or `from`), `symbols` (or `to`) and `amount`.
fn ask(params: &Params) -> Result<Ask, Answer> {
    let base = match params.any(&["base", "from"]) {
        None => EUR,
        Some(text) => rates::parse_code(text)
            .ok_or_else(|| unprocessable(&format!("invalid base currency {text:?}")))?,
    };
    let symbols = match params.any(&["symbols", "to"]) {
        None => Vec::new(),
        Some(text) => rates::parse_codes(text)
            .map_err(|bad| unprocessable(&format!("invalid currency {bad:?}")))?,
    };
    let amount = match params.get("amount") {
        None => None,
        Some(text) => Some(amount(text).ok_or_else(|| {
            unprocessable(&format!(
                "invalid amount {text:?}: give a positive decimal such as 10.00"
            ))
        })?),
    };
    Ok(Ask {
        base,
        symbols,
        amount: amount.filter(|a| *a != Decimal::ONE),
        list_base: false,
    })
}

/// A positive plain decimal, small enough to multiply any rate exactly.
fn amount(text: &str) -> Option<Decimal> {
    let value = crate::conversion::parse_amount(text).ok()?;
    (value > Decimal::ZERO).then_some(value)
}

/// The `amount` field: as Frankfurter writes it, with a decimal point.
fn amount_text(ask: &Ask) -> String {
    let amount = ask.amount.unwrap_or(Decimal::ONE).normalize();
    if amount.scale() == 0 {
        format!("{amount}.0")
    } else {
        amount.to_string()
    }
}

/// `/latest` (`date` `None`) or `/YYYY-MM-DD`.
fn day(store: &dyn Reader, date: Option<NaiveDate>, params: &Params) -> Result<Answer, StoreError> {
    let ask = match ask(params) {
        Ok(ask) => ask,
        Err(answer) => return Ok(answer),
    };
    let Some(found) = store.day_on_or_before(date, FALLBACK_DAYS)? else {
        return Ok(not_found());
    };
    let days = [found];
    if let Err(u) = ask.check(&days) {
        return Ok(unknown(u));
    }
    let [found] = days;
    let mut out = String::with_capacity(64 + found.rates.len() * 20);
    let _ = write!(
        out,
        "{{\"amount\":{},\"base\":\"{}\",\"date\":\"{}\",\"rates\":",
        amount_text(&ask),
        ask.base,
        found.date
    );
    ask.write_rates(&mut out, &found);
    out.push('}');
    Ok(Answer::ok(out.into_bytes(), fetched_at(&found)))
}

/// `/START..END` or `/START..` (to the newest day): the stored days of the
/// range, and the last stored day before it when its first day has none.
fn range(
    store: &dyn Reader,
    start: NaiveDate,
    end: Option<NaiveDate>,
    params: &Params,
) -> Result<Answer, StoreError> {
    let ask = match ask(params) {
        Ok(ask) => ask,
        Err(answer) => return Ok(answer),
    };
    let end = end.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX));
    if start > end {
        return Ok(unprocessable("the start date is after the end date"));
    }
    let from = match store.day_on_or_before(Some(start), FALLBACK_DAYS)? {
        Some(day) => day.date,
        None => start,
    };
    let mut days: Vec<StoredDay> = Vec::new();
    walk_days(store, from, end, &[], |day| {
        days.push(day);
        Ok::<(), StoreError>(())
    })?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(not_found());
    };
    if let Err(u) = ask.check(&days) {
        return Ok(unknown(u));
    }
    let mut out = String::with_capacity(128 + days.len() * (20 + first.rates.len() * 20));
    let _ = write!(
        out,
        "{{\"amount\":{},\"base\":\"{}\",\"start_date\":\"{}\",\"end_date\":\"{}\",\"rates\":{{",
        amount_text(&ask),
        ask.base,
        first.date,
        last.date
    );
    let mut written = false;
    for day in &days {
        let mark = out.len();
        if written {
            out.push(',');
        }
        let _ = write!(out, "\"{}\":", day.date);
        if ask.write_rates(&mut out, day) {
            written = true;
        } else {
            out.truncate(mark);
        }
    }
    out.push_str("}}");
    Ok(Answer::ok(out.into_bytes(), last_fetched(&days)))
}

/// `/currencies`: every currency of the newest stored day, named.
fn currencies(store: &dyn Reader) -> Result<Answer, StoreError> {
    let (names, modified) = super::named_currencies(store)?;
    let body = serde_json::Value::Object(names).to_string();
    Ok(Answer::ok(body.into_bytes(), modified))
}
