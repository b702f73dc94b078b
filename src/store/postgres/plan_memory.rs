//! What the plan remembers between runs: the plan's last answer to
//! `timeseries` and when fixer's names were fetched (`plan_memory`, one
//! row), the names (`currency_names`), and the days whose answer was
//! unusable (`unusable_days`).

use super::PgStore;
use crate::rates::Currency;
use crate::store::legacy::{self, Remembered};
use crate::store::{CurrencyNames, StoreError, TimeseriesAnswer};
use chrono::NaiveDate;
use postgres::GenericClient;
use std::collections::BTreeMap;

impl crate::store::PlanMemory for PgStore {
    fn timeseries_answer(&self) -> Result<Option<TimeseriesAnswer>, StoreError> {
        let row = self
            .conn()
            .query_opt(
                &self.sql("SELECT timeseries_allowed, timeseries_answered_on FROM {s}.plan_memory"),
                &[],
            )
            .map_err(self.read_err())?;
        Ok(row.and_then(|r| {
            Some(TimeseriesAnswer {
                allowed: r.get::<_, Option<bool>>(0)?,
                on: r.get::<_, Option<NaiveDate>>(1)?,
            })
        }))
    }

    fn currency_names(&self) -> Result<Option<CurrencyNames>, StoreError> {
        let mut conn = self.conn();
        let fetched_on: Option<NaiveDate> = conn
            .query_opt(
                &self.sql("SELECT names_fetched_on FROM {s}.plan_memory"),
                &[],
            )
            .map_err(self.read_err())?
            .and_then(|r| r.get(0));
        let rows = conn
            .query(
                &self.sql("SELECT currency, name FROM {s}.currency_names"),
                &[],
            )
            .map_err(self.read_err())?;
        if fetched_on.is_none() && rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(CurrencyNames {
            fetched_on,
            names: rows
                .iter()
                .filter_map(|r| Some((Currency::parse(r.get(0))?, r.get(1))))
                .collect(),
        }))
    }

    fn unusable_days(&self) -> Result<BTreeMap<NaiveDate, NaiveDate>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql("SELECT date, seen_on FROM {s}.unusable_days"),
                &[],
            )
            .map_err(self.read_err())?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

impl crate::store::PlanMemoryWrite for PgStore {
    fn set_timeseries_answer(&mut self, answer: TimeseriesAnswer) -> Result<(), StoreError> {
        set_timeseries_answer(&mut *self.conn(), &self.quoted, answer).map_err(self.write_err())
    }

    fn set_currency_names(&mut self, names: &CurrencyNames) -> Result<(), StoreError> {
        let names = CurrencyNames {
            fetched_on: names.fetched_on,
            names: names
                .names
                .iter()
                .map(|(code, name)| (*code, self.text(name).into_owned()))
                .collect(),
        };
        let mut conn = self.conn();
        let mut tx = conn.transaction().map_err(self.write_err())?;
        set_currency_names(&mut tx, &self.quoted, &names).map_err(self.write_err())?;
        tx.commit().map_err(self.write_err())
    }

    fn set_unusable(&mut self, date: NaiveDate, on: Option<NaiveDate>) -> Result<(), StoreError> {
        set_unusable(&mut *self.conn(), &self.quoted, date, on).map_err(self.write_err())
    }
}

/// SQL with `{s}` replaced by the quoted schema `s`.
fn sql(s: &str, text: &str) -> String {
    text.replace("{s}", s)
}

fn set_timeseries_answer(
    conn: &mut impl GenericClient,
    s: &str,
    answer: TimeseriesAnswer,
) -> Result<(), postgres::Error> {
    conn.execute(
        &sql(
            s,
            "INSERT INTO {s}.plan_memory (id, timeseries_allowed, timeseries_answered_on)
             VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET timeseries_allowed = excluded.timeseries_allowed,
                 timeseries_answered_on = excluded.timeseries_answered_on",
        ),
        &[&answer.allowed, &answer.on],
    )
    .map(drop)
}

/// Replaces the names; the caller holds the transaction.
fn set_currency_names(
    conn: &mut impl GenericClient,
    s: &str,
    names: &CurrencyNames,
) -> Result<(), postgres::Error> {
    let (codes, texts): (Vec<&str>, Vec<String>) = names
        .names
        .iter()
        // One line each, as every release kept them.
        .map(|(code, name)| (code.as_str(), name.replace(['\n', '\r'], " ")))
        .unzip();
    conn.execute(&sql(s, "DELETE FROM {s}.currency_names"), &[])?;
    conn.execute(
        &sql(
            s,
            "INSERT INTO {s}.currency_names (currency, name)
             SELECT * FROM unnest($1::text[], $2::text[])",
        ),
        &[&codes, &texts],
    )?;
    conn.execute(
        &sql(
            s,
            "INSERT INTO {s}.plan_memory (id, names_fetched_on) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET names_fetched_on = excluded.names_fetched_on",
        ),
        &[&names.fetched_on],
    )
    .map(drop)
}

fn set_unusable(
    conn: &mut impl GenericClient,
    s: &str,
    date: NaiveDate,
    on: Option<NaiveDate>,
) -> Result<(), postgres::Error> {
    match on {
        Some(on) => conn.execute(
            &sql(
                s,
                "INSERT INTO {s}.unusable_days (date, seen_on) VALUES ($1, $2)
                 ON CONFLICT (date) DO UPDATE SET seen_on = excluded.seen_on",
            ),
            &[&date, &on],
        ),
        None => conn.execute(
            &sql(s, "DELETE FROM {s}.unusable_days WHERE date = $1"),
            &[&date],
        ),
    }
    .map(drop)
}

/// Moves what `meta` held as text into the typed tables, and deletes
/// those keys (the version stays): part of the migration to
/// [`TYPED_MEMORY`](super::schema::TYPED_MEMORY), in its transaction.
pub(super) fn move_from_meta(
    conn: &mut impl GenericClient,
    s: &str,
) -> Result<(), postgres::Error> {
    let rows = conn.query(&sql(s, "SELECT key, value FROM {s}.meta"), &[])?;
    let old: Remembered = legacy::read(rows.iter().map(|r| (r.get(0), r.get(1))));
    if let Some(answer) = old.timeseries {
        set_timeseries_answer(conn, s, answer)?;
    }
    if let Some(names) = &old.names {
        set_currency_names(conn, s, names)?;
    }
    for (&date, &on) in &old.unusable {
        set_unusable(conn, s, date, Some(on))?;
    }
    let moved: Vec<&str> = rows
        .iter()
        .map(|r| r.get::<_, &str>(0))
        .filter(|k| legacy::is_moved(k))
        .collect();
    conn.execute(
        &sql(s, "DELETE FROM {s}.meta WHERE key = ANY($1)"),
        &[&moved],
    )
    .map(drop)
}
