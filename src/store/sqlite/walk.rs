//! Reading a range of stored days, one day at a time: a full history is
//! about 7,300 days of 170 rates, too much to hold at once for no reason.

use super::{IoContext, SqliteStore};
use crate::rates::{Currency, Source};
use crate::store::{StoreError, StoredDay};
use chrono::NaiveDate;
use rusqlite::params_from_iter;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

impl SqliteStore {
    pub(super) fn for_each_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        currencies: &[Currency],
        each: &mut dyn FnMut(StoredDay) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let filter = if currencies.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (3..currencies.len() + 3).map(|i| format!("?{i}")).collect();
            format!(" AND currency IN ({})", marks.join(","))
        };
        // Two ordered reads stepped side by side in one read transaction,
        // rather than a join: a join looks the day up again for each of its
        // ~170 rates and copies its columns into every row, which made a
        // year of rates three times slower to read. The columns sit where
        // `day_head` and `push_rate` read them.
        let rates_sql = format!(
            "SELECT date, NULL, NULL, NULL, NULL, currency, rate FROM day_rates
             WHERE date >= ?1 AND date <= ?2{filter} ORDER BY date, currency"
        );
        let mut heads = self
            .conn
            .prepare_cached(
                "SELECT date, base, source_date, source_timestamp, fetched_at, NULL, NULL, endpoint, source
                 FROM days WHERE date >= ?1 AND date <= ?2 ORDER BY date",
            )
            .io(self.read_err())?;
        let mut stmt = self.conn.prepare_cached(&rates_sql).io(self.read_err())?;
        let (from, to) = (from.to_string(), to.to_string());
        let mut heads = heads.query([&from, &to]).io(self.read_err())?;
        let args = [from, to]
            .into_iter()
            .chain(currencies.iter().map(|c| c.as_str().to_string()));
        let mut rows = stmt.query(params_from_iter(args)).io(self.read_err())?;
        let mut current: Option<StoredDay> = None;
        let mut current_date = String::new();
        let mut count = 0;
        while let Some(row) = rows.next().io(self.read_err())? {
            let date = row.get_ref(0).and_then(|v| Ok(v.as_str()?));
            let date = date.io(self.read_err())?;
            if current.is_none() || current_date != date {
                current_date.clear();
                current_date.push_str(date);
                // The day's own row: days before it have no rate asked for.
                let next = loop {
                    let Some(head) = heads.next().io(self.read_err())? else {
                        return Err(self.damaged(current_date.clone()));
                    };
                    let head_date = head.get_ref(0).and_then(|v| Ok(v.as_str()?));
                    match head_date.io(self.read_err())?.cmp(current_date.as_str()) {
                        std::cmp::Ordering::Less => continue,
                        std::cmp::Ordering::Equal => break self.day_head(head)?,
                        // A rate without its day.
                        std::cmp::Ordering::Greater => {
                            return Err(self.damaged(current_date.clone()));
                        }
                    }
                };
                if let Some(day) = current.replace(next) {
                    count += 1;
                    if each(day).is_break() {
                        return Ok(count);
                    }
                }
            }
            if let Some(day) = current.as_mut() {
                self.push_rate(day, row)?;
            }
        }
        if let Some(day) = current {
            count += 1;
            let _ = each(day);
        }
        Ok(count)
    }

    pub(super) fn count_days(&self, from: NaiveDate, to: NaiveDate) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached("SELECT count(*) FROM days WHERE date >= ?1 AND date <= ?2")
            .and_then(|mut s| {
                s.query_row([from.to_string(), to.to_string()], |r| r.get::<_, i64>(0))
            })
            .map(|n| n as u64)
            .io(self.read_err())
    }

    pub(super) fn providers_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<Source>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT DISTINCT source FROM days WHERE date >= ?1 AND date <= ?2")
            .io(self.read_err())?;
        let rows = stmt
            .query_map([from.to_string(), to.to_string()], |r| {
                r.get::<_, String>(0)
            })
            .io(self.read_err())?;
        let mut out = BTreeSet::new();
        for row in rows {
            let name = row.io(self.read_err())?;
            out.insert(
                Source::parse(&name).ok_or_else(|| self.damaged(format!("{from} to {to}")))?,
            );
        }
        Ok(out)
    }

    pub(super) fn has_currency_between(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT 1 FROM day_rates WHERE currency = ?1 AND date >= ?2 AND date <= ?3 LIMIT 1",
            )
            .and_then(|mut s| s.exists([currency.as_str(), &from.to_string(), &to.to_string()]))
            .io(self.read_err())
    }
}
