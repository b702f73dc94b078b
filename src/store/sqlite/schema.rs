//! The on-disk format: ordered migrations, versioned with `PRAGMA user_version`.
//!
//! `rates` (a view) is the stable read interface for other programs; the
//! tables behind it may change between versions, the view may not.

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
CREATE TABLE days (
    date             TEXT PRIMARY KEY NOT NULL,  -- the business date, YYYY-MM-DD
    base             TEXT NOT NULL,              -- always EUR from fixer
    source           TEXT NOT NULL,              -- 'fixer'
    endpoint         TEXT NOT NULL,              -- latest, historical or timeseries
    source_date      TEXT NOT NULL,              -- the provider's own date
    source_timestamp INTEGER,                    -- the provider's Unix timestamp
    fetched_at       TEXT NOT NULL               -- UTC, RFC 3339
) WITHOUT ROWID;

CREATE TABLE day_rates (
    date     TEXT NOT NULL REFERENCES days (date) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    rate     TEXT NOT NULL,                      -- the exact decimal the provider sent
    PRIMARY KEY (date, currency)
) WITHOUT ROWID;

CREATE VIEW rates (date, base, currency, rate, rate_text) AS
    SELECT r.date, d.base, r.currency, CAST(r.rate AS REAL), r.rate
    FROM day_rates AS r JOIN days AS d ON d.date = r.date;

-- Every request sent to the provider, for the monthly quota.
CREATE TABLE requests (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,                      -- UTC, RFC 3339
    endpoint TEXT NOT NULL,
    outcome  TEXT NOT NULL                       -- 'ok' or the error
);
CREATE INDEX requests_at ON requests (at);

-- Each run of a command, for `status`.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    command     TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    ok          INTEGER,
    error       TEXT
);

-- Weekdays the provider said it has no rates for (error 106).
CREATE TABLE unavailable_days (
    date        TEXT PRIMARY KEY NOT NULL,
    recorded_at TEXT NOT NULL,
    reason      TEXT NOT NULL
) WITHOUT ROWID;

-- Small facts fxrates remembers, such as what the plan allows.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
"#,
    // 2: how each run ended, so that `status` can tell a failure a person
    // must fix from one the next run may not meet.
    r#"
ALTER TABLE runs ADD COLUMN exit_code INTEGER;   -- 0 on success
"#,
    // 3: every day knows its provider, `fixer` or `ecb` (kept in `source`
    // since the first schema, where it was always 'fixer'); the view shows it.
    r#"
UPDATE days SET source = 'fixer' WHERE source NOT IN ('fixer', 'ecb');
DROP VIEW rates;
CREATE VIEW rates (date, base, currency, rate, rate_text, provider) AS
    SELECT r.date, d.base, r.currency, CAST(r.rate AS REAL), r.rate, d.source
    FROM day_rates AS r JOIN days AS d ON d.date = r.date;
"#,
    // 4: what was kept in `meta` as text to be parsed (and one key per
    // unusable day) gets typed tables; the migration moves `meta`'s rows
    // into them (`plan_memory::remember`) and the table goes.
    r#"
-- What the plan remembers between runs: one row.
CREATE TABLE plan_memory (
    id                     INTEGER PRIMARY KEY CHECK (id = 1),
    timeseries_allowed     INTEGER CHECK (timeseries_allowed IN (0, 1)),
    timeseries_answered_on TEXT,                -- the run's local date, YYYY-MM-DD
    names_fetched_on       TEXT,                -- when `currency_names` was fetched
    CHECK ((timeseries_allowed IS NULL) = (timeseries_answered_on IS NULL))
);

-- fixer's own names of its currencies (its `symbols` answer).
CREATE TABLE currency_names (
    currency TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL
) WITHOUT ROWID;

-- Days whose answer was unusable, and the local date it was: not asked
-- for again that day.
CREATE TABLE unusable_days (
    date    TEXT PRIMARY KEY NOT NULL,
    seen_on TEXT NOT NULL
) WITHOUT ROWID;

-- The day the last full check of the file passed: one row.
CREATE TABLE upkeep (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    full_check_on TEXT NOT NULL
);

DROP TABLE meta;
"#,
];

/// The version whose migration moves `meta`'s rows into typed tables.
pub(super) const TYPED_MEMORY: i64 = 4;

/// The schema version this binary writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Target;
    use std::time::Duration;

    #[test]
    fn a_database_of_the_first_version_is_upgraded_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1; PRAGMA application_id = 1180193364;
             INSERT INTO runs (command, started_at, finished_at, ok, error)
             VALUES ('ingest', '2024-09-20T09:00:00Z', '2024-09-20T09:00:01Z', 0, 'old');",
        )
        .unwrap();
        drop(conn);
        let target = Target::Sqlite(path);
        let store = crate::store::open_write(&target, false, Duration::ZERO).unwrap();
        let runs = store.last_runs().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].ok, runs[0].exit_code), (Some(false), None));
        drop(store);
        let reader = crate::store::open_read(&target).unwrap();
        assert_eq!(reader.last_runs().unwrap(), runs);
    }
}
