//! `fxrates serve`: the real binary on 127.0.0.1 port 0, asked over real
//! HTTP connections: both APIs, the token rules, caching headers, abuse,
//! the store changing underneath, and a clean stop on SIGTERM or SIGINT.

use crate::common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const THURSDAY: &str = "2024-09-19";
const FRIDAY: &str = "2024-09-20";
const NOW: &str = "2024-09-23T09:00:00Z";

/// The rates every fake answer carries, as the APIs must write them.
const RATES_JSON: &str = r#"{"AUD":1.566015,"BTC":0.0000125511,"EUR":1,"GBP":0.83578,"JPY":132.360679,"USD":1.23396,"XAU":0.000435}"#;
const THURSDAY_RATES: &str = r#"{"EUR":1,"GBP":0.8412,"USD":1.1163}"#;

/// A store holding Thursday (its own rates) and Friday (the usual ones),
/// filled by `ingest` from the fake fixer server.
fn two_days(backend: Backend) -> (FakeFixer, TestEnv) {
    let server = FakeFixer::start(|s| match s.function() {
        "latest" => Reply::ok(latest_body(FRIDAY)),
        _ => Reply::ok(day_body(THURSDAY, THURSDAY_RATES)),
    });
    let env = TestEnv::on(backend, &server.url, "2024-09-20T09:00:00Z");
    assert_eq!(env.run(&["ingest", "--no-heal", "--date", THURSDAY]).0, 0);
    assert_eq!(env.run(&["ingest", "--no-heal"]).0, 0);
    let mut env = env;
    env.now = NOW.into();
    (server, env)
}

/// A running `fxrates serve`; stopped with SIGTERM (or killed) when dropped.
struct Serve {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

/// An answer, read whole.
struct Got {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

impl Serve {
    /// Starts `serve --listen 127.0.0.1:0 ARGS` and waits for the line
    /// saying where it listens.
    fn start(env: &TestEnv, args: &[&str]) -> Serve {
        Serve::try_start(env, args).unwrap_or_else(|(code, log)| panic!("exit {code}: {log}"))
    }

