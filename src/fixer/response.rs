//! fixer.io's JSON: success bodies (latest, historical, timeseries) and every
//! error envelope listed in the API notes. Bodies are parsed once, borrowing
//! from the text, and validated whole before anything is returned.

use crate::calendar::parse_date;
use crate::decimal;
use crate::rates::{Currency, RateSet, Snapshot};
use crate::untrusted::one_line;
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::fmt;

/// An error answer, in any of the shapes fixer and APILayer use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiError {
    /// Numeric code (101, 104, ...) when the provider sent one.
    pub code: Option<i64>,
    /// The `type`, or the string `code` of the newer APILayer envelope.
    pub kind: Option<String>,
    /// `info` or `message`.
    pub info: Option<String>,
}

/// What a body says, before the HTTP status is taken into account.
#[derive(Debug)]
pub enum Parsed<T> {
    Ok(T),
    Api(ApiError),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    success: Option<bool>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
    message: Option<String>,
    base: Option<&'a str>,
    date: Option<&'a str>,
    timestamp: Option<i64>,
    #[serde(borrow)]
    rates: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<serde_json::Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
    info: Option<String>,
    message: Option<String>,
}

/// Parses a `latest` or historical answer. `Err` is a message saying why the
/// body is unusable; nothing of it may be stored then.
pub fn parse_day(body: &str, expected_base: Currency) -> Result<Parsed<Snapshot>, String> {
    let env = envelope(body)?;
    if let Some(err) = api_error(&env)? {
        return Ok(Parsed::Api(err));
    }
    let base = check_base(env.base, expected_base)?;
    let date = env.date.ok_or("the answer has no \"date\"")?;
    let source_date = parse_date(date)
        .ok_or_else(|| format!("the answer's date \"{}\" is not YYYY-MM-DD", one_line(date)))?;
    let raw = env.rates.ok_or("the answer has no \"rates\"")?;
    let rates = parse_rates(raw)?;
    check_base_rate(&rates, base)?;
    Ok(Parsed::Ok(Snapshot {
        source_date,
        source_timestamp: env.timestamp,
        base,
        rates,
    }))
}

/// The longest currency name kept; a longer one is cut.
const MAX_NAME: usize = 80;

/// Parses a `symbols` answer: `{"success":true,"symbols":{"AED":"...",..}}`.
/// Names are made safe to print and cut to 80 characters (`MAX_NAME`); an entry
/// whose key is not a currency code is left out.
pub fn parse_symbols(body: &str) -> Result<Parsed<BTreeMap<Currency, String>>, String> {
    let env = envelope(body)?;
    if let Some(err) = api_error(&env)? {
        return Ok(Parsed::Api(err));
    }
    #[derive(Deserialize)]
    struct Symbols {
        symbols: Option<BTreeMap<String, String>>,
    }
    let parsed: Symbols = serde_json::from_str(body)
        .map_err(|e| format!("the answer's symbols are unusable: {e}"))?;
    let names: BTreeMap<Currency, String> = parsed
        .symbols
        .ok_or("the answer has no \"symbols\"")?
        .into_iter()
        .filter_map(|(code, name)| {
            let name: String = one_line(name.trim()).chars().take(MAX_NAME).collect();
            Some((Currency::parse(&code)?, name)).filter(|(_, n)| !n.is_empty())
        })
        .collect();
    if names.is_empty() {
        return Err("the answer names no currency".into());
    }
    Ok(Parsed::Ok(names))
}

/// Parses a `timeseries` answer into its days, in date order.
pub fn parse_timeseries(
    body: &str,
    expected_base: Currency,
) -> Result<Parsed<Vec<(NaiveDate, RateSet)>>, String> {
    let env = envelope(body)?;
    if let Some(err) = api_error(&env)? {
        return Ok(Parsed::Api(err));
    }
    let base = check_base(env.base, expected_base)?;
    let raw = env.rates.ok_or("the answer has no \"rates\"")?;
    let mut days: Vec<(NaiveDate, RateSet)> = {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        de.deserialize_map(DaysVisitor).map_err(|e| e.to_string())?
    };
    // No day at all says nothing about any day: not "no rates", unusable.
    if days.is_empty() {
        return Err("the timeseries answer has no rates for any day".into());
    }
    days.sort_unstable_by_key(|d| d.0);
    if let Some(w) = days.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("the answer lists {} twice", w[0].0));
    }
    for (date, rates) in &days {
        check_base_rate(rates, base).map_err(|e| format!("{date}: {e}"))?;
    }
    Ok(Parsed::Ok(days))
}

