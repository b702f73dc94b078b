//! Hostile storage: a file that is not a database, one from another program
//! or a newer fxrates, a directory that cannot be written, a full disk. Each
//! gives exit 74 and a clear line, sends no request it cannot store, and
//! leaves the database as it was.

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const NOW: &str = "2024-09-20T09:00:00Z";

/// `PRAGMA application_id` of fxrates databases ("FXRT").
const FXRATES_ID: i32 = 0x4658_5254;

/// The bytes of the database and the names of its sidecar files, to compare
/// before and after a failed run.
fn snapshot(db: &Path) -> (Vec<u8>, Vec<String>) {
    let dir = db.parent().unwrap();
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (fs::read(db).unwrap(), names)
}

fn write_db(db: &Path, bytes: &[u8]) {
    fs::create_dir_all(db.parent().unwrap()).unwrap();
    fs::write(db, bytes).unwrap();
}

/// A database made by `setup`, closed again so no sidecar files remain.
fn sqlite_db(db: &Path, setup: &str) {
    fs::create_dir_all(db.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(setup).unwrap();
}

/// Runs `args` and checks the failure: exit 74 and one line containing
/// `says` (also with `-vv` and `RUST_LOG=trace`), no request sent, the
/// database byte-for-byte as it was and no new file anywhere in the home.
/// Returns the error line.
fn fails_untouched(env: &TestEnv, server: &FakeFixer, args: &[&str], says: &str) -> String {
    let before = snapshot(&env.db);
    let tree = env.tree();
    let (code, out, err) = env.run(args);
    assert_eq!(code, 74, "{args:?}: {err}");
    assert!(
        err.starts_with("fxrates: error: ") && err.contains(says),
        "{says:?} not in {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(out, "");
    let line = env.fails(args, 74);
    assert!(line.contains(says), "{says:?} not in {line}");
    assert_eq!(server.count(), 0, "{args:?} sent a request");
    let after = snapshot(&env.db);
    assert_eq!(before.1, after.1, "files beside the database changed");
    assert!(before.0 == after.0, "{args:?} changed the database");
    assert_eq!(env.tree(), tree, "{args:?} added or removed a file");
    line
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    for text in [
        b"these are my notes, not a database\n".repeat(200),
        b"date,rate\n2024-09-20,1.2\n".repeat(100),
    ] {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::new(&server.url, NOW);
        write_db(&env.db, &text);
        let says = format!(
            "{} is not an fxrates database (it is not SQLite, or is damaged)",
            env.db.display()
        );
        fails_untouched(&env, &server, &["ingest", "--no-heal"], &says);
        fails_untouched(&env, &server, &["show"], &says);
        assert_eq!(fs::read(&env.db).unwrap(), text);
    }
}

#[test]
fn another_programs_database_is_refused_and_left_alone() {
    for setup in [
        "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos VALUES (1, 'cat');",
        "CREATE TABLE notes (body TEXT);",
    ] {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::new(&server.url, NOW);
        sqlite_db(&env.db, setup);
        let says = "is a SQLite database of another program, not fxrates'";
        fails_untouched(&env, &server, &["ingest", "--no-heal"], says);
        fails_untouched(&env, &server, &["show"], says);
    }
}

#[test]
fn a_database_from_a_newer_fxrates_is_refused_and_left_alone() {
    let version = fxrates::store::VERSION;
    for (newer, journal, table) in [
        (version + 1, "DELETE", "days (date TEXT)"),
        (version + 1, "WAL", "days (date TEXT)"),
        (version + 7, "DELETE", "future (x)"),
    ] {
        let says = format!("has schema version {newer}, newer than the version");
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::new(&server.url, NOW);
        sqlite_db(
            &env.db,
            &format!(
                "PRAGMA journal_mode = {journal}; CREATE TABLE {table}; PRAGMA user_version = {newer}; \
                 PRAGMA application_id = {FXRATES_ID};"
            ),
        );
        for args in [
            &["ingest", "--no-heal"][..],
            &["ingest", "--no-heal", "--force"][..],
            &["show"][..],
        ] {
            let msg = fails_untouched(&env, &server, args, &says);
            assert!(
                msg.contains(&version.to_string())
                    && msg.contains("upgrade fxrates")
                    && msg.contains(env.db.to_str().unwrap()),
                "{msg}"
            );
        }
        fails_untouched(
            &env,
            &server,
            &["ingest", "--no-heal", "--date", "2024-09-19"],
            "upgrade fxrates",
        );
    }
}

#[test]
fn a_path_below_a_regular_file_is_refused() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    let file = env.path().join("notes.txt");
    fs::write(&file, "not a directory").unwrap();
    let db = file.join("rates.db");
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 74, "{err}");
    assert_eq!(
        err,
        format!(
            "fxrates: error: {} is a file, not a directory, so the database cannot go in it; point \
             --db (FXRATES_DB) at another path\n",
            file.display()
        )
    );
    assert_eq!(server.count(), 0);
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a directory");
}

