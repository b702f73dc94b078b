//! `--provider ecb`: the ECB's reference rates, without a key, in one
//! request per run, against the fake server answering as the ECB does.

use crate::common::*;

/// Good Friday and Easter Monday 2024, TARGET closing days.
pub(crate) const EASTER_2024: [&str; 2] = ["2024-03-29", "2024-04-01"];

/// Christmas 2025 and New Year 2026, TARGET closing days.
const CHRISTMAS_2025: [&str; 3] = ["2025-12-25", "2025-12-26", "2026-01-01"];

/// An environment that reaches the fake ECB and has no fixer key at all.
pub(crate) fn ecb_env(backend: Backend, server: &FakeFixer, now: &str) -> TestEnv {
    TestEnv::on(backend, &refused_endpoint(), now)
        .env("FIXER_API_KEY", "")
        .env("FXRATES_PROVIDER", "ecb")
        .env("FXRATES_ECB_ENDPOINT", &server.ecb_endpoint())
        .env("FXRATES_ECB_FILES", &server.ecb_files())
}

fn data_requests(server: &FakeFixer) -> Vec<(String, String)> {
    server
        .requests()
        .iter()
        .filter(|s| s.path.starts_with("/service/"))
        .map(|s| (s.query["startPeriod"].clone(), s.query["endPeriod"].clone()))
        .collect()
}

pub(crate) fn without(days: Vec<String>, closed: &[&str]) -> Vec<String> {
    days.into_iter()
        .filter(|d| !closed.contains(&d.as_str()))
        .collect()
}

