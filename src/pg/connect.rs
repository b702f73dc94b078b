//! Opening a connection, and telling the user plainly why one failed: a
//! server that cannot be reached is worth retrying later (75); a refused
//! login, a missing database or a certificate that does not verify needs a
//! person (78).

use super::password::{self, Identity, PasswordSources};
use super::tls;
use super::url::{Host, PgUrl, SslMode};
use super::watch::{self, Limits, Watch};
use crate::secret::Secret;
use crate::tls::CaSources;
use postgres::error::SqlState;
use std::sync::mpsc;
use std::time::Duration;

/// How long to wait for a server when the URL sets no `connect_timeout`
/// (libpq would wait forever, which a cron job must not).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection failed, in one line that says what to do.
#[derive(Debug)]
pub struct ConnectError {
    /// Worth trying again later (the server is down, busy or unreachable);
    /// otherwise a person must act (a refused login, a missing database, a
    /// certificate that does not verify).
    pub temporary: bool,
    pub message: String,
    source: Option<postgres::Error>,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Everything needed to connect, resolved once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub url: PgUrl,
    pub user: String,
    pub dbname: String,
    password: Option<Secret>,
    /// The system's CAs, for `sslrootcert=system` and verification without
    /// `sslrootcert`.
    system_ca: CaSources,
}

impl Server {
    /// Fills in libpq's defaults (the user is `os_user`, the database is
    /// named after the user) and finds the password; `system_ca` is what
    /// stands for the system's CAs (`SSL_CERT_FILE`/`SSL_CERT_DIR`, or the
    /// system's store when empty).
    pub fn resolve(
        url: PgUrl,
        os_user: &str,
        sources: &PasswordSources,
        system_ca: CaSources,
    ) -> anyhow::Result<Server> {
        let user = url.user.clone().unwrap_or_else(|| os_user.to_string());
        let dbname = url.dbname.clone().unwrap_or_else(|| user.clone());
        let password = password::resolve(
            &url,
            &Identity {
                user: &user,
                dbname: &dbname,
            },
            sources,
        )?;
        Ok(Server {
            url,
            user,
            dbname,
            password,
            system_ca,
        })
    }

    fn config(&self) -> postgres::Config {
        let url = &self.url;
        let mut config = postgres::Config::new();
        for host in url.hosts_or_default() {
            match host {
                Host::Tcp(name) => config.host(&name),
                Host::Socket(dir) => config.host_path(dir),
            };
        }
        if !url.hosts.is_empty() {
            for addr in &url.hostaddrs {
                config.hostaddr(*addr);
            }
        }
        for port in &url.ports {
            config.port(*port);
        }
        config
            .user(&self.user)
            .dbname(&self.dbname)
            .connect_timeout(self.timeout())
            .application_name(url.application_name.as_deref().unwrap_or("fxrates"))
            // A dead server or a cut network shows up within a minute or
            // so instead of a hung cron job.
            .keepalives_idle(Duration::from_secs(30))
            .tcp_user_timeout(Duration::from_secs(60))
            .ssl_mode(match url.sslmode {
                SslMode::Disable => postgres::config::SslMode::Disable,
                SslMode::Prefer => postgres::config::SslMode::Prefer,
                _ => postgres::config::SslMode::Require,
            });
        if let Some(p) = &self.password {
            config.password(p.expose());
        }
        if let Some(options) = &url.options {
            config.options(options);
        }
        match url.channel_binding.as_deref() {
            Some("disable") => {
                config.channel_binding(postgres::config::ChannelBinding::Disable);
            }
            Some("require") => {
                config.channel_binding(postgres::config::ChannelBinding::Require);
            }
            _ => {}
        }
        if url.target_session_attrs.as_deref() == Some("read-write") {
            config.target_session_attrs(postgres::config::TargetSessionAttrs::ReadWrite);
        }
        config
    }

