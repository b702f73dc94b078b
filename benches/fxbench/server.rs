//! A fixer-compatible HTTP/1.1 server on 127.0.0.1: `latest`, historical
//! `YYYY-MM-DD` and `timeseries` (with weekend keys, as paid plans may send),
//! keep-alive, one thread per connection. It counts requests and the time it
//! spends on them, so that its own share can be taken out of a measurement.
//!
//! It is deliberately not the tests' fake server (`tests/it/common/server.rs`):
//! the benchmark is its own target, built and run outside the test binary
//! (`fxbench serve` runs it alone for profiling), and per request it must
//! cost next to nothing: no recording of requests, no gate, no handler.

use crate::history::History;
use chrono::NaiveDate;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which plan the server plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// `timeseries` allowed (Professional and up).
    Paid,
    /// `timeseries` refused with 105, as on the free plan.
    Free,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    timeseries: AtomicU64,
    historical: AtomicU64,
    latest: AtomicU64,
    handling_ns: AtomicU64,
    body_bytes: AtomicU64,
}

/// What the server saw between two [`Server::reset`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub requests: u64,
    pub timeseries: u64,
    pub historical: u64,
    pub latest: u64,
    /// Time from a request's last header byte to its answer's last byte.
    pub handling: Duration,
    pub body_bytes: u64,
}

pub struct Server {
    pub port: u16,
    counters: Arc<Counters>,
    plan: Arc<AtomicBool>, // true: paid
}

impl Server {
    pub fn start(history: Arc<History>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let counters = Arc::new(Counters::default());
        let plan = Arc::new(AtomicBool::new(true));
        {
            let counters = Arc::clone(&counters);
            let plan = Arc::clone(&plan);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let history = Arc::clone(&history);
                    let counters = Arc::clone(&counters);
                    let plan = Arc::clone(&plan);
                    std::thread::spawn(move || serve(stream, &history, &counters, &plan));
                }
            });
        }
        Server {
            port,
            counters,
            plan,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.port)
    }

    /// The ECB data API's base URL on this server.
    pub fn ecb_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/service", self.port)
    }

    pub fn set_plan(&self, plan: Plan) {
        self.plan.store(plan == Plan::Paid, Ordering::SeqCst);
    }

    /// The counts since the last reset, and resets them.
    pub fn reset(&self) -> Tally {
        let c = &self.counters;
        Tally {
            requests: c.requests.swap(0, Ordering::SeqCst),
            timeseries: c.timeseries.swap(0, Ordering::SeqCst),
            historical: c.historical.swap(0, Ordering::SeqCst),
            latest: c.latest.swap(0, Ordering::SeqCst),
            handling: Duration::from_nanos(c.handling_ns.swap(0, Ordering::SeqCst)),
            body_bytes: c.body_bytes.swap(0, Ordering::SeqCst),
        }
    }
}

fn serve(stream: TcpStream, history: &History, counters: &Counters, plan: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut body = String::with_capacity(2 << 20);
    loop {
        // Request line, then headers up to the empty line.
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split(' ').nth(1).unwrap_or("/").to_string();
        let mut close = false;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if header.eq_ignore_ascii_case("connection: close") {
                close = true;
            }
        }
        let started = Instant::now();
        counters.requests.fetch_add(1, Ordering::Relaxed);
        answer(
            &target,
            history,
            counters,
            plan.load(Ordering::Relaxed),
            &mut body,
        );
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        );
        let ok = writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(body.as_bytes()))
            .and_then(|()| writer.flush())
            .is_ok();
        counters
            .handling_ns
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        counters
            .body_bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        if !ok || close {
            return;
        }
    }
}

