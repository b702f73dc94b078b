//! The words and the exit code for a failed request: what the user reads
//! when fixer.io (or the way to it) lets a run down, and who must act.

use super::verdict;
use crate::error::Exit;
use crate::fixer::{FetchError, FetchErrorKind, GaveUp, ProviderRefusal};
use crate::secret::scrub;
use std::time::Duration;

const KEY_HELP: &str = "set FIXER_API_KEY, or FIXER_API_KEY_FILE to a file holding the key";

/// The exit code and the message of `e`.
pub(super) fn describe(e: &FetchError) -> (Exit, String) {
    let (exit, message) = what_happened(e);
    (exit, format!("{}{message}", gave_up(e.gave_up, &e.host)))
}

/// Why no further try was made, as the start of the message; empty when
/// the request failed for good at once. Both providers' requests retry alike.
pub(super) fn gave_up(gave_up: Option<GaveUp>, host: &str) -> String {
    match gave_up {
        None => String::new(),
        Some(GaveUp::Tries(n)) => format!("{n} tries failed: "),
        Some(GaveUp::RetryAfter { asked, .. }) if asked == Duration::MAX => format!(
            "{host} asked fxrates to wait longer than any run before trying again (a Retry-After \
             of more seconds than fit in 64 bits): "
        ),
        Some(GaveUp::RetryAfter { asked, max }) => format!(
            "{host} asked fxrates to wait {} s before trying again (Retry-After), longer than the \
             {} s it waits within a run: ",
            asked.as_secs(),
            max.as_secs()
        ),
        Some(GaveUp::NoTimeLeft { budget }) => format!(
            "the run's time budget of {} s allows no further try: ",
            budget.as_secs()
        ),
    }
}

fn what_happened(e: &FetchError) -> (Exit, String) {
    let host = &e.host;
    let what = e.call.to_string();
    if let Some(verdict) = transport(&e.kind, host, &what, "FIXER_ENDPOINT") {
        return verdict;
    }
    match &*e.kind {
        FetchErrorKind::Redirect { status, location } => (
            Exit::Config,
            format!(
                "the endpoint redirected to {location} (HTTP {status}); fxrates never follows a \
                 redirect with the API key: set FIXER_ENDPOINT to the new address if you trust it"
            ),
        ),
        FetchErrorKind::Status {
            status,
            message,
            quota_left,
            ..
        } => status_failure(*status, message.as_deref(), *quota_left, &what),
        FetchErrorKind::Provider(refusal) => provider_refusal(refusal, e, &what),
        FetchErrorKind::Unusable { why } => (
            Exit::DataErr,
            format!(
                "fixer.io sent an unusable answer for {what}: {}; nothing was stored",
                scrub(why)
            ),
        ),
        // Judged by `transport` above.
        other => (
            Exit::Unavailable,
            format!(
                "cannot reach {host} for {what} ({other}); check the network and FIXER_ENDPOINT"
            ),
        ),
    }
}

