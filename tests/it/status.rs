use crate::common::*;
use serde_json::{Value, json};

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

fn json_status(env: &TestEnv) -> (i32, Value, String) {
    let (code, out, err) = env.run(&["status", "--format", "json"]);
    let value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, value, err)
}

#[test]
fn a_whole_month_is_healthy() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(env.run(&["backfill"]).0, 0);

    let (code, json, err) = json_status(&env);
    assert_eq!(code, 0, "{json}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(json["healthy"], true);
    assert_eq!(json["latest_date"], "2024-09-20");
    assert_eq!(json["latest_age_days"], 0);
    assert_eq!(json["missing_dates"], json!([]));
    assert_eq!(json["days_stored"], 23);
    assert_eq!(json["oldest_date"], "2024-08-21");
    assert_eq!(json["requests_this_month"], 24);
    assert_eq!(json["monthly_quota"], 100);
    assert_eq!(json["last_runs"]["backfill"]["outcome"], "ok");
    assert_eq!(json["timeseries"], "refused 2024-09-20");

    let (code, out, err) = env.run(&["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(err.is_empty(), "{err}");
    assert!(out.starts_with("status:       healthy\n"), "{out}");
    assert!(
        out.contains("latest:       2024-09-20 (0 days old)"),
        "{out}"
    );
    assert!(out.contains("requests:     24 of 100 this month"), "{out}");

    // Monday morning, before the 9:00 run: Friday is the latest, and fine.
    let monday = env
        .at("2024-09-23T07:00:00Z")
        .env("FIXER_MONTHLY_QUOTA", "250");
    let (code, json, _) = json_status(&monday);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["latest_age_days"], 3);
    assert_eq!(json["monthly_quota"], 250);
}

both_stores! {
    fn a_gap_is_unhealthy_and_named(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        assert_eq!(
            env.run(&["backfill", "--from", "2024-08-21", "--to", "2024-09-10"])
                .0,
            0
        );
        assert_eq!(env.run(&["backfill", "--from", "2024-09-12"]).0, 0);

        let (code, json, err) = json_status(&env);
        assert_eq!(code, 1, "{json}");
        assert!(err.is_empty(), "no error line: {err}");
        assert_eq!(json["healthy"], false);
        assert_eq!(json["missing_dates"], json!(["2024-09-11"]));
        assert_eq!(json["latest_date"], "2024-09-20");

        let (code, out, err) = env.run(&["status"]);
        assert_eq!(code, 1);
        assert!(err.is_empty(), "{err}");
        assert!(out.starts_with("status:       UNHEALTHY\n"), "{out}");
        assert!(out.contains("missing:      2024-09-11 "), "{out}");
        assert!(out.contains("fxrates backfill"), "{out}");

        // Filling the gap makes it healthy again.
        assert_eq!(env.run(&["backfill"]).0, 0);
        assert_eq!(json_status(&env).0, 0);
    }
}

#[test]
fn stale_data_is_unhealthy() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(env.run(&["backfill"]).0, 0);

    // A week later nothing new was stored.
    let later = env.at("2024-09-27T12:00:00Z");
    let (code, json, _) = json_status(&later);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["latest_date"], "2024-09-20");
    assert_eq!(json["latest_age_days"], 7);
    assert_eq!(
        json["missing_dates"],
        json!(weekdays("2024-09-23", "2024-09-26"))
    );
    let problems = json["problems"].to_string();
    assert!(problems.contains("older than 2024-09-26"), "{problems}");
}

#[test]
fn no_database_is_unhealthy_and_not_created() {
    let env = TestEnv::new("http://127.0.0.1:9/api", NOW);
    let (code, json, _) = json_status(&env);
    assert_eq!(code, 1);
    assert_eq!(json["healthy"], false);
    assert_eq!(json["latest_date"], Value::Null);
    assert_eq!(json["missing_dates"].as_array().unwrap().len(), 22);
    assert_eq!(json["requests_this_month"], 0);
    assert!(!env.db.exists());
}