/// Renders the answer to `target` (`/api/latest?base=EUR&...`) into `body`.
fn answer(target: &str, history: &History, counters: &Counters, paid: bool, body: &mut String) {
    body.clear();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let function = path.rsplit('/').next().unwrap_or_default();
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let error = |body: &mut String, code: u32, kind: &str| {
        body.push_str(&format!(
            r#"{{"success":false,"error":{{"code":{code},"type":"{kind}","info":"Error {code} from the benchmark server."}}}}"#
        ));
    };
    let date = |s: Option<&str>| s.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    if path.starts_with("/service/data/EXR/") {
        counters.timeseries.fetch_add(1, Ordering::Relaxed);
        let (Some(from), Some(to)) = (date(param("startPeriod")), date(param("endPeriod"))) else {
            return;
        };
        return ecb_csv(from, to.min(history.today), body);
    }
    match function {
        "latest" => {
            counters.latest.fetch_add(1, Ordering::Relaxed);
            let today = history.today;
            let rates = history.rates(today).unwrap_or("{}");
            body.push_str(&format!(
                r#"{{"success":true,"timestamp":{},"base":"EUR","date":"{today}","rates":"#,
                timestamp(today)
            ));
            body.push_str(rates);
            body.push('}');
        }
        "timeseries" => {
            counters.timeseries.fetch_add(1, Ordering::Relaxed);
            if !paid {
                return error(body, 105, "function_access_restricted");
            }
            let (Some(from), Some(to)) = (date(param("start_date")), date(param("end_date")))
            else {
                return error(body, 502, "invalid_start_date");
            };
            if to < from {
                return error(body, 504, "invalid_time_frame");
            }
            if (to - from).num_days() > 365 {
                return error(body, 505, "time_frame_too_long");
            }
            body.push_str(&format!(
                r#"{{"success":true,"timeseries":true,"start_date":"{from}","end_date":"{to}","base":"EUR","rates":{{"#
            ));
            let mut first = true;
            for d in from.iter_days().take_while(|d| *d <= to) {
                if let Some(rates) = history.rates(d) {
                    if !first {
                        body.push(',');
                    }
                    first = false;
                    body.push('"');
                    body.push_str(&d.to_string());
                    body.push_str("\":");
                    body.push_str(rates);
                }
            }
            body.push_str("}}");
        }
        other => {
            counters.historical.fetch_add(1, Ordering::Relaxed);
            let Some(day) = date(Some(other)) else {
                return error(body, 302, "invalid_date");
            };
            let Some(rates) = history.rates(day) else {
                return error(body, 106, "no_rates_available");
            };
            // fixer echoes the asked date, weekends included.
            body.push_str(&format!(
                r#"{{"success":true,"timestamp":{},"historical":true,"base":"EUR","date":"{day}","rates":"#,
                timestamp(day) + 86_399
            ));
            body.push_str(rates);
            body.push('}');
        }
    }
}

fn timestamp(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0)
}

/// The ECB's 30 currencies of today.
const ECB_CODES: [&str; 30] = [
    "AUD", "BGN", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "GBP", "HKD", "HUF", "IDR", "ILS",
    "INR", "ISK", "JPY", "KRW", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "RON", "SEK", "SGD",
    "THB", "TRY", "USD", "ZAR",
];

/// The data API's `detail=dataonly` CSV for every ECB business day from
/// `from` to `to`: 30 rows a day, values with their trailing zeros dropped.
fn ecb_csv(from: NaiveDate, to: NaiveDate, body: &mut String) {
    use std::fmt::Write as _;
    body.push_str("KEY,FREQ,CURRENCY,CURRENCY_DENOM,EXR_TYPE,EXR_SUFFIX,TIME_PERIOD,OBS_VALUE\r\n");
    let mut value = String::new();
    for day in from.iter_days().take_while(|d| *d <= to) {
        if !fxrates::target_calendar::is_business_day(day) {
            continue;
        }
        let i = (day - NaiveDate::from_ymd_opt(1999, 1, 1).unwrap()).num_days() as u64;
        for (j, code) in ECB_CODES.iter().enumerate() {
            value.clear();
            let _ = write!(
                value,
                "{}.{:05}",
                1 + j,
                (i * 7919 + j as u64 * 104_729) % 100_000
            );
            let kept = value.trim_end_matches('0').trim_end_matches('.').len();
            value.truncate(kept);
            let _ = write!(
                body,
                "EXR.D.{code}.EUR.SP00.A,D,{code},EUR,SP00,A,{day},{value}\r\n"
            );
        }
    }
}
