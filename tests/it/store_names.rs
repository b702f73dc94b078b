//! How a store is named (`--db`, `FXRATES_DB`, `copy`'s SOURCE and DEST):
//! an empty name or a mistyped URL is refused before anything is created or
//! requested, never taken for the default or for a file to create.

use crate::common::*;

const FRIDAY: &str = "2024-09-20";
const FRIDAY_9AM: &str = "2024-09-20T09:00:00Z";
const PASSWORD: &str = "pw-Zq81";

/// Runs `args` in the test's home (a relative "path" lands there), with the
/// extra variables; returns (exit code, stderr).
fn run_in_home(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = env.cmd(args);
    cmd.current_dir(env.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let (code, out, err) = env.run_cmd(cmd);
    assert_eq!(out, "", "{args:?}");
    (code, err)
}

#[test]
fn an_empty_database_setting_is_refused_not_the_default() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for (args, vars) in [
        (&["ingest", "--no-heal"][..], &[("FXRATES_DB", "")][..]),
        (&["status"], &[("FXRATES_DB", "")]),
        (&["show"], &[("FXRATES_DB", " ")]),
        (&["--db", "", "ingest", "--no-heal"], &[]),
        (&["backfill", "--db="], &[]),
    ] {
        let (code, err) = run_in_home(&env, args, vars);
        assert_eq!(code, 64, "{args:?} {vars:?}: {err}");
        let line = error_line(&err);
        assert!(line.starts_with("FXRATES_DB (--db) is "), "{line}");
        assert!(
            line.contains("name a SQLite file or a postgresql:// URL"),
            "{line}"
        );
    }
    for args in [&["copy", "", "b.db"], &["copy", "a.db", ""]] {
        let (code, err) = run_in_home(&env, args, &[]);
        assert_eq!(code, 64, "{args:?}: {err}");
        let line = error_line(&err);
        assert!(line.contains(" is empty"), "{line}");
        assert!(
            line.starts_with("SOURCE") || line.starts_with("DEST"),
            "{line}"
        );
    }
    assert_eq!(server.count(), 0);
    assert_eq!(env.tree(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn an_empty_path_setting_is_refused_not_ignored() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for (name, args) in [
        ("FXRATES_METRICS_FILE", &["ingest", "--no-heal"][..]),
        ("FIXER_API_KEY_FILE", &["ingest", "--no-heal"]),
    ] {
        let (code, err) = run_in_home(&env, args, &[(name, "")]);
        assert_eq!(code, 78, "{name}=: {err}");
        let line = error_line(&err);
        assert!(line.starts_with(&format!("{name} (")), "{line}");
        assert!(line.contains("is empty"), "{line}");
    }
    let (code, err) = run_in_home(&env, &["ingest", "--metrics-file="], &[]);
    assert_eq!(code, 78, "{err}");
    // Read with the URL, before any connection.
    let (code, err) = run_in_home(
        &env,
        &["status"],
        &[
            ("FXRATES_DB", "postgresql://fxrates@127.0.0.1:1/finance"),
            ("FXRATES_DB_PASSWORD_FILE", ""),
        ],
    );
    assert_eq!(code, 78, "{err}");
    assert!(
        error_line(&err).starts_with("FXRATES_DB_PASSWORD_FILE is empty"),
        "{err}"
    );
    assert_eq!(server.count(), 0);
    assert!(!env.db.exists());
}

#[test]
fn a_mistyped_url_is_refused_before_anything_is_created() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let url = |scheme: &str| format!("{scheme}fxrates:{PASSWORD}@db.internal/finance");
    for (text, says) in [
        (url("POSTGRESQL://"), "in lower case, postgresql://"),
        (url("PostgreS://"), "in lower case, postgres://"),
        (format!(" {}", url("postgresql://")), "blanks"),
        (format!("{}\n", url("postgresql://")), "blanks"),
        (url("postgresq://"), "postgresql:// or postgres://"),
        (url("postgresql:/"), "two slashes"),
        (url("postgresql:"), "two slashes"),
        (url("mysql://"), "postgresql:// or postgres://"),
        (url("file:/"), "postgresql:// or postgres://"),
        (" /var/lib/rates.db".to_string(), "blanks"),
    ] {
        for (args, vars, names) in [
            (
                vec!["ingest", "--no-heal"],
                vec![("FXRATES_DB", text.as_str())],
                "FXRATES_DB (--db)",
            ),
            (vec!["--db", &text, "backfill"], vec![], "FXRATES_DB (--db)"),
            (vec!["copy", &text, "dest.db"], vec![], "SOURCE"),
            (vec!["copy", "source.db", &text], vec![], "DEST"),
        ] {
            let (code, err) = run_in_home(&env, &args, &vars);
            assert_eq!(code, 64, "{text:?} {args:?}: {err}");
            let line = error_line(&err);
            assert!(line.starts_with(names), "{line}");
            assert!(line.contains(says), "{text:?}: {line}");
            assert!(!err.contains(PASSWORD), "{err}");
        }
    }
    assert_eq!(server.count(), 0);
    assert_eq!(env.tree(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_wrong_store_name_fails_only_commands_that_open_a_store() {
    let env = TestEnv::new("http://127.0.0.1:9/api", FRIDAY_9AM);
    for (args, vars) in [
        (&["completions", "bash"][..], &[("FXRATES_DB", "")][..]),
        (&["manpage"], &[("FXRATES_DB", "mysql://u@h/db")]),
        (&["--db", "", "completions", "bash"], &[]),
    ] {
        let mut cmd = env.cmd(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let (code, out, err) = env.run_cmd(cmd);
        assert_eq!(code, 0, "{args:?} {vars:?}: {err}");
        assert!(!out.is_empty(), "{args:?}");
    }
    // The rest of the command line is judged first, as it always was.
    let (code, err) = run_in_home(&env, &["show", "--bogus"], &[("FXRATES_DB", "")]);
    assert_eq!(code, 2, "{err}");
    assert!(error_line(&err).contains("--bogus"), "{err}");
    assert_eq!(env.tree(), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_path_that_merely_holds_a_colon_is_still_a_file() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let (code, err) = run_in_home(
        &env,
        &["--db", "backup:2024.db", "ingest", "--no-heal"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(env.path().join("backup:2024.db").is_file());
}

#[test]
fn a_new_database_at_the_default_path_is_announced_once() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let default_db = env.path().join(".local/share/fxrates/rates.db");
    let announce = format!(
        "fxrates: warning: creating a new database at the default path {} (no --db or FXRATES_DB given)",
        default_db.display()
    );
    let unnamed = |args: &[&str]| {
        let mut cmd = env.cmd(args);
        cmd.env_remove("FXRATES_DB");
        env.run_cmd(cmd)
    };
    let (code, _, err) = unnamed(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.lines().filter(|l| *l == announce).count(), 1, "{err}");
    assert!(default_db.is_file());
    let (code, _, err) = unnamed(&["ingest", "--no-heal", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("creating a new database"), "{err}");
    // A store the user named is created silently, as asked.
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("creating a new database"), "{err}");
    assert!(env.db.is_file());
}

#[test]
fn help_man_page_and_package_name_both_stores() {
    let env = TestEnv::new("http://127.0.0.1:1/api", FRIDAY_9AM);
    let (code, help, _) = env.run(&["--help"]);
    assert_eq!(code, 0);
    let first = help.lines().next().unwrap_or_default();
    assert!(
        first.contains("SQLite") && first.contains("PostgreSQL"),
        "{first}"
    );
    let (code, man, _) = env.run(&["manpage"]);
    assert_eq!(code, 0);
    let name = man
        .lines()
        .skip_while(|l| !l.starts_with(".SH NAME"))
        .nth(1);
    assert!(name.is_some_and(|l| l.contains("PostgreSQL")), "{man}");
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let description = manifest
        .lines()
        .find(|l| l.starts_with("description = "))
        .unwrap();
    assert!(description.contains("PostgreSQL"), "{description}");
}

#[test]
fn copy_hints_name_source_and_dest_not_the_db_setting() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let db = env.db.to_str().unwrap().to_string();
    let missing = env.path().join("missing.db");
    let file = env.path().join("a-file");
    std::fs::write(&file, "not a directory\n").unwrap();
    let under_file = file.join("rates.db");
    let foreign = env.path().join("notes.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT)")
        .unwrap();
    for (args, code, says) in [
        (
            ["copy", missing.to_str().unwrap(), "x.db"],
            66,
            "point SOURCE at",
        ),
        (
            ["copy", &db, under_file.to_str().unwrap()],
            74,
            "point DEST at",
        ),
        (
            ["copy", &db, foreign.to_str().unwrap()],
            74,
            "point DEST at",
        ),
    ] {
        let (c, err) = run_in_home(&env, &args, &[]);
        assert_eq!(c, code, "{args:?}: {err}");
        let line = error_line(&err);
        assert!(line.contains(says), "{line}");
        assert!(
            !line.contains("--db") && !line.contains("FXRATES_DB"),
            "{line}"
        );
    }
}
