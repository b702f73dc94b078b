//! fixer's own currency names: `ingest` asks its `symbols` at most once a
//! calendar month, after the days, and only when the month's budget keeps a
//! request for every weekday left; a failure is a warning, never the run's.

use crate::common::*;

const FRIDAY: &str = "2024-09-20";
const FRIDAY_9AM: &str = "2024-09-20T09:00:00Z";

/// A free plan whose `symbols` answers with `names`.
fn answering(names: Reply) -> FakeFixer {
    FakeFixer::with_symbols(move |s| match s.function() {
        "latest" => Reply::ok(latest_body(FRIDAY)),
        "symbols" => names.clone(),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        date if is_date(date) => Reply::ok(historical_body(date)),
        _ => Reply::fixer_error(302, "invalid_date"),
    })
}

fn fixer_names() -> Reply {
    Reply::ok(
        r#"{"success":true,"symbols":{"USD":"United States Dollar (fixer)","GBP":"British Pound Sterling"}}"#,
    )
}

/// The name `currencies` lists for USD.
fn usd_name(env: &TestEnv) -> String {
    let (code, csv, err) = env.run(&["currencies", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    let line = csv.lines().find(|l| l.starts_with("USD,")).expect(&csv);
    line.split(',').nth(1).unwrap().to_string()
}

both_stores! {
    fn ingest_asks_for_the_names_once_a_calendar_month_after_the_days(backend) {
        let server = answering(fixer_names());
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        let (code, out, err) = env.run(&["ingest"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""), "cron-quiet");
        assert_eq!(server.symbols_count(), 1);
        // Only once every day of the month was stored.
        let all = server.all_requests();
        assert!(all.last().unwrap().is_symbols(), "{all:?}");
        assert_eq!(env.stored_dates(), weekdays("2024-08-21", FRIDAY));
        assert_eq!(usd_name(&env), "United States Dollar (fixer)");

        // Later runs this month, and the next month before the same day,
        // ask for no names. (Weekend runs: they heal through the historical
        // endpoint, whose dates the server answers for any day.)
        for now in ["2024-09-20T18:00:00Z", "2024-09-21T09:00:00Z", "2024-10-19T09:00:00Z"] {
            let env = env.at(now);
            let (code, _, err) = env.run(&["ingest"]);
            assert_eq!(code, 0, "{now}: {err}");
            assert_eq!(server.symbols_count(), 1, "{now}");
        }
        // A calendar month after they were fetched, they are due again.
        let env = env.at("2024-10-20T09:00:00Z");
        assert_eq!(env.run(&["ingest"]).0, 0);
        assert_eq!(server.symbols_count(), 2);
        let (code, _, err) = env.run(&["ingest"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.symbols_count(), 2);
        // --fetch-names asks again at once.
        let (code, _, err) = env.run(&["ingest", "--fetch-names"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.symbols_count(), 3);
    }
}

#[test]
fn a_run_for_one_date_asks_for_no_names() {
    let server = answering(fixer_names());
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, _, err) = env.run(&["ingest", "--date", "2024-09-19"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!((server.count(), server.symbols_count()), (1, 0));
    assert_eq!(usd_name(&env), "United States Dollar");
}

#[test]
fn the_names_never_take_a_request_the_weekdays_left_may_need() {
    // From Friday 20 September, 7 weekdays are left in the month, today's
    // included; the run's day costs one request.
    for (quota, force, asked) in [("8", false, 0), ("8", true, 0), ("9", false, 1)] {
        let server = answering(fixer_names());
        let env = TestEnv::new(&server.url, FRIDAY_9AM).env("FIXER_MONTHLY_QUOTA", quota);
        let mut args = vec!["ingest", "--no-heal", "-v"];
        if force {
            args.push("--fetch-names");
        }
        let (code, _, err) = env.run(&args);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 1, "quota {quota}");
        assert_eq!(server.symbols_count(), asked, "quota {quota}: {err}");
        if asked == 0 {
            assert!(err.contains("names were not fetched"), "{err}");
            assert_eq!(usd_name(&env), "United States Dollar");
        }
    }
}

#[test]
fn a_month_left_incomplete_asks_for_no_names() {
    // A paid plan whose timeseries answer stops three days short: those
    // days stay missing until the next run, which the budget has room for.
    let server = FakeFixer::with_symbols(|s| match s.function() {
        "latest" => Reply::ok(latest_body(FRIDAY)),
        "symbols" => fixer_names(),
        "timeseries" => {
            let start = &s.query["start_date"];
            Reply::ok(timeseries_body(
                start,
                "2024-09-16",
                &all_dates(start, "2024-09-16"),
            ))
        }
        _ => Reply::fixer_error(302, "invalid_date"),
    });
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, _, err) = env.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    assert!(!env.stored_dates().contains(&"2024-09-17".to_string()));
    assert_eq!(server.symbols_count(), 0);
}

#[test]
fn a_names_failure_is_one_warning_and_the_run_succeeds_without_a_retry() {
    for (reply, says) in [
        (Reply::json(503, "busy"), "503"),
        (Reply::fixer_error(104, "usage_limit_reached"), "104"),
        (Reply::ok(r#"{"success":true}"#), "no \"symbols\""),
    ] {
        let server = answering(reply);
        let env = TestEnv::new(&server.url, FRIDAY_9AM);
        let (code, out, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!((code, out.as_str()), (0, ""), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("fxrates: warning: the currency names could not be fetched")
                && err.contains(says)
                && err.contains("the next run tries again"),
            "{err}"
        );
        assert_eq!(env.stored_dates(), [FRIDAY]);
        // One try: a retry would spend quota the days may need.
        assert_eq!((server.count(), server.symbols_count()), (1, 1), "{err}");
        assert_eq!(usd_name(&env), "United States Dollar");
        // Nothing was stored, so the next run asks again.
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        assert_eq!((server.count(), server.symbols_count()), (1, 2));
    }
}

#[test]
fn a_refused_key_asks_for_no_names() {
    let server = FakeFixer::with_symbols(|_| Reply::fixer_error(101, "invalid_access_key"));
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 78, "{err}");
    assert_eq!((server.count(), server.symbols_count()), (1, 0));
}

#[test]
fn the_ecb_provider_asks_for_no_names() {
    let fixer = answering(fixer_names());
    let history = EcbHistory::published("2024-08-01", FRIDAY, &[]);
    let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
    let env = TestEnv::new(&fixer.url, "2024-09-20T15:00:00Z")
        .env("FXRATES_PROVIDER", "ecb")
        .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
        .env("FXRATES_ECB_FILES", &ecb.ecb_files());
    let (code, _, err) = env.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    assert!(env.stored_dates().contains(&FRIDAY.to_string()));
    assert!(fixer.all_requests().is_empty());
    assert_eq!(ecb.symbols_count(), 0);
}
