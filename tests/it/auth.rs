//! Where the key comes from and where it goes: the environment or a private
//! file, then the `access_key` parameter (legacy stack) or the `apikey`
//! header (APILayer), and nowhere else.

use crate::common::*;
use fxrates::fixer::{Auth, Endpoint};

const FRIDAY: &str = "2024-09-20";
const FRIDAY_9AM: &str = "2024-09-20T09:00:00Z";

/// The one request of a successful `ingest` with `args` (and `env` set).
fn sent_by(args: &[&str], env_vars: &[(&str, &str)]) -> Seen {
    let server = FakeFixer::free_plan(FRIDAY);
    let mut env = TestEnv::new(&server.url, FRIDAY_9AM);
    for (k, v) in env_vars {
        env = env.env(k, v);
    }
    let mut all = vec!["ingest", "--no-heal"];
    all.extend_from_slice(args);
    let (code, _, err) = env.run(&all);
    assert_eq!(code, 0, "{err}");
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    sent.into_iter().next().unwrap()
}

fn key_in_url(seen: &Seen) -> bool {
    seen.raw_url.contains(FAKE_KEY)
}

#[test]
fn legacy_stack_sends_the_key_as_access_key_only() {
    for args in [&[][..], &["--auth", "query"][..]] {
        let seen = sent_by(args, &[]);
        assert_eq!(
            seen.query.get("access_key").map(String::as_str),
            Some(FAKE_KEY)
        );
        assert!(!seen.headers.contains_key("apikey"), "{:?}", seen.headers);
        assert!(
            seen.headers.values().all(|v| !v.contains(FAKE_KEY)),
            "the key is in a header: {:?}",
            seen.headers
        );
        assert_eq!(seen.raw_url.matches(FAKE_KEY).count(), 1);
    }
}

#[test]
fn apilayer_stack_sends_the_key_as_apikey_header_only() {
    for (args, vars) in [
        (&["--auth", "header"][..], &[][..]),
        (&[][..], &[("FIXER_AUTH", "header")][..]),
    ] {
        let seen = sent_by(args, vars);
        assert_eq!(
            seen.headers.get("apikey").map(String::as_str),
            Some(FAKE_KEY)
        );
        assert!(!seen.query.contains_key("access_key"), "{}", seen.raw_url);
        assert!(
            !key_in_url(&seen),
            "the key is in the URL: {}",
            seen.raw_url
        );
        let others = seen.headers.iter().filter(|(k, _)| *k != "apikey");
        assert!(others.clone().all(|(_, v)| !v.contains(FAKE_KEY)));
    }
}

#[test]
fn the_flag_overrides_the_environment() {
    let seen = sent_by(&["--auth", "query"], &[("FIXER_AUTH", "header")]);
    assert!(!seen.headers.contains_key("apikey"));
    assert!(key_in_url(&seen));
}

#[test]
fn apilayer_host_chooses_the_header_by_default() {
    let auth = |url: &str| Endpoint::parse(url).unwrap().default_auth();
    assert_eq!(auth("https://api.apilayer.com/fixer"), Auth::Header);
    assert_eq!(auth("https://API.apilayer.com/fixer/"), Auth::Header);
    assert_eq!(auth("https://api.apilayer.com:443/fixer"), Auth::Header);
    assert_eq!(auth("https://data.fixer.io/api"), Auth::Query);
    assert_eq!(auth("http://data.fixer.io/api"), Auth::Query);
    assert_eq!(auth("http://127.0.0.1:8080/api"), Auth::Query);
    assert_eq!(
        auth("https://api.apilayer.com.example.org/fixer"),
        Auth::Query
    );
}

