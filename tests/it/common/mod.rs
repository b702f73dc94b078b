//! Shared test fixtures: the fake fixer server (`server`), the answers it
//! gives, and a clean environment to run the real binary in.

mod proxy;
mod server;
mod tls;

pub use proxy::*;
pub use server::*;
pub use tls::*;

#[macro_use]
mod pg;

pub use pg::*;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The key every test uses: recognisable, so a leak is easy to find.
pub const FAKE_KEY: &str = "FAKEKEY-0123456789abcdef-SECRET";

/// Every date from `from` to `to` (both included), as text. Written with
/// chrono alone, independently of the calendar code under test.
pub fn all_dates(from: &str, to: &str) -> Vec<String> {
    let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    d(from)
        .iter_days()
        .take_while(|x| *x <= d(to))
        .map(|x| x.to_string())
        .collect()
}

/// The Mondays to Fridays from `from` to `to`, as text.
pub fn weekdays(from: &str, to: &str) -> Vec<String> {
    use chrono::{Datelike, Weekday};
    all_dates(from, to)
        .into_iter()
        .filter(|x| {
            let d = chrono::NaiveDate::parse_from_str(x, "%Y-%m-%d").unwrap();
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        })
        .collect()
}

/// A paid plan: `timeseries` answers every date of the range, weekends
/// included, as real paid plans may; `latest` answers for `today`.
pub fn paid_plan(today: &str) -> FakeFixer {
    let today = today.to_string();
    FakeFixer::start(move |s| match s.function() {
        "timeseries" => {
            let (start, end) = (&s.query["start_date"], &s.query["end_date"]);
            Reply::ok(timeseries_body(start, end, &all_dates(start, end)))
        }
        "latest" => Reply::ok(latest_body(&today)),
        date if is_date(date) => Reply::ok(historical_body(date)),
        _ => Reply::fixer_error(302, "invalid_date"),
    })
}

pub fn is_date(s: &str) -> bool {
    s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-'
}

/// The rates every fake answer carries: real-looking values, including the
/// shapes that float printing gets wrong.
pub const RATES: &str = r#"{"AUD":1.566015,"BTC":1.25511e-05,"EUR":1,"GBP":0.83578,"JPY":132.360679,"USD":1.23396,"XAU":0.000435}"#;

/// The same rates as `show` must print them.
pub const RATES_SHOWN: [(&str, &str); 7] = [
    ("AUD", "1.566015"),
    ("BTC", "0.0000125511"),
    ("EUR", "1"),
    ("GBP", "0.83578"),
    ("JPY", "132.360679"),
    ("USD", "1.23396"),
    ("XAU", "0.000435"),
];

pub fn latest_body(date: &str) -> String {
    format!(
        r#"{{"success":true,"timestamp":1519296206,"base":"EUR","date":"{date}","rates":{RATES}}}"#
    )
}

pub fn historical_body(date: &str) -> String {
    format!(
        r#"{{"success":true,"timestamp":1563667199,"historical":true,"base":"EUR","date":"{date}","rates":{RATES}}}"#
    )
}

