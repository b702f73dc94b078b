//! fxrates' benchmark: `cargo bench` (or `bench/run.sh`).
//!
//! It runs the real release binary against a fixer-compatible server in this
//! process (127.0.0.1, never the network) and prints Markdown tables of
//! medians over several runs: full-history backfill, the free plan's
//! one-request-per-day path, `show`, `status`, `ingest` against `curl`, a
//! Python peer, and the `day_rates` layouts.
//!
//! Arguments: `--runs N` (default 5) and the names of the sections to run
//! (default all): backfill free show ingest status ecb peer schema http postgres
//! hosts (the last two when FXBENCH_DATABASE_URL or FXRATES_TEST_DATABASE_URL
//! names a PostgreSQL server to write to). `serve`
//! only serves the history until killed, for profiling by hand, and the
//! FXBENCH_EXE variable measures another fxrates binary than this build's.

// The modules are `pub` to one another; the crate is a benchmark.
#![allow(unreachable_pub)]

mod history;
mod hosts;
mod http;
mod process;
mod schema;
mod server;

use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};
use history::{CODES, History, history_start, weekdays};
use process::{Sample, Summary, command, measure, median, mib, ms, summarize};
use server::{Plan, Server, Tally};
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "bench-key-0123456789";
/// A weekday in the middle of the history, asked for by `show` and the peer.
const SHOW_DATE: &str = "2013-03-21";

struct Bench {
    exe: PathBuf,
    dir: tempfile::TempDir,
    server: Server,
    history: Arc<History>,
    now: String,
    runs: usize,
    has_backfill: bool,
    has_status: bool,
    /// The database a full backfill left behind, for show and status.
    full_db: Option<PathBuf>,
    out: String,
}

fn main() {
    let all: Vec<String> = std::env::args().collect();
    if all.get(1).map(String::as_str) == Some(process::LAUNCH) {
        process::launch(&all[2..]);
    }
    let mut runs = 5;
    let mut sections: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            "--bench" => {} // cargo bench passes it
            s if s.starts_with('-') => eprintln!("fxbench: ignoring {s}"),
            s => sections.push(s.to_string()),
        }
    }
    let want = |s: &str| sections.is_empty() || sections.iter().any(|x| x == s);

    let mut bench = Bench::new(runs.max(1));
    if sections.iter().any(|s| s == "serve") {
        bench.serve();
    }
    bench.header();
    if want("backfill") {
        bench.backfill();
    }
    if want("free") {
        bench.free_plan();
    }
    if want("show") {
        bench.show();
    }
    if want("ingest") {
        bench.ingest();
    }
    if want("status") {
        bench.status();
    }
    if want("ecb") {
        bench.ecb();
    }
    if want("peer") {
        bench.peer();
    }
    if want("http") {
        bench.http();
    }
    if want("schema") {
        bench.schema();
    }
    if want("postgres") {
        bench.postgres();
    }
    if want("hosts") {
        bench.hosts();
    }
    let _ = writeln!(
        bench.out,
        "Load average at the end (1, 5, 15 min): {}; the machine had {} cores.",
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    print!("{}", bench.out);
}

