use super::Run;
use crate::calendar::{MONTH_DAYS, previous_weekday, weekdays, window_ending};
use crate::cli::{StatusArgs, StatusFormat};
use crate::error::{Exit, ResultExt, fail};
use crate::metrics;
use crate::quota::Budget;
use crate::settings::Settings;
use crate::store::{LastRun, StoreError, Summary};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

/// What `status` prints; also its JSON form.
#[derive(Debug, Serialize)]
struct Report {
    healthy: bool,
    problems: Vec<String>,
    today: String,
    latest_date: Option<String>,
    latest_age_days: Option<i64>,
    /// Weekdays of the last month, today excepted, neither stored nor known
    /// to have no rates.
    missing_dates: Vec<String>,
    /// Weekdays of the last month fixer said it has no rates for.
    unavailable_dates: Vec<String>,
    days_stored: u64,
    oldest_date: Option<String>,
    /// The first day of the month the requests are counted in (UTC).
    month: String,
    requests_this_month: u64,
    monthly_quota: u64,
    /// What the plan last answered to `timeseries`: "allowed YYYY-MM-DD",
    /// "refused YYYY-MM-DD", or null when it was never asked.
    timeseries: Option<String>,
    last_runs: BTreeMap<String, RunView>,
    /// The last run of each command on each host, where the store records
    /// hosts (PostgreSQL): host, then command.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    hosts: BTreeMap<String, BTreeMap<String, RunView>>,
    /// When an ingest or backfill last succeeded (for the metrics).
    #[serde(skip)]
    last_success: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
struct RunView {
    started_at: String,
    /// "ok", "failed", or "unfinished" (killed, or still running).
    outcome: &'static str,
    error: Option<String>,
    /// The machine it ran on, where the store records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
}

impl From<LastRun> for RunView {
    fn from(r: LastRun) -> RunView {
        RunView {
            started_at: r.started_at,
            outcome: match r.ok {
                Some(true) => "ok",
                Some(false) => "failed",
                None => "unfinished",
            },
            // Stored by this or an older version, which kept the provider's
            // text raw.
            error: r.error.as_deref().map(crate::untrusted::one_line),
            host: r.host,
        }
    }
}

impl Run for StatusArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let report = Report::gather(settings, self.budget.monthly_quota)?;
        let mut out = std::io::stdout().lock();
        match self.format {
            StatusFormat::Text => report.write_text(&mut out),
            StatusFormat::Json => serde_json::to_writer_pretty(&mut out, &report)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
            StatusFormat::Prometheus => {
                out.write_all(metrics::render(&report.metrics()).as_bytes())
            }
        }
        .and_then(|()| out.flush())
        .exit(Exit::IoErr, || "cannot write to stdout".into())?;
        if report.healthy {
            Ok(())
        } else {
            // The report says why; the exit code is the verdict.
            Err(fail(Exit::Unhealthy, ""))
        }
    }
}

impl Report {
    /// Reads everything the report says from the database.
    fn gather(settings: &Settings, quota: u64) -> anyhow::Result<Report> {
        let today = settings.now.today;
        let (from, _) = window_ending(today, MONTH_DAYS);
        // A database that does not exist yet is reported as empty: that is
        // exactly what monitoring must hear about.
        let (summary, stored, unavailable, runs, used, timeseries, last_success, host_runs) =
            match settings.read_store() {
                Ok(store) => {
                    let budget = Budget::read(&*store, &settings.now, quota)?;
                    (
                        store.summary()?,
                        store.stored_between(from, today)?,
                        store.unavailable_between(from, today)?,
                        store.last_runs()?,
                        budget.used,
                        store.timeseries_answer()?.map(|a| a.to_string()),
                        store.last_success(&["ingest", "backfill"])?,
                        store.last_runs_by_host()?,
                    )
                }
                Err(StoreError::Missing(_)) => Default::default(),
                Err(e) => return Err(e.into()),
            };
        let mut report = Report::new(
            today,
            &settings.now,
            summary,
            &stored,
            &unavailable,
            runs,
            used,
            quota,
        );
        report.timeseries = timeseries;
        report.last_success = last_success;
        for run in host_runs {
            if let Some(host) = run.host.clone() {
                let command = run.command.clone();
                report
                    .hosts
                    .entry(host)
                    .or_default()
                    .insert(command, RunView::from(run));
            }
        }
        Ok(report)
    }

