//! How long to wait before asking again: exponential backoff with jitter,
//! and `Retry-After`; and the loop of tries both providers' clients send
//! their requests through. Which failures are worth another try is each
//! error's own `retryable`.

use super::{FetchErrorKind, GaveUp, Recorder};
use crate::secret::scrub;
use chrono::{DateTime, Utc};
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;
use std::time::Instant;

/// How failed requests are retried, and how long a run may spend on requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Requests per call at most, the first included.
    pub tries: u32,
    /// The wait before the second try; it doubles for each further try.
    pub base: Duration,
    /// The longest wait between tries fxrates chooses itself.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the run.
    pub max_retry_after: Duration,
    /// The time all requests of one run may take together.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            tries: 3,
            base: Duration::from_secs(2),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            budget: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before try `next` (2, 3, ...): exponential, capped, with
    /// "equal jitter" so that many clients do not retry in step.
    pub(crate) fn backoff(&self, next: u32, jitter: &Jitter) -> Duration {
        let doublings = next.saturating_sub(2).min(20);
        let full = self.base.saturating_mul(1 << doublings).min(self.max_delay);
        let half = full / 2;
        let spread = half.as_millis() as u64;
        half + Duration::from_millis(if spread == 0 {
            0
        } else {
            jitter.next() % (spread + 1)
        })
    }

    /// After failed try number `tries` of a retryable error: how long to
    /// wait before the next, or why not to try again. `hint` is the
    /// server's `Retry-After`; `time_left` what remains of the run's budget.
    pub(crate) fn next_wait(
        &self,
        tries: u32,
        hint: Option<Duration>,
        time_left: Option<Duration>,
        jitter: &Jitter,
    ) -> Result<Duration, super::GaveUp> {
        use super::GaveUp;
        if let Some(asked) = hint.filter(|h| *h > self.max_retry_after) {
            return Err(GaveUp::RetryAfter {
                asked,
                max: self.max_retry_after,
            });
        }
        if tries >= self.tries {
            return Err(GaveUp::Tries(tries));
        }
        let wait = hint.unwrap_or_else(|| self.backoff(tries + 1, jitter));
        if time_left.is_none_or(|left| left <= wait) {
            return Err(GaveUp::NoTimeLeft {
                budget: self.budget,
            });
        }
        Ok(wait)
    }
}

/// A tiny xorshift generator: jitter needs no cryptographic quality, only a
/// different seed per process, which std's randomly keyed hasher provides.
pub(crate) struct Jitter(Cell<u64>);

impl Jitter {
    pub(crate) fn new() -> Jitter {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        Jitter(Cell::new(h.finish() | 1))
    }

    fn next(&self) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x
    }
}

/// Reads a `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110)
/// compared with `now`. A date in the past means "now"; more seconds than
/// a `u64` holds mean "longer than any run" ([`Duration::MAX`]).
pub(crate) fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// What the loop of tries needs to know of a failed try.
pub(crate) trait TryFailure: fmt::Display {
    /// Whether the same request may succeed if sent again.
    fn retryable(&self) -> bool;
    /// The server's `Retry-After`, if it sent one.
    fn retry_after(&self) -> Option<Duration>;
    /// Notes why no further try was made.
    fn give_up(&mut self, why: GaveUp);
}

/// A client's pace: its retry policy and jitter, and the run's clock and
/// time budget, which count from when the client was made.
pub(crate) struct Pace<'a> {
    pub policy: &'a RetryPolicy,
    pub jitter: &'a Jitter,
    /// The run's clock when the client was made.
    pub now: DateTime<Utc>,
    pub started: Instant,
}

