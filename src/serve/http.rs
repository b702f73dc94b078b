//! An [`Answer`] as an HTTP response: the validators (a strong ETag from the
//! body itself, so that it changes whenever the data behind it does, and
//! Last-Modified), conditional requests (304), caching and CORS headers,
//! and gzip for large bodies.

use super::answer::Answer;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write;
use std::time::SystemTime;

/// Bodies smaller than this go out as they are: compressing them costs more
/// time than it saves. A year of timeseries is hundreds of kilobytes.
pub(crate) const GZIP_MIN: usize = 16 * 1024;

/// How every answer is sent, from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// `Cache-Control: public, max-age=N` on successes.
    pub max_age: u32,
    /// `Access-Control-Allow-Origin`, if any.
    pub cors: Option<HeaderValue>,
}

pub(crate) type Body = Full<Bytes>;

/// The response to a request with `headers` (GET, or HEAD: hyper leaves the
/// body out of a HEAD's response, its length still announced).
pub(crate) fn respond(answer: Answer, headers: &HeaderMap, options: &Options) -> Response<Body> {
    let gzip = answer.body.len() >= GZIP_MIN && accepts_gzip(headers);
    let etag = answer.cacheable.then(|| {
        let tag = answer.etag.clone().unwrap_or_else(|| etag(&answer.body));
        if gzip { gzip_tag(&tag) } else { tag }
    });
    let last_modified = answer.last_modified.and_then(http_date);
    let mut builder = Response::builder().status(answer.status);
    let h = builder.headers_mut().expect("a new response has headers");
    if let Some(origin) = &options.cors {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    if answer.cacheable {
        let cache = format!("public, max-age={}", options.max_age);
        h.insert(header::CACHE_CONTROL, value(&cache));
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    } else {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(tag) = &etag {
        h.insert(header::ETAG, value(tag));
    }
    if let Some(date) = &last_modified {
        h.insert(header::LAST_MODIFIED, value(date));
    }
    if answer.cacheable && not_modified(headers, etag.as_deref(), answer.last_modified) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::default())
            .unwrap_or_default();
    }
    let h = builder.headers_mut().expect("a new response has headers");
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    let body = if gzip {
        match answer.gzip.or_else(|| compress(&answer.body)) {
            Some(packed) => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                packed
            }
            None => answer.body,
        }
    } else {
        answer.body
    };
    builder.body(Body::new(body)).unwrap_or_default()
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A strong validator of a body: its SHA-256, cut to 128 bits.
pub(crate) fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(40);
    tag.push('"');
    for b in &digest[..16] {
        let _ = write!(tag, "{b:02x}");
    }
    tag.push('"');
    tag
}

/// The validator of the gzip form of a body tagged `tag`: another
/// representation, so another tag.
fn gzip_tag(tag: &str) -> String {
    format!("{}-gz\"", tag.trim_end_matches('"'))
}

/// `If-None-Match` (which wins when given) or `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: Option<&str>, modified: Option<DateTime<Utc>>) -> bool {
    if let Some(wanted) = headers.get(header::IF_NONE_MATCH) {
        let Ok(wanted) = wanted.to_str() else {
            return false;
        };
        let Some(etag) = etag else {
            return false;
        };
        // GET compares weakly: a W/ prefix does not matter.
        return wanted
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag);
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, modified) {
        (Some(since), Some(modified)) => {
            let since = DateTime::<Utc>::from(since);
            modified.timestamp() <= since.timestamp()
        }
        _ => false,
    }
}

fn http_date(t: DateTime<Utc>) -> Option<String> {
    let system: SystemTime = t.into();
    Some(httpdate::fmt_http_date(system))
}

/// Whether `Accept-Encoding` allows gzip (`gzip;q=0` refuses it).
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

pub(crate) fn compress(body: &[u8]) -> Option<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip, br")])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1, GZIP;q=0.5"
        )])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "br")])));
        assert!(!accepts_gzip(&headers(&[])));
    }

    #[test]
    fn etags_change_with_the_body_and_the_encoding() {
        let a = etag(b"{\"a\":1}");
        assert_eq!(a.len(), 34);
        assert_ne!(a, etag(b"{\"a\":2}"));
        assert_ne!(a, gzip_tag(&a));
        assert!(gzip_tag(&a).starts_with('"') && gzip_tag(&a).ends_with("-gz\""));
        let h = headers(&[("if-none-match", &format!("\"x\", W/{a}"))]);
        assert!(not_modified(&h, Some(&a), None));
        assert!(!not_modified(&h, Some(&etag(b"{}")), None));
    }
}