impl Bench {
    fn new(runs: usize) -> Bench {
        // FXBENCH_EXE measures another build, e.g. a copy from before a change.
        let exe = std::env::var_os("FXBENCH_EXE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_fxrates")));
        // "Today" is the latest weekday, so that `ingest` has a day to fetch.
        let mut today = Utc::now().date_naive();
        while matches!(today.weekday(), Weekday::Sat | Weekday::Sun) {
            today = today.pred_opt().expect("a day before");
        }
        history::check_rendering();
        let t = Instant::now();
        let history = Arc::new(History::generate(today));
        eprintln!(
            "fxbench: rendered {} days x {} codes ({}) in {}",
            (today - history::first_day()).num_days() + 1,
            CODES.len(),
            mib(history.bytes() as u64),
            ms(t.elapsed())
        );
        let server = Server::start(Arc::clone(&history));
        let mut bench = Bench {
            exe,
            dir: tempfile::tempdir().expect("temporary directory"),
            server,
            history,
            now: format!("{today}T12:00:00Z"),
            runs,
            has_backfill: false,
            has_status: false,
            full_db: None,
            out: String::new(),
        };
        bench.has_backfill = bench.has_command("backfill");
        bench.has_status = bench.has_command("status");
        bench
    }

    /// Serves the history until killed, for profiling fxrates by hand.
    fn serve(&self) -> ! {
        eprintln!(
            "fxbench: serving 1999-01-01..{} (timeseries plan); try\n  \
             FIXER_API_KEY=x FIXER_MONTHLY_QUOTA=1000000 FXRATES_NOW={} FIXER_ENDPOINT={} \\\n  \
             FXRATES_DB=/tmp/full.db {} backfill --from {}",
            self.today(),
            self.now,
            self.server.endpoint(),
            self.exe.display(),
            history_start()
        );
        loop {
            std::thread::park();
        }
    }

    fn today(&self) -> NaiveDate {
        self.history.today
    }

    /// The real binary with a clean environment aimed at the local server.
    fn fxrates(&self, db: &Path, args: &[&str]) -> Command {
        let mut cmd = command(&self.exe);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("TZ", "UTC")
            .env("FXRATES_DB", db)
            .env("FIXER_ENDPOINT", self.server.endpoint())
            .env("FIXER_API_KEY", KEY)
            .env("FXRATES_NOW", &self.now)
            .env("FIXER_MONTHLY_QUOTA", "1000000")
            .args(args)
            .stdout(Stdio::null());
        cmd
    }

    fn has_command(&self, name: &str) -> bool {
        let db = self.dir.path().join("none.db");
        measure(self.fxrates(&db, &[name, "--help"]).stderr(Stdio::null())).code == 0
    }

    /// Runs `cmd` with stderr kept in a file, and fails loudly on a non-zero
    /// exit other than those listed in `ok`.
    fn run(&self, cmd: &mut Command, ok: &[i32]) -> Sample {
        let log = self.dir.path().join("stderr.log");
        cmd.stderr(File::create(&log).expect("stderr log"));
        let s = measure(cmd);
        if !ok.contains(&s.code) {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("{cmd:?} exited {}: {err}", s.code);
        }
        s
    }

    fn header(&mut self) {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("MemTotal"))
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
            })
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| format!("{:.1} GiB", kb as f64 / (1024.0 * 1024.0)))
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let _ = writeln!(
            self.out,
            "## fxbench: {} runs per figure, medians\n\n- machine: {cores} cores, {cpu}, {mem} RAM\n- load average at the start (1, 5, 15 min): {}\n- history: {} to {} ({} weekdays x {} codes)\n",
            self.runs,
            load_average(),
            history_start(),
            self.today(),
            weekdays(history_start(), self.today()),
            CODES.len()
        );
    }

    fn stored(db: &Path) -> (u64, u64) {
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open the benchmark database");
        let count = |sql: &str| -> u64 {
            conn.query_row(sql, [], |r| r.get::<_, i64>(0))
                .expect("count rows") as u64
        };
        (
            count("SELECT count(*) FROM days"),
            count("SELECT count(*) FROM day_rates"),
        )
    }

    /// Runs a backfill from `from` on a fresh database, `runs` times.
    fn backfills(&self, name: &str, from: NaiveDate) -> (Vec<Sample>, Vec<Tally>, PathBuf) {
        let mut samples = Vec::new();
        let mut tallies = Vec::new();
        let mut db = PathBuf::new();
        for r in 0..self.runs {
            db = self.dir.path().join(format!("{name}-{r}.db"));
            self.server.reset();
            let from = from.to_string();
            samples.push(self.run(&mut self.fxrates(&db, &["backfill", "--from", &from]), &[0]));
            tallies.push(self.server.reset());
            if r + 1 < self.runs {
                remove_db(&db);
            }
        }
        (samples, tallies, db)
    }

    fn backfill(&mut self) {
        eprintln!("fxbench: full-history backfill");
        if !self.has_backfill {
            self.out.push_str(
                "### 1. Full-history backfill\n\nSkipped: this fxrates has no `backfill` command.\n\n",
            );
            return;
        }
        self.server.set_plan(Plan::Paid);
        let (samples, tallies, db) = self.backfills("full", history_start());
        let (days, rows) = Self::stored(&db);
        let expected = weekdays(history_start(), self.today()) as u64;
        if days != expected {
            let _ = writeln!(
                self.out,
                "**Warning: {days} days stored, but there are {expected} weekdays.**\n"
            );
        }
        let s = summarize(&samples);
        let year_from = self.today() - Days::new(364);
        let (year, _, year_db) = self.backfills("year", year_from);
        remove_db(&year_db);
        let y = summarize(&year);
        let requests = median(tallies.iter().map(|t| t.requests));
        let serving = median(tallies.iter().map(|t| t.handling));
        let _ = write!(
            self.out,
            "### 1. Full-history backfill, timeseries plan\n\n`fxrates backfill --from {}` on an empty database.\n\n\
             | figure | value |\n|---|---|\n\
             | requests (counted by the server) | {requests} |\n\
             | days stored / rates stored | {days} / {rows} |\n\
             | wall time | {} (fastest {}) |\n\
             | CPU time of fxrates (user + sys) | {} |\n\
             | peak RSS | {} |\n\
             | server: time answering (build + send) | {} |\n\
             | bytes received | {} |\n\
             | one year only (`--from {year_from}`): wall / peak RSS | {} / {} |\n\n",
            history_start(),
            ms(s.wall),
            ms(s.min_wall),
            ms(s.cpu),
            mib(s.max_rss),
            ms(serving),
            mib(median(tallies.iter().map(|t| t.body_bytes))),
            ms(y.wall),
            mib(y.max_rss),
        );
        self.full_db = Some(db);
    }

    fn free_plan(&mut self) {
        eprintln!("fxbench: free plan, one year");
        if !self.has_backfill {
            self.out.push_str(
                "### 2. Free plan, one year\n\nSkipped: this fxrates has no `backfill` command.\n\n",
            );
            return;
        }
        self.server.set_plan(Plan::Free);
        let from = self.today() - Days::new(364);
        let (samples, tallies, db) = self.backfills("free", from);
        self.server.set_plan(Plan::Paid);
        let (days, _) = Self::stored(&db);
        remove_db(&db);
        let s = summarize(&samples);
        let serving = median(tallies.iter().map(|t| t.handling));
        let own: Vec<Duration> = samples
            .iter()
            .zip(&tallies)
            .map(|(s, t)| s.wall.saturating_sub(t.handling))
            .collect();
        let per_day = median(own) / days.max(1) as u32;
        let _ = write!(
            self.out,
            "### 2. Free plan, one year: one historical request per weekday\n\n`fxrates backfill --from {from}` on an empty database; the server refuses `timeseries` (105).\n\n\
             | figure | value |\n|---|---|\n\
             | requests (timeseries refused + historical) | {} + {} |\n\
             | days stored | {days} |\n\
             | wall time | {} |\n\
             | CPU time of fxrates | {} |\n\
             | server: time answering | {} |\n\
             | **wall time per stored day, server time excluded** | **{}** |\n\n",
            median(tallies.iter().map(|t| t.timeseries)),
            median(tallies.iter().map(|t| t.historical)),
            ms(s.wall),
            ms(s.cpu),
            ms(serving),
            ms(per_day),
        );
    }

    /// The full database: the one a backfill left, else one written through
    /// fxrates' own store, the same way a timeseries backfill writes it.
    fn full_db(&mut self) -> PathBuf {
        if let Some(db) = &self.full_db {
            return db.clone();
        }
        let db = self.dir.path().join("full-lib.db");
        let t = Instant::now();
        write_history(&db, &self.history);
        eprintln!(
            "fxbench: wrote the full history through the store in {}",
            ms(t.elapsed())
        );
        self.full_db = Some(db.clone());
        db
    }

    fn many(&self, mut make: impl FnMut() -> Command, ok: &[i32]) -> Summary {
        // Short processes vary more: take more samples, after one warm-up.
        let n = (self.runs * 4).max(11);
        let _ = self.run(&mut make(), ok);
        let samples: Vec<Sample> = (0..n).map(|_| self.run(&mut make(), ok)).collect();
        summarize(&samples)
    }

    /// `fxrates serve` on the full history under wrk, beside nginx serving
    /// the same bytes from files.
    fn http(&mut self) {
        eprintln!("fxbench: serve under load");
        let db = self.full_db();
        let mut cmd = Command::new(&self.exe);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("TZ", "UTC")
            .env("FXRATES_DB", &db)
            .env("FXRATES_NOW", &self.now);
        let (mut serve, addr) = http::start_serve(cmd);
        let latest = "/api/latest";
        let day = format!("/api/{SHOW_DATE}");
        let start = NaiveDate::parse_from_str(SHOW_DATE, "%Y-%m-%d").unwrap() - Days::new(365);
        let series = format!("/api/timeseries?start_date={start}&end_date={SHOW_DATE}");
        let bodies = [http::fetch(addr, latest), http::fetch(addr, &day)];
        // Computed: 21 different 365-day ranges, none asked before. Kept:
        // the same range again, once every store thread has computed it.
        let computed: Vec<String> = (1..=21)
            .map(|i| {
                let end = NaiveDate::parse_from_str(SHOW_DATE, "%Y-%m-%d").unwrap() - Days::new(i);
                let start = end - Days::new(365);
                format!("/api/timeseries?start_date={start}&end_date={end}")
            })
            .collect();
        let per_request = |before: Option<Duration>, n: u32| {
            before
                .zip(http::cpu_time(serve.id()))
                .map(|(a, b)| (b.saturating_sub(a)) / n)
        };
        let cpu_before = http::cpu_time(serve.id());
        let (series_time, series_size) = http::timed_gets(addr, &computed);
        let series_cpu = per_request(cpu_before, 21);
        let kept = vec![series.clone(); 21];
        let _ = http::timed_gets(addr, &kept[..8]);
        let cpu_before = http::cpu_time(serve.id());
        let (kept_time, _) = http::timed_gets(addr, &kept);
        let kept_cpu = per_request(cpu_before, 21);
        let nginx_dir = self.dir.path().join("nginx");
        let nginx = http::start_nginx(
            &nginx_dir,
            &[(latest, &bodies[0][..]), (day.as_str(), &bodies[1][..])],
        );
        let mut table = String::new();
        let mut wrk_missing = false;
        if let Some((_, nginx_addr)) = &nginx {
            for (what, path) in [
                ("`/api/latest`", latest),
                ("a historical day", day.as_str()),
            ] {
                let ours = http::wrk(&format!("http://{addr}{path}"));
                let limit = http::wrk(&format!("http://{nginx_addr}{path}"));
                match (ours, limit) {
                    (Some(ours), Some(limit)) => http::row(&mut table, what, &ours, &limit),
                    _ => wrk_missing = true,
                }
            }
        }
        let rss = http::peak_rss(serve.id());
        let _ = Command::new("kill").arg(serve.id().to_string()).status();
        let _ = serve.wait();
        if let Some((mut n, _)) = nginx {
            let _ = n.kill();
            let _ = n.wait();
        }
        let _ = write!(
            self.out,
            "### 11. `fxrates serve` under load, against nginx serving the same bytes\n\n\
             wrk (Debian's package) with 2 threads and 64 connections for 5 s per row, the \
             server on the full history; nginx serves the bodies fxrates sent, saved as files \
             (`worker_processes auto`, access log off). Both share the 2 cores with wrk.\n\n"
        );
        if table.is_empty() {
            let why = if wrk_missing { "wrk" } else { "nginx" };
            let _ = write!(
                self.out,
                "Skipped the load runs: {why} is not installed (`apt-get install wrk nginx`).\n\n"
            );
        } else {
            let _ = write!(
                self.out,
                "| request | fxrates req/s | nginx req/s | ratio | fxrates p50 / p99 | nginx p50 / p99 |\n\
                 |---|---|---|---|---|---|\n{table}\n"
            );
        }
        let _ = write!(
            self.out,
            "| figure | value |\n|---|---|\n\
             | 365-day timeseries computed: 21 different ranges (`{}` and the 20 days before), median on one connection | {} ({} bytes) |\n\
             | the same, the server's CPU time per request (user + sys) | {} |\n\
             | 365-day timeseries kept: `{series}` 21 more times, median | {} |\n\
             | the same, the server's CPU time per request (user + sys) | {} |\n\
             | peak RSS of `fxrates serve` after the runs | {} |\n\n",
            computed[0],
            ms(series_time),
            series_size,
            series_cpu.map_or("unknown".into(), ms),
            ms(kept_time),
            kept_cpu.map_or("unknown".into(), ms),
            rss.map_or("unknown".into(), mib)
        );
    }

    fn show(&mut self) {
        eprintln!("fxbench: show");
        let db = self.full_db();
        let show = self.many(|| self.fxrates(&db, &["show", "--date", SHOW_DATE]), &[0]);
        let json = self.many(
            || {
                self.fxrates(
                    &db,
                    &[
                        "show", "--date", SHOW_DATE, "--format", "json", "--base", "USD",
                    ],
                )
            },
            &[0],
        );
        let floor = self.many(|| self.fxrates(&db, &["--version"]), &[0]);
        let _ = write!(
            self.out,
            "### 3. `fxrates show` on the full database\n\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | `fxrates show --date {SHOW_DATE}` | {} |\n\
             | `fxrates show --date {SHOW_DATE} --format json --base USD` | {} |\n\
             | floor: `fxrates --version` (start, parse arguments, exit) | {} |\n\n",
            row(&show),
            row(&json),
            row(&floor),
        );
    }

    fn status(&mut self) {
        eprintln!("fxbench: status");
        if !self.has_status {
            self.out.push_str(
                "### 5. `fxrates status` on the full database\n\nSkipped: this fxrates has no `status` command.\n\n",
            );
            return;
        }
        let db = self.full_db();
        // 0 healthy, 1 unhealthy: both are answers.
        let text = self.many(|| self.fxrates(&db, &["status"]), &[0, 1]);
        let json = self.many(
            || self.fxrates(&db, &["status", "--format", "json"]),
            &[0, 1],
        );
        // The full check a writer runs weekly, whose cost grows with history
        // (an fxrates from before `--deep` ran it in every `status`).
        let has_deep = measure(
            self.fxrates(&db, &["status", "--deep", "--help"])
                .stderr(Stdio::null()),
        )
        .code
            == 0;
        let deep = if has_deep {
            row(&self.many(|| self.fxrates(&db, &["status", "--deep"]), &[0, 1]))
        } else {
            "not in this fxrates | | | |".to_string()
        };
        let _ = write!(
            self.out,
            "### 5. `fxrates status` on the full database\n\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | `fxrates status` | {} |\n\
             | `fxrates status --format json` | {} |\n\
             | `fxrates status --deep` (every page checked, as writers do weekly) | {} |\n\n",
            row(&text),
            row(&json),
            deep,
        );
    }

    fn ingest(&mut self) {
        eprintln!("fxbench: ingest against curl");
        let full = self.full_db();
        let db = self.dir.path().join("ingest.db");
        copy_db(&full, &db);
        self.server.set_plan(Plan::Paid);
        self.server.reset();
        let ingest = self.many(|| self.fxrates(&db, &["ingest", "--force"]), &[0]);
        let tally = self.server.reset();
        let ingests = tally.latest;
        // The daily run on a day already stored: no request, the month checked.
        let stored = self.many(|| self.fxrates(&db, &["ingest"]), &[0]);
        let stored_requests = self.server.reset().requests;
        let runs = (self.runs * 4).max(11) as u64 + 1;
        let curl_ok = Command::new("curl")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let _ = write!(
            self.out,
            "### 4. `fxrates ingest` against `curl` fetching the same answer\n\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | `fxrates ingest --force` (latest, on the full database) | {} |\n\
             | `fxrates ingest` (the day already stored: no request; {stored_requests} requests in all) | {} |\n",
            row(&ingest),
            row(&stored),
        );
        if !curl_ok {
            self.out.push_str(
                "\n`curl` is not installed, so there is no floor to compare with \
                 (`apt-get install curl`, then run again).\n\n",
            );
            return;
        }
        let url = format!(
            "{}/latest?base=EUR&access_key={KEY}",
            self.server.endpoint()
        );
        let curl = self.many(
            || {
                let mut c = command("curl");
                c.args(["-s", "-f", "-o", "/dev/null", &url])
                    .stdout(Stdio::null());
                c
            },
            &[0],
        );
        let curl_tally = self.server.reset();
        let _ = write!(
            self.out,
            "| floor: `curl -s -o /dev/null <the same URL>` | {} |\n\n\
             ingest / curl: **{:.2}x** (the day already stored: {:.2}x). Requests at the server: \
             {ingests} for {runs} ingests, {} for {runs} curls; server time per request {}.\n\n",
            row(&curl),
            ingest.wall.as_secs_f64() / curl.wall.as_secs_f64(),
            stored.wall.as_secs_f64() / curl.wall.as_secs_f64(),
            curl_tally.requests,
            ms(curl_tally.handling / curl_tally.requests.max(1) as u32),
        );
        remove_db(&db);
    }

    /// The ECB as the provider: the whole history in one request, and the
    /// daily run against `curl` fetching the same answer.
    fn ecb(&mut self) {
        eprintln!("fxbench: the ECB");
        let today = self.today();
        // After 16:00 in Berlin, so that today is published.
        let now = format!("{today}T18:00:00Z");
        let ecb = |db: &Path, args: &[&str]| {
            let mut c = self.fxrates(db, args);
            c.env("FXRATES_PROVIDER", "ecb")
                .env("FXRATES_ECB_ENDPOINT", self.server.ecb_endpoint())
                .env("FXRATES_NOW", &now);
            c
        };
        let db = self.dir.path().join("ecb.db");
        let first = "1999-01-04";
        let mut samples = Vec::new();
        for _ in 0..self.runs {
            remove_db(&db);
            samples.push(self.run(&mut ecb(&db, &["backfill", "--from", first]), &[0]));
        }
        let whole = summarize(&samples);
        let tally = self.server.reset();
        let daily = self.many(
            || ecb(&db, &["ingest", "--date", &today.to_string(), "--force"]),
            &[0],
        );
        self.server.reset();
        let _ = write!(
            self.out,
            "### The ECB as the provider\n\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | `fxrates backfill --provider ecb --from {first}` (the whole history, one request of {}) | {} |\n\
             | `fxrates ingest --provider ecb --date {today} --force` (one day, on the whole history) | {} |\n",
            mib(tally.body_bytes / tally.requests.max(1)),
            row(&whole),
            row(&daily),
        );
        let url = format!(
            "{}/data/EXR/D..EUR.SP00.A?format=csvdata&detail=dataonly&startPeriod={today}&endPeriod={today}",
            self.server.ecb_endpoint()
        );
        let curl = self.many(
            || {
                let mut c = command("curl");
                c.args(["-s", "-f", "-o", "/dev/null", &url])
                    .stdout(Stdio::null());
                c
            },
            &[0],
        );
        self.server.reset();
        let _ = write!(
            self.out,
            "| floor: `curl -s -o /dev/null <the same URL>` | {} |\n\n\
             daily ECB ingest / curl: **{:.2}x**; the whole history: {} wall, {} peak RSS \
             (targets: under 3 s and 64 MiB).\n\n",
            row(&curl),
            daily.wall.as_secs_f64() / curl.wall.as_secs_f64(),
            ms(whole.wall),
            mib(whole.max_rss),
        );
        remove_db(&db);
    }

    fn peer(&mut self) {
        eprintln!("fxbench: currencyconverter");
        const SCRIPT: &str = "from datetime import date\n\
            from currency_converter import CurrencyConverter\n\
            print(CurrencyConverter().convert(1, 'EUR', 'USD', date=date(2013, 3, 21)))";
        let python = |script: &str| {
            let mut c = command("python3");
            c.args(["-c", script]).stdout(Stdio::null());
            c
        };
        let installed =
            measure(python("import currency_converter").stderr(Stdio::null())).code == 0;
        if !installed {
            self.out.push_str(
                "### 6. Peer: Python `currencyconverter`\n\nSkipped: the Python module \
                 `currency_converter` is not installed (`pip install CurrencyConverter`).\n\n",
            );
            return;
        }
        let db = self.full_db();
        let fx = self.many(
            || {
                self.fxrates(
                    &db,
                    &[
                        "show",
                        "--date",
                        SHOW_DATE,
                        "--symbols",
                        "USD",
                        "--format",
                        "csv",
                    ],
                )
            },
            &[0],
        );
        let peer = self.many(|| python(SCRIPT), &[0]);
        let bare = self.many(|| python("pass"), &[0]);
        let _ = write!(
            self.out,
            "### 6. Peer: one rate for one date\n\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | `fxrates show --date {SHOW_DATE} --symbols USD --format csv` | {} |\n\
             | Python `CurrencyConverter().convert(1, 'EUR', 'USD', date=date(2013, 3, 21))` | {} |\n\
             | floor of the peer: `python3 -c pass` | {} |\n\n\
             currencyconverter / fxrates: **{:.1}x** (wall).\n\n",
            row(&fx),
            row(&peer),
            row(&bare),
            peer.wall.as_secs_f64() / fx.wall.as_secs_f64(),
        );
    }

    fn schema(&mut self) {
        eprintln!("fxbench: day_rates layouts");
        let runs = self.runs.min(3);
        let table = schema::run(&self.history, self.dir.path(), runs);
        let _ = write!(
            self.out,
            "### 7. Layout of `day_rates` (in process, {runs} runs each)\n\n{table}\n"
        );
    }
}

