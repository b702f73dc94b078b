//! `show --from D --to D`: a range of stored days as a grid, a long list,
//! a JSON array or CSV.

use crate::common::*;
use crate::seed::*;

/// A test home with no provider: reading history never makes a request.
fn offline(backend: Backend, now: &str) -> TestEnv {
    TestEnv::on(backend, "http://127.0.0.1:9/api", now)
}

fn one_line_error(err: &str, needle: &str) {
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("fxrates: error: "), "{err}");
    assert!(err.contains(needle), "{err}");
}

both_stores! {
    fn a_range_over_a_weekend_lists_the_stored_weekdays_once_each(backend) {
        let server = FakeFixer::free_plan("2024-09-24");
        let env = TestEnv::on(backend, &server.url, "2024-09-24T12:00:00Z");
        for d in ["2024-09-19", "2024-09-20", "2024-09-23"] {
            let (code, _, err) = env.run(&["ingest", "--date", d]);
            assert_eq!(code, 0, "{err}");
        }
        let before = server.count();
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-19",
            "--to",
            "2024-09-24",
            "--symbols",
            "GBP,BTC",
            "--format",
            "csv",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "date,base,currency,rate,provider\n\
         2024-09-19,EUR,BTC,0.0000125511,fixer\n2024-09-19,EUR,GBP,0.83578,fixer\n\
         2024-09-20,EUR,BTC,0.0000125511,fixer\n2024-09-20,EUR,GBP,0.83578,fixer\n\
         2024-09-23,EUR,BTC,0.0000125511,fixer\n2024-09-23,EUR,GBP,0.83578,fixer\n"
        );
        assert_eq!(err, "");
        assert_eq!(server.count(), before, "show must not make requests");
    }
}

#[test]
fn a_gap_in_the_history_is_not_filled_in() {
    let env = offline(Backend::Sqlite, "2024-09-30T12:00:00Z");
    september(&env);
    // Take out Wednesday the 11th, as if it had never been fetched.
    rusqlite::Connection::open(&env.db)
        .unwrap()
        .execute("DELETE FROM days WHERE date = '2024-09-11'", [])
        .unwrap();
    let (code, out, err) = env.run(&[
        "show",
        "--from",
        "2024-09-09",
        "--to",
        "2024-09-13",
        "--symbols",
        "gbp",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "date,base,currency,rate,provider\n\
         2024-09-09,EUR,GBP,0.84077,fixer\n2024-09-10,EUR,GBP,0.84233,fixer\n\
         2024-09-12,EUR,GBP,0.84512,fixer\n2024-09-13,EUR,GBP,0.8446,fixer\n"
    );
}

both_stores! {
    fn an_empty_range_says_so_and_prints_nothing(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let (code, out, err) = env.run(&["show", "--from", "2024-09-28", "--to", "2024-09-29"]);
        assert_eq!(code, 66);
        assert_eq!(out, "");
        one_line_error(&err, "no rates are stored from 2024-09-28 to 2024-09-29");
    }
}

both_stores! {
    fn to_defaults_to_today(backend) {
        let env = offline(backend, "2024-09-25T12:00:00Z");
        september(&env);
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-23",
            "--symbols",
            "USD",
            "--format",
            "csv",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "date,base,currency,rate,provider\n\
         2024-09-23,EUR,USD,1.11302,fixer\n2024-09-24,EUR,USD,1.11198,fixer\n2024-09-25,EUR,USD,1.1123,fixer\n"
        );
    }
}

