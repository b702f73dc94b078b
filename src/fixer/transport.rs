//! What a failure of the HTTP library means: the way to the server failed
//! (a timeout, a refused or broken connection), the server was reached but
//! its reply was not usable HTTP, or TLS failed, and then whether the
//! certificate was not trusted or the handshake itself failed.

use super::error::FetchErrorKind;
use crate::secret::scrub;
use rustls::CertificateError;
use std::io;
use std::time::Duration;

/// The time limits of the try that failed, for a timeout's message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) total: Duration,
    /// The run's time budget shortened `total`.
    pub(crate) cut_short: bool,
}

/// What `err` says happened.
pub(crate) fn classify(err: &ureq::Error, limits: Limits) -> FetchErrorKind {
    match err {
        ureq::Error::Timeout(_) => FetchErrorKind::Timeout {
            connect: limits.connect,
            total: limits.total,
            cut_short: limits.cut_short,
        },
        ureq::Error::BodyExceedsLimit(limit) => FetchErrorKind::TooLarge { limit: *limit },
        ureq::Error::HostNotFound => FetchErrorKind::HostNotFound,
        ureq::Error::Protocol(p) => FetchErrorKind::Malformed {
            what: protocol_problem(p),
        },
        ureq::Error::LargeResponseHeader(size, max) => FetchErrorKind::Malformed {
            what: format!("a header section of {size} bytes, more than the {max} fxrates reads"),
        },
        ureq::Error::Rustls(e) => tls_failure(e),
        ureq::Error::Io(e) if rustls_error(e).is_some() => {
            tls_failure(rustls_error(e).expect("checked"))
        }
        ureq::Error::Tls(why) => FetchErrorKind::Tls {
            why: (*why).to_string(),
            certificate: false,
        },
        ureq::Error::Io(e) if is_temporary(e) => FetchErrorKind::ConnectionBroken {
            what: e.kind().to_string(),
        },
        ureq::Error::ConnectionFailed => FetchErrorKind::ConnectFailed,
        // The library's own text may carry the URL, and so the key.
        _ => FetchErrorKind::Transport {
            detail: scrub(&err.to_string()).into_owned(),
        },
    }
}

/// Whether the request of the try that failed with `err` never left the
/// machine: the provider's (or the proxy's) name did not resolve, no
/// connection could be opened, or the proxy refused the tunnel. Once a
/// connection is open the request may have reached the provider, which
/// counts it, so anything later counts too.
pub(crate) fn never_left(err: &ureq::Error) -> bool {
    use io::ErrorKind::*;
    match err {
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::ConnectProxyFailed(_)
        | ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => true,
        ureq::Error::Io(e) => matches!(
            e.kind(),
            ConnectionRefused | AddrNotAvailable | NetworkUnreachable | HostUnreachable
        ),
        _ => false,
    }
}

/// `kind`, from a request that went through `proxy`: a failure to connect,
/// a refusal by the proxy (its CONNECT answer, a SOCKS error) or a broken
/// connection names the proxy, since the connection was the proxy's.
pub(crate) fn through_proxy(
    kind: FetchErrorKind,
    err: &ureq::Error,
    proxy: &crate::net::Proxy,
) -> FetchErrorKind {
    let shown = proxy.shown();
    let at = |what: String, status: Option<u16>, retry: bool| FetchErrorKind::Proxy {
        proxy: shown.clone(),
        what,
        status,
        retry,
    };
    if let ureq::Error::ConnectProxyFailed(reason) = err {
        // "proxy server responded 407/Proxy Authentication Required"
        let status = reason
            .split_once("responded ")
            .and_then(|(_, rest)| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok());
        let retry = matches!(status, Some(502..=504));
        return at(scrub(reason).into_owned(), status, retry);
    }
    match kind {
        FetchErrorKind::ConnectFailed => at("cannot connect to it".into(), None, true),
        FetchErrorKind::ConnectionBroken { what } => {
            at(format!("the connection to it failed ({what})"), None, true)
        }
        FetchErrorKind::HostNotFound => at("its host name does not resolve".into(), None, false),
        FetchErrorKind::Transport { detail } => at(detail, None, false),
        other => other,
    }
}

/// The HTTP rule a reply broke, in words.
fn protocol_problem(p: &ureq_proto::Error) -> String {
    use ureq_proto::Error as P;
    match p {
        P::ChunkLenNotAscii | P::ChunkLenNotANumber | P::ChunkExpectedCrLf => {
            "a chunked body with a bad chunk size".into()
        }
        P::HttpParseFail(why) => format!("a reply that is not HTTP ({why})"),
        P::UnsupportedVersion => "a reply in an HTTP version other than 1.x".into(),
        P::TooManyContentLengthHeaders => "conflicting Content-Length headers".into(),
        P::BadContentLengthHeader => "a Content-Length that is not a number".into(),
        P::ConflictingBodyHeaders => "both Transfer-Encoding and Content-Length".into(),
        P::HttpParseTooManyHeaders => "more headers than fxrates reads".into(),
        P::BadHeader(h) => format!("a malformed header ({})", scrub(h)),
        other => format!("a malformed reply ({})", scrub(&other.to_string())),
    }
}