both_stores! {
    fn the_last_run_of_each_command_and_its_error_are_shown(backend) {
        let server = FakeFixer::start(|s| match s.function() {
            "latest" => Reply::ok(latest_body("2024-09-20")),
            _ => Reply::json(503, "busy"),
        });
        // Should failed requests be retried, retry without waiting long.
        let env = TestEnv::on(backend, &server.url, NOW).env("FXRATES_RETRY_BASE_MS", "1");
        assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
        let (code, _, err) = env.run(&["backfill", "--days", "3"]);
        assert_eq!(code, 75, "{err}");

        let (_, json, _) = json_status(&env);
        assert_eq!(json["last_runs"]["ingest"]["outcome"], "ok");
        assert_eq!(json["last_runs"]["backfill"]["outcome"], "failed");
        assert_eq!(
            json["last_runs"]["backfill"]["started_at"],
            "2024-09-20T09:00:00Z"
        );
        let error = json["last_runs"]["backfill"]["error"].as_str().unwrap();
        assert!(error.contains("HTTP 503"), "{error}");
        assert!(
            err.contains(error),
            "the run records the line the user read: {err}"
        );

        let (_, out, _) = env.run(&["status"]);
        assert!(
            out.contains("last backfill 2024-09-20T09:00:00Z failed: "),
            "{out}"
        );
        assert!(
            out.contains("last ingest   2024-09-20T09:00:00Z ok"),
            "{out}"
        );
    }
}

/// True for a character that can drive a terminal.
fn drives_a_terminal(c: char) -> bool {
    c.is_control() && c != '\n'
}

both_stores! {
    fn provider_text_cannot_drive_the_terminal_nor_flood_the_history(backend) {
        // Clears the screen, homes the cursor, rings, backspaces, returns to the
        // start of the line and prints a fake verdict; then 5 MiB of padding.
        let hostile = format!(
            r#"{{"success":false,"error":{{"code":999,"type":"odd\u001b[31m","info":"\u001b[2J\u001b[1;1H\u0007\b\u0000\rstatus:       healthy\u009b2K{}"}}}}"#,
            "A".repeat(5 * 1024 * 1024)
        );
        let server = FakeFixer::start(move |_| Reply::ok(hostile.clone()));
        let env = TestEnv::on(backend, &server.url, NOW);
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 65, "{}", &err[..err.len().min(500)]);
        assert!(!err.chars().any(drives_a_terminal), "{err:?}");
        assert!(err.len() < 2000, "stderr is {} bytes", err.len());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("\\u{1b}[2J"), "shown escaped: {err}");

        let (code, out, _) = env.run(&["status"]);
        assert_eq!(code, 1);
        assert!(!out.chars().any(drives_a_terminal), "{out:?}");
        assert!(out.len() < 4000, "status is {} bytes", out.len());
        for row in env.sql("SELECT error FROM runs UNION ALL SELECT outcome FROM requests") {
            assert!(!row[0].chars().any(drives_a_terminal), "{row:?}");
            assert!(row[0].len() < 2000, "{} bytes stored", row[0].len());
        }
    }
}

#[test]
fn text_stored_by_an_older_version_is_shown_escaped() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute(
        "UPDATE runs SET error = ?1, ok = 0",
        ["\x1b[2J\rstatus:       healthy"],
    )
    .unwrap();
    drop(conn);
    for format in ["text", "json"] {
        let (_, out, _) = env.run(&["status", "--format", format]);
        assert!(!out.chars().any(drives_a_terminal), "{out:?}");
        assert!(!out.contains("\\u001b"), "{format}: {out}");
    }
}

