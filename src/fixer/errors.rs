//! Turns what fixer.io (or APILayer's gateway) answered into an error a user
//! can act on, with the exit code that says who must act.

use super::response::ApiError;
use crate::error::{Exit, Failure, fail, fail_with};
use std::fmt;

/// What was being asked, for messages.
pub struct Asked<'a> {
    pub what: &'a str,
    pub https: bool,
    pub header_auth: bool,
}

const KEY_HELP: &str = "set FIXER_API_KEY, or FIXER_API_KEY_FILE to a file holding the key";

/// fixer's own error code and type, kept in the error chain (below the
/// message the user reads) so that callers can act on what the provider said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCode {
    pub code: i64,
    pub kind: String,
}

impl fmt::Display for ProviderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fixer.io error {} ({})", self.code, self.kind)
    }
}

impl std::error::Error for ProviderCode {}

impl ProviderCode {
    /// fixer's code in an error chain, if the error is fixer's answer.
    pub fn of(err: &anyhow::Error) -> Option<&ProviderCode> {
        err.chain().find_map(|c| c.downcast_ref::<ProviderCode>())
    }

    /// 105 `function_access_restricted`: the plan lacks the endpoint.
    pub fn is_function_restricted(&self) -> bool {
        self.code == 105 && self.kind == "function_access_restricted"
    }

    /// 106 `no_rates_available`: nothing for that date.
    pub fn is_no_rates(&self) -> bool {
        self.code == 106
    }
}

fn code_of(err: &ApiError) -> i64 {
    err.code.unwrap_or(match err.kind.as_deref().unwrap_or("") {
        "missing_access_key" | "invalid_access_key" => 101,
        "inactive_user" => 102,
        "invalid_api_function" => 103,
        "usage_limit_reached" => 104,
        "function_access_restricted"
        | "base_currency_access_restricted"
        | "https_access_restricted" => 105,
        "no_rates_available" => 106,
        _ => 0,
    })
}

/// An error answer from fixer itself (HTTP 200 or 400 with `success:false`),
/// or from the new APILayer envelope with a string code.
pub fn api_failure(err: &ApiError, asked: &Asked<'_>) -> anyhow::Error {
    let code = ProviderCode {
        code: code_of(err),
        kind: err.kind.clone().unwrap_or_default(),
    };
    match describe(err, asked).downcast::<Failure>() {
        Ok(f) => fail_with(f.exit, f.message, code),
        Err(other) => other,
    }
}

