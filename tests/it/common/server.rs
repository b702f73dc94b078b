//! The fake fixer server: real HTTP/1.1 on 127.0.0.1:0, one thread per
//! connection, keep-alive. It records every request, answers each with a
//! handler's [`Reply`] or misbehaves on purpose ([`Behaviour`]), and can
//! hold answers at a gate until the test lets them through.
//!
//! `ingest` asks fixer's `symbols` (the currency names) about once a month,
//! beside the days. A test about days counts and lists only the requests
//! for rates ([`FakeFixer::count`], [`FakeFixer::requests`]), so an extra
//! request for a day still fails it, and its handler never sees `symbols`:
//! the server answers it with [`SYMBOLS_BODY`]. A test about names starts
//! the server with [`FakeFixer::with_symbols`] and counts
//! [`FakeFixer::symbols_count`].

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A request as the fake server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub query: HashMap<String, String>,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub raw_url: String,
    /// The request body, as text (a ping's message).
    pub body: String,
}

impl Seen {
    /// The last path segment below the API base: `latest`, `2024-09-20`, ...
    pub fn function(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }

    /// A request for fixer's currency names.
    pub fn is_symbols(&self) -> bool {
        self.function() == "symbols"
    }
}

/// What the fake server answers.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
        }
    }

    pub fn ok(body: impl Into<String>) -> Reply {
        Reply::json(200, body)
    }

    /// fixer's legacy error envelope, HTTP 200.
    pub fn fixer_error(code: u32, kind: &str) -> Reply {
        Reply::ok(format!(
            r#"{{"success":false,"error":{{"code":{code},"type":"{kind}","info":"Error {code} from the fake server."}}}}"#
        ))
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// What a misbehaving server does once it has read a request: what no HTTP
/// library would write.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Never answers.
    Silent,
    /// Sends the headers, then the body one byte a second.
    Trickle,
    /// Sends a body that never ends.
    Endless,
    /// Closes the connection without a word.
    Hangup,
    /// Writes these bytes as they are, then closes the connection.
    Raw(&'static [u8]),
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

#[derive(Clone)]
enum Mode {
    /// The handler answers; `symbols` too when the flag says so.
    Answer(Arc<Handler>, bool),
    Misbehave(Behaviour),
}

/// fixer's `symbols` answer, as the server gives it unless the test's
/// handler answers `symbols` itself: the names fxrates has compiled in, so
/// that no test about something else sees them change.
pub const SYMBOLS_BODY: &str = r#"{"success":true,"symbols":{"AUD":"Australian Dollar","EUR":"Euro","GBP":"British Pound","USD":"United States Dollar"}}"#;

/// Lets a set number of answers through, then holds each further request
/// until the test allows more (or opens it for good). A held request whose
/// client has gone (killed) is dropped, never answered later.
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

struct GateState {
    open: bool,
    allowed: usize,
    held: usize,
    answered: usize,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            state: Mutex::new(GateState {
                open: true,
                allowed: 0,
                held: 0,
                answered: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// From now on, `n` more answers, then hold.
    pub fn hold_after(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        s.open = false;
        s.allowed = n;
        self.changed.notify_all();
    }

    /// `n` more answers than already allowed.
    pub fn allow(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        s.allowed += n;
        self.changed.notify_all();
    }

    /// Every request is answered from now on, held ones included.
    pub fn open(&self) {
        let mut s = self.state.lock().unwrap();
        s.open = true;
        self.changed.notify_all();
    }

    /// Requests answered since the server started.
    pub fn answered(&self) -> usize {
        self.state.lock().unwrap().answered
    }

    /// Waits until `n` requests are held (panics after 20 s).
    pub fn wait_held(&self, n: usize) {
        self.wait(&format!("{n} held request(s)"), |s| s.held >= n);
    }

    /// Waits until `n` requests have been answered (panics after 20 s).
    pub fn wait_answered(&self, n: usize) {
        self.wait(&format!("{n} answer(s)"), |s| s.answered >= n);
    }

    fn wait(&self, what: &str, done: impl Fn(&GateState) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut s = self.state.lock().unwrap();
        while !done(&s) {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("timed out waiting for {what}"));
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
    }

    /// Blocks until this request may be answered; false if its client went
    /// away meanwhile.
    fn pass(&self, stream: &TcpStream) -> bool {
        let mut s = self.state.lock().unwrap();
        if !s.open && s.allowed == 0 {
            s.held += 1;
            self.changed.notify_all();
            while !s.open && s.allowed == 0 {
                if peer_gone(stream) {
                    s.held -= 1;
                    self.changed.notify_all();
                    return false;
                }
                s = self
                    .changed
                    .wait_timeout(s, Duration::from_millis(20))
                    .unwrap()
                    .0;
            }
            s.held -= 1;
        }
        if !s.open {
            s.allowed -= 1;
        }
        true
    }

    fn answered_one(&self) {
        self.state.lock().unwrap().answered += 1;
        self.changed.notify_all();
    }
}

/// Whether the client closed its end (a killed process's socket is closed
/// by the kernel).
fn peer_gone(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let mut byte = [0u8; 1];
    let gone = match stream.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    gone
}

/// A fixer-compatible HTTP server on 127.0.0.1:0 that records every request.
pub struct FakeFixer {
    /// The API base: `http://127.0.0.1:PORT/api`.
    pub url: String,
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    gate: Arc<Gate>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeFixer {
    /// A server that answers every request for rates with `handler`, and
    /// `symbols` with [`SYMBOLS_BODY`].
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeFixer {
        FakeFixer::serve(Mode::Answer(Arc::new(handler), false))
    }

    /// A server whose `handler` answers every request, `symbols` included.
    pub fn with_symbols(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> FakeFixer {
        FakeFixer::serve(Mode::Answer(Arc::new(handler), true))
    }

    /// A server that reads each request, then misbehaves.
    pub fn misbehaving(behaviour: Behaviour) -> FakeFixer {
        FakeFixer::serve(Mode::Misbehave(behaviour))
    }

    fn serve(mode: Mode) -> FakeFixer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, connections, gate, stop) = (
                Arc::clone(&seen),
                Arc::clone(&connections),
                Arc::clone(&gate),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let conn = Connection {
                        mode: mode.clone(),
                        seen: Arc::clone(&seen),
                        gate: Arc::clone(&gate),
                        stop: Arc::clone(&stop),
                    };
                    std::thread::spawn(move || conn.run(stream));
                }
            })
        };
        FakeFixer {
            url: format!("http://127.0.0.1:{port}/api"),
            port,
            seen,
            connections,
            gate,
            stop,
            thread: Some(thread),
        }
    }

    /// A server that behaves like fixer's free plan: `latest` answers for
    /// `today`, a date path answers that date, `timeseries` is refused (105).
    pub fn free_plan(today: &str) -> FakeFixer {
        let today = today.to_string();
        FakeFixer::start(move |s| match s.function() {
            "latest" => Reply::ok(super::latest_body(&today)),
            "timeseries" => Reply::fixer_error(105, "function_access_restricted"),
            date if super::is_date(date) => Reply::ok(super::historical_body(date)),
            _ => Reply::fixer_error(302, "invalid_date"),
        })
    }

    /// Every request for rates seen so far (all but `symbols`), held ones
    /// included.
    pub fn requests(&self) -> Vec<Seen> {
        self.all_requests()
            .into_iter()
            .filter(|r| !r.is_symbols())
            .collect()
    }

    /// How many requests for rates were seen (all but `symbols`).
    pub fn count(&self) -> usize {
        self.requests().len()
    }

    /// How many requests for the currency names (`symbols`) were seen.
    pub fn symbols_count(&self) -> usize {
        self.all_requests()
            .iter()
            .filter(|r| r.is_symbols())
            .count()
    }

    /// Every request seen so far, of any kind.
    pub fn all_requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The gate in front of the answers: open unless the test closes it.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }
}

