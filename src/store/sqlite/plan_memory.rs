//! What the plan remembers between runs: the plan's last answer to
//! `timeseries` and when fixer's names were fetched (`plan_memory`, one
//! row), the names (`currency_names`), and the days whose answer was
//! unusable (`unusable_days`).

use super::{IoContext, SqliteStore};
use crate::calendar::parse_date;
use crate::rates::Currency;
use crate::store::legacy::Remembered;
use crate::store::{CurrencyNames, StoreError, TimeseriesAnswer};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

impl crate::store::PlanMemory for SqliteStore {
    fn timeseries_answer(&self) -> Result<Option<TimeseriesAnswer>, StoreError> {
        let row: Option<(Option<bool>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT timeseries_allowed, timeseries_answered_on FROM plan_memory",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .io(self.read_err())?;
        // An unreadable date is as good as none: the plan is asked again.
        Ok(match row {
            Some((Some(allowed), Some(on))) => {
                parse_date(&on).map(|on| TimeseriesAnswer { allowed, on })
            }
            _ => None,
        })
    }

    fn currency_names(&self) -> Result<Option<CurrencyNames>, StoreError> {
        // The day they were fetched, and (code, name) rows.
        type Stored = (Option<String>, Vec<(String, String)>);
        let read = || -> rusqlite::Result<Stored> {
            let fetched_on = self
                .conn
                .query_row("SELECT names_fetched_on FROM plan_memory", [], |r| r.get(0))
                .optional()?
                .flatten();
            let mut stmt = self
                .conn
                .prepare_cached("SELECT currency, name FROM currency_names")?;
            let names = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((fetched_on, names))
        };
        let (fetched_on, names) = read().io(self.read_err())?;
        if fetched_on.is_none() && names.is_empty() {
            return Ok(None);
        }
        Ok(Some(CurrencyNames {
            fetched_on: fetched_on.as_deref().and_then(parse_date),
            names: names
                .into_iter()
                .filter_map(|(code, name)| Some((Currency::parse(&code)?, name)))
                .collect(),
        }))
    }

    fn unusable_days(&self) -> Result<BTreeMap<NaiveDate, NaiveDate>, StoreError> {
        let read = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT date, seen_on FROM unusable_days")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        };
        // An unreadable entry is as good as none: the day is asked for.
        Ok(read()
            .io(self.read_err())?
            .into_iter()
            .filter_map(|(day, on)| Some((parse_date(&day)?, parse_date(&on)?)))
            .collect())
    }
}

impl crate::store::PlanMemoryWrite for SqliteStore {
    fn set_timeseries_answer(&mut self, answer: TimeseriesAnswer) -> Result<(), StoreError> {
        set_timeseries_answer(&self.conn, answer).io(self.write_err())
    }

    fn set_currency_names(&mut self, names: &CurrencyNames) -> Result<(), StoreError> {
        let path = self.target.to_string();
        let tx = self
            .conn
            .transaction()
            .io(|| format!("cannot write to the database {path}"))?;
        set_currency_names(&tx, names)
            .and_then(|()| tx.commit())
            .io(|| format!("cannot write to the database {path}"))
    }

    fn set_unusable(&mut self, date: NaiveDate, on: Option<NaiveDate>) -> Result<(), StoreError> {
        set_unusable(&self.conn, date, on).io(self.write_err())
    }
}

fn set_timeseries_answer(conn: &Connection, answer: TimeseriesAnswer) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO plan_memory (id, timeseries_allowed, timeseries_answered_on)
         VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET timeseries_allowed = excluded.timeseries_allowed,
             timeseries_answered_on = excluded.timeseries_answered_on",
        params![answer.allowed, answer.on.to_string()],
    )
    .map(drop)
}

/// Replaces the names; the caller holds the transaction.
fn set_currency_names(conn: &Connection, names: &CurrencyNames) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM currency_names", [])?;
    let mut insert =
        conn.prepare_cached("INSERT INTO currency_names (currency, name) VALUES (?1, ?2)")?;
    for (code, name) in &names.names {
        // One line each, as every release kept them.
        insert.execute([code.as_str(), &name.replace(['\n', '\r'], " ")])?;
    }
    conn.execute(
        "INSERT INTO plan_memory (id, names_fetched_on) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET names_fetched_on = excluded.names_fetched_on",
        [names.fetched_on.map(|d| d.to_string())],
    )
    .map(drop)
}

fn set_unusable(conn: &Connection, date: NaiveDate, on: Option<NaiveDate>) -> rusqlite::Result<()> {
    match on {
        Some(on) => conn.execute(
            "INSERT OR REPLACE INTO unusable_days (date, seen_on) VALUES (?1, ?2)",
            [date.to_string(), on.to_string()],
        ),
        None => conn.execute(
            "DELETE FROM unusable_days WHERE date = ?1",
            [date.to_string()],
        ),
    }
    .map(drop)
}

/// What the `meta` table holds, read before the migration to
/// [`TYPED_MEMORY`](super::schema::TYPED_MEMORY) drops it.
pub(super) fn recall(conn: &Connection) -> rusqlite::Result<Remembered> {
    let mut stmt = conn.prepare("SELECT key, value FROM meta")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(crate::store::legacy::read(
        rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}

/// Writes what [`recall`] read into the typed tables, in the migration's
/// transaction.
pub(super) fn remember(conn: &Connection, old: &Remembered) -> rusqlite::Result<()> {
    if let Some(answer) = old.timeseries {
        set_timeseries_answer(conn, answer)?;
    }
    if let Some(names) = &old.names {
        set_currency_names(conn, names)?;
    }
    for (&date, &on) in &old.unusable {
        set_unusable(conn, date, Some(on))?;
    }
    if let Some(day) = old.full_check {
        super::upkeep::record_full_check(conn, day)?;
    }
    Ok(())
}
