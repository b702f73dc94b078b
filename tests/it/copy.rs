//! `fxrates copy` between two SQLite files, which needs no server (the
//! PostgreSQL directions are in `postgres`).

use crate::common::*;

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

fn a_week_with_a_hole() -> FakeFixer {
    FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body("2024-09-20")),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        "2024-09-18" => Reply::fixer_error(106, "no_rates_available"),
        date => Reply::ok(historical_body(date)),
    })
}

#[test]
fn copy_between_two_sqlite_files_moves_only_what_is_missing() {
    let server = a_week_with_a_hole();
    let source = TestEnv::new(&server.url, NOW);
    let week = ["backfill", "--from", "2024-09-16", "--to", "2024-09-20"];
    assert_eq!(source.run(&week).0, 0);
    let sent = server.count();
    let db = source.db.to_str().unwrap().to_string();
    let copied = TestEnv::new(&server.url, NOW);
    let dest = copied.db.to_str().unwrap();

    let (code, out, err) = source.run(&["copy", &db, dest]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "copied 4 days (28 rates) and 1 unavailable-day record from {db} to {dest}; 0 days \
             were there already\n"
        )),
        "{out}"
    );
    assert_eq!(server.count(), sent, "a copy asks the provider nothing");
    let show = ["show", "--from", "2024-09-16", "--format", "json"];
    assert_eq!(copied.run(&show).1, source.run(&show).1);
    assert_eq!(
        copied.sql("SELECT date, reason FROM unavailable_days"),
        source.sql("SELECT date, reason FROM unavailable_days")
    );
    assert_eq!(copied.sql("SELECT count(*) FROM requests"), [["0"]]);

    let (code, out, _) = source.run(&["copy", &db, dest]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("copied 0 days (0 rates) and 0 unavailable-day records"),
        "{out}"
    );
    assert!(out.contains("4 days were there already"), "{out}");
    let err = source.fails(&["copy", &db, &db], 2);
    assert!(err.contains("SOURCE and DEST are the same store"), "{err}");
}

/// `fxrates copy A B | head -0`: the copy is done when its summary finds no
/// reader, which is no failure (the README promises 0).
#[test]
fn a_copy_whose_reader_left_early_succeeds() {
    let server = a_week_with_a_hole();
    let source = TestEnv::new(&server.url, NOW);
    assert_eq!(source.run(&["ingest", "--no-heal"]).0, 0);
    let db = source.db.to_str().unwrap().to_string();
    let copied = TestEnv::new(&server.url, NOW);
    let dest = copied.db.to_str().unwrap();
    let (code, err) = run_into_closed_pipe(source.std_cmd(&["copy", &db, dest]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(copied.stored_dates(), ["2024-09-20"]);
    // Printed once the run is recorded: the reader's leaving fails no run.
    assert_eq!(copied.sql("SELECT command, ok FROM runs"), [["copy", "1"]]);
}
