//! What a PostgreSQL store needs besides its URL: the password's sources,
//! the schema and the operating system user. The variables are read once,
//! with the other settings, however many stores the run names (`copy` may
//! name two), and judged only when a PostgreSQL store is named: a SQLite
//! run never fails on them.

use super::{Shared, not_empty, text};
use crate::error::{Exit, fail};
use crate::pg::{PasswordSources, PgUrl, Server};
use crate::secret::Secret;
use crate::store::{self, PgTarget, Target};
use std::env;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

/// The variables, as read.
pub(super) struct PgEnv {
    /// `FXRATES_DB_PASSWORD_FILE`.
    password_file: Option<OsString>,
    /// `PGPASSWORD`, registered as a secret only when a PostgreSQL store is
    /// named (a short one would otherwise blank out ordinary text).
    pgpassword: Option<OsString>,
    /// `PGPASSFILE`.
    pgpassfile: Option<OsString>,
    /// `FXRATES_DB_SCHEMA`.
    schema: Option<OsString>,
    /// `USER`, else `LOGNAME`.
    user: Option<String>,
}

impl PgEnv {
    pub(super) fn read() -> PgEnv {
        PgEnv {
            password_file: env::var_os("FXRATES_DB_PASSWORD_FILE"),
            pgpassword: env::var_os("PGPASSWORD"),
            pgpassfile: env::var_os("PGPASSFILE"),
            schema: env::var_os("FXRATES_DB_SCHEMA"),
            user: ["USER", "LOGNAME"]
                .iter()
                .find_map(|v| env::var(v).ok().filter(|u| !u.is_empty())),
        }
    }
}

impl fmt::Debug for PgEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgEnv")
            .field("password_file", &self.password_file)
            .field("pgpassfile", &self.pgpassfile)
            .field("schema", &self.schema)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL store: the URL (`what` names where it came from), the
/// schema (`schema`: a flag and its value, else `FXRATES_DB_SCHEMA`) and the
/// password from wherever it is kept.
pub(super) fn target(
    written: &str,
    what: &str,
    schema: Option<(&str, &str)>,
    shared: &Shared,
) -> anyhow::Result<Target> {
    let url = PgUrl::parse(written).map_err(|why| {
        fail(
            Exit::Config,
            format!("{what} is not a PostgreSQL URL fxrates can use: {why}"),
        )
    })?;
    let vars = &shared.pg;
    let sources = PasswordSources {
        file: not_empty(
            vars.password_file.clone().map(PathBuf::from),
            "FXRATES_DB_PASSWORD_FILE",
        )?,
        pgpassword: text("PGPASSWORD", vars.pgpassword.clone())?.map(Secret::new),
        pgpassfile: vars
            .pgpassfile
            .clone()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| shared.home.as_ref().map(|h| h.join(".pgpass"))),
        credentials_dir: shared.credentials.clone(),
    };
    let schema = match schema {
        Some((flag, name)) => checked_schema(flag, name.to_string())?,
        None => schema_name(vars)?,
    };
    let server = Server::resolve(url, &os_user(vars), &sources, shared.ca.clone())?;
    Ok(PgTarget::new(server, schema).into())
}

/// `FXRATES_DB_SCHEMA`, else `fxrates`.
fn schema_name(vars: &PgEnv) -> anyhow::Result<String> {
    match text("FXRATES_DB_SCHEMA", vars.schema.clone())? {
        Some(name) => checked_schema("FXRATES_DB_SCHEMA", name),
        None => Ok(store::DEFAULT_SCHEMA.to_string()),
    }
}

/// `name` (from `source`) if it is a plain lower-case name, so that it reads
/// the same quoted or not, and neither `public` nor a system schema.
fn checked_schema(source: &str, name: String) -> anyhow::Result<String> {
    let plain = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain {
        return Err(fail(
            Exit::Config,
            format!(
                "{source}={name:?} is not a plain schema name (lower-case letters, digits and _, \
                 at most 63, not starting with a digit)"
            ),
        ));
    }
    if name == "public" || name == "information_schema" || name.starts_with("pg_") {
        return Err(fail(
            Exit::Config,
            format!(
                "{source}={name:?} is shared with other programs or PostgreSQL itself; choose a \
                 schema of fxrates' own, such as fxrates"
            ),
        ));
    }
    Ok(name)
}

/// The operating system user, which libpq logs in as when the URL names
/// no user.
fn os_user(vars: &PgEnv) -> String {
    if let Some(user) = &vars.user {
        return user.clone();
    }
    // cron may set neither: ask the system who this process acts as.
    whoami::username().unwrap_or_else(|_| "postgres".to_string())
}
