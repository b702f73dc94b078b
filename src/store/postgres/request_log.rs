//! The record of requests made to the provider (`requests`, with the host
//! that sent each), which the monthly budget counts; a request is recorded
//! only while the writer's claim holds.

use super::{PgStore, claim};
use crate::store::{Request, RequestId, StoreError};
use chrono::{DateTime, Utc};

impl crate::store::RequestLog for PgStore {
    fn requests_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM {s}.requests WHERE at >= $1 AND endpoint NOT LIKE 'ecb%' \
             AND outcome NOT LIKE $2",
            &[&since, &format!("{}%", Request::NOT_SENT)],
        )
    }
}

impl crate::store::RequestLogWrite for PgStore {
    fn record_request(&mut self, request: &Request<'_>) -> Result<RequestId, StoreError> {
        // Only the holder of a live claim may spend the shared quota: the
        // record is written only if the claim is still this writer's.
        let (token, lease) = self.claim_params().unwrap_or_default();
        let mut conn = self.conn();
        let row = conn
            .query_opt(
                &self.sql(&format!(
                    "WITH fence AS ({} RETURNING 1)
                     INSERT INTO {{s}}.requests (at, endpoint, outcome, host)
                     SELECT $4, $5, $6, $7 FROM fence RETURNING id",
                    claim::RENEW
                )),
                &[
                    &claim::WRITER,
                    &token,
                    &lease,
                    &request.at,
                    &request.endpoint,
                    &self.text(request.outcome),
                    &self.host,
                ],
            )
            .map_err(self.err("cannot record a request"))?;
        match row {
            Some(row) => Ok(RequestId(row.get(0))),
            None => Err(self.claim_lost(&mut *conn)),
        }
    }

    fn set_request_outcome(&mut self, id: RequestId, outcome: &str) -> Result<(), StoreError> {
        self.conn()
            .execute(
                &self.sql("UPDATE {s}.requests SET outcome = $2 WHERE id = $1"),
                &[&id.0, &self.text(outcome)],
            )
            .map(drop)
            .map_err(self.err("cannot record a request"))
    }
}
