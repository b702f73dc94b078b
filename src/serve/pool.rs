//! The store, read synchronously on a few threads of its own, so that the
//! server's one async thread never waits on SQLite or PostgreSQL.
//!
//! Each thread opens its own store for reading (a store is not `Send`), and
//! drops it after any error, so that the next request opens it anew: a
//! restarted PostgreSQL server or a replaced SQLite file is picked up by the
//! next request without a restart of `serve`.

use super::answer::Answer;
use crate::store::{self, Reader, StoreError, Target};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Threads reading the store: PostgreSQL reads wait on the network, so a
/// few run at once even on a small machine.
const THREADS: usize = 4;

/// Requests waiting for a thread; past this the server is overloaded and
/// says so at once rather than queueing without bound.
const QUEUE: usize = 1024;

type Job = Box<dyn FnOnce(Result<&dyn Reader, &StoreError>, &mut Cache) -> bool + Send>;

/// The answers a thread computed since the store last changed: kept while
/// the store's [`Store::data_version`] stays the same, so that a day stored
/// by `ingest` is served by the next request all the same. Bounded, so that
/// no client can make it grow: past [`CACHE_BYTES`] it starts again.
#[derive(Default)]
pub(crate) struct Cache {
    version: Option<i64>,
    answers: HashMap<String, Answer>,
    bytes: usize,
}

/// What one thread keeps at most, and the largest answer it keeps: a year
/// of timeseries (about 700 KB, and 150 KB more gzipped) is the costliest
/// to compute, so it is kept too.
const CACHE_BYTES: usize = 2 << 20;
const CACHE_LARGEST: usize = 1 << 20;

impl Cache {
    /// Forgets everything unless the store is still at `version`.
    fn check(&mut self, version: Option<i64>) {
        if version.is_none() || version != self.version {
            self.answers.clear();
            self.bytes = 0;
            self.version = version;
        }
    }

    fn get(&self, key: &str) -> Option<Answer> {
        self.answers.get(key).cloned()
    }

    /// Keeps `answer` under `key`, in place of what was kept under it.
    fn keep(&mut self, key: String, answer: &Answer) {
        let size = |key: &str, answer: &Answer| {
            key.len() + answer.body.len() + answer.gzip.as_ref().map_or(0, |g| g.len())
        };
        if let Some(old) = self.answers.remove(&key) {
            self.bytes -= size(&key, &old);
        }
        let size = size(&key, answer);
        if self.version.is_none() || size > CACHE_LARGEST {
            return;
        }
        if self.bytes + size > CACHE_BYTES {
            self.answers.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        self.answers.insert(key, answer.clone());
    }
}

/// Why a job got no answer from the store.
#[derive(Debug)]
pub(crate) enum Unavailable {
    /// The store could not be opened or read (logged where it happened).
    Store,
    /// Every thread is busy and the queue is full.
    Busy,
}

pub(crate) struct Pool {
    jobs: SyncSender<Job>,
}

/// The threads of a [`Pool`], to wait for once it is dropped.
pub(crate) struct Threads {
    ended: Receiver<()>,
}

impl Pool {
    /// Starts the threads, each opening `target` for reading when its first
    /// job comes.
    pub(crate) fn start(target: &Target) -> (Pool, Threads) {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let (ended_tx, ended) = mpsc::channel();
        for n in 0..THREADS {
            let queue = Arc::clone(&queue);
            let target = target.clone();
            let ended_tx = ended_tx.clone();
            std::thread::Builder::new()
                .name(format!("store-{n}"))
                .spawn(move || {
                    worker(&target, &queue);
                    let _ = ended_tx.send(());
                })
                .expect("cannot start a thread to read the store");
        }
        (Pool { jobs }, Threads { ended })
    }

    /// Runs `read` on a store thread and waits for its result. An error of
    /// the store is logged here, and makes the thread open the store anew
    /// for its next job.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Reader) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Unavailable> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |store, _| {
            let result = match store {
                Ok(store) => read(store).map_err(|e| {
                    log::warn!("reading the store failed: {e}");
                    Unavailable::Store
                }),
                Err(_) => Err(Unavailable::Store),
            };
            let failed = result.is_err();
            let _ = tx.send(result);
            failed
        });
        self.send(job, rx).await
    }

    /// [`Pool::read`] for an answer, kept under `key` while the store does
    /// not change: `key` must name everything the answer depends on besides
    /// the store. Its ETag is computed once, with it; so is its gzip form,
    /// when `gzip` (the client takes it) and it is large enough to need it.
    pub(crate) async fn answer(
        &self,
        key: String,
        gzip: bool,
        read: impl FnOnce(&dyn Reader) -> Result<Answer, StoreError> + Send + 'static,
    ) -> Result<Answer, Unavailable> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |store, cache| {
            let result = match store {
                Ok(store) => cached(store, cache, key, gzip, read).map_err(|e| {
                    log::warn!("reading the store failed: {e}");
                    Unavailable::Store
                }),
                Err(_) => Err(Unavailable::Store),
            };
            let failed = result.is_err();
            let _ = tx.send(result);
            failed
        });
        self.send(job, rx).await
    }

    async fn send<T>(
        &self,
        job: Job,
        rx: oneshot::Receiver<Result<T, Unavailable>>,
    ) -> Result<T, Unavailable> {
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Unavailable::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(Unavailable::Store),
        }
        rx.await.unwrap_or(Err(Unavailable::Store))
    }
}

