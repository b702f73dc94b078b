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

/// What stands for the system's CAs, for `sslrootcert=system`.
pub use crate::tls::CaSources;
pub use connect::{ConnectError, Server};
pub use password::PasswordSources;
pub use url::PgUrl;
pub use watch::{Limits, Watch};