/// Root ignores permission bits, so when the tests run as root the binary
/// runs as the unprivileged user 65534 (nobody) for these cases.
fn as_unprivileged(env: &TestEnv, args: &[&str]) -> (i32, String) {
    let mut cmd = env.std_cmd(args);
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_key(&err);
    (out.status.code().unwrap_or(-1), err)
}

/// Hands `path` (and what is in it) to the user the binary runs as.
fn give_away(path: &Path) {
    if is_root() {
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
        if path.is_dir() {
            for e in fs::read_dir(path).unwrap() {
                give_away(&e.unwrap().path());
            }
        }
    }
}

fn unwritable_home(server: &FakeFixer) -> (TestEnv, PathBuf) {
    let env = TestEnv::new(&server.url, NOW);
    fs::set_permissions(env.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dir = env.db.parent().unwrap().to_owned();
    fs::create_dir_all(&dir).unwrap();
    (env, dir)
}

#[test]
fn a_directory_that_cannot_be_written_is_reported_and_nothing_is_sent() {
    let server = FakeFixer::free_plan("2024-09-20");
    let (env, dir) = unwritable_home(&server);
    give_away(&dir);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let (code, err) = as_unprivileged(&env, &["ingest", "--no-heal"]);
    assert_eq!(code, 74, "{err}");
    assert_eq!(
        err,
        format!(
            "fxrates: error: cannot create the database {}; check that its directory is writable, \
             or set --db (FXRATES_DB) (permission denied)\n",
            env.db.display()
        )
    );
    assert_eq!(server.count(), 0);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn a_database_in_a_directory_that_cannot_be_written_is_left_alone() {
    let server = FakeFixer::free_plan("2024-09-20");
    let (env, dir) = unwritable_home(&server);
    give_away(&dir);
    let (code, err) = as_unprivileged(&env, &["ingest", "--no-heal", "--date", "2024-09-19"]);
    assert_eq!(code, 0, "{err}");
    // The lock file stays; the directory is then closed to new files, so
    // SQLite cannot create its write-ahead log.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
    let before = snapshot(&env.db);
    let (code, err) = as_unprivileged(&env, &["ingest", "--no-heal"]);
    assert_eq!(code, 74, "{err}");
    assert!(
        err.starts_with(&format!(
            "fxrates: error: cannot configure the database ({})",
            env.db.display()
        )),
        "{err}"
    );
    assert!(err.contains("(the file or its directory"), "{err}");
    assert_eq!(
        server.count(),
        1,
        "a request was sent that could not be stored"
    );
    assert_eq!(snapshot(&env.db), before);
    // SQLite cannot read a WAL database where it cannot make its -shm file:
    // show says so too, and changes nothing.
    let (code, err) = as_unprivileged(&env, &["show"]);
    assert_eq!(code, 74, "{err}");
    assert!(err.contains("(the file or its directory"), "{err}");
    assert_eq!(snapshot(&env.db), before);
}

/// A small tmpfs, unmounted on drop: a disk that really fills up.
struct TinyDisk(PathBuf);

impl TinyDisk {
    /// Mounts it at `at` (only root may).
    fn mount(at: PathBuf) -> TinyDisk {
        require_root();
        fs::create_dir_all(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
            .arg(&at)
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "mount -t tmpfs failed: {status:?}"
        );
        TinyDisk(at)
    }

    /// Fills the disk, then frees `free` bytes again.
    fn fill_leaving(&self, free: u64) {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = fs::File::create(&path).unwrap();
        let chunk = [0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let len = fs::metadata(&path).unwrap().len();
        f.set_len(len.saturating_sub(free)).unwrap();
    }

    fn empty(&self) {
        let _ = fs::remove_file(self.0.join("filler"));
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
#[ignore = "needs root"]
fn a_full_disk_never_leaves_a_partial_day_and_the_next_run_resumes() {
    let server = FakeFixer::free_plan("2024-09-20");
    let mut env = TestEnv::new(&server.url, NOW);
    let disk = TinyDisk::mount(env.path().join("disk"));
    env.db = disk.0.join("rates.db");
    assert_eq!(
        env.run(&["ingest", "--no-heal", "--date", "2024-09-18"]).0,
        0
    );

    // Full before the run: refused before any request, the file unchanged.
    disk.fill_leaving(0);
    let before = fs::read(&env.db).unwrap();
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]);
    assert_eq!(code, 74, "{err}");
    assert!(
        err.contains("(the disk is full") || err.contains("(disk I/O error"),
        "{err}"
    );
    assert_eq!(server.count(), 1);
    assert!(fs::read(&env.db).unwrap() == before, "the database changed");
    disk.empty();
    assert_eq!(env.stored_dates(), ["2024-09-18"]);

    // Full in the middle of the run, at every point from the request record
    // to the rates and the run record: never a partial day. Each run starts
    // from the same files, so what a failed run left behind (a -wal file
    // whose space the next run reuses) cannot move the points it fails at.
    let start = all_bytes(&env.db);
    let mut failed_after_request = false;
    let mut last_failed = None;
    for free_kb in (4..=96).step_by(4) {
        put_back(&env.db, &start);
        disk.fill_leaving(free_kb * 1024);
        let sent = server.count();
        let (code, _, err) = env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]);
        disk.empty();
        if code == 0 {
            continue;
        }
        assert_eq!(code, 74, "{free_kb} KB free: {err}");
        assert!(
            err.contains("(the disk is full") || err.contains("(disk I/O error"),
            "{err}"
        );
        failed_after_request |= server.count() > sent;
        assert_eq!(integrity(&env.db), "ok");
        // The day is stored whole or not at all (a bookkeeping write after
        // it, such as the run record, may be what found the disk full).
        let stored = env.stored_dates();
        assert!(
            stored == ["2024-09-18"] || stored == ["2024-09-18", "2024-09-19"],
            "{free_kb} KB free: {stored:?}"
        );
        for row in env.sql("SELECT count(*) FROM day_rates GROUP BY date") {
            assert_eq!(row[0], RATES_SHOWN.len().to_string(), "{free_kb} KB free");
        }
        last_failed = Some(all_bytes(&env.db));
    }
    assert!(
        failed_after_request,
        "no run failed between the request and the write"
    );

    // With space again, the run after the last failed one stores the day
    // whole.
    put_back(&env.db, &last_failed.expect("no run failed"));
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates(), ["2024-09-18", "2024-09-19"]);
    assert_eq!(integrity(&env.db), "ok");
    let per_day = env.sql("SELECT count(*) FROM day_rates GROUP BY date");
    assert_eq!(per_day, vec![vec![RATES_SHOWN.len().to_string()]; 2]);
}

