use crate::common::*;
use chrono::{Datelike, NaiveDate, Weekday};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn is_weekend(s: &str) -> bool {
    matches!(d(s).weekday(), Weekday::Sat | Weekday::Sun)
}

fn functions(server: &FakeFixer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|s| s.function().to_string())
        .collect()
}

fn recorded_requests(env: &TestEnv) -> usize {
    env.sql("SELECT count(*) FROM requests")[0][0]
        .parse()
        .unwrap()
}

both_stores! {
    fn free_plan_asks_once_per_missing_weekday_and_remembers_the_refusal(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["backfill", "-v"]);
        assert_eq!(code, 0, "{err}");
        let month = weekdays("2024-08-21", "2024-09-20");
        assert_eq!(month.len(), 23);
        assert_eq!(env.stored_dates(), month);
        assert!(
            err.contains("23 weekdays missing from 2024-08-21 to 2024-09-20; 1 request planned"),
            "{err}"
        );
        let mut expected = vec!["timeseries".to_string()];
        expected.extend(month.iter().cloned());
        assert_eq!(functions(&server), expected);
        assert_eq!(recorded_requests(&env), 24);

        // A rerun costs nothing.
        let (code, _, err) = env.run(&["backfill"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 24);

        // A wider window later asks only for the new days, and never timeseries again.
        let (code, _, err) = env.run(&["backfill", "--days", "45"]);
        assert_eq!(code, 0, "{err}");
        let older = weekdays("2024-08-07", "2024-08-20");
        assert_eq!(functions(&server)[24..], older[..]);
        assert_eq!(recorded_requests(&env), 24 + older.len());
    }
}

both_stores! {
    fn the_refused_timeseries_is_tried_again_after_a_month_or_when_asked(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        assert_eq!(env.run(&["backfill", "--days", "7"]).0, 0);
        assert_eq!(functions(&server)[0], "timeseries");
        let n = server.count();

        let (code, _, err) = env.run(&["backfill", "--days", "14", "--retry-timeseries"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(functions(&server)[n], "timeseries");
        let n = server.count();

        let later = TestEnv {
            now: "2024-10-25T09:00:00Z".into(),
            ..env
        };
        assert_eq!(later.run(&["backfill", "--days", "14"]).0, 0);
        assert_eq!(functions(&server)[n], "timeseries");
    }
}

both_stores! {
    fn a_timeseries_plan_fetches_a_year_in_one_request_and_stores_no_weekend(backend) {
        let server = paid_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["backfill", "--days", "365"]);
        assert_eq!(code, 0, "{err}");
        let reqs = server.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].function(), "timeseries");
        assert_eq!(reqs[0].query["start_date"], "2023-09-22");
        assert_eq!(reqs[0].query["end_date"], "2024-09-20");
        assert_eq!(env.stored_dates(), weekdays("2023-09-22", "2024-09-20"));
        assert!(env.stored_dates().iter().all(|x| !is_weekend(x)));
        assert_eq!(
            env.sql("SELECT DISTINCT endpoint FROM days"),
            [["timeseries"]]
        );

        assert_eq!(env.run(&["backfill", "--days", "365"]).0, 0);
        assert_eq!(server.count(), 1, "a rerun must make no request");
    }
}

both_stores! {
    fn a_window_longer_than_365_days_takes_two_timeseries_requests(backend) {
        let server = paid_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["backfill", "--from", "2023-01-02", "--to", "2024-06-28"]);
        assert_eq!(code, 0, "{err}");
        let reqs = server.requests();
        assert_eq!(functions(&server), ["timeseries", "timeseries"]);
        for r in &reqs {
            let span = d(&r.query["end_date"]) - d(&r.query["start_date"]);
            assert!(span.num_days() < 365, "{:?}", r.query);
        }
        assert_eq!(env.stored_dates(), weekdays("2023-01-02", "2024-06-28"));
    }
}