/// The verdict on a failure of the way to a provider (the network, TLS, a
/// proxy, HTTP itself, the run's budget, the request record), the same for
/// both; `variable` names the setting that holds the provider's address.
/// `None` for what only the provider's own answer can mean.
pub(super) fn transport(
    kind: &FetchErrorKind,
    host: &str,
    what: &str,
    variable: &str,
) -> Option<(Exit, String)> {
    Some(match kind {
        FetchErrorKind::Timeout {
            cut_short: true, ..
        } => (
            Exit::TempFail,
            format!(
                "{host} did not answer for {what} within what was left of the run's time budget; \
                 try again later"
            ),
        ),
        FetchErrorKind::Timeout { connect, total, .. } => (
            Exit::TempFail,
            format!(
                "{host} did not answer for {what} within the time limit ({} s to connect, {} s in \
                 all); try again later",
                connect.as_secs(),
                total.as_secs()
            ),
        ),
        FetchErrorKind::TooLarge { limit } => (
            Exit::DataErr,
            format!(
                "the answer from {host} for {what} is larger than {limit} bytes; nothing was stored"
            ),
        ),
        FetchErrorKind::HostNotFound => (
            Exit::Unavailable,
            format!("cannot resolve {host}; check the network and {variable}"),
        ),
        FetchErrorKind::ConnectionBroken { what: how } => (
            Exit::TempFail,
            format!("the connection to {host} failed ({how}); try again later"),
        ),
        FetchErrorKind::ConnectFailed => (
            Exit::TempFail,
            format!("cannot connect to {host}; try again later"),
        ),
        FetchErrorKind::Tls {
            why,
            certificate: true,
        } => (
            Exit::Config,
            format!("TLS refused the certificate of {host}: {why}"),
        ),
        FetchErrorKind::Tls { why, .. } => (
            Exit::Unavailable,
            format!(
                "the TLS handshake with {host} failed ({why}); check that {variable}'s scheme \
                 and port are right (https:// for a TLS port)"
            ),
        ),
        FetchErrorKind::Proxy {
            proxy,
            status: Some(407),
            ..
        } => (
            Exit::Config,
            format!(
                "the proxy {proxy} wants credentials (HTTP 407 Proxy Authentication Required); \
                 give them in the proxy URL as http://user:password@host:port"
            ),
        ),
        FetchErrorKind::Proxy {
            proxy,
            status: Some(403),
            ..
        } => (
            Exit::Config,
            format!(
                "the proxy {proxy} refused to pass the request to {host} (HTTP 403); ask its \
                 administrator to allow {host}, or add {host} to NO_PROXY if it is reachable \
                 directly"
            ),
        ),
        FetchErrorKind::Proxy {
            proxy,
            what: how,
            retry: true,
            ..
        } => (
            Exit::TempFail,
            format!(
                "cannot reach {host} through the proxy {proxy}: {how}; try again later, and \
                 check that the proxy is up and the variable names it"
            ),
        ),
        FetchErrorKind::Proxy {
            proxy, what: how, ..
        } => (
            Exit::Unavailable,
            format!(
                "cannot reach {host} through the proxy {proxy}: {how}; check the proxy and the \
                 variable that names it"
            ),
        ),
        FetchErrorKind::Malformed { what: problem } => (
            Exit::DataErr,
            format!(
                "{host} answered the request for {what} with {problem}, which is not valid HTTP; \
                 nothing was stored (check that {variable}'s scheme and port are right)"
            ),
        ),
        FetchErrorKind::Transport { .. } => (
            Exit::Unavailable,
            format!("cannot reach {host} for {what}; check the network and {variable}"),
        ),
        FetchErrorKind::BudgetSpent {
            budget,
            after_retries,
        } => (
            Exit::TempFail,
            format!(
                "the run's time budget of {} s for requests (--max-run-time) is spent{}; {what} \
                 was not fetched: the next run fetches it",
                budget.as_secs(),
                if *after_retries { " after retries" } else { "" },
            ),
        ),
        // The record's own failure says what went wrong with it.
        FetchErrorKind::NotRecorded(cause) => match verdict(cause.0.as_ref()) {
            Some(v) => (v.exit, v.message.unwrap_or_default()),
            None => (Exit::IoErr, format!("cannot record a request: {}", cause.0)),
        },
        FetchErrorKind::Redirect { .. }
        | FetchErrorKind::Status { .. }
        | FetchErrorKind::Provider(_)
        | FetchErrorKind::Unusable { .. } => return None,
    })
}

/// fixer's own refusal (HTTP 200 or 400 with `success:false`, or the newer
/// APILayer envelope with a string code).
fn provider_refusal(r: &ProviderRefusal, e: &FetchError, what: &str) -> (Exit, String) {
    let kind = r.kind.as_deref().unwrap_or("");
    let said = r
        .info
        .as_deref()
        .map(|i| format!(" (fixer said: {})", i.trim()))
        .unwrap_or_default();
    let config = |message: String| (Exit::Config, message);
    match (r.code, kind) {
        (101, "missing_access_key") => config(format!(
            "fixer.io received no API key; {KEY_HELP}{}",
            if e.header_auth {
                ""
            } else {
                " (APILayer keys need --auth header)"
            }
        )),
        (101, _) => config(format!(
            "fixer.io rejected the API key{said}; set FIXER_API_KEY (or the key file) to a valid \
             key for this endpoint (fixer.io keys work with data.fixer.io, APILayer keys with \
             api.apilayer.com)"
        )),
        (102, _) => config(format!(
            "the fixer.io account is inactive{said}; log in at fixer.io to reactivate it"
        )),
        (103, _) => config(format!(
            "fixer.io does not know the function asked for ({what}){said}; check that \
             FIXER_ENDPOINT is the API base, such as https://data.fixer.io/api"
        )),
        (104, _) => config(format!(
            "the fixer.io plan's monthly request quota is used up{said}; wait for next month or \
             upgrade the plan"
        )),
        (105, "https_access_restricted") => config(format!(
            "the fixer.io plan does not allow HTTPS{said}; set \
             FIXER_ENDPOINT=http://data.fixer.io/api to use plain HTTP (the API key and the rates \
             then cross the network unencrypted), or upgrade the plan"
        )),
        (105, "base_currency_access_restricted") => config(format!(
            "the fixer.io plan does not allow this base currency{said}; fxrates asks for EUR, the \
             free plan's base"
        )),
        (105, "function_access_restricted") => config(format!(
            "the fixer.io plan does not include the endpoint needed for {what}{said}; upgrade the \
             plan to use it"
        )),
        (105, _) if e.https => config(format!(
            "the fixer.io plan does not allow this request ({what}){said}; if it is HTTPS on the \
             free plan, set FIXER_ENDPOINT=http://data.fixer.io/api (the key then crosses the \
             network unencrypted), or upgrade the plan"
        )),
        (105, _) => config(format!(
            "the fixer.io plan does not allow this request ({what}){said}; upgrade the plan"
        )),
        (106, _) => (
            Exit::NoInput,
            format!(
                "fixer.io has no rates for {what}{said}; they may not be published yet (try \
                 again later) or the date is outside fixer's history (from 1999)"
            ),
        ),
        (302, _) if matches!(e.call, crate::fixer::Call::Latest) => config(format!(
            "fixer.io did not recognise the request path{said}; check that FIXER_ENDPOINT is the \
             API base, such as https://data.fixer.io/api"
        )),
        _ => {
            let code = if r.code_sent {
                r.code.to_string()
            } else {
                "-".into()
            };
            let kind = if kind.is_empty() { "-" } else { kind };
            (
                Exit::DataErr,
                format!(
                    "fixer.io refused the request for {what} (code {code}, {kind}){said}; check \
                     that FIXER_ENDPOINT is fixer's API base, such as https://data.fixer.io/api, \
                     and report it as an fxrates bug if it is"
                ),
            )
        }
    }
}

