//! Fault injection on the network: what is retried, what is not, and that a
//! misbehaving provider always ends the run with the right exit code, the
//! right message, nothing half stored, and every request recorded.

use crate::common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const NOW: &str = "2024-09-20T09:00:00Z";
const TODAY: &str = "2024-09-20";

/// A test home whose retries wait milliseconds, not seconds.
fn env(url: &str) -> TestEnv {
    TestEnv::new(url, NOW).env("FXRATES_RETRY_BASE_MS", "10")
}

/// A server that answers the n-th request (from 0) with `replies[n]`, and
/// the last reply to any further request.
fn scripted(replies: Vec<Reply>) -> FakeFixer {
    let n = Arc::new(AtomicUsize::new(0));
    FakeFixer::start(move |_| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        replies[i.min(replies.len() - 1)].clone()
    })
}

/// The outcome of every request recorded in the database, in order.
fn recorded(env: &TestEnv) -> Vec<String> {
    env.sql("SELECT outcome FROM requests WHERE endpoint <> 'symbols' ORDER BY id")
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

fn html(status: u16) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: b"<html><body>Service Unavailable</body></html>".to_vec(),
    }
}

#[test]
fn a_503_is_retried_and_the_second_try_is_stored() {
    let server = scripted(vec![html(503), Reply::ok(latest_body(TODAY))]);
    let env = env(&server.url);
    let (code, out, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(server.count(), 2);
    assert_eq!(env.stored_dates(), [TODAY]);
    let outcomes = recorded(&env);
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes[0].contains("HTTP 503"), "{outcomes:?}");
    assert_eq!(outcomes[1], "ok");
}

