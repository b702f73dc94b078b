//! The writer's claim on a schema: one row of `claims`, whose lease is
//! measured in the database's clock (`now()`), never a host's.
//!
//! A writer claims the schema when it opens it, in one statement (an
//! `INSERT ... ON CONFLICT DO UPDATE ... WHERE` the old lease has run out),
//! renews the lease from a thread every third of it, and deletes the row
//! when it is dropped. Every write that spends quota or changes the history
//! first checks, in its own transaction and under the row's lock, that the
//! claim is still its own and unexpired ([`PgStore::fence`]): a host that
//! was killed, or cut off from the database for longer than the lease,
//! loses the claim to the next host and can neither record a request (so
//! it sends none) nor store a day.
//!
//! Why not a session advisory lock: the server frees it only when it
//! notices the connection is gone (at once for a killed process, only
//! after TCP keepalive for a partition), and it does not survive a pooler
//! in transaction mode. A lease row needs neither: it is claimed, renewed
//! and checked in short, self-contained transactions.

use super::PgStore;
use super::session::{self, lock};
use crate::store::{StoreError, Writer};
use postgres::error::SqlState;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The claim's name: the right to write the history (fetch, store, prune).
pub(super) const WRITER: &str = "writer";

/// How often a waiting writer looks at the claim again.
const POLL: Duration = Duration::from_millis(100);

/// Takes the claim if it is free or its lease ran out. Returns whether it
/// was taken, and what the row held before: its host, whether its lease had
/// run out, and the seconds left of it.
const CLAIM: &str = "
WITH old AS (
    SELECT host, expires_at <= now() AS lapsed,
           greatest(0, extract(epoch FROM expires_at - now()))::float8 AS left_s
    FROM {s}.claims WHERE name = $1
), new AS (
    INSERT INTO {s}.claims AS c (name, token, host, pid, claimed_at, expires_at)
    VALUES ($1, $2, $3, $4, now(), now() + $5::float8 * interval '1 second')
    ON CONFLICT (name) DO UPDATE SET token = excluded.token, host = excluded.host,
        pid = excluded.pid, claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
    WHERE c.expires_at <= now()
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM new), (SELECT host FROM old), (SELECT lapsed FROM old),
       (SELECT left_s FROM old)";

/// The claim's holder, its lease lapsed or not, and the seconds left of it;
/// a plain read, which a lock on the row does not block.
const HOLDER: &str = "
SELECT host, expires_at <= now(), greatest(0, extract(epoch FROM expires_at - now()))::float8
FROM {s}.claims WHERE name = $1";

/// Extends the lease if the claim is still this writer's and unexpired;
/// one row when it is. Used alone (the renewer) and as the first statement
/// of every fenced write.
pub(super) const RENEW: &str = "
UPDATE {s}.claims SET expires_at = greatest(expires_at, now() + $3::float8 * interval '1 second')
WHERE name = $1 AND token = $2 AND expires_at > now()";

