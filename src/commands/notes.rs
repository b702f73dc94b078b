//! The words for what the engine tells a run as it carries out a plan, and
//! for a failed run's fallback that failed too.

use crate::engine::Note;

/// Logs `note`: how the plan changes at `plan_level` (info for `backfill`,
/// debug where the run ends with its own summary line), what befalls a day
/// as a warning.
pub(super) fn log(note: Note<'_>, plan_level: log::Level) {
    match note {
        Note::TimeseriesRefused { retry_days } => log::log!(
            plan_level,
            "the fixer.io plan does not include the timeseries endpoint; fetching one day per \
             request instead (remembered: asked again after {retry_days} days, or with `fxrates \
             backfill --retry-timeseries`)"
        ),
        Note::Replanned(plan) => log::log!(plan_level, "{}", plan.describe()),
        Note::Skipped { date, error } => log::warn!(
            "{date} skipped: {}; going on with the other days",
            crate::report::headline(error)
        ),
        Note::NoRates(date) => log::warn!(
            "fixer.io has no rates for {date} (error 106); recorded, and not asked again \
             (`fxrates ingest --date {date}` asks anyway)"
        ),
        Note::Gap(date) => log::warn!(
            "fixer.io sent no rates for {date} in its timeseries answer, between days it has; \
             recorded, and not asked again"
        ),
        Note::CutOff { date, from, to } => log::warn!(
            "fixer.io's timeseries answer for {from}..{to} does not reach {date}; it stays \
             missing and is asked for again"
        ),
    }
}

/// Warns that a failed run's fallback to the ECB (`--fallback ecb`) failed
/// too, with `error`: the run fails with its own error, which says nothing
/// of the fallback.
pub(super) fn fallback_failed(error: &anyhow::Error) {
    log::warn!(
        "the fallback to the ECB failed too: {}",
        crate::report::headline(error)
    );
}