#[test]
fn every_retryable_status_is_retried_until_the_tries_run_out() {
    for status in [408, 429, 500, 502, 503, 504] {
        let server = scripted(vec![html(status)]);
        let env = env(&server.url);
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 75, "HTTP {status}: {err}");
        assert!(err.starts_with("fxrates: error: 3 tries failed: "), "{err}");
        assert!(err.contains(&format!("HTTP {status}")), "{err}");
        assert!(err.contains("try again later"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(server.count(), 3, "HTTP {status}");
        assert_eq!(recorded(&env).len(), 3, "HTTP {status}");
        assert!(env.stored_dates().is_empty());
    }
}

#[test]
fn retry_after_in_seconds_is_honoured() {
    let server = scripted(vec![
        Reply::json(429, r#"{"message":"Too many requests"}"#).with_header("Retry-After", "1"),
        Reply::ok(latest_body(TODAY)),
    ]);
    let env = env(&server.url);
    let (code, _, err) = env.run(&["ingest", "--no-heal", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("try 1 of 3 failed: ") && err.contains("trying again in 1.0 s"),
        "{err}"
    );
    assert_eq!(server.count(), 2);
    assert_eq!(env.stored_dates(), [TODAY]);
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    // One second after the run's fixed clock.
    let server = scripted(vec![
        html(503).with_header("Retry-After", "Fri, 20 Sep 2024 09:00:01 GMT"),
        Reply::ok(latest_body(TODAY)),
    ]);
    let env = env(&server.url);
    let (code, _, err) = env.run(&["ingest", "--no-heal", "-v"]);
    assert_eq!(code, 0, "{err}");
    // Not the 10 ms backoff: the wait comes from the date.
    assert!(
        err.contains("trying again in 0.") || err.contains("trying again in 1.0"),
        "{err}"
    );
    assert!(!err.contains("trying again in 0.0"), "{err}");
    assert_eq!(server.count(), 2);
}

#[test]
fn a_retry_after_beyond_the_cap_ends_the_run_at_once() {
    for value in ["3600", "Sat, 21 Sep 2024 09:00:00 GMT"] {
        let server = scripted(vec![
            Reply::json(429, r#"{"message":"Rate limit exceeded"}"#)
                .with_header("Retry-After", value),
            Reply::ok(latest_body(TODAY)),
        ]);
        let env = env(&server.url);
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 75, "{err}");
        assert!(err.contains("(Retry-After), longer than the 60 s"), "{err}");
        assert!(err.contains("HTTP 429"), "{err}");
        assert_eq!(server.count(), 1, "Retry-After: {value}");
        assert_eq!(recorded(&env).len(), 1);
        assert!(env.stored_dates().is_empty());
    }
}

#[test]
fn a_retry_after_beyond_any_number_ends_the_run_after_one_request() {
    // More digits than a u64 holds: not "no Retry-After", but "later than
    // any run could wait".
    for status in [429, 503] {
        let server = scripted(vec![
            Reply::json(status, r#"{"message":"come back much later"}"#)
                .with_header("Retry-After", "99999999999999999999999999"),
            Reply::ok(latest_body(TODAY)),
        ]);
        let env = env(&server.url);
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 75, "HTTP {status}: {err}");
        assert!(err.contains("longer than any run"), "{err}");
        assert!(err.contains(&format!("HTTP {status}")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(server.count(), 1, "HTTP {status}");
        assert_eq!(recorded(&env).len(), 1);
        assert!(env.stored_dates().is_empty());
    }
}

#[test]
fn answers_that_cannot_improve_are_never_retried() {
    let cases: Vec<(Reply, i32, &str)> = vec![
        (
            Reply::fixer_error(104, "usage_limit_reached"),
            78,
            "quota is used up",
        ),
        (
            Reply::fixer_error(101, "invalid_access_key"),
            78,
            "rejected the API key",
        ),
        (
            Reply::json(
                500,
                r#"{"success":false,"error":{"code":105,"type":"function_access_restricted"}}"#,
            ),
            78,
            "does not include",
        ),
        (
            Reply::json(401, r#"{"message":"Invalid authentication credentials"}"#),
            78,
            "HTTP 401",
        ),
        (Reply::json(404, "{}"), 78, "HTTP 404"),
        (Reply::json(400, "not json"), 65, "HTTP 400"),
        (
            Reply::ok(r#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":"#),
            65,
            "truncated",
        ),
        (
            Reply::json(429, r#"{"message":"quota"}"#)
                .with_header("x-ratelimit-remaining-month", "0"),
            78,
            "monthly request quota is used up",
        ),
    ];
    for (reply, exit, says) in cases {
        let server = scripted(vec![reply, Reply::ok(latest_body(TODAY))]);
        let env = env(&server.url);
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, exit, "{err}");
        assert!(err.contains(says), "{says:?} not in {err}");
        assert_eq!(server.count(), 1, "retried: {err}");
        assert_eq!(recorded(&env).len(), 1);
        assert!(env.stored_dates().is_empty());
    }
}

#[test]
fn a_refused_connection_is_retried_then_reported_as_temporary() {
    let env = env(&refused_endpoint());
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 75, "{err}");
    assert!(err.starts_with("fxrates: error: 3 tries failed: "), "{err}");
    assert!(
        err.contains("127.0.0.1") && err.contains("try again later"),
        "{err}"
    );
    // Nobody answered, but each try is recorded all the same.
    assert_eq!(recorded(&env).len(), 3);
    assert!(env.stored_dates().is_empty());
    // The same line with -vv and RUST_LOG=trace.
    let line = env.fails(&["ingest", "--no-heal"], 75);
    assert_eq!(format!("fxrates: error: {line}\n"), err);
    assert_eq!(recorded(&env).len(), 12);
    assert!(env.stored_dates().is_empty());
}

#[test]
fn a_server_that_hangs_up_is_retried() {
    let server = FakeFixer::misbehaving(Behaviour::Hangup);
    let env = env(&server.url);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("3 tries failed"), "{err}");
    assert_eq!(server.connections(), 3);
    assert_eq!(recorded(&env).len(), 3);
}

#[test]
fn a_server_that_never_answers_ends_within_the_timeout() {
    let server = FakeFixer::misbehaving(Behaviour::Silent);
    let env = env(&server.url);
    let (code, _, err) = env.run(&[
        "ingest",
        "--no-heal",
        "--timeout",
        "1",
        "--connect-timeout",
        "1",
    ]);
    assert_eq!(code, 75, "{err}");
    assert_eq!(
        err,
        format!(
            "fxrates: error: 3 tries failed: 127.0.0.1 did not answer for the latest rates within the time limit \
             (1 s to connect, 1 s in all); try again later\n"
        )
    );
    assert_eq!(server.connections(), 3);
    assert_eq!(recorded(&env).len(), 3);
    assert!(env.stored_dates().is_empty());
}

#[test]
fn the_timeouts_are_read_from_the_environment_too() {
    // A listener that is never accepted from: the kernel completes the
    // connection, nobody reads the request.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", silent.local_addr().unwrap());
    let env = env(&url)
        .env("FXRATES_TIMEOUT", "1")
        .env("FXRATES_CONNECT_TIMEOUT", "2");
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 75, "{err}");
    assert!(
        err.contains("did not answer for the latest rates within the time limit (2 s to connect, 1 s in all); try again later"),
        "{err}"
    );
    assert_eq!(recorded(&env).len(), 3);
    // The same line with -vv and RUST_LOG=trace (shorter waits).
    let env = env.env("FXRATES_TIMEOUT_MS", "100");
    let line = env.fails(&["ingest", "--no-heal"], 75);
    assert!(
        line.contains("did not answer") && line.contains("try again later"),
        "{line}"
    );
    assert!(env.stored().is_empty());
}

#[test]
fn a_trickling_server_ends_within_the_timeout() {
    let server = FakeFixer::misbehaving(Behaviour::Trickle);
    let env = env(&server.url).env("FXRATES_TIMEOUT_MS", "300");
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--connect-timeout", "1"]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("did not answer"), "{err}");
    assert_eq!(server.connections(), 3);
    assert!(env.stored_dates().is_empty());
}

#[test]
fn the_run_budget_stops_retries_against_a_slow_provider() {
    let server = FakeFixer::misbehaving(Behaviour::Silent);
    let env = env(&server.url);
    let (code, _, err) = env.run(&[
        "ingest",
        "--no-heal",
        "--timeout",
        "30",
        "--max-run-time",
        "1",
    ]);
    assert_eq!(code, 75, "{err}");
    assert!(
        err.contains("the run's time budget of 1 s allows no further try"),
        "{err}"
    );
    assert!(
        err.contains("what was left of the run's time budget"),
        "{err}"
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(recorded(&env).len(), 1);
}

#[test]
fn an_endless_body_is_cut_at_the_cap_and_not_retried() {
    let server = FakeFixer::misbehaving(Behaviour::Endless);
    let env = env(&server.url);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("is larger than 8388608 bytes; nothing was stored"),
        "{err}"
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(recorded(&env).len(), 1);
    assert!(env.stored_dates().is_empty());
}

#[test]
fn a_backfill_stops_when_the_run_budget_is_spent_and_the_next_run_goes_on() {
    let server = FakeFixer::start(|s| {
        std::thread::sleep(std::time::Duration::from_millis(300));
        match s.function() {
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            date => Reply::ok(historical_body(date)),
        }
    });
    let env = env(&server.url);
    let (code, _, err) = env.run(&["backfill", "--days", "14", "--max-run-time", "1"]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("time budget of 1 s"), "{err}");
    assert!(err.contains("backfill stopped after storing"), "{err}");
    let first = env.stored_dates();
    assert!(first.len() < 10, "{first:?}");
    assert_eq!(recorded(&env).len(), server.count());

    let (code, _, err) = env.run(&["backfill", "--days", "14"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates().len(), 10);
}

/// A 64 KiB header line.
fn huge_header() -> &'static [u8] {
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: ".to_vec();
    reply.extend(std::iter::repeat_n(b'a', 64 * 1024));
    reply.extend(b"\r\nContent-Length: 2\r\n\r\n{}");
    Box::leak(reply.into_boxed_slice())
}

#[test]
fn answers_that_are_not_http_are_unusable_and_say_what_was_wrong() {
    let body = br#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":1.1}}"#;
    let chunked: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            String::from_utf8_lossy(body)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let cases: Vec<(&str, &'static [u8], &str)> = vec![
        (
            "a bad chunk size",
            chunked,
            "a chunked body with a bad chunk size",
        ),
        (
            "not HTTP",
            b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
            "a reply that is not HTTP",
        ),
        (
            "two Content-Lengths",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{}",
            "conflicting Content-Length headers",
        ),
        ("a 64 KiB header", huge_header(), "a header section of"),
    ];
    for (name, reply, says) in cases {
        let server = FakeFixer::misbehaving(Behaviour::Raw(reply));
        let env = env(&server.url);
        let err = env.fails(&["ingest", "--no-heal"], 65);
        // The server was reached: not "cannot reach", and not retried.
        assert!(
            err.starts_with("127.0.0.1 answered the request for the latest rates with "),
            "{name}: {err}"
        );
        assert!(err.contains(says), "{name}: {err}");
        assert!(
            err.contains("not valid HTTP; nothing was stored"),
            "{name}: {err}"
        );
        assert_eq!(server.count(), 3, "{name}: one request per run of `fails`");
        assert_eq!(recorded(&env).len(), 3, "{name}");
        assert!(env.stored_dates().is_empty(), "{name}");
    }
}
