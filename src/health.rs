//! The health of the history, computed once from the store and printed by
//! `status` as text, JSON or Prometheus metrics (and written to the metrics
//! file after every run that writes).

use crate::calendar::{MONTH_DAYS, previous_weekday, weekdays, window_ending};
use crate::clock::Now;
use crate::quota::{Budget, month_start};
use crate::rates::Source;
use crate::store::{self, LastRun, ProviderDays, Reader, StoreError, Summary, TimeseriesAnswer};
use crate::target_calendar::{business_days, is_business_day, last_published_date};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// What `status` reports; its JSON form is this struct's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Health {
    pub healthy: bool,
    /// The last ingest or backfill failed for a reason a person must fix
    /// (`status` exits 3); its problem comes first.
    pub action_needed: bool,
    /// What is wrong, one sentence each, saying what to do.
    pub problems: Vec<String>,
    pub today: NaiveDate,
    pub latest_date: Option<NaiveDate>,
    pub latest_age_days: Option<i64>,
    /// Weekdays of the last month, today excepted, neither stored nor known
    /// to have no rates.
    pub missing_dates: Vec<NaiveDate>,
    /// Weekdays of the last month fixer said it has no rates for.
    pub unavailable_dates: Vec<NaiveDate>,
    pub days_stored: u64,
    pub oldest_date: Option<NaiveDate>,
    /// The provider whose calendar decides what is missing: the ECB
    /// publishes nothing on TARGET closing days, and today's rates only
    /// from 16:00 Berlin time.
    pub provider: Source,
    /// The days stored from each provider, and the latest of each.
    pub providers: BTreeMap<Source, ProviderHealth>,
    /// The first day of the month the requests are counted in (UTC).
    pub month: NaiveDate,
    pub requests_this_month: u64,
    pub monthly_quota: u64,
    /// What the plan last answered to `timeseries` ("allowed YYYY-MM-DD" or
    /// "refused YYYY-MM-DD" in JSON), `None` when it was never asked.
    #[serde(serialize_with = "as_text")]
    pub timeseries: Option<TimeseriesAnswer>,
    /// The last run of each command.
    pub last_runs: BTreeMap<String, RunHealth>,
    /// The last run of each command on each host, where the store records
    /// hosts (PostgreSQL): host, then command.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub hosts: BTreeMap<String, BTreeMap<String, RunHealth>>,
    /// When an ingest or backfill last succeeded (for the metrics).
    #[serde(skip)]
    pub last_success: Option<DateTime<Utc>>,
    /// The day a writer's full check for damage last passed, where the
    /// store keeps one (SQLite, weekly; `status --deep` checks now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_full_check: Option<NaiveDate>,
    /// The last run of ingest or backfill, whichever was recorded last (for the
    /// metrics).
    #[serde(skip)]
    pub last_fetch: Option<RunHealth>,
}

/// The days held from one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ProviderHealth {
    pub days: u64,
    pub latest_date: NaiveDate,
}

/// How the last run of a command went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct RunHealth {
    /// Orders runs as the store recorded them, whatever the clocks of the
    /// hosts that started them.
    #[serde(skip)]
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub outcome: RunOutcome,
    pub error: Option<String>,
    /// The exit code it ended with, where it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// The machine it ran on, where the store records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A run as recorded in a store other hosts write to: every piece of text
/// in it is untrusted, as the provider's words are, and is escaped before
/// any format shows it. Returns the command's name beside the run.
fn untrusted_run(r: LastRun) -> (Option<String>, String, RunHealth) {
    let host = r.host.as_deref().map(crate::untrusted::one_line);
    let command = crate::untrusted::one_line(&r.command);
    (host, command, RunHealth::from(r))
}

impl From<LastRun> for RunHealth {
    fn from(r: LastRun) -> RunHealth {
        RunHealth {
            id: r.id.0,
            started_at: r.started_at,
            outcome: match r.ok {
                Some(true) => RunOutcome::Ok,
                Some(false) => RunOutcome::Failed,
                None => RunOutcome::Unfinished,
            },
            // Stored by this or an older version, which kept the provider's
            // text raw.
            error: r.error.as_deref().map(crate::untrusted::one_line),
            exit_code: r.exit_code,
            host: r.host.as_deref().map(crate::untrusted::one_line),
        }
    }
}

