//! Monitoring hooks: health pings around the commands that write, and shell
//! integration generated from the command line definitions.
use crate::common::*;

/// The secret part of every test's ping URL: must never be printed.
const PING_ID: &str = "5f0c3a1e-ping-check-uuid";

/// A monitor that records pings and answers `status`.
fn monitor(status: u16) -> (FakeFixer, String) {
    let server = FakeFixer::start(move |_| Reply::json(status, "OK"));
    let url = server.url.replace("/api", &format!("/ping/{PING_ID}"));
    (server, url)
}

fn pinged(monitor: &FakeFixer) -> Vec<String> {
    let base = format!("/ping/{PING_ID}");
    monitor
        .requests()
        .iter()
        .map(|s| {
            s.path
                .strip_prefix(&base)
                .unwrap_or(&format!("unexpected {}", s.path))
                .to_string()
        })
        .collect()
}

/// A ping URL nothing listens on.
fn dead_url() -> String {
    refused_endpoint().replace("/api", &format!("/ping/{PING_ID}"))
}

fn assert_no_ping_id(text: &str) {
    assert!(!text.contains(PING_ID), "the ping URL leaked: {text}");
}

#[test]
fn a_successful_ingest_pings_start_then_success() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let (mon, url) = monitor(200);
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &url);
    let (code, out, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pinged(&mon), ["/start", ""]);
    assert_eq!(env.stored_dates(), ["2024-09-20"]);
    assert_no_ping_id(&out);
    assert_no_ping_id(&err);
}

#[test]
fn prune_and_copy_are_recorded_but_neither_pinged_nor_measured() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let (mon, url) = monitor(200);
    let source = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z");
    assert_eq!(source.run(&["ingest", "--no-heal"]).0, 0);
    let metrics = source.path().join("fxrates.prom");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z")
        .env("FXRATES_PING_URL", &url)
        .env("FXRATES_METRICS_FILE", metrics.to_str().unwrap());
    let db = source.db.to_str().unwrap();
    let (code, out, err) = env.run(&["copy", db, env.db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("copied 1 day "), "{out}");
    let (code, _, err) = env.run(&["prune", "--keep-days", "31"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pinged(&mon), Vec::<String>::new());
    assert!(!metrics.exists());
    assert_eq!(
        env.sql("SELECT command, ok FROM runs ORDER BY id"),
        [["copy", "1"], ["prune", "1"]]
    );
}

#[test]
fn backfill_pings_as_ingest_does() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let (mon, url) = monitor(200);
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &url);
    let (code, _, err) = env.run(&["backfill", "--days", "3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pinged(&mon), ["/start", ""]);
    assert!(!env.stored_dates().is_empty());

    let broken = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
    let env = TestEnv::new(&broken.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &url);
    let (code, _, err) = env.run(&["backfill", "--days", "3"]);
    assert_eq!(code, 78, "{err}");
    assert_eq!(pinged(&mon), ["/start", "", "/start", "/fail"]);
    assert_no_ping_id(&err);
}

#[test]
fn a_failed_ingest_pings_start_then_fail_and_keeps_its_exit_code() {
    let fixer = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
    let (mon, url) = monitor(200);
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z");
    // The flag works as the variable does.
    let (code, _, err) = env.run(&["ingest", "--ping-url", &url]);
    assert_eq!(code, 78, "{err}");
    assert_eq!(pinged(&mon), ["/start", "/fail"]);
    assert_no_ping_id(&err);
}

#[test]
fn the_fail_ping_carries_the_error_line_printed_on_stderr() {
    // A provider that is down, and one whose refusal quotes the key and
    // carries a control character: the ping says what stderr says, scrubbed
    // and escaped alike, never the bare HTTP status.
    let down = FakeFixer::start(|_| {
        Reply::json(503, "<html>Service Unavailable</html>")
            .with_header("Content-Type", "text/html")
    });
    let refusing = FakeFixer::start(|_| {
        Reply::ok(format!(
            r#"{{"success":false,"error":{{"code":101,"type":"invalid_access_key","info":"Key {FAKE_KEY} is not valid\u001b[2J."}}}}"#
        ))
    });
    for (fixer, want) in [(&down, 75), (&refusing, 78)] {
        let (mon, url) = monitor(200);
        let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z")
            .env("FXRATES_PING_URL", &url)
            .env("FXRATES_RETRY_BASE_MS", "1");
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, want, "{err}");
        assert_eq!(pinged(&mon), ["/start", "/fail"]);
        let line = err.lines().last().unwrap();
        assert!(line.starts_with("fxrates: error: "), "{err}");
        let body = &mon.requests()[1].body;
        assert_eq!(body, line);
        assert!(
            !body.contains(FAKE_KEY) && !body.contains('\u{1b}'),
            "{body}"
        );
    }
}