/// Puts the database's files back as `files` (from [`all_bytes`]) held
/// them; the wal-index (`-shm`) is left out, for SQLite to rebuild.
fn put_back(db: &Path, files: &[(String, Vec<u8>)]) {
    let dir = db.parent().unwrap();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::remove_file(path).unwrap();
        }
    }
    for (name, bytes) in files {
        if !name.ends_with("-shm") {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

/// The bytes of the database and of every file beside it.
fn all_bytes(db: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn another_programs_database_with_a_version_is_refused_and_left_alone() {
    for setup in [
        "CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = 1;",
        "CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = -1;",
        "PRAGMA journal_mode = WAL; CREATE TABLE photos (id INTEGER PRIMARY KEY); PRAGMA user_version = 1;",
        "PRAGMA journal_mode = WAL; CREATE TABLE t (x); PRAGMA user_version = -3;",
        "CREATE TABLE days (date TEXT); PRAGMA user_version = 1;",
        "CREATE TABLE t (x); PRAGMA application_id = 7;",
    ] {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::new(&server.url, NOW);
        sqlite_db(&env.db, setup);
        let before = all_bytes(&env.db);
        let says = "is a SQLite database of another program, not fxrates'";
        for args in [
            &["ingest", "--no-heal"][..],
            &["backfill", "--days", "3"],
            &["show"],
            &["prune"],
        ] {
            fails_untouched(&env, &server, args, says);
        }
        assert_eq!(all_bytes(&env.db), before, "{setup}");
    }
}

#[test]
fn readers_never_change_another_programs_database_in_use() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    // The other program still has it open, its last writes in the log.
    let other = rusqlite::Connection::open(&env.db).unwrap();
    other
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
             CREATE TABLE photos (id INTEGER PRIMARY KEY); INSERT INTO photos VALUES (1);",
        )
        .unwrap();
    let names = |db: &Path| all_bytes(db).into_iter().map(|f| f.0).collect::<Vec<_>>();
    assert_eq!(names(&env.db), ["rates.db", "rates.db-shm", "rates.db-wal"]);
    let bytes = |suffix: &str| fs::read(format!("{}{suffix}", env.db.display())).unwrap();
    let (main, wal) = (bytes(""), bytes("-wal"));
    for args in [
        &["show"][..],
        &["status"],
        &["ingest", "--no-heal"],
        &["chart", "USD"],
    ] {
        let (code, _, err) = env.run(args);
        assert_eq!(code, 74, "{args:?}: {err}");
        assert!(err.contains("another program"), "{err}");
        assert_eq!(
            (bytes(""), bytes("-wal")),
            (main.clone(), wal.clone()),
            "{args:?}"
        );
        assert_eq!(names(&env.db), ["rates.db", "rates.db-shm", "rates.db-wal"]);
    }
    let n: i64 = other
        .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(server.count(), 0);
}

#[test]
fn a_fifo_at_the_database_path_is_refused_at_once() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    let path = std::ffi::CString::new(env.db.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    for args in [
        &["ingest", "--no-heal"][..],
        &["show"],
        &["status"],
        &["prune", "--dry-run"],
    ] {
        // Not `env.run`: its check of the database's bytes would open the
        // FIFO and wait forever.
        let out = env
            .cmd(args)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(74), "{args:?}: {err}");
        let msg = error_line(&err);
        assert!(msg.contains("is a FIFO (named pipe), not a file"), "{msg}");
        assert!(!msg.contains("disk"), "{msg}");
    }
    assert_eq!(server.count(), 0);
}

