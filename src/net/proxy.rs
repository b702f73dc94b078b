//! Which proxy a request goes through, by curl's rules (its man page,
//! "ENVIRONMENT"):
//!
//! - `http_proxy` for `http://` URLs, in lower case only: curl ignores
//!   `HTTP_PROXY`, which a web server sets for CGI programs from a request's
//!   `Proxy:` header ("httpoxy"). fxrates does not use it either, but it
//!   never goes around it silently: an `http://` URL that would go direct
//!   while only `HTTP_PROXY` is set is refused, saying to set `http_proxy`.
//! - `https_proxy` or `HTTPS_PROXY` for `https://` URLs;
//! - `all_proxy` or `ALL_PROXY` when the scheme's own variable is not set;
//! - `no_proxy` or `NO_PROXY`: hosts that go direct: `*` for all, a name
//!   matching itself and its subdomains (a leading dot is optional), and IP
//!   addresses or CIDR ranges (`10.0.0.0/8`) for hosts given as addresses.
//!
//! The lower-case name wins when both are set; an empty value is unset. A
//! proxy URL is `[scheme://][user:password@]host[:port]`, the scheme one of
//! `http` (the default), `https`, `socks4`, `socks4a`, `socks5` (names
//! resolved here) and `socks5h` (names resolved by the proxy); the port is
//! 1080 by default (443 for `https`), as in curl.

use std::net::IpAddr;

/// The proxy variables as the environment holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProxyEnv {
    /// `http_proxy`.
    pub(crate) http: Option<String>,
    /// (variable, value) of `https_proxy` or `HTTPS_PROXY`.
    pub(crate) https: Option<(&'static str, String)>,
    /// (variable, value) of `all_proxy` or `ALL_PROXY`.
    pub(crate) all: Option<(&'static str, String)>,
    /// `no_proxy` or `NO_PROXY`.
    pub(crate) no_proxy: Option<String>,
    /// `HTTP_PROXY`, which curl (and fxrates) does not use.
    pub(crate) http_upper: Option<String>,
}

/// A proxy's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Http,
    Https,
    Socks4,
    Socks4a,
    Socks5,
    Socks5h,
}

/// The proxy a request goes through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) kind: Kind,
    /// The host, IPv6 addresses without brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Percent-decoded.
    pub(crate) user: Option<String>,
    /// Percent-decoded.
    pub(crate) password: Option<String>,
    /// The variable it came from.
    pub(crate) variable: &'static str,
}

impl Proxy {
    /// How messages name it: scheme, host and port, never the credentials.
    pub(crate) fn shown(&self) -> String {
        let scheme = match self.kind {
            Kind::Http => "http",
            Kind::Https => "https",
            Kind::Socks4 => "socks4",
            Kind::Socks4a => "socks4a",
            Kind::Socks5 => "socks5",
            Kind::Socks5h => "socks5h",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{} (from {})", self.port, self.variable)
    }
}

/// The proxy for a request to `host` over `https` or plain HTTP; `None`
/// goes direct. An error is one line for a configuration error.
pub(crate) fn choose(env: &ProxyEnv, https: bool, host: &str) -> Result<Option<Proxy>, String> {
    let chosen = if https {
        env.https.clone()
    } else {
        env.http.clone().map(|v| ("http_proxy", v))
    }
    .or_else(|| env.all.clone());
    if env
        .no_proxy
        .as_deref()
        .is_some_and(|list| bypassed(list, host))
    {
        return Ok(None);
    }
    let Some((variable, value)) = chosen else {
        if !https && env.http_upper.is_some() {
            return Err(
                "HTTP_PROXY is set but, as in curl, only http_proxy (lower case) names the proxy \
                 for http:// URLs (web servers set HTTP_PROXY for CGI programs); set http_proxy \
                 to the proxy, or unset HTTP_PROXY to go direct"
                    .into(),
            );
        }
        return Ok(None);
    };
    parse(&value, variable).map(Some)
}

/// Reads a proxy URL from `variable`. Errors never show the credentials.
fn parse(value: &str, variable: &'static str) -> Result<Proxy, String> {
    let value = value.trim();
    let (scheme, rest) = match value.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), value),
    };
    let kind = match scheme.as_str() {
        "http" => Kind::Http,
        "https" => Kind::Https,
        "socks4" => Kind::Socks4,
        "socks4a" => Kind::Socks4a,
        "socks5" | "socks" => Kind::Socks5,
        "socks5h" => Kind::Socks5h,
        other => {
            return Err(format!(
                "{variable} names a {other}:// proxy, which fxrates cannot use (http, https, \
                 socks4, socks4a, socks5 and socks5h are); fxrates never goes around a \
                 configured proxy: fix {variable} or add the host to NO_PROXY"
            ));
        }
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (user_info, host_port) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let bad = || {
        format!(
            "{variable} is not a proxy URL such as http://proxy.example:3128 (the host or the \
             port cannot be read)"
        )
    };
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (h, after) = inner.split_once(']').ok_or_else(bad)?;
        (h, after.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
    {
        return Err(bad());
    }
    let port = match port {
        None | Some("") => {
            if kind == Kind::Https {
                443
            } else {
                1080
            }
        }
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
    };
    let (user, password) = match user_info {
        None => (None, None),
        Some(u) => {
            let (user, password) = match u.split_once(':') {
                Some((a, b)) => (a, Some(b)),
                None => (u, None),
            };
            (Some(decode(user)), password.map(decode))
        }
    };
    Ok(Proxy {
        kind,
        host: host.to_ascii_lowercase(),
        port,
        user,
        password,
        variable,
    })
}

/// Percent-decodes user information.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `NO_PROXY`'s `list` sends `host` direct.
pub(crate) fn bypassed(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let address = host.parse::<IpAddr>().ok();
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            match address {
                Some(ip) => in_network(entry, ip),
                None => {
                    let name = entry.trim_start_matches('.').trim_end_matches('.');
                    let name = name.to_ascii_lowercase();
                    !name.is_empty()
                        && (host == name
                            || host
                                .strip_suffix(&name)
                                .is_some_and(|rest| rest.ends_with('.')))
                }
            }
        })
}

