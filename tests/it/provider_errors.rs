//! Every error fixer.io or APILayer can answer with, every way the network
//! can fail, and every unusable answer: each gives one actionable line, its
//! documented exit code, and leaves the stored rates as they were.

use crate::common::*;

const FRIDAY: &str = "2024-09-20";
const FRIDAY_9AM: &str = "2024-09-20T09:00:00Z";

/// Runs `ingest` against a server that always answers `reply`, expecting
/// `code`; checks nothing was stored and returns the error line.
fn ingest_fails(reply: Reply, code: i32, extra: &[&str]) -> String {
    ingest_fails_after(reply, code, extra, 1)
}

/// As `ingest_fails`, for an answer worth retrying: `tries` requests a run.
fn ingest_fails_after(reply: Reply, code: i32, extra: &[&str], tries: usize) -> String {
    let server = FakeFixer::start(move |_| reply.clone());
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let mut args = vec!["ingest", "--no-heal"];
    args.extend_from_slice(extra);
    let msg = env.fails(&args, code);
    assert!(env.stored().is_empty(), "nothing may be stored: {msg}");
    assert_eq!(
        server.count(),
        3 * tries,
        "{tries} request(s) per run: {msg}"
    );
    msg
}

fn fixer(code: u32, kind: &str, exit: i32) -> String {
    ingest_fails(Reply::fixer_error(code, kind), exit, &[])
}

fn says(msg: &str, words: &[&str]) {
    for w in words {
        assert!(msg.contains(w), "{w:?} missing from: {msg}");
    }
}

#[test]
fn key_errors_say_how_to_set_the_key() {
    says(
        &fixer(101, "missing_access_key", 78),
        &["no API key", "FIXER_API_KEY"],
    );
    says(
        &fixer(101, "invalid_access_key", 78),
        &["rejected", "FIXER_API_KEY"],
    );
}

#[test]
fn account_and_function_errors_are_for_a_person() {
    says(&fixer(102, "inactive_user", 78), &["inactive"]);
    says(&fixer(103, "invalid_api_function", 78), &["FIXER_ENDPOINT"]);
    says(&fixer(104, "usage_limit_reached", 78), &["quota"]);
}

#[test]
fn plan_restrictions_name_what_is_restricted() {
    says(
        &fixer(105, "function_access_restricted", 78),
        &["plan", "endpoint needed", "upgrade"],
    );
    says(
        &fixer(105, "base_currency_access_restricted", 78),
        &["plan", "base currency", "EUR"],
    );
    let https = fixer(105, "https_access_restricted", 78);
    says(
        &https,
        &[
            "HTTPS",
            "FIXER_ENDPOINT=http://data.fixer.io/api",
            "unencrypted",
        ],
    );
    assert!(https.contains("key"), "says the key is exposed: {https}");
}

#[test]
fn no_rates_for_the_date_is_no_data() {
    let msg = ingest_fails(
        Reply::fixer_error(106, "no_rates_available"),
        66,
        &["--date", "2024-09-18"],
    );
    says(&msg, &["no rates", "2024-09-18"]);
}

#[test]
fn request_errors_name_the_code_and_what_to_check() {
    for (code, kind) in [
        (201, "invalid_base_currency"),
        (202, "invalid_currency_codes"),
        (301, "invalid_date"),
        (302, "invalid_date"),
    ] {
        let msg = ingest_fails(
            Reply::fixer_error(code, kind),
            65,
            &["--date", "2024-09-18"],
        );
        says(&msg, &[&code.to_string(), kind, "FIXER_ENDPOINT"]);
    }
    // On `latest` a date error means the path below the endpoint is wrong.
    says(&fixer(302, "invalid_date", 78), &["FIXER_ENDPOINT"]);
}

