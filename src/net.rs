//! How fxrates reaches HTTP servers (fixer.io and the monitoring ping): the
//! certificate authorities it trusts, decided once by the settings layer and
//! handed to every HTTP agent.

use std::sync::Arc;
use ureq::config::ConfigBuilder;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::typestate::AgentScope;

/// What every HTTP agent of a run shares.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// The trusted CAs; `None` when the system has none, and then the CAs
    /// bundled with fxrates (Mozilla's) are trusted instead.
    pub roots: Option<Arc<Vec<Certificate<'static>>>>,
}

impl Network {
    /// The trust from the CA certificates found (see [`crate::tls::trusted`]).
    pub fn new(roots: Option<Vec<rustls::pki_types::CertificateDer<'static>>>) -> Network {
        Network {
            roots: roots.map(|certs| {
                Arc::new(
                    certs
                        .iter()
                        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                        .collect(),
                )
            }),
        }
    }

    /// An agent configuration with this trust.
    pub fn agent_config(&self) -> ConfigBuilder<AgentScope> {
        let roots = match &self.roots {
            Some(certs) => RootCerts::Specific(Arc::clone(certs)),
            None => {
                log::debug!(
                    "the system has no CA certificates; trusting the ones bundled with fxrates"
                );
                RootCerts::WebPki
            }
        };
        ureq::Agent::config_builder().tls_config(TlsConfig::builder().root_certs(roots).build())
    }
}
