//! Proxies as companies have them, by curl's rules, against real proxies on
//! 127.0.0.1: plain HTTP goes to an HTTP proxy in absolute form, HTTPS
//! through a CONNECT tunnel, anything through SOCKS5; NO_PROXY goes direct;
//! a failing proxy is named in the error, without its credentials; a proxy
//! that cannot be honoured is refused, never gone around.

use crate::common::*;

const NOW: &str = "2024-09-20T09:00:00Z";
const TODAY: &str = "2024-09-20";

fn env(endpoint: &str, vars: &[(&str, &str)]) -> TestEnv {
    vars.iter()
        .fold(TestEnv::new(endpoint, NOW), |e, (k, v)| e.env(k, v))
}

#[test]
fn plain_http_goes_to_http_proxy_in_absolute_form_not_to_https_proxy() {
    let fixer = FakeFixer::free_plan(TODAY);
    let proxy = TestProxy::http(ProxyRules::default());
    let other = TestProxy::http(ProxyRules::default());
    let env = env(
        &fixer.url,
        &[("http_proxy", &proxy.url), ("HTTPS_PROXY", &other.url)],
    );
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.stored_dates(), [TODAY]);
    // The day, then the month's currency names: both by the proxy.
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let base = fixer.url.trim_end_matches("/api");
    assert!(
        seen[0].starts_with(&format!("GET {base}/api/latest?")),
        "{seen:?}"
    );
    assert!(
        seen[1].starts_with(&format!("GET {base}/api/symbols?")),
        "{seen:?}"
    );
    assert!(other.seen().is_empty());
    assert_eq!((fixer.count(), fixer.symbols_count()), (1, 1));
}

#[test]
fn proxy_credentials_are_sent_and_never_shown() {
    let fixer = FakeFixer::free_plan(TODAY);
    // "Basic " + base64("clerk:s3cret-proxy-pw")
    let proxy = TestProxy::http(ProxyRules {
        credentials: Some("Basic Y2xlcms6czNjcmV0LXByb3h5LXB3".into()),
        refuse: None,
    });
    let with = proxy
        .url
        .replace("http://", "http://clerk:s3cret-proxy-pw@");
    let env = env(&fixer.url, &[("http_proxy", &with)]);
    let (code, _, err) = env.run(&["ingest", "--no-heal", "-vv"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("s3cret-proxy-pw"), "{err}");
    // The day and the month's currency names, each with the credentials.
    assert_eq!(
        proxy.auth_seen(),
        vec![Some("Basic Y2xlcms6czNjcmV0LXByb3h5LXB3".to_string()); 2]
    );
    assert_eq!((fixer.count(), fixer.symbols_count()), (1, 1));

    // Without them: 407, a person must act, the proxy is named.
    let env = self::env(&fixer.url, &[("http_proxy", &proxy.url)]);
    let err = env.fails(&["ingest", "--no-heal"], 78);
    let shown = format!("{}{}", proxy.url, " (from http_proxy)");
    assert!(
        err.contains(&format!("the proxy {shown} wants credentials (HTTP 407")),
        "{err}"
    );
    assert_eq!(fixer.count(), 1, "nothing passed the proxy");
}

#[test]
fn https_goes_through_a_connect_tunnel_and_a_refusing_proxy_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::make(dir.path());
    let fixer = FakeFixer::free_plan(TODAY);
    let front = TlsFront::start(&ca, &fixer);
    let proxy = TestProxy::http(ProxyRules::default());
    let ca_file = ca.ca_cert.to_str().unwrap();
    let env = env(
        &front.url,
        &[("HTTPS_PROXY", &proxy.url), ("SSL_CERT_FILE", ca_file)],
    );
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    let port = front
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert_eq!(proxy.seen(), [format!("CONNECT 127.0.0.1:{port} HTTP/1.1")]);

    for (status, code, words) in [
        (407, 78, "wants credentials (HTTP 407"),
        (
            403,
            78,
            "refused to pass the request to 127.0.0.1 (HTTP 403)",
        ),
        (502, 75, "try again later"),
    ] {
        let refusing = TestProxy::http(ProxyRules {
            credentials: None,
            refuse: Some(status),
        });
        let env = self::env(
            &front.url,
            &[("https_proxy", &refusing.url), ("SSL_CERT_FILE", ca_file)],
        );
        let (c, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(c, code, "{status}: {err}");
        assert!(
            err.contains(&format!("{} (from https_proxy)", refusing.url)),
            "{err}"
        );
        assert!(err.contains(words), "{status}: {err}");
        assert!(!err.contains("FIXER_ENDPOINT"), "{err}");
    }
    assert_eq!(fixer.count(), 1);
}

#[test]
fn a_gateway_error_from_the_proxy_for_plain_http_names_the_proxy() {
    let fixer = FakeFixer::free_plan(TODAY);
    let proxy = TestProxy::http(ProxyRules {
        credentials: None,
        refuse: Some(502),
    });
    let env = env(&fixer.url, &[("http_proxy", &proxy.url)]);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 75, "{err}");
    assert!(
        err.contains(&format!(
            "cannot reach 127.0.0.1 through the proxy {} (from http_proxy): it answered HTTP 502",
            proxy.url
        )),
        "{err}"
    );
    assert_eq!(proxy.seen().len(), 3, "retried like any temporary failure");
    assert_eq!(fixer.count(), 0);
}

