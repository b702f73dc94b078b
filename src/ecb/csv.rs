//! The data API's CSV answer, read as a stream: one row per currency and
//! day, in any order, columns found by their header names.

use super::Days;
use crate::calendar::parse_date;
use crate::rates::{Currency, RateSet};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::io::Read;

/// The columns fxrates needs; an answer without any of them is refused.
pub(crate) const REQUIRED: [&str; 3] = ["TIME_PERIOD", "CURRENCY", "OBS_VALUE"];

/// Why a CSV answer was refused.
#[derive(Debug)]
pub(crate) enum CsvError {
    /// The header lacks these required columns (it may be no CSV at all).
    Header { missing: Vec<&'static str> },
    /// A row that cannot be used; `line` is its line number.
    Row { line: u64, why: String },
    /// Reading the answer failed (the connection, a timeout, the size limit).
    Io(std::io::Error),
}

/// Reads a CSV answer from `body` into days, each with its rates exactly as
/// sent. An empty answer (no header at all) is `Ok` with no days: the
/// caller decides whether the window may legitimately hold none.
pub(crate) fn parse(body: impl Read) -> Result<Days, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(body);
    let mut record = csv::StringRecord::new();
    let got = reader.read_record(&mut record).map_err(row_error)?;
    if !got || (record.len() == 1 && record[0].trim().is_empty()) {
        return Ok(Vec::new());
    }
    let find = |name: &str| {
        record
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim() == name)
    };
    let missing: Vec<&'static str> = REQUIRED
        .iter()
        .copied()
        .filter(|name| find(name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(CsvError::Header { missing });
    }
    let [date_col, currency_col, value_col] = REQUIRED.map(|n| find(n).expect("checked"));
    let denom_col = find("CURRENCY_DENOM");
    let mut days: BTreeMap<NaiveDate, RateSet> = BTreeMap::new();
    while reader.read_record(&mut record).map_err(row_error)? {
        let line = record.position().map_or(0, |p| p.line());
        let bad = |why: String| CsvError::Row { line, why };
        let field = |i: usize| record.get(i).unwrap_or_default();
        if let Some(i) = denom_col
            && field(i) != "EUR"
        {
            return Err(bad(format!(
                "a rate against {:?}, not against EUR",
                crate::untrusted::one_line(field(i))
            )));
        }
        let value = field(value_col);
        // SDMX's marks for "no observation": not a rate, and not garbage.
        if value.is_empty() || value == "NaN" {
            continue;
        }
        let date = parse_date(field(date_col)).ok_or_else(|| {
            bad(format!(
                "TIME_PERIOD {:?} is not a date",
                crate::untrusted::one_line(field(date_col))
            ))
        })?;
        let currency = Currency::parse(field(currency_col)).ok_or_else(|| {
            bad(format!(
                "CURRENCY {:?} is not a currency code",
                crate::untrusted::one_line(field(currency_col))
            ))
        })?;
        if !super::is_rate(value) {
            return Err(bad(format!(
                "OBS_VALUE {:?} for {currency} on {date} is not a positive decimal",
                crate::untrusted::one_line(value)
            )));
        }
        days.entry(date).or_default().push(currency, value);
    }
    super::checked(days.into_iter().collect()).map_err(|(line, why)| CsvError::Row { line, why })
}

