//! `status` in each format, one renderer per format, each taking the
//! [`Health`] computed once: text for people, JSON for scripts, Prometheus
//! text for monitoring (also the metrics file a writing run leaves).

use super::metrics;
use crate::calendar::MONTH_DAYS;
use crate::health::Health;
use crate::rates::Source;
use std::io::{self, Write};
use std::path::Path;

/// For people: one line per fact, the verdict first.
pub(crate) fn text(h: &Health, out: &mut impl Write) -> io::Result<()> {
    let list = |dates: &[chrono::NaiveDate]| -> String {
        if dates.is_empty() {
            "none".into()
        } else {
            let text: Vec<String> = dates.iter().map(ToString::to_string).collect();
            text.join(", ")
        }
    };
    let verdict = match (h.action_needed, h.healthy) {
        (true, _) => "ACTION NEEDED",
        (false, true) => "healthy",
        (false, false) => "UNHEALTHY",
    };
    writeln!(out, "status:       {verdict}")?;
    for p in &h.problems {
        writeln!(out, "  problem:    {p}")?;
    }
    match (&h.latest_date, h.latest_age_days) {
        (Some(d), Some(age)) if age < 0 => writeln!(
            out,
            "latest:       {d} ({} ahead of today: check the clock)",
            crate::calendar::days_text(-age)
        )?,
        (Some(d), Some(age)) => writeln!(
            out,
            "latest:       {d} ({} old)",
            crate::calendar::days_text(age)
        )?,
        _ => writeln!(out, "latest:       none")?,
    }
    writeln!(
        out,
        "missing:      {} ({} of the last {MONTH_DAYS} days, {})",
        list(&h.missing_dates),
        match h.provider {
            Source::Fixer => "weekdays",
            Source::Ecb => "the ECB's business days",
        },
        match h.provider {
            Source::Fixer => "today excepted",
            Source::Ecb => "today from 16:00 Berlin time",
        }
    )?;
    writeln!(
        out,
        "no rates:     {} (fixer has none; not asked again)",
        list(&h.unavailable_dates)
    )?;
    match &h.oldest_date {
        Some(d) => writeln!(
            out,
            "stored:       {}, oldest {d}",
            crate::calendar::days_text(h.days_stored)
        )?,
        None => writeln!(out, "stored:       0 days")?,
    }
    for (provider, days) in &h.providers {
        writeln!(
            out,
            "  from {:<6}  {}, latest {}",
            provider.as_str(),
            crate::calendar::days_text(days.days),
            days.latest_date
        )?;
    }
    writeln!(
        out,
        "requests:     {} of {} this month (since {}, UTC)",
        h.requests_this_month, h.monthly_quota, h.month
    )?;
    match &h.timeseries {
        Some(answer) => writeln!(out, "timeseries:   {answer}")?,
        None => writeln!(out, "timeseries:   never asked")?,
    }
    if let Some(day) = h.last_full_check {
        writeln!(
            out,
            "checked:      {day} (every page, weekly by a writer; `status --deep` checks now)"
        )?;
    }
    runs(h, out)
}

/// The last run of each command, and of each host where hosts share the
/// store.
fn runs(h: &Health, out: &mut impl Write) -> io::Result<()> {
    for (command, run) in &h.last_runs {
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
            crate::store::timestamp(run.started_at),
            run.outcome.as_str()
        )?;
    }
    for (host, runs) in &h.hosts {
        for (command, run) in runs {
            let error = run
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            writeln!(
                out,
                "host {host}: last {command} {} {}{error}",
                crate::store::timestamp(run.started_at),
                run.outcome.as_str()
            )?;
        }
    }
    Ok(())
}

/// For scripts: the whole report as one JSON object.
pub(crate) fn json(h: &Health, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, h).map_err(io::Error::from)?;
    writeln!(out)
}

/// For Prometheus (node_exporter's textfile format).
pub(crate) fn prometheus(h: &Health, out: &mut impl Write) -> io::Result<()> {
    out.write_all(prometheus_text(h).as_bytes())
}

/// [`prometheus`]'s text, for `serve`'s metrics endpoint.
pub(crate) fn prometheus_text(h: &Health) -> String {
    metrics::render(&metric_values(h))
}

/// Replaces the metrics file at `path` atomically with [`prometheus`]'s text.
pub(crate) fn write_metrics_file(h: &Health, path: &Path) -> io::Result<()> {
    metrics::write_atomically(path, &prometheus_text(h))
}

/// The values the Prometheus metrics carry.
fn metric_values(h: &Health) -> metrics::Values {
    metrics::Values {
        providers: h
            .providers
            .iter()
            .map(|(p, d)| metrics::ProviderDays {
                provider: p.as_str(),
                days: d.days,
                latest: d.latest_date,
            })
            .collect(),
        last_success: h.last_success,
        latest_rate_date: h.latest_date,
        missing_weekdays: h.missing_dates.len() as u64,
        stored_days: h.days_stored,
        requests_this_month: h.requests_this_month,
        monthly_quota: h.monthly_quota,
        healthy: h.healthy,
        last_run_ok: h
            .last_fetch
            .as_ref()
            .is_some_and(|r| r.outcome == crate::health::RunOutcome::Ok),
        last_run_exit_code: h.last_fetch.as_ref().and_then(|r| r.exit_code),
        action_needed: h.action_needed,
        host_runs: h
            .hosts
            .iter()
            .flat_map(|(host, runs)| {
                runs.iter().map(move |(command, run)| metrics::HostRun {
                    host: host.clone(),
                    command: command.clone(),
                    started_at: run.started_at,
                    ok: run.outcome == crate::health::RunOutcome::Ok,
                })
            })
            .collect(),
    }
}