impl Pace<'_> {
    /// Sends with `try_once` (given what is left of the run's budget) until
    /// it succeeds, fails for good, runs out of tries or out of the run's
    /// time budget. Every try is recorded as `endpoint` before it is sent;
    /// `try_once`'s error says whether the request left the machine.
    /// `own` makes the loop's own failures (the budget spent, the record
    /// failing) the client's error.
    pub(crate) fn send<T, E: TryFailure>(
        &self,
        recorder: &mut dyn Recorder,
        endpoint: &'static str,
        mut try_once: impl FnMut(Duration) -> Result<T, (E, bool)>,
        own: impl Fn(FetchErrorKind) -> E,
    ) -> Result<T, E> {
        let policy = self.policy;
        let mut tries = 0;
        loop {
            let Some(left) = self.time_left().filter(|t| !t.is_zero()) else {
                return Err(own(FetchErrorKind::BudgetSpent {
                    budget: policy.budget,
                    after_retries: tries > 0,
                }));
            };
            tries += 1;
            let token = recorder
                .sending(self.clock(), endpoint)
                .map_err(|e| own(FetchErrorKind::NotRecorded(e)))?;
            let result = try_once(left);
            let (outcome, sent) = match &result {
                Ok(_) => ("ok".to_string(), true),
                Err((error, sent)) => (scrub(&error.to_string()).into_owned(), *sent),
            };
            recorder
                .answered(token, &outcome, sent)
                .map_err(|e| own(FetchErrorKind::NotRecorded(e)))?;
            let mut error = match result {
                Ok(value) => return Ok(value),
                Err((error, _)) => error,
            };
            if !error.retryable() {
                return Err(error);
            }
            let hint = error.retry_after();
            let wait = match policy.next_wait(tries, hint, self.time_left(), self.jitter) {
                Ok(wait) => wait,
                Err(why) => {
                    error.give_up(why);
                    return Err(error);
                }
            };
            log::info!(
                "try {tries} of {} failed: {}; trying again in {:.1} s",
                policy.tries,
                scrub(&error.to_string()),
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
        }
    }

    /// What remains of the run's time budget for requests.
    fn time_left(&self) -> Option<Duration> {
        self.policy.budget.checked_sub(self.started.elapsed())
    }

    /// The time now, as the run's clock plus what has passed since.
    fn clock(&self) -> DateTime<Utc> {
        self.now + self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(" 120 ", now()), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now()),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now()), None);
        assert_eq!(retry_after("-5", now()), None);
        assert_eq!(retry_after("+5", now()), None);
    }

    #[test]
    fn a_retry_after_beyond_u64_is_longer_than_any_run() {
        assert_eq!(
            retry_after("18446744073709551615", now()),
            Some(Duration::from_secs(u64::MAX))
        );
        for huge in [
            "18446744073709551616",
            "99999999999999999999999999999999999999",
        ] {
            assert_eq!(retry_after(huge, now()), Some(Duration::MAX), "{huge}");
        }
    }

    #[test]
    fn a_retry_waits_for_the_hint_or_the_backoff_and_gives_up_for_a_reason() {
        use super::super::GaveUp;
        let policy = RetryPolicy::default();
        let jitter = Jitter::new();
        let plenty = Some(Duration::from_secs(1000));
        let hint = Some(Duration::from_secs(5));
        assert_eq!(
            policy.next_wait(1, hint, plenty, &jitter),
            Ok(Duration::from_secs(5))
        );
        let wait = policy.next_wait(1, None, plenty, &jitter).unwrap();
        assert!(wait >= policy.base / 2 && wait <= policy.base, "{wait:?}");
        let long = Some(Duration::from_secs(61));
        assert_eq!(
            policy.next_wait(1, long, plenty, &jitter),
            Err(GaveUp::RetryAfter {
                asked: Duration::from_secs(61),
                max: policy.max_retry_after
            })
        );
        assert_eq!(
            policy.next_wait(3, None, plenty, &jitter),
            Err(GaveUp::Tries(3))
        );
        assert_eq!(
            policy.next_wait(1, hint, Some(Duration::from_secs(5)), &jitter),
            Err(GaveUp::NoTimeLeft {
                budget: policy.budget
            })
        );
        assert_eq!(
            policy.next_wait(1, hint, None, &jitter),
            Err(GaveUp::NoTimeLeft {
                budget: policy.budget
            })
        );
    }

    #[test]
    fn backoff_doubles_within_jitter_and_stays_under_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_millis(1000),
            max_delay: Duration::from_millis(3000),
            ..RetryPolicy::default()
        };
        let jitter = Jitter::new();
        for _ in 0..200 {
            let second = policy.backoff(2, &jitter);
            let third = policy.backoff(3, &jitter);
            let tenth = policy.backoff(10, &jitter);
            assert!((500..=1000).contains(&second.as_millis()), "{second:?}");
            assert!((1000..=2000).contains(&third.as_millis()), "{third:?}");
            assert!((1500..=3000).contains(&tenth.as_millis()), "{tenth:?}");
        }
    }
}
