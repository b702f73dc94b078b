//! `fxrates ingest`: which day it asks for, through which endpoint, what it
//! stores, and when it asks nothing at all.

use crate::common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A Friday.
const FRIDAY: &str = "2024-09-20";
const FRIDAY_9AM: &str = "2024-09-20T09:00:00Z";

fn shown() -> Vec<(String, String)> {
    RATES_SHOWN
        .iter()
        .map(|(c, r)| (c.to_string(), r.to_string()))
        .collect()
}

both_stores! {
    fn weekday_ingest_stores_every_rate_exactly_through_latest(backend) {
        let server = FakeFixer::free_plan(FRIDAY);
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);

        let (code, out, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            (out.as_str(), err.as_str()),
            ("", ""),
            "cron-quiet on success"
        );

        let sent = server.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].path, "/api/latest");
        assert_eq!(sent[0].query.get("base").map(String::as_str), Some("EUR"));
        assert!(
            !sent[0].query.contains_key("symbols"),
            "all symbols are asked for"
        );

        assert_eq!(env.rates_on(FRIDAY), shown());
        let view = env.sql(&format!(
            "SELECT currency, rate_text, base FROM rates WHERE date = '{FRIDAY}' ORDER BY currency"
        ));
        let view: Vec<(String, String)> = view
            .into_iter()
            .inspect(|r| assert_eq!(r[2], "EUR"))
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect();
        assert_eq!(view, shown());
        assert_eq!(
            env.sql("SELECT date, base, endpoint, source_date, source_timestamp, fetched_at FROM days"),
            [[
                FRIDAY,
                "EUR",
                "latest",
                FRIDAY,
                "1519296206",
                "2024-09-20T09:00:00Z"
            ]]
        );

        let (code, out, _) = env.run(&["show", "--format", "csv"]);
        assert_eq!(code, 0);
        let mut expected = String::from("date,base,currency,rate,provider\n");
        for (c, r) in RATES_SHOWN {
            expected.push_str(&format!("{FRIDAY},EUR,{c},{r},fixer\n"));
        }
        assert_eq!(out, expected);
    }
}

both_stores! {
    fn a_stored_day_costs_no_second_request(backend) {
        let server = FakeFixer::free_plan(FRIDAY);
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        let before = env.stored();

        let (code, out, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
        let (code, _, err) = env.run(&["ingest", "--no-heal", "-v"]);
        assert_eq!(code, 0);
        assert!(err.contains("already stored"), "-v says why: {err}");
        let (code, _, _) = env.run(&["ingest", "--no-heal", "--date", FRIDAY]);
        assert_eq!(code, 0);

        assert_eq!(server.count(), 1, "only the first run asked fixer");
        assert_eq!(env.stored(), before);
        assert_eq!(
            env.sql("SELECT count(*) FROM day_rates")[0][0],
            RATES_SHOWN.len().to_string(),
            "no row is duplicated"
        );
    }
}

both_stores! {
    fn weekend_ingest_asks_nothing_and_says_so(backend) {
        let server = FakeFixer::free_plan("2024-09-21");
        for now in ["2024-09-21T09:00:00Z", "2024-09-22T23:59:00Z"] {
            let env = TestEnv::on(backend, &server.url, now);
            let (code, out, err) = env.run(&["ingest", "--no-heal"]);
            assert_eq!(code, 0, "{err}");
            assert_eq!(out, "");
            assert!(
                err.contains("Saturday") || err.contains("Sunday"),
                "stderr names the weekend: {err}"
            );
            assert!(env.stored_dates().is_empty());
            let (code, _, err) = env.run(&["ingest", "--no-heal", "-q"]);
            assert_eq!((code, err.as_str()), (0, ""), "-q silences it");
        }
        assert_eq!(server.count(), 0);
    }
}

both_stores! {
    fn today_is_the_local_date_of_tz(backend) {
        // 23:30 UTC on Friday is already Saturday in Tokyo: nothing to fetch.
        let server = FakeFixer::free_plan(FRIDAY);
        let env = TestEnv::on(backend, &server.url, "2024-09-20T23:30:00Z").env("TZ", "Asia/Tokyo");
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 0, "{err}");
        // 23:30 UTC on Sunday is Monday in Tokyo.
        let env = TestEnv::on(backend, &server.url, "2024-09-22T23:30:00Z").env("TZ", "Asia/Tokyo");
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        assert_eq!(env.stored_dates(), ["2024-09-23"]);
    }
}

