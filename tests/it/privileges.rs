//! PostgreSQL roles with exactly the grants DEPLOYMENT.md lists: the
//! writer's, the reader's, the view-only reporter's; and roles that lack
//! one, refused before anything is spent.

use crate::common::*;

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

/// A role of its own (roles are the whole cluster's) with `password`.
fn new_role(prefix: &str, password: &str) -> String {
    let name = unique_schema(prefix);
    role(&name, password);
    name
}

/// An environment that runs as `role` (password `password`) on `schema`.
fn as_role(server: &FakeFixer, role: &str, password: &str, schema: &str) -> TestEnv {
    TestEnv::new(&server.url, NOW)
        .env("FXRATES_DB", &role_url(role))
        .env("FXRATES_DB_SCHEMA", schema)
        .env("PGPASSWORD", password)
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn the_documented_minimum_grants_are_enough() {
    let server = FakeFixer::free_plan("2024-09-20");
    // DEPLOYMENT.md, "Roles and the minimum grants", word for word but for
    // the names.
    let writer = new_role("fxw", "writer-canary-pw");
    let schema = unique_schema("fxgrants");
    let mut admin = admin();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema} AUTHORIZATION {writer}"))
        .unwrap();
    let may_create: bool = admin
        .query_one(
            "SELECT has_database_privilege($1, current_database(), 'CREATE')",
            &[&writer],
        )
        .unwrap()
        .get(0);
    assert!(!may_create, "the role must not have CREATE on the database");

    let env = as_role(&server, &writer, "writer-canary-pw", &schema);
    let (code, _, err) = env.run(&["ingest"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.run(&["backfill", "--from", "2024-08-01", "--to", "2024-08-02"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = env.run(&["prune", "--keep-days", "31"]);
    assert_eq!(code, 0, "{err}");
    let pg = PgSchema {
        url: server_url(),
        schema: schema.clone(),
    };
    assert_eq!(
        pg.sql("SELECT min(date), max(date) FROM days"),
        [["2024-08-21", "2024-09-20"]]
    );
    let (code, _, err) = env.run(&["status"]);
    assert_eq!(code, 0, "{err}");

    // The read-only role of `show`, `convert`, `chart` and `status`.
    let reader = new_role("fxr", "reader-canary-pw");
    admin
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO {reader};
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {reader}"
        ))
        .unwrap();
    let env = as_role(&server, &reader, "reader-canary-pw", &schema);
    for args in [
        &["show", "--symbols", "USD"][..],
        &["convert", "100", "EUR", "USD"][..],
        &["status"][..],
        &["status", "--format", "prometheus"][..],
    ] {
        let (code, out, err) = env.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!out.is_empty(), "{args:?}");
    }

    // The reports' role: the view and nothing else.
    let reports = new_role("fxv", "view-canary-pw");
    admin
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO {reports};
             GRANT SELECT ON {schema}.rates TO {reports}"
        ))
        .unwrap();
    let mut client = postgres::Client::connect(
        &format!(
            "postgresql://{reports}:view-canary-pw@{}/postgres",
            authority()
        ),
        postgres::NoTls,
    )
    .unwrap();
    let rate: String = client
        .query_one(
            &format!(
                "SELECT rate::text FROM {schema}.rates WHERE date = '2024-09-20' \
                 AND currency = 'USD'"
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rate, "1.23396");
    assert!(
        client
            .query(&format!("SELECT * FROM {schema}.days"), &[])
            .is_err(),
        "the reports' role reads the view only"
    );
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_role_that_cannot_store_rates_spends_no_request_and_is_told_the_grant() {
    let server = FakeFixer::free_plan("2024-09-20");
    let owner = TestEnv::on(Backend::Postgres, &server.url, NOW);
    assert_eq!(owner.run(&["ingest", "--no-heal"]).0, 0);
    let schema = owner.pg.as_ref().unwrap().schema.clone();
    // It may claim the store and record requests and runs, read
    // everything, but not store a day.
    let role = new_role("fxnostore", "nostore-canary-pw");
    admin()
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO {role};
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};
             GRANT INSERT, UPDATE, DELETE ON {schema}.claims, {schema}.plan_memory,
                 {schema}.currency_names, {schema}.unusable_days,
                 {schema}.unavailable_days TO {role};
             GRANT INSERT, UPDATE ON {schema}.requests, {schema}.runs TO {role};
             GRANT UPDATE ON {schema}.days TO {role}"
        ))
        .unwrap();
    let before = owner.stored();
    let sent = server.count();
    let env = as_role(&server, &role, "nostore-canary-pw", &schema).at("2024-09-23T09:00:00Z");
    let msg = env.fails(&["ingest"], 74);
    assert!(msg.contains("permission denied"), "{msg}");
    assert!(msg.contains(&format!("\"{role}\"")), "{msg}");
    assert!(
        msg.contains(&format!(
            "GRANT INSERT, DELETE ON \"{schema}\".\"days\" TO \"{role}\"; \
             GRANT INSERT, DELETE ON \"{schema}\".\"day_rates\" TO \"{role}\";"
        )),
        "{msg}"
    );
    assert!(!msg.contains("canary"), "{msg}");
    assert_eq!(server.count(), sent, "a request was spent");
    assert_eq!(owner.stored(), before);
    // The owner's ingest also asked for the month's currency names.
    assert_eq!(
        owner.sql("SELECT count(*) FROM requests"),
        [[(sent + server.symbols_count()).to_string()]]
    );

    // Without USAGE on the schema, that is what it is told first.
    let stranger = new_role("fxstranger", "stranger-canary-pw");
    let env = as_role(&server, &stranger, "stranger-canary-pw", &schema);
    let msg = env.fails(&["backfill", "--from", "2024-09-16"], 74);
    assert!(
        msg.contains(&format!(
            "GRANT USAGE ON SCHEMA \"{schema}\" TO \"{stranger}\";"
        )),
        "{msg}"
    );
    assert_eq!(server.count(), sent);
}
