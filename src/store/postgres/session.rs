//! The bounds every session of the store runs under, so that no call waits
//! for ever: on a lock (`lock_timeout`, FXRATES_LOCK_TIMEOUT for writers),
//! on the server's work (`statement_timeout`), on a server that stopped
//! answering (the connection's watchdog, [`crate::pg::Watch`]), and, for a
//! writer frozen inside a transaction, on the locks it holds: the server
//! ends a writer's session that stays idle in a transaction for longer than
//! its lease (`idle_in_transaction_session_timeout`), so that its claim can
//! be taken over, and the writer finds its connection gone when it wakes.

use crate::pg::{Limits, Watch};
use crate::store::{Access, Writer};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a reader waits for a lock another session holds (only a
/// foreign session can block a reader: fxrates' writers never do).
const READ_LOCK_WAIT: Duration = Duration::from_secs(10);

/// How long a schema migration waits for its locks, whatever
/// FXRATES_LOCK_TIMEOUT says: that setting bounds the wait for another
/// writer's claim, while a migration only waits for the catalog and for
/// another run's migration, which are short; a lock timeout of a few
/// milliseconds would fail a first run on a busy server for nothing.
pub(super) const MIGRATION_LOCK_WAIT: Duration = Duration::from_secs(10);

/// The longest one statement of fxrates works, besides waiting for locks.
const WORK: Duration = Duration::from_secs(60);

/// How long a writer waits for the claim's row in one try: the claim loop
/// tries again until FXRATES_LOCK_TIMEOUT is spent.
pub(super) const CLAIM_TRY: Duration = Duration::from_millis(200);

/// A session's bounds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounds {
    /// The longest wait for a lock.
    pub(super) lock: Duration,
    /// The longest statement.
    pub(super) statement: Duration,
    /// A writer's lease: the longest it may sit idle inside a transaction.
    idle_in_transaction: Option<Duration>,
}

impl Bounds {
    pub(super) fn of(access: Access, writer: &Writer) -> Bounds {
        let (lock, idle) = match access {
            Access::Read => (READ_LOCK_WAIT, None),
            Access::Write { lock_wait, .. } => (lock_wait, Some(writer.lease)),
        };
        Bounds {
            lock,
            statement: lock + WORK,
            idle_in_transaction: idle,
        }
    }

    /// The watchdog's limits: a call may run several statements (a day's
    /// transaction), each bounded by the server.
    pub(super) fn limits(&self, writer: &Writer) -> Limits {
        Limits {
            answer: self.statement * 3,
            until: writer.deadline,
        }
    }

    /// The session's settings, as SQL.
    pub(super) fn sql(&self) -> String {
        let mut sql = format!(
            "SET lock_timeout = {}; SET statement_timeout = {};",
            millis(self.lock),
            millis(self.statement)
        );
        if let Some(idle) = self.idle_in_transaction {
            sql.push_str(&format!(
                " SET idle_in_transaction_session_timeout = {};",
                millis(idle)
            ));
        }
        sql
    }
}

/// How far a writer's clock may be from the server's.
pub(super) const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// `text` as a server in another encoding than UTF-8 can store it: every
/// character beyond ASCII (which every server encoding holds) written as
/// `\u{...}`, so that a provider's words never turn into an encoding error
/// that hides the run's real failure.
pub(super) fn storable(text: &str, escape: bool) -> std::borrow::Cow<'_, str> {
    if !escape || text.is_ascii() {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out.into()
}

/// A duration as PostgreSQL's milliseconds; never 0, which means "no limit".
pub(super) fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// The connection and its watchdog, shared by the store and the thread
/// that renews a writer's claim.
pub(super) struct Conn {
    pub(super) client: postgres::Client,
    pub(super) watch: Arc<Watch>,
}

/// The connection, in use: the watchdog bounds everything done through it
/// until it is dropped.
pub(super) struct Guard<'a>(MutexGuard<'a, Conn>);

/// Takes the shared connection (even if a thread panicked holding it).
pub(super) fn lock(conn: &Mutex<Conn>) -> Guard<'_> {
    let conn = conn.lock().unwrap_or_else(|e| e.into_inner());
    conn.watch.arm();
    Guard(conn)
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.watch.disarm();
    }
}

impl Deref for Guard<'_> {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        &self.0.client
    }
}

impl DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        &mut self.0.client
    }
}
