//! What an endpoint answers, before HTTP: a status, a JSON body, and what
//! caching needs to know.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::StatusCode;

#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
    pub content_type: &'static str,
    /// When the data behind the answer last changed, if known.
    pub last_modified: Option<DateTime<Utc>>,
    /// Whether caches may keep it: successes only (fixer's errors come
    /// with status 200, so the status alone cannot say).
    pub cacheable: bool,
    /// The strong validator of `body`, once computed.
    pub etag: Option<String>,
    /// `body` gzipped, once computed for a client that takes it.
    pub gzip: Option<Bytes>,
}

pub(crate) const JSON: &str = "application/json";

impl Answer {
    /// A successful JSON answer.
    pub(crate) fn ok(body: Vec<u8>, last_modified: Option<DateTime<Utc>>) -> Answer {
        Answer {
            status: StatusCode::OK,
            body: body.into(),
            content_type: JSON,
            last_modified,
            cacheable: true,
            etag: None,
            gzip: None,
        }
    }

    /// `{"message":"..."}` with `status`, as Frankfurter and APILayer's
    /// gateway answer errors.
    pub(crate) fn message(status: StatusCode, message: &str) -> Answer {
        let body = serde_json::json!({ "message": message }).to_string();
        Answer {
            status,
            body: body.into(),
            content_type: JSON,
            last_modified: None,
            cacheable: false,
            etag: None,
            gzip: None,
        }
    }

    /// fixer's legacy error: status 200 with `success:false`.
    pub(crate) fn fixer_error(code: u16, kind: &str, info: &str) -> Answer {
        let body = serde_json::json!({
            "success": false,
            "error": { "code": code, "type": kind, "info": info },
        })
        .to_string();
        Answer {
            status: StatusCode::OK,
            body: body.into(),
            content_type: JSON,
            last_modified: None,
            cacheable: false,
            etag: None,
            gzip: None,
        }
    }
}