fn row_error(e: csv::Error) -> CsvError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CsvError::Io(io),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => CsvError::Row {
            line,
            why: format!("{len} fields where the header has {expected_len}"),
        },
        csv::ErrorKind::Utf8 { .. } => CsvError::Row {
            line,
            why: "text that is not UTF-8".into(),
        },
        other => CsvError::Row {
            line,
            why: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "KEY,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_SUFFIX,TIME_PERIOD,OBS_VALUE\n";

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn rates(days: &Days, date: &str) -> Vec<(String, String)> {
        days.iter()
            .find(|(day, _)| *day == d(date))
            .map(|(_, r)| {
                r.iter()
                    .map(|(c, v)| (c.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn rows_in_any_order_make_days_with_values_as_sent() {
        let body = format!(
            "{HEADER}EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,1.1615\n\
             EXR.D.JPY.EUR.SP00.A,D,JPY,EUR,SP00,A,2026-09-02,171.2\n\
             EXR.D.GBP.EUR.SP00.A,D,GBP,EUR,SP00,A,2026-09-03,0.8338\n\
             EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-02,1.16100\n"
        );
        let days = parse(body.as_bytes()).unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].0, d("2026-09-02"));
        assert_eq!(
            rates(&days, "2026-09-03"),
            [
                ("GBP".into(), "0.8338".into()),
                ("USD".into(), "1.1615".into())
            ]
        );
        assert_eq!(
            rates(&days, "2026-09-02"),
            [
                ("JPY".into(), "171.2".into()),
                ("USD".into(), "1.16100".into())
            ]
        );
    }

    #[test]
    fn columns_are_found_by_name_and_quoted_commas_are_fields() {
        let body = "TITLE,OBS_VALUE,KEY,TIME_PERIOD,CURRENCY,UNIT\n\
                    \"ECB reference exchange rate, US dollar/Euro, 2.15 pm (C.E.T.)\",1.1615,\
                    EXR.D.USD.EUR.SP00.A,2026-09-03,USD,\"USD, dollars\"\n";
        let days = parse(body.as_bytes()).unwrap();
        assert_eq!(
            rates(&days, "2026-09-03"),
            [("USD".into(), "1.1615".into())]
        );
    }

    #[test]
    fn a_header_without_the_needed_columns_is_refused() {
        for (body, missing) in [
            (
                "KEY,FREQ,CURRENCY,TIME_PERIOD\nx,D,USD,2026-09-03\n",
                vec!["OBS_VALUE"],
            ),
            (
                "<html><body>Service unavailable</body></html>\n",
                REQUIRED.to_vec(),
            ),
            ("{\"error\": 1}", REQUIRED.to_vec()),
        ] {
            match parse(body.as_bytes()) {
                Err(CsvError::Header { missing: got }) => assert_eq!(got, missing, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_answer_has_no_days() {
        assert!(parse(&b""[..]).unwrap().is_empty());
        assert!(parse(&b"\n"[..]).unwrap().is_empty());
        assert!(parse(HEADER.as_bytes()).unwrap().is_empty());
    }

    #[test]
    fn bad_rows_are_refused_naming_the_line() {
        for (row, words) in [
            (
                "EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,-1.2",
                "not a positive decimal",
            ),
            (
                "EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,0",
                "not a positive decimal",
            ),
            (
                "EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,1e3",
                "not a positive decimal",
            ),
            (
                "EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-9-3,1.2",
                "not a date",
            ),
            (
                "EXR.D.USD.EUR.SP00.A,D,usd,EUR,SP00,A,2026-09-03,1.2",
                "not a currency",
            ),
            (
                "EXR.D.USD.EUR.SP00.A,D,USD,USD,SP00,A,2026-09-03,1.2",
                "not against EUR",
            ),
            (
                "EXR.D.USD.EUR.SP00.A,D,USD,EUR,2026-09-03,1.2",
                "fields where the header",
            ),
        ] {
            let body = format!("{HEADER}{row}\n");
            match parse(body.as_bytes()) {
                Err(CsvError::Row { line: 2, why }) => assert!(why.contains(words), "{row}: {why}"),
                other => panic!("{row}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_currency_twice_on_one_day_is_refused() {
        let body = format!(
            "{HEADER}EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,1.1615\n\
             EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,1.2\n"
        );
        match parse(body.as_bytes()) {
            Err(CsvError::Row { why, .. }) => {
                assert!(why.contains("USD twice on 2026-09-03"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_observations_are_skipped() {
        let body = format!(
            "{HEADER}EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2026-09-03,1.1615\n\
             EXR.D.RUB.EUR.SP00.A,D,RUB,EUR,SP00,A,2026-09-03,NaN\n\
             EXR.D.HRK.EUR.SP00.A,D,HRK,EUR,SP00,A,2026-09-03,\n"
        );
        let days = parse(body.as_bytes()).unwrap();
        assert_eq!(
            rates(&days, "2026-09-03"),
            [("USD".into(), "1.1615".into())]
        );
    }
}