/// Writes the whole history into `db` through fxrates' own store, one
/// transaction per 365-day chunk, as a timeseries backfill does.
fn write_history(db: &Path, history: &History) {
    use fxrates::rates::EUR;
    use fxrates::store::{self, NewDay, Provenance, Target};
    let mut store = store::open_write(
        &Target::Sqlite(db.to_owned()),
        true,
        std::time::Duration::ZERO,
    )
    .expect("open the store");
    let provenance = Provenance {
        endpoint: "timeseries",
        fetched_at: Utc::now(),
        provider: fxrates::rates::Source::Fixer,
    };
    let mut from = history_start();
    while from <= history.today {
        let to = (from + Days::new(364)).min(history.today);
        let days: Vec<_> = from
            .iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| !fxrates::calendar::is_weekend(*d))
            .map(|d| {
                let raw: &serde_json::value::RawValue =
                    serde_json::from_str(history.rates(d).expect("rendered")).expect("JSON");
                (
                    d,
                    fxrates::fixer::response::parse_rates(raw).expect("valid rates"),
                )
            })
            .collect();
        let days: Vec<NewDay<'_>> = days
            .iter()
            .map(|(d, rates)| NewDay {
                date: *d,
                source_date: *d,
                source_timestamp: None,
                rates,
            })
            .collect();
        store
            .put_days(&days, EUR, &provenance)
            .expect("store a chunk");
        from = to + Days::new(1);
    }
}