/// Whether `ip` is the address, or in the CIDR range, `entry` names.
fn in_network(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim_start_matches('[');
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (entry, None),
    };
    let addr = addr.trim_end_matches(']');
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(h)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(h) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(h)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(h) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&'static str, &str)]) -> ProxyEnv {
        let mut e = ProxyEnv::default();
        for (k, v) in vars {
            let v = v.to_string();
            match *k {
                "http_proxy" => e.http = Some(v),
                "HTTP_PROXY" => e.http_upper = Some(v),
                "https_proxy" | "HTTPS_PROXY" => e.https = Some((k, v)),
                "all_proxy" | "ALL_PROXY" => e.all = Some((k, v)),
                "no_proxy" => e.no_proxy = Some(v),
                _ => unreachable!(),
            }
        }
        e
    }

    fn via(e: &ProxyEnv, url_https: bool, host: &str) -> Option<String> {
        choose(e, url_https, host).unwrap().map(|p| p.shown())
    }

    #[test]
    fn each_scheme_has_its_variable_and_all_proxy_is_the_fallback() {
        let both = env(&[
            ("http_proxy", "http://h:3128"),
            ("HTTPS_PROXY", "http://s:3129"),
        ]);
        assert_eq!(
            via(&both, false, "data.fixer.io").unwrap(),
            "http://h:3128 (from http_proxy)"
        );
        assert_eq!(
            via(&both, true, "data.fixer.io").unwrap(),
            "http://s:3129 (from HTTPS_PROXY)"
        );
        let all = env(&[("ALL_PROXY", "socks5h://gw"), ("https_proxy", "proxy:8080")]);
        assert_eq!(
            via(&all, false, "x").unwrap(),
            "socks5h://gw:1080 (from ALL_PROXY)"
        );
        assert_eq!(
            via(&all, true, "x").unwrap(),
            "http://proxy:8080 (from https_proxy)"
        );
        assert_eq!(via(&ProxyEnv::default(), true, "x"), None);
    }

    #[test]
    fn upper_case_http_proxy_is_not_used_but_never_bypassed_silently() {
        let upper = env(&[("HTTP_PROXY", "http://h:3128")]);
        let err = choose(&upper, false, "data.fixer.io").unwrap_err();
        assert!(err.contains("set http_proxy"), "{err}");
        // It says nothing about https:// URLs, which go direct as in curl.
        assert_eq!(via(&upper, true, "data.fixer.io"), None);
        // Another variable that applies is used, as curl would.
        let with_all = env(&[("HTTP_PROXY", "http://h:3128"), ("all_proxy", "http://a:1")]);
        assert_eq!(
            via(&with_all, false, "x").unwrap(),
            "http://a:1 (from all_proxy)"
        );
    }

    #[test]
    fn proxy_urls_are_read_as_curl_reads_them() {
        let p = parse("socks5://us%40er:p%3Ass@[::1]:9050/", "ALL_PROXY").unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (Kind::Socks5, "::1", 9050)
        );
        assert_eq!(
            (p.user.as_deref(), p.password.as_deref()),
            (Some("us@er"), Some("p:ss"))
        );
        assert_eq!(p.shown(), "socks5://[::1]:9050 (from ALL_PROXY)");
        assert_eq!(parse("https://p", "x").unwrap().port, 443);
        assert_eq!(parse("p.example", "x").unwrap().kind, Kind::Http);
        for bad in [
            "ftp://p:21",
            "quic://p",
            "http://p:99999",
            "http://p:x",
            "http://",
            "http://a b",
        ] {
            let err = parse(bad, "HTTPS_PROXY").unwrap_err();
            assert!(err.contains("HTTPS_PROXY"), "{bad}: {err}");
        }
        let err = parse("http://user:hunter2secret@p:x", "HTTPS_PROXY").unwrap_err();
        assert!(!err.contains("hunter2secret"), "{err}");
    }

    #[test]
    fn no_proxy_matches_names_suffixes_star_and_networks() {
        let yes = [
            ("*", "data.fixer.io"),
            ("fixer.io", "data.fixer.io"),
            ("fixer.io", "fixer.io"),
            (".fixer.io", "data.fixer.io"),
            (".fixer.io", "fixer.io"),
            ("other, FIXER.io", "Data.Fixer.IO."),
            ("10.0.0.0/8", "10.1.2.3"),
            ("192.168.1.7", "192.168.1.7"),
            ("fd00::/8", "[fd12::1]"),
            ("localhost 127.0.0.0/8", "127.0.0.1"),
        ];
        for (list, host) in yes {
            assert!(bypassed(list, host), "{list} / {host}");
        }
        let no = [
            ("fixer.io", "notfixer.io"),
            ("data.fixer.io", "fixer.io"),
            ("10.0.0.0/8", "11.0.0.1"),
            ("fixer.io", "10.0.0.1"),
            ("10.0.0.0/8", "ten.example"),
            ("", "x"),
        ];
        for (list, host) in no {
            assert!(!bypassed(list, host), "{list} / {host}");
        }
        let e = env(&[("https_proxy", "http://p:1"), ("no_proxy", "fixer.io")]);
        assert_eq!(via(&e, true, "data.fixer.io"), None);
        assert!(via(&e, true, "api.apilayer.com").is_some());
    }
}
