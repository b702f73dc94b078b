//! `copy`'s path into PostgreSQL: many days of several provenances in one
//! transaction, the rates sent with `COPY ... FROM STDIN` (as `psql \copy`
//! does) instead of as bound arrays. A batch is whole or absent, so a
//! stopped copy still leaves whole days.

use super::PgStore;
use crate::store::{StoreError, StoredDay};
use chrono::NaiveDate;
use std::fmt::Write as _;
use std::io::Write as _;

impl PgStore {
    pub(super) fn put_batch(&mut self, days: &[StoredDay]) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        self.check_not_future(days.iter().map(|d| d.date))?;
        let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
        let bases: Vec<&str> = days.iter().map(|d| d.base.as_str()).collect();
        let sources: Vec<&str> = days.iter().map(|d| d.provider.as_str()).collect();
        let endpoints: Vec<&str> = days.iter().map(|d| d.endpoint.as_str()).collect();
        let source_dates: Vec<NaiveDate> = days.iter().map(|d| d.source_date).collect();
        let source_ts: Vec<Option<i64>> = days.iter().map(|d| d.source_timestamp).collect();
        let fetched: Vec<&str> = days.iter().map(|d| d.fetched_at.as_str()).collect();
        // COPY's text format: one line per rate, tab-separated.
        let mut rows = String::with_capacity(days.iter().map(|d| d.rates.len() * 32).sum());
        for day in days {
            for (currency, rate) in day.rates.iter() {
                let _ = writeln!(
                    rows,
                    "{}\t{}\t{}",
                    day.date,
                    currency.as_str(),
                    escape(rate)
                );
            }
        }
        let sql = [
            self.sql("DELETE FROM {s}.day_rates WHERE date = ANY($1)"),
            self.sql(
                "INSERT INTO {s}.days (date, base, source, endpoint, source_date, source_timestamp, fetched_at)
                 SELECT d, b, p, e, s, t, f::timestamptz
                 FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::date[],
                             $6::bigint[], $7::text[]) AS x (d, b, p, e, s, t, f)
                 ON CONFLICT (date) DO UPDATE SET base = excluded.base, source = excluded.source,
                     endpoint = excluded.endpoint, source_date = excluded.source_date,
                     source_timestamp = excluded.source_timestamp, fetched_at = excluded.fetched_at",
            ),
            self.sql("COPY {s}.day_rates (date, currency, rate) FROM STDIN"),
            self.sql("DELETE FROM {s}.unavailable_days WHERE date = ANY($1)"),
            self.sql("DELETE FROM {s}.unusable_days WHERE date = ANY($1)"),
        ];
        let what = "cannot store rates in the database";
        let mut conn = self.conn();
        let mut tx = conn.transaction().map_err(self.err(what))?;
        self.fence(&mut tx, what)?;
        tx.execute(&sql[0], &[&dates]).map_err(self.err(what))?;
        tx.execute(
            &sql[1],
            &[
                &dates,
                &bases,
                &sources,
                &endpoints,
                &source_dates,
                &source_ts,
                &fetched,
            ],
        )
        .map_err(self.err(what))?;
        let mut writer = tx.copy_in(&sql[2]).map_err(self.err(what))?;
        if let Err(e) = writer.write_all(rows.as_bytes()) {
            return Err(StoreError::io(format!("{what} ({})", self.target), e));
        }
        writer.finish().map_err(self.err(what))?;
        tx.execute(&sql[3], &[&dates]).map_err(self.err(what))?;
        tx.execute(&sql[4], &[&dates]).map_err(self.err(what))?;
        tx.commit().map_err(self.err(what))
    }
}

/// A rate as COPY's text format reads it back unchanged. A stored rate is
/// a plain decimal; anything else is escaped rather than misread.
fn escape(rate: &str) -> std::borrow::Cow<'_, str> {
    if !rate.contains(['\\', '\t', '\n', '\r']) {
        return rate.into();
    }
    rate.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .into()
}