impl Drop for FakeFixer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.gate.open();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Connection {
    mode: Mode,
    seen: Arc<Mutex<Vec<Seen>>>,
    gate: Arc<Gate>,
    stop: Arc<AtomicBool>,
}

impl Connection {
    fn run(self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        while let Some((seen, close)) = read_request(&mut reader) {
            self.seen.lock().unwrap().push(seen.clone());
            if !self.gate.pass(reader.get_ref()) {
                return;
            }
            let keep = match &self.mode {
                Mode::Answer(handler, own_symbols) => {
                    let reply = if seen.is_symbols() && !own_symbols {
                        Reply::ok(SYMBOLS_BODY)
                    } else {
                        handler(&seen)
                    };
                    write_reply(&mut writer, &reply, close).is_ok() && !close
                }
                Mode::Misbehave(b) => {
                    misbehave(&mut writer, *b, &self.stop);
                    false
                }
            };
            self.gate.answered_one();
            if !keep {
                return;
            }
        }
    }
}

/// Reads one request head (and any body); `None` at the end of the
/// connection. The flag says whether the client asked to close it.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Seen, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let _method = parts.next()?;
    let raw_url = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let close = headers
        .get("connection")
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let (path, query) = raw_url.split_once('?').unwrap_or((&raw_url, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let seen = Seen {
        path: path.to_string(),
        query,
        headers,
        raw_url: raw_url.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    Some((seen, close))
}

fn write_reply(w: &mut TcpStream, reply: &Reply, close: bool) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(&reply.body)?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn misbehave(w: &mut TcpStream, behaviour: Behaviour, stop: &AtomicBool) {
    let pause = |d: Duration| {
        std::thread::sleep(d);
        !stop.load(Ordering::SeqCst)
    };
    match behaviour {
        Behaviour::Silent => while pause(Duration::from_millis(50)) && !peer_gone(w) {},
        Behaviour::Hangup => {}
        Behaviour::Raw(bytes) => {
            let _ = w.write_all(bytes).and_then(|()| w.flush());
        }
        Behaviour::Trickle => {
            let body = br#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":1.1}}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if w.write_all(head.as_bytes()).is_err() {
                return;
            }
            for b in body {
                if w.write_all(&[*b]).is_err() || !pause(Duration::from_secs(1)) {
                    return;
                }
            }
        }
        Behaviour::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"success\":true,\"base\":\"EUR\",\"date\":\"2024-09-20\",\"rates\":{\"USD\":1.";
            if w.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = [b'1'; 64 * 1024];
            while !stop.load(Ordering::SeqCst) && w.write_all(&chunk).is_ok() {}
        }
    }
}

