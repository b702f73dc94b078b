//! A stored day as a reader asks for it: against a chosen base, filtered to
//! some currencies, rendered as a table, JSON or CSV. Rates stay decimal text
//! from the store to stdout.

use crate::decimal::{self, cross_rate};
use crate::error::{Exit, fail};
use crate::rates::{Currency, RateSet};
use crate::store::StoredDay;
use chrono::NaiveDate;
use std::io::{self, Write};

/// One day's rates, ready to print.
#[derive(Debug)]
pub(crate) struct DayView {
    pub date: NaiveDate,
    pub requested_date: NaiveDate,
    pub base: Currency,
    pub derived: bool,
    pub source_date: NaiveDate,
    pub fetched_at: String,
    pub rates: RateSet,
}

impl DayView {
    /// Rebases `day` on `base` (when given and different) and keeps only
    /// `symbols` (when any). Unknown codes are errors that name them.
    pub(crate) fn new(
        day: &StoredDay,
        requested: NaiveDate,
        base: Option<Currency>,
        symbols: &[Currency],
    ) -> anyhow::Result<DayView> {
        let stored_base = day.base;
        let base = base.unwrap_or(stored_base);
        let mut rates = if base == stored_base {
            day.rates.clone()
        } else {
            rebase(&day.rates, stored_base, base).ok_or_else(|| {
                fail(
                    Exit::NoInput,
                    format!(
                        "there is no {base} rate on {}, so it cannot be the base",
                        day.date
                    ),
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
                    format!("no rate for {} on {}", unknown.join(", "), day.date),
                ));
            }
            let mut kept = RateSet::with_capacity(symbols.len());
            for &c in symbols {
                match rates.get(c) {
                    Some(r) => kept.push(c, r),
                    None => kept.push(c, "1"), // the base itself
                }
            }
            kept.sort_and_find_duplicate();
            rates = dedup(kept);
        }
        Ok(DayView {
            date: day.date,
            requested_date: requested,
            base,
            derived: base != stored_base,
            source_date: day.source_date,
            fetched_at: day.fetched_at.clone(),
            rates,
        })
    }

    pub(crate) fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", self.json_text())
    }

    /// The JSON object of one day, rates as the exact decimals.
    pub(crate) fn json_text(&self) -> String {
        let mut s = String::with_capacity(64 + self.rates.len() * 20);
        s.push_str(&format!(
            "{{\"date\":\"{}\",\"requested_date\":\"{}\",\"base\":\"{}\",\"derived\":{},\"source_date\":\"{}\",\"fetched_at\":{},\"rates\":{{",
            self.date,
            self.requested_date,
            self.base,
            self.derived,
            self.source_date,
            serde_json::to_string(&self.fetched_at).unwrap_or_else(|_| "null".into()),
        ));
        for (i, (c, r)) in self.rates.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!("\"{c}\":{r}"));
        }
        s.push_str("}}");
        s
    }

    pub(crate) fn write_csv(&self, out: &mut impl Write, header: bool) -> io::Result<()> {
        if header {
            writeln!(out, "date,base,currency,rate")?;
        }
        for (c, r) in self.rates.iter() {
            writeln!(out, "{},{},{c},{r}", self.date, self.base)?;
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
        writeln!(out, "Rates for {when}, base {base}")?;
        let rows: Vec<(Currency, &str)> = self.rates.iter().collect();
        write_aligned(out, &rows)
    }
}

/// Writes `CODE  rate` rows with the decimal points in one column.
fn write_aligned(out: &mut impl Write, rows: &[(Currency, &str)]) -> io::Result<()> {
    let split = |r: &str| r.find('.').unwrap_or(r.len());
    let int_w = rows.iter().map(|(_, r)| split(r)).max().unwrap_or(1).max(4);
    writeln!(out, "{:<8}  {:>int_w$}", "Currency", "Rate")?;
    for (c, r) in rows {
        let (int, frac) = r.split_at(split(r));
        writeln!(out, "{:<8}  {int:>int_w$}{frac}", c.as_str())?;
    }
    Ok(())
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
    out.sort_and_find_duplicate();
    Some(out)
}
