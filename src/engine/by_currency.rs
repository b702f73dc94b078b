//! The workaround for the ECB's outages of its query for every currency
//! (`D..EUR...` answering "no data" while single-currency queries work):
//! one query per currency the ECB publishes, merged into days.
//!
//! Nothing is stored unless the merge is whole: every query answered, a
//! currency answering "no data" is one the ECB has stopped publishing, and
//! every day holds every currency whose answer spans it. A day short of a
//! currency the ECB should have would otherwise be stored as complete and
//! never asked again.

use super::ecb::Ledger;
use crate::ecb::currencies;
use crate::ecb::{Client, Days};
use crate::error::{Exit, fail};
use crate::rates::{Currency, RateSet, Source};
use crate::store::Store;
use anyhow::Context;
use chrono::{Days as Span, NaiveDate};
use std::collections::{BTreeMap, BTreeSet};

/// How far around the window stored ECB days tell which currencies to ask.
const NEAR_DAYS: u64 = 31;

/// The days of `first..=last` from one query per currency, merged; an
/// error (nothing stored) when any query fails or the merge is not whole.
pub(super) fn fetch(
    store: &mut dyn Store,
    client: &Client,
    (first, last): (NaiveDate, NaiveDate),
    requests: &mut u64,
) -> anyhow::Result<Days> {
    let near = Near::read(&*store, first, last)?;
    let asked = near.to_ask(first);
    let context = || {
        format!(
            "the ECB answered no data for {first} to {last} to its query for every currency, \
             and asking one currency at a time failed, so nothing was stored"
        )
    };
    let mut answers = Vec::new();
    for &currency in &asked {
        let days = {
            let mut ledger = Ledger {
                store: &mut *store,
                requests: &mut *requests,
            };
            client.series(currency, first, last, &mut ledger)
        }
        .map_err(anyhow::Error::from)
        .with_context(context)?;
        if days.is_empty() {
            if near.stopped(currency) {
                log::info!(
                    "the ECB has no {currency} rate from {first} to {last}: it stopped \
                     publishing it"
                );
                continue;
            }
            return Err(fail(
                Exit::TempFail,
                format!(
                    "{}: it answered no data for {currency} alone either, which it publishes; \
                     try again later",
                    context()
                ),
            ));
        }
        answers.push((currency, days));
    }
    merge(answers).map_err(|(date, currency)| {
        fail(
            Exit::TempFail,
            format!(
                "{}: its answers hold {date} without {currency}, which it published around \
                 that day; try again later",
                context()
            ),
        )
    })
}

/// What the stored ECB days around a window say of its currencies.
struct Near {
    /// Every currency on them.
    seen: BTreeSet<Currency>,
    /// The currencies of the latest of them after the window, if any.
    after: Option<BTreeSet<Currency>>,
}

impl Near {
    fn read(store: &dyn Store, first: NaiveDate, last: NaiveDate) -> anyhow::Result<Near> {
        let from = first
            .checked_sub_days(Span::new(NEAR_DAYS))
            .unwrap_or(first);
        let to = last.checked_add_days(Span::new(NEAR_DAYS)).unwrap_or(last);
        let mut near = Near {
            seen: BTreeSet::new(),
            after: None,
        };
        crate::store::walk_days(store, from, to, &[], |day| {
            if day.provider == Source::Ecb {
                let codes: BTreeSet<Currency> = day.rates.iter().map(|(c, _)| c).collect();
                near.seen.extend(&codes);
                if day.date > last {
                    near.after = Some(codes);
                }
            }
            Ok::<_, anyhow::Error>(())
        })?;
        Ok(near)
    }

    /// The currencies to ask for: those of the stored ECB days, else the
    /// ones this release knows the ECB to publish; never one it stopped
    /// before `first`.
    fn to_ask(&self, first: NaiveDate) -> Vec<Currency> {
        if self.seen.is_empty() {
            return currencies::published_since(first);
        }
        self.seen
            .iter()
            .copied()
            .filter(|&c| currencies::ended(c).is_none_or(|end| end >= first))
            .collect()
    }

