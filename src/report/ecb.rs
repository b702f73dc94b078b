//! The words and the exit code for a failed request to the ECB.

use super::verdict;
use crate::ecb::{EcbError, EcbErrorKind};
use crate::error::Exit;
use crate::fixer::{FetchErrorKind as F, GaveUp};

/// The exit code and the message of `e`.
pub(crate) fn describe(e: &EcbError) -> (Exit, String) {
    let (exit, message) = what_happened(e);
    let prefix = match e.gave_up {
        None => String::new(),
        Some(GaveUp::Tries(n)) => format!("{n} tries failed: "),
        Some(GaveUp::RetryAfter { asked, max }) => format!(
            "{} asked fxrates to wait {} s before trying again (Retry-After), longer than the {} \
             s it waits within a run: ",
            e.host,
            asked.as_secs(),
            max.as_secs()
        ),
        Some(GaveUp::NoTimeLeft { budget }) => format!(
            "the run's time budget of {} s allows no further try: ",
            budget.as_secs()
        ),
    };
    (exit, format!("{prefix}{message}"))
}

fn what_happened(e: &EcbError) -> (Exit, String) {
    let host = &e.host;
    let what = e.ask.to_string();
    let variable = match e.ask {
        crate::ecb::Ask::Data(..) | crate::ecb::Ask::Series(..) => "FXRATES_ECB_ENDPOINT",
        crate::ecb::Ask::Recent => "FXRATES_ECB_FILES",
    };
    match &*e.kind {
        EcbErrorKind::Header { missing } => (
            Exit::DataErr,
            format!(
                "the ECB's answer for {what} is not the CSV asked for (no {} column); nothing was \
                 stored: check {variable}",
                missing.join(", ")
            ),
        ),
        EcbErrorKind::Unusable { why } => (
            Exit::DataErr,
            format!(
                "the ECB sent an unusable answer for {what}: {}; nothing was stored",
                crate::untrusted::one_line(why)
            ),
        ),
        EcbErrorKind::Status { status, .. } => match status {
            408 | 429 | 500..=599 => (
                Exit::TempFail,
                format!(
                    "the ECB is having trouble (HTTP {status}) answering for {what}; try again \
                     later"
                ),
            ),
            404 => (
                Exit::Config,
                format!("{host} has no such path (HTTP 404) for {what}; check {variable}"),
            ),
            _ => (
                Exit::DataErr,
                format!("{host} answered HTTP {status} for {what}; check {variable}"),
            ),
        },
        EcbErrorKind::Transport(kind) => transport(kind, host, &what, variable),
    }
}

fn transport(kind: &F, host: &str, what: &str, variable: &str) -> (Exit, String) {
    match kind {
        F::Timeout { connect, total, .. } => (
            Exit::TempFail,
            format!(
                "{host} did not answer for {what} within the time limit ({} s to connect, {} s in \
                 all); try again later",
                connect.as_secs(),
                total.as_secs()
            ),
        ),
        F::TooLarge { limit } => (
            Exit::DataErr,
            format!(
                "the answer from {host} for {what} is larger than {limit} bytes; nothing was stored"
            ),
        ),
        F::HostNotFound => (
            Exit::Unavailable,
            format!("cannot resolve {host}; check the network and {variable}"),
        ),
        F::ConnectFailed | F::ConnectionBroken { .. } => (
            Exit::TempFail,
            format!("cannot reach {host} for {what} ({kind}); try again later"),
        ),
        F::Tls {
            why,
            certificate: true,
        } => (
            Exit::Config,
            format!("TLS refused the certificate of {host}: {why}"),
        ),
        F::Tls { why, .. } => (
            Exit::Unavailable,
            format!("the TLS handshake with {host} failed ({why}); check {variable}"),
        ),
        F::Proxy {
            proxy,
            what: how,
            retry,
            status,
        } => (
            match (status, retry) {
                (Some(403 | 407), _) => Exit::Config,
                (_, true) => Exit::TempFail,
                _ => Exit::Unavailable,
            },
            format!("cannot reach {host} through the proxy {proxy}: {how}"),
        ),
        F::Malformed { what: problem } => (
            Exit::DataErr,
            format!(
                "{host} answered the request for {what} with {problem}, which is not valid HTTP; nothing was stored"
            ),
        ),
        F::Redirect { status, location } => (
            Exit::Config,
            format!(
                "{host} redirected to {location} (HTTP {status}); set {variable} to the new \
                 address if you trust it"
            ),
        ),
        F::BudgetSpent { budget, .. } => (
            Exit::TempFail,
            format!(
                "the run's time budget of {} s for requests (--max-run-time) is spent; {what} was \
                 not fetched: the next run fetches it",
                budget.as_secs()
            ),
        ),
        F::NotRecorded(cause) => match verdict(cause.0.as_ref()) {
            Some(v) => (v.exit, v.message.unwrap_or_default()),
            None => (Exit::IoErr, format!("cannot record a request: {}", cause.0)),
        },
        other => (
            Exit::Unavailable,
            format!("cannot reach {host} for {what} ({other}); check the network and {variable}"),
        ),
    }
}
