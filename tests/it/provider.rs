//! Every stored day knows its provider: a store written by the previous
//! release moves forward in place, its days becoming fixer's, its rates
//! unchanged byte for byte; `show`, `copy` and the `rates` view carry it.

use crate::upgrade::{previous_release, rate_bytes};

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
