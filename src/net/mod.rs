//! How fxrates reaches HTTP servers (fixer.io and the monitoring ping): the
//! certificate authorities it trusts and the proxy it goes through, decided
//! from values the settings layer read once, and handed to every HTTP agent,
//! so that no agent looks for a proxy or CAs in the environment itself.

mod forward;
pub(crate) mod proxy;

pub(crate) use proxy::{Proxy, ProxyEnv};

use std::sync::Arc;
use ureq::config::ConfigBuilder;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::typestate::AgentScope;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{Connector, RustlsConnector, TcpConnector};

/// What every HTTP agent of a run shares.
#[derive(Clone, Debug, Default)]
pub(crate) struct Network {
    /// The trusted CAs; `None` when the system has none, and then the CAs
    /// bundled with fxrates (Mozilla's) are trusted instead.
    pub(crate) roots: Option<Arc<Vec<Certificate<'static>>>>,
    /// The proxy variables.
    pub(crate) proxies: ProxyEnv,
}

/// An agent for one server, and the proxy it goes through.
pub(crate) struct Route {
    pub(crate) agent: ureq::Agent,
    pub(crate) proxy: Option<Proxy>,
}

impl Network {
    /// The trust from the CA certificates found (see [`crate::tls::trusted`]).
    pub(crate) fn new(
        roots: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
        proxies: ProxyEnv,
    ) -> Network {
        Network {
            roots: roots.map(|certs| {
                Arc::new(
                    certs
                        .iter()
                        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                        .collect(),
                )
            }),
            proxies,
        }
    }

    /// An agent for requests to `host` (over TLS if `https`), its
    /// configuration `configure`d, through the proxy the variables name for
    /// it. An error is a proxy that cannot be honoured, in one line: fxrates
    /// never goes around a configured proxy.
    pub(crate) fn route(
        &self,
        https: bool,
        host: &str,
        configure: impl Fn(ConfigBuilder<AgentScope>) -> ConfigBuilder<AgentScope>,
    ) -> Result<Route, String> {
        let proxy = proxy::choose(&self.proxies, https, host)?;
        let Some(p) = proxy else {
            let agent = configure(self.base()).proxy(None).build().new_agent();
            return Ok(Route { agent, proxy: None });
        };
        if let Some(password) = &p.password {
            crate::secret::register(password);
        }
        let kind = match p.kind {
            proxy::Kind::Http => ureq::ProxyProtocol::Http,
            proxy::Kind::Https => ureq::ProxyProtocol::Https,
            proxy::Kind::Socks4 => ureq::ProxyProtocol::Socks4,
            proxy::Kind::Socks4a => ureq::ProxyProtocol::Socks4A,
            proxy::Kind::Socks5 => ureq::ProxyProtocol::Socks5,
            proxy::Kind::Socks5h => ureq::ProxyProtocol::Socks5h,
        };
        let host_text = if p.host.contains(':') {
            format!("[{}]", p.host)
        } else {
            p.host.clone()
        };
        let mut builder = ureq::Proxy::builder(kind).host(&host_text).port(p.port);
        if let Some(user) = &p.user {
            builder = builder.username(user);
        }
        if let Some(password) = &p.password {
            builder = builder.password(password);
        }
        let ureq_proxy = builder.build().map_err(|_| {
            format!(
                "{} is not a proxy URL fxrates can use; fix {}",
                p.shown(),
                p.variable
            )
        })?;
        let config = configure(self.base()).proxy(Some(ureq_proxy)).build();
        let forward = !https && matches!(p.kind, proxy::Kind::Http | proxy::Kind::Https);
        let agent = if forward {
            let connector = ()
                .chain(forward::Forward {
                    direct: configure(self.base()).proxy(None).build(),
                    authorization: p
                        .user
                        .as_deref()
                        .map(|u| forward::basic(u, p.password.as_deref().unwrap_or_default())),
                })
                .chain(TcpConnector::default())
                .chain(RustlsConnector::default());
            ureq::Agent::with_parts(config, connector, DefaultResolver::default())
        } else {
            config.new_agent()
        };
        log::debug!("requests to {host} go through the proxy {}", p.shown());
        Ok(Route {
            agent,
            proxy: Some(p),
        })
    }

    /// An agent configuration with this trust.
    fn base(&self) -> ConfigBuilder<AgentScope> {
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
