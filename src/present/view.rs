//! A stored day as a reader asks for it: against a chosen base, filtered to
//! some currencies, rendered as a table, JSON or CSV. Rates stay decimal text
//! from the store to stdout.

use crate::decimal::{self, cross_rate};
use crate::error::{Exit, fail};
use crate::rates::{Currency, RateSet, Source};
use crate::store::StoredDay;
use chrono::NaiveDate;
use serde::ser::{Error as _, SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::io::{self, Write};

/// One day's rates, ready to print.
#[derive(Debug)]
pub(crate) struct DayView {
    pub date: NaiveDate,
    pub requested_date: NaiveDate,
    pub base: Currency,
    pub derived: bool,
    pub source_date: NaiveDate,
    pub provider: Source,
    pub fetched_at: String,
    pub rates: RateSet,
}

/// One day's JSON object; the rates are the exact decimals, as JSON
/// numbers.
impl Serialize for DayView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut day = s.serialize_struct("DayView", 8)?;
        day.serialize_field("date", &self.date)?;
        day.serialize_field("requested_date", &self.requested_date)?;
        day.serialize_field("base", self.base.as_str())?;
        day.serialize_field("derived", &self.derived)?;
        day.serialize_field("source_date", &self.source_date)?;
        day.serialize_field("provider", self.provider.as_str())?;
        day.serialize_field("fetched_at", &self.fetched_at)?;
        day.serialize_field("rates", &Rates(&self.rates))?;
        day.end()
    }
}

struct Rates<'a>(&'a RateSet);

impl Serialize for Rates<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (c, r) in self.0.iter() {
            let number: &RawValue = serde_json::from_str(r).map_err(S::Error::custom)?;
            map.serialize_entry(c.as_str(), number)?;
        }
        map.end()
    }
}

impl DayView {
    /// Rebases `day` on `base` (when given and different) and keeps only
    /// `symbols` (when any). Unknown codes are errors that name them.
    pub(crate) fn new(
        day: StoredDay,
        requested: NaiveDate,
        base: Option<Currency>,
        symbols: &[Currency],
    ) -> anyhow::Result<DayView> {
        let stored_base = day.base;
        let base = base.unwrap_or(stored_base);
        // Taken, not copied: a range of twenty years shows every day once.
        let StoredDay {
            date,
            source_date,
            provider,
            fetched_at,
            rates: stored,
            ..
        } = day;
        let mut rates = if base == stored_base {
            stored
        } else {
            rebase(&stored, stored_base, base).ok_or_else(|| {
                fail(
                    Exit::NoInput,
                    format!("there is no {base} rate on {date}, so it cannot be the base"),
                )
            })?
        };
        if !symbols.is_empty() {
            let unknown: Vec<&str> = symbols
                .iter()
                .filter(|c| **c != base && rates.get(**c).is_none())
                .map(Currency::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(fail(
                    Exit::NoInput,
                    format!(
                        "no rate for {} on {date}, which is stored from {}{}",
                        unknown.join(", "),
                        provider.name(),
                        match provider {
                            Source::Ecb => " (its ~30 currencies do not include it)",
                            Source::Fixer => "",
                        }
                    ),
                ));
            }
            let mut kept = RateSet::with_capacity(symbols.len());
            for &c in symbols {
                match rates.get(c) {
                    Some(r) => kept.push(c, r),
                    None => kept.push(c, "1"), // the base itself
                }
            }
            rates = dedup(kept);
        }
        Ok(DayView {
            date,
            requested_date: requested,
            base,
            derived: base != stored_base,
            source_date,
            provider,
            fetched_at,
            rates,
        })
    }

    pub(crate) fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        writeln!(out)
    }

    pub(crate) fn write_csv(&self, out: &mut impl Write, header: bool) -> io::Result<()> {
        if header {
            writeln!(out, "date,base,currency,rate,provider")?;
        }
        for (c, r) in self.rates.iter() {
            writeln!(out, "{},{},{c},{r},{}", self.date, self.base, self.provider)?;
        }
        Ok(())
    }

    pub(crate) fn write_table(&self, out: &mut impl Write) -> io::Result<()> {
        let when = if self.date == self.requested_date {
            self.date.to_string()
        } else {
            format!(
                "{} (the latest stored day on or before {})",
                self.date, self.requested_date
            )
        };
        let base = if self.derived {
            format!("{} (derived from EUR)", self.base)
        } else {
            self.base.to_string()
        };
        writeln!(
            out,
            "Rates for {when}, base {base}, from {}",
            self.provider.name()
        )?;
        // `CODE  rate` rows with the decimal points in one column.
        let w = int_column(&self.rates);
        writeln!(out, "{:<8}  {:>w$}", "Currency", "Rate")?;
        for (c, r) in self.rates.iter() {
            let (int, frac) = r.split_at(int_len(r));
            writeln!(out, "{:<8}  {int:>w$}{frac}", c.as_str())?;
        }
        Ok(())
    }
}

/// The width of the integer parts of `rates` in a column whose decimal
/// points line up (at least that of the heading "Rate").
pub(crate) fn int_column(rates: &RateSet) -> usize {
    rates
        .iter()
        .map(|(_, r)| int_len(r))
        .max()
        .unwrap_or(1)
        .max(4)
}

/// The length of a decimal's integer part.
pub(crate) fn int_len(decimal: &str) -> usize {
    decimal.find('.').unwrap_or(decimal.len())
}

fn dedup(set: RateSet) -> RateSet {
    let mut out = RateSet::with_capacity(set.len());
    let mut last = None;
    for (c, r) in set.iter() {
        if last != Some(c) {
            out.push(c, r);
            last = Some(c);
        }
    }
    out
}

/// Cross rates against `base`: rate(X) / rate(base), plus the old base itself.
fn rebase(rates: &RateSet, old_base: Currency, base: Currency) -> Option<RateSet> {
    let base_rate = decimal::parse(rates.get(base)?)?;
    let mut out = RateSet::with_capacity(rates.len() + 1);
    if rates.get(old_base).is_none() {
        out.push(
            old_base,
            &cross_rate(rust_decimal::Decimal::ONE, base_rate)?,
        );
    }
    for (c, r) in rates.iter() {
        if c == base {
            out.push(c, "1");
        } else {
            out.push(c, &cross_rate(decimal::parse(r)?, base_rate)?);
        }
    }
    Some(out)
}