/// A table row's figures: median wall, fastest wall, CPU, peak RSS.
fn row(s: &Summary) -> String {
    format!(
        "{} | {} | {} | {}",
        ms(s.wall),
        ms(s.min_wall),
        ms(s.cpu),
        mib(s.max_rss)
    )
}

/// Other work on the machine inflates wall times: the report says how much
/// there was.
impl Bench {
    /// The PostgreSQL store beside SQLite's: the same full-history backfill
    /// and `show`, each into a schema of its own on the given server.
    fn postgres(&mut self) {
        eprintln!("fxbench: PostgreSQL");
        let Some(url) = ["FXBENCH_DATABASE_URL", "FXRATES_TEST_DATABASE_URL"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        else {
            self.out.push_str(
                "### 8. PostgreSQL\n\nSkipped: set FXBENCH_DATABASE_URL to a server fxrates may \
                 create schemas on (or run under `.ci/pg-test-server`).\n\n",
            );
            return;
        };
        let mut admin = match postgres::Client::connect(&url, postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                let _ = write!(
                    self.out,
                    "### 8. PostgreSQL\n\nSkipped: cannot connect ({e}).\n\n"
                );
                return;
            }
        };
        let sqlite = self.full_db();
        let sqlite_text = sqlite.to_str().expect("a UTF-8 path").to_string();
        let version: String = admin
            .query_one("SHOW server_version", &[])
            .map(|r| r.get(0))
            .unwrap_or_default();
        let pg = |schema: &str, args: &[&str]| {
            let mut cmd = self.fxrates(Path::new(&url), args);
            cmd.env("FXRATES_DB_SCHEMA", schema);
            cmd
        };
        let fresh = |admin: &mut postgres::Client, schema: &str| {
            admin
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .expect("drop the benchmark schema");
        };
        self.server.set_plan(Plan::Paid);
        let from = history_start().to_string();
        let mut samples = Vec::new();
        let mut tallies = Vec::new();
        for _ in 0..self.runs {
            fresh(&mut admin, "fxbench_full");
            self.server.reset();
            samples.push(self.run(
                &mut pg("fxbench_full", &["backfill", "--from", &from]),
                &[0],
            ));
            tallies.push(self.server.reset());
        }
        let count = |admin: &mut postgres::Client, sql: &str| -> i64 {
            admin.query_one(sql, &[]).map(|r| r.get(0)).unwrap_or(-1)
        };
        let days = count(&mut admin, "SELECT count(*) FROM fxbench_full.days");
        let rows = count(&mut admin, "SELECT count(*) FROM fxbench_full.day_rates");
        let s = summarize(&samples);
        let per_s = rows as f64 / s.wall.as_secs_f64().max(1e-9);
        let show = self.many(|| pg("fxbench_full", &["show", "--date", SHOW_DATE]), &[0]);
        let year = (self.today() - Days::new(364)).to_string();
        let range = self.many(
            || {
                pg(
                    "fxbench_full",
                    &[
                        "show",
                        "--from",
                        &year,
                        "--symbols",
                        "USD,GBP,JPY",
                        "--format",
                        "csv",
                    ],
                )
            },
            &[0],
        );
        let status = self.many(|| pg("fxbench_full", &["status"]), &[0, 1]);
        let mut copies = Vec::new();
        for _ in 0..self.runs.min(3) {
            fresh(&mut admin, "fxbench_copy");
            copies.push(self.run(&mut pg("fxbench_copy", &["copy", &sqlite_text, &url]), &[0]));
        }
        let c = summarize(&copies);
        let psql = self.psql_copy(&mut admin, &url, Path::new(&sqlite_text));
        let versus = match &psql {
            Some(p) => format!(
                "| `psql \\copy` of the same rows (days, then rates, from CSV) into the same tables, \
                 one transaction: wall / CPU of psql | {} / {} |\n\
                 | `fxrates copy` against `psql \\copy`, wall | {:.2}× |\n",
                ms(p.wall),
                ms(p.cpu),
                c.wall.as_secs_f64() / p.wall.as_secs_f64().max(1e-9)
            ),
            None => "| `psql \\copy` of the same rows | skipped: no psql found |\n".into(),
        };
        fresh(&mut admin, "fxbench_full");
        fresh(&mut admin, "fxbench_copy");
        fresh(&mut admin, "fxbench_psql");
        let _ = write!(
            self.out,
            "### 8. PostgreSQL {version} on this machine\n\n\
             The same full-history backfill as section 1, into a new schema through \
             `FXRATES_DB=postgresql://...`; then reads of it.\n\n\
             | figure | value |\n|---|---|\n\
             | requests (counted by the server) | {} |\n\
             | days stored / rates stored | {days} / {rows} |\n\
             | wall time | {} (fastest {}) |\n\
             | CPU time of fxrates (user + sys) | {} |\n\
             | peak RSS | {} |\n\
             | rates stored per second of wall time | {:.0} |\n\
             | `fxrates copy` of the full SQLite history into a new schema (batches of about a year, rates sent with COPY): wall / CPU | {} / {} |\n\
             {versus}\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | `fxrates show --date {SHOW_DATE}` | {} |\n\
             | `fxrates show --from {year} --symbols USD,GBP,JPY --format csv` | {} |\n\
             | `fxrates status` | {} |\n\n",
            median(tallies.iter().map(|t| t.requests)),
            ms(s.wall),
            ms(s.min_wall),
            ms(s.cpu),
            mib(s.max_rss),
            per_s,
            ms(c.wall),
            ms(c.cpu),
            row(&show),
            row(&range),
            row(&status),
        );
    }
}

