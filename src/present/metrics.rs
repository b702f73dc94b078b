//! Prometheus text exposition of the history's health, for `status --format
//! prometheus` and for the metrics file node_exporter's textfile collector
//! reads. Only counts and times: never a secret.

use chrono::{DateTime, NaiveDate, Utc};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The values one exposition carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Values {
    /// When a write command last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// The latest stored business date.
    pub latest_rate_date: Option<NaiveDate>,
    /// Weekdays of the last month that are not stored.
    pub missing_weekdays: u64,
    /// Days stored in all.
    pub stored_days: u64,
    pub requests_this_month: u64,
    pub monthly_quota: u64,
    /// What `status` would answer.
    pub healthy: bool,
    /// Whether the last ingest or backfill succeeded.
    pub last_run_ok: bool,
    /// The exit code it ended with, where one was recorded.
    pub last_run_exit_code: Option<i64>,
    /// Whether it failed for a reason a person must fix.
    pub action_needed: bool,
    /// The last run of each command on each host, where the store records
    /// hosts (PostgreSQL).
    pub host_runs: Vec<HostRun>,
    /// The days held from each provider (`fixer`, `ecb`) and the latest.
    pub providers: Vec<ProviderDays>,
}

/// The days held from one provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProviderDays {
    pub provider: &'static str,
    pub days: u64,
    pub latest: NaiveDate,
}

/// The last run of one command on one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostRun {
    pub host: String,
    pub command: String,
    pub started_at: DateTime<Utc>,
    /// Whether it succeeded (false: it failed, or never finished).
    pub ok: bool,
}

/// A count as a sample: one too large for the exposition's 64-bit value
/// (a quota of "unlimited") is the largest, never a negative number.
fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The exposition text: `# HELP`, `# TYPE` and one sample per metric. A time
/// that never happened is 0, so that an age alert fires rather than stays
/// silent.
pub(crate) fn render(v: &Values) -> String {
    let seconds = |t: Option<DateTime<Utc>>| t.map_or(0, |t| t.timestamp());
    let midnight = |d: Option<NaiveDate>| {
        d.and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |t| t.and_utc().timestamp())
    };
    let metrics: [(&str, &str, i64); 10] = [
        (
            "fxrates_last_success_timestamp_seconds",
            "Unix time of the last successful ingest or backfill (0: never).",
            seconds(v.last_success),
        ),
        (
            "fxrates_latest_rate_date_timestamp_seconds",
            "The latest stored business date, as Unix time of its midnight UTC (0: none).",
            midnight(v.latest_rate_date),
        ),
        (
            "fxrates_missing_weekdays",
            "Weekdays of the last 31 days that are not stored.",
            gauge(v.missing_weekdays),
        ),
        (
            "fxrates_stored_days",
            "Business days stored in all.",
            gauge(v.stored_days),
        ),
        (
            "fxrates_requests_this_month",
            "Requests sent to fixer.io this calendar month (UTC).",
            gauge(v.requests_this_month),
        ),
        (
            "fxrates_monthly_quota",
            "The monthly request budget (FIXER_MONTHLY_QUOTA).",
            gauge(v.monthly_quota),
        ),
        (
            "fxrates_healthy",
            "1 when `fxrates status` finds the history healthy, else 0.",
            i64::from(v.healthy),
        ),
        (
            "fxrates_last_run_success",
            "1 when the last ingest or backfill succeeded, 0 when it failed, never finished, or none ran.",
            i64::from(v.last_run_ok),
        ),
        (
            "fxrates_last_run_exit_code",
            "The exit code the last ingest or backfill ended with (0: success; -1: none ran, it never finished, or an older fxrates ran it).",
            v.last_run_exit_code.unwrap_or(-1),
        ),
        (
            "fxrates_last_run_needs_action",
            "1 when the last ingest or backfill failed for a reason a person must fix (`fxrates status` exits 3), else 0.",
            i64::from(v.action_needed),
        ),
    ];
    let mut out = String::new();
    for (name, help, value) in metrics {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    if !v.host_runs.is_empty() {
        let families: [Family; 2] = [
            (
                "fxrates_host_last_run_timestamp_seconds",
                "Unix time the last run of each command on each host started.",
                |r| r.started_at.timestamp(),
            ),
            (
                "fxrates_host_last_run_ok",
                "1 when that run succeeded, 0 when it failed or never finished.",
                |r| i64::from(r.ok),
            ),
        ];
        for (name, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for r in &v.host_runs {
                let _ = writeln!(
                    out,
                    "{name}{{host=\"{}\",command=\"{}\"}} {}",
                    label(&r.host),
                    label(&r.command),
                    value(r)
                );
            }
        }
    }
    let midnight_of = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
    };
    if !v.providers.is_empty() {
        let families: [ProviderFamily<'_>; 2] = [
            (
                "fxrates_provider_stored_days",
                "Business days stored from each provider.",
                &|p| gauge(p.days),
            ),
            (
                "fxrates_provider_latest_rate_date_timestamp_seconds",
                "The latest business date stored from each provider, as Unix time of its midnight UTC.",
                &|p| midnight_of(p.latest),
            ),
        ];
        for (name, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for p in &v.providers {
                let _ = writeln!(out, "{name}{{provider=\"{}\"}} {}", p.provider, value(p));
            }
        }
    }
    out
}

