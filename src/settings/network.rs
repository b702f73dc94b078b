//! The variables that say how fxrates reaches HTTPS servers: which CAs it
//! trusts (`SSL_CERT_FILE`, `SSL_CERT_DIR`).

use crate::error::{Exit, fail};
use crate::net::Network;
use crate::tls::CaSources;
use std::env;
use std::path::PathBuf;

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` (`:`-separated); empty means unset.
pub fn ca_sources() -> CaSources {
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

/// The network every HTTP agent of the run uses: a CA variable that names
/// nothing usable is a configuration error (78) before anything is opened.
pub fn network(ca: &CaSources) -> anyhow::Result<Network> {
    let roots = crate::tls::trusted(ca).map_err(|why| fail(Exit::Config, why))?;
    Ok(Network::new(roots))
}