/// A timeseries answer for the given dates (all with the same rates).
pub fn timeseries_body(start: &str, end: &str, dates: &[String]) -> String {
    let days: Vec<String> = dates.iter().map(|d| format!(r#""{d}":{RATES}"#)).collect();
    format!(
        r#"{{"success":true,"timeseries":true,"start_date":"{start}","end_date":"{end}","base":"EUR","rates":{{{}}}}}"#,
        days.join(",")
    )
}

/// A temporary home for one test: its own database path and a clean
/// environment, with "now" fixed.
pub struct TestEnv {
    pub dir: TempDir,
    /// The SQLite file (unused when `pg` is set).
    pub db: PathBuf,
    /// The PostgreSQL schema the test's store is, if it is not SQLite.
    pub pg: Option<PgSchema>,
    pub endpoint: String,
    pub now: String,
    pub extra_env: Vec<(String, String)>,
}

impl TestEnv {
    /// `now` is RFC 3339, read in UTC (TZ=UTC), e.g. "2024-09-20T09:00:00Z".
    pub fn new(endpoint: &str, now: &str) -> TestEnv {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("data").join("rates.db");
        TestEnv {
            dir,
            db,
            pg: None,
            endpoint: endpoint.to_string(),
            now: now.to_string(),
            extra_env: Vec::new(),
        }
    }

    /// [`TestEnv::new`] on the given store: for PostgreSQL, a schema of its
    /// own on the test server, passed as `FXRATES_DB` and `FXRATES_DB_SCHEMA`.
    pub fn on(backend: Backend, endpoint: &str, now: &str) -> TestEnv {
        let env = TestEnv::new(endpoint, now);
        match backend {
            Backend::Sqlite => env,
            Backend::Postgres => env.postgres(PgSchema::new()),
        }
    }

    /// This environment on the PostgreSQL schema `pg`.
    pub fn postgres(mut self, pg: PgSchema) -> TestEnv {
        self.extra_env.push(("FXRATES_DB".into(), pg.url.clone()));
        self.extra_env
            .push(("FXRATES_DB_SCHEMA".into(), pg.schema.clone()));
        self.pg = Some(pg);
        self
    }

    /// The store, as the library names it.
    pub fn target(&self) -> fxrates::store::Target {
        match &self.pg {
            Some(pg) => pg.target(),
            None => fxrates::store::Target::Sqlite(self.db.clone()),
        }
    }

    /// Whether the store exists (the file, or the schema).
    /// Whether the store holds a database: a 0-byte file (a first run
    /// killed before its schema was written) holds none yet.
    pub fn store_exists(&self) -> bool {
        match &self.pg {
            Some(pg) => pg.exists(),
            None => std::fs::metadata(&self.db).is_ok_and(|m| m.len() > 0),
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> TestEnv {
        self.extra_env.push((k.into(), v.into()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The real binary, with nothing inherited from the caller's environment
    /// but PATH.
    pub fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_cmd(args))
    }

    /// [`TestEnv::cmd`] as a plain `std::process::Command`, for tests that
    /// drive the child's pipes or signals themselves.
    pub fn std_cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("fxrates"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("TZ", "UTC")
            .env("FXRATES_DB", &self.db)
            .env("FIXER_ENDPOINT", &self.endpoint)
            .env("FIXER_API_KEY", FAKE_KEY)
            .env("FXRATES_NOW", &self.now)
            // Retries wait milliseconds, not seconds (hidden setting).
            .env("FXRATES_RETRY_BASE_MS", "10")
            .args(args);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Writes `text` to a key file in the test's home with `mode`; returns
    /// its path.
    pub fn key_file(&self, text: &str, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path().join("fixer.key");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// Another home on the same database and provider, at another time.
    pub fn at(&self, now: &str) -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
            db: self.db.clone(),
            pg: self.pg.clone(),
            endpoint: self.endpoint.clone(),
            now: now.into(),
            extra_env: self.extra_env.clone(),
        }
    }

    /// Runs the binary and returns (exit code, stdout, stderr), checking that
    /// the key appears in neither, nor in the database files.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_cmd(self.cmd(args))
    }

    /// [`TestEnv::run`] for a command the caller adjusted (extra variables,
    /// a removed key, ...).
    pub fn run_cmd(&self, mut cmd: Command) -> (i32, String, String) {
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_no_key(&stdout);
        assert_no_key(&stderr);
        self.assert_no_key_in_db_if_any();
        (out.status.code().unwrap_or(-1), stdout, stderr)
    }

    /// Runs `args` expecting failure with `code`: plainly, with `-vv`, and
    /// with `RUST_LOG=trace` (the key must not leak at any level). The plain
    /// run must print nothing on stdout and exactly one error line on stderr,
    /// which is returned without its `fxrates: error: ` prefix.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let mut loud: Vec<&str> = args.to_vec();
        loud.push("-vv");
        let (c, out, err) = self.run(&loud);
        assert_eq!(c, code, "-vv run of {args:?}: {err}");
        assert_eq!(out, "", "stdout of a failure carries nothing");
        let mut traced = self.cmd(args);
        traced.env("RUST_LOG", "trace");
        let (c, _, err) = self.run_cmd(traced);
        assert_eq!(c, code, "RUST_LOG=trace run of {args:?}: {err}");
        let (c, out, err) = self.run(args);
        assert_eq!(c, code, "exit code of {args:?}: {err}");
        assert_eq!(out, "", "stdout of a failure carries nothing");
        error_line(&err)
    }

    /// The database's days and rates, to tell whether a run changed them.
    pub fn stored(&self) -> Vec<Vec<String>> {
        if !self.store_exists() {
            return Vec::new();
        }
        let mut rows = self.sql(
            "SELECT date, base, endpoint, source_date, source_timestamp, fetched_at FROM days ORDER BY date",
        );
        rows.extend(self.sql("SELECT date, currency, rate FROM day_rates ORDER BY date, currency"));
        rows
    }

    /// `(currency, rate)` as stored for `date`, in code order.
    pub fn rates_on(&self, date: &str) -> Vec<(String, String)> {
        self.sql(&format!(
            "SELECT currency, rate FROM day_rates WHERE date = '{date}' ORDER BY currency"
        ))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
    }

    /// Fails if the key is anywhere in the database or its WAL files, and
    /// when there is no database to look in: a check that looked nowhere
    /// proves nothing.
    pub fn assert_no_key_in_db(&self) {
        assert!(
            self.store_exists(),
            "no database to look for the key in: {:?}",
            self.pg
                .as_ref()
                .map_or(self.db.display().to_string(), |pg| format!("{pg:?}"))
        );
        self.assert_no_key_in_db_if_any();
    }

    /// [`Self::assert_no_key_in_db`] after every run, which may rightly
    /// have created nothing.
    fn assert_no_key_in_db_if_any(&self) {
        if let Some(pg) = &self.pg {
            if pg.exists() {
                assert!(!pg.contains(FAKE_KEY), "the API key is stored in {pg:?}");
            }
            return;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = self.db.clone().into_os_string();
            path.push(suffix);
            if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    !bytes
                        .windows(FAKE_KEY.len())
                        .any(|w| w == FAKE_KEY.as_bytes()),
                    "the API key is stored in {path:?}"
                );
            }
        }
    }

    /// Every file and directory below the test's home, to prove a run created
    /// nothing.
    pub fn tree(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                out.push(e.path());
                if e.path().is_dir() {
                    walk(&e.path(), out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }

    /// Runs a statement that changes the test database as another program
    /// (or host) sharing it could; `$1`, `$2`, ... are `params`, as text, in
    /// the order they first appear (SQLite numbers named parameters so).
    pub fn write_sql(&self, query: &str, params: &[&str]) -> u64 {
        if let Some(pg) = &self.pg {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            return pg.client().execute(query, &params).unwrap();
        }
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.execute(query, rusqlite::params_from_iter(params))
            .unwrap() as u64
    }

    /// Rows of a read-only query on the test database, each value as text.
    pub fn sql(&self, query: &str) -> Vec<Vec<String>> {
        if let Some(pg) = &self.pg {
            return pg.sql(query);
        }
        // Read-write without CREATE, but query-only: a read-only connection
        // cannot recover the WAL a killed writer left, and fails.
        let conn = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
        )
        .unwrap();
        conn.pragma_update(None, "query_only", true).unwrap();
        let mut stmt = conn.prepare(query).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |row| {
            (0..n)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => v.to_string(),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Blob(_) => "<blob>".to_string(),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The stored business dates, in order.
    pub fn stored_dates(&self) -> Vec<String> {
        if !self.store_exists() {
            return Vec::new();
        }
        // A first run killed before its schema was committed leaves a
        // database without tables: it holds no days.
        if self.pg.is_none()
            && self.sql("SELECT count(*) FROM sqlite_master WHERE name = 'days'")[0][0] == "0"
        {
            return Vec::new();
        }
        self.sql("SELECT date FROM days ORDER BY date")
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }
}

/// Fails if the key, or any ten characters of it, is in `text`: a hex dump
/// or a wrapped line can split the key, so the whole of it is not enough.
pub fn assert_no_key(text: &str) {
    assert!(!text.contains(FAKE_KEY), "the API key leaked: {text}");
    for i in 0..=FAKE_KEY.len() - 10 {
        let part = &FAKE_KEY[i..i + 10];
        assert!(
            !text.contains(part),
            "part of the API key ({part}) leaked: {text}"
        );
    }
}

/// The one `fxrates: error: ` line of `stderr`, without its prefix.
pub fn error_line(stderr: &str) -> String {
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("fxrates: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "expected one error line: {stderr}");
    errors[0]["fxrates: error: ".len()..].to_string()
}

/// A fixer answer for `date` with the given `rates` object.
pub fn day_body(date: &str, rates: &str) -> String {
    format!(
        r#"{{"success":true,"timestamp":1726822800,"base":"EUR","date":"{date}","rates":{rates}}}"#
    )
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// Fails the test unless it runs as root: a test marked
/// `#[ignore = "needs root"]` that is run anyway must not pass unchecked.
pub fn require_root() {
    assert!(
        is_root(),
        "this test needs root (CI runs it as root with --include-ignored); \
         without root, run `cargo test` without --include-ignored"
    );
}

/// Fails the test unless `tool` runs: a test marked
/// `#[ignore = "needs TOOL"]` that is run anyway must not pass unchecked.
pub fn require_tool(tool: &str, install: &str) {
    let runs = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(runs, "this test needs {tool}; {install}");
}

/// Runs `cmd` with stdout a pipe whose reader has already gone, as when
/// `| head` exits first; returns (exit code, stderr).
pub fn run_into_closed_pipe(mut cmd: std::process::Command) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = cmd
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_key(&err);
    (out.status.code().unwrap_or(-1), err)
}
