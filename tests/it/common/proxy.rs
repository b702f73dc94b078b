//! Real proxies on 127.0.0.1:0 for the proxy tests: an HTTP proxy that
//! takes absolute-form requests and CONNECT tunnels (optionally asking for
//! credentials, or refusing with a status), and a minimal SOCKS5 server.
//! Each records what it was asked; every connection is bounded in time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

/// How the HTTP proxy behaves.
#[derive(Clone, Debug, Default)]
pub struct ProxyRules {
    /// `Proxy-Authorization` it requires (e.g. "Basic ..."); 407 without it.
    pub credentials: Option<String>,
    /// A status it answers every request with instead of passing it on.
    pub refuse: Option<u16>,
}

/// A proxy server and what it saw: request lines (HTTP) or targets with
/// their address type (SOCKS: "ipv4 127.0.0.1:80", "domain localhost:80").
pub struct TestProxy {
    pub url: String,
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    auth_seen: Arc<Mutex<Vec<Option<String>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestProxy {
    /// An HTTP proxy (absolute form and CONNECT).
    pub fn http(rules: ProxyRules) -> TestProxy {
        TestProxy::serve("http", move |client, seen, auth| {
            http_proxy(client, &rules, seen, auth)
        })
    }

    /// A SOCKS5 server without authentication.
    pub fn socks5() -> TestProxy {
        TestProxy::serve("socks5", |client, seen, _| socks5(client, seen))
    }

    fn serve(
        scheme: &str,
        handle: impl Fn(TcpStream, &Mutex<Vec<String>>, &Mutex<Vec<Option<String>>>)
        + Send
        + Sync
        + 'static,
    ) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let auth_seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = Arc::new(handle);
        let thread = {
            let (seen, auth_seen, stop) = (seen.clone(), auth_seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let _ = client.set_read_timeout(Some(LIMIT));
                    let (seen, auth_seen, handle) =
                        (seen.clone(), auth_seen.clone(), handle.clone());
                    std::thread::spawn(move || (*handle)(client, &seen, &auth_seen));
                }
            })
        };
        TestProxy {
            url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            seen,
            auth_seen,
            stop,
            thread: Some(thread),
        }
    }

    /// What it was asked, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// The `Proxy-Authorization` of each HTTP request.
    pub fn auth_seen(&self) -> Vec<Option<String>> {
        self.auth_seen.lock().unwrap().clone()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request head: the request line and the header lines.
fn read_head(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<String>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let request = line.trim_end().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim_end().is_empty() {
            return Some((request, headers));
        }
        headers.push(line.trim_end().to_string());
    }
}

fn header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn answer(mut client: &TcpStream, status: u16) {
    let reason = match status {
        403 => "Forbidden",
        400 => "Bad Request",
        407 => "Proxy Authentication Required",
        _ => "Bad Gateway",
    };
    let _ = write!(
        client,
        "HTTP/1.1 {status} {reason}\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
}

fn http_proxy(
    client: TcpStream,
    rules: &ProxyRules,
    seen: &Mutex<Vec<String>>,
    auth_seen: &Mutex<Vec<Option<String>>>,
) {
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let Some((request, headers)) = read_head(&mut reader) else {
        return;
    };
    seen.lock().unwrap().push(request.clone());
    let auth = header(&headers, "proxy-authorization").map(str::to_string);
    auth_seen.lock().unwrap().push(auth.clone());
    if let Some(status) = rules.refuse {
        return answer(&client, status);
    }
    if rules.credentials.is_some() && auth != rules.credentials {
        return answer(&client, 407);
    }
    let mut parts = request.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(target) else {
            return answer(&client, 502);
        };
        let _ = (&client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        return relay(client, upstream, reader.buffer().to_vec());
    }
    // Absolute form: pass it on in origin form, one request per connection.
    let Some(rest) = target.strip_prefix("http://") else {
        return answer(&client, 400);
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut upstream) = TcpStream::connect(authority) else {
        return answer(&client, 502);
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for h in headers.iter().filter(|h| {
        let name = h
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        name != "proxy-authorization" && name != "connection"
    }) {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    let length: usize = header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() || upstream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let _ = upstream.write_all(&body);
    let _ = upstream.set_read_timeout(Some(LIMIT));
    let mut reply = Vec::new();
    let _ = upstream.read_to_end(&mut reply);
    let _ = (&client).write_all(&reply);
    let _ = client.shutdown(Shutdown::Both);
}

fn socks5(mut client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut greeting = [0u8; 2];
    if client.read_exact(&mut greeting).is_err() || greeting[0] != 5 {
        return;
    }
    let mut methods = vec![0u8; usize::from(greeting[1])];
    if client.read_exact(&mut methods).is_err() || client.write_all(&[5, 0]).is_err() {
        return;
    }
    let mut request = [0u8; 4];
    if client.read_exact(&mut request).is_err() || request[1] != 1 {
        return;
    }
    let target = match request[3] {
        1 => {
            let mut a = [0u8; 4];
            if client.read_exact(&mut a).is_err() {
                return;
            }
            format!("ipv4 {}", std::net::Ipv4Addr::from(a))
        }
        3 => {
            let mut len = [0u8; 1];
            if client.read_exact(&mut len).is_err() {
                return;
            }
            let mut name = vec![0u8; usize::from(len[0])];
            if client.read_exact(&mut name).is_err() {
                return;
            }
            format!("domain {}", String::from_utf8_lossy(&name))
        }
        _ => return,
    };
    let mut port = [0u8; 2];
    if client.read_exact(&mut port).is_err() {
        return;
    }
    let port = u16::from_be_bytes(port);
    seen.lock().unwrap().push(format!("{target}:{port}"));
    let host = target.split(' ').nth(1).unwrap_or_default().to_string();
    let upstream = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find_map(|a| TcpStream::connect(a).ok()));
    let Some(upstream) = upstream else {
        let _ = client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
        return;
    };
    if client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).is_ok() {
        relay(client, upstream, Vec::new());
    }
}

/// Copies both ways until either side closes; `pending` is what the client
/// already sent past the request head.
fn relay(client: TcpStream, upstream: TcpStream, pending: Vec<u8>) {
    let _ = upstream.set_read_timeout(Some(LIMIT));
    let (Ok(mut c_read), Ok(mut u_write)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = u_write.write_all(&pending);
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Both);
    let _ = up.join();
}
