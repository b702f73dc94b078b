//! fixer.io's API under `/api/`, as its legacy stack answers: status 200,
//! `success:true` with the data, or `success:false` with fixer's error
//! code, type and text.

use super::answer::Answer;
use super::query::Params;
use super::rates::{self, Ask, Unknown, fetched_at, last_fetched};
use crate::calendar::parse_date;
use crate::conversion::{Conversion, parse_amount};
use crate::rates::{Currency, EUR};
use crate::store::{Reader, StoreError, StoredDay, walk_days};
use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use std::fmt::Write;

/// How far back a historical day falls back (a weekend, a holiday).
const FALLBACK_DAYS: u64 = 7;

/// The longest timeseries fixer answers, in days between its ends.
const MAX_SPAN_DAYS: i64 = 365;

/// The answer to `/api/{function}`.
pub(crate) fn answer(
    store: &dyn Reader,
    function: &str,
    params: &Params,
    today: NaiveDate,
) -> Result<Answer, StoreError> {
    match function {
        "latest" => day(store, None, params, today),
        "timeseries" => timeseries(store, params),
        "fluctuation" => fluctuation(store, params),
        "convert" => convert(store, params, today),
        "symbols" => symbols(store),
        "" => Ok(Answer::fixer_error(
            103,
            "invalid_api_function",
            "This API Function does not exist.",
        )),
        // fixer reads any other path as a date.
        date => match parse_date(date) {
            Some(date) => day(store, Some(date), params, today),
            None => Ok(bad_date()),
        },
    }
}

/// The error for a missing or wrong token.
pub(crate) fn unauthorized(missing: bool) -> Answer {
    if missing {
        Answer::fixer_error(
            101,
            "missing_access_key",
            "You have not supplied an API Access Key. [Required format: access_key=YOUR_ACCESS_KEY]",
        )
    } else {
        Answer::fixer_error(
            101,
            "invalid_access_key",
            "You have not supplied a valid API Access Key.",
        )
    }
}

fn bad_date() -> Answer {
    Answer::fixer_error(
        302,
        "invalid_date",
        "You have entered an invalid date. [Required format: date=YYYY-MM-DD]",
    )
}

fn no_rates() -> Answer {
    Answer::fixer_error(
        106,
        "no_rates_available",
        "Your query did not return any results. Please try again.",
    )
}

fn unknown(u: Unknown) -> Answer {
    match u {
        Unknown::Base(c) => Answer::fixer_error(
            201,
            "invalid_base_currency",
            &format!("An invalid base currency has been entered: {c}."),
        ),
        Unknown::Symbol(c) => Answer::fixer_error(
            202,
            "invalid_currency_codes",
            &format!("You have provided one or more invalid Currency Codes: {c}."),
        ),
    }
}

/// `base` and `symbols`, as fixer reads them.
fn ask(params: &Params) -> Result<Ask, Answer> {
    let base = match params.get("base") {
        None => EUR,
        Some(text) => rates::parse_code(text).ok_or_else(|| {
            Answer::fixer_error(
                201,
                "invalid_base_currency",
                "An invalid base currency has been entered.",
            )
        })?,
    };
    let symbols = match params.get("symbols") {
        None => Vec::new(),
        Some(text) => rates::parse_codes(text).map_err(|_| {
            Answer::fixer_error(
                202,
                "invalid_currency_codes",
                "You have provided one or more invalid Currency Codes.",
            )
        })?,
    };
    Ok(Ask {
        base,
        symbols,
        amount: None,
        list_base: true,
    })
}

/// The Unix time of 23:59:59 UTC on `date`, fixer's timestamp for a
/// historical day.
fn end_of_day(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())
        .and_utc()
        .timestamp()
}