impl RunHealth {
    /// Whether it failed for a reason a person must fix. A failure whose
    /// code was not recorded (an older fxrates) cannot tell, and does not.
    fn needs_a_person(&self) -> bool {
        self.outcome == RunOutcome::Failed
            && self.exit_code.is_some_and(crate::error::needs_a_person)
    }

    /// The problem `status` reports for it.
    fn failure_problem(&self, command: &str) -> String {
        let host = self
            .host
            .as_deref()
            .map(|h| format!(" on {h}"))
            .unwrap_or_default();
        format!(
            "the last {command} ({}{host}) failed with exit {}, which a person must fix: {}; \
             then run `fxrates {command}`",
            store::timestamp(self.started_at),
            self.exit_code.unwrap_or_default(),
            self.error.as_deref().unwrap_or("no error was recorded"),
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunOutcome {
    Ok,
    Failed,
    /// Killed, or still running.
    Unfinished,
}

impl RunOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ok => "ok",
            RunOutcome::Failed => "failed",
            RunOutcome::Unfinished => "unfinished",
        }
    }
}

fn as_text<S: Serializer>(answer: &Option<TimeseriesAnswer>, s: S) -> Result<S::Ok, S::Error> {
    match answer {
        Some(a) => s.collect_str(a),
        None => s.serialize_none(),
    }
}

/// What the health is computed from, as read from the store.
#[derive(Debug, Default)]
struct Facts {
    summary: Summary,
    providers: Vec<ProviderDays>,
    missing: Vec<NaiveDate>,
    unavailable: BTreeSet<NaiveDate>,
    runs: Vec<LastRun>,
    host_runs: Vec<LastRun>,
    used: u64,
    timeseries: Option<TimeseriesAnswer>,
    last_success: Option<DateTime<Utc>>,
    last_full_check: Option<NaiveDate>,
}

impl Health {
    /// The health of the history in `store`; `None` is a store that does not
    /// exist yet, reported as empty: that is exactly what monitoring must
    /// hear about. `deep` adds the store's full check for damage, whose cost
    /// grows with the history; without it, damage is found on the pages the
    /// report reads.
    pub(crate) fn gather(
        store: Option<&dyn Reader>,
        now: &Now,
        quota: u64,
        deep: bool,
        provider: Source,
    ) -> Result<Health, StoreError> {
        // A damaged file is reported, not read further: what could still
        // be read of it would not be the truth.
        let damage = match store.filter(|_| deep).map(|s| s.integrity_problem()) {
            Some(Ok(problem)) => problem,
            Some(Err(e)) => Some(e.damage().ok_or(e)?),
            None => None,
        };
        let (facts, damage) = match (store, damage) {
            (Some(store), None) => match Facts::read(store, now, quota, provider) {
                Ok(facts) => (facts, None),
                Err(e) => (Facts::empty(now, provider), Some(e.damage().ok_or(e)?)),
            },
            (_, damage) => (Facts::empty(now, provider), damage),
        };
        Ok(Health::judge(facts, damage, now, quota, provider))
    }

