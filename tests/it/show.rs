//! `fxrates show`: the three formats, the weekend fallback, derived bases,
//! symbol filters, and that it never creates or changes anything.

use crate::common::*;
use rust_decimal::Decimal;
use std::str::FromStr;

const THURSDAY: &str = "2024-09-19";
const FRIDAY: &str = "2024-09-20";

/// A database holding Thursday (other rates) and Friday (the usual ones),
/// fetched on Friday morning; the server is returned to count requests.
fn two_days(backend: Backend) -> (FakeFixer, TestEnv) {
    let server = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body(FRIDAY)),
        _ => Reply::ok(day_body(THURSDAY, r#"{"EUR":1,"GBP":0.8412,"USD":1.1163}"#)),
    });
    let env = TestEnv::on(backend, &server.url, "2024-09-20T09:00:00Z");
    assert_eq!(env.run(&["ingest", "--no-heal", "--date", THURSDAY]).0, 0);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    (server, env)
}

/// Runs a `show` that must succeed; returns stdout and stderr.
fn show(env: &TestEnv, args: &[&str]) -> (String, String) {
    let mut all = vec!["show"];
    all.extend_from_slice(args);
    let (code, out, err) = env.run(&all);
    assert_eq!(code, 0, "{args:?}: {err}");
    (out, err)
}

fn json(env: &TestEnv, args: &[&str]) -> (serde_json::Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (out, _) = show(env, &all);
    assert_eq!(out.lines().count(), 1, "one JSON object: {out}");
    (serde_json::from_str(&out).expect("valid JSON"), out)
}

both_stores! {
    fn latest_day_by_default_in_every_format(backend) {
        let (_server, env) = two_days(backend);

        let (out, err) = show(&env, &["--format", "csv"]);
        assert_eq!(err, "");
        let mut expected = String::from("date,base,currency,rate,provider\n");
        for (c, r) in RATES_SHOWN {
            expected.push_str(&format!("{FRIDAY},EUR,{c},{r},fixer\n"));
        }
        assert_eq!(out, expected);

        let (v, text) = json(&env, &[]);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut documented = [
            "date",
            "requested_date",
            "base",
            "derived",
            "source_date",
            "provider",
            "fetched_at",
            "rates",
        ];
        documented.sort_unstable();
        assert_eq!(keys, documented, "exactly the documented keys");
        assert_eq!(v["date"], FRIDAY);
        assert_eq!(v["requested_date"], FRIDAY);
        assert_eq!(v["base"], "EUR");
        assert_eq!(v["derived"], false);
        assert_eq!(v["source_date"], FRIDAY);
        assert_eq!(v["provider"], "fixer");
        assert_eq!(v["fetched_at"], "2024-09-20T09:00:00Z");
        let rates = v["rates"].as_object().unwrap();
        assert_eq!(rates.len(), RATES_SHOWN.len());
        for (c, r) in RATES_SHOWN {
            assert!(rates[c].is_number(), "{c} is a JSON number");
            // The exact decimal, not a float's rendering of it.
            assert!(text.contains(&format!("\"{c}\":{r}")), "{c}={r} in {text}");
        }

        let (out, _) = show(&env, &[]);
        let (table, _) = show(&env, &["--format", "table"]);
        assert_eq!(out, table, "table is the default");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].contains(FRIDAY) && lines[0].contains("EUR"),
            "header names date and base: {out}"
        );
        let rows = &lines[2..];
        assert!(lines[1].contains("Currency") && lines[1].contains("Rate"));
        assert_eq!(rows.len(), RATES_SHOWN.len());
        let units_end: Vec<usize> = rows
            .iter()
            .map(|l| l.find('.').unwrap_or(l.len()))
            .collect();
        assert!(
            units_end.windows(2).all(|w| w[0] == w[1]),
            "decimal points aligned:\n{out}"
        );
        for (row, (c, r)) in rows.iter().zip(RATES_SHOWN) {
            let mut cols = row.split_whitespace();
            assert_eq!((cols.next(), cols.next()), (Some(c), Some(r)), "{row}");
        }
    }
}

both_stores! {
    fn a_stored_date_is_shown_as_asked(backend) {
        let (_server, env) = two_days(backend);
        let (out, err) = show(&env, &["--date", THURSDAY, "--format", "csv"]);
        assert_eq!(err, "");
        assert_eq!(
            out,
            "date,base,currency,rate,provider\n2024-09-19,EUR,EUR,1,fixer\n2024-09-19,EUR,GBP,0.8412,fixer\n2024-09-19,EUR,USD,1.1163,fixer\n"
        );
    }
}

