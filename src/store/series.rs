//! Reading a range of stored days, one day at a time: a full history is
//! about 7,300 days of 170 rates, too much to hold at once for no reason.

use super::{Store, StoredDay};
use crate::calendar::parse_date;
use crate::error::{Exit, ResultExt, fail};
use crate::rates::{Currency, RateSet};
use chrono::NaiveDate;
use rusqlite::params_from_iter;

impl Store {
    /// Calls `each` with every stored day from `from` to `to` (both
    /// included), in date order. With `currencies` non-empty, each day holds
    /// only those of them that are stored (a day holding none is skipped).
    /// Returns how many days were passed to `each`; its errors stop the walk
    /// and are returned as they are.
    pub fn for_each_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        currencies: &[Currency],
        mut each: impl FnMut(StoredDay) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        let filter = if currencies.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (3..currencies.len() + 3).map(|i| format!("?{i}")).collect();
            format!(" AND r.currency IN ({})", marks.join(","))
        };
        let sql = format!(
            "SELECT d.date, d.base, d.source_date, d.source_timestamp, d.fetched_at, r.currency, r.rate
             FROM days AS d JOIN day_rates AS r ON r.date = d.date
             WHERE r.date >= ?1 AND r.date <= ?2{filter}
             ORDER BY r.date, r.currency"
        );
        let read_err = || self.named("cannot read the database");
        let mut stmt = self.conn.prepare(&sql).exit(Exit::IoErr, read_err)?;
        let args = [from.to_string(), to.to_string()]
            .into_iter()
            .chain(currencies.iter().map(|c| c.as_str().to_string()));
        let mut rows = stmt
            .query(params_from_iter(args))
            .exit(Exit::IoErr, read_err)?;
        let mut current: Option<StoredDay> = None;
        let mut current_date = String::new();
        let mut count = 0;
        while let Some(row) = rows.next().exit(Exit::IoErr, read_err)? {
            let date = row.get_ref(0).and_then(|v| Ok(v.as_str()?));
            let date = date.exit(Exit::IoErr, read_err)?;
            if current.is_none() || current_date != date {
                current_date.clear();
                current_date.push_str(date);
                let next = self.day_head(row)?;
                if let Some(day) = current.replace(next) {
                    count += 1;
                    each(finish(day))?;
                }
            }
            let code = row.get_ref(5).and_then(|v| Ok(v.as_str()?));
            let rate = row.get_ref(6).and_then(|v| Ok(v.as_str()?));
            let (code, rate) = code
                .and_then(|c| Ok((c, rate?)))
                .exit(Exit::IoErr, read_err)?;
            if let (Some(day), Some(c)) = (current.as_mut(), Currency::parse(code)) {
                day.rates.push(c, rate);
            }
        }
        if let Some(day) = current {
            count += 1;
            each(finish(day))?;
        }
        Ok(count)
    }

    /// How many days are stored from `from` to `to`, both included.
    pub fn count_days(&self, from: NaiveDate, to: NaiveDate) -> anyhow::Result<u64> {
        self.conn
            .prepare_cached("SELECT count(*) FROM days WHERE date >= ?1 AND date <= ?2")
            .and_then(|mut s| {
                s.query_row([from.to_string(), to.to_string()], |r| r.get::<_, i64>(0))
            })
            .map(|n| n as u64)
            .exit(Exit::IoErr, || self.named("cannot read the database"))
    }

    /// Whether `currency` has a rate on any stored day from `from` to `to`.
    pub fn has_currency_between(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT 1 FROM day_rates WHERE currency = ?1 AND date >= ?2 AND date <= ?3 LIMIT 1",
            )
            .and_then(|mut s| s.exists([currency.as_str(), &from.to_string(), &to.to_string()]))
            .exit(Exit::IoErr, || self.named("cannot read the database"))
    }

    /// A day without its rates, from the first row that names it.
    fn day_head(&self, row: &rusqlite::Row<'_>) -> anyhow::Result<StoredDay> {
        let (date, base, source_date, source_timestamp, fetched_at) = (|| {
            Ok::<_, rusqlite::Error>((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, String>(4)?,
            ))
        })()
        .exit(Exit::IoErr, || self.named("cannot read the database"))?;
        let bad = || {
            fail(
                Exit::IoErr,
                self.named(&format!("the stored day {date} is damaged")),
            )
        };
        Ok(StoredDay {
            date: parse_date(&date).ok_or_else(bad)?,
            base: Currency::parse(&base).ok_or_else(bad)?,
            source_date: parse_date(&source_date).ok_or_else(bad)?,
            source_timestamp,
            fetched_at,
            rates: RateSet::with_capacity(180),
        })
    }
}

fn finish(mut day: StoredDay) -> StoredDay {
    // Rows come ordered by currency; sorting keeps the RateSet's invariant
    // even if a future query does not.
    day.rates.sort_and_find_duplicate();
    day
}