    /// [`Serve::start`], or the exit code and stderr of a refusal.
    fn try_start(env: &TestEnv, args: &[&str]) -> Result<Serve, (i32, String)> {
        let mut all = vec!["serve"];
        if !args.contains(&"--listen") {
            all.extend(["--listen", "127.0.0.1:0"]);
        }
        all.extend_from_slice(args);
        let mut child = env
            .std_cmd(&all)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("info: listening on ").nth(1) {
                    let addr = rest.split([' ', ',']).next().unwrap().to_string();
                    let _ = tx.send(addr);
                }
                lines.lock().unwrap().push(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(Serve {
                child,
                addr: addr.parse().unwrap(),
                log,
            }),
            Err(_) => {
                let status = child.wait().unwrap();
                // The reader thread has seen every line once stderr closed.
                std::thread::sleep(Duration::from_millis(50));
                let text = log.lock().unwrap().join("\n");
                Err((status.code().unwrap_or(-1), text))
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn get(&self, path: &str) -> Got {
        self.request("GET", path, &[])
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Got {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let url = self.url(path);
        let mut response = match method {
            "GET" => {
                let mut req = agent.get(&url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            "HEAD" => {
                let mut req = agent.head(&url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            _ => unreachable!(),
        }
        .unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .unwrap();
        Got {
            status,
            headers,
            body,
        }
    }

    /// Sends SIGTERM and waits for the exit; returns its code and the log.
    fn stop(self) -> (i32, String) {
        self.signal(libc::SIGTERM);
        self.wait()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: the pid is our own child's, which has not been waited for.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the exit; returns its code and the log.
    fn wait(mut self) -> (i32, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log.lock().unwrap().join("\n");
        (status.code().unwrap_or(-1), log)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files of the store (SQLite: the file and anything beside it), each
/// with its length and a hash of its bytes.
fn store_bytes(env: &TestEnv) -> Option<Vec<(String, usize, u64)>> {
    if env.pg.is_some() {
        return None;
    }
    let dir = env.db.parent().unwrap();
    let mut files: Vec<(String, usize, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            use std::hash::{Hash, Hasher};
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).unwrap();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut hasher);
            (
                e.file_name().to_string_lossy().into_owned(),
                bytes.len(),
                hasher.finish(),
            )
        })
        .collect();
    files.sort();
    Some(files)
}

/// The raw text of `"rates":{...}` in a body, as sent.
fn raw_rates(body: &str) -> &str {
    let start = body.find("\"rates\":").unwrap() + "\"rates\":".len();
    let end = body[start..].find('}').unwrap() + start + 1;
    &body[start..end]
}

both_stores! {
    fn the_fixer_api_answers_from_the_store_digit_for_digit(backend) {
        let (_fixer, env) = two_days(backend);
        let before = store_bytes(&env);
        let serve = Serve::start(&env, &[]);

        let latest = serve.get("/api/latest");
        assert_eq!(latest.status, 200);
        assert_eq!(latest.header("content-type"), Some("application/json"));
        let text = latest.text();
        assert!(text.starts_with(r#"{"success":true,"timestamp":"#), "{text}");
        assert_eq!(raw_rates(&text), RATES_JSON);
        let v = latest.json();
        assert_eq!((v["base"].as_str(), v["date"].as_str()), (Some("EUR"), Some(FRIDAY)));
        let fetched = v["timestamp"].as_i64().unwrap();
        assert!((1_726_822_800..1_726_822_860).contains(&fetched), "{fetched}");

        let thursday = serve.get("/api/2024-09-19").json();
        assert_eq!(thursday["historical"], true);
        assert_eq!(thursday["timestamp"], 1_726_790_399);
        assert_eq!(thursday["date"], THURSDAY);
        // A Sunday is the Friday before it, dated as such.
        let sunday = serve.get("/api/2024-09-22?symbols=gbp,USD");
        assert_eq!(
            sunday.text(),
            r#"{"success":true,"timestamp":1726876799,"historical":true,"base":"EUR","date":"2024-09-20","rates":{"GBP":0.83578,"USD":1.23396}}"#
        );
        let usd = serve.get("/api/latest?base=USD&symbols=EUR,GBP,USD").text();
        assert_eq!(raw_rates(&usd), r#"{"EUR":0.810399040488,"GBP":0.677315310059,"USD":1}"#);

        for (path, code, kind) in [
            ("/api/latest?base=XYZ", 201, "invalid_base_currency"),
            ("/api/latest?base=dollars", 201, "invalid_base_currency"),
            ("/api/latest?symbols=GBP,ABC", 202, "invalid_currency_codes"),
            ("/api/yesterday", 302, "invalid_date"),
            ("/api/2024-09-10", 106, "no_rates_available"),
            ("/api/2024-09-24", 106, "no_rates_available"),
            ("/api/timeseries", 501, "no_timeframe_supplied"),
            ("/api/timeseries?start_date=x&end_date=2024-09-20", 502, "invalid_start_date"),
            ("/api/timeseries?start_date=2024-09-19", 503, "invalid_end_date"),
            ("/api/timeseries?start_date=2024-09-20&end_date=2024-09-19", 504, "invalid_time_frame"),
            ("/api/timeseries?start_date=2023-09-19&end_date=2024-09-19", 505, "time_frame_too_long"),
            ("/api/convert?from=EUR&to=ABC&amount=1", 402, "invalid_to_currency"),
            ("/api/convert?from=EUR&to=USD&amount=ten", 403, "invalid_conversion_amount"),
        ] {
            let got = serve.get(path);
            assert_eq!(got.status, 200, "{path}");
            assert_eq!(got.header("cache-control"), Some("no-store"), "{path}");
            let v = got.json();
            assert_eq!(v["success"], false, "{path}");
            assert_eq!((v["error"]["code"].as_u64(), v["error"]["type"].as_str()), (Some(code), Some(kind)), "{path}");
        }

        let series = serve.get("/api/timeseries?start_date=2024-09-18&end_date=2024-09-20&symbols=GBP").text();
        assert_eq!(
            series,
            r#"{"success":true,"timeseries":true,"start_date":"2024-09-18","end_date":"2024-09-20","base":"EUR","rates":{"2024-09-19":{"GBP":0.8412},"2024-09-20":{"GBP":0.83578}}}"#
        );
        let fluctuation = serve.get("/api/fluctuation?start_date=2024-09-19&end_date=2024-09-20&symbols=GBP").json();
        let gbp = &fluctuation["rates"]["GBP"];
        assert_eq!(gbp["start_rate"].to_string(), "0.8412");
        assert_eq!(gbp["end_rate"].to_string(), "0.83578");
        assert_eq!(gbp["change"].to_string(), "-0.00542");
        let convert = serve.get("/api/convert?from=EUR&to=GBP&amount=25.50&date=2024-09-21").text();
        assert_eq!(
            convert,
            r#"{"success":true,"query":{"from":"EUR","to":"GBP","amount":25.50},"info":{"timestamp":1726876799,"rate":0.83578},"historical":true,"date":"2024-09-20","result":21.31239}"#
        );
        let convert = serve.get("/api/convert?from=USD&to=GBP&amount=10&date=2024-09-19").json();
        assert_eq!(convert["result"].to_string(), "7.53560870734");
        let convert = serve.get("/api/convert?from=EUR&to=GBP&amount=25.50").text();
        assert!(convert.ends_with(r#""date":"2024-09-20","result":21.31239}"#), "{convert}");
        let symbols = serve.get("/api/symbols").json();
        assert_eq!(symbols["success"], true);
        assert_eq!(symbols["symbols"]["USD"], "United States Dollar");
        assert_eq!(symbols["symbols"]["BTC"], "Bitcoin");

        let (code, log) = serve.stop();
        assert_eq!(code, 0, "{log}");
        assert_eq!(store_bytes(&env), before, "serving changed the store");
    }

    fn the_frankfurter_api_answers_at_the_root_and_under_v1(backend) {
        let (_fixer, env) = two_days(backend);
        let serve = Serve::start(&env, &[]);

        for prefix in ["", "/v1"] {
            let latest = serve.get(&format!("{prefix}/latest")).text();
            let without_eur = RATES_JSON.replace(r#""EUR":1,"#, "");
            assert_eq!(
                latest,
                format!(r#"{{"amount":1.0,"base":"EUR","date":"2024-09-20","rates":{without_eur}}}"#)
            );
            // What a client told the host http://ADDR asks.
            let usd = serve.get(&format!("{prefix}/latest?amount=10.00&base=USD&symbols=GBP")).text();
            assert_eq!(usd, r#"{"amount":10.0,"base":"USD","date":"2024-09-20","rates":{"GBP":6.77315310059}}"#);
            let eur = serve.get(&format!("{prefix}/2024-09-22?from=EUR&to=GBP,USD&amount=3")).text();
            assert_eq!(eur, r#"{"amount":3.0,"base":"EUR","date":"2024-09-20","rates":{"GBP":2.50734,"USD":3.70188}}"#);
        }
        let range = serve.get("/2024-09-19..2024-09-20?symbols=GBP").text();
        assert_eq!(
            range,
            r#"{"amount":1.0,"base":"EUR","start_date":"2024-09-19","end_date":"2024-09-20","rates":{"2024-09-19":{"GBP":0.8412},"2024-09-20":{"GBP":0.83578}}}"#
        );
        // A first day without rates starts at the stored day before it.
        let open = serve.get("/v1/2024-09-20..?to=USD").json();
        assert_eq!((open["start_date"].as_str(), open["end_date"].as_str()), (Some(FRIDAY), Some(FRIDAY)));
        let weekend = serve.get("/2024-09-21..2024-09-22?to=USD").json();
        assert_eq!(weekend["start_date"], FRIDAY);
        assert_eq!(weekend["rates"][FRIDAY]["USD"].to_string(), "1.23396");

        let currencies = serve.get("/currencies").json();
        assert_eq!(currencies["GBP"], "British Pound");
        assert_eq!(currencies["XAU"], "Gold (Troy Ounce)");

        for (path, status) in [
            ("/nothing", 404),
            ("/2024-09-01", 404),
            ("/v1/1999-13-01", 404),
            ("/latest?base=XYZ", 422),
            ("/latest?symbols=ABC", 422),
            ("/latest?amount=-1", 422),
            ("/latest?amount=1e3", 422),
        ] {
            let got = serve.get(path);
            assert_eq!(got.status, status, "{path}: {}", got.text());
            assert!(got.json()["message"].is_string(), "{path}");
            assert_eq!(got.header("cache-control"), Some("no-store"), "{path}");
        }
        let (code, _) = serve.stop();
        assert_eq!(code, 0);
    }

    fn new_days_are_served_at_once_with_a_new_etag(backend) {
        let (_fixer, env) = two_days(backend);
        let serve = Serve::start(&env, &[]);
        let first = serve.get("/api/latest");
        let etag = first.header("etag").unwrap().to_string();
        let again = serve.request("GET", "/api/latest", &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());

        // Asked often enough that every store thread has computed it.
        for _ in 0..20 {
            assert_eq!(serve.get("/api/latest").header("etag"), Some(etag.as_str()));
        }

        crate::seed::store_days(&env, &[("2024-09-23", vec![("EUR", "1"), ("GBP", "0.8399")])]);
        for _ in 0..20 {
            let after = serve.request("GET", "/api/latest", &[("If-None-Match", &etag)]);
            assert_eq!(after.status, 200);
            assert_ne!(after.header("etag").unwrap(), etag);
            assert_eq!(after.json()["date"], "2024-09-23");
        }
        assert_eq!(serve.get("/latest?symbols=GBP").json()["rates"]["GBP"].to_string(), "0.8399");
    }

    fn healthz_is_status_and_metrics_count_requests(backend) {
        let (_fixer, env) = two_days(backend);
        let serve = Serve::start(&env, &[]);
        let (code, status_json, _) = env.run(&["status", "--format", "json"]);
        let health = serve.get("/healthz");
        assert_eq!(health.status, if code == 0 { 200 } else { 503 });
        let mut served = health.json();
        let mut expected: serde_json::Value = serde_json::from_str(&status_json).unwrap();
        served["last_runs"] = serde_json::Value::Null;
        expected["last_runs"] = serde_json::Value::Null;
        assert_eq!(served, expected);

        serve.get("/api/latest");
        serve.get("/nothing");
        let metrics = serve.get("/metrics");
        assert_eq!(metrics.status, 200);
        assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
        let text = metrics.text();
        assert!(text.contains("fxrates_http_requests_total{endpoint=\"api_latest\",status=\"200\"} 1\n"), "{text}");
        assert!(text.contains("fxrates_http_requests_total{endpoint=\"other\",status=\"404\"} 1\n"), "{text}");
        assert!(text.contains("fxrates_http_request_duration_seconds_bucket{le=\"+Inf\"} "), "{text}");
        assert!(text.contains("fxrates_stored_days 2\n"), "{text}");
    }
}

#[test]
fn caching_headers_conditional_requests_head_gzip_and_cors() {
    let (_fixer, env) = two_days(Backend::Sqlite);
    // A year of days, so that a timeseries is large enough to be gzipped.
    let dates = weekdays("2023-09-25", "2024-09-18");
    let rows: Vec<(&str, Vec<(&str, &str)>)> = dates
        .iter()
        .map(|d| (d.as_str(), RATES_SHOWN.to_vec()))
        .collect();
    crate::seed::store_days(&env, &rows);
    let serve = Serve::start(&env, &["--max-age", "60", "--cors", "https://app.example"]);

    let got = serve.get("/api/2024-09-19");
    assert_eq!(got.header("cache-control"), Some("public, max-age=60"));
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let etag = got.header("etag").unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let modified = got.header("last-modified").unwrap().to_string();
    assert_eq!(modified, "Fri, 20 Sep 2024 09:00:00 GMT");

    let by_date = serve.request(
        "GET",
        "/api/2024-09-19",
        &[("If-Modified-Since", &modified)],
    );
    assert_eq!(by_date.status, 304);
    assert_eq!(by_date.header("etag"), Some(etag.as_str()));
    let older = serve.request(
        "GET",
        "/api/2024-09-19",
        &[("If-Modified-Since", "Thu, 19 Sep 2024 09:00:00 GMT")],
    );
    assert_eq!(older.status, 200);
    let other = serve.request("GET", "/api/2024-09-19", &[("If-None-Match", "\"other\"")]);
    assert_eq!(other.status, 200);

    let head = serve.request("HEAD", "/api/2024-09-19", &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length").unwrap(),
        got.body.len().to_string()
    );
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    let path = "/api/timeseries?start_date=2023-09-20&end_date=2024-09-19";
    let plain = serve.get(path);
    assert!(plain.body.len() > 16 * 1024, "{}", plain.body.len());
    assert_eq!(plain.header("content-encoding"), None);
    let packed = serve.request("GET", path, &[("Accept-Encoding", "gzip")]);
    assert_eq!(packed.header("content-encoding"), Some("gzip"));
    assert_eq!(packed.header("vary"), Some("Accept-Encoding"));
    assert_ne!(packed.header("etag"), plain.header("etag"));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&packed.body[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, plain.body);
    assert!(packed.body.len() * 4 < plain.body.len());
    let series = plain.json();
    assert_eq!(series["rates"].as_object().unwrap().len(), dates.len() + 1);
    // Kept once computed, plain and gzipped alike, on every store thread,
    // until a day stored in the range changes both.
    for _ in 0..8 {
        let again = serve.get(path);
        assert_eq!(
            (again.body.as_slice(), again.header("etag")),
            (plain.body.as_slice(), plain.header("etag"))
        );
        let again = serve.request("GET", path, &[("Accept-Encoding", "gzip")]);
        assert_eq!(
            (again.body.as_slice(), again.header("etag")),
            (packed.body.as_slice(), packed.header("etag"))
        );
    }
    crate::seed::store_days(&env, &[("2023-09-21", RATES_SHOWN.to_vec())]);
    let changed = serve.get(path);
    assert_ne!(changed.header("etag"), plain.header("etag"));
    assert_eq!(
        changed.json()["rates"].as_object().unwrap().len(),
        dates.len() + 2
    );
    let repacked = serve.request("GET", path, &[("Accept-Encoding", "gzip")]);
    assert_ne!(repacked.header("etag"), packed.header("etag"));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&repacked.body[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, changed.body);

    // Two requests on one connection: keep-alive.
    let mut stream = TcpStream::connect(serve.addr).unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET /latest HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let head = read_head(&mut stream);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let length: usize = header_of(&head, "content-length").unwrap().parse().unwrap();
        let mut body = vec![0; length];
        stream.read_exact(&mut body).unwrap();
    }
    stream
        .write_all(b"POST /latest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
}

/// Reads a response's status line and headers.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Sends `raw` on a new connection and reads until the server closes it
/// (at most 10 s); the answer, and how long the server took.
fn exchange(addr: SocketAddr, raw: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(raw);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn tokens_are_required_off_loopback_and_checked_in_every_form() {
    let (_fixer, env) = two_days(Backend::Sqlite);
    let (code, log) = Serve::try_start(&env, &["--listen", "0.0.0.0:0"])
        .err()
        .unwrap();
    assert_eq!(code, 78, "{log}");
    assert!(log.contains("FXRATES_TOKEN_FILE"), "{log}");
    assert_eq!(log.lines().count(), 1, "{log}");

    let token = "serve-token-0123456789abcdef";
    let file = env.path().join("token");
    std::fs::write(&file, format!("{token}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file_text = file.to_str().unwrap();
    let (code, log) = Serve::try_start(&env, &["--token-file", file_text])
        .err()
        .unwrap();
    assert_eq!(code, 78, "{log}");
    assert!(log.contains("chmod 600"), "{log}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let serve = Serve::start(&env, &["--token-file", file_text]);
    let missing = serve.get("/api/latest").json();
    assert_eq!(missing["error"]["code"], 101);
    assert_eq!(missing["error"]["type"], "missing_access_key");
    let wrong = serve.get("/api/latest?access_key=wrong-token").json();
    assert_eq!(wrong["error"]["type"], "invalid_access_key");
    let refused = serve.get("/latest");
    assert_eq!(refused.status, 401);
    assert!(refused.json()["message"].is_string());
    assert_eq!(
        serve
            .request("GET", "/latest", &[("apikey", "nope")])
            .status,
        401
    );

    assert_eq!(
        serve.get(&format!("/api/latest?access_key={token}")).json()["success"],
        true
    );
    assert_eq!(
        serve
            .request("GET", "/api/latest", &[("apikey", token)])
            .json()["success"],
        true
    );
    let bearer = format!("Bearer {token}");
    let got = serve.request("GET", "/v1/latest", &[("Authorization", &bearer)]);
    assert_eq!(got.status, 200);

    let (code, log) = serve.stop();
    assert_eq!(code, 0);
    // One line per request, with the path but never the query string.
    assert!(log.contains("GET /api/latest 200 "), "{log}");
    assert!(log.contains("GET /latest 401 "), "{log}");
    assert!(!log.contains(token) && !log.contains("access_key"), "{log}");
}

#[test]
fn abusive_clients_are_cut_off_and_others_still_served() {
    let (_fixer, env) = two_days(Backend::Sqlite);
    let slow = Serve::start(&env, &["--header-timeout-ms", "300"]);
    // Headers sent slowly: cut after the header timeout.
    let (answer, took) = exchange(slow.addr, b"GET /latest HTTP/1.1\r\nHost: x\r\n");
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    let (code, log) = slow.stop();
    assert_eq!(code, 0, "{log}");

    // The real header timeout (10 s) keeps idle connections open for the
    // rest of the test.
    let serve = Serve::start(&env, &["--max-connections", "4"]);
    // Headers over 16 KiB.
    let big = format!(
        "GET /latest HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(17 * 1024)
    );
    let (answer, _) = exchange(serve.addr, big.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // A request line, or a query once decoded, that is not UTF-8.
    let (answer, _) = exchange(serve.addr, b"GET /lat\xffest HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let (answer, _) = exchange(
        serve.addr,
        b"GET /latest?base=%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    // A flood: four idle connections hold every slot; the fifth gets a
    // quick 503, and once they are gone others are served again.
    let idle: Vec<TcpStream> = (0..4)
        .map(|_| {
            let s = TcpStream::connect(serve.addr).unwrap();
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    // The server counts a connection once it accepted it: a request on
    // each proves they are all accepted.
    for s in &idle {
        let mut s = s.try_clone().unwrap();
        s.write_all(b"GET /latest HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert!(read_head(&mut s).starts_with("HTTP/1.1 200"));
    }
    let (answer, took) = exchange(serve.addr, b"GET /latest HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    drop(idle);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (answer, _) = exchange(
            serve.addr,
            b"GET /latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {answer}");
        std::thread::yield_now();
    }
    let (code, log) = serve.stop();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn an_idle_keep_alive_connection_does_not_hold_up_the_stop() {
    let (_fixer, env) = two_days(Backend::Sqlite);
    let serve = Serve::start(&env, &[]);
    // An open keep-alive connection does not hold the stop up.
    let mut open = TcpStream::connect(serve.addr).unwrap();
    open.write_all(b"GET /latest HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(read_head(&mut open).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let (code, log) = serve.stop();
    assert_eq!(code, 0, "{log}");
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(log.contains("stopping"), "{log}");
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn sigint_stops_accepting_finishes_the_request_in_flight_and_exits_zero() {
    stops_gracefully_on(libc::SIGINT);
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn sigterm_stops_accepting_finishes_the_request_in_flight_and_exits_zero() {
    stops_gracefully_on(libc::SIGTERM);
}

/// `signal` stops serve as its operator expects: no new connection, the
/// request in flight (held at the store by a lock) answered whole, exit 0.
/// PostgreSQL's view of the lock says, without a race, that the request is
/// in flight when the signal is sent.
fn stops_gracefully_on(signal: i32) {
    let (_fixer, env) = two_days(Backend::Postgres);
    let pg = env.pg.clone().unwrap();
    // The URL's application name finds serve's connections.
    let name = unique_schema("serve_sigint");
    let mut env = env;
    env.extra_env.retain(|(k, _)| k != "FXRATES_DB");
    let env = env.env("FXRATES_DB", &format!("{}?application_name={name}", pg.url));
    let serve = Serve::start(&env, &[]);
    assert_eq!(serve.get("/api/latest").status, 200);

    // The gate: a lock on the days holds the next read of the store.
    let mut admin = admin();
    let mut gate = admin.transaction().unwrap();
    gate.batch_execute(&format!(
        "LOCK TABLE \"{}\".days IN ACCESS EXCLUSIVE MODE",
        pg.schema
    ))
    .unwrap();
    let addr = serve.addr;
    let in_flight = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /api/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        all
    });
    let until = Instant::now() + Duration::from_secs(30);
    let waiting = || {
        !admin_query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 \
             AND wait_event_type = 'Lock'",
            &name,
        )
    };
    while waiting() {
        assert!(
            Instant::now() < until,
            "the request never reached the store"
        );
        std::thread::yield_now();
    }

    serve.signal(signal);
    // Once it says so, it accepts no more connections...
    let until = Instant::now() + Duration::from_secs(30);
    while !serve
        .log
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("stopping"))
    {
        assert!(Instant::now() < until, "signal {signal} was not heard");
        std::thread::yield_now();
    }
    assert!(TcpStream::connect(addr).is_err());
    // ...and the request in flight is answered whole once the store is.
    gate.rollback().unwrap();
    let answer = in_flight.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["date"], FRIDAY);
    let (code, log) = serve.wait();
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("GET /api/latest 200"), "{log}");
}

/// Whether `query` (with `$1` = `arg`) returns a row, on a new connection.
fn admin_query(query: &str, arg: &str) -> bool {
    admin().query_opt(query, &[&arg]).unwrap().is_some()
}

#[test]
fn a_replaced_store_gives_503_until_it_is_back() {
    let (_fixer, env) = two_days(Backend::Sqlite);
    let serve = Serve::start(&env, &[]);
    assert_eq!(serve.get("/api/latest").status, 200);
    let saved = env.db.with_extension("saved");
    std::fs::rename(&env.db, &saved).unwrap();
    std::fs::write(&env.db, b"this is not a database, it is far too short").unwrap();
    let broken = serve.get("/api/latest");
    assert_eq!(broken.status, 503);
    assert!(
        broken.json()["message"]
            .as_str()
            .unwrap()
            .contains("try again")
    );
    assert_eq!(broken.header("cache-control"), Some("no-store"));
    assert!(!broken.text().contains(env.db.to_str().unwrap()));
    assert_eq!(serve.get("/latest").status, 503);
    std::fs::rename(&saved, &env.db).unwrap();
    assert_eq!(serve.get("/api/latest").json()["date"], FRIDAY);
    assert_eq!(serve.get("/latest").status, 200);
}

#[test]
fn a_missing_store_is_refused_and_not_created() {
    let env = TestEnv::new("http://127.0.0.1:9", NOW);
    let (code, log) = Serve::try_start(&env, &[]).err().unwrap();
    assert_eq!(code, 66, "{log}");
    assert!(log.contains("no database"), "{log}");
    assert!(!env.store_exists());
}

/// A plan that answers `symbols` too, with fixer's own names (one of them
/// hostile, one key not a code).
fn with_names() -> FakeFixer {
    FakeFixer::with_symbols(|s| match s.function() {
        "latest" => Reply::ok(latest_body(FRIDAY)),
        "symbols" => Reply::ok(
            r#"{"success":true,"symbols":{"USD":"United States Dollar (fixer)","GBP":"British Pound Sterling","JPY":"Japanese Yen\u001b[2J","x1":"nothing"}}"#,
        ),
        _ => Reply::ok(day_body(THURSDAY, THURSDAY_RATES)),
    })
}

both_stores! {
    fn fixers_currency_names_are_listed_and_served(backend) {
        let server = with_names();
        let env = TestEnv::on(backend, &server.url, "2024-09-20T09:00:00Z");
        assert_eq!(env.run(&["ingest", "--no-heal", "--date", THURSDAY]).0, 0);
        let (code, _, err) = env.run(&["ingest", "--no-heal"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(server.symbols_count(), 1);

        let (code, csv, err) = env.run(&["currencies", "--format", "csv"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "code,name,first,last");
        assert!(lines.contains(&"USD,United States Dollar (fixer),2024-09-19,2024-09-20"), "{csv}");
        assert!(lines.contains(&"AUD,Australian Dollar,2024-09-20,2024-09-20"), "{csv}");
        assert!(lines.contains(&"BTC,Bitcoin,2024-09-20,2024-09-20"), "{csv}");
        assert!(!csv.contains('\u{1b}'), "{csv:?}");
        let (_, json, _) = env.run(&["currencies", "--format", "json"]);
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 7);
        let (_, table, _) = env.run(&["currencies"]);
        assert!(table.lines().any(|l| l.starts_with("GBP") && l.contains("British Pound Sterling") && l.ends_with("2024-09-19  2024-09-20")), "{table}");

        let mut env = env;
        env.now = NOW.into();
        let serve = Serve::start(&env, &[]);
        let names = serve.get("/currencies").json();
        assert_eq!(names["USD"], "United States Dollar (fixer)");
        assert_eq!(names["AUD"], "Australian Dollar");
        assert_eq!(serve.get("/api/symbols").json()["symbols"]["GBP"], "British Pound Sterling");
    }
}

#[test]
#[ignore = "needs FXRATES_TEST_DATABASE_URL (.ci/pg-test-server starts one)"]
fn a_postgresql_store_that_goes_away_gives_503_until_it_is_back() {
    let (_fixer, env) = two_days(Backend::Postgres);
    let serve = Serve::start(&env, &[]);
    assert_eq!(serve.get("/api/latest").status, 200);
    let schema = env.pg.as_ref().unwrap().schema.clone();
    let mut admin = admin();
    admin
        .batch_execute(&format!("ALTER SCHEMA {schema} RENAME TO {schema}_away"))
        .unwrap();
    for path in ["/api/latest", "/latest", "/api/latest"] {
        let got = serve.get(path);
        assert_eq!(got.status, 503, "{path}: {}", got.text());
        assert!(
            got.json()["message"]
                .as_str()
                .unwrap()
                .contains("try again")
        );
    }
    admin
        .batch_execute(&format!("ALTER SCHEMA {schema}_away RENAME TO {schema}"))
        .unwrap();
    for _ in 0..8 {
        assert_eq!(serve.get("/api/latest").json()["date"], FRIDAY);
    }
    let (code, log) = serve.stop();
    assert_eq!(code, 0, "{log}");
}

/// `serve` has no `--provider`: it judges the history by FXRATES_PROVIDER,
/// as `status` does through its flag's variable, and both say the same.
#[test]
fn healthz_judges_by_the_provider_variable_as_status_does() {
    use crate::ecb::{EASTER_2024, ecb_env};
    let history = EcbHistory::published("2024-01-02", "2024-04-10", &EASTER_2024);
    let ecb = FakeFixer::ecb(history, EcbApi::Csv, EcbQuotes::Missing);
    let env = ecb_env(Backend::Sqlite, &ecb, "2024-04-10T15:00:00Z");
    assert_eq!(env.run(&["ingest"]).0, 0);
    let serve = Serve::start(&env, &[]);
    let (code, status_json, err) = env.run(&["status", "--format", "json"]);
    // By the ECB's calendar Easter is not missing: healthy.
    assert_eq!(code, 0, "{err}");
    let health = serve.get("/healthz");
    assert_eq!(health.status, 200);
    let mut served = health.json();
    let mut expected: serde_json::Value = serde_json::from_str(&status_json).unwrap();
    assert_eq!(served["provider"], "ecb");
    served["last_runs"] = serde_json::Value::Null;
    expected["last_runs"] = serde_json::Value::Null;
    assert_eq!(served, expected);
}
