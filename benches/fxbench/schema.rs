//! The layout of `day_rates`, measured: the shipped `WITHOUT ROWID` table
//! keyed (date, currency) against a rowid table with the same key and against
//! the key in the other order. Each variant stores the whole history the way
//! fxrates does (prepared statement, one transaction per 365-day chunk, WAL,
//! synchronous=FULL) and then answers the queries fxrates and its readers ask.

use crate::history::{History, history_start};
use crate::process::{median, mib, ms};
use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OpenFlags, params};
use std::path::Path;
use std::time::{Duration, Instant};

/// (name, schema, whether `date` is an INTEGER day number). Every variant
/// keeps the parent `days` table and the foreign key, as fxrates does.
const VARIANTS: &[(&str, &str, bool)] = &[
    (
        "WITHOUT ROWID, key (date, currency) [shipped]",
        "CREATE TABLE days (date TEXT PRIMARY KEY NOT NULL, base TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE day_rates (date TEXT NOT NULL REFERENCES days (date) ON DELETE CASCADE,
         currency TEXT NOT NULL, rate TEXT NOT NULL, PRIMARY KEY (date, currency)) WITHOUT ROWID",
        false,
    ),
    (
        "rowid table, key (date, currency)",
        "CREATE TABLE days (date TEXT PRIMARY KEY NOT NULL, base TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE day_rates (date TEXT NOT NULL REFERENCES days (date) ON DELETE CASCADE,
         currency TEXT NOT NULL, rate TEXT NOT NULL, PRIMARY KEY (date, currency))",
        false,
    ),
    (
        "WITHOUT ROWID, key (currency, date)",
        "CREATE TABLE days (date TEXT PRIMARY KEY NOT NULL, base TEXT NOT NULL) WITHOUT ROWID;
         CREATE TABLE day_rates (date TEXT NOT NULL REFERENCES days (date) ON DELETE CASCADE,
         currency TEXT NOT NULL, rate TEXT NOT NULL, PRIMARY KEY (currency, date)) WITHOUT ROWID;
         CREATE INDEX day_rates_date ON day_rates (date)",
        false,
    ),
    (
        "WITHOUT ROWID, key (day number INTEGER, currency)",
        "CREATE TABLE days (date INTEGER PRIMARY KEY, base TEXT NOT NULL);
         CREATE TABLE day_rates (date INTEGER NOT NULL REFERENCES days (date) ON DELETE CASCADE,
         currency TEXT NOT NULL, rate TEXT NOT NULL, PRIMARY KEY (date, currency)) WITHOUT ROWID",
        true,
    ),
];

/// One weekday's rates, parsed once before any timing.
struct Day {
    date: String,
    number: i64,
    rates: Vec<(String, String)>,
}

pub fn run(history: &History, dir: &Path, runs: usize) -> String {
    let days = parse_all(history);
    let rows: usize = days.iter().map(|d| d.rates.len()).sum();
    let mut out = format!(
        "| layout of day_rates | store {} rows | file size | one day, fresh connection | one day, warm | USD over one year, warm |\n|---|---|---|---|---|---|\n",
        rows
    );
    for (i, &(name, ddl, int_date)) in VARIANTS.iter().enumerate() {
        let mut inserts = Vec::new();
        let mut size = 0;
        let (mut cold, mut warm, mut series) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..runs {
            let path = dir.join(format!("schema-{i}-{r}.db"));
            let (t, bytes) = store(&path, ddl, int_date, &days);
            inserts.push(t);
            size = bytes;
            let (c, w, s) = query(&path, int_date, &days);
            cold.push(c);
            warm.push(w);
            series.push(s);
            let _ = std::fs::remove_file(&path);
        }
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            ms(median(inserts)),
            mib(size),
            us(median(cold)),
            us(median(warm)),
            us(median(series)),
        ));
    }
    out
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn parse_all(history: &History) -> Vec<Day> {
    history_start()
        .iter_days()
        .take_while(|d| *d <= history.today)
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .map(|d| {
            let text = history.rates(d).expect("rendered day");
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).expect("valid JSON");
            let mut rates: Vec<(String, String)> =
                map.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            rates.sort();
            Day {
                date: d.to_string(),
                number: day_number(d),
                rates,
            }
        })
        .collect()
}

fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

/// The key of `day` as the variant stores it.
fn key(day: &Day, int_date: bool) -> rusqlite::types::Value {
    if int_date {
        day.number.into()
    } else {
        day.date.clone().into()
    }
}

fn store(path: &Path, ddl: &str, int_date: bool, days: &[Day]) -> (Duration, u64) {
    let _ = std::fs::remove_file(path);
    let mut conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.execute_batch(ddl).expect("schema");
    let started = Instant::now();
    let mut chunk_start: Option<NaiveDate> = None;
    let mut i = 0;
    while i < days.len() {
        let tx = conn.transaction().expect("tx");
        {
            let mut day = tx
                .prepare_cached("INSERT INTO days (date, base) VALUES (?1, 'EUR')")
                .expect("prepare");
            let mut stmt = tx
                .prepare_cached("INSERT INTO day_rates (date, currency, rate) VALUES (?1, ?2, ?3)")
                .expect("prepare");
            let first: NaiveDate = days[i].date.parse().expect("date");
            let start = *chunk_start.get_or_insert(first);
            while i < days.len() {
                let d: NaiveDate = days[i].date.parse().expect("date");
                if (d - start).num_days() > 364 {
                    chunk_start = Some(d);
                    break;
                }
                let k = key(&days[i], int_date);
                day.execute([&k]).expect("insert a day");
                for (c, r) in &days[i].rates {
                    stmt.execute(params![k, c, r]).expect("insert");
                }
                i += 1;
            }
        }
        tx.commit().expect("commit");
    }
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .expect("checkpoint");
    let elapsed = started.elapsed();
    drop(conn);
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    (elapsed, size)
}

/// Median times of: one day's rates on a fresh read-only connection (what a
/// `show` process does), the same on a warm connection, and one currency
/// over one year.
fn query(path: &Path, int_date: bool, days: &[Day]) -> (Duration, Duration, Duration) {
    let picks: Vec<&Day> = days.iter().step_by(days.len() / 50 + 1).collect();
    let one_day = |conn: &Connection, day: &Day| -> usize {
        let mut stmt = conn
            .prepare_cached("SELECT currency, rate FROM day_rates WHERE date = ?1")
            .expect("prepare");
        let mut rows = stmt.query([key(day, int_date)]).expect("query");
        let mut n = 0;
        while let Some(row) = rows.next().expect("row") {
            n += row.get_ref(1).expect("rate").as_str().expect("text").len();
        }
        n
    };
    let mut cold = Vec::new();
    for d in &picks {
        let t = Instant::now();
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open read-only");
        assert!(one_day(&conn, d) > 0);
        drop(conn);
        cold.push(t.elapsed());
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let mut warm = Vec::new();
    for d in &picks {
        let t = Instant::now();
        assert!(one_day(&conn, d) > 0);
        warm.push(t.elapsed());
    }
    let mut series = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT date, rate FROM day_rates WHERE currency = 'USD' AND date BETWEEN ?1 AND ?2",
        )
        .expect("prepare");
    for d in picks.iter().take(20) {
        let from: NaiveDate = d.date.parse().expect("date");
        let to = from + chrono::Days::new(365);
        let (a, b): (rusqlite::types::Value, rusqlite::types::Value) = if int_date {
            (day_number(from).into(), day_number(to).into())
        } else {
            (from.to_string().into(), to.to_string().into())
        };
        let t = Instant::now();
        let n = stmt
            .query_map([a, b], |r| r.get::<_, String>(1))
            .expect("query")
            .count();
        assert!(n > 0, "no USD rates from {from} to {to}");
        series.push(t.elapsed());
    }
    (median(cold), median(warm), median(series))
}
