//! The provider's base URL, checked whole before anything is opened: a URL
//! the HTTP library would refuse, or read differently, is a configuration
//! error (exit 78) before a database, a lock or a request exists.

use super::{Auth, DEFAULT_ENDPOINT};
use std::net::Ipv6Addr;

/// A validated endpoint base URL, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL as requests are built from it: scheme and host in lower case.
    pub(super) url: String,
    /// The host as the URL names it (an IPv6 address in brackets).
    pub(super) host: String,
    pub(super) https: bool,
}

impl Endpoint {
    /// Checks `text` as an http(s) base URL. Errors are one line that names
    /// what is wrong, never echoing more than the URL itself.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        Endpoint::parse_like(text, DEFAULT_ENDPOINT)
    }

    /// [`Endpoint::parse`] for another service's base URL, whose errors
    /// give `example` as the form to follow.
    pub fn parse_like(text: &str, example: &str) -> Result<Endpoint, String> {
        let url = text.trim();
        let plain = || format!("{url:?} is not a plain base URL such as {example}");
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("{url:?} must start with http:// or https://"))?;
        let rest = rest.trim_end_matches('/');
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("{url:?} must start with http:// or https://")),
        };
        if rest.contains(['?', '#']) {
            return Err(format!(
                "{}: it may have no query (?) or fragment (#)",
                plain()
            ));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(format!(
                "{}: it may hold no user name or password (@)",
                plain()
            ));
        }
        let (host, port) = split_host_port(authority).map_err(|why| format!("{url:?}: {why}"))?;
        check_path(path).map_err(|why| format!("{url:?}: {why}"))?;
        let host = host.to_ascii_lowercase();
        let port_text = port.map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Endpoint {
            url: format!(
                "{}://{host}{port_text}{path}",
                if https { "https" } else { "http" }
            ),
            host,
            https,
        })
    }

    /// The auth style that fits this endpoint when none is configured.
    pub fn default_auth(&self) -> Auth {
        if self.host == "api.apilayer.com" {
            Auth::Header
        } else {
            Auth::Query
        }
    }

    /// The host as the URL names it, in lower case.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The base URL, as requests are built from it.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

/// Splits an authority into a checked host and port.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    if authority.is_empty() {
        return Err("it names no host".into());
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (address, after) = inner
            .split_once(']')
            .ok_or("an IPv6 address must be closed with ]")?;
        address
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("[{address}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("{after:?} after the IPv6 address is not a port such as :8443")
            })?),
        };
        (&authority[..address.len() + 2], port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if !host.starts_with('[') {
        check_host_name(host)?;
    }
    let port = port.map(check_port).transpose()?;
    Ok((host, port))
}

/// A DNS name or an IPv4 address: ASCII letters, digits, `-` and `_` in
/// non-empty labels separated by dots (one trailing dot allowed).
fn check_host_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("it names no host".into());
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(if c.is_ascii() {
            format!("the host {host:?} holds {c:?}, which no host name can hold")
        } else {
            format!(
                "the host {host:?} holds {c:?}; write an international name in its ASCII \
                 (xn--) form"
            )
        });
    }
    let labels = host.strip_suffix('.').unwrap_or(host);
    if labels.split('.').any(|l| l.is_empty() || l.len() > 63) || host.len() > 253 {
        return Err(format!("{host:?} is not a host name"));
    }
    Ok(())
}

/// A port: 1 to 5 digits, from 1 to 65535.
fn check_port(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err("the URL has a : but no port after it".into());
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the port {port:?} is not a number"));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("the port {port} is not from 1 to 65535")),
    }
}

