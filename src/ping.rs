//! Dead-man's-switch pings (the healthchecks.io / Cronitor convention):
//! `<url>/start` when a run begins, `<url>` when it succeeds, `<url>/fail`
//! when it fails.
//!
//! A ping is a side channel: it has its own small agent with a short timeout
//! and no retries, and a ping that cannot be delivered is a warning, never a
//! change to the run's outcome. The URL identifies the check and lets anyone
//! who has it report on it, so it is a [`Secret`].

use crate::net::Network;
use crate::secret::{Secret, scrub};
use std::time::Duration;

/// The whole of one ping, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the run is telling the monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Start,
    Success,
    Fail,
}

impl Signal {
    fn suffix(self) -> &'static str {
        match self {
            Signal::Start => "/start",
            Signal::Success => "",
            Signal::Fail => "/fail",
        }
    }
}

/// Checks a ping URL given on the command line or in `FXRATES_PING_URL` and
/// keeps it secret from then on (registered before it is checked, so even
/// the error about a bad one cannot show it).
pub(crate) fn url_arg(text: &str) -> Result<Secret, String> {
    let secret = Secret::new(text.trim().trim_end_matches('/').to_string());
    let url = secret.expose();
    if url.is_empty() {
        // `FXRATES_PING_URL=` in a settings file: no pings.
        return Ok(secret);
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("the ping URL must start with http:// or https://")?;
    let plain = "the ping URL must be a plain URL such as https://hc-ping.com/<uuid>";
    if rest.is_empty() || rest.starts_with('/') || url.contains(['?', '#', ' ']) {
        return Err(plain.into());
    }
    let uri = url.parse::<ureq::http::Uri>().map_err(|_| plain)?;
    // The HTTP library logs the URL as it reads it (`:080` as `:80`), which
    // need not be the text given: keep that form secret too.
    crate::secret::register(&library_form(&uri));
    Ok(secret)
}

/// `uri` as the HTTP library's own log lines write it: the port as a
/// number, user information masked.
fn library_form(uri: &ureq::http::Uri) -> String {
    let mut out = format!("{}://", uri.scheme_str().unwrap_or_default());
    if let Some(authority) = uri.authority() {
        if let Some((user_info, _)) = authority.as_str().rsplit_once('@') {
            let user = user_info.split(':').next().unwrap_or_default();
            if let Some(first) = user.chars().next() {
                out.push(first);
                out.push_str("*****");
            }
            if user_info.contains(':') {
                out.push_str(":******");
            }
            out.push('@');
        }
        out.push_str(authority.host());
        if let Some(port) = authority.port_u16() {
            out.push_str(&format!(":{port}"));
        }
    }
    out.push_str(uri.path_and_query().map_or("", |p| p.as_str()));
    out
}

pub(crate) struct Pinger {
    agent: ureq::Agent,
    url: Secret,
}

impl Pinger {
    /// A pinger for `url`, through the proxy the network names for it;
    /// `None`, with a warning, when that proxy cannot be honoured.
    pub(crate) fn new(url: Secret, network: &Network) -> Option<Pinger> {
        let https = url.expose().starts_with("https://");
        let host = url
            .expose()
            .parse::<ureq::http::Uri>()
            .ok()
            .and_then(|u| u.host().map(str::to_string))
            .unwrap_or_default();
        let route = network.route(https, &host, |config| {
            config
                .timeout_global(Some(TIMEOUT))
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent(concat!("fxrates/", env!("CARGO_PKG_VERSION")))
        });
        match route {
            Ok(route) => Some(Pinger {
                agent: route.agent,
                url,
            }),
            Err(why) => {
                log::warn!("no monitoring ping is sent: {why}; the run itself is unaffected");
                None
            }
        }
    }

    /// Sends one ping; `body` (a failure's message) goes along as the
    /// request body, which healthchecks.io shows beside the ping. Problems
    /// are logged as warnings and otherwise ignored.
    pub(crate) fn send(&self, signal: Signal, body: &str) {
        let url = format!("{}{}", self.url.expose(), signal.suffix());
        let result = self
            .agent
            .post(&url)
            .content_type("text/plain; charset=utf-8")
            .send(scrub(body).as_bytes());
        let shown = scrub(&url);
        match result {
            Ok(r) if r.status().is_success() => log::debug!("pinged {shown}"),
            Ok(r) => log::warn!(
                "the monitoring ping {shown} was answered with HTTP {}; the run itself is unaffected",
                r.status().as_u16()
            ),
            Err(e) => log::warn!(
                "the monitoring ping {shown} failed ({}); the run itself is unaffected",
                scrub(&e.to_string())
            ),
        }
    }
}

/// Runs `work` between a start ping and a success or failure ping; without a
/// URL it just runs `work`. The result is `work`'s, whatever the pings do.
/// The failure ping carries `headline` of the error: the line stderr shows.
pub(crate) fn around(
    url: Option<&Secret>,
    network: impl FnOnce() -> anyhow::Result<Network>,
    headline: impl FnOnce(&anyhow::Error) -> String,
    work: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let Some(url) = url.filter(|u| !u.expose().is_empty()) else {
        return work();
    };
    let Some(pinger) = Pinger::new(url.clone(), &network()?) else {
        return work();
    };
    pinger.send(Signal::Start, "");
    let result = work();
    match &result {
        Ok(()) => pinger.send(Signal::Success, ""),
        // The line stderr shows, as the monitor's reader needs it: what went
        // wrong and how to fix it, not the bare cause at the bottom.
        Err(e) => pinger.send(Signal::Fail, &format!("fxrates: error: {}", headline(e))),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_urls_are_checked_and_kept_secret() {
        let ok = url_arg("https://hc-ping.com/5b7e-ping-test-uuid/").unwrap();
        assert_eq!(ok.expose(), "https://hc-ping.com/5b7e-ping-test-uuid");
        assert_eq!(
            scrub("GET https://hc-ping.com/5b7e-ping-test-uuid/fail"),
            "GET [REDACTED]/fail"
        );
        for bad in [
            "hc-ping.com/x-ping-bad",
            "ftp://h/x-ping-bad",
            "https://",
            "https://h/x?y=ping-bad",
        ] {
            let err = url_arg(bad).unwrap_err();
            assert!(!err.contains("ping-bad"), "{err}");
        }
    }

    #[test]
    fn the_form_the_http_library_logs_is_kept_secret_too() {
        url_arg("http://Ping.Example:08080/zero-port-ping-uuid").unwrap();
        assert_eq!(
            scrub("POST http://Ping.Example:8080/zero-port-ping-uuid/start"),
            "POST [REDACTED]/start"
        );
        let uri = "https://u1:pw@h.example:0443/p".parse().unwrap();
        assert_eq!(library_form(&uri), "https://u*****:******@h.example:443/p");
    }
}
