//! Secrets (the API key, a ping URL) and the scrubber that keeps them out of
//! every line fxrates prints or logs.
//!
//! A [`Secret`] prints as a placeholder. Because an HTTP library's error text
//! or a URL can still carry the raw value, every secret is also registered in
//! a process-wide list, and [`scrub`] replaces each registered value (and its
//! percent-encoded form) before anything reaches stderr, a log line, a panic
//! message or the database.

use std::borrow::Cow;
use std::fmt;
use std::sync::{OnceLock, RwLock};

const PLACEHOLDER: &str = "[REDACTED]";

/// A value that must never be shown. `Debug` and `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and registers it with the scrubber.
    pub fn new(value: String) -> Secret {
        register(&value);
        Secret(value)
    }

    /// The raw value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PLACEHOLDER)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PLACEHOLDER)
    }
}

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| RwLock::new(Vec::new()))
}

/// Adds `value` (and its percent-encoded form) to the values [`scrub`] removes.
pub fn register(value: &str) {
    // Very short values would blank out ordinary text; real keys are 32 chars.
    if value.len() < 4 {
        return;
    }
    let mut list = registry().write().unwrap_or_else(|e| e.into_inner());
    for form in [value.to_owned(), percent_encode(value)] {
        if !list.contains(&form) {
            list.push(form);
        }
    }
    // Longest first, so a value containing another is replaced whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by a placeholder.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let list = registry().read().unwrap_or_else(|e| e.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in list.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), PLACEHOLDER));
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("k3y-value-for-format-test".into());
        assert_eq!(format!("{s} {s:?}"), "[REDACTED] [REDACTED]");
        assert_eq!(s.expose(), "k3y-value-for-format-test");
    }

    #[test]
    fn scrub_removes_raw_and_encoded_forms() {
        register("sec ret/+scrub-test");
        let line = "GET /api?access_key=sec%20ret%2F%2Bscrub-test and sec ret/+scrub-test";
        let clean = scrub(line);
        assert!(!clean.contains("scrub-test"), "{clean}");
        assert_eq!(clean, "GET /api?access_key=[REDACTED] and [REDACTED]");
    }
}
