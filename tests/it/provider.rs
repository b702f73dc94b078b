//! Every stored day knows its provider: a store written by the previous
//! release moves forward in place, its days becoming fixer's, its rates
//! unchanged byte for byte; `show`, `copy` and the `rates` view carry it.

use crate::common::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");

/// Every stored rate, as hex of its bytes, in order.
fn rate_bytes(env: &TestEnv) -> Vec<Vec<String>> {
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
fn previous_release(backend: Backend) -> TestEnv {
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

both_stores! {
    fn a_store_of_the_previous_release_moves_forward_with_its_rates_unchanged(backend) {
        let env = previous_release(backend);
        let before = rate_bytes(&env);
        assert_eq!(before.len(), 9 * 8);
        // A reader refuses the older format rather than upgrading it.
        let (code, _, err) = env.run(&["show", "--date", "2024-09-05"]);
        assert_ne!(code, 0, "{err}");
        // A writer upgrades it.
        let (code, _, err) = env.run(&["prune", "--keep-days", "3650"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(rate_bytes(&env), before);
        assert_eq!(
            env.sql("SELECT DISTINCT source FROM days"),
            [["fixer".to_string()]]
        );
        let view = env.sql(
            "SELECT DISTINCT provider FROM rates WHERE date = '2024-09-05'",
        );
        assert_eq!(view, [["fixer".to_string()]]);
        let (code, out, err) = env.run(&["show", "--date", "2024-09-05", "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(r#""provider":"fixer""#) || out.contains(r#""provider": "fixer""#), "{out}");
        assert!(out.contains("0.0000125511"), "{out}");
    }
}
