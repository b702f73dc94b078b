//! `fxrates serve`: the stored history over HTTP, read-only.
//!
//! One async thread (a tokio current-thread runtime, created here only:
//! the rest of fxrates is synchronous) runs hyper's HTTP/1.1 server; the
//! store is read on threads of its own ([`pool`]), each request as a
//! synchronous job. A thread keeps the answers it computed only while the
//! store reports no change (SQLite's `data_version`; nothing is kept on
//! PostgreSQL), so a day stored by `ingest` while the server runs is served
//! by the next request.
//!
//! - [`fixer`]: fixer.io's API under `/api/`; [`frankfurter`]: Frankfurter's
//!   at the root and under `/v1/`; [`rates`]: what both write of a day.
//! - [`http`]: validators, 304s, caching headers, gzip; [`auth`]: the
//!   token; [`metrics`]: the request counters of `/metrics`.
//! - [`query`]: the query string, decoded.

mod answer;
mod auth;
mod fixer;
mod frankfurter;
mod http;
mod metrics;
mod pool;
mod query;
mod rates;

pub(crate) use http::Options as HttpOptions;

use crate::clock::Now;
use crate::secret::Secret;
use crate::store::{Reader, StoreError, Target};
use answer::Answer;
use chrono::{Local, NaiveDate};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::signal::unix::{SignalKind, signal};

/// The most a client may send as its request line and headers.
const MAX_HEAD: usize = 16 * 1024;

/// How long requests in flight may take to finish once told to stop.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What `/healthz` and `/metrics` report of the store, computed by the
/// command layer (which knows `status`).
pub(crate) struct Health {
    pub healthy: bool,
    /// `status --format json`'s body.
    pub json: Vec<u8>,
    /// `status --format prometheus`'s text.
    pub prometheus: String,
}

pub(crate) type HealthCheck = dyn Fn(&dyn Reader) -> Result<Health, StoreError> + Send + Sync;

/// Everything the server needs, resolved by the command.
pub(crate) struct Config {
    pub target: Target,
    pub token: Option<Secret>,
    pub http: HttpOptions,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub now: Now,
    pub health: Arc<HealthCheck>,
}

struct State {
    pool: pool::Pool,
    token: Option<auth::Token>,
    http: HttpOptions,
    now: Now,
    health: Arc<HealthCheck>,
    counters: metrics::Counters,
}

impl State {
    /// Today's local date, moving on while the server runs.
    fn today(&self) -> NaiveDate {
        self.now.current().with_timezone(&Local).date_naive()
    }
}

/// Serves on `listener` until SIGTERM or SIGINT, then lets the requests in
/// flight finish (for at most [`STOP_GRACE`]).
pub(crate) fn run(config: Config, listener: std::net::TcpListener) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let (pool, threads) = pool::Pool::start(&config.target);
    let served = runtime.block_on(serve(config, pool, listener));
    // Dropping the runtime drops every task, and with them the pool: its
    // threads then close their stores.
    drop(runtime);
    threads.join(STOP_GRACE);
    served
}

