//! Prometheus metrics: `status --format prometheus` and the metrics file
//! every ingest rewrites for node_exporter's textfile collector.
use crate::common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;

const NAMES: [&str; 5] = [
    "fxrates_last_success_timestamp_seconds",
    "fxrates_latest_rate_date_timestamp_seconds",
    "fxrates_missing_weekdays",
    "fxrates_requests_this_month",
    "fxrates_monthly_quota",
];

/// Parses the text exposition format, failing on anything malformed: each
/// sample a `name value` line after its `# HELP` and `# TYPE`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    assert!(text.ends_with('\n'), "{text}");
    let mut described = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            described.push(rest.split(' ').next().unwrap().to_string());
        } else if line.starts_with("# TYPE ") {
            assert!(line.ends_with(" gauge"), "{line}");
        } else {
            let (name, value) = line.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            let family = name.split('{').next().unwrap();
            assert!(
                described.contains(&family.to_string()),
                "{name} has no HELP"
            );
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
            assert!(
                samples.insert(name.to_string(), value).is_none(),
                "{name} twice"
            );
        }
    }
    for name in NAMES {
        assert!(
            samples.contains_key(name),
            "{name} is missing from:\n{text}"
        );
    }
    samples
}

/// 2024-09-20T00:00:00Z and 2024-09-20T09:00:00Z.
const FRIDAY_MIDNIGHT: f64 = 1_726_790_400.0;
const FRIDAY_NINE: f64 = 1_726_822_800.0;

#[test]
fn status_prints_prometheus_metrics_that_agree_with_its_json() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z").env("FIXER_MONTHLY_QUOTA", "250");
    // Only Wednesday and today: the rest of the month is missing.
    let (code, _, err) = env.run(&["ingest", "--date", "2024-09-18"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");

    let (code, text, err) = env.run(&["status", "--format", "prometheus"]);
    assert_eq!(code, 1, "unhealthy: days are missing; {err}");
    let m = parse(&text);
    let (_, json, _) = env.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let missing = json["missing_dates"].as_array().unwrap().len() as f64;
    assert!(missing > 10.0, "{json}");
    assert_eq!(m["fxrates_missing_weekdays"], missing);
    assert_eq!(
        m["fxrates_latest_rate_date_timestamp_seconds"],
        FRIDAY_MIDNIGHT
    );
    finished_soon_after(m["fxrates_last_success_timestamp_seconds"], FRIDAY_NINE);
    assert_eq!(
        m["fxrates_requests_this_month"],
        (fixer.count() + fixer.symbols_count()) as f64
    );
    assert_eq!(m["fxrates_monthly_quota"], 250.0);
    assert_eq!(m["fxrates_healthy"], 0.0);
    assert_no_key(&text);
}

#[test]
fn status_metrics_for_a_database_that_does_not_exist_yet() {
    let env = TestEnv::new("http://127.0.0.1:9/api", "2024-09-20T09:00:00Z");
    let (code, text, _) = env.run(&["status", "--format", "prometheus"]);
    assert_eq!(code, 1);
    let m = parse(&text);
    assert_eq!(m["fxrates_last_success_timestamp_seconds"], 0.0);
    assert_eq!(m["fxrates_latest_rate_date_timestamp_seconds"], 0.0);
    assert_eq!(m["fxrates_monthly_quota"], 100.0);
    assert!(!env.db.exists(), "status created a database");
}

#[test]
fn every_ingest_replaces_the_metrics_file_atomically() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fxrates.prom");
    let (mon, ping) = {
        let server = FakeFixer::start(|_| Reply::json(200, "OK"));
        let url = server.url.replace("/api", "/ping/metrics-ping-secret-id");
        (server, url)
    };
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z")
        .env("FXRATES_METRICS_FILE", file.to_str().unwrap())
        .env("FXRATES_PING_URL", &ping);

    // An older file, held open by a reader through a second name.
    fs::write(&file, "# an older exposition\nfxrates_stored_days 1\n").unwrap();
    let reader = dir.path().join("held-by-a-reader");
    fs::hard_link(&file, &reader).unwrap();
    let old_inode = fs::metadata(&file).unwrap().ino();

    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mon.count(), 2);
    let text = fs::read_to_string(&file).unwrap();
    let m = parse(&text);
    finished_soon_after(m["fxrates_last_success_timestamp_seconds"], FRIDAY_NINE);
    assert_eq!(
        m["fxrates_latest_rate_date_timestamp_seconds"],
        FRIDAY_MIDNIGHT
    );
    // The day's request and the month's currency names.
    assert_eq!(m["fxrates_requests_this_month"], 2.0);
    // Replaced by a rename: a new inode; the old one was never written to.
    assert_ne!(fs::metadata(&file).unwrap().ino(), old_inode);
    assert_eq!(
        fs::read_to_string(&reader).unwrap(),
        "# an older exposition\nfxrates_stored_days 1\n"
    );
    assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o644);
    // No temporary file lingers beside it.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["fxrates.prom", "held-by-a-reader"]);
    // No secret in it.
    assert_no_key(&text);
    assert!(!text.contains("metrics-ping-secret-id"), "{text}");
}

