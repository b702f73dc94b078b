//! The endpoint URL is checked whole before anything is opened: an
//! impossible one is a configuration error, with no database, no lock and no
//! request behind it.

use crate::common::*;

const NOW: &str = "2024-09-20T09:00:00Z";

#[test]
fn an_impossible_endpoint_is_refused_before_any_file_or_request() {
    let server = FakeFixer::free_plan("2024-09-20");
    let base = server.url.trim_end_matches("/api").to_string();
    for (endpoint, why) in [
        (
            "http://127.0.0.1:99999/api".to_string(),
            "the port 99999 is not from 1 to 65535",
        ),
        (
            "http://127.0.0.1:12ab/api".to_string(),
            "the port \"12ab\" is not a number",
        ),
        (format!("{base}/a<p>i"), "the path holds '<'"),
        (format!("{base}/api\"x"), "the path holds '\"'"),
        ("http://fixer^host/api".to_string(), "no host name can hold"),
        ("http://[::1/api".to_string(), "closed with ]"),
    ] {
        let env = TestEnv::new(&endpoint, NOW);
        for command in [&["ingest", "--no-heal"][..], &["backfill", "--days", "3"]] {
            let err = env.fails(command, 78);
            assert!(
                err.starts_with("FIXER_ENDPOINT (--endpoint): "),
                "{endpoint}: {err}"
            );
            assert!(err.contains(why), "{endpoint}: {err}");
            assert!(env.tree().is_empty(), "{endpoint}: {:?}", env.tree());
        }
    }
    assert_eq!(server.count(), 0);
}