async fn serve(
    config: Config,
    pool: pool::Pool,
    listener: std::net::TcpListener,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let state = Arc::new(State {
        pool,
        token: config.token.as_ref().map(auth::Token::new),
        http: config.http,
        now: config.now,
        health: config.health,
        counters: metrics::Counters::default(),
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Without a timer hyper silently ignores the header timeout.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some
                    // to be closed rather than spin.
                    log::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        };
        let _ = stream.set_nodelay(true);
        if open.load(Ordering::Relaxed) >= config.max_connections {
            tokio::spawn(refuse(stream));
            continue;
        }
        let slot = Slot::take(&open);
        let state = Arc::clone(&state);
        let service = service_fn(move |req| {
            let state = Arc::clone(&state);
            async move { Ok::<_, std::convert::Infallible>(handle(&state, req).await) }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = conn.await {
                log::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    log::info!("stopping: finishing the requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(STOP_GRACE) => {
            log::warn!("requests still in flight after {} s were cut off", STOP_GRACE.as_secs());
        }
    }
    Ok(())
}

/// One open connection, counted while it lives.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: &Arc<AtomicUsize>) -> Slot {
        open.fetch_add(1, Ordering::Relaxed);
        Slot(Arc::clone(open))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection past `--max-connections`: a 503 at once, then closed,
/// without reading the request (which may never come).
async fn refuse(mut stream: tokio::net::TcpStream) {
    const BODY: &str = r#"{"message":"too many connections; try again shortly"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\ncache-control: no-store\r\n\
         connection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// Which API a path belongs to, and its name in the metrics.
enum Route<'a> {
    Fixer(&'a str),
    Frankfurter(&'a str),
    Health,
    Metrics,
}

impl<'a> Route<'a> {
    fn of(path: &'a str) -> Route<'a> {
        match path {
            "/healthz" => Route::Health,
            "/metrics" => Route::Metrics,
            _ => match path.strip_prefix("/api") {
                Some("") => Route::Fixer(""),
                Some(rest) if rest.starts_with('/') => Route::Fixer(&rest[1..]),
                _ => Route::Frankfurter(
                    path.strip_prefix("/v1")
                        .filter(|p| p.starts_with('/'))
                        .unwrap_or(path),
                ),
            },
        }
    }

    /// The endpoint, as `/metrics` counts it: a fixed set of names, so that
    /// clients cannot grow the counters without bound.
    fn endpoint(&self) -> &'static str {
        match self {
            Route::Health => "healthz",
            Route::Metrics => "metrics",
            Route::Fixer(f) => match *f {
                "latest" => "api_latest",
                "timeseries" => "api_timeseries",
                "fluctuation" => "api_fluctuation",
                "convert" => "api_convert",
                "symbols" => "api_symbols",
                f if crate::calendar::parse_date(f).is_some() => "api_historical",
                _ => "api_other",
            },
            Route::Frankfurter(p) => match *p {
                "/latest" => "latest",
                "/currencies" => "currencies",
                p if p.contains("..") => "range",
                p if crate::calendar::parse_date(&p[1.min(p.len())..]).is_some() => "historical",
                _ => "other",
            },
        }
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<http::Body> {
    let started = Instant::now();
    let path = req.uri().path().to_string();
    let route = Route::of(&path);
    let endpoint = route.endpoint();
    let response = respond(state, &route, &req).await;
    let status = response.status().as_u16();
    let took = started.elapsed();
    state.counters.record(endpoint, status, took);
    // The path only: a query string may hold the token.
    log::info!(
        "{} {path} {status} {:.1} ms",
        req.method(),
        took.as_secs_f64() * 1000.0
    );
    response
}

async fn respond(
    state: &State,
    route: &Route<'_>,
    req: &Request<Incoming>,
) -> Response<http::Body> {
    let headers = req.headers();
    let fixer = matches!(route, Route::Fixer(_));
    let plain = |answer| http::respond(answer, headers, &state.http);
    match *req.method() {
        Method::GET | Method::HEAD => {}
        Method::OPTIONS if state.http.cors.is_some() => return preflight(&state.http),
        _ => {
            let mut response = plain(Answer::message(
                StatusCode::METHOD_NOT_ALLOWED,
                "only GET and HEAD are served",
            ));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
    }
    let Some(params) = query::Params::parse(req.uri().query()) else {
        return plain(Answer::message(
            StatusCode::BAD_REQUEST,
            "the query string is not UTF-8 once decoded",
        ));
    };
    if let Some(token) = &state.token {
        let verdict = token.check(headers, &params);
        if verdict != auth::Verdict::Allowed {
            let missing = verdict == auth::Verdict::Missing;
            return plain(if fixer {
                fixer::unauthorized(missing)
            } else if missing {
                Answer::message(
                    StatusCode::UNAUTHORIZED,
                    "no token: send it as Authorization: Bearer TOKEN, an apikey header, or access_key=TOKEN",
                )
            } else {
                Answer::message(StatusCode::UNAUTHORIZED, "the token is not valid")
            });
        }
    }
    let today = state.today();
    // What the answer depends on: the path, the query and the date (which
    // moves the edge between a day and the future).
    let key = format!("{today} {}", req.uri());
    let gzip = http::accepts_gzip(headers);
    let read = match route {
        Route::Fixer(function) => {
            let function = function.to_string();
            state
                .pool
                .answer(key, gzip, move |store| {
                    fixer::answer(store, &function, &params, today)
                })
                .await
        }
        Route::Frankfurter(path) => {
            let path = path.to_string();
            state
                .pool
                .answer(key, gzip, move |store| {
                    frankfurter::answer(store, &path, &params, today)
                })
                .await
        }
        Route::Health => {
            let check = Arc::clone(&state.health);
            state.pool.read(move |store| check(store)).await.map(|h| {
                let status = if h.healthy {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                Answer {
                    status,
                    body: h.json.into(),
                    content_type: answer::JSON,
                    last_modified: None,
                    cacheable: false,
                    etag: None,
                    gzip: None,
                }
            })
        }
        Route::Metrics => {
            let check = Arc::clone(&state.health);
            let gauges = state.pool.read(move |store| check(store)).await;
            let mut text = state.counters.render();
            // The server's own counters are worth reading even when the
            // store is not; fxrates_up says whether it was.
            match gauges {
                Ok(h) => text.push_str(&h.prometheus),
                Err(_) => text.push_str(
                    "# HELP fxrates_store_up Whether the store could be read.\n\
                     # TYPE fxrates_store_up gauge\nfxrates_store_up 0\n",
                ),
            }
            Ok(Answer {
                status: StatusCode::OK,
                body: text.into(),
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                last_modified: None,
                cacheable: false,
                etag: None,
                gzip: None,
            })
        }
    };
    let answer = match read {
        Ok(answer) => answer,
        Err(pool::Unavailable::Busy) => Answer::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is busy; try again shortly",
        ),
        Err(pool::Unavailable::Store) => Answer::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "the rates store cannot be read at the moment; try again shortly",
        ),
    };
    plain(answer)
}

/// The answer to a CORS preflight: GET and HEAD, with the token headers.
fn preflight(options: &HttpOptions) -> Response<http::Body> {
    let mut response = Response::new(http::Body::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    if let Some(origin) = &options.cors {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, apikey"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

/// Currency names as JSON, and when the day they are listed from was fetched.
type Named = (
    serde_json::Map<String, serde_json::Value>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// The names of the newest stored day's currencies, for `/api/symbols` and
/// `/currencies`: fixer's own where stored, else the compiled-in ones.
fn named_currencies(store: &dyn Reader) -> Result<Named, StoreError> {
    let day = store.day_on_or_before(None, 0)?;
    let stored = store.currency_names()?;
    let mut names = serde_json::Map::new();
    if let Some(day) = &day {
        for (code, _) in day.rates.iter() {
            names.insert(
                code.to_string(),
                crate::names::name(code, stored.as_ref()).into(),
            );
        }
    }
    Ok((names, day.as_ref().and_then(rates::fetched_at)))
}
