//! The PostgreSQL format: ordered migrations, versioned in `meta`, all in
//! one schema (`fxrates` unless `FXRATES_DB_SCHEMA` names another). `{s}`
//! stands for the quoted schema name.
//!
//! `rates` (a view) is the stable read interface for other programs, with
//! the columns of the SQLite view and PostgreSQL's natural types; the
//! tables behind it may change between versions, the view may not. Rates
//! are kept as the exact text the provider sent; the view's `rate` is that
//! text as an unconstrained NUMERIC, so nothing is padded or rounded.

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema, the SQLite one in PostgreSQL's types.
    r#"
CREATE TABLE {s}.days (
    date             date PRIMARY KEY,        -- the business date
    base             text NOT NULL,           -- always EUR from fixer
    source           text NOT NULL,           -- 'fixer'
    endpoint         text NOT NULL,           -- latest, historical or timeseries
    source_date      date NOT NULL,           -- the provider's own date
    source_timestamp bigint,                  -- the provider's Unix timestamp
    fetched_at       timestamptz NOT NULL
);

CREATE TABLE {s}.day_rates (
    date     date NOT NULL REFERENCES {s}.days (date) ON DELETE CASCADE,
    currency text NOT NULL,
    rate     text NOT NULL,                   -- the exact decimal the provider sent
    PRIMARY KEY (date, currency)
);
CREATE INDEX day_rates_currency ON {s}.day_rates (currency, date);

CREATE VIEW {s}.rates (date, base, currency, rate, rate_text) AS
    SELECT r.date, d.base, r.currency, r.rate::numeric, r.rate
    FROM {s}.day_rates AS r JOIN {s}.days AS d ON d.date = r.date;

-- Every request sent to the provider, for the monthly quota.
CREATE TABLE {s}.requests (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    endpoint text NOT NULL,
    outcome  text NOT NULL                    -- 'ok', 'unanswered' or the error
);
CREATE INDEX requests_at ON {s}.requests (at);

-- Each run of a command, for `status`.
CREATE TABLE {s}.runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    command     text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    ok          boolean,
    error       text
);
CREATE INDEX runs_command ON {s}.runs (command, id);

-- Weekdays the provider said it has no rates for (error 106).
CREATE TABLE {s}.unavailable_days (
    date        date PRIMARY KEY,
    recorded_at timestamptz NOT NULL,
    reason      text NOT NULL
);

-- Small facts fxrates remembers: the format version, what the plan allows.
CREATE TABLE {s}.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
"#,
    // 2: several hosts on one schema: who made each request and ran each
    // run, and the writer's claim.
    r#"
ALTER TABLE {s}.requests ADD COLUMN host text;   -- the machine that sent it
ALTER TABLE {s}.runs ADD COLUMN host text;       -- the machine it ran on

-- The right to write the history, held by one run at a time across every
-- host; a lease in the database's clock, renewed while the run works.
CREATE TABLE {s}.claims (
    name       text PRIMARY KEY,                 -- 'writer'
    token      text NOT NULL,                    -- the claiming run's own mark
    host       text,                             -- the machine
    pid        integer NOT NULL,                 -- its process
    claimed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL              -- lapses unless renewed
);
"#,
    // 3: how each run ended, so that `status` can tell a failure a person
    // must fix from one the next run may not meet.
    r#"
ALTER TABLE {s}.runs ADD COLUMN exit_code integer;   -- 0 on success
"#,
    // 4: every day knows its provider, `fixer` or `ecb` (kept in `source`
    // since the first schema, where it was always 'fixer'); the view shows it.
    r#"
UPDATE {s}.days SET source = 'fixer' WHERE source NOT IN ('fixer', 'ecb');
DROP VIEW {s}.rates;
CREATE VIEW {s}.rates (date, base, currency, rate, rate_text, provider) AS
    SELECT r.date, d.base, r.currency, r.rate::numeric, r.rate, d.source
    FROM {s}.day_rates AS r JOIN {s}.days AS d ON d.date = r.date;
"#,
    // 5: what was kept in `meta` as text to be parsed (and one key per
    // unusable day) gets typed tables; the migration moves `meta`'s rows
    // into them (`plan_memory::move_from_meta`). `meta` keeps the version.
    r#"
-- What the plan remembers between runs: one row.
CREATE TABLE {s}.plan_memory (
    id                     integer PRIMARY KEY CHECK (id = 1),
    timeseries_allowed     boolean,
    timeseries_answered_on date,               -- the run's local date
    names_fetched_on       date,               -- when `currency_names` was fetched
    CHECK ((timeseries_allowed IS NULL) = (timeseries_answered_on IS NULL))
);

-- fixer's own names of its currencies (its `symbols` answer).
CREATE TABLE {s}.currency_names (
    currency text PRIMARY KEY,
    name     text NOT NULL
);

-- Days whose answer was unusable, and the local date it was: not asked
-- for again that day.
CREATE TABLE {s}.unusable_days (
    date    date PRIMARY KEY,
    seen_on date NOT NULL
);
"#,
];

/// The version whose migration moves `meta`'s rows into typed tables.
pub(super) const TYPED_MEMORY: i64 = 5;

/// The schema version this binary writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The `meta` key holding the version; its presence marks a schema as
/// fxrates'. It is all `meta` holds from version 5 on, and stays there:
/// every release reads it to refuse a newer schema.
pub(super) const VERSION_KEY: &str = "fxrates_schema_version";
