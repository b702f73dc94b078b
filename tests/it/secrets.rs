//! The API key never leaves in anything but the request to the endpoint:
//! not through a redirect, not in any output at any log level, not in the
//! database, not in a panic. A key file must be private and not empty.

use crate::common::*;
use std::fs;
use std::process::Command;

const NOW: &str = "2024-09-20T09:00:00Z";
const TODAY: &str = "2024-09-20";

/// A key with characters that are percent-encoded in a query string, so that
/// both of its forms can be looked for.
const ODD_KEY: &str = "FAKE/KEY+0123456789abcdef-SECRET";

fn redirecting(status: u16, to: &str) -> FakeFixer {
    let to = to.to_string();
    FakeFixer::start(move |s| {
        Reply::json(status, "{}").with_header(
            "Location",
            &format!(
                "{to}/{}?{}",
                s.function(),
                s.raw_url.split_once('?').map_or("", |q| q.1)
            ),
        )
    })
}

#[test]
fn a_redirect_is_never_followed_so_the_other_host_never_sees_the_key() {
    for status in [301, 302, 303, 307, 308] {
        for auth in ["query", "header"] {
            let other = FakeFixer::free_plan(TODAY);
            let server = redirecting(status, &other.url);
            let env = TestEnv::new(&server.url, NOW).env("FIXER_AUTH", auth);
            let (code, _, err) = env.run(&["ingest", "--no-heal"]);
            assert_eq!(code, 78, "{err}");
            assert_eq!(
                err,
                format!(
                    "fxrates: error: the endpoint redirected to {}/latest (HTTP {status}); fxrates never \
                     follows a redirect with the API key: set FIXER_ENDPOINT to the new address if you \
                     trust it\n",
                    other.url
                )
            );
            assert_eq!(server.count(), 1, "redirects are not retried");
            // The same line with -vv and RUST_LOG=trace, which show neither
            // the key nor the Location that carries it.
            let line = env.fails(&["ingest", "--no-heal"], 78);
            assert_eq!(format!("fxrates: error: {line}\n"), err);
            assert_eq!(server.count(), 4, "redirects are not retried");
            assert_eq!(other.count(), 0, "HTTP {status} was followed");
            assert!(env.stored_dates().is_empty());
        }
    }
}

/// Stricter than `assert_no_key`: no 8-character piece of `key` either, so
/// a key split over lines (as a hex dump of the request would split it)
/// is found too.
fn assert_no_piece(key: &str, text: &str) {
    assert_no_key(text);
    for piece in key.as_bytes().windows(8) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!text.contains(piece), "{piece:?} of the key leaked: {text}");
    }
}

