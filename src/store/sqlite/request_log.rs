//! The record of requests made to the provider (`requests`), which the
//! monthly budget counts.

use super::{IoContext, SqliteStore};
use crate::store::{Request, RequestId, StoreError, timestamp};
use chrono::{DateTime, Utc};
use rusqlite::params;

impl crate::store::RequestLog for SqliteStore {
    fn requests_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM requests WHERE at >= ?1 AND endpoint NOT LIKE 'ecb%' \
                 AND outcome NOT LIKE ?2",
                params![timestamp(since), format!("{}%", Request::NOT_SENT)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .io(|| self.named("cannot read the request record"))
    }
}

impl crate::store::RequestLogWrite for SqliteStore {
    fn record_request(&mut self, request: &Request<'_>) -> Result<RequestId, StoreError> {
        self.conn
            .prepare_cached("INSERT INTO requests (at, endpoint, outcome) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| {
                s.execute(params![
                    timestamp(request.at),
                    request.endpoint,
                    request.outcome
                ])
            })
            .map(|_| RequestId(self.conn.last_insert_rowid()))
            .io(|| self.named("cannot record a request"))
    }

    fn set_request_outcome(&mut self, id: RequestId, outcome: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE requests SET outcome = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id.0, outcome]))
            .map(drop)
            .io(|| self.named("cannot record a request"))
    }
}

impl SqliteStore {}