    fn judge(
        facts: Facts,
        damage: Option<String>,
        now: &Now,
        quota: u64,
        provider: Source,
    ) -> Health {
        let today = now.today;
        let latest = facts.summary.latest;
        let expected = match provider {
            Source::Fixer => previous_weekday(today),
            Source::Ecb => previous_business_day(Facts::window(now, provider).1),
        };
        let mut problems = Vec::new();
        if let Some(problem) = damage {
            problems.push(format!(
                "the database is damaged ({problem}); restore it from a backup (see \"Backups\" \
                 in DEPLOYMENT.md), then run `fxrates ingest`"
            ));
        }
        match latest {
            None => problems.push("no rates are stored; run `fxrates backfill`".to_string()),
            Some(latest) if latest < expected => problems.push(format!(
                "the latest stored day is {latest}, older than {expected}, the last weekday \
                 before today; check that `fxrates ingest` runs and succeeds"
            )),
            Some(_) => {}
        }
        let last_runs: BTreeMap<String, RunHealth> = facts
            .runs
            .into_iter()
            .map(|r| {
                let (_, command, run) = untrusted_run(r);
                (command, run)
            })
            .collect();
        let last_fetch = ["ingest", "backfill"]
            .into_iter()
            .filter_map(|c| Some((c, last_runs.get(c)?)))
            .max_by_key(|(_, run)| run.id);
        let action_needed = last_fetch.is_some_and(|(_, run)| run.needs_a_person());
        if let Some((command, run)) = last_fetch.filter(|_| action_needed) {
            // First: the cause of what follows, and what to fix.
            problems.insert(0, run.failure_problem(command));
        }
        let last_fetch = last_fetch.map(|(_, run)| run.clone());
        let missing = &facts.missing;
        if !missing.is_empty() {
            problems.push(format!(
                "{} weekday{} of the last {MONTH_DAYS} days {} missing; run `fxrates backfill`",
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                if missing.len() == 1 { "is" } else { "are" },
            ));
        }
        Health {
            healthy: problems.is_empty(),
            action_needed,
            problems,
            today,
            latest_date: latest,
            latest_age_days: latest.map(|d| (today - d).num_days()),
            missing_dates: facts.missing,
            unavailable_dates: facts.unavailable.into_iter().collect(),
            days_stored: facts.summary.days,
            oldest_date: facts.summary.oldest,
            provider,
            providers: facts
                .providers
                .iter()
                .map(|p| {
                    let health = ProviderHealth {
                        days: p.days,
                        latest_date: p.latest,
                    };
                    (p.provider, health)
                })
                .collect(),
            month: month_start(now.utc).date_naive(),
            requests_this_month: facts.used,
            monthly_quota: quota,
            timeseries: facts.timeseries,
            last_runs,
            hosts: facts
                .host_runs
                .into_iter()
                .filter_map(|r| {
                    let (host, command, run) = untrusted_run(r);
                    Some((host?, command, run))
                })
                .fold(BTreeMap::new(), |mut hosts, (host, command, run)| {
                    hosts
                        .entry(host)
                        .or_insert_with(BTreeMap::new)
                        .insert(command, run);
                    hosts
                }),
            last_success: facts.last_success,
            last_full_check: facts.last_full_check,
            last_fetch,
        }
    }
}

/// The last TARGET business day before `date`.
fn previous_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date.pred_opt().unwrap_or(date);
    while !is_business_day(d) {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

impl Facts {
    /// The days checked for gaps: the last month, today excepted (the
    /// morning run may not have happened yet); for the ECB, up to the last
    /// day it has published (today from 16:00 Berlin time).
    fn window(now: &Now, provider: Source) -> (NaiveDate, NaiveDate) {
        let (from, _) = window_ending(now.today, MONTH_DAYS);
        let yesterday = now.today.pred_opt().unwrap_or(now.today);
        match provider {
            Source::Fixer => (from, yesterday),
            Source::Ecb => (from, now.today.min(last_published_date(now.utc))),
        }
    }

    /// The days the provider publishes from `from` to `to`.
    fn published(from: NaiveDate, to: NaiveDate, provider: Source) -> Vec<NaiveDate> {
        match provider {
            Source::Fixer => weekdays(from, to).collect(),
            Source::Ecb => business_days(from, to).collect(),
        }
    }

    /// What an empty history shows: every day of the month missing.
    fn empty(now: &Now, provider: Source) -> Facts {
        let (from, to) = Facts::window(now, provider);
        Facts {
            missing: Facts::published(from, to, provider),
            ..Facts::default()
        }
    }

    fn read(
        store: &dyn Reader,
        now: &Now,
        quota: u64,
        provider: Source,
    ) -> Result<Facts, StoreError> {
        let today = now.today;
        let (from, to) = Facts::window(now, provider);
        let missing = match provider {
            Source::Fixer => store::missing_weekdays(store, from, to)?,
            Source::Ecb => {
                let stored = store.stored_between(from, to)?;
                let unavailable = store.unavailable_between(from, to)?;
                Facts::published(from, to, provider)
                    .into_iter()
                    .filter(|d| !stored.contains(d) && !unavailable.contains(d))
                    .collect()
            }
        };
        Ok(Facts {
            summary: store.summary()?,
            providers: store.providers()?,
            missing,
            unavailable: store.unavailable_between(from, today)?,
            runs: store.last_runs()?,
            host_runs: store.last_runs_by_host()?,
            used: Budget::read(store, now, quota)?.used,
            timeseries: store.timeseries_answer()?,
            last_success: store.last_success(&["ingest", "backfill"])?,
            last_full_check: store.last_full_check()?,
        })
    }
}
