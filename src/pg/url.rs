//! libpq's connection URI (`postgres://` or `postgresql://`), parsed here
//! because rust-postgres accepts only part of it: it knows neither
//! `sslrootcert` nor `verify-ca`/`verify-full`, nor `host=` pointing at a
//! socket directory inside a URI's query.
//!
//! `postgresql://[user[:password]@][host][:port][,...][/dbname][?param=value&...]`

use crate::secret::Secret;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// libpq's `sslmode`. The default, as in libpq, is `prefer`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// TLS when the server offers it, else plain text; no verification.
    #[default]
    Prefer,
    /// TLS or nothing; the certificate is not verified unless a root
    /// certificate is given (then as `verify-ca`), as in libpq.
    Require,
    /// TLS, the certificate chain verified against the root certificates.
    VerifyCa,
    /// As `verify-ca`, and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the trusted root certificates come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of one or more certificates (`sslrootcert=/path`).
    File(PathBuf),
    /// The operating system's store (`sslrootcert=system`, as in libpq 16).
    System,
}

/// One server to try, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A name or an IP address (IPv6 without its brackets).
    Tcp(String),
    /// The directory holding the server's Unix socket.
    Socket(PathBuf),
}

impl Host {
    fn parse(text: &str) -> Host {
        if text.starts_with('/') {
            Host::Socket(PathBuf::from(text))
        } else {
            Host::Tcp(text.to_string())
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(h) if h.contains(':') => write!(f, "[{h}]"),
            Host::Tcp(h) => f.write_str(h),
            Host::Socket(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A parsed connection URI. `Debug` and `Display` never show the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgUrl {
    pub user: Option<String>,
    /// From the URI (`user:password@` or `?password=`); see `password` for
    /// the other sources.
    pub password: Option<Secret>,
    /// Empty means libpq's default: the socket in `/run/postgresql`.
    pub hosts: Vec<Host>,
    /// `hostaddr`: IP addresses to connect to instead of resolving `hosts`
    /// (which still name the server for TLS and `.pgpass`).
    pub hostaddrs: Vec<IpAddr>,
    /// One port for every host, or one per host; empty means 5432.
    pub ports: Vec<u16>,
    pub dbname: Option<String>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<RootCert>,
    pub connect_timeout: Option<Duration>,
    pub application_name: Option<String>,
    /// `options`, passed to the server as is (`-c search_path=...`).
    pub options: Option<String>,
    /// `channel_binding`: `disable`, `prefer` or `require`.
    pub channel_binding: Option<String>,
    /// `target_session_attrs`: `any` or `read-write`.
    pub target_session_attrs: Option<String>,
}

/// Parameters libpq takes that fxrates does not, and why; a URL with one of
/// them is refused rather than half-honoured.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "sslcert",
        "client certificates are not supported; use a password",
    ),
    (
        "sslkey",
        "client certificates are not supported; use a password",
    ),
    (
        "sslpassword",
        "client certificates are not supported; use a password",
    ),
    ("sslcrl", "certificate revocation lists are not supported"),
    (
        "sslcrldir",
        "certificate revocation lists are not supported",
    ),
    ("gssencmode", "GSSAPI is not supported"),
    ("krbsrvname", "Kerberos is not supported"),
    ("requirepeer", "requirepeer is not supported"),
    (
        "service",
        "service files are not supported; put the settings in the URL",
    ),
    ("passfile", "set PGPASSFILE instead"),
];

/// Parameters that change nothing for fxrates and are accepted silently,
/// because cloud consoles put them in the URLs they hand out.
const IGNORED: &[&str] = &[
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslsni",
    "client_encoding",
    "fallback_application_name",
];

impl PgUrl {
    /// Parses `text`; the error says what is wrong without repeating the
    /// URI (which may hold a password).
    pub fn parse(text: &str) -> Result<PgUrl, String> {
        let rest = text
            .strip_prefix("postgresql://")
            .or_else(|| text.strip_prefix("postgres://"))
            .ok_or("it does not start with postgresql:// or postgres://")?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        let mut url = PgUrl {
            user: None,
            password: None,
            hosts: Vec::new(),
            hostaddrs: Vec::new(),
            ports: Vec::new(),
            dbname: None,
            sslmode: SslMode::default(),
            sslrootcert: None,
            connect_timeout: None,
            application_name: None,
            options: None,
            channel_binding: None,
            target_session_attrs: None,
        };
        // The user part ends at the last '@': a password may hold an
        // unencoded '@' that people paste as it is.
        let hostspec = match authority.rfind('@') {
            Some(i) => {
                let userinfo = &authority[..i];
                let (user, password) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if !user.is_empty() {
                    url.user = Some(decode(user, "the user name")?);
                }
                if let Some(p) = password {
                    // Registered raw too: the text as typed must be scrubbed
                    // wherever it might show up.
                    crate::secret::register(p);
                    let p = decode(p, "the password")?;
                    if !p.is_empty() {
                        url.password = Some(Secret::new(p));
                    }
                }
                &authority[i + 1..]
            }
            None => authority,
        };
        if !hostspec.is_empty() {
            for part in hostspec.split(',') {
                let (host, port) = split_host_port(part)?;
                if !host.is_empty() {
                    url.hosts.push(Host::parse(&decode(host, "the host")?));
                }
                if let Some(port) = port {
                    url.ports.push(parse_port(&decode(port, "the port")?)?);
                }
            }
        }
        if let Some(path) = path.filter(|p| !p.is_empty()) {
            url.dbname = Some(decode(path, "the database name")?);
        }
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("the parameter {pair:?} has no value (key=value)"))?;
            let key = decode(key, "a parameter name")?;
            if key == "password" {
                crate::secret::register(value);
            }
            let value = decode(value, &format!("the parameter {key}"))?;
            url.set(&key, value)?;
        }
        if !url.ports.is_empty() && url.ports.len() > 1 && url.ports.len() != url.hosts.len() {
            return Err(format!(
                "{} ports for {} hosts; give one port, or one per host",
                url.ports.len(),
                url.hosts.len()
            ));
        }
        if !url.hostaddrs.is_empty()
            && !url.hosts.is_empty()
            && url.hostaddrs.len() != url.hosts.len()
        {
            return Err("give as many hostaddr values as hosts".into());
        }
        Ok(url)
    }

