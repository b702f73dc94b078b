//! A bound on every round trip to the server. rust-postgres' blocking
//! client has no read timeout, and TCP keepalives do not help when the
//! server's machine still acknowledges packets but its PostgreSQL no longer
//! answers (a frozen process, a paused VM behind a live proxy): a call
//! would wait for ever. So each connection gets a watchdog thread: the
//! store arms it around every call ([`Watch::arm`]), and if the server has
//! not answered by the deadline the watchdog shuts the connection's socket
//! down, which fails the call in progress (and every later one) at once.
//!
//! The socket is inside the client, so it is found by what opening the
//! connection added to the process' descriptors: nothing else opens a
//! socket while a connection is being opened.

use std::collections::BTreeSet;
use std::os::fd::RawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// After the run's deadline each call still gets this long, so that a run
/// whose time ran out elsewhere can record how it ended.
const GRACE: Duration = Duration::from_secs(2);

/// The stream sockets this process has open, by descriptor.
pub(crate) fn sockets() -> BTreeSet<RawFd> {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return BTreeSet::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<RawFd>().ok())
        .filter(|&fd| is_connected_stream(fd))
        .collect()
}

fn is_connected_stream(fd: RawFd) -> bool {
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `kind` and `len` are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut kind).cast(),
            &raw mut len,
        )
    };
    if rc != 0 || kind != libc::SOCK_STREAM {
        return false;
    }
    // SAFETY: all zeroes is a valid `sockaddr_storage`.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` and `len` are valid for writes of the sizes passed.
    if unsafe { libc::getpeername(fd, (&raw mut addr).cast(), &raw mut len) } != 0 {
        return false;
    }
    // A socket pair (the async runtime's own wakers) has an unnamed peer; a
    // server's socket has an address or a path.
    match libc::c_int::from(addr.ss_family) {
        libc::AF_INET | libc::AF_INET6 => true,
        libc::AF_UNIX => len as usize > std::mem::size_of::<libc::sa_family_t>(),
        _ => false,
    }
}

/// How long the server has to answer one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest one call may wait for an answer.
    pub answer: Duration,
    /// When the run must be over, if it has a deadline.
    pub until: Option<Instant>,
}

/// A connection's watchdog; dropping it stops the thread.
#[derive(Debug)]
pub struct Watch {
    shared: Arc<(Mutex<State>, Condvar)>,
    limits: Limits,
}

#[derive(Debug, Default)]
struct State {
    /// The deadline of the call in progress, and how long it allowed.
    armed: Option<(Instant, Duration)>,
    /// The deadline passed and the socket was shut down: how long the
    /// server had been waited for.
    fired: Option<Duration>,
    stop: bool,
}

impl Watch {
    /// Watches the socket `fd` (none found: calls are not bounded).
    pub fn start(fd: Option<RawFd>, limits: Limits) -> Watch {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        if let Some(fd) = fd {
            let watched = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name("pg-watch".into())
                .spawn(move || watch(fd, &watched));
            if let Err(e) = spawned {
                log::debug!("cannot start the database watchdog: {e}");
            }
        } else {
            log::debug!("the database connection's socket was not found; calls are not bounded");
        }
        Watch { shared, limits }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bounds the call that follows, until [`Watch::disarm`].
    pub fn arm(&self) {
        let now = Instant::now();
        let mut deadline = now + self.limits.answer;
        if let Some(until) = self.limits.until {
            deadline = deadline.min(until.max(now + GRACE));
        }
        self.state().armed = Some((deadline, deadline - now));
        self.shared.1.notify_all();
    }

    pub fn disarm(&self) {
        self.state().armed = None;
    }

    /// How long the server stayed silent before the watchdog gave up on
    /// it and closed the connection, if it did.
    pub fn fired(&self) -> Option<Duration> {
        self.state().fired
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.state().stop = true;
        self.shared.1.notify_all();
    }
}

fn watch(fd: RawFd, shared: &(Mutex<State>, Condvar)) {
    let (lock, changed) = shared;
    let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if state.stop || state.fired.is_some() {
            return;
        }
        state = match state.armed {
            None => changed.wait(state).unwrap_or_else(|e| e.into_inner()),
            Some((deadline, allowed)) => {
                let now = Instant::now();
                if now >= deadline {
                    // SAFETY: the descriptor is the connection's, open while
                    // the watch lives (the client is dropped first); shutting
                    // it down only makes its reads and writes fail.
                    unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
                    state.fired = Some(allowed);
                    return;
                }
                changed
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}