#[test]
fn a_failed_ingest_still_updates_the_metrics_file() {
    let good = FakeFixer::free_plan("2024-09-19");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fxrates.prom");
    let env = TestEnv::new(&good.url, "2024-09-19T09:00:00Z")
        .env("FXRATES_METRICS_FILE", file.to_str().unwrap());
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");

    // The next morning fixer refuses: the run fails, the metrics say so.
    let broken = FakeFixer::start(|_| Reply::fixer_error(104, "usage_limit_reached"));
    let env = TestEnv {
        endpoint: broken.url.clone(),
        now: "2024-09-20T09:00:00Z".into(),
        ..env
    };
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 78, "{err}");
    let m = parse(&fs::read_to_string(&file).unwrap());
    // The last success is still Thursday's run; the request was counted.
    finished_soon_after(
        m["fxrates_last_success_timestamp_seconds"],
        FRIDAY_NINE - 86_400.0,
    );
    assert_eq!(
        m["fxrates_latest_rate_date_timestamp_seconds"],
        FRIDAY_MIDNIGHT - 86_400.0
    );
    // Thursday's day and the month's names, and Friday's refused request.
    assert_eq!(m["fxrates_requests_this_month"], 3.0);
}

#[test]
fn a_metrics_file_that_cannot_be_written_is_a_warning_only() {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&fixer.url, "2024-09-20T09:00:00Z");
    let file = env.path().join("no-such-dir").join("fxrates.prom");
    let env = env.env("FXRATES_METRICS_FILE", file.to_str().unwrap());
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: cannot write the metrics file"),
        "{err}"
    );
    assert_eq!(env.stored_dates(), ["2024-09-20"]);
}

/// A run's success is stamped when it finishes: a little after the run's
/// clock started, however slow the machine.
fn finished_soon_after(at: f64, start: f64) {
    assert!(
        (start..start + 60.0).contains(&at),
        "{at} is not soon after {start}"
    );
}

/// A whole month stored on Friday morning, then the given provider for the
/// runs that follow; metrics go to a file.
fn whole_month_then(backend: Backend, provider: &FakeFixer) -> (FakeFixer, TestEnv, String) {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let mut env = TestEnv::on(backend, &fixer.url, "2024-09-20T09:00:00Z");
    let (code, _, err) = env.run(&["backfill"]);
    assert_eq!(code, 0, "{err}");
    let file = env
        .path()
        .join("fxrates.prom")
        .to_string_lossy()
        .into_owned();
    env = env
        .env("FXRATES_METRICS_FILE", &file)
        .env("FXRATES_RETRY_BASE_MS", "1");
    env.endpoint = provider.url.clone();
    (fixer, env, file)
}

/// The last run's three metrics, from `status` and from the metrics file
/// the run wrote: (success, exit code, needs action).
fn last_run_metrics(env: &TestEnv, file: &str, status_code: i32) -> (f64, f64, f64) {
    let (code, text, err) = env.run(&["status", "--format", "prometheus"]);
    assert_eq!(code, status_code, "{err}");
    let m = parse(&text);
    let from_file = parse(&fs::read_to_string(file).unwrap());
    let three = |m: &BTreeMap<String, f64>| {
        (
            m["fxrates_last_run_success"],
            m["fxrates_last_run_exit_code"],
            m["fxrates_last_run_needs_action"],
        )
    };
    assert_eq!(
        three(&m),
        three(&from_file),
        "the file says what status says"
    );
    three(&m)
}

both_stores! {
    fn a_failure_a_person_must_fix_is_status_3_and_in_the_metrics(backend) {
        let refusing = FakeFixer::start(|_| Reply::fixer_error(101, "invalid_access_key"));
        let (fixer, mut env, file) = whole_month_then(backend, &refusing);
        let (code, _, err) = env.run(&["ingest", "--no-heal", "--force"]);
        assert_eq!(code, 78, "{err}");

        // The history is whole, but tomorrow's day will not be fetched.
        let (code, out, err) = env.run(&["status"]);
        assert_eq!(code, 3, "{out}{err}");
        assert_eq!(err, "");
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("status:       ACTION NEEDED"), "{out}");
        let first = lines.next().unwrap();
        // On PostgreSQL the run's host follows its time.
        assert!(first.starts_with("  problem:    the last ingest (2024-09-20T09:00:00Z"), "{out}");
        assert!(first.contains(") failed with exit 78, which a person must fix: "), "{out}");
        assert!(first.contains("API key"), "{out}");
        let (code, json, _) = env.run(&["status", "--format", "json"]);
        assert_eq!(code, 3);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["action_needed"], true);
        assert_eq!(json["healthy"], false);
        assert_eq!(json["last_runs"]["ingest"]["exit_code"], 78);
        assert_eq!(last_run_metrics(&env, &file, 3), (0.0, 78.0, 1.0));

        // Fixed: the next run succeeds and status is healthy again.
        env.endpoint = fixer.url.clone();
        let (code, _, err) = env.run(&["ingest", "--no-heal", "--force"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(env.run(&["status"]).0, 0);
        assert_eq!(last_run_metrics(&env, &file, 0), (1.0, 0.0, 0.0));
    }
}

both_stores! {
    fn a_temporary_failure_is_reported_but_leaves_the_verdict_to_the_history(backend) {
        // fixer down: the next run retries; if it keeps failing the history
        // goes stale, and status says so then.
        let down = FakeFixer::start(|_| Reply::json(503, "busy"));
        let (_fixer, env, file) = whole_month_then(backend, &down);
        let (code, _, err) = env.run(&["ingest", "--no-heal", "--force"]);
        assert_eq!(code, 75, "{err}");

        let (code, out, _) = env.run(&["status"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("status:       healthy\n"), "{out}");
        assert!(out.contains("last ingest   2024-09-20T09:00:00Z failed"), "{out}");
        let (_, json, _) = env.run(&["status", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["action_needed"], false);
        assert_eq!(json["last_runs"]["ingest"]["exit_code"], 75);
        assert_eq!(last_run_metrics(&env, &file, 0), (0.0, 75.0, 0.0));

        // Monday morning, still failing: Friday is no longer enough.
        let (code, out, _) = env.at("2024-09-24T08:00:00Z").run(&["status"]);
        assert_eq!(code, 1, "{out}");
    }
}