    fn timeout(&self) -> Duration {
        self.url.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// Connects, or says in one line why not and what to do.
    pub fn connect(&self) -> Result<postgres::Client, ConnectError> {
        let config = self.config();
        let tls = tls::connector(
            self.url.sslmode,
            self.url.sslrootcert.as_ref(),
            &self.system_ca,
        )
        .map_err(|message| ConnectError {
            temporary: false,
            message,
            source: None,
        })?;
        // The timeout above covers opening the socket; a server that takes
        // the connection and then says nothing would hang the handshake, so
        // the whole connection gets a deadline too.
        let hosts = self.url.hosts_or_default().len().max(1) as u32;
        let deadline = self.timeout() * hosts + Duration::from_millis(500);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("pg-connect".into())
            .spawn(move || {
                let _ = tx.send(config.connect(tls));
            })
            .map_err(|e| ConnectError {
                temporary: true,
                message: format!("cannot start a thread to connect to PostgreSQL: {e}"),
                source: None,
            })?;
        match rx.recv_timeout(deadline) {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(self.explain(e)),
            Err(_) => Err(ConnectError {
                temporary: true,
                message: format!(
                    "the PostgreSQL server at {} did not answer within {} s; check that it runs, \
                     or raise connect_timeout in the URL",
                    self.url,
                    deadline.as_secs_f32().round()
                ),
                source: None,
            }),
        }
    }

    /// [`Server::connect`], with a watchdog that bounds every later call
    /// by `limits`.
    pub fn connect_watched(
        &self,
        limits: Limits,
    ) -> Result<(postgres::Client, Watch), ConnectError> {
        let before = watch::sockets();
        let client = self.connect()?;
        let new: Vec<_> = watch::sockets()
            .into_iter()
            .filter(|fd| !before.contains(fd))
            .collect();
        let fd = match new[..] {
            [fd] => Some(fd),
            _ => None,
        };
        Ok((client, Watch::start(fd, limits)))
    }

    /// The one-line failure for a connection error.
    pub fn explain(&self, err: postgres::Error) -> ConnectError {
        let (temporary, message) = self.classify(&err);
        ConnectError {
            temporary,
            message,
            source: Some(err),
        }
    }

    fn classify(&self, err: &postgres::Error) -> (bool, String) {
        let url = &self.url;
        if let Some(db) = err.as_db_error() {
            let said = db.message();
            let code = db.code();
            return if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                (
                    false,
                    format!(
                        "PostgreSQL at {url} refused the login ({said}); check the user and the \
                         password (URL, FXRATES_DB_PASSWORD_FILE, PGPASSWORD or ~/.pgpass)"
                    ),
                )
            } else if *code == SqlState::INVALID_CATALOG_NAME {
                (
                    false,
                    format!(
                        "the database {:?} does not exist on the PostgreSQL server at {url}; \
                         create it (`createdb {}`) or fix the database name in the URL",
                        self.dbname, self.dbname
                    ),
                )
            } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                (
                    false,
                    format!(
                        "PostgreSQL at {url} does not let {:?} connect ({said}); GRANT CONNECT \
                         ON DATABASE {} TO {}",
                        self.user, self.dbname, self.user
                    ),
                )
            } else if code.code().starts_with("08")
                || code.code().starts_with("53")
                || code.code().starts_with("57")
            {
                (
                    true,
                    format!(
                        "the PostgreSQL server at {url} cannot take the connection now ({said}); \
                         try again later"
                    ),
                )
            } else {
                (
                    false,
                    format!("PostgreSQL at {url} refused the connection ({said})"),
                )
            };
        }
        let detail = causes(err);
        // libpq's words for a session target_session_attrs=read-write refused:
        // every host named is read-only.
        if detail.contains("database does not allow writes") {
            return (
                false,
                format!(
                    "every server named in {url} is read-only (a hot standby), and \
                     target_session_attrs=read-write asks for one that takes writes; name the \
                     primary in the URL, alone or among the hosts"
                ),
            );
        }
        match err.to_string().as_str() {
            "error performing TLS handshake" => {
                let what = if detail.contains("does not support TLS") {
                    format!(
                        "the PostgreSQL server at {url} does not offer TLS, and sslmode={} \
                         requires it; enable ssl on the server, or lower sslmode",
                        url.sslmode.as_str()
                    )
                } else {
                    format!(
                        "TLS verification of the PostgreSQL server at {url} failed ({detail}); \
                         check sslrootcert (the CA that signed the server's certificate) and \
                         that the host is named in the certificate"
                    )
                };
                (false, what)
            }
            "invalid configuration" | "authentication error" => {
                let hint = if detail.contains("password missing") {
                    "the server asks for a password and none was given: put it in the URL, \
                     FXRATES_DB_PASSWORD_FILE, PGPASSWORD or ~/.pgpass"
                        .to_string()
                } else {
                    detail
                };
                (
                    false,
                    format!("cannot log in to PostgreSQL at {url}: {hint}"),
                )
            }
            _ => (
                true,
                format!(
                    "cannot reach the PostgreSQL server at {url} ({detail}); check that it runs \
                     and that the host and port are right"
                ),
            ),
        }
    }
}

/// The causes below a rust-postgres error, joined; its own text is generic.
fn causes(err: &postgres::Error) -> String {
    let mut parts = Vec::new();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        cause = c.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}