both_stores! {
    fn a_weekend_date_falls_back_and_says_which_day_it_used(backend) {
        let (_server, mut env) = two_days(backend);
        // Read on Monday morning, before its run: the weekend is past.
        env.now = "2024-09-23T08:00:00Z".into();
        let (v, _) = json(&env, &["--date", "2024-09-22"]);
        assert_eq!(v["date"], FRIDAY);
        assert_eq!(v["requested_date"], "2024-09-22");

        let (out, err) = show(&env, &["--date", "2024-09-22"]);
        let header = out.lines().next().unwrap();
        assert!(
            header.contains(FRIDAY) && header.contains("2024-09-22"),
            "{header}"
        );
        assert!(
            err.contains(FRIDAY) && err.contains("2024-09-22"),
            "stderr says which day was used: {err}"
        );

        let (out, _) = show(&env, &["--date", "2024-09-21", "--format", "csv"]);
        assert!(out.lines().skip(1).all(|l| l.starts_with(FRIDAY)), "{out}");
    }
}

both_stores! {
    fn nothing_within_seven_days_is_no_data(backend) {
        let (_server, mut env) = two_days(backend);
        // Read a week later, with nothing stored since.
        env.now = "2024-09-30T08:00:00Z".into();
        // A week after Friday still finds it; eight days does not.
        let (v, _) = json(&env, &["--date", "2024-09-27"]);
        assert_eq!(v["date"], FRIDAY);
        let msg = env.fails(&["show", "--date", "2024-09-28"], 66);
        assert!(
            msg.contains("2024-09-28") && msg.contains("ingest"),
            "{msg}"
        );
        let msg = env.fails(&["show", "--date", "2024-09-01"], 66);
        assert!(msg.contains("2024-09-01"), "{msg}");
    }
}

#[test]
fn the_fetch_suggested_for_a_missing_day_is_one_ingest_accepts() {
    let server = paid_plan(FRIDAY);
    let env = TestEnv::new(&server.url, "2024-09-20T09:00:00Z");
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    for (date, says, suggested) in [
        ("0000-01-01", "fixer's history begins on 1999-01-01", None),
        ("1998-12-31", "fixer's history begins on 1999-01-01", None),
        (
            "2024-09-02",
            "run `fxrates ingest --date 2024-09-02`",
            Some("2024-09-02"),
        ),
        ("2024-09-01", "2024-09-01 is a Sunday", Some("2024-08-30")),
    ] {
        for command in [
            &["show", "--date", date][..],
            &["convert", "1", "EUR", "USD", "--date", date],
        ] {
            let msg = env.fails(command, 66);
            assert!(msg.contains(says), "{msg}");
            assert_eq!(msg.contains("fxrates ingest"), suggested.is_some(), "{msg}");
            if let Some(day) = suggested {
                assert!(
                    msg.contains(&format!("`fxrates ingest --date {day}`")),
                    "{msg}"
                );
            }
        }
        if let Some(day) = suggested {
            let (code, _, err) = env.run(&["ingest", "--no-heal", "--date", day]);
            assert_eq!(code, 0, "the suggested ingest --date {day}: {err}");
        }
    }
}

/// `printed` equals `exact` to at least 10 significant digits.
fn close(printed: &str, exact: Decimal) {
    let got = Decimal::from_str(printed).unwrap();
    let rel = ((got - exact) / exact).abs();
    assert!(
        rel < Decimal::from_str("0.00000000005").unwrap(),
        "{printed} vs {exact}"
    );
    let digits = printed.trim_start_matches(['0', '.']).replace('.', "");
    assert!(digits.len() >= 10, "{printed} has fewer than 10 digits");
}

both_stores! {
    fn base_derives_cross_rates_and_marks_them(backend) {
        let (_server, env) = two_days(backend);
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let usd = d("1.23396");

        let (v, text) = json(&env, &["--base", "USD"]);
        assert_eq!(v["base"], "USD");
        assert_eq!(v["derived"], true);
        assert_eq!(v["date"], FRIDAY);
        assert!(text.contains("\"USD\":1"), "{text}");
        let rate = |c: &str| {
            let start = text.find(&format!("\"{c}\":")).unwrap() + 6;
            let end = text[start..].find([',', '}']).unwrap() + start;
            text[start..end].to_string()
        };
        close(&rate("GBP"), d("0.83578") / usd);
        close(&rate("EUR"), Decimal::ONE / usd);
        close(&rate("JPY"), d("132.360679") / usd);
        close(&rate("BTC"), d("0.0000125511") / usd);

        let (out, _) = show(&env, &["--base", "usd"]);
        let header = out.lines().next().unwrap();
        assert!(
            header.contains("USD") && header.contains("derived"),
            "{header}"
        );

        let (out, _) = show(&env, &["--base", "GBP", "--format", "csv"]);
        assert!(out.contains(&format!("{FRIDAY},GBP,GBP,1,fixer\n")), "{out}");
        assert!(out.lines().skip(1).all(|l| l.contains(",GBP,")), "{out}");

        // The stored base asked for explicitly is not derived.
        let (v, _) = json(&env, &["--base", "EUR"]);
        assert_eq!(v["derived"], false);
    }
}