#[test]
fn a_fixer_error_without_info_or_success_is_understood() {
    let msg = ingest_fails(
        Reply::ok(r#"{"error":{"code":104,"type":"usage_limit_reached"}}"#),
        78,
        &[],
    );
    says(&msg, &["quota"]);
}

#[test]
fn fixer_errors_behind_http_400_are_read_from_the_body() {
    let reply = Reply::json(
        400,
        r#"{"success":false,"error":{"code":104,"type":"usage_limit_reached","info":"Your monthly usage limit has been reached."}}"#,
    );
    says(&ingest_fails(reply, 78, &[]), &["quota"]);
}

#[test]
fn the_newer_apilayer_envelope_is_understood() {
    let reply = Reply::json(
        401,
        r#"{"error":{"code":"invalid_access_key","message":"You have not supplied a valid API Access Key."}}"#,
    );
    says(
        &ingest_fails(reply, 78, &["--auth", "header"]),
        &["rejected", "FIXER_API_KEY"],
    );
    let reply = Reply::ok(r#"{"error":{"code":"usage_limit_reached","message":"quota spent"}}"#);
    says(&ingest_fails(reply, 78, &[]), &["quota"]);
}

#[test]
fn apilayer_gateway_statuses() {
    let header = &["--auth", "header"];
    let r = |status, msg: &str| Reply::json(status, format!(r#"{{"message":"{msg}"}}"#));
    says(
        &ingest_fails(r(401, "No API key found in request"), 78, header),
        &["401", "FIXER_API_KEY"],
    );
    says(
        &ingest_fails(r(401, "Invalid authentication credentials"), 78, header),
        &["401", "FIXER_API_KEY"],
    );
    says(
        &ingest_fails(r(403, "You cannot consume this service"), 78, header),
        &["403", "subscribed"],
    );
    says(
        &ingest_fails(r(404, "no Route matched with those values"), 78, header),
        &["404", "FIXER_ENDPOINT"],
    );
    let spent = r(429, "API rate limit exceeded").with_header("x-ratelimit-remaining-month", "0");
    says(&ingest_fails(spent, 78, header), &["429", "quota"]);
    let busy = r(429, "API rate limit exceeded").with_header("x-ratelimit-remaining-month", "57");
    says(
        &ingest_fails_after(busy, 75, header, 3),
        &["429", "try again later"],
    );
    says(
        &ingest_fails_after(r(429, "API rate limit exceeded"), 75, header, 3),
        &["429", "try again later"],
    );
}

#[test]
fn server_errors_are_temporary() {
    for status in [500, 502, 503, 504] {
        let html = Reply {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><body>Bad Gateway</body></html>".to_vec(),
        };
        says(
            &ingest_fails_after(html, 75, &[], 3),
            &[&status.to_string(), "try again later"],
        );
    }
    says(
        &ingest_fails_after(Reply::json(500, r#"{"message":"Internal"}"#), 75, &[], 3),
        &["500"],
    );
}

/// Answers that are not fixer's valid JSON.
fn unusable(body: &str) -> String {
    ingest_fails(Reply::ok(body.to_string()), 65, &[])
}

#[test]
fn unusable_answers_are_rejected_whole() {
    says(
        &ingest_fails(
            Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<!DOCTYPE html><html><body>Maintenance</body></html>".to_vec(),
            },
            65,
            &[],
        ),
        &["HTML", "nothing was stored"],
    );
    let whole = latest_body(FRIDAY);
    says(&unusable(&whole[..whole.len() - 20]), &["truncated"]);
    says(&unusable(""), &["empty"]);
    says(&unusable(&day_body(FRIDAY, "{}")), &["no rates"]);
    for (rates, word) in [
        (r#"{"USD":1.2,"GBP":-0.84}"#, "GBP"),
        (r#"{"USD":1.2,"GBP":0}"#, "GBP"),
        (r#"{"USD":1.2,"GBP":0.0}"#, "GBP"),
        (r#"{"USD":"1.2","GBP":0.84}"#, "USD"),
        (r#"{"USD":1.2,"GBP":null}"#, "GBP"),
        (r#"{"USD":1.2,"usd":1.3}"#, "usd"),
        (r#"{"USD":1.2,"EURO":1}"#, "EURO"),
        (r#"{"USD":1.2,"USD":1.3}"#, "USD"),
    ] {
        says(
            &unusable(&day_body(FRIDAY, rates)),
            &[word, "nothing was stored"],
        );
    }
    let wrong_base =
        r#"{"success":true,"timestamp":1,"base":"USD","date":"2024-09-20","rates":{"EUR":0.8}}"#;
    says(&unusable(wrong_base), &["USD", "EUR"]);
    says(
        &unusable(r#"{"success":true,"base":"EUR","rates":{"USD":1.2}}"#),
        &["date"],
    );
    says(&unusable(r#"[1,2,3]"#), &["JSON"]);
}

#[test]
fn a_rejected_answer_leaves_a_stored_day_and_the_rest_as_they_were() {
    let good = FakeFixer::free_plan(FRIDAY);
    let mut env = TestEnv::new(&good.url, FRIDAY_9AM);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let before = env.stored();
    assert!(!before.is_empty());

    let bad = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(day_body(FRIDAY, r#"{"USD":1.3,"GBP":-1}"#)),
        _ => Reply::ok(day_body("2024-09-19", r#"{"USD":1.3,"GBP":"x"}"#)),
    });
    env.endpoint = bad.url.clone();
    env.fails(&["ingest", "--no-heal", "--force"], 65);
    env.fails(&["ingest", "--no-heal", "--date", "2024-09-19"], 65);
    let down = FakeFixer::start(|_| Reply::json(503, "busy"));
    env.endpoint = down.url.clone();
    env.fails(&["ingest", "--no-heal", "--force"], 75);
    assert_eq!(env.stored(), before, "the stored day is untouched");
    assert_eq!(bad.count(), 6);
}

#[test]
fn an_endpoint_that_is_not_a_plain_base_url_is_refused_before_anything() {
    for bad in [
        "ftp://data.fixer.io/api",
        "data.fixer.io/api",
        "http://user:pw@127.0.0.1/api",
        "http://127.0.0.1/api?x=1",
    ] {
        let env = TestEnv::new(bad, FRIDAY_9AM);
        let msg = env.fails(&["ingest", "--no-heal"], 78);
        assert!(msg.contains("FIXER_ENDPOINT"), "{msg}");
        assert!(!env.db.exists());
    }
}

#[test]
fn an_answer_larger_than_the_cap_is_refused_while_reading() {
    let mut body = latest_body(FRIDAY).into_bytes();
    body.splice(1..1, std::iter::repeat_n(b' ', 9 * 1024 * 1024));
    let reply = Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body,
    };
    let msg = ingest_fails(reply, 65, &[]);
    says(&msg, &["larger than", "nothing was stored"]);
}

#[test]
fn a_provider_message_quoting_the_key_is_redacted() {
    let reply = Reply::ok(format!(
        r#"{{"success":false,"error":{{"code":101,"type":"invalid_access_key","info":"The key {FAKE_KEY} is not valid."}}}}"#
    ));
    let msg = ingest_fails(reply, 78, &[]);
    says(&msg, &["[REDACTED]", "FIXER_API_KEY"]);
}

#[test]
fn an_answer_whose_base_is_not_worth_one_is_unusable() {
    says(
        &unusable(&day_body(FRIDAY, r#"{"EUR":2,"USD":1.2}"#)),
        &["EUR", "2", "nothing was stored"],
    );
    // The same number written otherwise is fine.
    let server = FakeFixer::start(|_| Reply::ok(day_body(FRIDAY, r#"{"EUR":1.000,"USD":1.2}"#)));
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    let paid = FakeFixer::start(|s| match s.function() {
        "timeseries" => Reply::ok(
            r#"{"success":true,"timeseries":true,"start_date":"2024-09-16","end_date":"2024-09-20","base":"EUR","rates":{"2024-09-16":{"EUR":1,"USD":1.2},"2024-09-17":{"EUR":0.5,"USD":1.2}}}"#,
        ),
        _ => Reply::fixer_error(302, "invalid_date"),
    });
    let env = TestEnv::new(&paid.url, FRIDAY_9AM);
    let msg = env.fails(
        &["backfill", "--from", "2024-09-16", "--to", "2024-09-17"],
        65,
    );
    says(&msg, &["EUR", "2024-09-17"]);
    assert!(env.stored_dates().is_empty(), "{msg}");
}

#[test]
fn rates_beyond_exact_decimal_arithmetic_are_unusable() {
    for rate in [
        "987654321987654321987654321987",
        "1.98765432198765432198765432198",
        "1e-30",
        "79228162514264337593543950336",
    ] {
        says(
            &unusable(&day_body(FRIDAY, &format!(r#"{{"EUR":1,"USD":{rate}}}"#))),
            &["USD", "nothing was stored"],
        );
    }
}

#[test]
fn the_largest_exact_rates_convert_show_and_chart_without_failing() {
    // 28 significant digits: exact, and what `show` prints is what was sent.
    let big = "7922816251426433759354395033";
    let small = "0.0000000000000000000000000001";
    let server = FakeFixer::start(move |s| {
        let date = if s.function() == "latest" {
            FRIDAY
        } else {
            s.function()
        };
        let rates = if date == FRIDAY {
            format!(r#"{{"EUR":1,"USD":{big},"GBP":{small}}}"#)
        } else {
            r#"{"EUR":1,"USD":1.2,"GBP":0.8}"#.to_string()
        };
        Reply::ok(day_body(date, &rates))
    });
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = env.run(&["show", "--symbols", "USD,GBP"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(big) && out.contains(small), "{out}");
    for args in [
        &["show", "--base", "GBP"][..],
        &["show", "--base", "USD"],
        &["convert", "1", "USD", "GBP"],
        &["convert", "1", "GBP", "USD"],
        &["convert", "999999999999999", "EUR", "USD"],
        &["chart", "USD", "--from", "2024-09-19"],
        &["chart", "GBP", "--from", "2024-09-19", "--base", "USD"],
    ] {
        let (code, _, err) = env.run(args);
        assert!(
            code == 0 || (code != 101 && code != 70 && err.lines().count() == 1),
            "{args:?}: {code} {err}"
        );
        assert_ne!(code, 74, "{args:?}: nothing is damaged: {err}");
    }
}

#[test]
fn no_rates_for_an_ingested_date_is_remembered_as_a_backfill_remembers_it() {
    let server = FakeFixer::start(|_| Reply::fixer_error(106, "no_rates_available"));
    let env = TestEnv::new(&server.url, "2024-09-20T09:00:00Z");
    env.fails(&["ingest", "--date", "2024-09-18"], 66);
    assert_eq!(
        env.sql("SELECT date FROM unavailable_days"),
        [["2024-09-18"]]
    );
    // So the morning's healing does not spend a request on it again.
    let (_, out, _) = env.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["unavailable_dates"], serde_json::json!(["2024-09-18"]));
}

#[test]
fn a_huge_redirect_location_is_cut_in_the_error_and_the_record() {
    let location = format!("http://elsewhere.example/{}", "a".repeat(20_000));
    let reply = Reply::json(302, "").with_header("Location", &location);
    let server = FakeFixer::start(move |_| reply.clone());
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_ne!(code, 0);
    assert!(err.len() < 2000, "stderr is {} bytes", err.len());
    for row in env.sql("SELECT error FROM runs UNION ALL SELECT outcome FROM requests") {
        assert!(row[0].len() < 2000, "{} bytes stored", row[0].len());
    }
}
