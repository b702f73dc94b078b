//! The words and the exit code for a failed request to the ECB.

use super::fetch;
use crate::ecb::{EcbError, EcbErrorKind};
use crate::error::Exit;
use crate::fixer::FetchErrorKind as F;

/// The exit code and the message of `e`.
pub(crate) fn describe(e: &EcbError) -> (Exit, String) {
    let (exit, message) = what_happened(e);
    (
        exit,
        format!("{}{message}", fetch::gave_up(e.gave_up, &e.host)),
    )
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
    if let Some(verdict) = fetch::transport(kind, host, what, variable) {
        return verdict;
    }
    match kind {
        F::Redirect { status, location } => (
            Exit::Config,
            format!(
                "{host} redirected to {location} (HTTP {status}); set {variable} to the new \
                 address if you trust it"
            ),
        ),
        // fixer's own answers: never from the ECB's client.
        other => (
            Exit::Unavailable,
            format!("cannot reach {host} for {what} ({other}); check the network and {variable}"),
        ),
    }
}
