//! One writer at a time: a second writer waits for the first, or gives up
//! with exit 73; it never sends a request the first one already made, and
//! readers are never held up.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};

const NOW: &str = "2024-09-20T09:00:00Z";
const TODAY: &str = "2024-09-20";

/// A free-plan server that holds every answer until its gate opens.
fn gated() -> FakeFixer {
    let server = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body(TODAY)),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        date => Reply::ok(historical_body(date)),
    });
    server.gate().hold_after(0);
    server
}

/// Starts the binary in the test's environment without waiting for it.
fn spawn(env: &TestEnv, args: &[&str], extra: &[(&str, &str)]) -> Child {
    let mut cmd = env.std_cmd(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_key(&err);
    (out.status.code().unwrap_or(-1), err)
}

#[test]
fn a_second_ingest_waits_and_then_finds_the_day_stored() {
    let server = gated();
    let env = TestEnv::new(&server.url, NOW);
    let first = spawn(&env, &["ingest", "--no-heal"], &[]);
    server.gate().wait_held(1);
    assert_eq!(server.count(), 1);
    let mut second = spawn(&env, &["ingest", "--no-heal", "-v"], &[]);
    // Let the first run finish only once the second is waiting for it.
    let mut lines = BufReader::new(second.stderr.take().unwrap()).lines();
    let mut said = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("waiting for another fxrates run to finish with") {
            break;
        }
    }
    assert!(said.contains(&env.db.display().to_string()), "{said}");
    server.gate().open();
    let (code, err) = finish(first);
    assert_eq!(code, 0, "{err}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(second.wait().unwrap().code(), Some(0), "{said}{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("already stored; no request made")),
        "{rest:?}"
    );
    // One request in all, one day, no duplicate rows.
    assert_eq!(server.count(), 1);
    assert_eq!(env.stored_dates(), [TODAY]);
    assert_eq!(
        env.sql("SELECT count(*) FROM day_rates")[0][0],
        RATES_SHOWN.len().to_string()
    );
    assert_eq!(
        env.sql("SELECT count(*) FROM requests WHERE endpoint <> 'symbols'")[0][0],
        "1"
    );
}

#[test]
fn a_second_writer_gives_up_after_the_lock_timeout() {
    let server = gated();
    let env = TestEnv::new(&server.url, NOW);
    let first = spawn(&env, &["ingest", "--no-heal"], &[]);
    server.gate().wait_held(1);
    assert_eq!(server.count(), 1);
    let second = spawn(
        &env,
        &["ingest", "--no-heal", "--date", "2024-09-19"],
        &[("FXRATES_LOCK_TIMEOUT", "1")],
    );
    let (code, err) = finish(second);
    server.gate().open();
    assert_eq!(code, 73, "{err}");
    assert_eq!(
        err,
        format!(
            "fxrates: error: another fxrates run is using {} and did not finish within 1 s; try \
             again later, or wait longer with FXRATES_LOCK_TIMEOUT\n",
            env.db.display()
        )
    );
    assert_eq!(finish(first).0, 0);
    // The second run sent nothing.
    assert_eq!(server.count(), 1);
    assert_eq!(env.stored_dates(), [TODAY]);
    let db = std::fs::metadata(&env.db).unwrap();
    assert_eq!(db.permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_second_name_for_the_database_is_the_same_lock() {
    let server = gated();
    let env = TestEnv::new(&server.url, NOW);
    server.gate().allow(1);
    assert_eq!(
        env.run(&["ingest", "--no-heal", "--date", "2024-09-18"]).0,
        0
    );
    let other = env.path().join("elsewhere.db");
    std::os::unix::fs::symlink(&env.db, &other).unwrap();
    let first = spawn(&env, &["ingest", "--no-heal"], &[]);
    server.gate().wait_held(1);
    assert_eq!(server.count(), 2);
    let second = spawn(
        &env,
        &["ingest", "--no-heal", "--db", other.to_str().unwrap()],
        &[("FXRATES_LOCK_TIMEOUT", "1")],
    );
    let (code, err) = finish(second);
    server.gate().open();
    assert_eq!(code, 73, "{err}");
    assert_eq!(finish(first).0, 0);
    assert_eq!(server.count(), 2, "the second name sent nothing");
    // Nothing beside the database can be deleted to let a writer in.
    let names: Vec<String> = std::fs::read_dir(env.db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["rates.db"], "no lock file");
}

#[test]
fn readers_are_not_held_up_by_a_writer() {
    let server = gated();
    let env = TestEnv::new(&server.url, NOW);
    server.gate().allow(1);
    assert_eq!(
        env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]).0,
        0
    );
    let mut writer = spawn(&env, &["ingest", "--no-heal"], &[]);
    server.gate().wait_held(1);
    assert_eq!(server.count(), 2);
    // The writer holds the lock and waits for the gate; show runs anyway.
    let (code, out, err) = env.run(&["show", "--format", "csv", "--symbols", "USD"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "date,base,currency,rate,provider\n2024-09-19,EUR,USD,1.23396,fixer\n"
    );
    assert!(
        writer.try_wait().unwrap().is_none(),
        "the writer ended early"
    );
    server.gate().open();
    assert_eq!(finish(writer).0, 0);
    assert_eq!(env.stored_dates(), ["2024-09-19", TODAY]);
}

#[test]
fn a_lock_timeout_that_is_not_a_number_is_refused() {
    let server = FakeFixer::free_plan(TODAY);
    let env = TestEnv::new(&server.url, NOW).env("FXRATES_LOCK_TIMEOUT", "soon");
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("FXRATES_LOCK_TIMEOUT=\"soon\" is not a number of seconds"),
        "{err}"
    );
    assert_eq!(server.count(), 0);
}

