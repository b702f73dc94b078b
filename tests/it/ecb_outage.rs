//! The ECB's known outage of its query for every currency (404 "No results
//! found" while single-currency queries answer): one query per currency
//! fills the window when the 90-day file cannot, and only whole days are
//! stored.

use crate::common::*;
use crate::ecb::{EASTER_2024, ecb_env, without};

/// The currencies the ECB publishes in 2024 (BGN included; it ended with
/// 2025), as its reference-rate page lists them.
const PUBLISHED_2024: [&str; 30] = [
    "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "GBP", "HKD", "HUF", "IDR", "ILS",
    "INR", "ISK", "JPY", "KRW", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD",
    "THB", "TRY", "USD", "ZAR",
];

/// Every currency the ECB published in 2024, on its business days.
fn full_history(from: &str, to: &str) -> EcbHistory {
    let mut history = EcbHistory::published(from, to, &EASTER_2024);
    let days: Vec<String> = history.days.keys().cloned().collect();
    for day in &days {
        for c in PUBLISHED_2024 {
            if !ECB_CURRENCIES.iter().any(|(k, _)| *k == c) {
                history.set(day, c, "4.5321");
            }
        }
    }
    history
}

/// The same store, asking `server` from now on.
fn to(env: TestEnv, server: &FakeFixer) -> TestEnv {
    env.env("FXRATES_ECB_ENDPOINT", &server.ecb_endpoint())
        .env("FXRATES_ECB_FILES", &server.ecb_files())
}

/// (path, startPeriod, endPeriod) of every request to the data API.
fn data_requests(server: &FakeFixer) -> Vec<(String, String, String)> {
    server
        .requests()
        .iter()
        .filter(|s| s.path.starts_with("/service/"))
        .map(|s| {
            (
                s.path.clone(),
                s.query["startPeriod"].clone(),
                s.query["endPeriod"].clone(),
            )
        })
        .collect()
}

both_stores! {
    fn an_outage_outside_90_days_is_filled_one_currency_at_a_time(backend) {
        let history = full_history("2024-01-02", "2024-09-20");
        let server = FakeFixer::ecb(history, EcbApi::Outage { failing: None }, EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
        let (code, out, err) = env.run(&["backfill", "--from", "2024-03-01", "--to", "2024-04-30"]);
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        assert!(
            err.contains(
                "the ECB's data API answered no data for 2024-03-01 to 2024-04-30 to its query \
                 for every currency (outside its 90-day reference file); asked one currency at a \
                 time instead"
            ),
            "{err}"
        );
        assert_eq!(
            env.stored_dates(),
            without(weekdays("2024-03-01", "2024-04-30"), &EASTER_2024)
        );
        // Whole days: every currency, as sent.
        let day = env.rates_on("2024-04-02");
        let codes: Vec<&str> = day.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, PUBLISHED_2024);
        assert!(day.contains(&("GBP".into(), "0.8338".into())), "{day:?}");
        // No stored ECB day to go by: the currencies the ECB published then
        // (BGN included, which ended with 2025), one request each, and no
        // request for the 90-day file, which cannot reach back that far.
        let asked = data_requests(&server);
        assert_eq!(asked.len(), 1 + 30, "{asked:?}");
        assert_eq!(asked[0].0, "/service/data/EXR/D..EUR.SP00.A");
        let mut series: Vec<&str> = asked[1..]
            .iter()
            .map(|(p, from, to)| {
                assert_eq!((from.as_str(), to.as_str()), ("2024-03-01", "2024-04-30"));
                p.strip_prefix("/service/data/EXR/D.").unwrap().strip_suffix(".EUR.SP00.A").unwrap()
            })
            .collect();
        series.sort_unstable();
        assert_eq!(series, PUBLISHED_2024);
        assert_eq!(server.count(), 31);
        assert_eq!(
            env.sql("SELECT endpoint, count(*) FROM requests GROUP BY endpoint ORDER BY endpoint"),
            [
                ["ecb-currency".to_string(), "30".to_string()],
                ["ecb-data".to_string(), "1".to_string()],
            ]
        );
        assert_eq!(
            env.sql("SELECT DISTINCT endpoint FROM days"),
            [["ecb-currency".to_string()]]
        );
    }
}

