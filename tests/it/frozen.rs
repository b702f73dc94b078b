//! PostgreSQL runs always end within their limits: a lock another session
//! keeps, a writer frozen (SIGSTOP) inside its transaction, a server that
//! stops answering. Every wait here is for a condition (a gate, a state in
//! `pg_stat_activity`), bounded so that a hang fails the test.

use crate::common::*;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2024-09-20T09:00:00Z";

/// The hosts' lease: a takeover takes about a second.
const LEASE_MS: &str = "1000";

/// The longest a test waits for a run that should end.
const HANG: Duration = Duration::from_secs(40);

/// Host `name` on `pg`; the URL's application name finds its connection.
fn host(server: &FakeFixer, pg: &PgSchema, name: &str) -> TestEnv {
    let mut env = TestEnv::new(&server.url, NOW).postgres(pg.clone());
    env.extra_env.retain(|(k, _)| k != "FXRATES_DB");
    env.env("FXRATES_DB", &format!("{}?application_name={name}", pg.url))
        .env("FXRATES_HOSTNAME", name)
        .env("FXRATES_LEASE_MS", LEASE_MS)
}

fn spawn(env: &TestEnv, args: &[&str]) -> Child {
    env.std_cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` at most [`HANG`]: its exit code and stderr. A run
/// still going then is killed and fails the test.
fn finish(mut child: Child, what: &str) -> (i32, String) {
    let until = Instant::now() + HANG;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} still ran after {HANG:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_key(&stderr);
    (out.status.code().unwrap_or(-1), stderr)
}

/// Waits until `done` holds, at most [`HANG`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + HANG;
    while !done() {
        assert!(Instant::now() < until, "{what} never happened");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// (pid, state, wait_event_type) of the connection named `name`.
fn backend(name: &str) -> Option<(i32, String, String)> {
    admin()
        .query_opt(
            "SELECT pid, coalesce(state, ''), coalesce(wait_event_type, '')
             FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

/// A process stopped with SIGSTOP, continued when dropped (a failing test
/// must not leave a stopped server process or run behind).
struct Stopped(i32);

impl Stopped {
    fn stop(pid: i32) -> Stopped {
        // SAFETY: plain signals to a process this test started or owns.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// Every stored day has all its rates; the stored dates.
fn whole_days(pg: &PgSchema) -> Vec<String> {
    let rows = pg.sql(
        "SELECT d.date, count(r.currency) FROM days d LEFT JOIN day_rates r ON r.date = d.date \
         GROUP BY d.date ORDER BY d.date",
    );
    for row in &rows {
        assert_eq!(
            row[1],
            RATES_SHOWN.len().to_string(),
            "{} is not whole",
            row[0]
        );
    }
    rows.into_iter().map(|r| r[0].clone()).collect()
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_lock_another_session_keeps_ends_the_run_with_73_within_the_lock_timeout() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let env = host(&server, &pg, "host-a").env("FXRATES_LOCK_TIMEOUT", "1");
    assert_eq!(
        env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]).0,
        0
    );
    let sent = server.count();
    for (table, args) in [
        // The claim cannot be taken: nothing is asked for.
        ("claims", &["ingest", "--no-heal"][..]),
        // The claim is taken, the day cannot be stored.
        ("day_rates", &["ingest", "--no-heal"][..]),
    ] {
        let mut admin = admin();
        let mut tx = admin.transaction().unwrap();
        tx.batch_execute(&format!(
            "LOCK TABLE \"{}\".{table} IN ACCESS EXCLUSIVE MODE",
            pg.schema
        ))
        .unwrap();
        let started = Instant::now();
        let (code, err) = finish(spawn(&env, args), table);
        assert_eq!(code, 73, "{table}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("another session held a lock"), "{err}");
        assert!(err.contains("FXRATES_LOCK_TIMEOUT"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{table}");
        tx.rollback().unwrap();
        if table == "claims" {
            assert_eq!(server.count(), sent, "a request was spent");
        }
    }
    assert_eq!(whole_days(&pg), ["2024-09-19"]);
    // With the lock gone, the next run carries on.
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    assert_eq!(whole_days(&pg), ["2024-09-19", "2024-09-20"]);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_writer_frozen_inside_its_transaction_is_taken_over_and_stops_when_it_wakes() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let frozen_name = unique_schema("frozen");
    let a = host(&server, &pg, &frozen_name).env("FXRATES_LOCK_TIMEOUT", "30");
    let b = host(&server, &pg, "host-b").env("FXRATES_LOCK_TIMEOUT", "20");
    assert_eq!(b.run(&["ingest", "--no-heal", "--date", "2024-09-02"]).0, 0);
    const RANGE: [&str; 5] = ["backfill", "--from", "2024-09-02", "--to", "2024-09-06"];

    // A lock of the test's holds A inside its first day's transaction,
    // after A has locked the claim's row; A is frozen there.
    let mut admin = admin();
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute(&format!(
        "LOCK TABLE \"{}\".day_rates IN ACCESS EXCLUSIVE MODE",
        pg.schema
    ))
    .unwrap();
    let a_run = spawn(&a, &RANGE);
    wait_until("A waiting for the lock", || {
        backend(&frozen_name).is_some_and(|(_, _, wait)| wait == "Lock")
    });
    let stopped = Stopped::stop(a_run.id() as i32);
    tx.rollback().unwrap();
    // A's statement is done; its session sits in the transaction, holding
    // the claim's row, until the server ends it.
    wait_until("A idle in its transaction", || {
        backend(&frozen_name).is_none_or(|(_, state, _)| state == "idle in transaction")
    });

    let started = Instant::now();
    let mut args = RANGE.to_vec();
    args.push("-v");
    let (code, err) = finish(spawn(&b, &args), "host-b");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("took over"), "{err}");
    assert!(err.contains(&frozen_name), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15));

    // A wakes: its claim is gone, and it stops without storing anything.
    drop(stopped);
    let (code, err) = finish(a_run, "the frozen host");
    assert_eq!(code, 75, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(whole_days(&pg), weekdays("2024-09-02", "2024-09-06"));
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_database_server_that_stops_answering_ends_the_run_with_75_within_max_run_time() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let name = unique_schema("silent");
    let env = host(&server, &pg, &name);
    // The refused timeseries and a first day; the next request is held
    // while the server's process for this run is stopped.
    server.gate().hold_after(2);
    let started = Instant::now();
    let run = spawn(
        &env,
        &[
            "backfill",
            "--from",
            "2024-09-02",
            "--to",
            "2024-09-13",
            "--max-run-time",
            "4",
        ],
    );
    server.gate().wait_held(1);
    let (pid, _, _) = backend(&name).expect("the run's connection");
    let stopped = Stopped::stop(pid);
    server.gate().open();
    let (code, err) = finish(run, "the run");
    let took = started.elapsed();
    drop(stopped);
    assert_eq!(code, 75, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("did not answer"), "{err}");
    assert!(
        took < Duration::from_secs(4 + 4),
        "took {took:?} with --max-run-time 4"
    );
    // Whatever was stored is whole.
    whole_days(&pg);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_copy_killed_inside_a_batch_leaves_whole_batches_and_finishes_when_run_again() {
    let server = FakeFixer::free_plan("2024-09-20");
    let sqlite = TestEnv::new(&server.url, NOW);
    let (code, _, err) = sqlite.run(&["backfill", "--from", "2024-08-26", "--to", "2024-09-20"]);
    assert_eq!(code, 0, "{err}");
    let db = sqlite.db.to_str().unwrap().to_string();
    let pg = PgSchema::new();
    // The schema, with a day the source lacks.
    let dest = host(&server, &pg, "host-a");
    assert_eq!(
        dest.run(&["ingest", "--no-heal", "--date", "2024-08-23"]).0,
        0
    );

    // Another session inserts 2024-09-04 without committing: the copy, in
    // batches of five days, stores the first and waits inside the second.
    let name = unique_schema("copy");
    let url = format!("{}?application_name={name}", pg.url);
    let mut admin = admin();
    let mut tx = admin.transaction().unwrap();
    tx.batch_execute(&format!(
        "INSERT INTO \"{}\".days (date, base, source, endpoint, source_date, fetched_at)
         VALUES ('2024-09-04', 'EUR', 'fixer', 'historical', '2024-09-04', now())",
        pg.schema
    ))
    .unwrap();
    let batches = dest.at(NOW).env("FXRATES_COPY_BATCH_RATES", "35");
    let mut copy = spawn(&batches, &["copy", &db, &url]);
    wait_until("the copy waiting inside its second batch", || {
        backend(&name).is_some_and(|(_, _, wait)| wait == "Lock")
    });
    copy.kill().unwrap(); // SIGKILL, inside the transaction
    let (code, _) = finish(copy, "the killed copy");
    assert_eq!(code, -1);
    tx.rollback().unwrap();
    let mut first = vec!["2024-08-23".to_string()];
    first.extend(weekdays("2024-08-26", "2024-08-30"));
    assert_eq!(
        whole_days(&pg),
        first,
        "the first batch, whole, and nothing of the second"
    );

    // Run again: the rest, and only the rest.
    let (code, err) = finish(spawn(&batches, &["copy", &db, &pg.url]), "the copy");
    assert_eq!(code, 0, "{err}");
    let mut all = vec!["2024-08-23".to_string()];
    all.extend(weekdays("2024-08-26", "2024-09-20"));
    assert_eq!(whole_days(&pg), all);
}
