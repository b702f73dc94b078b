//! The record of runs (`runs`), for `status` and the metrics.

use super::{IoContext, SqliteStore};
use crate::store::{LastRun, RunFailure, RunId, StoreError, timestamp};
use chrono::{DateTime, Utc};
use rusqlite::params;

impl crate::store::RunLog for SqliteStore {
    fn last_success(&self, commands: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut latest: Option<String> = None;
        for command in commands {
            let at: Option<String> = self
                .conn
                .query_row(
                    "SELECT max(finished_at) FROM runs WHERE ok = 1 AND command = ?1",
                    [command],
                    |r| r.get(0),
                )
                .io(self.read_err())?;
            // RFC 3339 in UTC with whole seconds: text order is time order.
            latest = latest.max(at);
        }
        Ok(latest
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    fn last_runs(&self) -> Result<Vec<LastRun>, StoreError> {
        // command, started_at, ok, error, exit_code, id
        type Row = (
            String,
            String,
            Option<bool>,
            Option<String>,
            Option<i64>,
            i64,
        );
        let read = || -> rusqlite::Result<Vec<Row>> {
            let mut stmt = self.conn.prepare(
                "SELECT command, started_at, ok, error, exit_code, id FROM runs
                 WHERE id IN (SELECT max(id) FROM runs GROUP BY command) ORDER BY command",
            )?;
            stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<bool>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        };
        read()
            .io(self.read_err())?
            .into_iter()
            .map(|(command, started_at, ok, error, exit_code, id)| {
                let started_at = DateTime::parse_from_rfc3339(&started_at)
                    .map_err(|e| StoreError::io(self.named("a run's start time is damaged"), e))?
                    .to_utc();
                Ok(LastRun {
                    id: RunId(id),
                    command,
                    started_at,
                    ok,
                    error,
                    exit_code,
                    host: None,
                })
            })
            .collect()
    }

    /// One file serves one host: the runs need no host to tell them apart.
    fn last_runs_by_host(&self) -> Result<Vec<LastRun>, StoreError> {
        Ok(Vec::new())
    }
}

impl crate::store::RunLogWrite for SqliteStore {
    fn start_run(&mut self, command: &str, at: DateTime<Utc>) -> Result<RunId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (command, started_at) VALUES (?1, ?2)",
                [command, &timestamp(at)],
            )
            .map(|_| RunId(self.conn.last_insert_rowid()))
            .io(self.write_err())
    }

    fn finish_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        failure: Option<RunFailure<'_>>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, ok = ?3, error = ?4, exit_code = ?5 WHERE id = ?1",
                params![
                    id.0,
                    timestamp(at),
                    failure.is_none(),
                    failure.map(|f| f.error),
                    failure.map_or(0, |f| f.exit_code)
                ],
            )
            .map(drop)
            .io(self.write_err())
    }
}

impl SqliteStore {}