fn envelope(body: &str) -> Result<Envelope<'_>, String> {
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return Err("the answer is empty".into());
    }
    if !trimmed.starts_with('{') {
        return Err(if trimmed.starts_with('<') {
            "the answer is HTML or XML, not fixer's JSON".into()
        } else {
            "the answer is not fixer's JSON object".into()
        });
    }
    serde_json::from_str(body).map_err(|e| {
        if e.is_eof() {
            "the answer is truncated JSON".to_string()
        } else {
            format!("the answer is not valid fixer JSON ({e})")
        }
    })
}

fn api_error(env: &Envelope<'_>) -> Result<Option<ApiError>, String> {
    if let Some(raw) = env.error {
        let body: ErrorBody = serde_json::from_str(raw.get()).unwrap_or(ErrorBody {
            code: None,
            kind: None,
            info: raw
                .get()
                .parse::<serde_json::Value>()
                .ok()
                .and_then(|v| v.as_str().map(String::from)),
            message: None,
        });
        let (code, kind) = match body.code {
            Some(serde_json::Value::Number(n)) => (n.as_i64(), body.kind),
            Some(serde_json::Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => (Some(n), body.kind),
                Err(_) => (None, body.kind.or(Some(s))),
            },
            _ => (None, body.kind),
        };
        return Ok(Some(ApiError {
            code,
            kind: kind.as_deref().map(one_line),
            info: body
                .info
                .or(body.message)
                .or_else(|| env.message.clone())
                .as_deref()
                .map(one_line),
        }));
    }
    // The provider's words reach stderr, `status` and the database: made
    // safe for a terminal, and short, where they enter.
    let message = || env.message.as_deref().map(one_line);
    match env.success {
        Some(true) => Ok(None),
        Some(false) => Ok(Some(ApiError {
            info: message(),
            ..ApiError::default()
        })),
        // APILayer's gateway: `{"message": "..."}` and no `success`.
        None if env.message.is_some() && env.rates.is_none() => Ok(Some(ApiError {
            info: message(),
            ..ApiError::default()
        })),
        None if env.rates.is_some() => Ok(None),
        None => Err("the answer has neither rates nor an error".into()),
    }
}

fn check_base(base: Option<&str>, expected: Currency) -> Result<Currency, String> {
    let base = base.ok_or("the answer has no \"base\"")?;
    match Currency::parse(base) {
        Some(c) if c == expected => Ok(c),
        _ => Err(format!(
            "the answer's base is \"{}\", but {expected} was asked for",
            one_line(base)
        )),
    }
}

/// A base listed among its own rates must be worth exactly one of itself:
/// anything else would be shown as "1 EUR = 2 EUR" and contradict every
/// rate derived from it.
fn check_base_rate(rates: &RateSet, base: Currency) -> Result<(), String> {
    match rates.get(base) {
        Some(rate) if rate != "1" => Err(format!(
            "the answer gives 1 {base} = {rate} {base}; a base is worth exactly 1 of itself"
        )),
        _ => Ok(()),
    }
}

/// Parses a `{"CODE": number, ...}` object into a validated, sorted set.
pub fn parse_rates(raw: &RawValue) -> Result<RateSet, String> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let set = de
        .deserialize_map(RatesVisitor)
        .map_err(|e| e.to_string())?;
    if set.is_empty() {
        return Err("the answer has no rates".into());
    }
    if let Some(dup) = set.duplicate() {
        return Err(format!("the answer lists {dup} twice"));
    }
    Ok(set)
}

struct RatesVisitor;

impl<'de> Visitor<'de> for RatesVisitor {
    type Value = RateSet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of currency codes to rates")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RateSet, A::Error> {
        let mut set = RateSet::with_capacity(map.size_hint().unwrap_or(180));
        let mut buf = String::with_capacity(24);
        while let Some(code) = map.next_key::<&'de str>()? {
            let currency = Currency::parse(code).ok_or_else(|| {
                de::Error::custom(format!(
                    "\"{}\" is not a three-letter currency code",
                    one_line(code)
                ))
            })?;
            let value: &'de RawValue = map.next_value()?;
            let text = value.get();
            decimal::normalize(text, &mut buf).ok_or_else(|| {
                de::Error::custom(format!(
                    "the rate for {code} is not a positive number: {}",
                    one_line(text)
                ))
            })?;
            // What cannot be computed with exactly would be stored, then
            // called damaged, or overflow, by every command reading it.
            if decimal::parse_exact(&buf).is_none() {
                return Err(de::Error::custom(format!(
                    "the rate for {code} has more digits than fxrates computes with exactly \
                     (28 significant digits, 28 decimal places): {}",
                    one_line(text)
                )));
            }
            set.push(currency, &buf);
        }
        Ok(set)
    }
}

