//! The variables that say how fxrates reaches HTTP servers: which CAs it
//! trusts (`SSL_CERT_FILE`, `SSL_CERT_DIR`) and which proxy it goes through
//! (curl's `http_proxy`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`).

use crate::error::{Exit, fail};
use crate::net::{Network, ProxyEnv};
use crate::tls::CaSources;
use std::env;
use std::path::PathBuf;

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` (`:`-separated); empty means unset.
pub(crate) fn ca_sources() -> CaSources {
    CaSources {
        file: env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        dirs: env::var_os("SSL_CERT_DIR")
            .map(|v| {
                env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The proxy variables, the lower-case name first as in curl; empty means
/// unset.
pub(crate) fn proxy_env() -> ProxyEnv {
    let var = |name: &'static str| env::var(name).ok().filter(|v| !v.trim().is_empty());
    let either = |lower: &'static str, upper: &'static str| {
        var(lower)
            .map(|v| (lower, v))
            .or_else(|| var(upper).map(|v| (upper, v)))
    };
    ProxyEnv {
        http: var("http_proxy"),
        https: either("https_proxy", "HTTPS_PROXY"),
        all: either("all_proxy", "ALL_PROXY"),
        no_proxy: either("no_proxy", "NO_PROXY").map(|(_, v)| v),
        http_upper: var("HTTP_PROXY"),
    }
}

/// The network every HTTP agent of the run uses: a CA variable that names
/// nothing usable is a configuration error (78) before anything is opened.
pub(crate) fn network(ca: &CaSources, proxies: ProxyEnv) -> anyhow::Result<Network> {
    let roots = crate::tls::trusted(ca).map_err(|why| fail(Exit::Config, why))?;
    Ok(Network::new(roots, proxies))
}