#[test]
fn requests_name_fxrates_as_the_user_agent() {
    let seen = sent_by(&[], &[]);
    assert_eq!(
        seen.headers.get("user-agent").map(String::as_str),
        Some(concat!("fxrates/", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn a_missing_key_is_a_configuration_error_naming_the_variable() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for value in [None, Some(""), Some("   ")] {
        let mut cmd = env.cmd(&["ingest", "--no-heal"]);
        match value {
            None => cmd.env_remove("FIXER_API_KEY"),
            Some(v) => cmd.env("FIXER_API_KEY", v),
        };
        let (code, out, err) = env.run_cmd(cmd);
        assert_eq!((code, out.as_str()), (78, ""), "{err}");
        assert!(error_line(&err).contains("FIXER_API_KEY"), "{err}");
    }
    assert_eq!(server.count(), 0);
    assert!(
        !env.db.exists(),
        "a configuration error leaves no database behind"
    );
}

#[test]
fn a_key_with_spaces_inside_is_refused_without_showing_it() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env("FIXER_API_KEY", "two words");
    let (code, _, err) = env.run_cmd(cmd);
    assert_eq!(code, 78, "{err}");
    assert!(!err.contains("two words"), "{err}");
    assert_eq!(server.count(), 0);
}

#[test]
fn a_private_key_file_is_used_instead_of_the_variable() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let path = env.key_file(&format!("  {FAKE_KEY}\n"), 0o600);

    let mut cmd = env.cmd(&["ingest", "--no-heal", "--api-key-file", &path]);
    cmd.env_remove("FIXER_API_KEY");
    assert_eq!(env.run_cmd(cmd).0, 0);

    let mut cmd = env.cmd(&["ingest", "--no-heal", "--force", "--api-key-file", &path]);
    cmd.env("FIXER_API_KEY", "ENV-KEY-NOT-USED");
    let (code, _, err) = env.run_cmd(cmd);
    assert_eq!(code, 0, "{err}");

    let mut cmd = env.cmd(&["ingest", "--no-heal", "--force"]);
    cmd.env("FIXER_API_KEY", "ENV-KEY-NOT-USED")
        .env("FIXER_API_KEY_FILE", &path);
    let (code, _, err) = env.run_cmd(cmd);
    assert_eq!(code, 0, "{err}");

    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    for s in sent {
        assert_eq!(
            s.query.get("access_key").map(String::as_str),
            Some(FAKE_KEY),
            "the file's key, trimmed"
        );
    }
}

/// Runs `args`, which must fail with 78 before any request: one line on
/// stderr, also with `-vv` and `RUST_LOG=trace`. Returns that line.
fn refused(env: &TestEnv, args: &[&str]) -> String {
    let (_, _, err) = env.run(args);
    assert_eq!(err.lines().count(), 1, "{err}");
    env.fails(args, 78)
}

#[test]
fn a_key_file_open_to_group_or_others_is_refused_naming_path_and_mode() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for (mode, shown) in [
        (0o640, "0640"),
        (0o604, "0604"),
        (0o644, "0644"),
        (0o602, "0602"),
    ] {
        let path = env.key_file(FAKE_KEY, mode);
        let msg = refused(&env, &["ingest", "--no-heal", "--api-key-file", &path]);
        assert!(msg.contains(&path), "{msg}");
        assert!(
            msg.contains(&format!(
                "has mode {shown} and is open to group or others; run `chmod 600"
            )),
            "{msg}"
        );
    }
    assert_eq!(server.count(), 0);
    assert!(!env.db.exists());
}

#[test]
fn an_empty_or_missing_key_file_is_refused() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for text in ["", " \n", " \n\t\n"] {
        let path = env.key_file(text, 0o600);
        let msg = refused(&env, &["ingest", "--no-heal", "--api-key-file", &path]);
        assert!(
            msg.contains(&path) && msg.contains("is empty; put your fixer.io API key in it"),
            "{msg}"
        );
    }

    let path = env.key_file("two words", 0o600);
    let msg = refused(&env, &["ingest", "--no-heal", "--api-key-file", &path]);
    assert!(
        msg.contains("contains spaces or non-ASCII characters"),
        "{msg}"
    );
    assert!(!msg.contains("two words"), "{msg}");

    let missing = env.path().join("no-such.key");
    let missing = missing.to_str().unwrap();
    let msg = refused(&env, &["ingest", "--no-heal", "--api-key-file", missing]);
    assert!(msg.contains(missing), "{msg}");

    let by_variable = env
        .at(FRIDAY_9AM)
        .env("FIXER_API_KEY_FILE", "/nonexistent/fixer.key");
    let msg = refused(&by_variable, &["ingest", "--no-heal"]);
    assert!(
        msg.contains("cannot read the API key file /nonexistent/fixer.key (FIXER_API_KEY_FILE)"),
        "{msg}"
    );
    assert_eq!(server.count(), 0);
    assert!(!env.db.exists());
}

#[test]
fn the_key_stays_out_of_the_most_verbose_logs() {
    for auth in ["query", "header"] {
        let server = FakeFixer::free_plan(FRIDAY);
        let env = TestEnv::new(&server.url, FRIDAY_9AM);
        let (code, _, err) = env.run(&["ingest", "--no-heal", "--auth", auth, "-vv"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("GET "), "-vv logs the request: {err}");
        let mut traced = env.cmd(&["ingest", "--no-heal", "--auth", auth, "--force"]);
        traced.env("RUST_LOG", "trace");
        let (code, _, err) = env.run_cmd(traced);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("ureq"), "the HTTP library traces too: {err}");
        if auth == "query" {
            assert!(err.contains("access_key=[REDACTED]"), "{err}");
        }
    }
}