/// A writer's claim, held until the store is dropped.
pub(super) struct Claim {
    pub(super) token: String,
    /// The lease, in seconds.
    pub(super) lease: f64,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl PgStore {
    /// Claims the schema for `writer`, waiting at most `wait` for another
    /// writer to release it or for its lease to run out.
    pub(super) fn claim(&mut self, wait: Duration, writer: &Writer) -> Result<(), StoreError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let token = format!("{}:{}:{nanos}", self.text(&writer.host), std::process::id());
        let host = self.host.clone();
        let pid = std::process::id() as i32;
        let lease = writer.lease.as_secs_f64();
        let sql = self.sql(CLAIM);
        let deadline = Instant::now() + wait;
        let mut told = false;
        // A row lock on the claim (a writer frozen inside a transaction,
        // or another program's session) must not hold this run for ever:
        // each try waits a moment, and the loop keeps to `wait`.
        self.set_lock_timeout(session::CLAIM_TRY.min(wait))?;
        loop {
            // Bound first: the connection is free again when the match
            // reads the holder.
            let tried = self
                .conn()
                .query_one(&sql, &[&WRITER, &token, &host, &pid, &lease]);
            let (got, holder, lapsed, left, blocked) = match tried {
                Ok(row) => (row.get(0), row.get(1), row.get(2), row.get(3), false),
                Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                    let (holder, lapsed, left) = self.holder();
                    (false, holder, lapsed, left, true)
                }
                Err(e) => return Err(self.classify("cannot claim the database".into(), e)),
            };
            let holder: Option<String> = holder;
            let live = lapsed == Some(false);
            if got {
                if lapsed == Some(true) {
                    log::warn!(
                        "took over {} from the run on {}, whose claim lapsed without being \
                         released (it was killed, frozen, or cut off from the database); \
                         carrying on with what is missing",
                        self.target,
                        holder.as_deref().unwrap_or("an unnamed host")
                    );
                }
                self.set_lock_timeout(self.bounds.lock)?;
                self.start_renewer(token, lease);
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                // A lock held past a lapsed lease (or with no claim at all)
                // is not another fxrates run's.
                return Err(if blocked && !live {
                    StoreError::Blocked {
                        target: self.target.clone(),
                        what: "cannot claim the database".into(),
                        waited: wait,
                    }
                } else {
                    StoreError::Locked {
                        target: self.target.clone(),
                        waited: wait,
                        by: Some(holder.unwrap_or_else(|| "an unnamed host".into())),
                    }
                });
            }
            if !told {
                if live {
                    log::info!(
                        "{} is writing to {}; waiting for it to finish, or for its claim to \
                         lapse in {:.1} s if it died (at most {} s)",
                        holder.as_deref().unwrap_or("an unnamed host"),
                        self.target,
                        left.unwrap_or(0.0),
                        wait.as_secs()
                    );
                } else {
                    log::info!(
                        "another session holds a lock on the claim of {}; waiting for it to \
                         end (at most {} s)",
                        self.target,
                        wait.as_secs()
                    );
                }
                told = true;
            }
            std::thread::sleep((deadline - now).min(POLL));
        }
    }

    /// What the claim's row says, if it can be read: its host, whether its
    /// lease lapsed, the seconds left of it.
    fn holder(&self) -> (Option<String>, Option<bool>, Option<f64>) {
        match self.conn().query_opt(&self.sql(HOLDER), &[&WRITER]) {
            Ok(Some(row)) => (row.get(0), row.get(1), row.get(2)),
            _ => (None, None, None),
        }
    }

    fn set_lock_timeout(&self, wait: std::time::Duration) -> Result<(), StoreError> {
        self.conn()
            .batch_execute(&format!("SET lock_timeout = {}", session::millis(wait)))
            .map_err(self.err("cannot claim the database"))
    }

    fn start_renewer(&mut self, token: String, lease: f64) {
        let (stop, stopped) = mpsc::channel::<()>();
        let client = Arc::clone(&self.client);
        let sql = self.sql(RENEW);
        let every = Duration::from_secs_f64(lease / 3.0);
        let mine = token.clone();
        let target = self.target.to_string();
        let renewer = std::thread::spawn(move || {
            loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                let renewed = lock(&client).execute(&sql, &[&WRITER, &mine, &lease]);
                match renewed {
                    Ok(1) => {}
                    Ok(_) => {
                        log::debug!("the claim on {target} lapsed and another host took it");
                        return;
                    }
                    Err(e) => {
                        log::debug!("cannot renew the claim on {target}: {e}");
                        return;
                    }
                }
            }
        });
        self.claim = Some(Claim {
            token,
            lease,
            stop: Some(stop),
            renewer: Some(renewer),
        });
    }

    /// Checks, inside `tx`, that the claim is still this writer's, and
    /// extends it; the row stays locked until `tx` ends, so no other host
    /// can take over meanwhile. Only a writer writes (a reader has no
    /// method that does), and a writer holds its claim from `open` until it
    /// is dropped: without one, the claim is as good as lost.
    pub(super) fn fence(
        &self,
        tx: &mut postgres::Transaction<'_>,
        what: &str,
    ) -> Result<(), StoreError> {
        let Some(claim) = &self.claim else {
            return Err(self.claim_lost(tx));
        };
        let n = tx
            .execute(&self.sql(RENEW), &[&WRITER, &claim.token, &claim.lease])
            .map_err(|e| self.classify(what.to_string(), e))?;
        if n == 1 {
            Ok(())
        } else {
            Err(self.claim_lost(tx))
        }
    }

    /// The error of a writer whose claim is gone, naming the host that holds
    /// it now if it can be read.
    pub(super) fn claim_lost(&self, client: &mut impl postgres::GenericClient) -> StoreError {
        let by = client
            .query_opt(
                &self.sql("SELECT host FROM {s}.claims WHERE name = $1 AND expires_at > now()"),
                &[&WRITER],
            )
            .ok()
            .flatten()
            .and_then(|r| r.get::<_, Option<String>>(0));
        StoreError::ClaimLost {
            target: self.target.clone(),
            by,
        }
    }

    /// The claim's token and lease as SQL parameters, for statements that
    /// fence themselves (a CTE around [`RENEW`]).
    pub(super) fn claim_params(&self) -> Option<(&str, f64)> {
        self.claim.as_ref().map(|c| (c.token.as_str(), c.lease))
    }

    /// Stops renewing and gives the claim back, so that the next host need
    /// not wait for the lease to run out. Errors are ignored: a claim that
    /// cannot be deleted lapses on its own.
    pub(super) fn release(&mut self) {
        let Some(mut claim) = self.claim.take() else {
            return;
        };
        drop(claim.stop.take());
        if let Some(renewer) = claim.renewer.take() {
            let _ = renewer.join();
        }
        let sql = self.sql("DELETE FROM {s}.claims WHERE name = $1 AND token = $2");
        if let Err(e) = self.conn().execute(&sql, &[&WRITER, &claim.token]) {
            log::debug!("cannot release the claim on {}: {e}", self.target);
        }
    }
}