impl Bench {
    /// The same rows as `fxrates copy` stores, loaded by `psql \copy` from
    /// CSV files into a schema of the same tables, indexes and foreign key
    /// (made from `fxbench_copy` beforehand, untimed): what a bulk load by
    /// hand costs on this server. `None` without psql.
    fn psql_copy(&self, admin: &mut postgres::Client, url: &str, sqlite: &Path) -> Option<Summary> {
        let psql = ["psql".to_string()]
            .into_iter()
            .chain(
                std::fs::read_dir("/usr/lib/postgresql")
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path().join("bin/psql").display().to_string()),
            )
            .find(|p| {
                Command::new(p)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })?;
        let days_csv = self.dir.path().join("days.csv");
        let rates_csv = self.dir.path().join("day_rates.csv");
        let db = rusqlite::Connection::open(sqlite).expect("open the SQLite history");
        let export = |sql: &str, path: &Path| {
            let mut out = std::io::BufWriter::new(File::create(path).expect("a CSV file"));
            let mut stmt = db.prepare(sql).expect("the export query");
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).expect("the export");
            while let Some(row) = rows.next().expect("a row") {
                let fields: Vec<String> = (0..columns)
                    .map(|i| match row.get_ref(i).expect("a field") {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        v => v.as_str().expect("text").to_string(),
                    })
                    .collect();
                use std::io::Write as _;
                writeln!(out, "{}", fields.join(",")).expect("write the CSV");
            }
        };
        export(
            "SELECT date, base, source, endpoint, source_date, source_timestamp, fetched_at FROM days",
            &days_csv,
        );
        export("SELECT date, currency, rate FROM day_rates", &rates_csv);
        let mut samples = Vec::new();
        for _ in 0..self.runs.min(3) {
            admin
                .batch_execute(
                    "DROP SCHEMA IF EXISTS fxbench_psql CASCADE; CREATE SCHEMA fxbench_psql;
                     CREATE TABLE fxbench_psql.days (LIKE fxbench_copy.days INCLUDING ALL);
                     CREATE TABLE fxbench_psql.day_rates (LIKE fxbench_copy.day_rates INCLUDING ALL);
                     ALTER TABLE fxbench_psql.day_rates ADD FOREIGN KEY (date)
                         REFERENCES fxbench_psql.days (date) ON DELETE CASCADE",
                )
                .expect("the psql schema");
            let mut cmd = command(Path::new(&psql));
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", url])
                .arg("-c")
                .arg(format!(
                    "\\copy fxbench_psql.days (date, base, source, endpoint, source_date, \
                     source_timestamp, fetched_at) FROM '{}' CSV",
                    days_csv.display()
                ))
                .arg("-c")
                .arg(format!(
                    "\\copy fxbench_psql.day_rates (date, currency, rate) FROM '{}' CSV",
                    rates_csv.display()
                ))
                .stdout(Stdio::null());
            samples.push(self.run(&mut cmd, &[0]));
        }
        let loaded: i64 = admin
            .query_one("SELECT count(*) FROM fxbench_psql.day_rates", &[])
            .map(|r| r.get(0))
            .unwrap_or(-1);
        let copied: i64 = admin
            .query_one("SELECT count(*) FROM fxbench_copy.day_rates", &[])
            .map(|r| r.get(0))
            .unwrap_or(-2);
        assert_eq!(loaded, copied, "psql loaded other rows than fxrates copied");
        Some(summarize(&samples))
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn copy_db(from: &Path, to: &Path) {
    // The source is closed and checkpointed by its last writer; copy any WAL too.
    remove_db(to);
    std::fs::copy(from, to).expect("copy the database");
    let wal = PathBuf::from(format!("{}-wal", from.display()));
    if wal.exists() {
        std::fs::copy(&wal, format!("{}-wal", to.display())).expect("copy the WAL");
    }
}

fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
