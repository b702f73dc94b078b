//! What a PostgreSQL server's own state means for a run: its clock, which
//! a host's must not be ahead of, and its encoding, which must not turn a
//! provider's words into a storage error.

use crate::common::*;
use chrono::{TimeDelta, Utc};

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_host_clock_ahead_of_the_server_is_refused_before_any_request() {
    // The server's clock is the real one; the host's is three days ahead.
    let ahead = Utc::now() + TimeDelta::days(3);
    let server = FakeFixer::free_plan(&ahead.date_naive().to_string());
    let env = TestEnv::new(&server.url, &ahead.to_rfc3339()).postgres(PgSchema::new());
    for args in [&["ingest"][..], &["backfill", "--from", "2024-09-02"][..]] {
        let msg = env.fails(args, 78);
        assert!(msg.contains("ahead of the database server's"), "{msg}");
        assert!(
            msg.contains(&ahead.format("%Y-%m-%d %H:%M").to_string()),
            "the host's time: {msg}"
        );
        assert!(
            msg.contains(&Utc::now().format("%Y-%m-%d").to_string()),
            "the server's time: {msg}"
        );
    }
    assert_eq!(server.count(), 0, "a request was spent");
    assert_eq!(env.stored(), Vec::<Vec<String>>::new());

    // A clock behind the server's is a replay's or a test's (every other
    // test runs in 2024): it goes on.
    let behind = FakeFixer::free_plan("2024-09-20");
    let past = TestEnv::new(&behind.url, "2024-09-20T09:00:00Z").postgres(env.pg.clone().unwrap());
    let (code, _, err) = past.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "a fixed clock in the past is meant");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn no_day_later_than_the_servers_today_is_stored() {
    // A SQLite history made on a host whose clock said 2030.
    let server = FakeFixer::free_plan("2030-01-02");
    let future = TestEnv::new(&server.url, "2030-01-02T09:00:00Z");
    assert_eq!(future.run(&["ingest", "--no-heal"]).0, 0);
    let db = future.db.to_str().unwrap().to_string();
    // Copied into PostgreSQL by a host whose clock is right.
    let pg = PgSchema::new();
    let env = TestEnv::new(&server.url, &Utc::now().to_rfc3339()).postgres(pg.clone());
    let msg = env.fails(&["copy", &db, &pg.url], 78);
    assert!(msg.contains("refusing to store 2030-01-02"), "{msg}");
    assert!(msg.contains("has not begun"), "{msg}");
    assert_eq!(pg.sql("SELECT count(*) FROM days"), [["0"]]);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn provider_text_a_latin1_database_cannot_hold_keeps_the_runs_real_error() {
    let db = unique_schema("latin1");
    admin()
        .batch_execute(&format!(
            "CREATE DATABASE {db} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' \
             TEMPLATE template0"
        ))
        .unwrap();
    let url = format!("postgresql://postgres@{}/{db}", authority());
    let pg = PgSchema {
        url: url.clone(),
        schema: "fxrates".into(),
    };
    // A day is stored first, so the schema exists; then the key is refused
    // in words LATIN1 has no letters for.
    let good = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&good.url, "2024-09-20T09:00:00Z").postgres(pg.clone());
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let refusing = FakeFixer::start(|_| {
        Reply::ok(
            r#"{"success":false,"error":{"code":101,"type":"invalid_access_key","info":"Ключ недействителен ✗"}}"#,
        )
    });
    let env = TestEnv::new(&refusing.url, "2024-09-23T09:00:00Z")
        .postgres(pg.clone())
        .env("FXRATES_HOSTNAME", "hôte-π");
    let msg = env.fails(&["ingest", "--no-heal"], 78);
    assert!(!msg.contains("cannot record"), "{msg}");
    // What was recorded is escaped, not lost.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let last = client
        .query_one(
            "SELECT outcome, host FROM fxrates.requests ORDER BY id DESC LIMIT 1",
            &[],
        )
        .unwrap();
    let (outcome, host): (String, String) = (last.get(0), last.get(1));
    assert!(outcome.contains("\\u{41a}"), "{outcome}");
    assert_eq!(host, "h\\u{f4}te-\\u{3c0}");
    let failed: i64 = client
        .query_one(
            "SELECT count(*) FROM fxrates.runs WHERE position('\\u{41a}' IN error) > 0",
            &[],
        )
        .unwrap()
        .get(0);
    // `fails` runs it three times.
    assert_eq!(failed, 3, "the failed runs are recorded, escaped");
}
