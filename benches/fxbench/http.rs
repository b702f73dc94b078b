//! `fxrates serve` under load: wrk against the server and against nginx
//! serving the same JSON bytes from files (the limit of serving these
//! answers at all), side by side in one run.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Connections wrk keeps open, and how long each run lasts.
const CONNECTIONS: usize = 64;
const SECONDS: u64 = 5;

/// What wrk reports of one run.
pub struct Load {
    pub rps: f64,
    pub p50: String,
    pub p99: String,
}

/// Starts `serve` (already configured with its database and environment)
/// on a free loopback port; returns it and its address once it listens.
pub fn start_serve(mut cmd: Command) -> (Child, SocketAddr) {
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start fxrates serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .and_then(Result::ok)
            .expect("fxrates serve ended before it listened");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split([' ', ',']).next().unwrap().parse().unwrap();
        }
    };
    // Drain whatever it logs later, so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// The body `addr` answers to a GET of `path`.
pub fn fetch(addr: SocketAddr, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let at = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert!(all.starts_with(b"HTTP/1.1 200"), "{path}: not 200");
    all.split_off(at)
}

/// The median time of GETs of `paths`, one after the other on one
/// keep-alive connection, and the size of the last body.
pub fn timed_gets(addr: SocketAddr, paths: &[String]) -> (Duration, usize) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    let n = paths.len();
    let mut times = Vec::with_capacity(n);
    let mut size = 0;
    for path in paths {
        let t = Instant::now();
        write!(s, "GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a content-length");
        let mut body = vec![0; length];
        s.read_exact(&mut body).unwrap();
        times.push(t.elapsed());
        size = length;
    }
    times.sort();
    (times[n / 2], size)
}

/// nginx serving `files` (path, bytes) from `dir` on a free port, as
/// application/json; `None` when nginx is not installed.
pub fn start_nginx(dir: &Path, files: &[(&str, &[u8])]) -> Option<(Child, SocketAddr)> {
    let nginx = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let root = dir.join("www");
    for (path, bytes) in files {
        let file = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, bytes).unwrap();
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;"
    } else {
        ""
    };
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "{user}\nworker_processes auto;\ndaemon off;\npid {dir}/nginx.pid;\n\
             error_log {dir}/nginx-error.log;\nevents {{ worker_connections 1024; }}\n\
             http {{ access_log off; keepalive_requests 10000000;\n\
             client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp; fastcgi_temp_path {dir}/tmp;\n\
             uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;\n\
             server {{ listen 127.0.0.1:{port}; root {root}; default_type application/json; }} }}\n",
            dir = dir.display(),
            root = root.display()
        ),
    )
    .unwrap();
    let child = Command::new(nginx)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((child, addr))
}

/// wrk's figures for `url`; `None` when wrk is not installed.
pub fn wrk(url: &str) -> Option<Load> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            "--latency",
            url,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| -> Option<String> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_string())
    };
    Some(Load {
        rps: field("Requests/sec:")?.parse().ok()?,
        p50: field("50%")?,
        p99: field("99%")?,
    })
}

/// The CPU time (user + system) process `pid` has used so far.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// The peak resident memory of process `pid` (VmHWM).
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// One table row: fxrates against nginx for one path.
pub fn row(out: &mut String, what: &str, ours: &Load, limit: &Load) {
    let _ = writeln!(
        out,
        "| {what} | {:.0} | {:.0} | **{:.2}x** | {} / {} | {} / {} |",
        ours.rps,
        limit.rps,
        ours.rps / limit.rps,
        ours.p50,
        ours.p99,
        limit.p50,
        limit.p99
    );
}