/// A path of RFC 3986 characters: unreserved, percent-encoded, sub-delims,
/// `:`, `@` and `/`.
fn check_path(path: &str) -> Result<(), String> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).unwrap_or_default();
            if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err("the path has a % that is not followed by two hex digits".into());
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if !allowed {
            let shown = path[i..].chars().next().unwrap_or_default();
            return Err(format!(
                "the path holds {shown:?}, which a URL must percent-encode"
            ));
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_endpoints_are_kept_in_a_canonical_form() {
        for (text, url, host, port) in [
            (
                "https://data.fixer.io/api",
                "https://data.fixer.io/api",
                "data.fixer.io",
                443,
            ),
            (
                "http://data.fixer.io/api/",
                "http://data.fixer.io/api",
                "data.fixer.io",
                80,
            ),
            (
                "HTTPS://API.ApiLayer.com/fixer",
                "https://api.apilayer.com/fixer",
                "api.apilayer.com",
                443,
            ),
            (
                "http://127.0.0.1:8080/api",
                "http://127.0.0.1:8080/api",
                "127.0.0.1",
                8080,
            ),
            (
                "http://[::1]:65535/api",
                "http://[::1]:65535/api",
                "[::1]",
                65535,
            ),
            (
                "https://[2001:db8::1]",
                "https://[2001:db8::1]",
                "[2001:db8::1]",
                443,
            ),
            (
                "http://fixer.internal:080/a%20b/~x",
                "http://fixer.internal:80/a%20b/~x",
                "fixer.internal",
                80,
            ),
            (
                "https://my_host.example./api",
                "https://my_host.example./api",
                "my_host.example.",
                443,
            ),
        ] {
            let e = Endpoint::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (e.url.as_str(), e.host(), port_of(&e)),
                (url, host, port),
                "{text}"
            );
        }
    }

    #[test]
    fn impossible_endpoints_say_what_is_wrong() {
        for (text, why) in [
            ("data.fixer.io/api", "must start with http:// or https://"),
            (
                "ftp://data.fixer.io/api",
                "must start with http:// or https://",
            ),
            (
                "https://data.fixer.io:99999/api",
                "the port 99999 is not from 1 to 65535",
            ),
            (
                "https://data.fixer.io:0/api",
                "the port 0 is not from 1 to 65535",
            ),
            (
                "https://data.fixer.io:12ab/api",
                "the port \"12ab\" is not a number",
            ),
            ("https://data.fixer.io:/api", "no port after it"),
            ("https://data.fixer.io:-1/api", "is not a number"),
            ("https://data fixer.io/api", "holds ' '"),
            ("https://data.fixer.io/a pi", "the path holds ' '"),
            ("https://data.fixer.io/a%zz", "two hex digits"),
            ("https://data.fixer.io/a\"b", "the path holds '\"'"),
            ("https://data.fixer.io/a\\b", "the path holds '\\\\'"),
            ("https://dätä.fixer.io/api", "ASCII (xn--) form"),
            ("https://data..fixer.io/api", "is not a host name"),
            ("https://", "names no host"),
            ("https:///api", "names no host"),
            ("https://:443/api", "names no host"),
            ("https://[::1/api", "closed with ]"),
            ("https://[fixer]/api", "is not an IPv6 address"),
            ("https://[::1]x/api", "is not a port"),
            (
                "https://user:pw@data.fixer.io/api",
                "no user name or password",
            ),
            ("https://data.fixer.io/api?x=1", "no query"),
            ("https://data.fixer.io/api#top", "no query"),
            ("https://data.fixer.io:8080:8081/api", "is not a number"),
        ] {
            let err = Endpoint::parse(text).expect_err(text);
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn every_accepted_endpoint_is_a_uri_the_http_library_reads_the_same() {
        for text in [
            "http://fixer.internal:080/a%20b/~x",
            "https://[2001:db8::1]:8443/api",
            "https://my_host.example./api",
        ] {
            let e = Endpoint::parse(text).unwrap();
            let uri: ureq::http::Uri = e.url.parse().unwrap();
            assert_eq!(uri.host(), Some(e.host()), "{text}");
        }
    }

    /// The port requests to `e` go to: its URL's, else its scheme's.
    fn port_of(e: &Endpoint) -> u16 {
        let uri: ureq::http::Uri = e.url.parse().unwrap();
        uri.port_u16()
            .unwrap_or(if e.is_https() { 443 } else { 80 })
    }
}
