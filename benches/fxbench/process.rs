//! Runs a child process and measures it as the kernel accounts for it: wall
//! time around spawn and reap, and user time, system time and peak RSS from
//! `wait4`, which std's `Child::wait` does not expose (hence `libc`).
//!
//! The kernel's peak RSS of a process includes the image it had before
//! `exec`, which for a child spawned by this benchmark is the benchmark
//! itself (tens of MiB of pre-rendered history). So every measured command
//! is started by a fresh, small copy of this binary (`--measure-into`), which
//! spawns the real command, reaps it and writes the figures to a file.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The flag that turns this binary into the launcher.
pub const LAUNCH: &str = "--measure-into";

/// One run of one process.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    /// Peak resident set size, bytes.
    pub max_rss: u64,
    /// The exit code, or -signal.
    pub code: i32,
}

impl Sample {
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

fn sample_file() -> PathBuf {
    std::env::temp_dir().join(format!("fxbench-{}.sample", std::process::id()))
}

/// A command that runs `program` under the launcher. Arguments, environment
/// and redirections set on it reach `program` unchanged.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let me = std::env::current_exe().expect("the benchmark's own path");
    let mut cmd = Command::new(me);
    cmd.arg(LAUNCH).arg(sample_file()).arg(program.as_ref());
    cmd
}

/// Runs a command made by [`command`] and returns what the launcher measured.
pub fn measure(cmd: &mut Command) -> Sample {
    let file = sample_file();
    let _ = std::fs::remove_file(&file);
    cmd.stdin(Stdio::null());
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    assert!(status.success(), "the launcher failed for {cmd:?}");
    let text = std::fs::read_to_string(&file).expect("the launcher's figures");
    let f: Vec<i64> = text
        .split_whitespace()
        .map(|n| n.parse().expect("a number"))
        .collect();
    let _ = std::fs::remove_file(&file);
    Sample {
        wall: Duration::from_nanos(f[0] as u64),
        user: Duration::from_micros(f[1] as u64),
        sys: Duration::from_micros(f[2] as u64),
        max_rss: f[3] as u64 * 1024, // KiB on Linux
        code: f[4] as i32,
    }
}

/// The launcher: `fxbench --measure-into FILE PROGRAM ARGS...`.
pub fn launch(args: &[String]) -> ! {
    let (file, program, rest) = (&args[0], &args[1], &args[2..]);
    let started = Instant::now();
    let child = match Command::new(program).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            // As a shell would: 127, the command was not found.
            eprintln!("fxbench: cannot start {program}: {e}");
            std::fs::write(file, "0 0 0 0 127\n").expect("write the figures");
            std::process::exit(0)
        }
    };
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data that wait4 fills in; `pid` is our own
    // child, which `child` never waits for (dropping a Child does not reap).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = loop {
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break rc;
    };
    let wall = started.elapsed();
    assert_eq!(rc, pid, "wait4 failed: {}", std::io::Error::last_os_error());
    drop(child);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    };
    let us = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
    let figures = format!(
        "{} {} {} {} {code}\n",
        wall.as_nanos(),
        us(usage.ru_utime),
        us(usage.ru_stime),
        usage.ru_maxrss,
    );
    std::fs::write(file, figures).expect("write the figures");
    std::process::exit(0)
}

/// The median of `values` (the lower middle for an even count).
pub fn median<T: Copy + Ord>(values: impl IntoIterator<Item = T>) -> T {
    let mut v: Vec<T> = values.into_iter().collect();
    assert!(!v.is_empty(), "median of nothing");
    v.sort_unstable();
    v[(v.len() - 1) / 2]
}

/// Median wall, CPU and peak RSS of several samples.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub wall: Duration,
    pub min_wall: Duration,
    pub cpu: Duration,
    pub max_rss: u64,
}

pub fn summarize(samples: &[Sample]) -> Summary {
    Summary {
        wall: median(samples.iter().map(|s| s.wall)),
        min_wall: samples.iter().map(|s| s.wall).min().unwrap_or_default(),
        cpu: median(samples.iter().map(Sample::cpu)),
        max_rss: median(samples.iter().map(|s| s.max_rss)),
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