#[test]
fn a_zero_byte_file_is_an_empty_database() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    write_db(&env.db, b"");
    let tree = env.tree();
    let (code, out, err) = env.run(&["status"]);
    assert_eq!(code, 1, "unhealthy, not an error: {err}");
    assert!(out.contains("no rates are stored"), "{out}");
    let msg = env.fails(&["show"], 66);
    assert!(msg.contains("holds no rates yet"), "{msg}");
    env.fails(&["convert", "1", "EUR", "USD"], 66);
    assert_eq!(env.tree(), tree, "readers changed nothing");
    assert_eq!(fs::read(&env.db).unwrap(), b"");
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "a writer makes it a database: {err}");
    assert_eq!(env.run(&["show"]).0, 0);
}

#[test]
fn a_database_made_before_the_mark_is_recognised_and_marked() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(
        env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]).0,
        0
    );
    assert_eq!(
        env.sql("PRAGMA application_id")[0][0],
        FXRATES_ID.to_string()
    );
    // As an fxrates without the mark left it.
    rusqlite::Connection::open(&env.db)
        .unwrap()
        .execute_batch("PRAGMA application_id = 0;")
        .unwrap();
    assert_eq!(env.run(&["show", "--date", "2024-09-19"]).0, 0);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        env.sql("PRAGMA application_id")[0][0],
        FXRATES_ID.to_string()
    );
    assert_eq!(env.stored_dates(), ["2024-09-19", "2024-09-20"]);
}

#[test]
fn a_negative_version_is_refused_by_writers_and_readers_alike() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(
        env.run(&["ingest", "--no-heal", "--date", "2024-09-19"]).0,
        0
    );
    rusqlite::Connection::open(&env.db)
        .unwrap()
        .execute_batch("PRAGMA user_version = -1;")
        .unwrap();
    let server = FakeFixer::free_plan("2024-09-20");
    let mut env = env;
    env.endpoint = server.url.clone();
    for args in [&["ingest", "--no-heal"][..], &["show"], &["status"]] {
        fails_untouched(&env, &server, args, "no fxrates ever wrote; it is damaged");
    }
}

