//! Connections to a real server, started by `.ci/pg-test-server`, which sets
//! `FXRATES_TEST_DATABASE_URL` (a superuser trusted from 127.0.0.1; other
//! roles need their password) and `FXRATES_TEST_PG_CA`/`_OTHER_CA`.

use super::*;
use crate::secret::Secret;
use std::net::TcpListener;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: these tests need a PostgreSQL server; run them with \
             `.ci/pg-test-server cargo test -- --include-ignored`"
        )
    })
}

/// host:port of the test server.
fn authority() -> String {
    let url = var("FXRATES_TEST_DATABASE_URL");
    let rest = url.split_once('@').expect("user@host").1;
    rest.split('/').next().unwrap().to_string()
}

fn port() -> String {
    authority().rsplit_once(':').unwrap().1.to_string()
}

fn target(url: &str, sources: &PasswordSources) -> Server {
    Server::resolve(
        PgUrl::parse(url).expect(url),
        "nobody",
        sources,
        Default::default(),
    )
    .unwrap()
}

fn connect(url: &str) -> Result<postgres::Client, ConnectError> {
    target(url, &PasswordSources::default()).connect()
}

fn uses_tls(client: &mut postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0)
}

/// A login role with `password`, made by the superuser.
fn role(name: &str, password: &str) {
    let mut admin = connect(&var("FXRATES_TEST_DATABASE_URL")).unwrap();
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {name} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
             ALTER ROLE {name} PASSWORD '{password}'"
        ))
        .unwrap();
}

fn message(err: &ConnectError) -> String {
    err.to_string()
}

/// The error of a connection expected to fail.
fn refused(url: &str) -> ConnectError {
    match connect(url) {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e,
    }
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn verify_full_with_the_test_ca() {
    let ca = var("FXRATES_TEST_PG_CA");
    for host in ["127.0.0.1", "localhost"] {
        let url = format!(
            "postgresql://postgres@{host}:{}/postgres?sslmode=verify-full&sslrootcert={ca}",
            port()
        );
        let mut client = connect(&url).unwrap_or_else(|e| panic!("{url}: {e:#}"));
        assert!(uses_tls(&mut client), "{url}");
    }
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_wrong_ca_fails_naming_tls() {
    let other = var("FXRATES_TEST_PG_OTHER_CA");
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = format!(
            "postgresql://postgres@{}/postgres?sslmode={mode}&sslrootcert={other}",
            authority()
        );
        let err = refused(&url);
        assert!(!err.temporary, "{mode}: {err:#}");
        let text = message(&err);
        assert!(text.contains("TLS verification"), "{mode}: {text}");
        assert!(text.contains("sslrootcert"), "{mode}: {text}");
    }
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn verify_ca_ignores_the_name_and_verify_full_does_not() {
    let ca = var("FXRATES_TEST_PG_CA");
    // Reached by address under a name the certificate does not hold.
    let url = |mode: &str| {
        format!(
            "postgresql://postgres@not-in-the-cert.invalid:{}/postgres?hostaddr=127.0.0.1\
             &sslmode={mode}&sslrootcert={ca}",
            port()
        )
    };
    let mut client = connect(&url("verify-ca")).unwrap();
    assert!(uses_tls(&mut client));
    let err = refused(&url("verify-full"));
    assert!(!err.temporary, "{err}");
    assert!(message(&err).contains("TLS verification"), "{err}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn require_encrypts_without_verifying_and_disable_does_not_encrypt() {
    let base = format!("postgresql://postgres@{}/postgres", authority());
    assert!(uses_tls(
        &mut connect(&format!("{base}?sslmode=require")).unwrap()
    ));
    assert!(
        uses_tls(&mut connect(&base).unwrap()),
        "prefer takes TLS when offered"
    );
    assert!(!uses_tls(
        &mut connect(&format!("{base}?sslmode=disable")).unwrap()
    ));
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_socket_directory_as_host() {
    let dir = var("FXRATES_TEST_PG_SOCKET");
    let url = format!(
        "postgresql:///postgres?host={dir}&port={}&user=postgres",
        port()
    );
    let mut client = connect(&url).unwrap();
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_refused_login_and_a_missing_database_need_a_person() {
    role("fxrates_t_login", "right-pw-canary-1");
    let wrong = format!(
        "postgresql://fxrates_t_login:wrong-pw-canary-2@{}/postgres",
        authority()
    );
    let err = refused(&wrong);
    assert!(!err.temporary, "{err}");
    let text = format!("{err:#} {err:?}");
    assert!(text.contains("refused the login"), "{text}");
    assert!(!text.contains("canary"), "{text}");

    let none = format!("postgresql://fxrates_t_login@{}/postgres", authority());
    let err = refused(&none);
    assert!(!err.temporary, "{err}");
    assert!(message(&err).contains("asks for a password"), "{err}");

    let missing = format!("postgresql://postgres@{}/no_such_db", authority());
    let err = refused(&missing);
    assert!(!err.temporary, "{err}");
    assert!(
        message(&err).contains("\"no_such_db\" does not exist"),
        "{err}"
    );
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn every_password_source_logs_in() {
    role("fxrates_t_sources", "pw-canary-3:with@odd/chars");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "pw-canary-3:with@odd/chars\n").unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!(
            "127.0.0.1:{}:postgres:fxrates_t_sources:pw-canary-3\\:with@odd/chars\n",
            port()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [&file, &pgpass] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let url = format!("postgresql://fxrates_t_sources@{}/postgres", authority());
    let in_url = format!(
        "postgresql://fxrates_t_sources:{}@{}/postgres",
        crate::secret::percent_encode("pw-canary-3:with@odd/chars"),
        authority()
    );
    for (name, url, sources) in [
        ("url", &in_url, PasswordSources::default()),
        (
            "file",
            &url,
            PasswordSources {
                file: Some(file.clone()),
                ..Default::default()
            },
        ),
        (
            "PGPASSWORD",
            &url,
            PasswordSources {
                pgpassword: Some(Secret::new("pw-canary-3:with@odd/chars".into())),
                ..Default::default()
            },
        ),
        (
            "pgpass",
            &url,
            PasswordSources {
                pgpassfile: Some(pgpass.clone()),
                ..Default::default()
            },
        ),
    ] {
        let mut client = target(url, &sources)
            .connect()
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let who: String = client
            .query_one("SELECT current_user::text", &[])
            .unwrap()
            .get(0);
        assert_eq!(who, "fxrates_t_sources", "{name}");
    }
}

#[test]
fn an_unreachable_server_is_temporary() {
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = refused(&format!("postgresql://u:pw-canary-4@127.0.0.1:{port}/db"));
    assert!(err.temporary, "{err:#}");
    let text = message(&err);
    assert!(
        text.contains("cannot reach the PostgreSQL server"),
        "{text}"
    );
    assert!(
        text.contains(&format!("postgresql://u:[REDACTED]@127.0.0.1:{port}/db")),
        "{text}"
    );
}

#[test]
fn a_silent_server_times_out() {
    // Takes the connection, then never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    let err = refused(&format!(
        "postgresql://u@127.0.0.1:{port}/db?connect_timeout=2&sslmode=disable"
    ));
    assert!(err.temporary, "{err:#}");
    assert!(message(&err).contains("did not answer within"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    drop(listener);
}