/// An HTTP error status whose body was not one of fixer's error envelopes
/// (or was the APILayer gateway's `{"message": ...}`).
fn status_failure(
    status: u16,
    message: Option<&str>,
    quota_left: Option<u64>,
    what: &str,
) -> (Exit, String) {
    let said = message
        .map(|m| format!(" (the server said: {})", m.trim()))
        .unwrap_or_default();
    match status {
        401 => (
            Exit::Config,
            format!(
                "the endpoint rejected the API key (HTTP 401){said}; {KEY_HELP}, and use an \
                 APILayer key with api.apilayer.com"
            ),
        ),
        403 => (
            Exit::Config,
            format!(
                "the endpoint refused access (HTTP 403){said}; check that the account is \
                 subscribed to fixer"
            ),
        ),
        404 => (
            Exit::Config,
            format!(
                "the endpoint has no such path (HTTP 404){said}; check FIXER_ENDPOINT, such as \
                 https://data.fixer.io/api"
            ),
        ),
        429 if quota_left == Some(0) => (
            Exit::Config,
            format!(
                "the monthly request quota is used up (HTTP 429){said}; wait for next month or \
                 upgrade the plan"
            ),
        ),
        429 => (
            Exit::TempFail,
            format!("the endpoint is rate-limiting requests (HTTP 429){said}; try again later"),
        ),
        408 | 500..=599 => (
            Exit::TempFail,
            format!(
                "fixer.io is having trouble (HTTP {status}) answering for {what}{said}; try again \
                 later"
            ),
        ),
        _ => (
            Exit::DataErr,
            format!("fixer.io answered HTTP {status} for {what}{said}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixer::samples::{error, refusal, status};
    use crate::fixer::{Call, RecordError};

    /// The engine skips a day on `is_unusable`; the user reads exit code 65
    /// for the same errors. The two must agree, and so must the fallback's
    /// question with the exit codes of a fixer that cannot deliver.
    #[test]
    fn an_unusable_answer_is_exactly_what_exits_65() {
        let day = Call::Historical(chrono::NaiveDate::from_ymd_opt(2024, 9, 20).unwrap());
        let second = Duration::from_secs(1);
        let kinds = [
            FetchErrorKind::Timeout {
                connect: second,
                total: second,
                cut_short: false,
            },
            FetchErrorKind::TooLarge { limit: 10 },
            FetchErrorKind::HostNotFound,
            FetchErrorKind::ConnectFailed,
            FetchErrorKind::ConnectionBroken {
                what: "reset".into(),
            },
            FetchErrorKind::Tls {
                why: "x".into(),
                certificate: true,
            },
            FetchErrorKind::Proxy {
                proxy: "p".into(),
                what: "x".into(),
                status: Some(502),
                retry: true,
            },
            FetchErrorKind::Malformed { what: "x".into() },
            FetchErrorKind::Transport { detail: "x".into() },
            FetchErrorKind::Redirect {
                status: 301,
                location: "x".into(),
            },
            FetchErrorKind::Unusable { why: "x".into() },
            FetchErrorKind::BudgetSpent {
                budget: second,
                after_retries: false,
            },
            FetchErrorKind::NotRecorded(RecordError("disk full".into())),
            status(401),
            status(403),
            status(404),
            status(408),
            status(418),
            status(429),
            status(503),
            refusal(101, "invalid_access_key"),
            refusal(104, "usage_limit_reached"),
            refusal(105, "function_access_restricted"),
            refusal(106, "no_rates_available"),
            refusal(201, "invalid_base_currency"),
            refusal(302, "invalid_date"),
            refusal(0, ""),
        ];
        let mut unusable = 0;
        for call in [day, Call::Latest] {
            for kind in &kinds {
                let e = error(call, kind.clone());
                let (exit, message) = describe(&e);
                assert_eq!(
                    e.is_unusable(),
                    exit == Exit::DataErr,
                    "{kind:?}: {message}"
                );
                // `--fallback ecb` asks the ECB on the same errors whose
                // words tell the user fixer cannot deliver.
                assert_eq!(
                    e.cannot_deliver(),
                    matches!(exit, Exit::Config | Exit::TempFail | Exit::Unavailable),
                    "{kind:?}: {message}"
                );
                unusable += usize::from(e.is_unusable());
            }
        }
        assert!(unusable >= 10, "{unusable}");
    }
}
