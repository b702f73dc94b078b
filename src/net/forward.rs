//! Plain HTTP through an HTTP proxy as curl sends it: the request goes to the
//! proxy in absolute form (`GET http://host/path HTTP/1.1`), not through a
//! CONNECT tunnel, which proxies such as Squid refuse for port 80 by
//! default. ureq only tunnels, so this connector opens the connection to
//! the proxy itself and rewrites each request line on its way out.

use std::fmt;
use ureq::Error;
use ureq::config::Config;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, NextTimeout, Transport,
};

/// Connects `http://` requests to the agent's HTTP proxy in absolute form;
/// passes everything else on to the next connector.
pub(crate) struct Forward {
    /// The agent's configuration without its proxy, for the connection to
    /// the proxy itself.
    pub(crate) direct: Config,
    /// `Proxy-Authorization` header value, when the proxy URL has a user.
    pub(crate) authorization: Option<String>,
}

impl fmt::Debug for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Forward")
    }
}

impl<In: Transport> Connector<In> for Forward {
    type Out = Either<In, Box<dyn Transport>>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let Some(proxy) = details.config.proxy() else {
            return Ok(None);
        };
        let plain_http = details.uri.scheme_str() == Some("http");
        let http_proxy = matches!(
            proxy.protocol(),
            ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https
        );
        if !plain_http || !http_proxy {
            return Ok(None);
        }
        let authority = details
            .uri
            .authority()
            .ok_or_else(|| Error::BadUri("no host".into()))?
            .as_str()
            .to_string();
        let proxy_uri = proxy.uri();
        let addrs = details
            .resolver
            .resolve(proxy_uri, &self.direct, details.timeout)?;
        let to_proxy = ConnectionDetails {
            uri: proxy_uri,
            addrs,
            config: &self.direct,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let inner = (details.run_connector)(&to_proxy)?;
        Ok(Some(Either::B(Box::new(AbsoluteForm {
            inner,
            prefix: format!("http://{authority}"),
            authorization: self.authorization.clone(),
            at_start: true,
        }))))
    }
}

/// A connection to the proxy that turns each request's origin-form target
/// (`/path`) into absolute form (`http://host/path`).
struct AbsoluteForm {
    inner: Box<dyn Transport>,
    prefix: String,
    authorization: Option<String>,
    /// The next bytes sent begin a request.
    at_start: bool,
}

impl fmt::Debug for AbsoluteForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AbsoluteForm")
    }
}

impl Transport for AbsoluteForm {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        if !self.at_start || amount == 0 {
            return self.inner.transmit_output(amount, timeout);
        }
        self.at_start = false;
        let sent = self.inner.buffers().output()[..amount].to_vec();
        let rewritten = rewrite(&sent, &self.prefix, self.authorization.as_deref());
        let mut rest = &rewritten[..];
        while !rest.is_empty() {
            let out = self.inner.buffers().output();
            let n = out.len().min(rest.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.inner.transmit_output(n, timeout)?;
            rest = &rest[n..];
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        // The request is out: whatever is sent next starts another.
        self.at_start = true;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

/// `head` with its request target in absolute form and the proxy's
/// credentials after the request line.
fn rewrite(head: &[u8], prefix: &str, authorization: Option<&str>) -> Vec<u8> {
    let Some(line_end) = head.windows(2).position(|w| w == b"\r\n") else {
        return head.to_vec();
    };
    let line = &head[..line_end];
    let Some(space) = line.iter().position(|b| *b == b' ') else {
        return head.to_vec();
    };
    if line.get(space + 1) != Some(&b'/') {
        return head.to_vec();
    }
    let mut out = Vec::with_capacity(head.len() + prefix.len() + 64);
    out.extend_from_slice(&line[..=space]);
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(&line[space + 1..]);
    out.extend_from_slice(b"\r\n");
    if let Some(value) = authorization {
        out.extend_from_slice(b"Proxy-Authorization: ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&head[line_end + 2..]);
    out
}

/// `Basic` credentials for `Proxy-Authorization`.
pub(crate) fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(TABLE[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_line_gets_the_absolute_target_and_the_credentials() {
        let head = b"GET /api/latest?base=EUR HTTP/1.1\r\nhost: h:80\r\n\r\n";
        assert_eq!(
            String::from_utf8(rewrite(head, "http://h:80", None)).unwrap(),
            "GET http://h:80/api/latest?base=EUR HTTP/1.1\r\nhost: h:80\r\n\r\n"
        );
        let auth = basic("Aladdin", "open sesame");
        assert_eq!(auth, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        let with = rewrite(b"POST /p HTTP/1.1\r\n\r\nbody", "http://m", Some(&auth));
        assert_eq!(
            String::from_utf8(with).unwrap(),
            format!("POST http://m/p HTTP/1.1\r\nProxy-Authorization: {auth}\r\n\r\nbody")
        );
        // Anything else is left alone.
        assert_eq!(rewrite(b"body bytes", "http://m", None), b"body bytes");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