/// The TLS error inside an I/O error, where the TLS stream puts it.
fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

fn tls_failure(e: &rustls::Error) -> FetchErrorKind {
    let certificate = |why: &str| FetchErrorKind::Tls {
        why: why.to_string(),
        certificate: true,
    };
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => certificate(
                "it is issued by a CA fxrates does not trust; if a TLS-inspecting proxy or \
                     a private CA signs it, set SSL_CERT_FILE (or SSL_CERT_DIR) to that CA's \
                     certificate",
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                certificate("it has expired, or the system clock is wrong")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                certificate("it is not valid yet, or the system clock is wrong")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                certificate("it is for another host name; check FIXER_ENDPOINT")
            }
            CertificateError::Revoked => certificate("it is revoked"),
            other => certificate(&format!("it is not acceptable ({other:?})")),
        },
        other => FetchErrorKind::Tls {
            why: scrub(&other.to_string()).into_owned(),
            certificate: false,
        },
    }
}

fn is_temporary(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | TimedOut
            | UnexpectedEof
            | BrokenPipe
            | Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq_proto::Error as P;

    const LIMITS: Limits = Limits {
        connect: Duration::from_secs(10),
        total: Duration::from_secs(30),
        cut_short: false,
    };

    fn tls_io(e: rustls::Error) -> ureq::Error {
        ureq::Error::Io(io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Which kind of failure, and the words that must be in it.
    #[derive(Debug, PartialEq)]
    enum Want {
        Malformed(&'static str),
        Certificate(&'static str),
        Tls(&'static str),
        Broken,
        Other,
    }

    fn want(kind: FetchErrorKind) -> (Want, String) {
        let shown = kind.to_string();
        let w = match kind {
            FetchErrorKind::Malformed { .. } => Want::Malformed(""),
            FetchErrorKind::Tls {
                certificate: true, ..
            } => Want::Certificate(""),
            FetchErrorKind::Tls { .. } => Want::Tls(""),
            FetchErrorKind::ConnectionBroken { .. } => Want::Broken,
            _ => Want::Other,
        };
        (w, shown)
    }

    #[test]
    fn library_failures_are_told_apart() {
        use rustls::AlertDescription;
        let table: Vec<(ureq::Error, Want)> = vec![
            (
                ureq::Error::Protocol(P::ChunkLenNotANumber),
                Want::Malformed("bad chunk size"),
            ),
            (
                ureq::Error::Protocol(P::ChunkExpectedCrLf),
                Want::Malformed("bad chunk size"),
            ),
            (
                ureq::Error::Protocol(P::HttpParseFail("invalid HTTP version".into())),
                Want::Malformed("not HTTP (invalid HTTP version)"),
            ),
            (
                ureq::Error::Protocol(P::TooManyContentLengthHeaders),
                Want::Malformed("conflicting Content-Length"),
            ),
            (
                ureq::Error::Protocol(P::BadContentLengthHeader),
                Want::Malformed("Content-Length that is not a number"),
            ),
            (
                ureq::Error::Protocol(P::ConflictingBodyHeaders),
                Want::Malformed("Transfer-Encoding and Content-Length"),
            ),
            (
                ureq::Error::LargeResponseHeader(65621, 65536),
                Want::Malformed("65621 bytes, more than the 65536"),
            ),
            (
                tls_io(rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer,
                )),
                Want::Certificate("a CA fxrates does not trust; if a TLS-inspecting proxy"),
            ),
            (
                tls_io(rustls::Error::InvalidCertificate(CertificateError::Expired)),
                Want::Certificate("expired"),
            ),
            (
                tls_io(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName,
                )),
                Want::Certificate("another host name"),
            ),
            (
                ureq::Error::Rustls(rustls::Error::InvalidCertificate(
                    CertificateError::BadSignature,
                )),
                Want::Certificate("not acceptable"),
            ),
            (
                tls_io(rustls::Error::AlertReceived(
                    AlertDescription::HandshakeFailure,
                )),
                Want::Tls("HandshakeFailure"),
            ),
            (
                tls_io(rustls::Error::InvalidMessage(
                    rustls::InvalidMessage::InvalidContentType,
                )),
                Want::Tls("InvalidContentType"),
            ),
            (
                ureq::Error::Tls("no TLS provider"),
                Want::Tls("no TLS provider"),
            ),
            (
                ureq::Error::Io(io::Error::from(io::ErrorKind::ConnectionReset)),
                Want::Broken,
            ),
            (ureq::Error::ConnectionFailed, Want::Other),
        ];
        for (err, expected) in table {
            let (got, shown) = want(classify(&err, LIMITS));
            let words = match &expected {
                Want::Malformed(w) | Want::Certificate(w) | Want::Tls(w) => *w,
                _ => "",
            };
            let kind_only = match expected {
                Want::Malformed(_) => Want::Malformed(""),
                Want::Certificate(_) => Want::Certificate(""),
                Want::Tls(_) => Want::Tls(""),
                w => w,
            };
            assert_eq!(got, kind_only, "{err:?}: {shown}");
            assert!(shown.contains(words), "{err:?}: {shown}");
        }
    }
}
