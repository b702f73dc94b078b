//! `chart CUR`: a rate over time drawn in the terminal, compared with the
//! golden files under tests/golden/ (FXRATES_UPDATE_GOLDEN=1 rewrites them
//! after a deliberate change; review the diff).

use crate::common::*;
use crate::seed::*;
use std::fs;
use std::path::Path;

fn offline(backend: Backend, now: &str) -> TestEnv {
    TestEnv::on(backend, "http://127.0.0.1:9/api", now)
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("FXRATES_UPDATE_GOLDEN").is_some() {
        // Rewriting checks nothing: never where the suite must check.
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "FXRATES_UPDATE_GOLDEN is set under CI"
        );
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        actual == expected,
        "{name} differs:\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

const SEPTEMBER: [&str; 6] = ["chart", "GBP", "--from", "2024-09-02", "--to", "2024-09-27"];

fn chart(env: &TestEnv, extra: &[&str]) -> String {
    let mut args = SEPTEMBER.to_vec();
    args.extend(extra);
    let (code, out, err) = env.run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "");
    out
}

both_stores! {
    fn braille_chart_at_a_fixed_width(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z").env("LANG", "en_GB.UTF-8");
        september(&env);
        let out = chart(&env, &["--width", "72"]);
        golden("chart_gbp_unicode_72.txt", &out);
        let plot = out.lines().skip(1).take(13);
        assert!(plot.clone().all(|l| l.chars().count() <= 72), "{out}");
        assert!(plot.clone().any(|l| l.contains('⡴')), "{out}");
    }
}

both_stores! {
    fn ascii_chart_when_the_locale_is_not_utf8_or_when_asked(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let out = chart(&env, &["--width", "72"]);
        assert!(out.is_ascii(), "{out}");
        golden("chart_gbp_ascii_72.txt", &out);

        let utf8 = offline(backend, "2024-09-30T12:00:00Z").env("LC_CTYPE", "C.UTF-8");
        september(&utf8);
        assert_eq!(chart(&utf8, &["--width", "72", "--ascii"]), out);
        // LC_ALL outranks LC_CTYPE and LANG.
        let c = offline(backend, "2024-09-30T12:00:00Z")
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C");
        september(&c);
        assert_eq!(chart(&c, &["--width", "72"]), out);
    }
}

both_stores! {
    fn derived_base_chart_at_a_fixed_width(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let out = chart(&env, &["--base", "USD", "--width", "64", "--height", "8"]);
        golden("chart_gbp_usd_ascii_64.txt", &out);
    }
}

both_stores! {
    fn columns_sets_the_width_unless_width_is_given(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z").env("COLUMNS", "50");
        september(&env);
        let axis = |out: &str| out.lines().nth(13).unwrap().chars().count();
        assert_eq!(axis(&chart(&env, &[])), 50);
        assert_eq!(axis(&chart(&env, &["--width", "90"])), 90);
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        assert_eq!(axis(&chart(&env, &[])), 80, "default without a terminal");
    }
}

both_stores! {
    fn days_counts_back_from_to(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let (code, out, err) = env.run(&["chart", "USD", "--days", "10"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out.lines().next(),
            Some("USD per 1 EUR, 2024-09-21 to 2024-09-30, 5 stored days")
        );
        assert!(
            out.contains("first 1.11302 (2024-09-23)  last 1.11623 (2024-09-27)  change +0.29%"),
            "{out}"
        );
        let (code, out, _) = env.run(&["chart", "USD", "--days", "5", "--to", "2024-09-10"]);
        assert_eq!(code, 0);
        assert!(out.starts_with("USD per 1 EUR, 2024-09-06 to 2024-09-10, 3 stored days\n"));
    }
}

both_stores! {
    fn too_little_data_is_a_clear_message_and_nothing_else(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let cases: [(&[&str], &str); 3] = [
            (
                &["chart", "GBP", "--from", "2024-09-27"],
                "only one stored day (2024-09-27) has a GBP rate against EUR from 2024-09-27 to 2024-09-30",
            ),
            (
                &["chart", "GBP", "--days", "2"],
                "no stored day has a GBP rate against EUR from 2024-09-29 to 2024-09-30",
            ),
            (&["chart", "CHF"], "no stored day has a CHF rate"),
        ];
        for (args, needle) in cases {
            let (code, out, err) = env.run(args);
            assert_eq!(code, 66, "{args:?}: {err}");
            assert_eq!(out, "");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("fxrates: error: too little data to draw: "),
                "{err}"
            );
            assert!(err.contains(needle), "{err}");
        }
    }
}

both_stores! {
    fn bad_chart_arguments_are_usage_errors(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        for args in [
            &["chart", "GBP", "--width", "39"][..],
            &["chart", "GBP", "--days", "5", "--from", "2024-09-02"],
            &["chart", "GBP", "--from", "2024-09-20", "--to", "2024-09-10"],
            &["chart", "GBP", "--height", "2"],
            &["chart", "GBP", "--from", "2024-10-01"], // after today
            &["chart"],
        ] {
            let (code, out, err) = env.run(args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert_eq!(out, "");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
    }
}