#[test]
fn the_verdict_survives_a_closed_pipe() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    for format in ["text", "json", "prometheus"] {
        let (code, err) = run_into_closed_pipe(env.std_cmd(&["status", "--format", format]));
        assert_eq!((code, err.as_str()), (1, ""), "{format}: days are missing");
    }
    assert_eq!(env.run(&["backfill"]).0, 0);
    let (code, err) = run_into_closed_pipe(env.std_cmd(&["status"]));
    assert_eq!((code, err.as_str()), (0, ""), "healthy");
}

#[test]
fn one_day_is_one_day_and_a_clock_behind_is_named() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let (_, out, _) = env.run(&["status"]);
    assert!(
        out.contains("stored:       1 day, oldest 2024-09-20\n"),
        "{out}"
    );
    let behind = env.at("2024-09-03T09:00:00Z");
    let (_, out, _) = behind.run(&["status"]);
    assert!(
        out.contains("latest:       2024-09-20 (17 days ahead of today: check the clock)"),
        "{out}"
    );
}

/// Records a run as another host (or a hostile one) sharing the store
/// could: whatever text it likes in every column.
fn insert_run(env: &TestEnv, command: &str, host: &str, error: &str) {
    match &env.pg {
        Some(pg) => {
            pg.client()
                .execute(
                    "INSERT INTO runs (command, started_at, finished_at, ok, error, host)
                     VALUES ($1, now(), now(), false, $2, $3)",
                    &[&command, &error, &host],
                )
                .unwrap();
        }
        None => {
            let conn = rusqlite::Connection::open(&env.db).unwrap();
            conn.execute(
                "INSERT INTO runs (command, started_at, finished_at, ok, error)
                 VALUES (?1, '2024-09-20T08:00:00Z', '2024-09-20T08:00:01Z', 0, ?2)",
                [command, error],
            )
            .unwrap();
        }
    }
}

both_stores! {
    fn text_read_back_from_the_shared_runs_table_is_escaped_in_every_format(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        assert_eq!(env.run(&["backfill"]).0, 0);
        // A newline then a fake verdict, a carriage return over the line, a
        // screen clear and a right-to-left override, in each column.
        let forged = "x\nstatus:       healthy\r\x1b[2J\u{202e}";
        insert_run(&env, &format!("ingest{forged}"), &format!("host{forged}"), forged);

        let (_, text, _) = env.run(&["status"]);
        let (_, json, _) = env.run(&["status", "--format", "json"]);
        let (_, prom, _) = env.run(&["status", "--format", "prometheus"]);
        let verdicts = text.lines().filter(|l| l.starts_with("status:")).count();
        assert_eq!(verdicts, 1, "{text}");
        assert!(text.starts_with("status:       healthy\n"), "{text}");
        for out in [&text, &json, &prom] {
            assert!(!out.chars().any(drives_a_terminal), "{out:?}");
            assert!(!out.contains('\u{202e}'), "{out:?}");
        }
        // JSON escapes controls itself; the values must be escaped too.
        let value: Value = serde_json::from_str(&json).unwrap();
        let all = value.to_string();
        let strings: Vec<String> = serde_json::from_str::<Value>(&all)
            .map(|v| collect_strings(&v))
            .unwrap();
        for s in &strings {
            assert!(!s.contains(['\n', '\r', '\u{1b}', '\u{202e}']), "{s:?}");
        }
        assert!(all.contains("ingestx\\\\u{a}status:"), "{all}");
        // Every exposition line is one sample or comment: no label broke it.
        for line in prom.lines() {
            assert!(
                line.starts_with("# ") || line.starts_with("fxrates_"),
                "{line:?}\n{prom}"
            );
        }
        if backend == Backend::Postgres {
            assert!(text.contains("host hostx\\u{a}status:"), "{text}");
            assert!(prom.contains("host=\"hostx\\\\u{a}status:"), "{prom}");
        }
    }
}

/// Every string in a JSON value, object keys included.
fn collect_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(collect_strings).collect(),
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(collect_strings(v)))
            .collect(),
        _ => Vec::new(),
    }
}
