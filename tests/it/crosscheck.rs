//! `fxrates crosscheck`: the stored fixer rates against the ECB's, exit 1
//! when one deviates beyond the limit.

use crate::common::*;

/// Five fixer days stored, and an ECB that agrees with them except for USD
/// on 2024-09-18 (fixer 6.24% above) and GBP on 2024-09-19 (1.31% above).
fn setup(backend: Backend) -> (TestEnv, FakeFixer, FakeFixer) {
    let fixer = paid_plan("2024-09-20");
    let mut history = EcbHistory::published("2024-09-16", "2024-09-20", &[]);
    for day in weekdays("2024-09-16", "2024-09-20") {
        history.set(&day, "GBP", "0.83578");
        history.set(&day, "JPY", "132.360679");
        history.set(&day, "USD", "1.23396");
    }
    history.set("2024-09-18", "USD", "1.1615");
    history.set("2024-09-19", "GBP", "0.825");
    let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
    let env = TestEnv::on(backend, &fixer.url, "2024-09-20T18:00:00Z")
        .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
        .env("FXRATES_ECB_FILES", &ecb.ecb_files());
    let (code, _, err) = env.run(&["backfill", "--from", "2024-09-16"]);
    assert_eq!(code, 0, "{err}");
    (env, fixer, ecb)
}

both_stores! {
    fn deviations_beyond_the_limit_are_listed_largest_first_and_exit_1(backend) {
        let (env, _fixer, ecb) = setup(backend);
        let (code, out, err) = env.run(&["crosscheck", "--from", "2024-09-16", "--format", "json"]);
        assert_eq!(code, 1, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["from"], "2024-09-16");
        assert_eq!(v["to"], "2024-09-20");
        assert_eq!(v["max_deviation_pct"], serde_json::json!(1));
        assert_eq!(v["compared"], 15);
        let d = v["deviations"].as_array().unwrap();
        assert_eq!(d.len(), 2, "{out}");
        assert_eq!(d[0]["date"], "2024-09-18");
        assert_eq!(d[0]["currency"], "USD");
        assert_eq!(d[0]["deviation_pct"].to_string(), "6.2385");
        assert_eq!(d[1]["currency"], "GBP");
        assert_eq!(d[1]["deviation_pct"].to_string(), "1.3067");
        // The rates are the exact numbers stored and sent.
        assert!(out.contains("\"fixer\": 1.23396") && out.contains("\"ecb\": 1.1615"), "{out}");
        // One request to the ECB, for the stored fixer days.
        let asked: Vec<(String, String)> = ecb
            .requests()
            .iter()
            .map(|s| (s.query["startPeriod"].clone(), s.query["endPeriod"].clone()))
            .collect();
        assert_eq!(asked, [("2024-09-16".into(), "2024-09-20".into())]);

        let (code, out, _) = env.run(&["crosscheck", "--from", "2024-09-16", "--format", "csv"]);
        assert_eq!(code, 1);
        assert_eq!(
            out,
            "date,currency,fixer,ecb,deviation_pct\n\
             2024-09-18,USD,1.23396,1.1615,6.2385\n\
             2024-09-19,GBP,0.83578,0.825,1.3067\n"
        );
    }

    fn nothing_beyond_the_limit_exits_0(backend) {
        let (env, _fixer, _ecb) = setup(backend);
        let (code, out, err) =
            env.run(&["crosscheck", "--from", "2024-09-16", "--max-deviation", "10"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "No fixer.io rate from 2024-09-16 to 2024-09-20 deviates from the ECB's by more \
             than 10% (15 rates compared)\n"
        );
    }

    fn a_failing_ecb_is_an_error_not_a_verdict(backend) {
        let (env, _fixer, _ecb) = setup(backend);
        let broken = FakeFixer::ecb(EcbHistory::default(), EcbApi::Garbage, EcbQuotes::Missing);
        let env = env.env("FXRATES_ECB_ENDPOINT", &broken.ecb_endpoint());
        let line = env.fails(&["crosscheck", "--from", "2024-09-16"], 65);
        assert!(line.contains("OBS_VALUE"), "{line}");
    }
}

#[test]
fn crosscheck_takes_no_provider_or_fallback_it_would_ignore() {
    let env = TestEnv::new("http://127.0.0.1:9", "2024-04-10T18:00:00Z");
    let (code, out, _) = env.run(&["crosscheck", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--ecb-endpoint"), "{out}");
    assert!(
        !out.contains("--provider") && !out.contains("--fallback"),
        "{out}"
    );
    for flag in [["--provider", "ecb"], ["--fallback", "ecb"]] {
        let (code, _, err) = env.run(&["crosscheck", flag[0], flag[1]]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(flag[0]), "{err}");
    }
    // Ingest and backfill still take both.
    for cmd in ["ingest", "backfill"] {
        let (_, out, _) = env.run(&[cmd, "--help"]);
        assert!(
            out.contains("--provider") && out.contains("--fallback"),
            "{cmd}: {out}"
        );
    }
}

#[test]
fn crosscheck_offers_only_the_ecb_flags_it_uses() {
    let env = TestEnv::new("http://127.0.0.1:9", "2024-04-10T18:00:00Z");
    let (code, out, _) = env.run(&["crosscheck", "--help"]);
    assert_eq!(code, 0);
    for used in [
        "--ecb-endpoint",
        "--timeout",
        "--connect-timeout",
        "--max-run-time",
    ] {
        assert!(out.contains(used), "{used}: {out}");
    }
    for unused in [
        "--endpoint ",
        "--auth",
        "--api-key-file",
        "FIXER_",
        "--ecb-files",
    ] {
        assert!(!out.contains(unused), "{unused}: {out}");
    }
    for flag in [
        ["--endpoint", "https://api.apilayer.com/fixer"],
        ["--auth", "header"],
        ["--api-key-file", "key"],
        ["--ecb-files", "https://www.ecb.europa.eu/stats/eurofxref"],
    ] {
        let (code, _, err) = env.run(&["crosscheck", flag[0], flag[1]]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(flag[0]), "{err}");
    }
    // Ingest and backfill still offer fixer's.
    for cmd in ["ingest", "backfill"] {
        let (_, out, _) = env.run(&[cmd, "--help"]);
        for flag in ["--endpoint ", "--auth", "--api-key-file", "--ecb-files"] {
            assert!(out.contains(flag), "{cmd} {flag}: {out}");
        }
    }
}

both_stores! {
    fn crosscheck_needs_no_fixer_key_nor_any_fixer_setting(backend) {
        let (env, fixer, _ecb) = setup(backend);
        let asked = fixer.count();
        let env = env
            .env("FIXER_API_KEY", "")
            .env("FIXER_API_KEY_FILE", "/nonexistent/fixer.key")
            .env("FIXER_ENDPOINT", "not a URL")
            .env("FIXER_AUTH", "neither-query-nor-header");
        let (code, out, err) =
            env.run(&["crosscheck", "--from", "2024-09-16", "--max-deviation", "10"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("(15 rates compared)"), "{out}");
        assert_eq!(fixer.count(), asked, "fixer is not asked");
    }
}