#[test]
fn a_key_file_that_is_a_fifo_is_refused_at_once() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let path = env.path().join("fixer.key");
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env("FIXER_API_KEY_FILE", &path)
        .timeout(std::time::Duration::from_secs(20));
    let (code, _, err) = env.run_cmd(cmd);
    assert_eq!(code, 78, "{err}");
    assert!(error_line(&err).contains("is not a regular file"), "{err}");
    assert_eq!(server.count(), 0);
}

#[test]
fn a_key_too_short_to_be_real_is_refused_before_any_request() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    for key in ["k", "abc", "7chars!"] {
        let mut cmd = env.cmd(&["ingest", "--no-heal"]);
        cmd.env("FIXER_API_KEY", key);
        let (code, _, err) = env.run_cmd(cmd);
        assert_eq!(code, 78, "{key}: {err}");
        let line = error_line(&err);
        assert!(line.contains("too short"), "{line}");
        let path = env.key_file(key, 0o600);
        let mut cmd = env.cmd(&["ingest", "--no-heal"]);
        cmd.env("FIXER_API_KEY_FILE", &path);
        assert_eq!(env.run_cmd(cmd).0, 78);
    }
    assert_eq!(server.count(), 0);
    assert!(!env.db.exists());
}

#[test]
fn an_empty_variable_is_unset_everywhere() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    let default_db = env.path().join(".local/share/fxrates/rates.db");
    for name in [
        "FIXER_AUTH",
        "FIXER_MONTHLY_QUOTA",
        "FXRATES_KEEP_DAYS",
        "FXRATES_PING_URL",
        "FXRATES_LOCK_TIMEOUT",
        "FXRATES_TIMEOUT",
    ] {
        let mut cmd = env.cmd(&["ingest", "--no-heal"]);
        cmd.env(name, "");
        let (code, _, err) = env.run_cmd(cmd);
        assert_eq!(code, 0, "{name}=: {err}");
        let mut cmd = env.cmd(&["prune"]);
        cmd.env(name, "");
        assert_eq!(env.run_cmd(cmd).0, 0, "{name}=");
    }
    // Path settings excepted: an empty one is refused (store_names.rs).
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env("FXRATES_DB", "");
    assert_eq!(env.run_cmd(cmd).0, 64);
    assert!(!default_db.exists());
    // An empty key is no key.
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env("FIXER_API_KEY", "");
    let (code, _, err) = env.run_cmd(cmd);
    assert_eq!(code, 78, "{err}");
    assert!(error_line(&err).contains("no fixer.io API key"), "{err}");
}

#[test]
fn a_bad_value_names_its_variable() {
    let server = FakeFixer::free_plan(FRIDAY);
    let env = TestEnv::new(&server.url, FRIDAY_9AM);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    for (name, value, command) in [
        ("FIXER_MONTHLY_QUOTA", "lots", &["ingest", "--no-heal"][..]),
        ("FXRATES_KEEP_DAYS", "-1", &["prune"]),
        ("FIXER_AUTH", "cookie", &["ingest", "--no-heal"]),
        ("FXRATES_TIMEOUT", "soon", &["ingest", "--no-heal"]),
    ] {
        let mut cmd = env.cmd(command);
        cmd.env(name, value);
        let (code, _, err) = env.run_cmd(cmd);
        assert_eq!(code, 2, "{name}={value}: {err}");
        assert!(error_line(&err).starts_with(&format!("{name}: ")), "{err}");
    }
    // A key that is not UTF-8 is named as such, not "no key".
    use std::os::unix::ffi::OsStrExt;
    let mut cmd = env.cmd(&["ingest", "--no-heal"]);
    cmd.env(
        "FIXER_API_KEY",
        std::ffi::OsStr::from_bytes(b"key-\xff\xfe-0123456789"),
    );
    let (code, _, err) = env.run_cmd(cmd);
    assert_eq!(code, 78, "{err}");
    assert!(
        error_line(&err).contains("FIXER_API_KEY is not valid UTF-8"),
        "{err}"
    );
    assert_eq!(server.count(), 1);
}

#[test]
fn help_that_cannot_be_written_is_a_failure() {
    let env = TestEnv::new("http://127.0.0.1:9/api", FRIDAY_9AM);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    for args in [&["--help"][..], &["--version"], &["ingest", "--help"]] {
        let out = env
            .std_cmd(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(74), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot write to stdout"), "{err}");
    }
}
