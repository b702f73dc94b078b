//! The PostgreSQL store against a real server (`.ci/pg-test-server`): the
//! same outputs as SQLite, the `rates` interface, a schema that is not
//! fxrates', the failures a user meets, and the password kept secret.

use crate::common::*;

/// A Friday, 09:00 UTC.
const NOW: &str = "2024-09-20T09:00:00Z";

fn pg_env(server: &FakeFixer) -> TestEnv {
    TestEnv::on(Backend::Postgres, &server.url, NOW)
}

/// A server whose answers for 2024-09-11 say "no data" (106), so that both
/// stores hold an unavailable day too.
fn server_with_a_hole() -> FakeFixer {
    // Rates that move from day to day, so that charts and ranges differ.
    fn rates(date: &str) -> String {
        let day = &date[8..];
        format!(
            r#"{{"EUR":1,"GBP":0.83{day}8,"JPY":159.{day},"USD":1.0956{day},"BTC":1.25{day}1e-05}}"#
        )
    }
    FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(day_body("2024-09-20", &rates("2024-09-20"))),
        "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
        "2024-09-11" => Reply::fixer_error(106, "no_rates_available"),
        date if is_date(date) => Reply::ok(day_body(date, &rates(date))),
        _ => Reply::fixer_error(302, "invalid_date"),
    })
}

/// `text` with each store's own name replaced, so that outputs that name
/// the store can be compared.
fn neutral(text: &str, env: &TestEnv) -> String {
    text.replace(&env.target().to_string(), "<store>")
}

/// The host name the runs of the comparison below record.
const HOST: &str = "pg-host";