#[test]
fn a_ping_url_the_http_library_rewrites_stays_secret_at_every_log_level() {
    // `:0PORT` is logged by the HTTP library as `:PORT`, a form of the URL
    // that was never given and so was never redacted.
    let fixer = FakeFixer::free_plan("2024-09-20");
    let (mon, url) = monitor(200);
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let zero_port = url.replace(&format!(":{port}/"), &format!(":0{port}/"));
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &zero_port);
    for level in ["-vv", "-v", "-q"] {
        let (code, out, err) = env.run(&["ingest", "--no-heal", "--force", level]);
        assert_eq!(code, 0, "{err}");
        assert_no_ping_id(&out);
        assert_no_ping_id(&err);
    }
    let mut traced = env.cmd(&["ingest", "--no-heal", "--force"]);
    traced.env("RUST_LOG", "trace");
    let (code, _, err) = env.run_cmd(traced);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("[REDACTED]/start"), "{err}");
    assert_no_ping_id(&err);
    assert_eq!(pinged(&mon).len(), 8);
}

#[test]
fn a_dead_ping_url_is_a_warning_and_changes_nothing() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &dead_url());
    let (code, out, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates(), ["2024-09-20"]);
    assert!(err.contains("warning: the monitoring ping"), "{err}");
    assert!(err.contains("[REDACTED]"), "{err}");
    assert_no_ping_id(&out);
    assert_no_ping_id(&err);

    // A failing run keeps its own exit code too.
    let broken = FakeFixer::start(|_| Reply::fixer_error(104, "usage_limit_reached"));
    let env =
        TestEnv::new(&broken.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &dead_url());
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 78, "{err}");
    assert_no_ping_id(&err);
}

#[test]
fn a_monitor_answering_an_error_is_a_warning_only() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let (mon, url) = monitor(500);
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", &url);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pinged(&mon), ["/start", ""]);
    assert!(err.contains("HTTP 500"), "{err}");
    assert_no_ping_id(&err);
}

#[test]
fn commands_that_only_read_send_no_ping() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let (mon, url) = monitor(200);
    let plain = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z");
    let (code, _, err) = plain.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(plain.stored_dates(), ["2024-09-20"]);
    let env = plain
        .at("2024-09-20T10:00:00Z")
        .env("FXRATES_PING_URL", &url);
    for args in [
        &["show"][..],
        &["show", "--from", "2024-09-20"][..],
        &["convert", "100", "EUR", "GBP"][..],
    ] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(
            out.contains("2024-09-20"),
            "{args:?} read the stored day: {out}"
        );
    }
    let (_, out, err) = env.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect(&err);
    assert_eq!(json["latest_date"], "2024-09-20", "{out}");
    assert_eq!(mon.count(), 0, "{:?}", pinged(&mon));
    assert_eq!(fixer.count(), 1, "only the first ingest asked the provider");
}

#[test]
fn an_empty_ping_url_means_no_pings() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FXRATES_PING_URL", "");
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fixer.count(), 1, "only the fixer request");
}

