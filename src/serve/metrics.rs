//! What `/metrics` counts: requests by endpoint and status, and a latency
//! histogram, in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub(crate) struct Counters {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    /// Per bucket (and one past the last, for +Inf), not cumulative.
    buckets: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Counters {
    pub(crate) fn record(&self, endpoint: &'static str, status: u16, took: Duration) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner.requests.entry((endpoint, status)).or_default() += 1;
        let secs = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        inner.buckets[bucket] += 1;
        inner.sum += secs;
        inner.count += 1;
    }

    /// The counters as Prometheus text.
    pub(crate) fn render(&self) -> String {
        let Ok(inner) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        out.push_str(
            "# HELP fxrates_http_requests_total Requests served, by endpoint and status.\n\
             # TYPE fxrates_http_requests_total counter\n",
        );
        for ((endpoint, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "fxrates_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP fxrates_http_request_duration_seconds Time to answer a request.\n\
             # TYPE fxrates_http_request_duration_seconds histogram\n",
        );
        let mut total = 0;
        for (i, n) in inner.buckets.iter().enumerate() {
            total += n;
            let le = BUCKETS.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "fxrates_http_request_duration_seconds_bucket{{le=\"{le}\"}} {total}"
            );
        }
        let _ = writeln!(
            out,
            "fxrates_http_request_duration_seconds_sum {}\nfxrates_http_request_duration_seconds_count {}",
            inner.sum, inner.count
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_latency_are_counted() {
        let c = Counters::default();
        c.record("latest", 200, Duration::from_micros(500));
        c.record("latest", 200, Duration::from_millis(3));
        c.record("latest", 404, Duration::from_secs(2));
        let text = c.render();
        assert!(
            text.contains("fxrates_http_requests_total{endpoint=\"latest\",status=\"200\"} 2\n")
        );
        assert!(
            text.contains("fxrates_http_requests_total{endpoint=\"latest\",status=\"404\"} 1\n")
        );
        assert!(text.contains("fxrates_http_request_duration_seconds_bucket{le=\"0.001\"} 1\n"));
        assert!(text.contains("fxrates_http_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("fxrates_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("fxrates_http_request_duration_seconds_count 3\n"));
    }
}
