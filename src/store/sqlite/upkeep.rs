//! The store's own checks of its health: SQLite's `quick_check`, run in
//! full weekly by writers (the day it last passed is kept in `upkeep`), and
//! `data_version`.

use super::{IoContext, SqliteStore};
use crate::calendar::parse_date;
use crate::store::{StoreError, Upkeep};
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};

/// How often a writer runs the full check of the file (`PRAGMA
/// quick_check`, which reads every page): weekly, so the daily run does not
/// pay for the whole history every day.
const FULL_CHECK_DAYS: i64 = 7;

/// Records that the full check passed on `day`.
pub(super) fn record_full_check(conn: &Connection, day: NaiveDate) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO upkeep (id, full_check_on) VALUES (1, ?1)",
        [day.to_string()],
    )
    .map(drop)
}

impl crate::store::Upkeep for SqliteStore {
    /// What `PRAGMA quick_check` finds wrong, if anything: a damaged page or
    /// index that would otherwise surface as "cannot read" much later.
    fn integrity_problem(&self) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA quick_check(3)")
            .map_err(|e| self.corrupt_or_io(e))?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.corrupt_or_io(e))?;
        Ok(match rows.as_slice() {
            [ok] if ok == "ok" => None,
            _ => Some(crate::untrusted::one_line(
                &rows.join("; ").replace('\n', " "),
            )),
        })
    }

    fn data_version(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map(Some)
            .map_err(|e| self.corrupt_or_io(e))
    }

    /// The day of the last full check that found the file whole.
    fn last_full_check(&self) -> Result<Option<NaiveDate>, StoreError> {
        let value: Option<String> = self
            .conn
            .query_row("SELECT full_check_on FROM upkeep", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.corrupt_or_io(e))?;
        Ok(value.as_deref().and_then(parse_date))
    }
}

impl crate::store::UpkeepWrite for SqliteStore {
    /// Runs the full check when the last one that found the file whole is
    /// [`FULL_CHECK_DAYS`] days old or more (or is dated after `today`: a
    /// clock was wrong), and records it; damage is [`StoreError::Corrupt`],
    /// and nothing is recorded then, so every writer checks until the file
    /// is restored.
    fn check_if_due(&mut self, today: NaiveDate) -> Result<(), StoreError> {
        let due = self
            .last_full_check()?
            .is_none_or(|last| !(0..FULL_CHECK_DAYS).contains(&(today - last).num_days()));
        if !due {
            return Ok(());
        }
        if let Some(problem) = self.integrity_problem()? {
            return Err(StoreError::Corrupt {
                target: self.target.clone(),
                problem,
            });
        }
        record_full_check(&self.conn, today).io(self.write_err())
    }
}

impl SqliteStore {}
