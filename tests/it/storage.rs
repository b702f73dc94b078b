//! The database file: private, in WAL mode, with the documented `rates`
//! view and the request record, where the user expects it. (A file that
//! belongs to a newer fxrates or to another program: `hostile_storage`.)

use crate::common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

const FRIDAY: &str = "2024-09-20";
const FRIDAY_9AM: &str = "2024-09-20T09:00:00Z";

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_database_is_private_and_in_wal_mode() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    assert!(!env.db.parent().unwrap().exists());
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);

    assert_eq!(mode(&env.db), 0o600, "database file mode");
    assert_eq!(mode(env.db.parent().unwrap()), 0o700, "directory mode");
    assert_eq!(env.sql("PRAGMA journal_mode"), [["wal"]]);
    assert_eq!(
        env.sql("PRAGMA user_version"),
        [[fxrates::store::VERSION.to_string()]]
    );
}

#[test]
fn the_rates_view_is_the_documented_read_interface() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let rows = env.sql(
        "SELECT date, base, currency, typeof(rate), rate_text FROM rates \
         WHERE currency IN ('GBP', 'BTC') ORDER BY currency",
    );
    assert_eq!(
        rows,
        [
            [FRIDAY, "EUR", "BTC", "real", "0.0000125511"],
            [FRIDAY, "EUR", "GBP", "real", "0.83578"]
        ]
    );
    assert_eq!(
        env.sql("SELECT rate FROM rates WHERE currency = 'USD'"),
        [["1.23396"]]
    );
}

#[test]
fn the_request_record_counts_every_request_and_never_holds_the_key() {
    let server = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body(FRIDAY)),
        _ => Reply::json(
            302,
            format!(r#"{{"note":"moved","access_key":"{FAKE_KEY}"}}"#),
        )
        .with_header(
            "Location",
            &format!("http://elsewhere.invalid/api?access_key={FAKE_KEY}"),
        ),
    });
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    env.fails(&["ingest", "--no-heal", "--date", "2024-09-19"], 78);
    let recorded =
        env.sql("SELECT endpoint, outcome FROM requests WHERE endpoint <> 'symbols' ORDER BY id");
    assert_eq!(recorded.len(), server.count(), "one row per request");
    assert_eq!(recorded[0], ["latest", "ok"]);
    assert!(recorded[1][1].contains("redirect"), "{:?}", recorded[1]);
    env.assert_no_key_in_db();
}

#[test]
fn the_default_database_follows_xdg_then_home_and_the_flag_wins() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let home = env.path();

    let xdg = home.join("xdg");
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env_remove("FXRATES_DB").env("XDG_DATA_HOME", &xdg);
    assert_eq!(env.run_cmd(cmd).0, 0);
    assert!(xdg.join("fxrates/rates.db").is_file());

    // A relative XDG_DATA_HOME is ignored, as the XDG spec says.
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env_remove("FXRATES_DB")
        .env("XDG_DATA_HOME", "relative/dir");
    assert_eq!(env.run_cmd(cmd).0, 0);
    assert!(home.join(".local/share/fxrates/rates.db").is_file());
    assert!(!home.join("relative").exists());

    let flag = home.join("by-flag.db");
    let (code, _, err) = env.run(&["ingest", "--no-heal", "--db", flag.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(flag.is_file());
    assert!(!env.db.exists(), "--db overrides FXRATES_DB");
    assert_eq!(server.count(), 3, "three separate databases");
}