    fn set(&mut self, key: &str, value: String) -> Result<(), String> {
        match key {
            "host" => {
                self.hosts = value
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(Host::parse)
                    .collect();
            }
            "hostaddr" => {
                self.hostaddrs = value
                    .split(',')
                    .map(|a| {
                        a.trim()
                            .parse::<IpAddr>()
                            .map_err(|_| format!("hostaddr {a:?} is not an IP address"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "port" => {
                self.ports = value.split(',').map(parse_port).collect::<Result<_, _>>()?;
            }
            "user" => self.user = Some(value).filter(|v| !v.is_empty()),
            "password" => self.password = Some(value).filter(|v| !v.is_empty()).map(Secret::new),
            "dbname" => self.dbname = Some(value).filter(|v| !v.is_empty()),
            "sslmode" => {
                self.sslmode = SslMode::parse(&value).ok_or_else(|| {
                    format!(
                        "sslmode={value:?} is not one of disable, prefer, require, verify-ca, \
                         verify-full"
                    )
                })?;
            }
            "sslrootcert" => {
                self.sslrootcert = match value.as_str() {
                    "" => None,
                    "system" => Some(RootCert::System),
                    path => Some(RootCert::File(PathBuf::from(path))),
                };
            }
            "connect_timeout" => {
                let secs: i64 = value.trim().parse().map_err(|_| {
                    format!("connect_timeout={value:?} is not a whole number of seconds")
                })?;
                // libpq: zero or less waits forever, and 1 s means 2.
                self.connect_timeout = match secs {
                    ..=0 => None,
                    1 => Some(Duration::from_secs(2)),
                    s => Some(Duration::from_secs(s as u64)),
                };
            }
            "application_name" => self.application_name = Some(value),
            "options" => self.options = Some(value),
            "channel_binding" => match value.as_str() {
                "disable" | "prefer" | "require" => self.channel_binding = Some(value),
                _ => {
                    return Err(format!(
                        "channel_binding={value:?} is not one of disable, prefer, require"
                    ));
                }
            },
            "target_session_attrs" => match value.as_str() {
                "any" | "read-write" => self.target_session_attrs = Some(value),
                _ => {
                    return Err(format!(
                        "target_session_attrs={value:?} is not supported; use any or read-write"
                    ));
                }
            },
            _ if IGNORED.contains(&key) => {}
            _ => {
                return Err(match UNSUPPORTED.iter().find(|(k, _)| *k == key) {
                    Some((_, why)) => format!("the parameter {key}: {why}"),
                    None => format!("unknown parameter {key:?}"),
                });
            }
        }
        Ok(())
    }

    /// The port of the `i`-th host.
    pub fn port(&self, i: usize) -> u16 {
        match self.ports.as_slice() {
            [] => 5432,
            [one] => *one,
            many => many.get(i).copied().unwrap_or(5432),
        }
    }

    /// The hosts to try; libpq's default socket directory when none is given.
    pub fn hosts_or_default(&self) -> Vec<Host> {
        if !self.hosts.is_empty() {
            self.hosts.clone()
        } else if !self.hostaddrs.is_empty() {
            self.hostaddrs
                .iter()
                .map(|a| Host::Tcp(a.to_string()))
                .collect()
        } else {
            vec![Host::Socket(PathBuf::from(DEFAULT_SOCKET_DIR))]
        }
    }
}

/// Where Debian's and most distributions' servers put their socket.
pub(super) const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// The URI without its password, as it may be shown: the password's place
/// says `[REDACTED]`; the parameters that matter for a diagnosis are kept.
impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgresql://")?;
        let sockets: Vec<&Host> = self
            .hosts
            .iter()
            .filter(|h| matches!(h, Host::Socket(_)))
            .collect();
        if let Some(user) = &self.user {
            f.write_str(&crate::secret::percent_encode(user))?;
        }
        if self.password.is_some() {
            f.write_str(":[REDACTED]")?;
        }
        if self.user.is_some() || self.password.is_some() {
            f.write_str("@")?;
        }
        let mut first = true;
        for (i, host) in self.hosts.iter().enumerate() {
            if matches!(host, Host::Socket(_)) {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{host}")?;
            if !self.ports.is_empty() {
                write!(f, ":{}", self.port(i))?;
            }
        }
        if let Some(db) = &self.dbname {
            write!(f, "/{}", crate::secret::percent_encode(db))?;
        }
        let mut params = Vec::new();
        if !sockets.is_empty() {
            let list: Vec<String> = sockets.iter().map(|h| h.to_string()).collect();
            params.push(format!("host={}", list.join(",")));
            if self.hosts.iter().all(|h| matches!(h, Host::Socket(_))) && !self.ports.is_empty() {
                params.push(format!("port={}", self.port(0)));
            }
        }
        if self.sslmode != SslMode::default() {
            params.push(format!("sslmode={}", self.sslmode.as_str()));
        }
        match &self.sslrootcert {
            Some(RootCert::File(p)) => params.push(format!("sslrootcert={}", p.display())),
            Some(RootCert::System) => params.push("sslrootcert=system".into()),
            None => {}
        }
        for (i, p) in params.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(p)?;
        }
        Ok(())
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `:port`.
fn split_host_port(part: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = part.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address in [ ] is not closed")?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("unexpected {after:?} after [{host}]")),
            },
        };
    }
    Ok(match part.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (part, None),
    })
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("the port {text:?} is not a number from 1 to 65535"))
}