    /// The values the Prometheus metrics carry.
    fn metrics(&self) -> metrics::Values {
        metrics::Values {
            last_success: self.last_success,
            latest_rate_date: self
                .latest_date
                .as_deref()
                .and_then(crate::calendar::parse_date),
            missing_weekdays: self.missing_dates.len() as u64,
            stored_days: self.days_stored,
            requests_this_month: self.requests_this_month,
            monthly_quota: self.monthly_quota,
            healthy: self.healthy,
            host_runs: self
                .hosts
                .iter()
                .flat_map(|(host, runs)| {
                    runs.iter().map(move |(command, run)| metrics::HostRun {
                        host: host.clone(),
                        command: command.clone(),
                        started_at: DateTime::parse_from_rfc3339(&run.started_at)
                            .map_or(DateTime::UNIX_EPOCH, |t| t.to_utc()),
                        ok: run.outcome == "ok",
                    })
                })
                .collect(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        today: NaiveDate,
        now: &crate::settings::Now,
        summary: Summary,
        stored: &BTreeSet<NaiveDate>,
        unavailable: &BTreeSet<NaiveDate>,
        runs: Vec<LastRun>,
        used: u64,
        quota: u64,
    ) -> Report {
        let (from, _) = window_ending(today, MONTH_DAYS);
        // Today is not required: the morning run may not have happened yet.
        let yesterday = today.pred_opt().unwrap_or(today);
        let missing: Vec<NaiveDate> = weekdays(from, yesterday)
            .filter(|d| !stored.contains(d) && !unavailable.contains(d))
            .collect();
        let expected = previous_weekday(today);
        let mut problems = Vec::new();
        match summary.latest {
            None => problems.push("no rates are stored; run `fxrates backfill`".to_string()),
            Some(latest) if latest < expected => problems.push(format!(
                "the latest stored day is {latest}, older than {expected}, the last weekday \
                 before today; check that `fxrates ingest` runs and succeeds"
            )),
            Some(_) => {}
        }
        if !missing.is_empty() {
            problems.push(format!(
                "{} weekday{} of the last {MONTH_DAYS} days {} missing; run `fxrates backfill`",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                if missing.len() == 1 { "is" } else { "are" },
            ));
        }
        Report {
            healthy: problems.is_empty(),
            problems,
            today: today.to_string(),
            latest_date: summary.latest.map(|d| d.to_string()),
            latest_age_days: summary.latest.map(|d| (today - d).num_days()),
            missing_dates: missing.iter().map(NaiveDate::to_string).collect(),
            unavailable_dates: unavailable.iter().map(NaiveDate::to_string).collect(),
            days_stored: summary.days,
            oldest_date: summary.oldest.map(|d| d.to_string()),
            month: crate::quota::month_start(now.utc).date_naive().to_string(),
            requests_this_month: used,
            monthly_quota: quota,
            timeseries: None,
            last_success: None,
            last_runs: runs
                .into_iter()
                .map(|r| (r.command.clone(), RunView::from(r)))
                .collect(),
            hosts: BTreeMap::new(),
        }
    }

    fn write_text(&self, out: &mut impl Write) -> std::io::Result<()> {
        let list = |dates: &[String]| -> String {
            if dates.is_empty() {
                "none".into()
            } else {
                dates.join(", ")
            }
        };
        let verdict = if self.healthy { "healthy" } else { "UNHEALTHY" };
        writeln!(out, "status:       {verdict}")?;
        for p in &self.problems {
            writeln!(out, "  problem:    {p}")?;
        }
        match (&self.latest_date, self.latest_age_days) {
            (Some(d), Some(age)) => writeln!(
                out,
                "latest:       {d} ({age} day{} old)",
                if age == 1 { "" } else { "s" }
            )?,
            _ => writeln!(out, "latest:       none")?,
        }
        writeln!(
            out,
            "missing:      {} (weekdays of the last {MONTH_DAYS} days, today excepted)",
            list(&self.missing_dates)
        )?;
        writeln!(
            out,
            "no rates:     {} (fixer has none; not asked again)",
            list(&self.unavailable_dates)
        )?;
        match &self.oldest_date {
            Some(d) => writeln!(out, "stored:       {} days, oldest {d}", self.days_stored)?,
            None => writeln!(out, "stored:       0 days")?,
        }
        writeln!(
            out,
            "requests:     {} of {} this month (since {}, UTC)",
            self.requests_this_month, self.monthly_quota, self.month
        )?;
        writeln!(
            out,
            "timeseries:   {}",
            self.timeseries.as_deref().unwrap_or("never asked")
        )?;
        for (command, run) in &self.last_runs {
            let error = run
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            let host = run
                .host
                .as_deref()
                .map(|h| format!(" on {h}"))
                .unwrap_or_default();
            writeln!(
                out,
                "last {command:<8} {} {}{host}{error}",
                run.started_at, run.outcome
            )?;
        }
        for (host, runs) in &self.hosts {
            for (command, run) in runs {
                let error = run
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "host {host}: last {command} {} {}{error}",
                    run.started_at, run.outcome
                )?;
            }
        }
        Ok(())
    }
}

/// Writes the metrics `status --format prometheus` prints to `path`,
/// replacing the file atomically.
pub fn write_metrics_file(
    settings: &Settings,
    monthly_quota: u64,
    path: &Path,
) -> anyhow::Result<()> {
    let report = Report::gather(settings, monthly_quota)?;
    metrics::write_atomically(path, &metrics::render(&report.metrics())).exit(Exit::IoErr, || {
        format!(
            "cannot write the metrics file {} (FXRATES_METRICS_FILE)",
            path.display()
        )
    })
}
