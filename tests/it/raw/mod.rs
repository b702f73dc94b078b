//! Misbehaving servers that an HTTP library would never write: raw TCP on
//! 127.0.0.1:0, each recording how many connections it accepted.
#![allow(dead_code)] // each test binary uses a different part of this

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does with each connection once it has read the request.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// Accepts and never answers.
    Silent,
    /// Sends the headers, then the body one byte a second.
    Trickle,
    /// Sends a body that never ends.
    Endless,
    /// Closes the connection without a word.
    Hangup,
}

pub struct RawServer {
    pub url: String,
    port: u16,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    pub fn start(behaviour: Behaviour) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (connections, stop) = (Arc::clone(&connections), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || serve(stream, behaviour, &stop));
                }
            })
        };
        RawServer {
            url: format!("http://127.0.0.1:{port}/api"),
            port,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, behaviour: Behaviour, stop: &AtomicBool) {
    read_request(&mut stream);
    let pause = |d: Duration| {
        std::thread::sleep(d);
        !stop.load(Ordering::SeqCst)
    };
    match behaviour {
        Behaviour::Silent => while pause(Duration::from_millis(50)) {},
        Behaviour::Hangup => {}
        Behaviour::Trickle => {
            let body = br#"{"success":true,"base":"EUR","date":"2024-09-20","rates":{"USD":1.1}}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            for b in body {
                if stream.write_all(&[*b]).is_err() || !pause(Duration::from_secs(1)) {
                    return;
                }
            }
        }
        Behaviour::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"success\":true,\"base\":\"EUR\",\"date\":\"2024-09-20\",\"rates\":{\"USD\":1.";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = [b'1'; 64 * 1024];
            while !stop.load(Ordering::SeqCst) && stream.write_all(&chunk).is_ok() {}
        }
    }
}

/// Reads up to the end of the request head.
fn read_request(stream: &mut TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// A URL on which nothing listens: connections are refused.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/api")
}
