//! `ingest` and `backfill` with `--provider ecb`: the missing TARGET
//! business days of the window, in one request, no key.

use super::{Fallback, Writing};
use crate::calendar::{MONTH_DAYS, days_text, is_weekend, window_ending};
use crate::cli::{BackfillArgs, IngestArgs, ProviderArgs};
use crate::ecb::Client;
use crate::engine::{EngineError, Filled, fill, wanted_days};
use crate::error::{Exit, fail};
use crate::fixer::FetchError;
use crate::private_file::PrivateFileError;
use crate::rates::Source;
use crate::settings::Settings;
use crate::store::{Store, StoreError};
use crate::target_calendar::{closing_name, last_published_date};
use chrono::NaiveDate;

/// The first day the ECB has reference rates for.
pub(super) const ECB_FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1999, 1, 4) {
    Some(d) => d,
    None => unreachable!(),
};

pub(super) fn ingest<'a>(
    args: &'a IngestArgs,
    settings: &'a Settings,
) -> anyhow::Result<Option<Writing<'a>>> {
    let today = settings.now.today;
    if let Some(d) = args.date {
        if d > today {
            return Err(fail(
                Exit::Usage,
                format!(
                    "--date {d} is in the future (today is {today}); the ECB has no rates for it yet"
                ),
            ));
        }
        if d < ECB_FIRST_DAY {
            return Err(fail(
                Exit::Usage,
                format!("--date {d} is before {ECB_FIRST_DAY}, where the ECB's history begins"),
            ));
        }
        if is_weekend(d) {
            log::warn!(
                "{d} is a {}; fxrates stores weekdays only, so there is nothing to ingest",
                d.format("%A")
            );
            return Ok(None);
        }
        if let Some(name) = closing_name(d) {
            log::warn!(
                "{d} is {name}, a TARGET closing day: the ECB publishes no rates for it, so \
                 there is nothing to ingest"
            );
            return Ok(None);
        }
    }
    if let Some(days) = args.keep_days {
        crate::retention::check_keep_days(days)?;
    }
    let client = settings.ecb(&args.provider)?;
    let deadline = Some(client.deadline());
    let work = move |store: &mut dyn Store| {
        let (from, to) = match args.date {
            Some(d) => (d, d),
            None if args.no_heal => (today, today),
            None => window_ending(today, MONTH_DAYS),
        };
        let mut done = Vec::new();
        if let Some(d) = args.date
            && let Some(day) = store.day_on_or_before(Some(d), 0)?
        {
            if day.provider == Source::Fixer {
                log::warn!(
                    "{d} is stored from fixer.io, which the ECB's rates never replace; no request made"
                );
                return Ok(());
            }
            if !args.force {
                log::info!("{d} is already stored; no request made (--force fetches it again)");
                return Ok(());
            }
        }
        let wanted = wanted_days(store, from, to, settings.now.utc, args.force)?;
        let out = fill(store, &client, &wanted, settings.now.utc, today)?;
        done.push(summary(&out, from, to));
        if let Some(days) = args.keep_days {
            let (cutoff, pruned) = crate::retention::prune(store, today, days)?;
            if pruned.days > 0 {
                done.push(format!(
                    "pruned {} before {cutoff} (FXRATES_KEEP_DAYS={days})",
                    days_text(pruned.days)
                ));
            }
        }
        log::info!("{}", done.join("; "));
        Ok(())
    };
    Ok(Some(Writing::in_history(deadline, work)))
}