/// Percent-decodes `text` (libpq does not turn `+` into a space).
fn decode(text: &str, what: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    format!("{what} has a bad percent-encoding (% not followed by two hex digits)")
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{what} is not UTF-8 once percent-decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PgUrl {
        PgUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn the_issue_example() {
        let url = parse(
            "postgresql://fxrates@db.internal:5432/finance?sslmode=verify-full&sslrootcert=/etc/fxrates/ca.pem",
        );
        assert_eq!(url.user.as_deref(), Some("fxrates"));
        assert_eq!(url.hosts, [Host::Tcp("db.internal".into())]);
        assert_eq!(url.ports, [5432]);
        assert_eq!(url.dbname.as_deref(), Some("finance"));
        assert_eq!(url.sslmode, SslMode::VerifyFull);
        assert_eq!(
            url.sslrootcert,
            Some(RootCert::File("/etc/fxrates/ca.pem".into()))
        );
        assert!(url.password.is_none());
    }

    #[test]
    fn percent_encoded_password_and_user() {
        let url = parse("postgres://app%40corp:p%40ss%3Aw%2Fo rd%25@host/db");
        assert_eq!(url.user.as_deref(), Some("app@corp"));
        assert_eq!(url.password.as_ref().unwrap().expose(), "p@ss:w/o rd%");
        // An unencoded '@' in the password: the last '@' ends the user part.
        let url = parse("postgresql://u:a@b@h/d");
        assert_eq!(url.password.as_ref().unwrap().expose(), "a@b");
        assert_eq!(url.hosts, [Host::Tcp("h".into())]);
    }

    #[test]
    fn hosts_in_every_form() {
        assert_eq!(
            parse("postgresql://[::1]:6543/x").hosts,
            [Host::Tcp("::1".into())]
        );
        assert_eq!(parse("postgresql://[::1]:6543/x").ports, [6543]);
        assert_eq!(parse("postgresql://[::1]/x").ports, Vec::<u16>::new());
        assert_eq!(
            parse("postgresql://10.0.0.7/x").hosts,
            [Host::Tcp("10.0.0.7".into())]
        );
        let sock = parse("postgresql:///finance?host=/run/postgresql");
        assert_eq!(sock.hosts, [Host::Socket("/run/postgresql".into())]);
        assert_eq!(sock.dbname.as_deref(), Some("finance"));
        let encoded = parse("postgresql://%2Frun%2Fpostgresql:5433/db");
        assert_eq!(encoded.hosts, [Host::Socket("/run/postgresql".into())]);
        assert_eq!(encoded.ports, [5433]);
        let many = parse("postgresql://a:1,b:2/db");
        assert_eq!(many.hosts, [Host::Tcp("a".into()), Host::Tcp("b".into())]);
        assert_eq!((many.port(0), many.port(1)), (1, 2));
        assert_eq!(
            parse("postgresql://").hosts_or_default(),
            [Host::Socket(DEFAULT_SOCKET_DIR.into())]
        );
        assert_eq!(parse("postgresql://h").port(0), 5432);
    }

    #[test]
    fn parameters_people_paste() {
        let url = parse(
            "postgres://u@h/d?sslmode=require&connect_timeout=10&application_name=fx%20rates\
             &channel_binding=require&options=-c%20search_path%3Dx&sslrootcert=system",
        );
        assert_eq!(url.sslmode, SslMode::Require);
        assert_eq!(url.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(url.application_name.as_deref(), Some("fx rates"));
        assert_eq!(url.channel_binding.as_deref(), Some("require"));
        assert_eq!(url.options.as_deref(), Some("-c search_path=x"));
        assert_eq!(url.sslrootcert, Some(RootCert::System));
        assert_eq!(
            parse("postgres://h?connect_timeout=1").connect_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse("postgres://h?connect_timeout=0").connect_timeout,
            None
        );
        assert_eq!(parse("postgres://h").sslmode, SslMode::Prefer);
        let q = parse("postgres://h?user=x&password=pw%26d&dbname=z&port=7");
        assert_eq!(q.user.as_deref(), Some("x"));
        assert_eq!(q.password.unwrap().expose(), "pw&d");
        assert_eq!(
            (q.dbname.as_deref(), q.ports.as_slice()),
            (Some("z"), &[7][..])
        );
    }

    #[test]
    fn mistakes_are_named_without_the_url() {
        for (text, needle) in [
            ("mysql://h/d", "postgresql://"),
            ("postgres://h/d?sslmode=verify", "sslmode"),
            ("postgres://h:99999/d", "port"),
            ("postgres://h:x/d", "port"),
            ("postgres://h/d?sslcert=/c.pem", "client certificates"),
            ("postgres://h/d?bogus=1", "bogus"),
            ("postgres://u:secret%zz@h/d", "percent-encoding"),
            ("postgres://[::1/d", "not closed"),
            ("postgres://h/d?connect_timeout=soon", "connect_timeout"),
            ("postgres://a,b:1,c:2/d?", "ports"),
        ] {
            let err = PgUrl::parse(text).expect_err(text);
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn shown_without_the_password() {
        let url = parse("postgresql://fx:hunter2-canary@db:5432/finance?sslmode=verify-full");
        let shown = url.to_string();
        assert_eq!(
            shown,
            "postgresql://fx:[REDACTED]@db:5432/finance?sslmode=verify-full"
        );
        assert!(!format!("{url:?}").contains("hunter2-canary"));
        assert_eq!(
            parse("postgresql:///d?host=/run/postgresql").to_string(),
            "postgresql:///d?host=/run/postgresql"
        );
        assert_eq!(
            parse("postgres://u@[::1]/d").to_string(),
            "postgresql://u@[::1]/d"
        );
        // The raw and encoded forms are scrubbed from any text.
        let _ = parse("postgresql://fx:pa%24%24-canary-w0rd@db/finance");
        let line = crate::secret::scrub("auth failed for pa$$-canary-w0rd (pa%24%24-canary-w0rd)");
        assert!(!line.contains("canary"), "{line}");
    }
}
