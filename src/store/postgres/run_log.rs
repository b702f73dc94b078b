//! The record of runs (`runs`, with the host each ran on), for `status`
//! and the metrics.

use super::PgStore;
use crate::store::{LastRun, RunFailure, RunId, StoreError};
use chrono::{DateTime, Utc};

impl crate::store::RunLog for PgStore {
    fn last_success(&self, commands: &[&str]) -> Result<Option<DateTime<Utc>>, StoreError> {
        let commands: Vec<&str> = commands.to_vec();
        Ok(self
            .conn()
            .query_one(
                &self.sql("SELECT max(finished_at) FROM {s}.runs WHERE ok AND command = ANY($1)"),
                &[&commands],
            )
            .map_err(self.read_err())?
            .get(0))
    }

    fn last_runs(&self) -> Result<Vec<LastRun>, StoreError> {
        self.runs(
            "SELECT * FROM (
                 SELECT DISTINCT ON (command) command, started_at, ok, error, host, exit_code, id
                 FROM {s}.runs
                 ORDER BY command, id DESC
             ) AS last ORDER BY command COLLATE \"C\"",
        )
    }

    fn last_runs_by_host(&self) -> Result<Vec<LastRun>, StoreError> {
        self.runs(
            "SELECT command, started_at, ok, error, host, exit_code, id FROM (
                 SELECT DISTINCT ON (host, command) * FROM {s}.runs WHERE host IS NOT NULL
                 ORDER BY host, command, id DESC
             ) AS last ORDER BY host COLLATE \"C\", command COLLATE \"C\"",
        )
    }
}

impl crate::store::RunLogWrite for PgStore {
    fn start_run(&mut self, command: &str, at: DateTime<Utc>) -> Result<RunId, StoreError> {
        let id: i64 = self
            .conn()
            .query_one(
                &self.sql(
                    "INSERT INTO {s}.runs (command, started_at, host) VALUES ($1, $2, $3) \
                     RETURNING id",
                ),
                &[&self.text(command), &at, &self.host],
            )
            .map_err(self.write_err())?
            .get(0);
        Ok(RunId(id))
    }

    fn finish_run(
        &mut self,
        id: RunId,
        at: DateTime<Utc>,
        failure: Option<RunFailure<'_>>,
    ) -> Result<(), StoreError> {
        let error = failure.map(|f| self.text(f.error));
        let exit_code = i32::from(failure.map_or(0, |f| f.exit_code));
        self.conn()
            .execute(
                &self.sql(
                    "UPDATE {s}.runs SET finished_at = $2, ok = $3, error = $4, exit_code = $5 \
                     WHERE id = $1",
                ),
                &[&id.0, &at, &failure.is_none(), &error, &exit_code],
            )
            .map(drop)
            .map_err(self.write_err())
    }
}

impl PgStore {
    /// Runs as `sql` lists them: command, started_at, ok, error, host,
    /// exit_code, id.
    pub(super) fn runs(&self, sql: &str) -> Result<Vec<LastRun>, StoreError> {
        let rows = self
            .conn()
            .query(&self.sql(sql), &[])
            .map_err(self.read_err())?;
        Ok(rows
            .iter()
            .map(|r| LastRun {
                id: RunId(r.get(6)),
                command: r.get(0),
                started_at: r.get(1),
                ok: r.get(2),
                error: r.get(3),
                host: r.get(4),
                exit_code: r.get::<_, Option<i32>>(5).map(i64::from),
            })
            .collect())
    }
}