    /// Whether "no data" for `currency` is the ECB having stopped it: it is
    /// missing from the latest stored ECB day after the window. (One known
    /// to have ended before the window is not asked at all.)
    fn stopped(&self, currency: Currency) -> bool {
        self.after.as_ref().is_some_and(|c| !c.contains(&currency))
    }
}

/// One query's days per currency, as days of every currency; the first
/// (date, currency) where a day lacks a currency whose answer has days both
/// on or before and on or after it.
fn merge(answers: Vec<(Currency, Days)>) -> Result<Days, (NaiveDate, Currency)> {
    let mut days: BTreeMap<NaiveDate, RateSet> = BTreeMap::new();
    let mut spans = Vec::new();
    for (currency, answer) in &answers {
        if let (Some((a, _)), Some((b, _))) = (answer.first(), answer.last()) {
            spans.push((*currency, *a, *b));
        }
        for (date, rates) in answer {
            let day = days.entry(*date).or_default();
            for (c, r) in rates.iter() {
                day.push(c, r);
            }
        }
    }
    for (date, rates) in &days {
        for &(currency, a, b) in &spans {
            if (a..=b).contains(date) && rates.get(currency).is_none() {
                return Err((*date, currency));
            }
        }
    }
    Ok(days.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_date;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn answer(code: &str, dates: &[&str]) -> (Currency, Days) {
        let days = dates
            .iter()
            .map(|d| {
                let mut r = RateSet::default();
                r.push(c(code), "1.5");
                (parse_date(d).unwrap(), r)
            })
            .collect();
        (c(code), days)
    }

    #[test]
    fn answers_of_every_day_merge_into_whole_days() {
        let days = merge(vec![
            answer("USD", &["2024-01-02", "2024-01-03"]),
            answer("GBP", &["2024-01-02", "2024-01-03"]),
        ])
        .unwrap();
        assert_eq!(days.len(), 2);
        assert!(days.iter().all(|(_, r)| r.len() == 2));
    }

    #[test]
    fn a_series_that_ends_or_begins_within_the_window_is_not_missing_outside_it() {
        // RUB's last day was 2022-03-01.
        let days = merge(vec![
            answer("USD", &["2022-02-28", "2022-03-01", "2022-03-02"]),
            answer("RUB", &["2022-02-28", "2022-03-01"]),
        ])
        .unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days[2].1.get(c("RUB")), None);
    }

    #[test]
    fn a_day_without_a_currency_published_around_it_is_refused() {
        let gap = merge(vec![
            answer("USD", &["2024-01-02", "2024-01-03", "2024-01-04"]),
            answer("GBP", &["2024-01-02", "2024-01-04"]),
        ]);
        assert_eq!(gap, Err((parse_date("2024-01-03").unwrap(), c("GBP"))));
    }

    #[test]
    fn no_request_for_a_currency_stopped_before_the_window() {
        let near = Near {
            seen: [c("BGN"), c("USD"), c("RUB")].into(),
            after: None,
        };
        assert_eq!(near.to_ask(parse_date("2026-01-05").unwrap()), [c("USD")]);
        assert_eq!(
            near.to_ask(parse_date("2025-12-01").unwrap()),
            [c("BGN"), c("USD")]
        );
        let none = Near {
            seen: BTreeSet::new(),
            after: None,
        };
        assert_eq!(
            none.to_ask(parse_date("2026-01-05").unwrap()),
            currencies::current()
        );
    }

    #[test]
    fn no_data_is_a_stop_only_with_evidence_of_one() {
        let near = Near {
            seen: [c("USD"), c("XYZ")].into(),
            after: Some([c("USD")].into()),
        };
        assert!(near.stopped(c("XYZ")), "gone from the later stored day");
        assert!(!near.stopped(c("USD")));
        let unknown = Near {
            seen: [c("USD")].into(),
            after: None,
        };
        assert!(!unknown.stopped(c("USD")));
    }
}
