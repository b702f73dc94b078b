use crate::common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

fn functions(server: &FakeFixer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|s| s.function().to_string())
        .collect()
}

/// The free plan, with `latest` answering for a date the test moves.
fn free_plan_on(today: &Arc<Mutex<String>>) -> FakeFixer {
    let today = Arc::clone(today);
    FakeFixer::start(move |s| match s.function() {
        "latest" => Reply::ok(latest_body(&today.lock().unwrap())),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        date => Reply::ok(historical_body(date)),
    })
}

both_stores! {
    fn the_first_ingest_fills_the_month_and_the_next_asks_nothing(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, out, err) = env.run(&["ingest"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.is_empty() && err.is_empty(), "cron-quiet: {out}{err}");
        assert_eq!(env.stored_dates(), weekdays("2024-08-21", "2024-09-20"));
        let mut expected = vec!["latest".to_string(), "timeseries".to_string()];
        expected.extend(weekdays("2024-08-21", "2024-09-19"));
        assert_eq!(functions(&server), expected);

        assert_eq!(env.run(&["ingest"]).0, 0);
        assert_eq!(
            server.count(),
            expected.len(),
            "nothing is missing any more"
        );
    }
}

#[test]
fn ingest_heals_a_gap_after_the_machine_was_off() {
    let today = Arc::new(Mutex::new("2024-09-06".to_string()));
    let server = free_plan_on(&today);
    let env = TestEnv::new(&server.url, "2024-09-06T09:00:00Z");
    assert_eq!(env.run(&["ingest"]).0, 0);
    let before = server.count();
    *today.lock().unwrap() = "2024-09-20".into();

    let later = env.at(NOW);
    let (code, _, err) = later.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    let mut expected = vec!["latest".to_string()];
    // The timeseries refusal is remembered: one request per missing day.
    expected.extend(weekdays("2024-09-09", "2024-09-19"));
    assert_eq!(functions(&server)[before..], expected[..]);
    assert_eq!(later.stored_dates(), weekdays("2024-08-07", "2024-09-20"));
}

#[test]
fn a_day_without_rates_is_recorded_not_asked_again_and_shown_by_status() {
    let server = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body("2024-09-20")),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        "2024-09-18" => Reply::fixer_error(106, "no_rates_available"),
        date => Reply::ok(historical_body(date)),
    });
    let env = TestEnv::new(&server.url, NOW);
    let (code, _, err) = env.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no rates for 2024-09-18"), "{err}");
    assert_eq!(
        env.sql("SELECT date FROM unavailable_days"),
        [["2024-09-18"]]
    );
    let asked = |server: &FakeFixer| {
        functions(server)
            .iter()
            .filter(|f| f.as_str() == "2024-09-18")
            .count()
    };
    assert_eq!(asked(&server), 1);

    let monday = env.at("2024-09-23T09:00:00Z");
    let (code, _, err) = monday.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(asked(&server), 1, "never asked again");

    let (code, out, _) = monday.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["unavailable_dates"], serde_json::json!(["2024-09-18"]));
    assert_eq!(json["missing_dates"], serde_json::json!([]));
    assert_eq!(code, 0, "{out}");
}

both_stores! {
    fn healing_stays_within_the_monthly_budget(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW).env("FIXER_MONTHLY_QUOTA", "5");
        let (code, _, err) = env.run(&["ingest"]);
        assert_eq!(code, 0, "{err}");
        // latest, the refused timeseries, then the 3 newest missing days.
        assert_eq!(server.count(), 5);
        assert_eq!(
            functions(&server)[2..],
            ["2024-09-17", "2024-09-18", "2024-09-19"]
        );
        assert!(
            err.contains("only 3 of the monthly quota of 5 remain"),
            "{err}"
        );

        // Nothing is left this month: no further request for healing.
        let (code, _, err) = env.run(&["ingest"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 5);
    }
}

both_stores! {
    fn usage_limit_reached_while_healing_keeps_today_and_fails(backend) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let server = FakeFixer::start(move |s| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            match s.function() {
                "latest" => Reply::ok(latest_body("2024-09-20")),
                "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
                _ if n >= 3 => Reply::fixer_error(104, "usage_limit_reached"),
                date => Reply::ok(historical_body(date)),
            }
        });
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["ingest"]);
        assert_eq!(code, 78, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("healing the last month stopped after storing 1 of 22"),
            "{err}"
        );
        assert_eq!(server.count(), 4, "nothing after the 104");
        assert_eq!(env.stored_dates(), ["2024-08-21", "2024-09-20"]);
    }
}

both_stores! {
    fn no_heal_makes_only_todays_request(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        assert_eq!(functions(&server), ["latest"]);
    }
}