both_stores! {
    fn bad_ranges_are_usage_errors(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let cases: [&[&str]; 4] = [
            &["show", "--from", "2024-09-20", "--to", "2024-09-10"],
            &["show", "--from", "2024-10-01"], // after today
            &["show", "--from", "2024-09-02", "--date", "2024-09-05"],
            &["show", "--to", "2024-09-05"],
        ];
        for args in cases {
            let (code, out, err) = env.run(args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert_eq!(out, "");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let (_, _, err) = env.run(cases[0]);
        one_line_error(&err, "--from 2024-09-20 is after --to 2024-09-10");
        let (_, _, err) = env.run(cases[1]);
        one_line_error(&err, "--from 2024-10-01 is after today (2024-09-30)");
    }
}

both_stores! {
    fn a_derived_base_rebases_every_day_and_leaves_out_days_without_it(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        store_days(
            &env,
            &[
                (
                    "2024-09-19",
                    vec![("EUR", "1"), ("GBP", "0.83578"), ("USD", "1.23396")],
                ),
                ("2024-09-20", vec![("EUR", "1"), ("GBP", "0.8421")]),
                (
                    "2024-09-23",
                    vec![("EUR", "1"), ("GBP", "0.8421"), ("USD", "1.1052")],
                ),
            ],
        );
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-19",
            "--to",
            "2024-09-23",
            "--base",
            "usd",
            "--symbols",
            "GBP,EUR,USD",
            "--format",
            "csv",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "date,base,currency,rate,provider\n\
         2024-09-19,USD,EUR,0.810399040488,fixer\n2024-09-19,USD,GBP,0.677315310059,fixer\n2024-09-19,USD,USD,1,fixer\n\
         2024-09-23,USD,EUR,0.904813608397,fixer\n2024-09-23,USD,GBP,0.761943539631,fixer\n2024-09-23,USD,USD,1,fixer\n"
        );
        assert_eq!(
            err,
            "fxrates: warning: left out 1 stored day from 2024-09-19 to 2024-09-23 without a USD rate\n"
        );
    }
}

both_stores! {
    fn json_is_an_array_of_single_day_objects(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let range = [
            "show",
            "--from",
            "2024-09-05",
            "--to",
            "2024-09-09",
            "--base",
            "USD",
            "--symbols",
            "GBP,JPY",
            "--format",
            "json",
        ];
        let (code, out, err) = env.run(&range);
        assert_eq!(code, 0, "{err}");
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let days = parsed.as_array().expect("an array");
        assert_eq!(days.len(), 3);
        // Each element is exactly what `show --date D` prints for that day.
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!((lines[0], lines[4]), ("[", "]"));
        for (i, d) in ["2024-09-05", "2024-09-06", "2024-09-09"]
            .iter()
            .enumerate()
        {
            let mut single = range.to_vec();
            single.splice(1..5, ["--date", d]);
            let (code, one, err) = env.run(&single);
            assert_eq!(code, 0, "{err}");
            assert_eq!(lines[i + 1].trim_end_matches(','), one.trim_end(), "{d}");
            assert_eq!(days[i]["date"], *d);
            assert_eq!(days[i]["base"], "USD");
            assert_eq!(days[i]["derived"], true);
        }
    }
}

both_stores! {
    fn a_few_symbols_make_a_grid_with_aligned_points(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-05",
            "--to",
            "2024-09-10",
            "--symbols",
            "USD,GBP,JPY,USD",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "\
Rates from 2024-09-05 to 2024-09-10, base EUR, from fixer.io
Date        GBP      JPY    USD
2024-09-05  0.84012  159.3  1.1029
2024-09-06  0.8396   159.3  1.10815
2024-09-09  0.84077  159.3  1.1102
2024-09-10  0.84233  159.3  1.11214
"
        );
    }
}

both_stores! {
    fn a_grid_marks_a_currency_missing_on_a_day(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        store_days(
            &env,
            &[
                ("2024-09-19", vec![("GBP", "0.83578"), ("HRK", "7.5345")]),
                ("2024-09-20", vec![("GBP", "0.8421")]),
            ],
        );
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-19",
            "--to",
            "2024-09-20",
            "--symbols",
            "GBP,HRK",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "\
Rates from 2024-09-19 to 2024-09-20, base EUR, from fixer.io
Date        GBP      HRK
2024-09-19  0.83578  7.5345
2024-09-20  0.8421   -
"
        );
    }
}

both_stores! {
    fn without_symbols_a_table_is_a_long_list(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, "2024-09-20T12:00:00Z");
        for d in ["2024-09-19", "2024-09-20"] {
            assert_eq!(env.run(&["ingest", "--date", d]).0, 0);
        }
        let (code, out, err) = env.run(&["show", "--from", "2024-09-19"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Rates from 2024-09-19 to 2024-09-20, base EUR, from fixer.io");
        assert_eq!(lines[1], "Date        Currency  Rate");
        assert_eq!(lines.len(), 2 + 2 * RATES_SHOWN.len(), "{out}");
        assert_eq!(lines[2], "2024-09-19  AUD          1.566015");
        assert_eq!(lines[6], "2024-09-19  JPY        132.360679");
        for (day, rows) in ["2024-09-19", "2024-09-20"]
            .iter()
            .zip(lines[2..].chunks(7))
        {
            for ((c, r), row) in RATES_SHOWN.iter().zip(rows) {
                let cols: Vec<&str> = row.split_whitespace().collect();
                assert_eq!(cols, [*day, *c, *r], "{row}");
            }
        }
    }
}

both_stores! {
    fn more_than_six_symbols_make_a_long_list(backend) {
        let server = FakeFixer::free_plan("2024-09-20");
        let env = TestEnv::on(backend, &server.url, "2024-09-20T12:00:00Z");
        assert_eq!(env.run(&["ingest", "--date", "2024-09-20"]).0, 0);
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-20",
            "--symbols",
            "AUD,BTC,EUR,GBP,JPY,USD,XAU",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().nth(1), Some("Date        Currency  Rate"));
        assert_eq!(out.lines().count(), 2 + 7);
    }
}

