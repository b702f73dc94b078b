//! Crash safety: a writer killed with SIGKILL at any moment leaves every
//! stored day complete and the database intact; its lock dies with it, and
//! the next run fetches only what is missing.

use crate::common::*;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

const NOW: &str = "2024-09-20T09:00:00Z";

/// 170 currencies, so that storing a day takes long enough to be killed in.
fn many_rates() -> String {
    let pairs: Vec<String> = (0..170)
        .map(|i| {
            let code: String = [b'A' + (i / 26) as u8, b'A' + (i % 26) as u8, b'X']
                .iter()
                .map(|&b| b as char)
                .collect();
            format!(r#""{code}":{}.{:06}"#, i + 1, i * 7919 % 1_000_000)
        })
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// A free-plan server whose answers take `delay` and carry 170 rates.
fn slow_server(delay: Duration) -> FakeFixer {
    let rates = many_rates();
    FakeFixer::start(move |s| {
        std::thread::sleep(delay);
        match s.function() {
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            "latest" => Reply::ok(day_body("2024-09-20", &rates)),
            date => Reply::ok(day_body(date, &rates)),
        }
    })
}

/// What a crashed run must leave: an intact database in which every stored
/// day has all its rates. It is opened for writing, as the next run opens
/// it: a process killed mid-write can leave a write-ahead log that only a
/// writer may recover (a read-only connection fails with
/// SQLITE_READONLY_RECOVERY).
fn assert_consistent(env: &TestEnv) {
    if !env.db.exists() {
        return;
    }
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let rows = |query: &str| -> Vec<(String, i64)> {
        let mut stmt = conn.prepare(query).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // Killed before its schema was committed: an empty database, which
    // the next run sets up.
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    if tables == 0 {
        return;
    }
    let mut fk = conn.prepare("PRAGMA foreign_key_check").unwrap();
    assert!(
        fk.query([]).unwrap().next().unwrap().is_none(),
        "a foreign key is broken"
    );
    for (date, rates) in rows(
        "SELECT d.date, count(r.currency) FROM days d LEFT JOIN day_rates r ON r.date = d.date GROUP BY d.date",
    ) {
        assert_eq!(rates, 170, "day {date} is incomplete");
    }
}

/// How many requests each date (or `latest`) has had.
fn asked(server: &FakeFixer) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for s in server.requests() {
        *n.entry(s.function().to_string()).or_default() += 1;
    }
    n
}

/// Waits until the server has seen a request beyond the first `seen`, or the
/// child has exited, for at most 30 s.
fn wait_for_request(server: &FakeFixer, seen: usize, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while server.count() <= seen {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run sent no request within 30 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A pseudo-random sequence of pauses, the same on every run of the test.
fn pauses(count: usize) -> Vec<Duration> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_millis(x % 40)
        })
        .collect()
}

#[test]
fn ingests_killed_at_random_moments_leave_whole_days_and_the_next_run_resumes() {
    let server = slow_server(Duration::from_millis(5));
    let env = TestEnv::new(&server.url, NOW);
    let days: Vec<String> = (2..=20)
        .map(|d| format!("2024-09-{d:02}"))
        .filter(|d| !["2024-09-07", "2024-09-08", "2024-09-14", "2024-09-15"].contains(&d.as_str()))
        .collect();
    for (i, (day, pause)) in days.iter().zip(pauses(days.len())).enumerate() {
        let asked_so_far = server.count();
        let mut child = env
            .std_cmd(&["ingest", "--no-heal", "--date", day])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Every other run is killed counting from its request, so that a
        // slow start (a loaded machine) cannot make every kill land before
        // the run has asked for anything; the others from the start, which
        // covers a run killed while it sets the database up.
        if i % 2 == 1 {
            wait_for_request(&server, asked_so_far, &mut child);
        }
        std::thread::sleep(pause);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_consistent(&env);
    }

    // The next runs find no stale lock and fetch only the missing days.
    let stored_before = env.stored_dates();
    let asked_before = asked(&server);
    let env = env.env("FXRATES_LOCK_TIMEOUT", "0");
    for day in &days {
        let (code, _, err) = env.run(&["ingest", "--no-heal", "--date", day]);
        assert_eq!(code, 0, "{day}: {err}");
    }
    assert_consistent(&env);
    assert_eq!(&env.stored_dates(), &days);
    let asked_after = asked(&server);
    for day in &days {
        let again = asked_after.get(day).copied().unwrap_or(0)
            - asked_before.get(day).copied().unwrap_or(0);
        let expected = usize::from(!stored_before.contains(day));
        assert_eq!(again, expected, "{day} was asked for {again} more times");
    }
}

#[test]
fn a_backfill_killed_again_and_again_leaves_whole_days_and_the_next_run_resumes() {
    let server = slow_server(Duration::from_millis(10));
    // Five answers per run at most, then the server holds: no run can
    // finish before it is killed.
    server.gate().hold_after(0);
    let env = TestEnv::new(&server.url, NOW);
    let args = [
        "backfill",
        "--from",
        "2024-06-03",
        "--to",
        "2024-09-20",
        "--monthly-quota",
        "10000",
    ];
    let all = weekdays("2024-06-03", "2024-09-20");
    for pause in pauses(6) {
        let before = env.stored_dates().len();
        let mut child = env
            .std_cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it have three answers and store them, then kill it in the
        // middle of whatever it is doing: a request, a write, a commit, or
        // waiting at the gate.
        let answered = server.gate().answered();
        server.gate().allow(5);
        server.gate().wait_answered(answered + 3);
        std::thread::sleep(pause * 5);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_consistent(&env);
        assert!(
            env.stored_dates().len() >= before,
            "a kill lost stored days"
        );
    }
    let stored_before = env.stored_dates();
    assert!(
        stored_before.len() < all.len(),
        "the backfill finished before it was killed"
    );
    let asked_before = asked(&server);

    server.gate().open();
    let env = env.env("FXRATES_LOCK_TIMEOUT", "0");
    let (code, _, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert_consistent(&env);
    assert_eq!(env.stored_dates(), all);
    // The last run asked only for the days that were missing.
    let asked_after = asked(&server);
    for day in &all {
        let again = asked_after.get(day).copied().unwrap_or(0)
            - asked_before.get(day).copied().unwrap_or(0);
        let expected = usize::from(!stored_before.contains(day));
        assert_eq!(again, expected, "{day} was asked for {again} more times");
    }
}
