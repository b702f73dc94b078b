//! Several hosts on one PostgreSQL store: each is a process with its own
//! home and host name, running the same commands against the same schema.
//! Every day is fetched once in all, a dead or cut-off host is taken over
//! within the lease, and the monthly budget is one for all of them.

use crate::common::*;
use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2024-09-20T09:00:00Z";

/// The lease the hosts run with: short, so that a takeover takes a second.
const LEASE_MS: u64 = 1000;

/// Host `name` on `pg`, with its own home.
fn host(server: &FakeFixer, pg: &PgSchema, name: &str) -> TestEnv {
    // The application name lets a test find the host's connection.
    let url = format!("{}?application_name={name}", pg.url);
    let mut env = TestEnv::new(&server.url, NOW).postgres(pg.clone());
    env.extra_env.retain(|(k, _)| k != "FXRATES_DB");
    env.env("FXRATES_DB", &url)
        .env("FXRATES_HOSTNAME", name)
        .env("FXRATES_LEASE_MS", &LEASE_MS.to_string())
}

fn spawn(env: &TestEnv, args: &[&str]) -> Child {
    env.std_cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child`: its exit code and stderr.
fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_key(&stderr);
    (out.status.code().unwrap_or(-1), stderr)
}

/// How many times each date (or `latest`, `timeseries`) was asked for.
fn asked(server: &FakeFixer) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for s in server.requests() {
        *n.entry(s.function().to_string()).or_default() += 1;
    }
    n
}

/// Every stored day has all its rates: (date, rates) of each.
fn assert_whole_days(pg: &PgSchema) -> Vec<String> {
    let rows = pg.sql(
        "SELECT d.date, count(r.currency) FROM days d LEFT JOIN day_rates r ON r.date = d.date \
         GROUP BY d.date ORDER BY d.date",
    );
    let whole = RATES_SHOWN.len().to_string();
    for row in &rows {
        assert_eq!(row[1], whole, "day {} is not whole", row[0]);
    }
    rows.into_iter().map(|r| r[0].clone()).collect()
}

/// `status --format json` from `env`: its exit code and report.
fn status(env: &TestEnv) -> (i32, serde_json::Value) {
    let (code, out, err) = env.run(&["status", "--format", "json"]);
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, report)
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn six_hosts_ingesting_at_once_fetch_each_day_once() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let hosts: Vec<TestEnv> = (1..=6)
        .map(|i| host(&server, &pg, &format!("host-{i}")))
        .collect();
    let children: Vec<Child> = hosts.iter().map(|h| spawn(h, &["ingest", "-v"])).collect();
    let results: Vec<(i32, String)> = children.into_iter().map(finish).collect();
    for (i, (code, err)) in results.iter().enumerate() {
        assert_eq!(*code, 0, "host-{}: {err}", i + 1);
    }
    // Each function once: latest, the refused timeseries, each missing day.
    for (function, n) in asked(&server) {
        assert_eq!(n, 1, "{function} was asked for {n} times");
    }
    // The hosts that found the work done said so.
    let waited = results
        .iter()
        .filter(|(_, err)| err.contains("is writing to"))
        .count();
    assert!(waited >= 1, "no host said it waited: {results:?}");
    let done = results
        .iter()
        .filter(|(_, err)| err.contains("2024-09-20 was already stored"))
        .count();
    assert_eq!(done, 5, "{results:?}");

    let (code, report) = status(&hosts[0]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["healthy"], true);
    assert_eq!(report["missing_dates"].as_array().unwrap().len(), 0);
    assert_eq!(
        report["requests_this_month"],
        server.count() + server.symbols_count()
    );
    for i in 1..=6 {
        let run = &report["hosts"][format!("host-{i}")]["ingest"];
        assert_eq!(run["outcome"], "ok", "{report}");
    }
    // Every request is recorded with the host that sent it.
    let by_host = pg.sql("SELECT count(*) FROM requests WHERE host IS NULL");
    assert_eq!(by_host[0][0], "0");
    assert_whole_days(&pg);
}

/// A backfill of September so far, one request per day (the free plan).
const BACKFILL: [&str; 5] = ["backfill", "--from", "2024-09-02", "--to", "2024-09-19"];

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_host_killed_mid_backfill_is_taken_over_within_the_lease() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let (a, b) = (host(&server, &pg, "host-a"), host(&server, &pg, "host-b"));
    // The refused timeseries and five days, then A's next request is held.
    server.gate().hold_after(6);
    let killed = spawn(&a, &BACKFILL);
    server.gate().wait_held(1);
    let mut args = BACKFILL.to_vec();
    args.push("-v");
    let taker = spawn(&b, &args);
    // B waits for A's claim rather than asking for anything.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.gate().answered(), 6);
    let mut killed = killed;
    killed.kill().unwrap(); // SIGKILL: no release, the claim must lapse.
    let (code, _) = finish(killed);
    assert_eq!(code, -1, "killed by a signal");
    let since_kill = Instant::now();
    server.gate().open();
    let (code, err) = finish(taker);
    let took = since_kill.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("took over"), "{err}");
    assert!(err.contains("host-a"), "{err}");
    assert!(
        took < Duration::from_millis(LEASE_MS) * 4,
        "took {took:?} with a lease of {LEASE_MS} ms"
    );

    let stored = assert_whole_days(&pg);
    assert_eq!(stored, weekdays("2024-09-02", "2024-09-19"));
    // Only the request in flight when A died was asked again.
    let twice: Vec<_> = asked(&server).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(twice.len() <= 1, "asked more than once: {twice:?}");
    assert!(
        twice.iter().all(|(f, n)| *n == 2 && is_date(f)),
        "{twice:?}"
    );
    let (_, report) = status(&b);
    assert_eq!(
        report["requests_this_month"],
        server.count() + server.symbols_count()
    );
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_host_cut_off_from_the_database_is_taken_over_and_stores_nothing_more() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    // A name of its own: the server cuts every connection of that name, and
    // other tests run hosts called host-a at the same time.
    let cut_name = unique_schema("cut");
    let (a, b) = (host(&server, &pg, &cut_name), host(&server, &pg, "host-b"));
    server.gate().hold_after(4);
    let cut = spawn(&a, &BACKFILL);
    server.gate().wait_held(1);
    let taker = spawn(&b, &BACKFILL);
    std::thread::sleep(Duration::from_millis(300));
    // The server closes A's connection; A's process lives on, waiting for
    // its answer.
    let terminated = admin()
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&cut_name],
        )
        .unwrap();
    assert!(!terminated.is_empty(), "{cut_name} has no connection");
    let since_cut = Instant::now();
    server.gate().open();
    let (code, err) = finish(cut);
    assert_eq!(code, 75, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("connection"), "{err}");
    let (code, err) = finish(taker);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("took over"), "{err}");
    assert!(since_cut.elapsed() < Duration::from_millis(LEASE_MS) * 4);

    let stored = assert_whole_days(&pg);
    assert_eq!(stored, weekdays("2024-09-02", "2024-09-19"));
    let twice: Vec<_> = asked(&server).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(twice.len() <= 1, "asked more than once: {twice:?}");
    let (_, report) = status(&b);
    assert_eq!(
        report["requests_this_month"],
        server.count() + server.symbols_count()
    );
    assert_eq!(
        report["hosts"][cut_name.as_str()]["backfill"]["outcome"],
        "unfinished"
    );
    assert_eq!(report["hosts"]["host-b"]["backfill"]["outcome"], "ok");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn two_hosts_share_one_budget_and_never_pass_the_accounts_limit() {
    let server = paid_plan("2024-09-20");
    let pg = PgSchema::new();
    let (a, b) = (host(&server, &pg, "host-a"), host(&server, &pg, "host-b"));
    // The schema, then 99 of the month's 100 requests already spent by
    // the two hosts.
    let (code, _, err) = a.run(&["backfill", "--from", "2024-09-02", "--to", "2024-09-02"]);
    assert_eq!(code, 0, "{err}");
    pg.client()
        .batch_execute(
            "INSERT INTO requests (at, endpoint, outcome, host)
             SELECT '2024-09-03T09:00:00Z', 'historical', 'ok', CASE WHEN i % 2 = 0 THEN 'host-a' ELSE 'host-b' END
             FROM generate_series(1, 98) AS i",
        )
        .unwrap();
    let before = server.count();
    // Each needs one timeseries request; one remains.
    let windows = [("2024-09-09", "2024-09-13"), ("2024-09-16", "2024-09-19")];
    let children: Vec<Child> = [&a, &b]
        .iter()
        .zip(windows)
        .map(|(h, (from, to))| spawn(h, &["backfill", "--from", from, "--to", to]))
        .collect();
    let results: Vec<(i32, String)> = children.into_iter().map(finish).collect();
    let codes: Vec<i32> = results.iter().map(|r| r.0).collect();
    assert!(
        codes == [0, 78] || codes == [78, 0],
        "one passes, one is refused: {results:?}"
    );
    let refused = &results.iter().find(|r| r.0 == 78).unwrap().1;
    assert!(
        refused.contains("only 0 of the monthly quota of 100 remain"),
        "{refused}"
    );
    assert_eq!(server.count() - before, 1, "the account's limit was passed");
    let (_, report) = status(&a);
    assert_eq!(report["requests_this_month"], 100);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_slow_host_keeps_its_claim_and_the_other_waits_for_it() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    // A lease of 300 ms, and A held at the gate for four of them: A renews
    // its claim while it waits for fixer, so B must not take over.
    let lease = 300;
    let (a, b) = (
        host(&server, &pg, "host-a").env("FXRATES_LEASE_MS", &lease.to_string()),
        host(&server, &pg, "host-b").env("FXRATES_LEASE_MS", &lease.to_string()),
    );
    server.gate().hold_after(3);
    let slow = spawn(&a, &BACKFILL);
    server.gate().wait_held(1);
    let mut args = BACKFILL.to_vec();
    args.push("-v");
    let waiting = spawn(&b, &args);
    std::thread::sleep(Duration::from_millis(lease * 4));
    assert_eq!(
        server.count(),
        4,
        "B asked for something while A held the claim"
    );
    let holder = pg.sql("SELECT host FROM claims");
    assert_eq!(holder, [["host-a"]]);
    server.gate().open();
    let (code, err) = finish(slow);
    assert_eq!(code, 0, "{err}");
    let (code, err) = finish(waiting);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("host-a is writing to"), "{err}");
    assert!(!err.contains("took over"), "{err}");
    assert!(
        err.contains("every weekday from 2024-09-02 to 2024-09-19 is stored"),
        "{err}"
    );
    for (function, n) in asked(&server) {
        assert_eq!(n, 1, "{function} was asked for {n} times");
    }
    // The claim is released when the run ends.
    assert!(pg.sql("SELECT host FROM claims").is_empty());
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_host_that_cannot_wait_names_the_host_holding_the_store() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let (a, b) = (host(&server, &pg, "host-a"), host(&server, &pg, "host-b"));
    server.gate().hold_after(1);
    let holder = spawn(&a, &BACKFILL);
    server.gate().wait_held(1);
    let err = b.env("FXRATES_LOCK_TIMEOUT", "0").fails(&["ingest"], 73);
    assert!(
        err.contains("another fxrates run (on host-a) is using"),
        "{err}"
    );
    assert_eq!(server.count(), 2, "B made a request");
    server.gate().open();
    let (code, err) = finish(holder);
    assert_eq!(code, 0, "{err}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_host_cut_off_for_longer_than_its_lease_stores_nothing_when_it_returns() {
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let (a, b) = (host(&server, &pg, "host-a"), host(&server, &pg, "host-b"));
    server.gate().hold_after(3);
    let returning = spawn(&a, &BACKFILL);
    server.gate().wait_held(1);
    let taker = spawn(&b, &BACKFILL);
    // A partition as the database sees it: A's renewals stop reaching it
    // and its lease runs out, while A's connection lives on.
    pg.sql("UPDATE claims SET expires_at = now() - interval '1 second'");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg.sql("SELECT host FROM claims") != [["host-b"]] {
        assert!(Instant::now() < deadline, "host-b did not take over");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A's answer arrives: it must not store it, nor ask for anything more.
    server.gate().open();
    let (code, err) = finish(returning);
    assert_eq!(code, 75, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("lost its claim"), "{err}");
    assert!(err.contains("host-b took over"), "{err}");
    let (code, err) = finish(taker);
    assert_eq!(code, 0, "{err}");
    let stored = assert_whole_days(&pg);
    assert_eq!(stored, weekdays("2024-09-02", "2024-09-19"));
    let twice: Vec<_> = asked(&server).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(twice.len() <= 1, "asked more than once: {twice:?}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn six_hosts_ingesting_from_the_ecb_at_once_ask_it_once() {
    let history = EcbHistory::published("2024-08-01", "2024-09-20", &[]);
    let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
    let pg = PgSchema::new();
    // 18:00 UTC: after the ECB's publication, so the month ends today.
    let hosts: Vec<TestEnv> = (1..=6)
        .map(|i| {
            host(&ecb, &pg, &format!("host-{i}"))
                .at("2024-09-20T18:00:00Z")
                .env("FXRATES_PROVIDER", "ecb")
                .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
                .env("FXRATES_ECB_FILES", &ecb.ecb_files())
        })
        .collect();
    let children: Vec<Child> = hosts.iter().map(|h| spawn(h, &["ingest", "-v"])).collect();
    let results: Vec<(i32, String)> = children.into_iter().map(finish).collect();
    for (i, (code, err)) in results.iter().enumerate() {
        assert_eq!(*code, 0, "host-{}: {err}", i + 1);
    }
    // One request for the month, from whichever host held the store.
    assert_eq!(ecb.count(), 1, "{results:?}");
    let stored = pg.sql("SELECT date, source FROM days ORDER BY date");
    assert_eq!(
        stored.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        weekdays("2024-08-21", "2024-09-20")
    );
    assert!(stored.iter().all(|r| r[1] == "ecb"), "{stored:?}");
    let runs = pg.sql("SELECT count(DISTINCT host) FROM runs WHERE command = 'ingest'");
    assert_eq!(runs[0][0], "6");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_host_that_cannot_wait_for_a_writer_still_waits_for_another_hosts_schema_upgrade() {
    // FXRATES_LOCK_TIMEOUT bounds the wait for another writer's claim; the
    // schema's own short upgrade (here: another host's, holding the
    // upgrade's lock) is waited for whatever it says.
    let server = FakeFixer::free_plan("2024-09-20");
    let pg = PgSchema::new();
    let mut other = admin();
    let mut upgrading = other.transaction().unwrap();
    upgrading
        .execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&0x6678_726d_i32, &pg.schema],
        )
        .unwrap();
    let b = host(&server, &pg, "host-b").env("FXRATES_LOCK_TIMEOUT", "0");
    let mut waiting = spawn(&b, &["ingest"]);
    let mut watch = admin();
    let deadline = Instant::now() + Duration::from_secs(30);
    while watch
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        if waiting.try_wait().unwrap().is_some() {
            let (code, err) = finish(waiting);
            panic!("host-b gave up instead of waiting for the upgrade ({code}): {err}");
        }
        assert!(
            Instant::now() < deadline,
            "host-b never waited for the upgrade's lock"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    upgrading.commit().unwrap();
    let (code, err) = finish(waiting);
    assert_eq!(code, 0, "{err}");
    assert_eq!(pg.sql("SELECT max(date)::text FROM days"), [["2024-09-20"]]);
}
