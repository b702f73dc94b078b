use super::Run;
use crate::cli::ServeArgs;
use crate::error::{Exit, ResultExt, fail};
use crate::health::Health;
use crate::serve::{self, Config, HttpOptions};
use crate::settings::Settings;
use hyper::header::HeaderValue;
use std::sync::Arc;
use std::time::Duration;

impl Run for ServeArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let addr = self.listen;
        let token = match &self.token_file {
            Some(path) => Some(settings.token(path)?),
            None if addr.ip().is_loopback() => None,
            None => {
                return Err(fail(
                    Exit::Config,
                    format!(
                        "--listen {addr} is not a loopback address, so every request needs a token: set \
                         FXRATES_TOKEN_FILE (--token-file) to a file holding it, or listen on \
                         127.0.0.1 behind a proxy"
                    ),
                ));
            }
        };
        let cors = match &self.cors {
            None => None,
            Some(origin) => Some(HeaderValue::from_str(origin).map_err(|_| {
                fail(
                    Exit::Usage,
                    format!("--cors {origin:?} is not an origin such as https://example.com or *"),
                )
            })?),
        };
        // A store that is not there (or not readable) is refused now, with
        // the usual message, rather than request by request.
        drop(settings.read_store()?);
        let listener = std::net::TcpListener::bind(addr).exit(Exit::Config, || {
            format!("cannot listen on {addr} (FXRATES_LISTEN, --listen)")
        })?;
        let bound = listener.local_addr().unwrap_or(addr);
        log::info!("listening on {bound}, serving {}", settings.db);
        let now = settings.now;
        let quota = self.budget.monthly_quota;
        let provider = settings.provider.source();
        let config = Config {
            target: settings.db.clone(),
            token,
            http: HttpOptions {
                max_age: self.max_age,
                cors,
            },
            max_connections: self.max_connections as usize,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            now,
            health: Arc::new(move |store| {
                // Never the full check: a health endpoint is polled.
                let health = Health::gather(Some(store), &now, quota, false, provider)?;
                let mut json = serde_json::to_vec_pretty(&health).unwrap_or_default();
                json.push(b'\n');
                Ok(serve::Health {
                    healthy: health.healthy,
                    json,
                    prometheus: crate::present::status::prometheus_text(&health),
                })
            }),
        };
        serve::run(config, listener).exit(Exit::IoErr, || format!("serving on {bound} failed"))
    }
}
