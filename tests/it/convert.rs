//! `convert AMOUNT FROM TO`: exact decimal conversion at a stored day's rates.

use crate::common::*;
use crate::seed::*;

/// 2024-09-19 and 2024-09-20 (Thursday, Friday) stored through `ingest`.
fn stored_week(backend: Backend, now: &str) -> (FakeFixer, TestEnv) {
    let server = FakeFixer::free_plan("2024-09-20");
    let env = TestEnv::on(backend, &server.url, now);
    for d in ["2024-09-19", "2024-09-20"] {
        let (code, _, err) = env.run(&["ingest", "--date", d]);
        assert_eq!(code, 0, "{err}");
    }
    (server, env)
}

both_stores! {
    fn from_eur_the_result_is_the_exact_product(backend) {
        let (server, env) = stored_week(backend, "2024-09-20T12:00:00Z");
        let before = server.count();
        let (code, out, err) = env.run(&["convert", "100", "EUR", "GBP"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "100 EUR = 83.578 GBP\n1 EUR = 0.83578 GBP on 2024-09-20\n"
        );
        assert_eq!(err, "");
        let (code, out, _) = env.run(&["convert", "0.01", "eur", "btc"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "0.01 EUR = 0.000000125511 BTC\n1 EUR = 0.0000125511 BTC on 2024-09-20\n"
        );
        assert_eq!(server.count(), before, "convert must not make requests");
    }
}

both_stores! {
    fn a_cross_conversion_divides_two_stored_rates(backend) {
        let (_server, env) = stored_week(backend, "2024-09-20T12:00:00Z");
        // 100 x 0.83578 / 1.23396 = 67.7315310058672...
        let (code, out, err) = env.run(&["convert", "100", "USD", "GBP"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "100 USD = 67.7315310059 GBP\n\
         1 USD = 0.677315310059 GBP on 2024-09-20 (derived from EUR rates)\n"
        );
        // Back to EUR is derived too: 1 / 0.83578.
        let (_, out, _) = env.run(&["convert", "250.00", "GBP", "EUR"]);
        assert_eq!(out.lines().next(), Some("250.00 GBP = 299.121778458 EUR"));
    }
}

both_stores! {
    fn negative_amounts_convert_like_positive_ones(backend) {
        let (_server, env) = stored_week(backend, "2024-09-20T12:00:00Z");
        let (code, out, err) = env.run(&["convert", "-12.50", "EUR", "USD"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.lines().next(), Some("-12.50 EUR = -15.4245 USD"));
    }
}

both_stores! {
    fn a_weekend_date_falls_back_to_the_friday_and_says_so(backend) {
        let (_server, env) = stored_week(backend, "2024-09-23T08:00:00Z");
        for args in [
            &["convert", "100", "EUR", "GBP", "--date", "2024-09-22"][..],
            &["convert", "100", "EUR", "GBP"][..], // today, Monday, not fetched yet
        ] {
            let asked = if args.len() > 4 {
                "2024-09-22"
            } else {
                "2024-09-23"
            };
            let (code, out, err) = env.run(args);
            assert_eq!(code, 0, "{err}");
            assert_eq!(
                out,
                format!(
                    "100 EUR = 83.578 GBP\n\
                 1 EUR = 0.83578 GBP on 2024-09-20, the latest stored day before {asked}\n"
                )
            );
            assert_eq!(
                err,
                format!(
                    "fxrates: warning: no rates stored for {asked}; converting at those of 2024-09-20\n"
                )
            );
        }
    }
}

both_stores! {
    fn no_stored_day_within_a_week_is_no_data(backend) {
        let (_server, env) = stored_week(backend, "2024-10-01T12:00:00Z");
        let (code, out, err) = env.run(&["convert", "100", "EUR", "GBP"]);
        assert_eq!(code, 66);
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("no rates stored for 2024-10-01 or the 7 days before it"),
            "{err}"
        );
    }
}

both_stores! {
    fn json_carries_the_exact_decimals(backend) {
        let (_server, env) = stored_week(backend, "2024-09-22T12:00:00Z");
        let (code, out, err) = env.run(&[
            "convert",
            "100",
            "EUR",
            "GBP",
            "--date",
            "2024-09-21",
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "{\"amount\":100,\"from\":\"EUR\",\"to\":\"GBP\",\"result\":83.578,\"rate\":0.83578,\
         \"derived\":false,\"date\":\"2024-09-20\",\"requested_date\":\"2024-09-21\"}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["date"], "2024-09-20");
    }
}

both_stores! {
    fn bad_amounts_dates_and_codes_are_refused_in_one_line(backend) {
        let (_server, env) = stored_week(backend, "2024-09-20T12:00:00Z");
        let cases: [(&[&str], i32, &str); 6] = [
            (
                &["convert", "1e3", "EUR", "GBP"],
                2,
                "AMOUNT \"1e3\" is not a number",
            ),
            (&["convert", "1,000", "EUR", "GBP"], 2, "a plain decimal"),
            (&["convert", "NaN", "EUR", "GBP"], 2, "is not a number"),
            (
                &["convert", "100", "EUR", "GBPX"],
                2,
                "three-letter currency code",
            ),
            (
                &["convert", "100", "EUR", "GBP", "--date", "2024-13-01"],
                2,
                "is not a date",
            ),
            (
                &["convert", "100", "EUR", "XYZ"],
                66,
                "no XYZ rate is stored for 2024-09-20",
            ),
        ];
        for (args, want, needle) in cases {
            let (code, out, err) = env.run(args);
            assert_eq!(code, want, "{args:?}: {err}");
            assert_eq!(out, "", "{args:?}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.contains(needle), "{args:?}: {err}");
        }
        let (code, _, err) = env.run(&["convert", "1", "EUR", "GBP", "--date", "2024-09-23"]);
        assert_eq!(code, 2);
        assert!(err.contains("--date 2024-09-23 is in the future"), "{err}");
    }
}

both_stores! {
    fn the_rate_of_the_asked_day_is_used(backend) {
        let env = TestEnv::on(backend, "http://127.0.0.1:9/api", "2024-09-30T12:00:00Z");
        september(&env);
        // 2024-09-10 is the 7th weekday: GBP 0.84233.
        let (code, out, err) = env.run(&["convert", "1000", "EUR", "GBP", "--date", "2024-09-10"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            "1000 EUR = 842.33 GBP\n1 EUR = 0.84233 GBP on 2024-09-10\n"
        );
    }
}

both_stores! {
    fn zero_negative_and_many_digit_amounts_convert_between_every_pair(backend) {
        let (_server, env) = stored_week(backend, "2024-09-20T12:00:00Z");
        // Each amount in both directions of EUR and across two other bases; the
        // expected results are worked out by hand from the rates in RATES.
        let table: [(&str, &str, &str, &str); 21] = [
            ("0", "EUR", "GBP", "0"),
            ("0", "EUR", "BTC", "0"),
            ("0.00", "EUR", "JPY", "0"),
            ("0", "EUR", "USD", "0"),
            ("0", "GBP", "EUR", "0"),
            ("0", "USD", "GBP", "0"),
            ("0", "EUR", "EUR", "0"),
            ("-1", "EUR", "GBP", "-0.83578"),
            ("-0.0000000001", "EUR", "BTC", "-0.00000000000000125511"),
            ("-100", "USD", "GBP", "-67.7315310059"),
            ("-83.578", "GBP", "EUR", "-100"),
            ("999999999999999", "EUR", "GBP", "835779999999999.16422"),
            ("-999999999999999", "EUR", "JPY", "-132360678999999867.639321"),
            ("999999999999999", "EUR", "BTC", "12551099999.9999874489"),
            ("99999.9999999999", "EUR", "XAU", "43.4999999999999565"),
            ("999999999999999", "GBP", "EUR", "1196487113830000"),
            ("999999999999999", "BTC", "JPY", "10545743321300000000000"),
            ("99999.9999999999", "XAU", "AUD", "360003448.276"),
            ("-999999999999999", "JPY", "USD", "-9322708294660"),
            ("0.0000000001", "XAU", "BTC", "0.00000000000288531034483"),
            ("999999999999999", "USD", "USD", "999999999999999"),
        ];
        let mut wrong = Vec::new();
        for (amount, from, to, want) in table {
            let (code, out, err) = env.run(&["convert", amount, from, to]);
            let first = out.lines().next().unwrap_or_default().to_string();
            let expected = format!("{amount} {from} = {want} {to}");
            if code != 0 || first != expected {
                wrong.push(format!("{amount} {from} {to}: exit {code}, {first:?} {err:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