/// `/api/latest` (`date` `None`) or `/api/YYYY-MM-DD`.
fn day(
    store: &dyn Reader,
    date: Option<NaiveDate>,
    params: &Params,
    today: NaiveDate,
) -> Result<Answer, StoreError> {
    let ask = match ask(params) {
        Ok(ask) => ask,
        Err(answer) => return Ok(answer),
    };
    if date.is_some_and(|d| d > today) {
        return Ok(no_rates());
    }
    let Some(found) = store.day_on_or_before(date, FALLBACK_DAYS)? else {
        return Ok(no_rates());
    };
    let days = [found];
    if let Err(u) = ask.check(&days) {
        return Ok(unknown(u));
    }
    let [found] = days;
    let modified = fetched_at(&found);
    let mut out = String::with_capacity(64 + found.rates.len() * 20);
    out.push_str("{\"success\":true,");
    let _ = match date {
        None => write!(
            out,
            "\"timestamp\":{},",
            modified.map_or(0, |t| t.timestamp())
        ),
        Some(_) => write!(
            out,
            "\"timestamp\":{},\"historical\":true,",
            end_of_day(found.date)
        ),
    };
    let _ = write!(
        out,
        "\"base\":\"{}\",\"date\":\"{}\",\"rates\":",
        ask.base, found.date
    );
    ask.write_rates(&mut out, &found);
    out.push('}');
    Ok(Answer::ok(out.into_bytes(), modified))
}

/// `start_date` and `end_date`, checked as fixer checks them (501-505).
fn range(params: &Params) -> Result<(NaiveDate, NaiveDate), Answer> {
    let (start, end) = (params.get("start_date"), params.get("end_date"));
    if start.is_none() && end.is_none() {
        return Err(Answer::fixer_error(
            501,
            "no_timeframe_supplied",
            "You have not specified a time frame. [Required format: start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]",
        ));
    }
    let start = start.and_then(parse_date).ok_or_else(|| {
        Answer::fixer_error(
            502,
            "invalid_start_date",
            "You have specified an invalid start date. [Required format: start_date=YYYY-MM-DD]",
        )
    })?;
    let end = end.and_then(parse_date).ok_or_else(|| {
        Answer::fixer_error(
            503,
            "invalid_end_date",
            "You have specified an invalid end date. [Required format: end_date=YYYY-MM-DD]",
        )
    })?;
    if start > end {
        return Err(Answer::fixer_error(
            504,
            "invalid_time_frame",
            "You have specified an invalid time frame: the start date is after the end date.",
        ));
    }
    if (end - start).num_days() > MAX_SPAN_DAYS {
        return Err(Answer::fixer_error(
            505,
            "time_frame_too_long",
            "The specified timeframe is too long, exceeding 365 days.",
        ));
    }
    Ok((start, end))
}

/// What a range asks for, and the stored days of it.
type Found = (Ask, NaiveDate, NaiveDate, Vec<StoredDay>);

/// The stored days from `start` to `end`, with `ask` checked against them.
fn stored_range(store: &dyn Reader, params: &Params) -> Result<Result<Found, Answer>, StoreError> {
    let (start, end) = match range(params) {
        Ok(r) => r,
        Err(answer) => return Ok(Err(answer)),
    };
    let ask = match ask(params) {
        Ok(ask) => ask,
        Err(answer) => return Ok(Err(answer)),
    };
    let mut days = Vec::new();
    walk_days(store, start, end, &[], |day| {
        days.push(day);
        Ok::<(), StoreError>(())
    })?;
    if days.is_empty() {
        return Ok(Err(no_rates()));
    }
    if let Err(u) = ask.check(&days) {
        return Ok(Err(unknown(u)));
    }
    Ok(Ok((ask, start, end, days)))
}

/// `/api/timeseries`: every stored day of the range.
fn timeseries(store: &dyn Reader, params: &Params) -> Result<Answer, StoreError> {
    let (ask, start, end, days) = match stored_range(store, params)? {
        Ok(found) => found,
        Err(answer) => return Ok(answer),
    };
    let mut out = String::with_capacity(128 + days.len() * (20 + days[0].rates.len() * 20));
    let _ = write!(
        out,
        "{{\"success\":true,\"timeseries\":true,\"start_date\":\"{start}\",\"end_date\":\"{end}\",\
         \"base\":\"{}\",\"rates\":{{",
        ask.base
    );
    let mut first = true;
    for day in &days {
        let mark = out.len();
        if !first {
            out.push(',');
        }
        let _ = write!(out, "\"{}\":", day.date);
        if ask.write_rates(&mut out, day) {
            first = false;
        } else {
            out.truncate(mark);
        }
    }
    out.push_str("}}");
    Ok(Answer::ok(out.into_bytes(), last_fetched(&days)))
}

