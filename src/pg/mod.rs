//! Reaching a PostgreSQL server: the libpq connection URI, the password
//! sources, TLS for each `sslmode`, and connection errors told apart (what
//! to retry later, what a person must fix). The store itself builds on this.

mod connect;
mod password;
mod tls;
mod url;
mod watch;

#[cfg(test)]
mod tests;

pub use connect::{ConnectError, DEFAULT_CONNECT_TIMEOUT, Server};
pub use password::PasswordSources;
pub use url::{Host, PgUrl, RootCert, SslMode};
pub use watch::{Limits, Watch};