#[test]
fn a_malformed_ping_url_is_refused_without_showing_it() {
    let env = TestEnv::new("http://127.0.0.1:9/api", "2024-09-20T09:00:00Z");
    let bad = format!("hc-ping.com/{PING_ID}");
    let (code, _, err) = env.run(&["ingest", "--ping-url", &bad]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must start with http:// or https://"), "{err}");
    assert_no_ping_id(&err);
}

#[test]
fn completions_render_for_each_shell() {
    let env = TestEnv::new("http://127.0.0.1:9/api", "2024-09-20T09:00:00Z");
    for (shell, marker) in [
        ("bash", "complete -F _fxrates"),
        ("zsh", "#compdef fxrates"),
        ("fish", "complete -c fxrates"),
    ] {
        let (code, out, err) = env.run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
        // Subcommands and their flags are offered.
        for word in ["ingest", "show", "date", "ping-url"] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, err) = env.run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");
    // They need no home, database or clock: a bare environment will do.
    let mut bare = env.cmd(&["completions", "bash"]);
    bare.env_remove("HOME")
        .env_remove("FXRATES_DB")
        .env("FXRATES_NOW", "not a time");
    let (code, out, err) = env.run_cmd(bare);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("complete -F _fxrates"), "{out}");
}

#[test]
fn man_pages_render_from_the_command_line_definitions() {
    let env = TestEnv::new("http://127.0.0.1:9/api", "2024-09-20T09:00:00Z");
    let (code, page, err) = env.run(&["manpage"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.contains(".TH fxrates 1"), "{page}");
    assert!(page.contains("ping\\-url"), "{page}");
    assert!(page.contains("fxrates\\-ingest(1)"), "{page}");

    let dir = env.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    let (code, _, err) = env.run(&["manpage", "--dir", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let ingest = std::fs::read_to_string(dir.join("fxrates-ingest.1")).unwrap();
    assert!(ingest.contains(".TH fxrates-ingest 1"), "{ingest}");
    assert!(ingest.contains("\\-\\-force"), "{ingest}");
    assert!(dir.join("fxrates-show.1").exists());
    // Hidden commands get no page.
    assert!(!dir.join("fxrates-manpage.1").exists());
}

#[test]
fn a_systemd_credential_is_read_whatever_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let fixer = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z");
    // As systemd may leave it: group bits set by an ACL mask.
    let creds = env.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    let key = creds.join("fixer-api-key");
    std::fs::write(&key, FAKE_KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o440)).unwrap();
    let key = key.to_str().unwrap();

    // Outside a service the usual check holds...
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--api-key-file", key]);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    // ...inside one, the file in $CREDENTIALS_DIRECTORY is systemd's to guard.
    let env = env.env("CREDENTIALS_DIRECTORY", creds.to_str().unwrap());
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--api-key-file", key]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates(), ["2024-09-20"]);
}

#[test]
fn ingest_logs_one_summary_line_and_nothing_under_cron() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z");
    // Under cron (stderr is not a terminal), a good run says nothing.
    let (code, out, err) = env.run(&["ingest", "--date", "2024-09-19"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));

    let env = env.env("RUST_LOG", "fxrates=info");
    let (code, _, err) = env.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    // The days, and the month's currency names (the run with --date asks
    // none).
    let requests = fixer.count() - 1 + fixer.symbols_count();
    assert_eq!(fixer.symbols_count(), 1);
    // Everything stored but the 19th and today was healed.
    let missing = env.stored_dates().len() - 2;
    assert!(missing > 15, "{missing}");
    assert_eq!(
        lines[0],
        format!(
            "fxrates: info: stored 7 rates for 2024-09-20; healed {missing} of {missing} missing \
             weekdays; stored the names of 4 currencies; {requests} requests ({} of 100 this month)",
            requests + 1
        )
    );

    let (code, _, err) = env.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!(
            "fxrates: info: 2024-09-20 was already stored; no weekday of the last month missing; \
             0 requests ({} of 100 this month)\n",
            requests + 1
        )
    );
}