/// `/api/fluctuation`: each rate on the first and the last stored day of
/// the range, and the change between them.
fn fluctuation(store: &dyn Reader, params: &Params) -> Result<Answer, StoreError> {
    let (ask, start, end, days) = match stored_range(store, params)? {
        Ok(found) => found,
        Err(answer) => return Ok(answer),
    };
    let (first, last) = (&days[0], &days[days.len() - 1]);
    let (from, to) = (
        ask.values(first).unwrap_or_default(),
        ask.values(last).unwrap_or_default(),
    );
    let mut out = String::with_capacity(128 + from.len() * 90);
    let _ = write!(
        out,
        "{{\"success\":true,\"fluctuation\":true,\"start_date\":\"{start}\",\"end_date\":\"{end}\",\
         \"base\":\"{}\",\"rates\":{{",
        ask.base
    );
    let mut sep = "";
    for (code, start_rate) in &from {
        let Some((_, end_rate)) = to.iter().find(|(c, _)| c == code) else {
            continue;
        };
        let (Some(a), Some(b)) = (
            crate::decimal::parse(start_rate),
            crate::decimal::parse(end_rate),
        ) else {
            continue;
        };
        let change = (b - a).normalize();
        let pct = (change * Decimal::ONE_HUNDRED)
            .checked_div(a)
            .and_then(|p| p.round_sf(crate::decimal::DERIVED_DIGITS))
            .unwrap_or_default()
            .normalize();
        let _ = write!(
            out,
            "{sep}\"{code}\":{{\"start_rate\":{start_rate},\"end_rate\":{end_rate},\
             \"change\":{change},\"change_pct\":{pct}}}"
        );
        sep = ",";
    }
    out.push_str("}}");
    Ok(Answer::ok(
        out.into_bytes(),
        last_fetched(&[first.clone(), last.clone()]),
    ))
}

/// `/api/convert?from=..&to=..&amount=..[&date=..]`.
fn convert(store: &dyn Reader, params: &Params, today: NaiveDate) -> Result<Answer, StoreError> {
    let invalid_from = || {
        Answer::fixer_error(
            401,
            "invalid_from_currency",
            "You have entered an invalid \"from\" property. [Example: from=EUR]",
        )
    };
    let invalid_to = || {
        Answer::fixer_error(
            402,
            "invalid_to_currency",
            "You have entered an invalid \"to\" property. [Example: to=GBP]",
        )
    };
    let Some(from) = params.get("from").and_then(rates::parse_code) else {
        return Ok(invalid_from());
    };
    let Some(to) = params.get("to").and_then(rates::parse_code) else {
        return Ok(invalid_to());
    };
    let Some(amount) = params.get("amount").and_then(|a| parse_amount(a).ok()) else {
        return Ok(Answer::fixer_error(
            403,
            "invalid_conversion_amount",
            "You have not specified an amount to be converted. [Example: amount=5]",
        ));
    };
    let date = match params.get("date") {
        None => None,
        Some(text) => match parse_date(text) {
            Some(d) if d > today => return Ok(no_rates()),
            Some(d) => Some(d),
            None => return Ok(bad_date()),
        },
    };
    let Some(day) = store.day_on_or_before(date, FALLBACK_DAYS)? else {
        return Ok(no_rates());
    };
    let has = |c: Currency| c == day.base || day.rates.get(c).is_some();
    if !has(from) {
        return Ok(invalid_from());
    }
    if !has(to) {
        return Ok(invalid_to());
    }
    let Ok(conversion) = Conversion::new(amount, from, to, &day) else {
        return Ok(Answer::fixer_error(
            403,
            "invalid_conversion_amount",
            "The amount has too many digits to convert exactly.",
        ));
    };
    let modified = fetched_at(&day);
    let timestamp = match date {
        Some(_) => end_of_day(day.date),
        None => modified.map_or(0, |t| t.timestamp()),
    };
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "{{\"success\":true,\"query\":{{\"from\":\"{from}\",\"to\":\"{to}\",\"amount\":{}}},\
         \"info\":{{\"timestamp\":{timestamp},\"rate\":{}}},",
        conversion.amount, conversion.rate
    );
    if date.is_some() {
        out.push_str("\"historical\":true,");
    }
    let _ = write!(
        out,
        "\"date\":\"{}\",\"result\":{}}}",
        day.date, conversion.result
    );
    Ok(Answer::ok(out.into_bytes(), modified))
}

/// `/api/symbols`: every currency of the newest stored day, named.
fn symbols(store: &dyn Reader) -> Result<Answer, StoreError> {
    let (names, modified) = super::named_currencies(store)?;
    let body = serde_json::json!({ "success": true, "symbols": names }).to_string();
    Ok(Answer::ok(body.into_bytes(), modified))
}