#[test]
fn ingest_prunes_with_keep_days_when_set() {
    let today = Arc::new(Mutex::new("2024-07-01".to_string()));
    let server = free_plan_on(&today);
    let env = TestEnv::new(&server.url, "2024-07-01T09:00:00Z");
    assert_eq!(env.run(&["ingest"]).0, 0);
    *today.lock().unwrap() = "2024-09-20".into();
    assert!(env.stored_dates().contains(&"2024-06-03".to_string()));

    let later = env.at(NOW).env("FXRATES_KEEP_DAYS", "100");
    let (code, _, err) = later.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    let mut expected = weekdays("2024-06-13", "2024-07-01");
    expected.extend(weekdays("2024-08-21", "2024-09-20"));
    assert_eq!(later.stored_dates(), expected);

    let n = server.count();
    let (code, _, err) = env.at(NOW).env("FXRATES_KEEP_DAYS", "30").run(&["ingest"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("below 31"), "{err}");
    assert_eq!(server.count(), n);
}

#[test]
fn a_weekend_run_heals_the_week_without_asking_for_the_weekend() {
    let server = FakeFixer::free_plan("2024-09-20");
    // Stored up to Thursday; the machine was off on Friday.
    let env = TestEnv::new(&server.url, "2024-09-19T09:00:00Z");
    assert_eq!(env.run(&["backfill"]).0, 0);
    assert!(!env.stored_dates().contains(&"2024-09-20".to_string()));
    let sent = server.count();
    // The timer catches up on Saturday morning.
    let saturday = env.at("2024-09-21T09:00:00Z");
    let (code, out, err) = saturday.run(&["ingest"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(saturday.stored_dates().contains(&"2024-09-20".to_string()));
    let asked: Vec<String> = server.requests()[sent..]
        .iter()
        .map(|r| r.function().to_string())
        .collect();
    assert_eq!(asked, ["2024-09-20"], "only Friday, never the weekend");
    // With --no-heal a weekend run still asks nothing.
    assert_eq!(saturday.run(&["ingest", "--no-heal"]).0, 0);
    assert_eq!(server.count(), sent + 1);
}

#[test]
fn one_day_whose_answer_is_unusable_does_not_starve_the_others() {
    let server = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body("2024-09-20")),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        "2024-08-27" => Reply::ok(day_body("2024-08-27", r#"{"USD":1.1,"XDR":0}"#)),
        date => Reply::ok(historical_body(date)),
    });
    let env = TestEnv::new(&server.url, NOW);
    // One run only: the next runs today leave the day out (and exit 0).
    let (code, out, err) = env.run(&["ingest"]);
    assert_eq!((code, out.as_str()), (65, ""), "{err}");
    let msg = error_line(&err);
    assert!(msg.contains("2024-08-27"), "{msg}");
    let mut expected = weekdays("2024-08-21", "2024-09-20");
    expected.retain(|d| d != "2024-08-27");
    assert_eq!(
        env.stored_dates(),
        expected,
        "the days after it were fetched"
    );
}

both_stores! {
    fn a_day_whose_answer_is_unusable_is_asked_for_once_a_day(backend) {
        const X: &str = "2024-08-27";
        let fixed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let fixed_too = Arc::clone(&fixed);
        let server = FakeFixer::start(move |s| match s.function() {
            "latest" => Reply::ok(latest_body("2024-09-20")),
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            X if !fixed_too.load(Ordering::SeqCst) => {
                Reply::ok(day_body(X, r#"{"USD":1.1,"XDR":0}"#))
            }
            date => Reply::ok(historical_body(date)),
        });
        let asked_x = |server: &FakeFixer| functions(server).iter().filter(|f| *f == X).count();
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["ingest"]);
        assert_eq!(code, 65, "{err}");
        assert!(error_line(&err).contains(X), "{err}");
        assert_eq!(asked_x(&server), 1);
        let mut expected = weekdays("2024-08-21", "2024-09-20");
        expected.retain(|d| d != X);
        assert_eq!(env.stored_dates(), expected, "the other days were stored");

        // Later the same day: nothing is asked for, X stays missing.
        let sent = server.count();
        let later = env.at("2024-09-20T15:00:00Z");
        let (code, _, err) = later.run(&["ingest", "-v"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains(&format!("{X} left out until tomorrow")), "{err}");
        let (code, _, err) = later.run(&["backfill"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), sent, "no request the same day");
        let (code, out, _) = later.run(&["status"]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("missing:      {X}")), "{out}");
        // Asking explicitly still asks.
        assert_eq!(later.run(&["ingest", "--date", X]).0, 65);
        assert_eq!(asked_x(&server), 2);

        // The next day (a Saturday, which still heals the month): asked
        // once again, and left out for the rest of that day.
        let saturday = env.at("2024-09-21T09:00:00Z");
        assert_eq!(saturday.run(&["ingest"]).0, 65);
        assert_eq!(asked_x(&server), 3);
        assert_eq!(saturday.run(&["ingest"]).0, 0);
        assert_eq!(asked_x(&server), 3);

        // Once it is stored the record is gone.
        fixed.store(true, Ordering::SeqCst);
        let monday = env.at("2024-09-23T09:00:00Z");
        let (code, _, err) = monday.run(&["ingest", "--no-heal", "--date", X]);
        assert_eq!(code, 0, "{err}");
        assert!(env.stored_dates().contains(&X.to_string()));
        assert_eq!(
            env.sql("SELECT count(*) FROM unusable_days"),
            [["0".to_string()]]
        );
    }
}
