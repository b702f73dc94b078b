//! Where a PostgreSQL store is: a server (its URL, user, password and TLS,
//! as the settings resolved them) and a schema in it. The backend's own
//! settings: [`Target`] holds one without knowing what is inside.

use super::Target;
use crate::pg::Server;
use std::fmt;

/// A schema in a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgTarget {
    pub(super) server: Server,
    pub(super) schema: String,
}

impl PgTarget {
    pub fn new(server: Server, schema: String) -> PgTarget {
        PgTarget { server, schema }
    }
}

impl From<PgTarget> for Target {
    fn from(target: PgTarget) -> Target {
        Target::Postgres(Box::new(target))
    }
}

impl fmt::Display for PgTarget {
    /// The URL without its password, and the schema unless it is the
    /// default one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.schema == crate::store::DEFAULT_SCHEMA {
            write!(f, "{}", self.server.url)
        } else {
            write!(f, "{} (schema {})", self.server.url, self.schema)
        }
    }
}