#[test]
fn a_proxy_that_refuses_connections_is_named_not_fixer() {
    let fixer = FakeFixer::free_plan(TODAY);
    let dead = refused_endpoint().replace("/api", "");
    let env = env(&fixer.url, &[("all_proxy", &dead)]);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 75, "{err}");
    assert!(
        err.contains(&format!("through the proxy {dead} (from all_proxy)")),
        "{err}"
    );
    assert_eq!(fixer.count(), 0, "never around the proxy");
}

#[test]
fn socks5_and_socks5h_are_honoured() {
    let fixer = FakeFixer::free_plan(TODAY);
    let socks = TestProxy::socks5();
    let port = fixer
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    // socks5: the name is resolved here, the proxy gets an address.
    let env = env(&fixer.url, &[("ALL_PROXY", &socks.url)]);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    // socks5h: the proxy resolves the name.
    let by_name = fixer.url.replace("127.0.0.1", "localhost");
    let h = socks.url.replace("socks5://", "socks5h://");
    let env = self::env(&by_name, &[("ALL_PROXY", &h)]);
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        socks.seen(),
        [
            format!("ipv4 127.0.0.1:{port}"),
            format!("domain localhost:{port}")
        ]
    );
    assert_eq!(fixer.count(), 2);
}

#[test]
fn no_proxy_names_and_networks_go_direct() {
    let fixer = FakeFixer::free_plan(TODAY);
    let proxy = TestProxy::http(ProxyRules::default());
    for no_proxy in ["127.0.0.0/8", "example.org, 127.0.0.1", "*"] {
        let env = env(
            &fixer.url,
            &[("http_proxy", &proxy.url), ("NO_PROXY", no_proxy)],
        );
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 0, "{no_proxy}: {err}");
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert_eq!(fixer.count(), 3);
}

#[test]
fn a_proxy_that_cannot_be_honoured_is_refused_before_anything() {
    let fixer = FakeFixer::free_plan(TODAY);
    for (vars, words) in [
        (
            vec![("ALL_PROXY", "ftp://proxy.example:21")],
            "ALL_PROXY names a ftp:// proxy, which fxrates cannot use",
        ),
        (
            vec![("HTTP_PROXY", "http://proxy.example:3128")],
            "only http_proxy (lower case)",
        ),
        (
            vec![("http_proxy", "http://user:pw-not-shown@proxy.example:port")],
            "http_proxy is not a proxy URL",
        ),
    ] {
        let env = env(&fixer.url, &vars);
        let err = env.fails(&["ingest", "--no-heal"], 78);
        assert!(err.contains(words), "{vars:?}: {err}");
        assert!(!err.contains("pw-not-shown"), "{err}");
        assert!(env.tree().is_empty(), "{:?}", env.tree());
    }
    assert_eq!(fixer.count(), 0);
}