both_stores! {
    fn one_currency_failing_stores_nothing_and_exits_75(backend) {
        let history = EcbHistory::published("2024-01-02", "2024-09-20", &EASTER_2024);
        // April stored before the outage: its currencies are the ones asked.
        let before = FakeFixer::ecb(history.clone(), EcbApi::Csv, EcbQuotes::Missing);
        let env = ecb_env(backend, &before, "2024-09-20T18:00:00Z");
        let (code, _, err) = env.run(&["backfill", "--from", "2024-04-02", "--to", "2024-04-30"]);
        assert_eq!(code, 0, "{err}");
        let april = env.stored_dates();

        let outage = FakeFixer::ecb(
            history.clone(),
            EcbApi::Outage { failing: Some("JPY") },
            EcbQuotes::Missing,
        );
        let env = to(env, &outage);
        let line = env.fails(&["backfill", "--from", "2024-03-01", "--to", "2024-03-28"], 75);
        assert!(
            line.starts_with(
                "the ECB answered no data for 2024-03-01 to 2024-03-28 to its query for every \
                 currency, and asking one currency at a time failed, so nothing was stored: "
            ) && line.contains("HTTP 500")
                && line.contains("JPY alone from 2024-03-01 to 2024-03-28"),
            "{line}"
        );
        assert_eq!(env.stored_dates(), april, "nothing stored");
        // Per run: the query for every currency, CHF, GBP, then JPY's three
        // tries; SEK and USD are not asked once JPY has failed.
        let run: Vec<String> = data_requests(&outage)
            .into_iter()
            .take(6)
            .map(|(p, _, _)| p.replace("/service/data/EXR/", "").replace(".EUR.SP00.A", ""))
            .collect();
        assert_eq!(run, ["D.", "D.CHF", "D.GBP", "D.JPY", "D.JPY", "D.JPY"]);
        assert_eq!(outage.count() % 6, 0, "every run asks the same");

        // The same outage without the failing currency: the five currencies
        // of the stored days, one request each, and March is whole.
        let healed = FakeFixer::ecb(history, EcbApi::Outage { failing: None }, EcbQuotes::Missing);
        let env = to(env, &healed);
        let (code, _, err) = env.run(&["backfill", "--from", "2024-03-01", "--to", "2024-03-28"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(healed.count(), 1 + ECB_CURRENCIES.len());
        assert_eq!(env.rates_on("2024-03-28").len(), ECB_CURRENCIES.len());
        assert_eq!(env.stored_dates().len(), april.len() + 20);
    }

    fn within_90_days_the_file_comes_first_and_a_stopped_currency_may_answer_nothing(backend) {
        // XYZ stands for a currency the ECB stops publishing after 2024-08-09.
        let mut history = EcbHistory::published("2024-06-03", "2024-09-20", &[]);
        for day in weekdays("2024-06-03", "2024-08-09") {
            history.set(&day, "XYZ", "2.5");
        }
        let before = FakeFixer::ecb(history.clone(), EcbApi::Csv, EcbQuotes::Missing);
        let env = ecb_env(backend, &before, "2024-09-20T18:00:00Z");
        let (code, _, err) = env.run(&["backfill", "--from", "2024-08-05", "--to", "2024-08-09"]);
        assert_eq!(code, 0, "{err}");

        let outage = FakeFixer::ecb(history.clone(), EcbApi::Outage { failing: None }, EcbQuotes::Missing);
        let env = to(env, &outage);
        // Nothing stored after the window says XYZ has stopped: its "no
        // data" may be the outage, so nothing is stored.
        let line = env.fails(&["backfill", "--from", "2024-08-12", "--to", "2024-08-16"], 75);
        assert!(
            line.ends_with("it answered no data for XYZ alone either, which it publishes; try again later"),
            "{line}"
        );
        assert_eq!(env.stored_dates(), weekdays("2024-08-05", "2024-08-09"));

        // A later stored day without XYZ says it has stopped: the window is
        // filled, the 90-day file (missing) asked first.
        let env = to(env, &before);
        let (code, _, err) = env.run(&["backfill", "--from", "2024-08-19", "--to", "2024-08-23"]);
        assert_eq!(code, 0, "{err}");
        let outage = FakeFixer::ecb(history, EcbApi::Outage { failing: None }, EcbQuotes::Missing);
        let env = to(env, &outage);
        let (code, _, err) = env.run(&["backfill", "--from", "2024-08-12", "--to", "2024-08-16"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("(and its 90-day reference file failed too); asked one currency at a time instead"), "{err}");
        assert_eq!(env.stored_dates(), weekdays("2024-08-05", "2024-08-23"));
        assert_eq!(env.rates_on("2024-08-14").len(), ECB_CURRENCIES.len());
        let paths: Vec<String> = outage.requests().iter().map(|s| s.path.clone()).collect();
        assert_eq!(paths[0], "/service/data/EXR/D..EUR.SP00.A");
        assert_eq!(paths[1], "/stats/eurofxref/eurofxref-hist-90d.xml");
        assert_eq!(paths.len(), 2 + ECB_CURRENCIES.len() + 1, "{paths:?}");
        assert!(paths.contains(&"/service/data/EXR/D.XYZ.EUR.SP00.A".to_string()));
    }
}
