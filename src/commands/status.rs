use super::Run;
use crate::calendar::MONTH_DAYS;
use crate::cli::{StatusArgs, StatusFormat};
use crate::error::{Exit, Failure, ResultExt};
use crate::health::Health;
use crate::present::metrics;
use crate::rates::Source;
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use std::io::Write;
use std::path::Path;

impl Run for StatusArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let provider = self.provider.source();
        let health = read_health(settings, self.budget.monthly_quota, self.deep, provider)?;
        let mut out = std::io::stdout().lock();
        let written = match self.format {
            StatusFormat::Text => write_text(&health, &mut out),
            StatusFormat::Json => serde_json::to_writer_pretty(&mut out, &health)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out)),
            StatusFormat::Prometheus => {
                out.write_all(metrics::render(&metric_values(&health)).as_bytes())
            }
        }
        .and_then(|()| out.flush());
        match written {
            // The reader left early (`| head`): the verdict is the point of
            // `status`, and it still stands.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.exit(Exit::IoErr, || "cannot write to stdout".into())?,
        }
        // The report says why; the exit code is the verdict. A run that
        // waits for a person comes first: it is what makes the rest fail.
        if health.action_needed {
            Err(Failure::silent(Exit::RunFailed))
        } else if health.healthy {
            Ok(())
        } else {
            Err(Failure::silent(Exit::Unhealthy))
        }
    }
}

/// The health of the history, from a store opened for reading; a store
/// that does not exist yet, or is still a 0-byte file, is reported as empty.
fn read_health(
    settings: &Settings,
    quota: u64,
    deep: bool,
    provider: Source,
) -> anyhow::Result<Health> {
    let store = match settings.read_store() {
        Ok(store) => Some(store),
        Err(StoreError::Missing(_) | StoreError::Empty(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Health::gather(
        store.as_deref(),
        &settings.now,
        quota,
        deep,
        provider,
    )?)
}

/// The values the Prometheus metrics carry.
pub(super) fn metric_values(h: &Health) -> metrics::Values {
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

fn write_text(h: &Health, out: &mut impl Write) -> std::io::Result<()> {
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

/// Writes the metrics `status --format prometheus` prints to `path`,
/// replacing the file atomically, from the run's own store when it opened
/// one (else from a store opened for reading, if there is one).
pub(super) fn write_metrics_file(
    settings: &Settings,
    store: Option<&dyn Store>,
    monthly_quota: u64,
    provider: Source,
    path: &Path,
) -> anyhow::Result<()> {
    let health = match store {
        Some(store) => Health::gather(Some(store), &settings.now, monthly_quota, false, provider)?,
        None => read_health(settings, monthly_quota, false, provider)?,
    };
    let text = metrics::render(&metric_values(&health));
    metrics::write_atomically(path, &text).exit(Exit::IoErr, || {
        format!(
            "cannot write the metrics file {} (FXRATES_METRICS_FILE)",
            path.display()
        )
    })
}