/// An http URL on which nothing listens: a port that was bound, then freed.
pub fn refused_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/api")
}

/// The ECB's published history, as the fake server answers for it: each
/// day's rates as the ECB writes them (trailing zeros dropped).
#[derive(Clone, Debug, Default)]
pub struct EcbHistory {
    pub days: std::collections::BTreeMap<String, Vec<(String, String)>>,
}

/// The currencies the fake ECB publishes, with a base value each.
pub const ECB_CURRENCIES: [(&str, &str); 5] = [
    ("CHF", "0.9412"),
    ("GBP", "0.8338"),
    ("JPY", "171.2"),
    ("SEK", "11.0355"),
    ("USD", "1.1615"),
];

/// The exact header of the data API's `detail=dataonly` CSV.
pub const ECB_HEADER: &str =
    "KEY,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_SUFFIX,TIME_PERIOD,OBS_VALUE";

impl EcbHistory {
    /// Rates on every TARGET business day from `from` to `to`, as the ECB
    /// publishes them: the closing days are listed here independently of the
    /// code under test.
    pub fn published(from: &str, to: &str, closed: &[&str]) -> EcbHistory {
        let mut days = std::collections::BTreeMap::new();
        for date in super::weekdays(from, to) {
            if closed.contains(&date.as_str()) {
                continue;
            }
            let rates = ECB_CURRENCIES
                .iter()
                .map(|(c, r)| (c.to_string(), r.to_string()))
                .collect();
            days.insert(date, rates);
        }
        EcbHistory { days }
    }