struct DaysVisitor;

impl<'de> Visitor<'de> for DaysVisitor {
    type Value = Vec<(NaiveDate, RateSet)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of dates to rates")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut days = Vec::with_capacity(map.size_hint().unwrap_or(366));
        while let Some(key) = map.next_key::<&'de str>()? {
            let date = parse_date(key)
                .ok_or_else(|| de::Error::custom(format!("\"{}\" is not a date", one_line(key))))?;
            let raw: &'de RawValue = map.next_value()?;
            let rates = parse_rates(raw).map_err(|e| de::Error::custom(format!("{key}: {e}")))?;
            days.push((date, rates));
        }
        Ok(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::EUR;

    fn day(body: &str) -> Result<Snapshot, String> {
        match parse_day(body, EUR)? {
            Parsed::Ok(s) => Ok(s),
            Parsed::Api(e) => Err(format!("api error {e:?}")),
        }
    }

    fn api(body: &str) -> ApiError {
        match parse_day(body, EUR) {
            Ok(Parsed::Api(e)) => e,
            other => panic!("not an api error: {other:?}"),
        }
    }

    #[test]
    fn historical_answer_is_parsed_exactly() {
        let s = day(r#"{"success":true,"timestamp":1563667199,"historical":true,"base":"EUR","date":"2019-07-20","rates":{"USD":1.1277,"BTC":1.25511e-05,"GBP":0.83578}}"#).unwrap();
        assert_eq!(s.source_date, parse_date("2019-07-20").unwrap());
        assert_eq!(s.source_timestamp, Some(1563667199));
        let got: Vec<_> = s.rates.iter().map(|(c, r)| format!("{c}={r}")).collect();
        assert_eq!(got, ["BTC=0.0000125511", "GBP=0.83578", "USD=1.1277"]);
    }

    #[test]
    fn every_error_shape_is_understood() {
        let e = api(
            r#"{"success":false,"error":{"code":104,"type":"usage_limit_reached","info":"Your monthly usage limit has been reached."}}"#,
        );
        assert_eq!(
            (e.code, e.kind.as_deref()),
            (Some(104), Some("usage_limit_reached"))
        );
        let e = api(r#"{"success":false,"error":{"code":101,"type":"invalid_access_key"}}"#);
        assert_eq!((e.code, e.info), (Some(101), None));
        let e = api(r#"{"error":{"code":"invalid_access_key","message":"bad key"}}"#);
        assert_eq!(
            (e.code, e.kind.as_deref(), e.info.as_deref()),
            (None, Some("invalid_access_key"), Some("bad key"))
        );
        let e = api(r#"{"message":"Invalid authentication credentials"}"#);
        assert_eq!(
            e.info.as_deref(),
            Some("Invalid authentication credentials")
        );
    }

    #[test]
    fn unusable_answers_are_rejected_whole() {
        for body in [
            "<html><body>Bad gateway</body></html>",
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":1.2"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{}}"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":-1.2}}"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":0}}"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":"1.2"}}"#,
            r#"{"success":true,"base":"USD","date":"2024-09-20","rates":{"EUR":0.8}}"#,
            r#"{"success":true,"base":"EUR","date":"yesterday","rates":{"USD":1.2}}"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"usd":1.2}}"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":1.2,"USD":1.3}}"#,
            r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":null}}"#,
            "",
        ] {
            assert!(day(body).is_err(), "accepted: {body}");
        }
    }

    #[test]
    fn timeseries_days_come_back_in_order() {
        let body = r#"{"success":true,"timeseries":true,"start_date":"2012-05-01","end_date":"2012-05-03","base":"EUR","rates":{"2012-05-02":{"USD":1.3},"2012-05-01":{"USD":1.322891}}}"#;
        let Ok(Parsed::Ok(days)) = parse_timeseries(body, EUR) else {
            panic!()
        };
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].0, parse_date("2012-05-01").unwrap());
        assert_eq!(
            days[0].1.get(Currency::parse("USD").unwrap()),
            Some("1.322891")
        );
    }
}