both_stores! {
    fn an_interrupted_backfill_resumes_with_what_is_missing(backend) {
        let broken = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&broken);
        let server = FakeFixer::start(move |s| match s.function() {
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            // The fifth weekday fails with a server error until it is mended.
            "2024-09-13" if flag.load(Ordering::SeqCst) => {
                Reply::json(503, "<html>Service Unavailable</html>")
            }
            date => Reply::ok(historical_body(date)),
        });
        // Should failed requests be retried, retry without waiting long.
        let env = TestEnv::on(backend, &server.url, NOW).env("FXRATES_RETRY_BASE_MS", "1");
        let (code, _, err) = env.run(&["backfill", "--days", "14"]);
        assert_eq!(code, 75, "{err}");
        assert!(
            err.contains("backfill stopped after storing 4 of 10 missing weekdays"),
            "{err}"
        );
        let all = weekdays("2024-09-07", "2024-09-20");
        assert_eq!(env.stored_dates(), all[..4]);
        let asked = functions(&server);
        assert_eq!(
            asked[..5],
            [
                "timeseries",
                "2024-09-09",
                "2024-09-10",
                "2024-09-11",
                "2024-09-12"
            ]
        );
        assert!(
            asked[5..].iter().all(|f| f == "2024-09-13"),
            "nothing is asked after the failure: {asked:?}"
        );
        let n = asked.len();

        broken.store(false, Ordering::SeqCst);
        let (code, _, err) = env.run(&["backfill", "--days", "14"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(env.stored_dates(), all);
        assert_eq!(functions(&server)[n..], all[4..]);
        assert_eq!(recorded_requests(&env), server.count());
    }
}

both_stores! {
    fn usage_limit_reached_stops_at_once_and_keeps_what_was_stored(backend) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let server = FakeFixer::start(move |s| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            match s.function() {
                "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
                _ if n >= 4 => Reply::fixer_error(104, "usage_limit_reached"),
                date => Reply::ok(historical_body(date)),
            }
        });
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, out, err) = env.run(&["backfill"]);
        assert_eq!(code, 78, "{err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("quota is used up"), "{err}");
        assert_eq!(server.count(), 5, "no request after the 104");
        assert_eq!(env.stored_dates(), weekdays("2024-08-21", "2024-08-23"));
        assert_eq!(recorded_requests(&env), 5);
    }
}

both_stores! {
    fn a_plan_over_the_budget_is_refused_before_any_request(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW).env("FIXER_MONTHLY_QUOTA", "10");
        // Spend 6 requests: one refused timeseries and 5 days.
        assert_eq!(env.run(&["backfill", "--days", "7"]).0, 0);
        assert_eq!(server.count(), 6);

        let (code, _, err) = env.run(&["backfill", "--days", "31"]);
        assert_eq!(code, 78, "{err}");
        assert!(
            err.contains("backfill needs 18 requests, but only 4 of the monthly quota of 10 remain"),
            "{err}"
        );
        assert!(err.contains("--ignore-quota"), "{err}");
        assert_eq!(server.count(), 6, "refused before any request");

        let (code, _, err) = env.run(&["backfill", "--days", "31", "--ignore-quota"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.count(), 6 + 18);
        assert_eq!(env.stored_dates().len(), 23);
    }
}

both_stores! {
    fn last_months_requests_do_not_count(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, "2024-08-30T09:00:00Z").env("FIXER_MONTHLY_QUOTA", "10");
        assert_eq!(env.run(&["backfill", "--days", "7"]).0, 0);
        let spent = server.count();
        assert!(spent >= 6);
        let env = TestEnv {
            now: NOW.into(),
            ..env
        };
        let (code, _, err) = env.run(&["backfill", "--days", "14"]);
        assert_eq!(code, 0, "{err}");
    }
}

both_stores! {
    fn bad_windows_are_usage_errors_before_any_request(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        for (args, says) in [
            (
                &["--from", "2024-09-10", "--to", "2024-09-01"][..],
                "after --to",
            ),
            (
                &["--from", "2024-09-10", "--to", "2024-09-23"][..],
                "in the future",
            ),
            (&["--from", "2024-09-23"][..], "in the future"),
            (
                &["--from", "1998-12-01", "--to", "1999-01-10"][..],
                "1999-01-01",
            ),
            (&["--days", "10000"][..], "1999-01-01"),
            (&["--from", "2024-02-30"][..], "not a date"),
            (&["--days", "0"][..], "0"),
            (
                &["--days", "5", "--from", "2024-09-01"][..],
                "cannot be used",
            ),
            (&["--to", "2024-09-01"][..], "required"),
        ] {
            let mut all = vec!["backfill"];
            all.extend_from_slice(args);
            let (code, out, err) = env.run(&all);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(out.is_empty());
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("fxrates: error: "), "{err}");
            assert!(err.contains(says), "{args:?}: {err}");
        }
        assert_eq!(server.count(), 0);
        assert!(env.stored_dates().is_empty());
    }
}