#[test]
fn the_monitoring_ping_goes_through_the_proxy_too() {
    let fixer = FakeFixer::free_plan(TODAY);
    let monitor = FakeFixer::start(|_| Reply::json(200, "OK"));
    let ping = monitor.url.replace("/api", "/ping/proxied-ping-uuid");
    let proxy = TestProxy::http(ProxyRules::default());
    let env = env(
        &fixer.url,
        &[("http_proxy", &proxy.url), ("FXRATES_PING_URL", &ping)],
    );
    let (code, _, err) = env.run(&["ingest", "--no-heal"]);
    assert_eq!(code, 0, "{err}");
    // The day and the currency names went by the proxy too (the test above).
    let seen: Vec<String> = proxy
        .seen()
        .into_iter()
        .filter(|r| !r.contains("/api/symbols?"))
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[0].starts_with(&format!("POST {ping}/start ")),
        "{seen:?}"
    );
    assert!(seen[2].starts_with(&format!("POST {ping} ")), "{seen:?}");
    assert_eq!(monitor.count(), 2);
}

/// This month's count as `status` reports it, and the recorded outcomes.
fn counted(env: &TestEnv) -> (u64, Vec<String>) {
    let (_, out, err) = env.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).expect(&err);
    let outcomes = env
        .sql("SELECT outcome FROM requests ORDER BY id")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    (json["requests_this_month"].as_u64().unwrap(), outcomes)
}

#[test]
fn a_request_that_never_left_the_machine_costs_no_quota() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::make(dir.path());
    let fixer = FakeFixer::free_plan(TODAY);
    let front = TlsFront::start(&ca, &fixer);
    let ca_file = ca.ca_cert.to_str().unwrap();
    let dead = refused_endpoint();
    let dead_proxy = dead.replace("/api", "");
    let refusing = |status| {
        TestProxy::http(ProxyRules {
            credentials: None,
            refuse: Some(status),
        })
    };
    let (p403, p407, p502) = (refusing(403), refusing(407), refusing(502));
    // (endpoint, variables, exit, whether the provider may have seen it)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, i32, bool);
    let cases: Vec<Case> = vec![
        (&dead, vec![], 75, false),
        (&fixer.url, vec![("all_proxy", &dead_proxy)], 75, false),
        (
            &front.url,
            vec![("https_proxy", &p403.url), ("SSL_CERT_FILE", ca_file)],
            78,
            false,
        ),
        (
            &front.url,
            vec![("https_proxy", &p407.url), ("SSL_CERT_FILE", ca_file)],
            78,
            false,
        ),
        (&fixer.url, vec![("http_proxy", &p407.url)], 78, false),
        // A gateway error for plain HTTP may come after fixer saw it.
        (&fixer.url, vec![("http_proxy", &p502.url)], 75, true),
    ];
    for (endpoint, vars, code, seen) in cases {
        let env = env(endpoint, &vars);
        let (c, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(c, code, "{vars:?}: {err}");
        let (count, outcomes) = counted(&env);
        assert!(!outcomes.is_empty(), "{vars:?}: every try is recorded");
        for outcome in &outcomes {
            assert_eq!(
                outcome.starts_with("not sent: "),
                !seen,
                "{vars:?}: {outcome}"
            );
        }
        let expected = if seen { outcomes.len() as u64 } else { 0 };
        assert_eq!(count, expected, "{vars:?}: {outcomes:?}");
    }
    // One that reached fixer counts, as ever (the day, then the names).
    let env = env(&fixer.url, &[]);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    assert_eq!(counted(&env), (2, vec!["ok".to_string(), "ok".to_string()]));
}