both_stores! {
    fn symbols_filter_and_unknown_codes_are_named(backend) {
        let (_server, env) = two_days(backend);
        let (out, _) = show(&env, &["--symbols", "usd,GBP", "--format", "csv"]);
        assert_eq!(
            out,
            format!("date,base,currency,rate,provider\n{FRIDAY},EUR,GBP,0.83578,fixer\n{FRIDAY},EUR,USD,1.23396,fixer\n")
        );

        let (v, _) = json(&env, &["--base", "USD", "--symbols", "EUR,USD"]);
        let rates = v["rates"].as_object().unwrap();
        assert_eq!(rates.keys().collect::<Vec<_>>(), ["EUR", "USD"]);

        let msg = env.fails(&["show", "--symbols", "USD,XYZ,GBP"], 66);
        assert!(msg.contains("XYZ") && !msg.contains("GBP,"), "{msg}");
        let msg = env.fails(&["show", "--base", "XYZ"], 66);
        assert!(msg.contains("XYZ"), "{msg}");
        let msg = env.fails(&["show", "--symbols", "US"], 2);
        assert!(msg.contains("US"), "{msg}");
    }
}

#[test]
fn show_on_a_missing_database_fails_and_creates_nothing() {
    let env = TestEnv::new(&refused_endpoint(), "2024-09-20T09:00:00Z");
    let before = env.tree();
    for args in [
        &["show"][..],
        &["show", "--date", FRIDAY, "--format", "json"][..],
    ] {
        let msg = env.fails(args, 66);
        assert!(
            msg.contains(env.db.to_str().unwrap()) && msg.contains("ingest"),
            "{msg}"
        );
    }
    assert!(!env.db.exists());
    assert!(!env.db.parent().unwrap().exists(), "no directory either");
    assert_eq!(env.tree(), before);
}

#[test]
fn show_never_creates_or_changes_anything() {
    let (server, mut env) = two_days(Backend::Sqlite);
    env.now = "2024-09-23T08:00:00Z".into();
    let before = env.tree();
    let bytes = std::fs::read(&env.db).unwrap();
    for args in [
        &["show"][..],
        &["show", "--format", "json", "--base", "USD"][..],
        &["show", "--date", "2024-09-22", "--format", "csv"][..],
    ] {
        assert_eq!(env.run(args).0, 0);
    }
    env.fails(&["show", "--symbols", "XYZ"], 66);
    assert_eq!(env.tree(), before, "no -wal, -shm or other file appeared");
    assert_eq!(std::fs::read(&env.db).unwrap(), bytes);
    assert_eq!(server.count(), 2, "show never asks the provider");
}

#[test]
fn an_empty_database_has_nothing_to_show() {
    // fixer's 106 leaves a migrated database with no days in it.
    let server = FakeFixer::start(|_| Reply::fixer_error(106, "no_rates_available"));
    let env = TestEnv::new(&server.url, "2024-09-20T09:00:00Z");
    env.fails(&["ingest", "--no-heal"], 66);
    assert!(env.db.exists());
    let msg = env.fails(&["show"], 66);
    assert!(msg.contains("no rates") && msg.contains("ingest"), "{msg}");
}

#[test]
fn a_date_in_the_future_is_refused_as_convert_refuses_it() {
    let (_server, env) = two_days(Backend::Sqlite);
    for args in [
        &["show", "--date", "2024-09-23"][..],
        &["convert", "1", "EUR", "USD", "--date", "2024-09-23"],
    ] {
        let msg = env.fails(args, 2);
        assert!(msg.contains("is in the future"), "{args:?}: {msg}");
    }
}

both_stores! {
    fn a_stored_rate_that_is_not_a_number_is_damage_not_printed(backend) {
        // Another host, or a program sharing the store, wrote a rate that
        // would drive the terminal: no format prints it, every one says
        // which day is damaged.
        let (_server, env) = two_days(backend);
        let changed = env.write_sql(
            "UPDATE day_rates SET rate = $1 WHERE currency = 'GBP'",
            &["0.8\x1b[2J\rGBP       9.99"],
        );
        assert_eq!(changed, 2);
        for args in [
            &["show"][..],
            &["show", "--format", "csv"],
            &["show", "--format", "json"],
            &["show", "--from", THURSDAY, "--format", "csv"],
            &["convert", "1", "EUR", "GBP"],
            &["chart", "GBP", "--from", THURSDAY],
        ] {
            let (code, out, err) = env.run(args);
            assert_eq!(code, 74, "{args:?}: {out:?} {err}");
            assert!(!out.contains('\x1b') && !err.contains('\x1b'), "{args:?}: {out:?} {err:?}");
            assert!(err.contains("damaged"), "{args:?}: {err}");
        }
        if backend == Backend::Sqlite {
            // SQLite keeps the fetch time as text: the same holds for it.
            env.write_sql("UPDATE day_rates SET rate = '0.84' WHERE currency = 'GBP'", &[]);
            env.write_sql("UPDATE days SET fetched_at = $1", &["2024\x1b[2J"]);
            let (code, out, err) = env.run(&["show", "--format", "json"]);
            assert_eq!(code, 74, "{out:?} {err}");
            assert!(err.contains("damaged"), "{err}");
        }
    }
}