    /// Sets one rate of one day.
    pub fn set(&mut self, date: &str, currency: &str, rate: &str) {
        let rates = self.days.entry(date.to_string()).or_default();
        rates.retain(|(c, _)| c != currency);
        rates.push((currency.to_string(), rate.to_string()));
        rates.sort();
    }

    /// The data API's CSV for `from..=to`, as the ECB orders it: by series
    /// (currency), then date; `None` when the range holds no data.
    pub fn csv(&self, from: &str, to: &str) -> Option<String> {
        self.csv_of(from, to, |_| true)
    }

    /// The data API's CSV of one currency's series (`D.{CUR}.EUR.SP00.A`).
    pub fn series_csv(&self, currency: &str, from: &str, to: &str) -> Option<String> {
        self.csv_of(from, to, |c| c == currency)
    }

    fn csv_of(&self, from: &str, to: &str, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let mut rows: Vec<(String, String, String)> = Vec::new();
        for (date, rates) in self.days.range(from.to_string()..=to.to_string()) {
            for (c, r) in rates.iter().filter(|(c, _)| wanted(c)) {
                rows.push((c.clone(), date.clone(), r.clone()));
            }
        }
        if rows.is_empty() {
            return None;
        }
        rows.sort();
        let mut out = format!("{ECB_HEADER}\r\n");
        for (c, date, r) in rows {
            out.push_str(&format!(
                "EXR.D.{c}.EUR.SP00.A,D,{c},EUR,SP00,A,{date},{r}\r\n"
            ));
        }
        Some(out)
    }

    /// The full-format CSV (no `detail=dataonly`): more columns, in another
    /// order, some quoted and holding commas.
    pub fn full_csv(&self, from: &str, to: &str) -> Option<String> {
        let mut out = String::from(
            "KEY,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_SUFFIX,TIME_PERIOD,OBS_VALUE,\
             OBS_STATUS,TITLE,TITLE_COMPL,UNIT\n",
        );
        let mut any = false;
        for (date, rates) in self.days.range(from.to_string()..=to.to_string()) {
            for (c, r) in rates {
                any = true;
                out.push_str(&format!(
                    "EXR.D.{c}.EUR.SP00.A,D,{c},EUR,SP00,A,{date},{r},A,\"{c}/Euro\",\
                     \"ECB reference exchange rate, {c}/Euro, 2.15 pm (C.E.T.)\",{c}\n"
                ));
            }
        }
        any.then_some(out)
    }

    /// `eurofxref-hist-90d.xml`, newest day first, in double or single
    /// quotes, with trailing zeros kept as the files keep them.
    pub fn xml(&self, single: bool) -> String {
        let mut out = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gesmes:Envelope \
             xmlns:gesmes=\"http://www.gesmes.org/xml/2002-08-01\" \
             xmlns=\"http://www.ecb.int/vocabulary/2002-08-01/eurofxref\">\n\
             \t<gesmes:subject>Reference rates</gesmes:subject>\n\
             \t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\
             \t</gesmes:Sender>\n\t<Cube>\n",
        );
        for (date, rates) in self.days.iter().rev().take(64) {
            out.push_str(&format!("\t\t<Cube time=\"{date}\">\n"));
            for (c, r) in rates {
                // The files keep the trailing zeros the data API drops.
                let r = if r.contains('.') {
                    format!("{r}0")
                } else {
                    r.clone()
                };
                out.push_str(&format!("\t\t\t<Cube currency=\"{c}\" rate=\"{r}\"/>\n"));
            }
            out.push_str("\t\t</Cube>\n");
        }
        out.push_str("\t</Cube>\n</gesmes:Envelope>\n");
        if single { out.replace('"', "'") } else { out }
    }
}