/// Every byte of the database and its sidecar files.
fn stored_bytes(env: &TestEnv) -> String {
    let dir = env.db.parent().unwrap();
    let mut all = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries {
            all.extend(fs::read(e.unwrap().path()).unwrap_or_default());
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// Runs a failing scenario, as ingest and as backfill, at the most talkative log level (`RUST_LOG=trace`
/// and `-vv`, the HTTP library's own traces included), with the key in the
/// query (plain and percent-encoded) or in a header, and looks for the key
/// everywhere.
fn sweep(name: &str, url: &str, extra: &[&str]) {
    for (key, auth) in [
        (FAKE_KEY, "query"),
        (ODD_KEY, "query"),
        (FAKE_KEY, "header"),
    ] {
        // The first run fails in ingest, the second in backfill (whose
        // first request is timeseries); both record their requests.
        for command in [&["ingest", "--no-heal"][..], &["backfill", "--days", "3"]] {
            let env = TestEnv::new(url, NOW)
                .env("RUST_LOG", "trace")
                .env("RUST_BACKTRACE", "1")
                .env("FXRATES_RETRY_BASE_MS", "1")
                .env("FIXER_API_KEY", key)
                .env("FIXER_AUTH", auth);
            let mut args = command.to_vec();
            args.extend_from_slice(extra);
            args.push("-vv");
            // `run` checks stdout and stderr for the key, in both forms.
            let (code, out, err) = env.run(&args);
            assert_no_piece(key, &out);
            assert_no_piece(key, &err);
            assert_ne!(code, 0, "{name}: {err}");
            assert!(err.contains("fxrates: error: "), "{name}: {err}");
            assert!(
                err.lines().count() > 3,
                "{name}: RUST_LOG=trace said little: {err}"
            );
            assert_no_piece(key, &stored_bytes(&env));
            if env.db.exists() {
                for row in env.sql("SELECT endpoint || ' ' || outcome FROM requests") {
                    assert_no_piece(key, &row[0]);
                }
            }
        }
    }
}

#[test]
fn the_key_never_appears_in_any_output_of_a_failing_run() {
    // Servers that fail in every way, several of them quoting the request
    // (and so the key) back in what they say.
    let echo = |status: u16| {
        FakeFixer::start(move |s| {
            let said = format!("{} {:?}", s.raw_url, s.headers.get("apikey"));
            Reply::json(
                status,
                format!(r#"{{"message":"bad request {}"}}"#, said.replace('"', "'")),
            )
        })
    };
    let fixer_echo = FakeFixer::start(|s| {
        Reply::ok(format!(
            r#"{{"success":false,"error":{{"code":101,"type":"invalid_access_key","info":"{} is not a valid key"}}}}"#,
            s.query.get("access_key").cloned().unwrap_or_else(|| s
                .headers
                .get("apikey")
                .cloned()
                .unwrap_or_default())
        ))
    });
    let bad_json = FakeFixer::start(|s| Reply::ok(format!("{{\"rates\":{{\"{}\":1}}", s.raw_url)));
    let html = FakeFixer::start(|s| Reply {
        status: 503,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: format!("<html>{}</html>", s.raw_url).into_bytes(),
    });
    let other = FakeFixer::free_plan(TODAY);
    let redirect = redirecting(302, &other.url);
    let quota = FakeFixer::start(|_| {
        Reply::json(429, r#"{"message":"slow down"}"#).with_header("Retry-After", "86400")
    });
    let silent = FakeFixer::misbehaving(Behaviour::Silent);
    let endless = FakeFixer::misbehaving(Behaviour::Endless);
    let hangup = FakeFixer::misbehaving(Behaviour::Hangup);
    let refused = refused_endpoint();
    let timeouts = [
        "--timeout-ms",
        "200",
        "--connect-timeout",
        "1",
        "--max-run-time",
        "1",
    ];
    let (e400, e401, e503) = (echo(400), echo(401), echo(503));
    let cases: [(&str, &str, &[&str]); 12] = [
        ("HTTP 400 quoting the request", &e400.url, &[]),
        ("HTTP 401 quoting the request", &e401.url, &[]),
        ("HTTP 503 quoting the request", &e503.url, &[]),
        ("fixer's error quoting the key", &fixer_echo.url, &[]),
        ("bad JSON quoting the request", &bad_json.url, &[]),
        ("an HTML error page quoting the request", &html.url, &[]),
        ("a redirect carrying the key", &redirect.url, &[]),
        ("a huge Retry-After", &quota.url, &[]),
        ("a server that never answers", &silent.url, &timeouts),
        ("an endless body", &endless.url, &[]),
        ("a server that hangs up", &hangup.url, &[]),
        ("a refused connection", &refused, &[]),
    ];
    // Independent cases, each with its own homes: side by side.
    std::thread::scope(|scope| {
        for (name, url, extra) in cases {
            scope.spawn(move || sweep(name, url, extra));
        }
    });
    assert_eq!(other.count(), 0);
}

#[test]
fn a_panic_message_is_scrubbed() {
    if std::env::var_os("FXRATES_TEST_PANIC_CHILD").is_some() {
        fxrates::logging::init(0, true);
        let key = fxrates::secret::Secret::new(FAKE_KEY.to_string());
        panic!(
            "GET http://127.0.0.1/api/latest?access_key={} failed",
            key.expose()
        );
    }
    // /proc/self/exe: this very binary, even if a rebuild replaced the file.
    let out = Command::new("/proc/self/exe")
        .args([
            "--exact",
            "secrets::a_panic_message_is_scrubbed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FXRATES_TEST_PANIC_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "fxrates: error: internal error, please report it: panicked at tests/it/secrets.rs"
        ),
        "{err}"
    );
    assert!(err.contains("access_key=[REDACTED] failed"), "{err}");
    assert_no_key(&err);
    assert_no_key(&String::from_utf8_lossy(&out.stdout));
}

#[test]
#[ignore = "needs root"]
fn a_key_file_owned_by_another_user_is_refused() {
    // Only root can give a file away.
    require_root();
    let server = FakeFixer::free_plan(TODAY);
    let env = TestEnv::new(&server.url, NOW);
    let path = env.key_file("a-key-0123456789", 0o600);
    std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--api-key-file", &path]);
    assert_eq!(code, 78, "{err}");
    assert_eq!(
        err,
        format!(
            "fxrates: error: the API key file {path} is owned by another user; it must be yours\n"
        )
    );
    assert_eq!(server.count(), 0);
}

#[test]
fn a_panic_exits_70_with_one_line() {
    if std::env::var_os("FXRATES_TEST_PANIC_EXIT_CHILD").is_some() {
        fxrates::logging::init(0, true);
        let exit = fxrates::catching_panics(|| panic!("an invariant broke"));
        std::process::exit(i32::from(exit.code()));
    }
    // /proc/self/exe: this very binary, even if a rebuild replaced the file.
    let out = Command::new("/proc/self/exe")
        .args([
            "--exact",
            "secrets::a_panic_exits_70_with_one_line",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FXRATES_TEST_PANIC_EXIT_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("fxrates:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("internal error") && lines[0].contains("an invariant broke"));
}
