//! What an answer means: the HTTP status and the body together decide
//! between data and a failure. Pure: no I/O, no clock, so every
//! combination is tested in a table below.

use super::error::{FetchErrorKind, ProviderRefusal};
use super::response::{ApiError, Parsed};
use std::time::Duration;

/// What the answer's headers said that matters here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Headers {
    /// `x-ratelimit-remaining-month` (APILayer).
    pub quota_left: Option<u64>,
    /// `Retry-After`, read.
    pub retry_after: Option<Duration>,
}

/// Interprets an answer whose body was parsed into `body` (`Err` is why it
/// could not be). The body is read whatever the status: fixer's refusals
/// come as HTTP 200 and as HTTP 400 with the same envelope.
pub(super) fn interpret<T>(
    status: u16,
    body: Result<Parsed<T>, String>,
    headers: Headers,
) -> Result<T, FetchErrorKind> {
    let status_failure = |message: Option<String>| FetchErrorKind::Status {
        status,
        message,
        quota_left: headers.quota_left,
        retry_after: headers.retry_after,
    };
    match body {
        Ok(Parsed::Ok(value)) if status == 200 => Ok(value),
        // Data with an error status: the status wins.
        Ok(Parsed::Ok(_)) => Err(status_failure(None)),
        // The gateway's `{"message": ...}`: no code, no type.
        Ok(Parsed::Api(err)) if err.code.is_none() && err.kind.is_none() && status != 200 => {
            Err(status_failure(err.info))
        }
        // fixer's own refusal: the same request would be refused again.
        Ok(Parsed::Api(err)) => Err(FetchErrorKind::Provider(refusal(err))),
        Err(_) if status != 200 => Err(status_failure(None)),
        Err(why) => Err(FetchErrorKind::Unusable { why }),
    }
}

/// fixer's code, from the answer or, when only a type was sent (the
/// APILayer envelope's string codes), from the type.
fn refusal(err: ApiError) -> ProviderRefusal {
    let from_kind = match err.kind.as_deref().unwrap_or("") {
        "missing_access_key" | "invalid_access_key" => 101,
        "inactive_user" => 102,
        "invalid_api_function" => 103,
        "usage_limit_reached" => 104,
        "function_access_restricted"
        | "base_currency_access_restricted"
        | "https_access_restricted" => 105,
        "no_rates_available" => 106,
        _ => 0,
    };
    ProviderRefusal {
        code: err.code.unwrap_or(from_kind),
        code_sent: err.code.is_some(),
        kind: err.kind,
        info: err.info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixer::response::parse_day;
    use crate::rates::EUR;

    const DAY: &str = r#"{"success":true,"timestamp":1726790399,"historical":true,"base":"EUR","date":"2024-09-19","rates":{"USD":1.1163}}"#;
    const GATEWAY: &str = r#"{"message":"Invalid authentication credentials"}"#;
    const QUOTA: &str = r#"{"success":false,"error":{"code":104,"type":"usage_limit_reached","info":"Your monthly usage limit has been reached."}}"#;
    const NO_RATES: &str = r#"{"success":false,"error":{"code":106,"type":"no_rates_available"}}"#;
    const STRING_CODE: &str = r#"{"error":{"code":"invalid_access_key","message":"You have not supplied a valid API Access Key."}}"#;
    const HTML: &str = "<html><body>Service Unavailable</body></html>";

    /// What a row expects: data, or a failure of a kind, retryable or not.
    #[derive(Debug, PartialEq)]
    enum Want {
        Data,
        Status(u16, bool),
        Provider(i64, bool),
        Unusable,
    }

    fn outcome(status: u16, body: &str, headers: Headers) -> Want {
        match interpret(status, parse_day(body, EUR), headers) {
            Ok(_) => Want::Data,
            Err(k @ FetchErrorKind::Status { status, .. }) => Want::Status(status, k.retryable()),
            Err(k @ FetchErrorKind::Provider(_)) => {
                let FetchErrorKind::Provider(r) = &k else {
                    unreachable!()
                };
                Want::Provider(r.code, k.retryable())
            }
            Err(FetchErrorKind::Unusable { .. }) => Want::Unusable,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn status_and_body_decide_together() {
        let none = Headers::default();
        let spent = Headers {
            quota_left: Some(0),
            ..Headers::default()
        };
        #[rustfmt::skip]
        let table: &[(u16, &str, Headers, Want)] = &[
            // Data only with 200.
            (200, DAY, none, Want::Data),
            (203, DAY, none, Want::Status(203, false)),
            (500, DAY, none, Want::Status(500, true)),
            // fixer's refusals, whatever the status, are never retried.
            (200, QUOTA, none, Want::Provider(104, false)),
            (400, QUOTA, none, Want::Provider(104, false)),
            (200, NO_RATES, none, Want::Provider(106, false)),
            (200, STRING_CODE, none, Want::Provider(101, false)),
            (401, STRING_CODE, none, Want::Provider(101, false)),
            // The gateway's message: the status decides.
            (401, GATEWAY, none, Want::Status(401, false)),
            (403, GATEWAY, none, Want::Status(403, false)),
            (429, GATEWAY, none, Want::Status(429, true)),
            (429, GATEWAY, spent, Want::Status(429, false)),
            // A body that is not JSON.
            (200, HTML, none, Want::Unusable),
            (200, "", none, Want::Unusable),
            (503, HTML, none, Want::Status(503, true)),
            (502, "", none, Want::Status(502, true)),
            (504, HTML, spent, Want::Status(504, false)),
            (408, HTML, none, Want::Status(408, true)),
            (404, HTML, none, Want::Status(404, false)),
            (400, HTML, none, Want::Status(400, false)),
        ];
        for (status, body, headers, want) in table {
            assert_eq!(
                &outcome(*status, body, *headers),
                want,
                "HTTP {status} with {body:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_kept_with_the_status() {
        let headers = Headers {
            quota_left: None,
            retry_after: Some(Duration::from_secs(7)),
        };
        let err = interpret(429, parse_day(GATEWAY, EUR), headers).unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.retryable());
    }
}