both_stores! {
    fn date_uses_the_historical_endpoint(backend) {
        let server = FakeFixer::free_plan(FRIDAY);
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        let (code, out, err) = env.run(&["ingest", "--no-heal", "--date", "2024-09-18"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));

        let sent = server.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].path, "/api/2024-09-18");
        assert_eq!(sent[0].query.get("base").map(String::as_str), Some("EUR"));
        assert_eq!(env.stored_dates(), ["2024-09-18"]);
        assert_eq!(env.rates_on("2024-09-18"), shown());
        assert_eq!(
            env.sql("SELECT endpoint, source_date, source_timestamp FROM days"),
            [["historical", "2024-09-18", "1563667199"]]
        );

        // Today through --date is still a historical call, and today is allowed.
        assert_eq!(env.run(&["ingest", "--no-heal", "--date", FRIDAY]).0, 0);
        assert_eq!(server.requests()[1].path, format!("/api/{FRIDAY}"));
    }
}

both_stores! {
    fn weekend_date_is_skipped_without_a_request(backend) {
        let server = FakeFixer::free_plan(FRIDAY);
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        let (code, out, err) = env.run(&["ingest", "--no-heal", "--date", "2024-09-15"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "");
        assert!(err.contains("2024-09-15"), "{err}");
        assert_eq!(server.count(), 0);
        assert!(env.stored_dates().is_empty());
    }
}

#[test]
fn future_date_is_refused_before_any_request() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let msg = env.fails(&["ingest", "--no-heal", "--date", "2024-09-23"], 2);
    assert!(
        msg.contains("2024-09-23") && msg.contains("future"),
        "{msg}"
    );
    assert_eq!(server.count(), 0);
    assert!(!env.db.exists(), "a refused run creates no database");
}

#[test]
fn a_bad_date_is_a_usage_error() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for bad in ["2024-02-30", "20240920", "tomorrow"] {
        let msg = env.fails(&["ingest", "--no-heal", "--date", bad], 2);
        assert!(msg.contains(bad), "{msg}");
    }
    let msg = env.fails(&["ingest", "--no-heal", "--date", "1998-12-31"], 2);
    assert!(
        msg.contains("1999"),
        "fixer's history starts in 1999: {msg}"
    );
    assert!(!env.db.exists());
    assert_eq!(server.count(), 0);
}

both_stores! {
    fn force_fetches_again_and_replaces_the_day(backend) {
        let calls = Arc::new(AtomicUsize::new(0));
        let server = {
            let calls = Arc::clone(&calls);
            FakeFixer::start(move |_| {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Reply::ok(latest_body(FRIDAY))
                } else {
                    Reply::ok(day_body(FRIDAY, r#"{"GBP":0.84,"USD":1.2401}"#))
                }
            })
        };
        let mut env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        assert_eq!(env.rates_on(FRIDAY), shown());

        env.now = "2024-09-20T15:00:00Z".into();
        let (code, out, err) = env.run(&["ingest", "--no-heal", "--force"]);
        assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
        assert_eq!(server.count(), 2);
        assert_eq!(
            env.rates_on(FRIDAY),
            [
                ("GBP".to_string(), "0.84".to_string()),
                ("USD".to_string(), "1.2401".to_string())
            ],
            "the old rates are replaced, not merged"
        );
        assert_eq!(
            env.sql("SELECT fetched_at, source_timestamp FROM days"),
            [["2024-09-20T15:00:00Z", "1726822800"]]
        );
    }
}

both_stores! {
    fn a_provider_date_a_day_off_is_stored_under_the_business_date_with_a_warning(backend) {
        let server = FakeFixer::start(|_| Reply::ok(latest_body("2024-09-19")));
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        let (code, out, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out, "");
        assert!(
            err.contains("warning") && err.contains("2024-09-19") && err.contains(FRIDAY),
            "{err}"
        );
        assert_eq!(
            env.sql("SELECT date, source_date FROM days"),
            [[FRIDAY, "2024-09-19"]]
        );
        assert_eq!(env.rates_on(FRIDAY), shown());
    }
}

both_stores! {
    fn a_provider_date_more_than_a_week_off_is_rejected(backend) {
        let server = FakeFixer::start(|_| Reply::ok(latest_body("2024-09-12")));
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        let msg = env.fails(&["ingest", "--no-heal"], 65);
        assert!(msg.contains("2024-09-12") && msg.contains(FRIDAY), "{msg}");
        assert!(env.stored_dates().is_empty());

        // Exactly seven days is still accepted (with a warning).
        let server = FakeFixer::start(|_| Reply::ok(latest_body("2024-09-13")));
        let env = TestEnv::on(backend, &server.url, FRIDAY_9AM);
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        assert_eq!(env.stored_dates(), [FRIDAY]);
    }
}