both_stores! {
    fn a_newcomer_without_a_key_gets_the_month_in_one_request(backend) {
        let history = EcbHistory::published("2024-01-02", "2024-04-10", &EASTER_2024);
        let server = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        // 17:00 in Berlin (CEST): today's rates are out.
        let env = ecb_env(backend, &server, "2024-04-10T15:00:00Z");
        let (code, out, err) = env.run(&["ingest"]);
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        assert_eq!(data_requests(&server), [("2024-03-11".into(), "2024-04-10".into())]);
        assert_eq!(
            env.stored_dates(),
            without(weekdays("2024-03-11", "2024-04-10"), &EASTER_2024)
        );
        assert_eq!(
            env.sql("SELECT DISTINCT source FROM days"),
            [["ecb".to_string()]]
        );
        assert_eq!(
            env.rates_on("2024-04-10"),
            ECB_CURRENCIES.map(|(c, r)| (c.to_string(), r.to_string()))
        );
        // The requests are recorded, and cost no fixer quota.
        assert_eq!(
            env.sql("SELECT endpoint, outcome FROM requests"),
            [["ecb-data".to_string(), "ok".to_string()]]
        );
        // The next run has nothing to ask.
        let (code, _, err) = env.run(&["ingest", "-v"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 1, "{err}");
    }

    fn before_16_00_in_berlin_today_is_neither_asked_for_nor_missing(backend) {
        let history = EcbHistory::published("2024-01-02", "2024-04-09", &EASTER_2024);
        let server = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        // 15:59 in Berlin (CEST).
        let env = ecb_env(backend, &server, "2024-04-10T13:59:00Z");
        let (code, _, err) = env.run(&["ingest"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(data_requests(&server), [("2024-03-11".into(), "2024-04-09".into())]);
        assert_eq!(env.stored_dates().last().map(String::as_str), Some("2024-04-09"));
    }

    fn today_not_yet_published_after_16_00_exits_0_and_says_so(backend) {
        // The ECB is late: nothing for today yet.
        let history = EcbHistory::published("2024-01-02", "2024-04-09", &EASTER_2024);
        let server = FakeFixer::ecb(history, EcbApi::EmptyOk, EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2024-04-10T14:30:00Z");
        let (code, _, err) = env.run(&["ingest", "--no-heal", "-v"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(data_requests(&server), [("2024-04-10".into(), "2024-04-10".into())]);
        assert!(env.stored_dates().is_empty());
        assert!(err.contains("has not published 2024-04-10 yet"), "{err}");
        assert_eq!(err.matches("not published").count(), 1, "{err}");
    }

    fn christmas_and_new_year_are_not_asked_for_and_not_missing(backend) {
        let history = EcbHistory::published("2025-12-01", "2026-01-09", &CHRISTMAS_2025);
        let server = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2026-01-09T18:00:00Z");
        let (code, _, err) = env.run(&["backfill", "--from", "2025-12-15"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(data_requests(&server), [("2025-12-15".into(), "2026-01-09".into())]);
        assert_eq!(
            env.stored_dates(),
            without(weekdays("2025-12-15", "2026-01-09"), &CHRISTMAS_2025)
        );
        // Nothing is marked unavailable: the closing days are simply no days.
        assert_eq!(env.sql("SELECT count(*) FROM unavailable_days"), [["0".to_string()]]);
        let (code, _, err) = env.run(&["backfill", "--from", "2025-12-15"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 1, "a second backfill asks nothing: {err}");
    }

    fn values_are_stored_exactly_as_sent_from_the_full_format(backend) {
        let mut history = EcbHistory::published("2024-09-16", "2024-09-20", &[]);
        history.set("2024-09-18", "USD", "1.1");
        history.set("2024-09-18", "IDR", "17012.5");
        let server = FakeFixer::ecb(history, EcbApi::FullCsv, EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
        let (code, _, err) = env.run(&["backfill", "--from", "2024-09-16"]);
        assert_eq!(code, 0, "{err}");
        let rates = env.rates_on("2024-09-18");
        assert!(rates.contains(&("USD".into(), "1.1".into())), "{rates:?}");
        assert!(rates.contains(&("IDR".into(), "17012.5".into())), "{rates:?}");
        assert_eq!(env.stored_dates(), weekdays("2024-09-16", "2024-09-20"));
    }

    fn a_day_stored_from_fixer_is_never_replaced(backend) {
        let fixer = paid_plan("2024-09-20");
        let history = EcbHistory::published("2024-09-02", "2024-09-20", &[]);
        let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = TestEnv::on(backend, &fixer.url, "2024-09-20T18:00:00Z");
        let (code, _, err) = env.run(&["ingest", "--date", "2024-09-18"]);
        assert_eq!(code, 0, "{err}");
        let before = env.rates_on("2024-09-18");
        let env = env
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
            .env("FXRATES_ECB_FILES", &ecb.ecb_files());
        let (code, _, err) = env.run(&["backfill", "--provider", "ecb", "--from", "2024-09-16"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(env.rates_on("2024-09-18"), before);
        assert_eq!(
            env.sql("SELECT date, source FROM days WHERE date >= '2024-09-17' AND date <= '2024-09-19' ORDER BY date"),
            [
                ["2024-09-17".to_string(), "ecb".to_string()],
                ["2024-09-18".to_string(), "fixer".to_string()],
                ["2024-09-19".to_string(), "ecb".to_string()],
            ]
        );
        let (code, _, err) = env.run(&["ingest", "--provider", "ecb", "--date", "2024-09-18", "--force"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(env.rates_on("2024-09-18"), before);
        assert!(err.contains("never replace"), "{err}");
    }
}

both_stores! {
    fn a_header_without_the_needed_columns_stores_nothing_and_exits_65(backend) {
        for api in [EcbApi::NoValueColumn, EcbApi::Garbage] {
            let history = EcbHistory::published("2024-01-02", "2024-09-20", &[]);
            let server = FakeFixer::ecb(history, api, EcbQuotes::Missing);
            // Outside the 90-day file's reach: no fallback.
            let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
            let line = env.fails(&["backfill", "--from", "2024-01-02", "--to", "2024-03-01"], 65);
            assert!(line.contains("OBS_VALUE"), "{api:?}: {line}");
            assert!(env.stored_dates().is_empty());
        }
    }

    fn server_trouble_after_the_retries_exits_75(backend) {
        let history = EcbHistory::published("2024-01-02", "2024-09-20", &[]);
        let server = FakeFixer::ecb(history, EcbApi::Status(503), EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
        let line = env.fails(&["backfill", "--from", "2024-01-02", "--to", "2024-03-01"], 75);
        assert!(line.contains("3 tries failed") && line.contains("HTTP 503"), "{line}");
        assert!(env.stored_dates().is_empty());
    }

    fn a_retry_after_beyond_any_number_is_said_as_for_fixer(backend) {
        let server = FakeFixer::start(|_| {
            Reply::json(503, "{}").with_header("Retry-After", "99999999999999999999999999")
        });
        let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
        let line = env.fails(&["backfill", "--from", "2024-01-02", "--to", "2024-03-01"], 75);
        assert!(
            line.starts_with("127.0.0.1 asked fxrates to wait longer than any run before trying again")
                && line.contains("HTTP 503"),
            "{line}"
        );
        assert_eq!(server.count(), 3, "one request a run");
        assert!(env.stored_dates().is_empty());
    }

    fn a_past_range_without_data_is_the_source_failing(backend) {
        for api in [EcbApi::Csv, EcbApi::EmptyOk] {
            let server = FakeFixer::ecb(EcbHistory::default(), api, EcbQuotes::Missing);
            let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
            let line = env.fails(&["backfill", "--from", "2024-09-02", "--to", "2024-09-13"], 75);
            assert!(line.contains("no data for 2024-09-02 to 2024-09-13"), "{api:?}: {line}");
            assert!(env.stored_dates().is_empty());
        }
    }

    fn the_90_day_file_fills_in_when_the_data_api_fails(backend) {
        for (api, quotes) in [
            (EcbApi::Status(503), EcbQuotes::Double),
            (EcbApi::Csv, EcbQuotes::Single),
            (EcbApi::Garbage, EcbQuotes::Double),
        ] {
            let history = EcbHistory::published("2024-06-03", "2024-09-20", &[]);
            // The data API answers 404 for everything in the second case.
            let api_history = if api == EcbApi::Csv { EcbHistory::default() } else { history.clone() };
            let files = history.clone();
            let server = FakeFixer::start(move |s| {
                if s.path.starts_with("/stats/") {
                    ecb_reply(&files, api, quotes, s)
                } else {
                    ecb_reply(&api_history, api, quotes, s)
                }
            });
            let env = ecb_env(backend, &server, "2024-09-20T18:00:00Z");
            let (code, _, err) = env.run(&["ingest"]);
            assert_eq!(code, 0, "{api:?} {quotes:?}: {err}");
            assert!(err.contains("used its 90-day reference file"), "{err}");
            assert_eq!(env.stored_dates(), weekdays("2024-08-21", "2024-09-20"));
            // The files keep trailing zeros; stored as sent.
            assert!(env.rates_on("2024-09-20").contains(&("GBP".into(), "0.83380".into())));
            let endpoints = env.sql("SELECT DISTINCT endpoint FROM requests ORDER BY endpoint");
            assert_eq!(endpoints, [["ecb-90d".to_string()], ["ecb-data".to_string()]]);
        }
    }
}

/// `--provider` overrides `FXRATES_PROVIDER` as every flag overrides its
/// variable: the variable is then not judged. A command without the flag
/// still refuses a variable it cannot read, as it always did.
#[test]
fn a_provider_flag_wins_over_its_variable_which_is_then_not_judged() {
    let history = EcbHistory::published("2024-01-02", "2024-04-10", &EASTER_2024);
    let server = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
    let env =
        ecb_env(Backend::Sqlite, &server, "2024-04-10T15:00:00Z").env("FXRATES_PROVIDER", "bogus");
    let metrics = env.path().join("fxrates.prom");
    let metrics_arg = metrics.to_str().unwrap();
    let (code, out, err) = env.run(&["ingest", "--provider", "ecb", "--metrics-file", metrics_arg]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(
        data_requests(&server),
        [("2024-03-11".into(), "2024-04-10".into())]
    );
    // The run's metrics judge by the flag's provider: Easter is not missing.
    let written = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        written.contains("fxrates_missing_weekdays 0\n"),
        "{written}"
    );
    let (code, out, err) = env.run(&["status", "--provider", "ecb", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["provider"], "ecb");
    let (code, out, err) = env.run(&["status", "--provider", "fixer", "--format", "json"]);
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["missing_dates"], serde_json::json!(EASTER_2024));

    // Without the flag, the same lines and exit codes as ever.
    assert_eq!(
        env.fails(&["status"], 2),
        "FXRATES_PROVIDER: invalid value 'bogus' for '--provider <PROVIDER>' [possible values: \
         fixer, ecb]; see `fxrates --help`"
    );
    for args in [&["show"][..], &["serve"]] {
        assert_eq!(
            env.fails(args, 78),
            "FXRATES_PROVIDER=\"bogus\" is neither fixer nor ecb; set one of them, or unset it"
        );
    }
}

both_stores! {
    fn an_ecb_store_is_healthy_over_easter_and_says_what_it_holds(backend) {
        let history = EcbHistory::published("2024-01-02", "2024-04-10", &EASTER_2024);
        let server = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2024-04-10T15:00:00Z");
        assert_eq!(env.run(&["ingest"]).0, 0);
        let (code, out, err) = env.run(&["status", "--format", "json"]);
        assert_eq!(code, 0, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["provider"], "ecb");
        assert_eq!(v["missing_dates"], serde_json::json!([]));
        assert_eq!(v["providers"]["ecb"]["days"], 21);
        assert_eq!(v["providers"]["ecb"]["latest_date"], "2024-04-10");
        // By fixer's calendar, Good Friday and Easter Monday are missing.
        let (code, out, _) = env.run(&["status", "--provider", "fixer", "--format", "json"]);
        assert_eq!(code, 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["missing_dates"], serde_json::json!(EASTER_2024));
        let (code, out, _) = env.run(&["status", "--format", "prometheus"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("fxrates_provider_stored_days{provider=\"ecb\"} 21\n"), "{out}");
        assert!(out.contains("fxrates_missing_weekdays 0\n"), "{out}");
        // After 16:00 the next day, that day counts as missing until stored.
        let later = env.at("2024-04-11T14:30:00Z");
        let (code, out, _) = later.run(&["status", "--format", "json"]);
        assert_eq!(code, 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["missing_dates"], serde_json::json!(["2024-04-11"]));
        // Before 16:00 it does not.
        let (code, _, _) = env.at("2024-04-11T13:30:00Z").run(&["status"]);
        assert_eq!(code, 0);
    }
}

both_stores! {
    fn show_on_a_closing_day_says_the_ecb_published_nothing_and_falls_back(backend) {
        let history = EcbHistory::published("2024-03-01", "2024-04-10", &EASTER_2024);
        let server = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = ecb_env(backend, &server, "2024-04-10T15:00:00Z");
        assert_eq!(env.run(&["ingest"]).0, 0);
        let (code, out, err) = env.run(&["show", "--date", "2024-04-01", "--symbols", "USD"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            err,
            "fxrates: warning: the ECB published no rates for 2024-04-01 (Easter Monday, a \
             TARGET closing day); showing 2024-03-28\n"
        );
        assert!(out.starts_with("Rates for 2024-03-28 (the latest stored day on or before 2024-04-01), base EUR, from the ECB\n"), "{out}");
        let (code, out, _) = env.run(&["show", "--date", "2024-04-02", "--format", "csv"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("date,base,currency,rate,provider\n2024-04-02,EUR,CHF,0.9412,ecb\n"), "{out}");
        // A currency the ECB does not publish is named as the ECB's gap.
        let line = env.fails(&["show", "--date", "2024-04-02", "--symbols", "XAU"], 66);
        assert!(line.contains("no rate for XAU on 2024-04-02, which is stored from the ECB"), "{line}");
    }
}

both_stores! {
    fn with_fallback_the_ecb_fills_what_fixer_cannot_and_the_run_still_fails(backend) {
        let fixer = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
        let history = EcbHistory::published("2024-03-01", "2024-04-11", &EASTER_2024);
        let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = TestEnv::on(backend, &fixer.url, "2024-04-10T15:00:00Z")
            .env("FXRATES_FALLBACK", "ecb")
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
            .env("FXRATES_ECB_FILES", &ecb.ecb_files());
        let (code, out, err) = env.run(&["ingest"]);
        assert_eq!((code, out.as_str()), (78, ""), "{err}");
        let line = error_line(&err);
        assert!(
            line.starts_with("filled 21 days from the ECB instead (--fallback ecb; 0 still missing): ")
                && line.contains("rejected the API key"),
            "{line}"
        );
        assert_eq!(ecb.count(), 1);
        // Good Friday and Easter Monday stay missing: the ECB has none.
        assert_eq!(
            env.stored_dates(),
            without(weekdays("2024-03-11", "2024-04-10"), &EASTER_2024)
        );
        assert_eq!(env.sql("SELECT DISTINCT source FROM days"), [["ecb".to_string()]]);
        let (code, out, _) = env.run(&["status", "--format", "json"]);
        assert_eq!(code, 3, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["providers"]["ecb"]["days"], 21);

        // Without a key at all, the same, the next day.
        let (code, _, err) = env.env("FIXER_API_KEY", "").at("2024-04-11T15:00:00Z").run(&["ingest", "--no-heal"]);
        assert_eq!(code, 78, "{err}");
        assert!(error_line(&err).starts_with("filled 1 day from the ECB instead"), "{err}");

        // A store that fails is no reason to ask the ECB.
        let before = ecb.count();
        let env2 = TestEnv::new(&fixer.url, "2024-04-10T15:00:00Z")
            .env("FXRATES_FALLBACK", "ecb")
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
            .env("FXRATES_DB", "/proc/fxrates-cannot-be-here.db");
        let (code, _, _) = env2.run(&["ingest"]);
        assert_ne!(code, 0);
        assert_eq!(ecb.count(), before);
    }
}

#[test]
fn a_fallback_that_fails_too_is_warned_of_and_the_run_fails_as_fixer_failed() {
    let fixer = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
    let ecb = refused_endpoint();
    let env = TestEnv::new(&fixer.url, "2024-04-10T15:00:00Z")
        .env("FXRATES_FALLBACK", "ecb")
        .env("FXRATES_ECB_ENDPOINT", &ecb)
        .env("FXRATES_ECB_FILES", &ecb);
    let (code, out, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!((code, out.as_str()), (78, ""), "{err}");
    let said: Vec<&str> = err.lines().filter(|l| l.contains("fallback")).collect();
    assert_eq!(
        said,
        [
            "fxrates: warning: the fallback to the ECB failed too: 3 tries failed: the connection \
          to 127.0.0.1 failed (connection refused); try again later"
        ],
        "{err}"
    );
    let line = error_line(&err);
    assert!(
        line.contains("rejected the API key") && !line.contains("filled"),
        "{line}"
    );
}

both_stores! {
    fn with_fallback_the_ecb_fills_the_days_fixers_budget_leaves_out(backend) {
        let fixer = FakeFixer::free_plan("2024-04-10");
        let history = EcbHistory::published("2024-03-01", "2024-04-11", &EASTER_2024);
        let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        // A budget of three: today's request, the heal's refused timeseries
        // and one day.
        let env = TestEnv::on(backend, &fixer.url, "2024-04-10T09:00:00Z")
            .env("FIXER_MONTHLY_QUOTA", "3")
            .env("FXRATES_FALLBACK", "ecb")
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
            .env("FXRATES_ECB_FILES", &ecb.ecb_files());
        let (code, out, err) = env.run(&["ingest"]);
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        assert_eq!(fixer.count(), 3, "{err}");
        assert_eq!(ecb.count(), 1, "{err}");
        // Good Friday and Easter Monday stay missing: the ECB has none.
        assert_eq!(
            env.stored_dates(),
            without(weekdays("2024-03-11", "2024-04-10"), &EASTER_2024)
        );
        assert_eq!(
            env.sql("SELECT date FROM days WHERE source = 'fixer' ORDER BY date"),
            [["2024-04-09"], ["2024-04-10"]].map(|d| vec![d[0].to_string()])
        );
        assert!(
            err.contains("budget left 19 days missing; filled 19 days from the ECB instead"),
            "{err}"
        );

        // Without --fallback the budget's gap stays, and the ECB is not asked.
        let history = EcbHistory::published("2024-03-01", "2024-04-11", &EASTER_2024);
        let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let plain = TestEnv::on(backend, &fixer.url, "2024-04-10T09:00:00Z")
            .env("FIXER_MONTHLY_QUOTA", "3")
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint());
        assert_eq!(plain.run(&["ingest"]).0, 0);
        assert_eq!(ecb.count(), 0);
        assert_eq!(plain.stored_dates().len(), 2);
    }
}

both_stores! {
    fn fixer_replaces_the_ecb_days_of_the_month_within_its_budget(backend) {
        let fixer = paid_plan("2024-09-20");
        let history = EcbHistory::published("2024-08-01", "2024-09-20", &[]);
        let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = TestEnv::on(backend, &fixer.url, "2024-09-19T18:00:00Z")
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
            .env("FXRATES_ECB_FILES", &ecb.ecb_files());
        let (code, _, err) = env.run(&["ingest", "--provider", "ecb"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(env.stored_dates(), weekdays("2024-08-20", "2024-09-19"));
        // A fixer budget with nothing left after today's request: the ECB's
        // days stay.
        let tight = env.at("2024-09-20T09:00:00Z").env("FIXER_MONTHLY_QUOTA", "1");
        let (code, _, err) = tight.run(&["ingest"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(fixer.count(), 1);
        let providers = |env: &TestEnv| {
            env.sql("SELECT source, count(*) FROM days WHERE date >= '2024-08-21' GROUP BY source ORDER BY source")
        };
        assert_eq!(
            providers(&tight),
            [["ecb".to_string(), "22".to_string()], ["fixer".to_string(), "1".to_string()]]
        );
        // With budget, one timeseries request replaces them, each day whole.
        let later = env.at("2024-09-20T10:00:00Z");
        let (code, _, err) = later.run(&["ingest", "-v"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("replaced 22 of 22 days held from the ECB"), "{err}");
        assert_eq!(fixer.count(), 2);
        assert_eq!(fixer.requests()[1].function(), "timeseries");
        assert_eq!(providers(&later), [["fixer".to_string(), "23".to_string()]]);
        assert_eq!(later.rates_on("2024-09-02").len(), RATES_SHOWN.len());
        // Outside the month window, the ECB's day stays.
        assert_eq!(
            later.sql("SELECT source FROM days WHERE date = '2024-08-20'"),
            [["ecb".to_string()]]
        );
    }
}

both_stores! {
    fn copy_carries_each_days_provider(backend) {
        let fixer = paid_plan("2024-09-20");
        let history = EcbHistory::published("2024-09-02", "2024-09-20", &[]);
        let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
        let env = TestEnv::on(backend, &fixer.url, "2024-09-20T18:00:00Z")
            .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint());
        assert_eq!(env.run(&["ingest", "--date", "2024-09-18"]).0, 0);
        let (code, _, err) = env.run(&["backfill", "--provider", "ecb", "--from", "2024-09-16"]);
        assert_eq!(code, 0, "{err}");
        let dest = env.path().join("copy.db");
        let source = match &env.pg {
            Some(pg) => pg.url.clone(),
            None => env.db.to_str().unwrap().to_string(),
        };
        let (code, _, err) = env.run(&["copy", &source, dest.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let conn = rusqlite::Connection::open(&dest).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT date, provider FROM rates WHERE currency = 'USD' ORDER BY date")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            rows,
            [
                ("2024-09-16".to_string(), "ecb".to_string()),
                ("2024-09-17".to_string(), "ecb".to_string()),
                ("2024-09-18".to_string(), "fixer".to_string()),
                ("2024-09-19".to_string(), "ecb".to_string()),
                ("2024-09-20".to_string(), "ecb".to_string()),
            ]
        );
    }
}

#[test]
fn a_bad_ecb_url_is_refused_with_the_ecbs_own_form_as_the_example() {
    let fixer = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
    for (var, url, example) in [
        (
            "FXRATES_ECB_ENDPOINT",
            "https://data-api.ecb.europa.eu/service?format=csv",
            "such as https://data-api.ecb.europa.eu/service",
        ),
        (
            "FXRATES_ECB_FILES",
            "https://user@www.ecb.europa.eu/stats/eurofxref",
            "such as https://www.ecb.europa.eu/stats/eurofxref",
        ),
    ] {
        let env = TestEnv::new(&fixer.url, "2024-04-10T15:00:00Z")
            .env("FXRATES_PROVIDER", "ecb")
            .env(var, url);
        let line = env.fails(&["ingest"], 78);
        assert!(line.starts_with(var) && line.contains(example), "{line}");
        assert!(!line.contains("fixer"), "{line}");
        assert!(!env.store_exists());
    }
    assert_eq!(fixer.count(), 0);
}