#[test]
fn a_damaged_database_is_unhealthy_and_every_failure_says_why() {
    let server = paid_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    let (code, _, err) = env.run(&["backfill", "--from", "2024-01-01"]);
    assert_eq!(code, 0, "{err}");
    // Flip bytes in the root page of the days' b-tree, which every
    // command reads (where the tables lie in the file changes with them).
    let root: usize = env.sql("SELECT rootpage FROM sqlite_master WHERE name = 'days'")[0][0]
        .parse()
        .unwrap();
    let mut bytes = fs::read(&env.db).unwrap();
    let page = 4096;
    let at = (root - 1) * page;
    for b in &mut bytes[at + 8..at + 200] {
        *b ^= 0x5a;
    }
    fs::write(&env.db, &bytes).unwrap();

    for args in [&["status"][..], &["status", "--deep"]] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.contains("the database is damaged"), "{args:?}: {out}");
        assert!(out.contains("Backups"), "{args:?}: {out}");
    }
    for args in [
        &["ingest", "--no-heal"][..],
        &["show", "--from", "2024-01-01"],
        &["chart", "USD", "--from", "2024-01-01"],
    ] {
        let (code, _, err) = env.run(args);
        if code == 74 {
            assert!(err.contains("damaged"), "{args:?} says why: {err}");
            assert!(
                err.contains("Backups"),
                "{args:?} says how to restore: {err}"
            );
        } else {
            assert_eq!(code, 0, "{args:?}: {err}");
        }
    }
    let (code, _, err) = env.at("2024-09-27T09:00:00Z").run(&["ingest", "--no-heal"]);
    assert_eq!(code, 74, "a writer checks the whole file weekly: {err}");
    assert!(err.contains("damaged"), "{err}");
}

/// The page of the database file holding `needle`, from its start.
fn page_holding(db: &Path, needle: &[u8]) -> usize {
    let bytes = fs::read(db).unwrap();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    at / 4096 * 4096
}

#[test]
fn damage_no_daily_run_reads_is_found_weekly_and_by_a_deep_status() {
    // Damage in old rates: the daily runs and `status` never read those
    // pages, so they go on; the weekly full check, `status --deep` and a
    // reader of those days find it.
    let server = paid_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    let (code, _, err) = env.run(&["backfill", "--from", "2024-01-01"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = env.run(&["status"]);
    assert!(
        out.contains("checked:      2024-09-20 (every page, weekly by a writer"),
        "{out}"
    );
    let at = page_holding(&env.db, b"2024-05-15AUD");
    let mut bytes = fs::read(&env.db).unwrap();
    for b in &mut bytes[at + 8..at + 200] {
        *b ^= 0x5a;
    }
    fs::write(&env.db, &bytes).unwrap();

    let (code, out, err) = env.run(&["status"]);
    assert_eq!(code, 0, "status reads none of those pages: {out}{err}");
    let (code, out, err) = env.run(&["status", "--deep"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("the database is damaged"), "{out}");
    let (code, _, err) = env.run(&["show", "--date", "2024-05-15"]);
    assert_eq!(code, 74, "SQLite's own error on the page read: {err}");
    assert!(err.contains("damaged"), "{err}");

    // The daily run within the week stores its day; a week after the last
    // full check, every writer checks, finds the damage and stops, until
    // the file is restored.
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--force"]);
    assert_eq!(code, 0, "{err}");
    let week_later = env.at("2024-09-27T09:00:00Z");
    let before = server.count();
    for _ in 0..2 {
        let (code, _, err) = week_later.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 74, "{err}");
        assert!(err.contains("damaged") && err.contains("Backups"), "{err}");
    }
    assert_eq!(server.count(), before, "no request before the check");
    let (code, out, _) = week_later.run(&["status"]);
    assert_eq!(code, 3, "the failed runs wait for a person: {out}");
}

#[test]
fn the_full_check_runs_once_a_week_and_is_recorded() {
    let server = paid_plan("2024-09-20");
    let env = TestEnv::new(&server.url, NOW);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let checked = |env: &TestEnv| env.sql("SELECT full_check_on FROM upkeep");
    assert_eq!(checked(&env), [["2024-09-20"]]);
    for (now, want) in [
        ("2024-09-26T09:00:00Z", "2024-09-20"), // six days later: not due
        ("2024-09-27T09:00:00Z", "2024-09-27"), // seven: due
        ("2024-09-10T09:00:00Z", "2024-09-10"), // a clock set back: due
    ] {
        let later = env.at(now);
        let day = &now[..10];
        let (code, _, err) = later.run(&["ingest", "--no-heal", "--date", day]);
        assert_eq!(code, 0, "{now}: {err}");
        assert_eq!(checked(&later), [[want]], "{now}");
    }
}