#[test]
fn an_ingest_during_a_backfill_waits_or_gives_up_and_never_repeats_a_request() {
    let server = gated();
    let env = TestEnv::new(&server.url, NOW);
    let backfill = spawn(&env, &["backfill", "--days", "7"], &[]);
    server.gate().wait_held(1);
    assert_eq!(server.count(), 1);

    // Impatient: gives up, having sent nothing.
    let (code, err) = finish(spawn(
        &env,
        &["ingest", "--no-heal"],
        &[("FXRATES_LOCK_TIMEOUT", "1")],
    ));
    assert_eq!(code, 73, "{err}");
    assert!(err.contains("another fxrates run is using"), "{err}");
    assert_eq!(server.count(), 1);

    // Patient: waits for the backfill, which stores today, then asks nothing.
    let mut ingest = spawn(&env, &["ingest", "--no-heal", "-v"], &[]);
    let mut lines = BufReader::new(ingest.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("waiting for another fxrates run") {
            break;
        }
    }
    server.gate().open();
    let (code, err) = finish(backfill);
    assert_eq!(code, 0, "{err}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(ingest.wait().unwrap().code(), Some(0), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("already stored; no request made")),
        "{rest:?}"
    );
    let dates = env.stored_dates();
    assert_eq!(
        dates,
        [
            "2024-09-16",
            "2024-09-17",
            "2024-09-18",
            "2024-09-19",
            TODAY
        ]
    );
    // Every request was the backfill's, none twice.
    let asked: Vec<String> = server
        .requests()
        .iter()
        .map(|s| s.function().to_string())
        .collect();
    let mut unique = asked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), asked.len(), "{asked:?}");
    assert_eq!(
        env.sql("SELECT count(*) FROM requests WHERE endpoint <> 'symbols'")[0][0],
        asked.len().to_string()
    );
}

#[test]
fn a_request_in_flight_when_the_run_is_killed_still_counts_toward_the_quota() {
    let server = gated();
    let env = TestEnv::new(&server.url, NOW);
    let mut run = spawn(&env, &["ingest", "--no-heal"], &[]);
    server.gate().wait_held(1);
    run.kill().unwrap(); // SIGKILL, while the server holds the answer
    run.wait().unwrap();
    server.gate().open();
    // fixer counted the request; so does fxrates, though no answer came.
    assert_eq!(
        env.sql("SELECT endpoint, outcome FROM requests"),
        [["latest", "unanswered"]]
    );
    assert!(env.stored_dates().is_empty());
    let (code, out, err) = env.run(&["status", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["requests_this_month"], 1, "{out}");
}