pub(super) fn backfill<'a>(
    args: &'a BackfillArgs,
    (from, to): (NaiveDate, NaiveDate),
    settings: &'a Settings,
) -> anyhow::Result<Option<Writing<'a>>> {
    let from = from.max(ECB_FIRST_DAY);
    let client = settings.ecb(&args.provider)?;
    let deadline = Some(client.deadline());
    let work = move |store: &mut dyn Store| {
        let wanted = wanted_days(store, from, to, settings.now.utc, false)?;
        if wanted.is_empty() {
            log::info!(
                "every ECB business day from {from} to {} is stored; no request made",
                to.min(last_published_date(settings.now.utc))
            );
            return Ok(());
        }
        log::info!(
            "{} missing from {from} to {to}: asking the ECB for them in one request",
            days_text(wanted.len() as u64)
        );
        let out = fill(
            store,
            &client,
            &wanted,
            settings.now.utc,
            settings.now.today,
        )?;
        log::info!("{}", summary(&out, from, to));
        Ok(())
    };
    Ok(Some(Writing::in_history(deadline, work)))
}

/// The run's one summary line.
fn summary(out: &Filled, from: NaiveDate, to: NaiveDate) -> String {
    let mut parts = Vec::new();
    if out.wanted == 0 {
        parts.push(format!(
            "no ECB business day from {from} to {to} missing (today's rates are published at \
             about 16:00 Berlin time)"
        ));
    } else {
        parts.push(format!(
            "stored {} from the ECB ({} missing)",
            days_text(out.stored as u64),
            out.wanted
        ));
    }
    if let Some(d) = out.not_yet {
        parts.push(format!(
            "the ECB has not published {d} yet: the next run fetches it"
        ));
    }
    if let Some(instead) = out.fallback {
        parts.push(instead.into());
    }
    parts.push(format!(
        "{} request{}",
        out.requests,
        if out.requests == 1 { "" } else { "s" }
    ));
    parts.join("; ")
}

/// The fallback of a fixer run that failed with `err`: when it failed for
/// a reason of fixer's (the key, the plan or the budget refused, fixer
/// unreachable or failing after the retries) and `--fallback ecb` is set,
/// the ECB's business days of `window` that are missing are fetched from
/// the ECB in one request. The run still fails with fixer's exit code, its
/// line saying first how many days the ECB filled.
pub(super) fn fall_back<'a>(
    err: &anyhow::Error,
    args: &'a ProviderArgs,
    (from, to): (NaiveDate, NaiveDate),
    settings: &'a Settings,
) -> anyhow::Result<Option<Fallback<'a>>> {
    if !settings.provider.falls_back_to_ecb() || !fixer_cannot_deliver(err) {
        return Ok(None);
    }
    let client = settings.ecb(args)?;
    Ok(Some(Fallback {
        deadline: Some(client.deadline()),
        work: Box::new(move |store| {
            let out = fill_from_ecb(store, &client, (from, to), settings)?;
            Ok(format!(
                "filled {} from the ECB instead (--fallback ecb; {} still missing)",
                days_text(out.stored as u64),
                out.wanted.saturating_sub(out.stored)
            ))
        }),
    }))
}

/// Whether a fixer run failed because fixer cannot deliver (see
/// [`FetchError::cannot_deliver`]): asked of the outermost typed error, as
/// the exit code is. A settings failure (no key, an unusable key file or
/// endpoint, a proxy refused) or the monthly budget refusing a plan carry
/// the exit code their own layer chose: a person must fix them, and the
/// ECB may meanwhile deliver. A store that failed anywhere is no reason to
/// ask the ECB.
fn fixer_cannot_deliver(err: &anyhow::Error) -> bool {
    if err.chain().any(|c| c.is::<StoreError>()) {
        return false;
    }
    err.chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<FetchError>() {
                return Some(e.cannot_deliver());
            }
            if let Some(f) = cause.downcast_ref::<crate::error::Failure>() {
                return Some(matches!(
                    f.exit,
                    Exit::Config | Exit::TempFail | Exit::Unavailable
                ));
            }
            // A key file fxrates may not read: fixer gets no key.
            if cause.is::<PrivateFileError>() {
                return Some(true);
            }
            // fixer answered, with days that cannot be used; or the ECB
            // itself failed.
            if cause.is::<EngineError>() || cause.is::<crate::ecb::EcbError>() {
                return Some(false);
            }
            None
        })
        .unwrap_or(false)
}

