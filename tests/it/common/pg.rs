//! The PostgreSQL side of the suite: a throwaway schema per test on the
//! server `.ci/pg-test-server` starts, and `both_stores!`, which runs one
//! test body against SQLite and against PostgreSQL.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Which store a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A variable the test server script sets. Without it the test fails:
/// an ignored test that is run anyway must not pass without a server.
pub fn server_var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs a PostgreSQL server; run \
             `.ci/pg-test-server cargo test -- --include-ignored`"
        )
    })
}

/// The superuser URL of the test server.
pub fn server_url() -> String {
    server_var("FXRATES_TEST_DATABASE_URL")
}

/// A superuser connection to the test server.
pub fn admin() -> postgres::Client {
    postgres::Client::connect(&server_url(), postgres::NoTls).expect("connect to the test server")
}

/// A schema name no other test uses, on this run or an earlier one.
pub fn unique_schema(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// A UTC time as PostgreSQL prints it (`2024-09-20 09:00:00+00`) written
/// as the SQLite store keeps it (`2024-09-20T09:00:00Z`), so that one
/// assertion reads both stores; any other value is left as it is.
fn rfc3339(value: &str) -> String {
    let b = value.as_bytes();
    let shaped = b.len() == 22
        && b[10] == b' '
        && value.ends_with("+00")
        && b[13] == b':'
        && b[16] == b':'
        && b[4] == b'-';
    if shaped {
        format!("{}T{}Z", &value[..10], &value[11..19])
    } else {
        value.to_string()
    }
}

/// A schema of the test server, as a test's store.
#[derive(Clone, Debug)]
pub struct PgSchema {
    pub url: String,
    pub schema: String,
}

impl PgSchema {
    pub fn new() -> PgSchema {
        PgSchema {
            url: server_url(),
            schema: unique_schema("t"),
        }
    }

    /// A connection whose unqualified names are the schema's.
    pub fn client(&self) -> postgres::Client {
        let mut client = admin();
        client
            .batch_execute(&format!("SET search_path TO \"{}\"", self.schema))
            .unwrap();
        client
    }

    pub fn exists(&self) -> bool {
        admin()
            .query_opt(
                "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                &[&self.schema],
            )
            .unwrap()
            .is_some()
    }

    /// Rows of a query in the schema, every value as PostgreSQL's text.
    pub fn sql(&self, query: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for message in self.client().simple_query(query).unwrap() {
            if let postgres::SimpleQueryMessage::Row(row) = message {
                out.push(
                    (0..row.len())
                        .map(|i| rfc3339(row.get(i).unwrap_or("NULL")))
                        .collect(),
                );
            }
        }
        out
    }

    /// Whether `needle` is in any row of any table of the schema.
    pub fn contains(&self, needle: &str) -> bool {
        assert!(self.exists(), "no schema {} to search", self.schema);
        let mut client = self.client();
        let tables: Vec<String> = client
            .query(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relkind = 'r'",
                &[&self.schema],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        tables.iter().any(|t| {
            let n: i64 = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM \"{t}\" AS x WHERE x::text LIKE '%' || $1 || '%'"
                    ),
                    &[&needle],
                )
                .unwrap()
                .get(0);
            n > 0
        })
    }

    /// The store as the library names it.
    pub fn target(&self) -> fxrates::store::Target {
        let url = fxrates::pg::PgUrl::parse(&self.url).unwrap();
        let server =
            fxrates::pg::Server::resolve(url, "postgres", &Default::default(), Default::default())
                .unwrap();
        fxrates::store::PgTarget::new(server, self.schema.clone()).into()
    }
}

/// Runs one test body against both stores: `NAME::sqlite` always,
/// `NAME::postgres` when a server is there (ignored otherwise, and run by
/// CI, where a missing server fails it).
///
/// ```ignore
/// both_stores! {
///     fn shows_the_day(backend) {
///         let env = TestEnv::on(backend, &server.url, NOW);
///         ...
///     }
/// }
/// ```
macro_rules! both_stores {
    ($($(#[$meta:meta])* fn $name:ident($backend:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn body($backend: $crate::common::Backend) $body

                #[test]
                fn sqlite() {
                    body($crate::common::Backend::Sqlite)
                }

                #[test]
                #[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
                fn postgres() {
                    body($crate::common::Backend::Postgres)
                }
            }
        )*
    };
}

/// host:port of the test server.
pub fn authority() -> String {
    let url = server_url();
    let rest = url.split_once('@').unwrap().1;
    rest.split('/').next().unwrap().to_string()
}

/// A login role with `password` and no privilege beyond connecting.
pub fn role(name: &str, password: &str) {
    admin()
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {name} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             ALTER ROLE {name} PASSWORD '{password}'"
        ))
        .unwrap();
}

/// The test server's URL for `role` (whose password goes in PGPASSWORD).
pub fn role_url(role: &str) -> String {
    format!("postgresql://{role}@{}/postgres", authority())
}