impl Threads {
    /// Waits (at most `limit`) for every thread to close its store, which
    /// they do once the [`Pool`] is dropped: a SQLite store closed by its
    /// last reader leaves no -wal or -shm file behind.
    pub(crate) fn join(self, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        for _ in 0..THREADS {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if self.ended.recv_timeout(left).is_err() {
                log::warn!("a store read was still running when serve stopped");
                return;
            }
        }
    }
}

/// The answer under `key`: kept from before if the store has not changed
/// since, else computed by `read` (and kept, if it may be).
fn cached(
    store: &dyn Reader,
    cache: &mut Cache,
    key: String,
    gzip: bool,
    read: impl FnOnce(&dyn Reader) -> Result<Answer, StoreError>,
) -> Result<Answer, StoreError> {
    cache.check(store.data_version()?);
    let kept = cache.get(&key);
    let fresh = kept.is_none();
    let mut answer = match kept {
        Some(answer) => answer,
        None => {
            let mut answer = read(store)?;
            if answer.cacheable {
                answer.etag = Some(super::http::etag(&answer.body));
            }
            answer
        }
    };
    // Compressed here rather than on the server's one thread, where it
    // would hold up every other connection.
    let packed = gzip && answer.gzip.is_none() && answer.body.len() >= super::http::GZIP_MIN;
    if packed {
        answer.gzip = super::http::compress(&answer.body);
    }
    if answer.cacheable && (fresh || packed) {
        cache.keep(key, &answer);
    }
    Ok(answer)
}

/// A file's device and inode.
type FileId = (u64, u64);

/// What identifies a SQLite file: a file replaced under the same name (a
/// restored backup) is another file, and is opened anew.
fn file_id(target: &Target) -> Option<FileId> {
    match target {
        Target::Sqlite(path) => std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino())),
        Target::Postgres(_) => None,
    }
}

fn worker(target: &Target, queue: &Mutex<Receiver<Job>>) {
    let mut open: Option<(Box<dyn Reader>, Option<FileId>)> = None;
    let mut cache = Cache::default();
    loop {
        let job = match queue.lock() {
            Ok(queue) => match queue.recv() {
                Ok(job) => job,
                Err(_) => {
                    // The server is gone. The store is closed while this
                    // thread still holds the queue, so the threads close
                    // theirs one after another: SQLite removes the -wal
                    // and -shm files only when the last reader closes, and
                    // two closing at the same moment may each see the
                    // other and leave both behind.
                    drop(open.take());
                    return;
                }
            },
            Err(_) => return,
        };
        let id = file_id(target);
        if open.as_ref().is_some_and(|(_, was)| *was != id) {
            log::info!("{target} was replaced; reading the new file");
            open = None;
        }
        if open.is_none() {
            // Another store (or the same one back): nothing kept applies.
            cache = Cache::default();
            match store::open_read(target) {
                Ok(store) => open = Some((store, id)),
                Err(e) => {
                    log::warn!("cannot open the store: {e}");
                    job(Err(&e), &mut cache);
                    continue;
                }
            }
        }
        let failed = match &open {
            Some((store, _)) => job(Ok(store.as_ref()), &mut cache),
            None => continue,
        };
        if failed {
            open = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(len: usize, gzip: Option<usize>) -> Answer {
        let mut a = Answer::ok(vec![b' '; len], None);
        a.gzip = gzip.map(|n| vec![0u8; n].into());
        a
    }

    #[test]
    fn a_year_of_timeseries_is_kept_and_its_gzip_form_replaces_it() {
        let mut cache = Cache::default();
        cache.check(Some(1));
        cache.keep("k".into(), &answer(700 << 10, None));
        assert_eq!(cache.bytes, 1 + (700 << 10));
        cache.keep("k".into(), &answer(700 << 10, Some(150 << 10)));
        assert_eq!(cache.bytes, 1 + (850 << 10));
        assert_eq!(cache.get("k").unwrap().gzip.unwrap().len(), 150 << 10);
        // Larger than any one answer kept: computed each time.
        cache.keep("big".into(), &answer(CACHE_LARGEST, None));
        assert!(cache.get("big").is_none());
        assert_eq!(cache.bytes, 1 + (850 << 10));
        // Past the budget it starts again, never grows.
        cache.keep("k2".into(), &answer(900 << 10, None));
        cache.keep("k3".into(), &answer(900 << 10, None));
        assert!(cache.bytes <= CACHE_BYTES, "{}", cache.bytes);
        // Nothing outlives a change of the store.
        cache.check(Some(2));
        assert!(cache.get("k3").is_none());
        assert_eq!(cache.bytes, 0);
    }
}
