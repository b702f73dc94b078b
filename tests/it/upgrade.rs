//! A store written by an earlier release moves forward in place: what the
//! plan remembered in `meta` as text (and one key per unusable day) moves
//! into typed tables and reads back the same, every stored rate stays the
//! same text byte for byte, and a schema newer than this binary is still
//! refused.

use crate::common::*;
use fxrates::store::TimeseriesAnswer;
use std::collections::BTreeMap;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");

/// Every stored rate, as hex of its bytes, in order.
pub fn rate_bytes(env: &TestEnv) -> Vec<Vec<String>> {
    let hex = if env.pg.is_some() {
        "encode(convert_to(rate, 'UTF8'), 'hex')"
    } else {
        "hex(rate)"
    };
    env.sql(&format!(
        "SELECT date, currency, {hex} FROM day_rates ORDER BY date, currency"
    ))
}

/// `env`'s store, as the previous release left it.
pub fn previous_release(backend: Backend) -> TestEnv {
    let env = TestEnv::on(backend, &refused_endpoint(), "2024-09-20T18:00:00Z");
    match &env.pg {
        None => {
            std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
            std::fs::copy(format!("{FIXTURES}/previous-release.db"), &env.db).unwrap();
        }
        Some(pg) => {
            let dump = std::fs::read_to_string(format!("{FIXTURES}/previous-release-pg.sql"))
                .unwrap()
                .replace("fxrates.", &format!("\"{}\".", pg.schema))
                .replace("SCHEMA fxrates", &format!("SCHEMA \"{}\"", pg.schema));
            admin().batch_execute(&dump).unwrap();
        }
    }
    env
}

fn date(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

both_stores! {
    fn what_the_plan_remembered_moves_into_typed_tables(backend) {
        let env = previous_release(backend);
        // The fixture remembers `timeseries` as `allowed 2024-09-20`; the
        // rest as the releases before the typed tables wrote it.
        let mut keys = vec![
            ("currency names", "2024-09-02\nEUR Euro\nUSD Dollar of the fixture\nnot a name"),
            ("unusable 2024-09-04", "2024-09-20"),
            ("unusable 2024-09-05", "not a date"),
        ];
        if env.pg.is_none() {
            keys.push(("full_check", "2024-09-16"));
        }
        for (key, value) in keys {
            env.write_sql("INSERT INTO meta (key, value) VALUES ($1, $2)", &[key, value]);
        }
        let before = rate_bytes(&env);
        assert_eq!(before.len(), 9 * 8);

        // Until a writer runs, a reader refuses the older format, naming
        // the command that upgrades it.
        let msg = env.fails(&["status"], 74);
        assert!(msg.contains("run `fxrates ingest` once to upgrade it"), "{msg}");
        let (code, _, err) = env.run(&["prune", "--keep-days", "3650"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(rate_bytes(&env), before);

        let store = fxrates::store::open_read(&env.target()).unwrap();
        assert_eq!(
            store.timeseries_answer().unwrap(),
            Some(TimeseriesAnswer { allowed: true, on: date("2024-09-20") })
        );
        let names = store.currency_names().unwrap().unwrap();
        assert_eq!(names.fetched_on, Some(date("2024-09-02")));
        let listed: Vec<_> = names.names.iter().map(|(c, n)| (c.as_str(), n.as_str())).collect();
        assert_eq!(listed, [("EUR", "Euro"), ("USD", "Dollar of the fixture")]);
        assert_eq!(
            store.unusable_days().unwrap(),
            BTreeMap::from([(date("2024-09-04"), date("2024-09-20"))])
        );
        if env.pg.is_none() {
            // Four days old: not due, so `prune` did not check again.
            assert_eq!(store.last_full_check().unwrap(), Some(date("2024-09-16")));
        }
        drop(store);
        let (code, out, err) = env.run(&["currencies"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("Dollar of the fixture"), "{out}");

        // `meta` keeps only what marks the format: the PostgreSQL version.
        match &env.pg {
            None => assert!(env.sql("SELECT name FROM sqlite_master WHERE name = 'meta'").is_empty()),
            Some(_) => assert_eq!(env.sql("SELECT key FROM meta"), [["fxrates_schema_version"]]),
        }

        // A newer format is refused as before, by readers and writers.
        let newer = match &env.pg {
            None => {
                let newer = fxrates::store::VERSION + 1;
                let conn = rusqlite::Connection::open(&env.db).unwrap();
                conn.pragma_update(None, "user_version", newer).unwrap();
                newer
            }
            Some(_) => {
                let newer = fxrates::store::PG_VERSION + 1;
                env.write_sql(
                    "UPDATE meta SET value = $1 WHERE key = 'fxrates_schema_version'",
                    &[&newer.to_string()],
                );
                newer
            }
        };
        let stored = rate_bytes(&env);
        for args in [&["show"][..], &["prune", "--keep-days", "3650"][..]] {
            let msg = env.fails(args, 74);
            assert!(msg.contains(&format!("schema version {newer}")), "{msg}");
        }
        assert_eq!(rate_bytes(&env), stored);
    }
}