both_stores! {
    fn a_symbol_never_stored_in_the_range_is_named_before_any_output(backend) {
        let env = offline(backend, "2024-09-30T12:00:00Z");
        september(&env);
        let (code, out, err) = env.run(&[
            "show",
            "--from",
            "2024-09-02",
            "--symbols",
            "GBP,XYZ",
            "--format",
            "json",
        ]);
        assert_eq!(code, 66);
        assert_eq!(out, "");
        one_line_error(
            &err,
            "no rate for XYZ is stored from 2024-09-02 to 2024-09-30",
        );
        let (code, out, err) = env.run(&["show", "--from", "2024-09-02", "--base", "CHF"]);
        assert_eq!(code, 66);
        assert_eq!(out, "");
        one_line_error(&err, "there is no CHF rate stored");
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let env = offline(Backend::Sqlite, "2024-09-30T12:00:00Z");
    // Far more than a pipe buffer, so fxrates is still writing when the
    // reader goes away, as with `fxrates show --from ... | head -1`.
    let codes: Vec<String> = (0..60u8)
        .map(|i| format!("A{}{}", (b'A' + i / 26) as char, (b'A' + i % 26) as char))
        .collect();
    let dates = weekdays("2023-01-02", "2024-09-27");
    let rows: Vec<(&str, Vec<(&str, &str)>)> = dates
        .iter()
        .map(|d| {
            (
                d.as_str(),
                codes.iter().map(|c| (c.as_str(), "1.234567")).collect(),
            )
        })
        .collect();
    store_days(&env, &rows);
    let mut child = env
        .std_cmd(&[
            "show",
            "--from",
            "2023-01-02",
            "--to",
            "2024-09-27",
            "--format",
            "csv",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(first, "date,base,currency,rate,provider\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// Days of 2024-09-16 to 2024-09-20 from two providers, by real runs: the
/// ECB's on the 16th and 17th, fixer's on the 18th to the 20th.
fn two_providers(backend: Backend) -> (FakeFixer, FakeFixer, TestEnv) {
    let fixer = FakeFixer::free_plan("2024-09-20");
    let history = EcbHistory::published("2024-09-02", "2024-09-20", &[]);
    let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
    let env = TestEnv::on(backend, &fixer.url, "2024-09-20T18:00:00Z")
        .env("FXRATES_ECB_ENDPOINT", &ecb.ecb_endpoint())
        .env("FXRATES_ECB_FILES", &ecb.ecb_files());
    let (code, _, err) = env.run(&[
        "backfill",
        "--provider",
        "ecb",
        "--from",
        "2024-09-16",
        "--to",
        "2024-09-17",
    ]);
    assert_eq!(code, 0, "{err}");
    for d in ["2024-09-18", "2024-09-19", "2024-09-20"] {
        let (code, _, err) = env.run(&["ingest", "--date", d]);
        assert_eq!(code, 0, "{err}");
    }
    (fixer, ecb, env)
}

both_stores! {
    fn a_table_of_one_providers_days_names_it_in_the_title(backend) {
        let (_fixer, _ecb, env) = two_providers(backend);
        let (code, out, err) = env.run(&[
            "show", "--from", "2024-09-16", "--to", "2024-09-17", "--symbols", "GBP,USD",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "\
Rates from 2024-09-16 to 2024-09-17, base EUR, from the ECB
Date        GBP     USD
2024-09-16  0.8338  1.1615
2024-09-17  0.8338  1.1615
"
        );
        let (code, out, err) = env.run(&["show", "--from", "2024-09-19", "--to", "2024-09-20"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Rates from 2024-09-19 to 2024-09-20, base EUR, from fixer.io");
        assert_eq!(lines[1], "Date        Currency  Rate");
        assert_eq!(lines[2], "2024-09-19  AUD          1.566015");
    }

    fn a_table_of_days_from_two_providers_names_each_days(backend) {
        let (_fixer, _ecb, env) = two_providers(backend);
        let (code, out, err) = env.run(&[
            "show", "--from", "2024-09-16", "--to", "2024-09-20", "--symbols", "GBP,USD",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "\
Rates from 2024-09-16 to 2024-09-20, base EUR, from fixer.io and the ECB (each day's in the Provider column)
Date        Provider  GBP      USD
2024-09-16  ecb       0.8338   1.1615
2024-09-17  ecb       0.8338   1.1615
2024-09-18  fixer     0.83578  1.23396
2024-09-19  fixer     0.83578  1.23396
2024-09-20  fixer     0.83578  1.23396
"
        );
        // The long list: every row says whose it is.
        let (code, out, err) = env.run(&["show", "--from", "2024-09-17", "--to", "2024-09-18"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "Date        Provider  Currency  Rate");
        let rows: Vec<Vec<&str>> = lines[2..].iter().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows.len(), ECB_CURRENCIES.len() + RATES_SHOWN.len(), "{out}");
        assert_eq!(rows[0], ["2024-09-17", "ecb", "CHF", "0.9412"]);
        assert_eq!(rows[ECB_CURRENCIES.len()], ["2024-09-18", "fixer", "AUD", "1.566015"]);
        assert!(rows[..ECB_CURRENCIES.len()].iter().all(|r| r[1] == "ecb"), "{out}");
        assert!(rows[ECB_CURRENCIES.len()..].iter().all(|r| r[1] == "fixer"), "{out}");
        // JSON and CSV say it per day as before, with no title or column added.
        let (code, out, err) = env.run(&[
            "show", "--from", "2024-09-17", "--to", "2024-09-18", "--symbols", "GBP", "--format", "csv",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "date,base,currency,rate,provider\n2024-09-17,EUR,GBP,0.8338,ecb\n2024-09-18,EUR,GBP,0.83578,fixer\n"
        );
    }
}