/// A labelled metric of the providers' days: name, help, value of one.
type ProviderFamily<'a> = (&'a str, &'a str, &'a dyn Fn(&ProviderDays) -> i64);

/// A labelled metric of the hosts' runs: name, help, value of one run.
type Family = (&'static str, &'static str, fn(&HostRun) -> i64);

/// A label value as the exposition format escapes it.
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Replaces `path` with `text` atomically: a reader sees the old file or the
/// new one, whole, never a mix. The text goes to a temporary file in the same
/// directory (a rename does not cross file systems), which is renamed over
/// `path`; a temporary file is never left behind.
///
/// The directory is often writable by others (node_exporter's textfile
/// directory belongs to another user), and fxrates may run as root: the
/// temporary file is created exclusively (`O_EXCL`, which never follows a
/// link) under an unpredictable name, so nothing planted there is opened,
/// truncated or made readable.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A leading dot: node_exporter reads only `*.prom` files, and a file
    // named so never matches.
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    // Readable by node_exporter's user whatever the umask: it holds no
    // secret. Set on the open descriptor, never by path.
    file.as_file()
        .set_permissions(fs::Permissions::from_mode(0o644))?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    // On failure the temporary file is removed when dropped.
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Parses the exposition format strictly enough to catch mistakes: every
    /// sample has a HELP and a TYPE before it, names are valid, values are
    /// numbers.
    fn parse(text: &str) -> BTreeMap<String, f64> {
        let mut samples = BTreeMap::new();
        let mut described = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                described.push(rest.split(' ').next().unwrap().to_string());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert_eq!(described.last().map(String::as_str), Some(name));
                assert_eq!(kind, "gauge");
            } else {
                let (name, value) = line.split_once(' ').expect(line);
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                        && !name.starts_with(|c: char| c.is_ascii_digit()),
                    "{line}"
                );
                assert!(described.iter().any(|d| d == name), "{name} has no HELP");
                let value: f64 = value.parse().expect(line);
                assert!(
                    samples.insert(name.to_string(), value).is_none(),
                    "{name} twice"
                );
            }
        }
        assert!(text.ends_with('\n'));
        samples
    }

    #[test]
    fn renders_every_value_as_a_parsable_gauge() {
        let values = Values {
            last_success: DateTime::from_timestamp(1_726_822_800, 0),
            latest_rate_date: NaiveDate::from_ymd_opt(2024, 9, 20),
            missing_weekdays: 3,
            stored_days: 40,
            requests_this_month: 17,
            monthly_quota: 100,
            healthy: false,
            last_run_ok: false,
            last_run_exit_code: Some(78),
            action_needed: true,
            host_runs: Vec::new(),
            providers: Vec::new(),
        };
        let m = parse(&render(&values));
        assert_eq!(m["fxrates_last_success_timestamp_seconds"], 1_726_822_800.0);
        // 2024-09-20T00:00:00Z
        assert_eq!(
            m["fxrates_latest_rate_date_timestamp_seconds"],
            1_726_790_400.0
        );
        assert_eq!(m["fxrates_missing_weekdays"], 3.0);
        assert_eq!(m["fxrates_stored_days"], 40.0);
        assert_eq!(m["fxrates_requests_this_month"], 17.0);
        assert_eq!(m["fxrates_monthly_quota"], 100.0);
        assert_eq!(m["fxrates_healthy"], 0.0);
        assert_eq!(m["fxrates_last_run_success"], 0.0);
        assert_eq!(m["fxrates_last_run_exit_code"], 78.0);
        assert_eq!(m["fxrates_last_run_needs_action"], 1.0);
    }

    #[test]
    fn each_providers_days_are_labelled_samples() {
        let values = Values {
            providers: vec![ProviderDays {
                provider: "ecb",
                days: 12,
                latest: NaiveDate::from_ymd_opt(2024, 9, 20).unwrap(),
            }],
            ..Values::default()
        };
        let text = render(&values);
        assert!(
            text.contains("fxrates_provider_stored_days{provider=\"ecb\"} 12\n"),
            "{text}"
        );
        assert!(text.contains(
            "fxrates_provider_latest_rate_date_timestamp_seconds{provider=\"ecb\"} 1726790400\n"
        ));
        assert!(!render(&Values::default()).contains("provider="));
    }

    #[test]
    fn each_hosts_last_runs_are_labelled_samples() {
        let run = |host: &str, ok| HostRun {
            host: host.into(),
            command: "ingest".into(),
            started_at: DateTime::from_timestamp(1_726_822_800, 0).unwrap(),
            ok,
        };
        let values = Values {
            host_runs: vec![run("db-a", true), run("odd\"host", false)],
            ..Values::default()
        };
        let text = render(&values);
        assert!(text.contains(
            "fxrates_host_last_run_timestamp_seconds{host=\"db-a\",command=\"ingest\"} 1726822800\n"
        ));
        assert!(text.contains("fxrates_host_last_run_ok{host=\"db-a\",command=\"ingest\"} 1\n"));
        assert!(
            text.contains("fxrates_host_last_run_ok{host=\"odd\\\"host\",command=\"ingest\"} 0\n")
        );
        assert_eq!(
            text.matches("# TYPE fxrates_host_last_run_ok gauge")
                .count(),
            1
        );
        // Without hosts recorded (SQLite), nothing of them is printed.
        assert!(!render(&Values::default()).contains("fxrates_host_"));
    }

    #[test]
    fn a_count_beyond_the_sample_range_is_the_largest_not_negative() {
        let m = parse(&render(&Values {
            monthly_quota: u64::MAX,
            ..Values::default()
        }));
        assert_eq!(m["fxrates_monthly_quota"], i64::MAX as f64);
    }

    #[test]
    fn times_that_never_happened_are_zero() {
        let m = parse(&render(&Values::default()));
        assert_eq!(m["fxrates_last_success_timestamp_seconds"], 0.0);
        assert_eq!(m["fxrates_latest_rate_date_timestamp_seconds"], 0.0);
        // No run: not a success, and no exit code.
        assert_eq!(m["fxrates_last_run_success"], 0.0);
        assert_eq!(m["fxrates_last_run_exit_code"], -1.0);
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_the_old_inode_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fxrates.prom");
        write_atomically(&path, "old 1\n").unwrap();
        // A second name for the old inode: a reader holding it open.
        let old = dir.path().join("old-inode");
        fs::hard_link(&path, &old).unwrap();
        write_atomically(&path, "new 2\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new 2\n");
        assert_eq!(fs::read_to_string(&old).unwrap(), "old 1\n");
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["fxrates.prom", "old-inode"]);
    }

    #[test]
    fn links_planted_in_the_directory_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious\n").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        // Every name an attacker could guess: this process's id and its
        // neighbours, the way the file used to be named.
        for pid in std::process::id().saturating_sub(50)..std::process::id() + 50 {
            let link = dir.path().join(format!(".fxrates.prom.{pid}.tmp"));
            std::os::unix::fs::symlink(&victim, link).unwrap();
        }
        let path = dir.path().join("fxrates.prom");
        write_atomically(&path, "new 1\n").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
        let mode = fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the victim's mode changed");
        assert_eq!(fs::read_to_string(&path).unwrap(), "new 1\n");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), "x").unwrap();
        assert!(write_atomically(&path, "x 1\n").is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