/// The ECB's business days of `window` that `store` is missing, fetched in
/// one request and stored with the provider `ecb`.
fn fill_from_ecb(
    store: &mut dyn Store,
    client: &Client,
    (from, to): (NaiveDate, NaiveDate),
    settings: &Settings,
) -> anyhow::Result<Filled> {
    let wanted = wanted_days(
        &*store,
        from.max(ECB_FIRST_DAY),
        to,
        settings.now.utc,
        false,
    )?;
    fill(store, client, &wanted, settings.now.utc, settings.now.today)
}

/// After a fixer run that succeeded but whose monthly budget left weekdays
/// of `window` missing: with `--fallback ecb`, those days come from the ECB
/// (one request). Returns the words for the run's summary line; a failure
/// of the ECB is a warning, since the run did what fixer allowed.
pub(super) fn fill_what_the_budget_left_out(
    store: &mut dyn Store,
    args: &ProviderArgs,
    window: (NaiveDate, NaiveDate),
    settings: &Settings,
) -> anyhow::Result<Option<String>> {
    if !settings.provider.falls_back_to_ecb() {
        return Ok(None);
    }
    let client = settings.ecb(args)?;
    match fill_from_ecb(store, &client, window, settings) {
        Ok(out) => {
            log::warn!(
                "fixer's monthly budget left {} missing; filled {} from the ECB instead \
                 (--fallback ecb)",
                days_text(out.wanted as u64),
                days_text(out.stored as u64)
            );
            Ok(Some(format!(
                "filled {} from the ECB (--fallback ecb)",
                days_text(out.stored as u64)
            )))
        }
        Err(e) => {
            log::warn!(
                "the fallback to the ECB failed: {}",
                crate::report::headline(&e)
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ResultExt;
    use crate::fixer::{Call, FetchErrorKind, ProviderRefusal};
    use crate::store::Target;

    fn refused(code: i64, kind: &str) -> anyhow::Error {
        anyhow::Error::new(FetchError {
            call: Call::Latest,
            host: "data.fixer.io".into(),
            https: true,
            header_auth: false,
            kind: Box::new(FetchErrorKind::Provider(ProviderRefusal {
                code,
                code_sent: true,
                kind: Some(kind.into()),
                info: None,
            })),
            gave_up: None,
        })
    }

    #[test]
    fn the_fallback_asks_the_outermost_typed_error() {
        let day = NaiveDate::from_ymd_opt(2024, 9, 20).unwrap();
        let store = || StoreError::Missing(Target::Sqlite("rates.db".into()));
        let table = [
            (refused(101, "invalid_access_key"), true),
            (refused(104, "usage_limit_reached"), true),
            (refused(101, "x").context("fetching the month"), true),
            (refused(106, "no_rates_available"), false),
            (fail(Exit::Config, "no API key"), true),
            (fail(Exit::TempFail, "the budget is spent"), true),
            (fail(Exit::Unavailable, "down"), true),
            (fail(Exit::Usage, "--date is in the future"), false),
            (fail(Exit::DataErr, "bad"), false),
            // The exit code a command chose over fixer's error decides.
            (
                Err::<(), _>(refused(101, "x"))
                    .exit(Exit::IoErr, || "cannot write".into())
                    .unwrap_err(),
                false,
            ),
            (
                anyhow::Error::new(EngineError::Drift {
                    asked: day,
                    dated: day,
                }),
                false,
            ),
            (anyhow::Error::new(store()), false),
            (
                Err::<(), _>(store())
                    .exit(Exit::Config, || "x".into())
                    .unwrap_err(),
                false,
            ),
            (anyhow::anyhow!("an error of no layer"), false),
        ];
        for (err, expected) in table {
            assert_eq!(fixer_cannot_deliver(&err), expected, "{err:#}");
        }
    }
}