/// `status` output without what only a store shared by several hosts
/// records (which host ran what), nor what only SQLite records (the day its
/// weekly full check of the file passed): everything else must be the same. The
/// time a run ended is rounded away too: it is the run's own clock (the fixed
/// start plus the real time the run took), which no two runs share.
fn without_hosts(text: &str) -> String {
    if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(report) = json.as_object_mut()
    {
        report.remove("hosts");
        report.remove("last_full_check");
        if let Some(runs) = report.get_mut("last_runs").and_then(|r| r.as_object_mut()) {
            for run in runs.values_mut() {
                run.as_object_mut().map(|r| r.remove("host"));
            }
        }
        return serde_json::to_string_pretty(&json).unwrap();
    }
    text.lines()
        .filter(|l| {
            !l.starts_with(&format!("host {HOST}:"))
                && !l.contains("fxrates_host_last_run")
                && !l.starts_with("checked:")
        })
        .map(
            |l| match l.strip_prefix("fxrates_last_success_timestamp_seconds ") {
                Some(t) => {
                    let t: i64 = t.parse().unwrap();
                    assert!((1_726_822_800..1_726_822_900).contains(&t), "{l}");
                    "fxrates_last_success_timestamp_seconds <soon after the start>\n".to_string()
                }
                None => l.replace(&format!(" on {HOST}"), "") + "\n",
            },
        )
        .collect()
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn every_command_prints_the_same_on_both_stores() {
    let server = server_with_a_hole();
    let sqlite = TestEnv::new(&server.url, NOW);
    let pg = pg_env(&server);
    let metrics = |env: &TestEnv| env.path().join("fxrates.prom");
    let steps: &[&[&str]] = &[
        &["backfill", "--from", "2024-08-26", "--to", "2024-09-18"],
        &["ingest"],
        &["ingest", "--date", "2024-09-19"],
        &["show"],
        &["show", "--date", "2024-09-15"],
        &["show", "--date", "2024-09-02", "--format", "json"],
        &["show", "--date", "2024-09-02", "--format", "csv"],
        &["show", "--base", "USD", "--symbols", "GBP,JPY,BTC"],
        &["show", "--from", "2024-08-26", "--to", "2024-09-20"],
        &["show", "--from", "2024-09-01", "--symbols", "GBP,USD"],
        &[
            "show",
            "--from",
            "2024-09-09",
            "--to",
            "2024-09-13",
            "--format",
            "json",
        ],
        &["show", "--from", "2024-09-09", "--format", "csv"],
        &["convert", "100", "USD", "GBP"],
        &[
            "convert",
            "12.5",
            "EUR",
            "JPY",
            "--date",
            "2024-09-14",
            "--format",
            "json",
        ],
        &[
            "chart",
            "USD",
            "--from",
            "2024-08-26",
            "--width",
            "72",
            "--ascii",
        ],
        &[
            "chart", "GBP", "--base", "USD", "--days", "20", "--width", "60",
        ],
        &["status"],
        &["status", "--format", "json"],
        &["status", "--format", "prometheus"],
        &["prune", "--keep-days", "31", "--dry-run"],
        &["show", "--date", "2030-01-01"],
        &["convert", "1", "EUR", "XYZ"],
    ];
    for args in steps {
        let with_metrics = |env: &TestEnv| {
            let mut cmd = env.cmd(args);
            cmd.env("FXRATES_METRICS_FILE", metrics(env))
                .env("FXRATES_HOSTNAME", HOST);
            env.run_cmd(cmd)
        };
        let (a, b) = (with_metrics(&sqlite), with_metrics(&pg));
        assert_eq!(a.0, b.0, "exit code of {args:?}: {} / {}", a.2, b.2);
        assert_eq!(
            without_hosts(&a.1),
            without_hosts(&b.1),
            "stdout of {args:?}"
        );
        assert_eq!(
            neutral(&a.2, &sqlite),
            neutral(&b.2, &pg),
            "stderr of {args:?}"
        );
        if metrics(&sqlite).exists() {
            assert_eq!(
                without_hosts(&std::fs::read_to_string(metrics(&sqlite)).unwrap()),
                without_hosts(&std::fs::read_to_string(metrics(&pg)).unwrap()),
                "metrics after {args:?}"
            );
        }
    }
    // Both asked the provider the same questions.
    let days = server
        .requests()
        .iter()
        .filter(|r| r.function() != "timeseries")
        .count();
    assert!(days > 20, "{days}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn the_rates_view_keeps_the_exact_decimals() {
    let server = server_with_a_hole();
    let env = pg_env(&server);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let rows = env.sql(
        "SELECT date, base, currency, rate, rate_text, pg_typeof(date), pg_typeof(rate), \
         pg_typeof(rate_text) FROM rates WHERE currency IN ('USD', 'BTC') ORDER BY currency",
    );
    assert_eq!(
        rows,
        [
            [
                "2024-09-20",
                "EUR",
                "BTC",
                "0.0000125201",
                "0.0000125201",
                "date",
                "numeric",
                "text"
            ],
            [
                "2024-09-20",
                "EUR",
                "USD",
                "1.09562",
                "1.09562",
                "date",
                "numeric",
                "text"
            ],
        ]
    );
    // NUMERIC arithmetic is exact: no binary floating point in between.
    assert_eq!(
        env.sql("SELECT rate * 1000000 FROM rates WHERE currency = 'USD'"),
        [["1095620.00000"]]
    );
    // The issue's example query, as psql users write it.
    assert_eq!(
        env.sql("SELECT rate FROM rates WHERE date = '2024-09-20' AND currency = 'USD'"),
        [["1.09562"]]
    );
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn application_tables_are_left_alone() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = pg_env(&server);
    let app = unique_schema("app");
    let mut admin = admin();
    admin
        .batch_execute(&format!(
            "CREATE SCHEMA {app};
             CREATE TABLE {app}.invoices (id int PRIMARY KEY, amount numeric, currency text);
             INSERT INTO {app}.invoices VALUES (1, 99.50, 'USD');
             CREATE TABLE {app}.days (note text)"
        ))
        .unwrap();
    let public_before = admin
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    // An application joins its invoices to the rates.
    let joined: String = admin
        .query_one(
            &format!(
                "SELECT (i.amount / r.rate)::numeric(12,2)::text FROM {app}.invoices i \
                 JOIN \"{}\".rates r ON r.currency = i.currency",
                env.pg.as_ref().unwrap().schema
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(joined, "80.63");
    let days_note: i64 = admin
        .query_one(&format!("SELECT count(*) FROM {app}.days"), &[])
        .unwrap()
        .get(0);
    assert_eq!(days_note, 0, "another schema's `days` is not fxrates'");
    let public_after: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(public_before, public_after, "nothing is created in public");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_schema_of_another_program_is_refused_before_any_request_and_left_as_it_was() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = pg_env(&server);
    let schema = env.pg.as_ref().unwrap().schema.clone();
    admin()
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.notes (body text);
             INSERT INTO {schema}.notes VALUES ('keep me')"
        ))
        .unwrap();
    for args in [
        &["ingest"][..],
        &["backfill"][..],
        &["show"][..],
        &["status"][..],
    ] {
        let msg = env.fails(args, 74);
        assert!(msg.contains(&format!("schema \"{schema}\"")), "{msg}");
        assert!(msg.contains("notes"), "{msg}");
        assert!(msg.contains("FXRATES_DB_SCHEMA"), "{msg}");
    }
    assert_eq!(server.count(), 0, "no request was spent");
    // copy reads neither --db nor FXRATES_DB_SCHEMA: its hint names its flag.
    let url = env.pg.as_ref().unwrap().url.clone();
    let sqlite = env.path().join("local.db");
    let local = env
        .at("2024-09-20T09:00:00Z")
        .env("FXRATES_DB", sqlite.to_str().unwrap());
    assert_eq!(local.run(&["ingest", "--no-heal"]).0, 0);
    let msg = env.fails(
        &[
            "copy",
            sqlite.to_str().unwrap(),
            &url,
            "--dest-schema",
            &schema,
        ],
        74,
    );
    assert!(
        msg.contains("choose another schema with --dest-schema"),
        "{msg}"
    );
    assert!(!msg.contains("FXRATES_DB"), "{msg}");
    assert_eq!(env.sql("SELECT body FROM notes"), [["keep me"]]);
    let tables = env.sql(&format!(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = '{schema}' ORDER BY 1"
    ));
    assert_eq!(tables, [["notes"]]);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_schema_from_a_newer_fxrates_is_refused_and_left_as_it_was() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = pg_env(&server);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let newer = fxrates::store::PG_VERSION + 3;
    env.pg
        .as_ref()
        .unwrap()
        .client()
        .execute(
            "UPDATE meta SET value = $1 WHERE key = 'fxrates_schema_version'",
            &[&newer.to_string()],
        )
        .unwrap();
    let before = env.stored();
    let sent = server.count();
    for args in [&["ingest", "--force"][..], &["show"][..]] {
        let msg = env.fails(args, 74);
        assert!(msg.contains(&format!("schema version {newer}")), "{msg}");
        assert!(msg.contains("upgrade fxrates"), "{msg}");
    }
    assert_eq!(server.count(), sent);
    assert_eq!(env.stored(), before);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_server_that_is_not_there_is_temporary_and_costs_no_request() {
    let server = FakeFixer::free_plan("2024-09-20");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let env = TestEnv::new(&server.url, NOW).env(
        "FXRATES_DB",
        &format!("postgresql://fx:pw-canary-down@127.0.0.1:{port}/finance"),
    );
    let msg = env.fails(&["ingest"], 75);
    assert!(msg.contains("cannot reach the PostgreSQL server"), "{msg}");
    assert!(
        msg.contains(&format!(
            "postgresql://fx:[REDACTED]@127.0.0.1:{port}/finance"
        )),
        "{msg}"
    );
    assert_eq!(env.fails(&["show"], 75), msg);
    assert_eq!(server.count(), 0);
    // Nothing was made on the side either.
    assert!(!env.db.exists());
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn logins_databases_and_certificates_that_need_a_person() {
    let server = FakeFixer::free_plan("2024-09-20");
    role("fx_it_login", "right-canary-pw");
    let cases = [
        (
            format!(
                "postgresql://fx_it_login:wrong-canary-pw@{}/postgres",
                authority()
            ),
            "refused the login",
        ),
        (
            format!("postgresql://postgres@{}/no_such_database", authority()),
            "\"no_such_database\" does not exist",
        ),
        (
            format!(
                "postgresql://postgres@{}/postgres?sslmode=verify-full&sslrootcert={}",
                authority(),
                server_var("FXRATES_TEST_PG_OTHER_CA")
            ),
            "TLS verification",
        ),
    ];
    for (url, needle) in cases {
        let env = TestEnv::new(&server.url, NOW).env("FXRATES_DB", &url);
        let msg = env.fails(&["ingest"], 78);
        assert!(msg.contains(needle), "{url}: {msg}");
        assert!(!msg.contains("canary"), "{msg}");
    }
    assert_eq!(server.count(), 0);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn verify_full_with_the_servers_ca_works_end_to_end() {
    let server = FakeFixer::free_plan("2024-09-20");
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        authority().rsplit_once(':').unwrap().1,
        server_var("FXRATES_TEST_PG_CA")
    );
    let schema = unique_schema("tls");
    let env = TestEnv::new(&server.url, NOW)
        .env("FXRATES_DB", &url)
        .env("FXRATES_DB_SCHEMA", &schema);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let (code, out, _) = env.run(&["show", "--symbols", "USD"]);
    assert_eq!(code, 0);
    assert!(out.contains("1.23396"), "{out}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_schema_the_role_may_not_write_is_refused_before_any_request() {
    let server = FakeFixer::free_plan("2024-09-20");
    role("fx_it_reader", "reader-canary-pw");
    // fxrates' schema, made by its owner; the role may only read it.
    let owner = pg_env(&server);
    assert_eq!(owner.run(&["ingest", "--no-heal"]).0, 0);
    let schema = owner.pg.as_ref().unwrap().schema.clone();
    admin()
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {schema} TO fx_it_reader;
             GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO fx_it_reader"
        ))
        .unwrap();
    let sent = server.count();
    let url = format!("postgresql://fx_it_reader@{}/postgres", authority());
    let reader = TestEnv::new(&server.url, "2024-09-23T09:00:00Z")
        .env("FXRATES_DB", &url)
        .env("FXRATES_DB_SCHEMA", &schema)
        .env("PGPASSWORD", "reader-canary-pw");
    let msg = reader.fails(&["ingest"], 74);
    assert!(msg.contains("permission denied"), "{msg}");
    assert!(!msg.contains("canary"), "{msg}");
    assert_eq!(server.count(), sent, "no request was spent");
    // Reading is all it may do, and it may.
    let (code, out, err) = reader.run(&["show", "--symbols", "USD"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1.23396"), "{out}");
    // A role that may not even read the schema.
    role("fx_it_stranger", "stranger-canary-pw");
    let stranger = TestEnv::new(&server.url, NOW)
        .env(
            "FXRATES_DB",
            &format!("postgresql://fx_it_stranger@{}/postgres", authority()),
        )
        .env("FXRATES_DB_SCHEMA", &schema)
        .env("PGPASSWORD", "stranger-canary-pw");
    let msg = stranger.fails(&["show"], 74);
    assert!(msg.contains("permission denied"), "{msg}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn the_database_password_never_shows() {
    const CANARY: &str = "Pw-Canary-7f3e9a";
    let server = FakeFixer::free_plan("2024-09-20");
    role("fx_it_secret", CANARY);
    admin()
        .batch_execute("GRANT CREATE ON DATABASE postgres TO fx_it_secret")
        .unwrap();
    let schema = unique_schema("secret");
    let base = TestEnv::new(&server.url, NOW).env("FXRATES_DB_SCHEMA", &schema);
    let in_url = format!(
        "postgresql://fx_it_secret:{CANARY}@{}/postgres",
        authority()
    );
    let file = base.path().join("db.pw");
    std::fs::write(&file, format!("{CANARY}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let without = format!("postgresql://fx_it_secret@{}/postgres", authority());
    let check = |text: &str| {
        assert!(!text.contains(CANARY), "the password leaked: {text}");
        assert!(
            !text.contains("Canary-7f3e"),
            "part of the password leaked: {text}"
        );
    };
    let mut in_url_cmd = base.cmd(&["ingest", "-vv"]);
    in_url_cmd.env("FXRATES_DB", &in_url);
    let mut file_cmd = base.cmd(&["status", "-vv"]);
    file_cmd
        .env("FXRATES_DB", &without)
        .env("FXRATES_DB_PASSWORD_FILE", &file)
        .env("RUST_LOG", "trace");
    let mut env_cmd = base.cmd(&["show", "-vv"]);
    env_cmd
        .env("FXRATES_DB", &without)
        .env("PGPASSWORD", CANARY);
    let ways = [in_url_cmd, file_cmd, env_cmd];
    for cmd in ways {
        let (code, out, err) = base.run_cmd(cmd);
        assert_eq!(code, 0, "{err}");
        check(&out);
        check(&err);
    }
    // A failure names the URL, never the password.
    let wrong = format!(
        "postgresql://fx_it_secret:{CANARY}x@{}/postgres",
        authority()
    );
    let mut cmd = base.cmd(&["ingest", "-vv"]);
    cmd.env("FXRATES_DB", &wrong);
    let (code, _, err) = base.run_cmd(cmd);
    assert_eq!(code, 78);
    check(&err);
    assert!(
        err.contains("postgresql://fx_it_secret:[REDACTED]@"),
        "{err}"
    );
    // Nor is it stored.
    let pg = PgSchema {
        url: server_url(),
        schema,
    };
    assert!(pg.exists());
    assert!(!pg.contains(CANARY));
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_connection_lost_mid_run_stores_no_half_day_and_ends_75() {
    // fxrates' connection is told apart by its application_name.
    let app = unique_schema("lost");
    let killed = app.clone();
    // The third day's answer is held until the server has cut fxrates'
    // connection: the day in flight cannot be stored.
    let server = FakeFixer::start(move |s| {
        if s.function() == "2024-09-19" {
            let mut admin = admin();
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE application_name = $1",
                    &[&killed],
                )
                .unwrap();
        }
        match s.function() {
            "latest" => Reply::ok(latest_body("2024-09-20")),
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            date if is_date(date) => Reply::ok(historical_body(date)),
            _ => Reply::fixer_error(302, "invalid_date"),
        }
    });
    let env = TestEnv::new(&server.url, NOW).postgres(PgSchema {
        url: format!("{}?application_name={app}", server_url()),
        schema: app.clone(),
    });
    let msg = env.fails(
        &["backfill", "--from", "2024-09-16", "--to", "2024-09-20"],
        75,
    );
    assert!(msg.contains("connection"), "{msg}");
    let stored = env.stored_dates();
    assert!(!stored.contains(&"2024-09-19".to_string()), "{stored:?}");
    for day in &stored {
        assert_eq!(env.rates_on(day).len(), 7, "{day} is whole");
    }
}

/// `fxrates copy` from `from` into `to`, as `env` runs it.
fn copy(env: &TestEnv, from: &str, to: &str) -> (i32, String, String) {
    env.run(&["copy", from, to])
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn copy_moves_a_history_both_ways_and_only_what_is_missing() {
    let server = server_with_a_hole();
    let sqlite = TestEnv::new(&server.url, NOW);
    assert_eq!(
        sqlite
            .run(&["backfill", "--from", "2024-08-26", "--to", "2024-09-20"])
            .0,
        0
    );
    let sent = server.count();
    let url = server_url();
    let schema = unique_schema("copy");
    let db = sqlite.db.to_str().unwrap().to_string();
    let pg = TestEnv::new(&server.url, NOW).postgres(PgSchema {
        url: url.clone(),
        schema: schema.clone(),
    });
    // SQLite into a new PostgreSQL schema.
    let (code, out, err) = copy(&pg, &db, &url);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "copied 19 days (95 rates) and 1 unavailable-day record from {db} to "
        )),
        "{out}"
    );
    assert!(out.contains("0 days were there already"), "{out}");
    assert!(out.contains("the request log was not copied"), "{out}");
    assert_eq!(server.count(), sent, "a copy asks the provider nothing");
    // Everything a user reads is the same, provenance included.
    for args in [
        &["show", "--from", "2024-08-26", "--format", "json"][..],
        &["show", "--date", "2024-09-11"][..],
    ] {
        assert_eq!(sqlite.run(args).1, pg.run(args).1, "{args:?}");
    }
    assert_eq!(
        sqlite.sql("SELECT date, endpoint, source_date, source_timestamp FROM days ORDER BY date"),
        pg.sql(
            "SELECT date::text, endpoint, source_date::text, source_timestamp::text FROM days \
             ORDER BY date"
        )
    );
    assert_eq!(
        pg.sql("SELECT date::text, reason FROM unavailable_days"),
        sqlite.sql("SELECT date, reason FROM unavailable_days")
    );
    // The request log stays behind.
    assert_eq!(pg.sql("SELECT count(*) FROM requests"), [["0"]]);

    // Again: nothing is missing, nothing is copied.
    let (code, out, _) = copy(&pg, &db, &url);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("copied 0 days (0 rates) and 0 unavailable-day records"),
        "{out}"
    );
    assert!(out.contains("19 days were there already"), "{out}");

    // Between two schemas of one database, named by flags.
    let staging = unique_schema("staging");
    let (code, out, err) = pg.run(&[
        "copy",
        &url,
        &url,
        "--source-schema",
        &schema,
        "--dest-schema",
        &staging,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("copied 19 days (95 rates) and 1 unavailable-day record"),
        "{out}"
    );
    let staged = TestEnv::new(&server.url, NOW).postgres(PgSchema {
        url: url.clone(),
        schema: staging,
    });
    assert_eq!(
        staged
            .run(&["show", "--from", "2024-08-26", "--format", "json"])
            .1,
        pg.run(&["show", "--from", "2024-08-26", "--format", "json"])
            .1
    );
    let msg = pg.fails(&["copy", &url, &url, "--dest-schema", "Bad-Name"], 78);
    assert!(msg.contains("--dest-schema=\"Bad-Name\""), "{msg}");

    // PostgreSQL back into a new SQLite file, with a day only PostgreSQL has.
    assert_eq!(pg.run(&["ingest", "--date", "2024-08-23"]).0, 0);
    let back = sqlite.path().join("back.db");
    let back = back.to_str().unwrap();
    let (code, out, err) = copy(&pg, &url, back);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("copied 20 days (100 rates) and 1 unavailable-day record"),
        "{out}"
    );
    let again = TestEnv::new(&server.url, NOW).env("FXRATES_DB", back);
    assert_eq!(
        again
            .run(&["show", "--from", "2024-08-01", "--format", "csv"])
            .1,
        pg.run(&["show", "--from", "2024-08-01", "--format", "csv"])
            .1
    );
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn copy_refuses_a_dest_of_another_program_and_the_same_store() {
    let server = server_with_a_hole();
    let sqlite = TestEnv::new(&server.url, NOW);
    assert_eq!(sqlite.run(&["ingest", "--no-heal"]).0, 0);
    let db = sqlite.db.to_str().unwrap().to_string();
    let schema = unique_schema("notes");
    admin()
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.notes (body text)"
        ))
        .unwrap();
    let pg = TestEnv::new(&server.url, NOW).env("FXRATES_DB_SCHEMA", &schema);
    let msg = pg.fails(&["copy", &db, &server_url()], 74);
    assert!(msg.contains("notes"), "{msg}");
    let other = sqlite.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body)")
        .unwrap();
    let msg = sqlite.fails(&["copy", &db, other.to_str().unwrap()], 74);
    assert!(msg.contains("another program"), "{msg}");
    let msg = sqlite.fails(&["copy", &db, &db], 2);
    assert!(msg.contains("the same store"), "{msg}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn the_server_s_error_is_said_once() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::on(Backend::Postgres, &server.url, "2024-09-20T09:00:00Z");
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let pg = env.pg.clone().unwrap();
    pg.client()
        .batch_execute("DROP TABLE day_rates CASCADE")
        .unwrap();
    let line = env.fails(&["show"], 74);
    assert_eq!(line.matches("does not exist").count(), 1, "{line}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_read_only_server_is_named_as_such() {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::on(Backend::Postgres, &server.url, "2024-09-20T09:00:00Z");
    // A role whose sessions are read-only stands for a hot standby.
    role("fx_standby", "pw-standby");
    admin()
        .batch_execute(
            "ALTER ROLE fx_standby SET default_transaction_read_only = on;
             GRANT CREATE ON DATABASE postgres TO fx_standby",
        )
        .unwrap();
    let url = role_url("fx_standby");
    let schema = env.pg.as_ref().unwrap().schema.clone();
    for (url, code, says) in [
        (url.clone(), 74, "takes no writes (a hot standby"),
        (
            format!("{url}?target_session_attrs=read-write"),
            78,
            "is read-only (a hot standby), and target_session_attrs=read-write",
        ),
    ] {
        let env = env
            .at("2024-09-20T09:00:00Z")
            .env("FXRATES_DB", &url)
            .env("FXRATES_DB_SCHEMA", &schema)
            .env("PGPASSWORD", "pw-standby");
        let line = env.fails(&["ingest", "--no-heal"], code);
        assert!(line.contains(says), "{line}");
    }
    assert_eq!(server.count(), 0);
}

/// README's `psql "$FXRATES_DB"` works as written where the password lives
/// in `~/.pgpass` (psql and fxrates both read it), and the documented
/// one-off form works with a password file of fxrates' own.
#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one) and psql"]
fn psql_reads_the_store_with_the_password_where_the_readme_keeps_it() {
    use std::os::unix::fs::PermissionsExt;
    require_tool("psql", "apt-get install postgresql-client");
    let server = FakeFixer::free_plan("2024-09-20");
    role("fx_it_psql", "psql-canary-pw");
    let schema = unique_schema("psql");
    admin()
        .batch_execute(&format!("CREATE SCHEMA {schema} AUTHORIZATION fx_it_psql"))
        .unwrap();
    let url = role_url("fx_it_psql");
    let (host, port) = authority()
        .rsplit_once(':')
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .unwrap();
    let env = TestEnv::new(&server.url, NOW)
        .env("FXRATES_DB", &url)
        .env("FXRATES_DB_SCHEMA", &schema);
    let pgpass = env.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("{host}:{port}:postgres:fx_it_psql:psql-canary-pw\n"),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);

    let query = format!("SELECT rate_text FROM {schema}.rates WHERE currency = 'USD'");
    let psql = |script: &str, home: &std::path::Path, extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new("sh");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("FXRATES_DB", &url)
            .env("QUERY", &query)
            .args(["-c", script])
            .stdin(std::process::Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // As the README writes it, with the password in ~/.pgpass.
    let (ok, out, err) = psql(r#"psql "$FXRATES_DB" -c "$QUERY""#, env.path(), &[]);
    assert!(ok && out.contains("1.23396"), "{out}{err}");

    // A password file of fxrates' own is unknown to psql...
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("db-password");
    std::fs::write(&file, "psql-canary-pw\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = file.to_str().unwrap();
    let (ok, _, _) = psql(
        r#"psql -w "$FXRATES_DB" -c "$QUERY""#,
        elsewhere.path(),
        &[],
    );
    assert!(!ok, "psql found a password it was not given");
    // ...and the README's one-off form hands it over.
    let (ok, out, err) = psql(
        r#"PGPASSWORD="$(cat "$FXRATES_DB_PASSWORD_FILE")" psql "$FXRATES_DB" -c "$QUERY""#,
        elsewhere.path(),
        &[("FXRATES_DB_PASSWORD_FILE", file)],
    );
    assert!(ok && out.contains("1.23396"), "{out}{err}");
}