both_stores! {
    fn a_day_without_rates_is_recorded_and_not_asked_again(backend) {
        let server = FakeFixer::start(|s| match s.function() {
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            "2024-09-18" => Reply::fixer_error(106, "no_rates_available"),
            date => Reply::ok(historical_body(date)),
        });
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["backfill", "--days", "7"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("no rates for 2024-09-18"), "{err}");
        assert_eq!(
            env.sql("SELECT date FROM unavailable_days"),
            [["2024-09-18"]]
        );
        let n = server.count();
        assert_eq!(env.run(&["backfill", "--days", "7"]).0, 0);
        assert_eq!(server.count(), n);
    }
}

#[test]
fn a_partial_timeseries_answer_marks_only_the_days_it_skips_between_others() {
    // The answer skips Wednesday the 11th (a holiday) and stops at the 18th.
    let server = FakeFixer::start(|s| match s.function() {
        "timeseries" => {
            let (start, end) = (&s.query["start_date"], &s.query["end_date"]);
            let dates: Vec<String> = weekdays(start, end)
                .into_iter()
                .filter(|d| d.as_str() != "2024-09-11" && d.as_str() <= "2024-09-18")
                .collect();
            Reply::ok(timeseries_body(start, end, &dates))
        }
        date => Reply::ok(historical_body(date)),
    });
    let env = TestEnv::new(&server.url, NOW);
    let (code, _, err) = env.run(&["backfill", "--from", "2024-08-21"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql("SELECT date FROM unavailable_days"),
        [["2024-09-11"]]
    );
    assert!(!env.stored_dates().contains(&"2024-09-19".to_string()));
    let (_, json, _) = env.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["unavailable_dates"], serde_json::json!(["2024-09-11"]));
    assert_eq!(json["missing_dates"], serde_json::json!(["2024-09-19"]));
}

#[test]
fn a_timeseries_answer_with_no_day_at_all_is_unusable() {
    let server = FakeFixer::start(|s| match s.function() {
        "timeseries" => Reply::ok(timeseries_body(
            &s.query["start_date"],
            &s.query["end_date"],
            &[],
        )),
        date => Reply::ok(historical_body(date)),
    });
    let env = TestEnv::new(&server.url, NOW);
    let msg = env.fails(&["backfill", "--from", "2024-09-02"], 65);
    assert!(msg.contains("no rates for any day"), "{msg}");
    assert!(env.sql("SELECT date FROM unavailable_days").is_empty());
    assert!(env.stored_dates().is_empty());
}

/// A day whose answer is unusable (a zero rate, or dated a month away) is
/// skipped so that it cannot starve the days after it; the run still ends
/// with 65 and says which days to expect again tomorrow. Two in a row end
/// the run.
#[test]
fn an_unusable_day_is_skipped_and_the_others_are_stored() {
    let server = FakeFixer::start(|s| match s.function() {
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        "2024-09-16" => Reply::ok(historical_body("2024-09-16").replace("0.83578", "0")),
        "2024-09-18" => Reply::ok(historical_body("2024-08-01")),
        date => Reply::ok(historical_body(date)),
    });
    let env = TestEnv::new(&server.url, NOW);
    let (code, _, err) = env.run(&["backfill", "--from", "2024-09-16", "--to", "2024-09-20"]);
    assert_eq!(code, 65, "{err}");
    assert!(err.contains("2024-09-16 skipped: "), "{err}");
    let err = err.lines().last().unwrap();
    assert!(
        err.starts_with(
            "fxrates: error: backfill stopped after storing 3 of 5 missing weekdays (they are kept): fixer.io \
             sent an unusable answer for 2024-09-16, 2024-09-18 ("
        ),
        "{err}"
    );
    assert!(
        err.ends_with("the other days were stored, and they are asked for again tomorrow"),
        "{err}"
    );
    assert_eq!(
        env.stored_dates(),
        ["2024-09-17", "2024-09-19", "2024-09-20"]
    );

    let twice = FakeFixer::start(|s| match s.function() {
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        "2024-09-16" | "2024-09-17" => Reply::ok(historical_body("2024-08-01")),
        date => Reply::ok(historical_body(date)),
    });
    let env = TestEnv::new(&twice.url, NOW);
    let (code, _, err) = env.run(&["backfill", "--from", "2024-09-16", "--to", "2024-09-20"]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("fixer.io answered with rates dated 2024-08-01 when 2024-09-17 was asked for"),
        "{err}"
    );
    assert!(env.stored_dates().is_empty());
}