fn describe(err: &ApiError, asked: &Asked<'_>) -> anyhow::Error {
    let kind = err.kind.as_deref().unwrap_or("");
    let said = err
        .info
        .as_deref()
        .map(|i| format!(" (fixer said: {})", i.trim()))
        .unwrap_or_default();
    let code = code_of(err);
    let what = asked.what;
    match (code, kind) {
        (101, "missing_access_key") => fail(
            Exit::Config,
            format!(
                "fixer.io received no API key; {KEY_HELP}{}",
                if asked.header_auth {
                    ""
                } else {
                    " (APILayer keys need --auth header)"
                }
            ),
        ),
        (101, _) => fail(
            Exit::Config,
            format!(
                "fixer.io rejected the API key{said}; set FIXER_API_KEY (or the key file) to a valid key \
                 for this endpoint (fixer.io keys work with data.fixer.io, APILayer keys with api.apilayer.com)"
            ),
        ),
        (102, _) => fail(
            Exit::Config,
            format!("the fixer.io account is inactive{said}; log in at fixer.io to reactivate it"),
        ),
        (103, _) => fail(
            Exit::Config,
            format!(
                "fixer.io does not know the function asked for ({what}){said}; check that \
                 FIXER_ENDPOINT is the API base, such as https://data.fixer.io/api"
            ),
        ),
        (104, _) => fail(
            Exit::Config,
            format!(
                "the fixer.io plan's monthly request quota is used up{said}; wait for next month \
                 or upgrade the plan"
            ),
        ),
        (105, "https_access_restricted") => fail(
            Exit::Config,
            format!(
                "the fixer.io plan does not allow HTTPS{said}; set FIXER_ENDPOINT=http://data.fixer.io/api \
                 to use plain HTTP (the API key and the rates then cross the network unencrypted), \
                 or upgrade the plan"
            ),
        ),
        (105, "base_currency_access_restricted") => fail(
            Exit::Config,
            format!(
                "the fixer.io plan does not allow this base currency{said}; fxrates asks for EUR, the free plan's base"
            ),
        ),
        (105, "function_access_restricted") => fail(
            Exit::Config,
            format!(
                "the fixer.io plan does not include the endpoint needed for {what}{said}; upgrade the plan to use it"
            ),
        ),
        (105, _) if asked.https => fail(
            Exit::Config,
            format!(
                "the fixer.io plan does not allow this request ({what}){said}; if it is HTTPS on the free \
                 plan, set FIXER_ENDPOINT=http://data.fixer.io/api (the key then crosses the network \
                 unencrypted), or upgrade the plan"
            ),
        ),
        (105, _) => fail(
            Exit::Config,
            format!(
                "the fixer.io plan does not allow this request ({what}){said}; upgrade the plan"
            ),
        ),
        (106, _) => fail(
            Exit::NoInput,
            format!(
                "fixer.io has no rates for {what}{said}; they may not be published yet (try again \
                 later) or the date is outside fixer's history (from 1999)"
            ),
        ),
        (302, _) if what == "the latest rates" => fail(
            Exit::Config,
            format!(
                "fixer.io did not recognise the request path{said}; check that FIXER_ENDPOINT is the API \
                 base, such as https://data.fixer.io/api"
            ),
        ),
        _ => {
            let code = err
                .code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into());
            let kind = if kind.is_empty() { "-" } else { kind };
            fail(
                Exit::DataErr,
                format!(
                    "fixer.io refused the request for {what} (code {code}, {kind}){said}; check that \
                     FIXER_ENDPOINT is fixer's API base, such as https://data.fixer.io/api, and \
                     report it as an fxrates bug if it is"
                ),
            )
        }
    }
}

/// An HTTP error status whose body was not one of fixer's error envelopes (or
/// was the APILayer gateway's `{"message": ...}`).
pub fn status_failure(
    status: u16,
    message: Option<&str>,
    quota_left: Option<u64>,
    asked: &Asked<'_>,
) -> anyhow::Error {
    let said = message
        .map(|m| format!(" (the server said: {})", m.trim()))
        .unwrap_or_default();
    match status {
        401 => fail(
            Exit::Config,
            format!(
                "the endpoint rejected the API key (HTTP 401){said}; {KEY_HELP}, and use an APILayer key with api.apilayer.com"
            ),
        ),
        403 => fail(
            Exit::Config,
            format!(
                "the endpoint refused access (HTTP 403){said}; check that the account is subscribed to fixer"
            ),
        ),
        404 => fail(
            Exit::Config,
            format!(
                "the endpoint has no such path (HTTP 404){said}; check FIXER_ENDPOINT, such as https://data.fixer.io/api"
            ),
        ),
        429 if quota_left == Some(0) => fail(
            Exit::Config,
            format!(
                "the monthly request quota is used up (HTTP 429){said}; wait for next month or upgrade the plan"
            ),
        ),
        429 => fail(
            Exit::TempFail,
            format!("the endpoint is rate-limiting requests (HTTP 429){said}; try again later"),
        ),
        408 | 500..=599 => fail(
            Exit::TempFail,
            format!(
                "fixer.io is having trouble (HTTP {status}) answering for {}{said}; try again later",
                asked.what
            ),
        ),
        _ => fail(
            Exit::DataErr,
            format!("fixer.io answered HTTP {status} for {}{said}", asked.what),
        ),
    }
}