/// How the fake ECB answers the data API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcbApi {
    /// The dataonly CSV; 404 "No results found" for an empty range.
    Csv,
    /// The dataonly CSV; an empty 200 for an empty range.
    EmptyOk,
    /// The full format, with quoted fields.
    FullCsv,
    /// Always this status.
    Status(u16),
    /// 200 with an HTML page.
    Garbage,
    /// 200 with a CSV whose header lacks OBS_VALUE.
    NoValueColumn,
    /// The known outage: 404 "No results found" for every currency at
    /// once, while single-currency queries answer, except `failing`'s
    /// (HTTP 500).
    Outage { failing: Option<&'static str> },
}

/// Which quote style the fake ECB's reference files use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcbQuotes {
    Double,
    Single,
    /// No file (404).
    Missing,
}

impl FakeFixer {
    /// A server that answers as the ECB does: the data API under
    /// `/service/data/EXR/D..EUR.SP00.A` and the reference files under
    /// `/stats/eurofxref/`.
    pub fn ecb(history: EcbHistory, api: EcbApi, files: EcbQuotes) -> FakeFixer {
        FakeFixer::start(move |s| ecb_reply(&history, api, files, s))
    }

    /// The data API's base URL, for `FXRATES_ECB_ENDPOINT`.
    pub fn ecb_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/service", self.port)
    }

    /// The reference files' base URL, for `FXRATES_ECB_FILES`.
    pub fn ecb_files(&self) -> String {
        format!("http://127.0.0.1:{}/stats/eurofxref", self.port)
    }
}

/// The fake ECB's answer to `s`.
pub fn ecb_reply(history: &EcbHistory, api: EcbApi, files: EcbQuotes, s: &Seen) -> Reply {
    let text = |status: u16, kind: &str, body: String| Reply {
        status,
        headers: vec![("Content-Type".into(), kind.into())],
        body: body.into_bytes(),
    };
    if s.path == "/stats/eurofxref/eurofxref-hist-90d.xml" {
        return match files {
            EcbQuotes::Missing => text(404, "text/html", "<html>Not Found</html>".into()),
            q => text(200, "text/xml", history.xml(q == EcbQuotes::Single)),
        };
    }
    let (from, to) = (
        s.query.get("startPeriod").cloned().unwrap_or_default(),
        s.query.get("endPeriod").cloned().unwrap_or_default(),
    );
    let none = || text(404, "text/plain", "No results found.".into());
    // A single currency's series: `D.{CUR}.EUR.SP00.A`.
    if let Some(currency) = s
        .path
        .strip_prefix("/service/data/EXR/D.")
        .and_then(|rest| rest.strip_suffix(".EUR.SP00.A"))
        .filter(|c| c.len() == 3)
    {
        if let EcbApi::Outage { failing: Some(f) } = api
            && f == currency
        {
            return text(500, "text/html", "<html>Trouble</html>".into());
        }
        return history
            .series_csv(currency, &from, &to)
            .map_or_else(none, |b| text(200, "text/csv", b));
    }
    if s.path != "/service/data/EXR/D..EUR.SP00.A" {
        return text(404, "text/html", "<html>Not Found</html>".into());
    }
    match api {
        EcbApi::Outage { .. } => none(),
        EcbApi::Csv => history
            .csv(&from, &to)
            .map_or_else(none, |b| text(200, "text/csv", b)),
        EcbApi::EmptyOk => text(200, "text/csv", history.csv(&from, &to).unwrap_or_default()),
        EcbApi::FullCsv => history
            .full_csv(&from, &to)
            .map_or_else(none, |b| text(200, "text/csv", b)),
        EcbApi::Status(status) => text(status, "text/html", "<html>Trouble</html>".into()),
        EcbApi::Garbage => text(
            200,
            "text/html",
            "<html><body>Maintenance</body></html>".into(),
        ),
        EcbApi::NoValueColumn => text(
            200,
            "text/csv",
            "KEY,FREQ,CURRENCY,TIME_PERIOD\nEXR.D.USD.EUR.SP00.A,D,USD,2024-09-20\n".into(),
        ),
    }
}
