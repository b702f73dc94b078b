use crate::common::*;

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

/// A database holding every weekday of 2024 up to NOW.
fn history() -> (FakeFixer, TestEnv) {
    let server = paid_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    let (code, _, err) = env.run(&["backfill", "--from", "2024-01-01"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates(), weekdays("2024-01-01", "2024-09-20"));
    (server, env)
}

#[test]
fn less_than_the_last_month_is_refused() {
    let (_server, env) = history();
    let all = weekdays("2024-01-01", "2024-09-20");
    let refused = |env: &TestEnv, args: &[&str]| {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("below 31") && err.contains("last month"),
            "{err}"
        );
        assert_eq!(env.stored_dates(), all);
    };
    refused(&env, &["prune", "--keep-days", "30"]);
    refused(&env, &["prune", "--keep-days", "30", "--dry-run"]);
    let env = env.env("FXRATES_KEEP_DAYS", "7");
    refused(&env, &["prune"]);
}

#[test]
fn dry_run_reports_and_deletes_nothing() {
    let (_server, env) = history();
    let before = env.sql("SELECT count(*) FROM day_rates");
    let (code, out, err) = env.run(&["prune", "--keep-days", "31", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    let gone = weekdays("2024-01-01", "2024-08-20").len();
    assert_eq!(
        out,
        format!(
            "prune would delete {gone} stored days ({} rate rows) and 0 unavailable-day records \
             before 2024-08-21; nothing was deleted\n",
            gone * RATES_SHOWN.len()
        )
    );
    assert_eq!(env.stored_dates(), weekdays("2024-01-01", "2024-09-20"));
    assert_eq!(env.sql("SELECT count(*) FROM day_rates"), before);
}

#[test]
fn prune_keeps_the_last_month_and_the_request_record() {
    let (server, env) = history();
    let requests = env.sql("SELECT * FROM requests");
    let (code, out, err) = env.run(&["prune", "--keep-days", "31", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    let gone = weekdays("2024-01-01", "2024-08-20").len();
    assert!(
        err.contains(&format!("deleted {gone} stored days")),
        "{err}"
    );
    assert_eq!(env.stored_dates(), weekdays("2024-08-21", "2024-09-20"));
    assert_eq!(
        env.sql("SELECT count(*) FROM day_rates WHERE date < '2024-08-21'"),
        [["0"]]
    );
    assert_eq!(env.sql("SELECT * FROM requests"), requests);
    assert_eq!(
        env.sql("SELECT ok FROM runs WHERE command = 'prune'"),
        [["1"]]
    );
    // The month is whole: a backfill asks for nothing.
    let n = server.count();
    assert_eq!(env.run(&["backfill"]).0, 0);
    assert_eq!(server.count(), n);
}

both_stores! {
    fn the_default_keeps_a_year(backend) {
        let server = paid_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, NOW);
        assert_eq!(env.run(&["backfill", "--from", "2023-06-01"]).0, 0);
        assert_eq!(env.run(&["prune"]).0, 0);
        assert_eq!(env.stored_dates(), weekdays("2023-09-22", "2024-09-20"));
    }
}

#[test]
fn prune_never_creates_a_database() {
    let env = TestEnv::new("http://127.0.0.1:9/api", NOW);
    let (code, _, err) = env.run(&["prune"]);
    assert_eq!(code, 66, "{err}");
    assert!(!env.db.exists());
}

#[test]
fn dry_run_into_a_closed_pipe_ends_quietly() {
    let (_server, env) = history();
    let (code, err) =
        run_into_closed_pipe(env.std_cmd(&["prune", "--keep-days", "31", "--dry-run"]));
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn keeping_more_days_than_the_calendar_has_keeps_everything() {
    let (_server, env) = history();
    let (code, out, err) = env.run(&["prune", "--keep-days", "4294967295", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "prune would delete 0 stored days (0 rate rows) and 0 unavailable-day records before \
         0001-01-01; nothing was deleted\n"
    );
}
