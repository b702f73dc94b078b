//! The days and what is known of days without rates: `days`, `day_rates`,
//! `unavailable_days`; read, stored (a whole batch for `copy` in
//! `bulk.rs`), marked and pruned.

use super::{PgStore, claim};
use crate::rates::{Currency, RateSet, Source};
use crate::store::{
    NewDay, Provenance, ProviderDays, Pruned, StoreError, StoredDay, Summary, Target, timestamp,
};
use chrono::{DateTime, NaiveDate, Utc};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

impl crate::store::Days for PgStore {
    fn target(&self) -> &Target {
        &self.target
    }

    fn has_day(&self, date: NaiveDate) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_opt(
                &self.sql("SELECT 1 FROM {s}.days WHERE date = $1"),
                &[&date],
            )
            .map_err(self.read_err())?
            .is_some())
    }

    fn day_on_or_before(
        &self,
        date: Option<NaiveDate>,
        max_back: u64,
    ) -> Result<Option<StoredDay>, StoreError> {
        let (filter, params): (&str, Vec<NaiveDate>) = match date {
            None => ("", vec![]),
            Some(d) => (
                " WHERE date <= $1 AND date >= $2",
                vec![
                    d,
                    d.checked_sub_days(chrono::Days::new(max_back)).unwrap_or(d),
                ],
            ),
        };
        let sql = self.sql(&format!(
            "SELECT {} FROM {{s}}.days AS d LEFT JOIN {{s}}.day_rates AS r ON r.date = d.date
             WHERE d.date = (SELECT max(date) FROM {{s}}.days{filter})
             ORDER BY r.currency",
            Self::DAY_COLUMNS
        ));
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|d| d as &(dyn ToSql + Sync)).collect();
        let rows = self.conn().query(&sql, &params).map_err(self.read_err())?;
        let mut day: Option<StoredDay> = None;
        for row in &rows {
            let day = match &mut day {
                Some(d) => d,
                None => day.insert(self.day_head(row)?),
            };
            self.push_rate(day, row)?;
        }
        Ok(day)
    }

    fn for_each_day(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        currencies: &[Currency],
        each: &mut dyn FnMut(StoredDay) -> ControlFlow<()>,
    ) -> Result<usize, StoreError> {
        let codes: Vec<&str> = currencies.iter().map(|c| c.as_str()).collect();
        let filter = if codes.is_empty() {
            ""
        } else {
            " AND r.currency = ANY($3)"
        };
        let sql = self.sql(&format!(
            "SELECT {} FROM {{s}}.days AS d JOIN {{s}}.day_rates AS r ON r.date = d.date
             WHERE r.date >= $1 AND r.date <= $2{filter}
             ORDER BY r.date, r.currency",
            Self::DAY_COLUMNS
        ));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&from, &to];
        if !codes.is_empty() {
            params.push(&codes);
        }
        let mut conn = self.conn();
        // Streamed: a full history is over a million rows.
        let mut rows = conn
            .query_raw(&sql, params.iter().copied())
            .map_err(self.read_err())?;
        let mut current: Option<StoredDay> = None;
        let mut count = 0;
        while let Some(row) = rows.next().map_err(self.read_err())? {
            let date: NaiveDate = row.get(0);
            if current.as_ref().is_none_or(|d| d.date != date) {
                let next = self.day_head(&row)?;
                if let Some(day) = current.replace(next) {
                    count += 1;
                    if each(day).is_break() {
                        return Ok(count);
                    }
                }
            }
            if let Some(day) = current.as_mut() {
                self.push_rate(day, &row)?;
            }
        }
        if let Some(day) = current {
            count += 1;
            let _ = each(day);
        }
        Ok(count)
    }

    fn count_days(&self, from: NaiveDate, to: NaiveDate) -> Result<u64, StoreError> {
        self.count(
            "SELECT count(*) FROM {s}.days WHERE date >= $1 AND date <= $2",
            &[&from, &to],
        )
    }

    fn providers_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<Source>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql("SELECT DISTINCT source FROM {s}.days WHERE date >= $1 AND date <= $2"),
                &[&from, &to],
            )
            .map_err(self.read_err())?;
        let mut out = BTreeSet::new();
        for row in rows {
            let name: String = row.get(0);
            out.insert(Source::parse(&name).ok_or_else(|| StoreError::Damaged {
                target: self.target.clone(),
                date: format!("{from} to {to}"),
            })?);
        }
        Ok(out)
    }

    fn has_currency_between(
        &self,
        currency: Currency,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_opt(
                &self.sql(
                    "SELECT 1 FROM {s}.day_rates WHERE currency = $1 AND date >= $2 AND date <= $3 \
                     LIMIT 1",
                ),
                &[&currency.as_str(), &from, &to],
            )
            .map_err(self.read_err())?
            .is_some())
    }

    fn stored_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        self.dates(
            "SELECT date FROM {s}.days WHERE date >= $1 AND date <= $2",
            from,
            to,
        )
    }

    fn unavailable_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        self.dates(
            "SELECT date FROM {s}.unavailable_days WHERE date >= $1 AND date <= $2",
            from,
            to,
        )
    }

    fn unavailable_days(&self) -> Result<Vec<crate::store::UnavailableDay>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql(
                    "SELECT date, recorded_at, reason FROM {s}.unavailable_days ORDER BY date",
                ),
                &[],
            )
            .map_err(self.read_err())?;
        Ok(rows
            .iter()
            .map(|r| crate::store::UnavailableDay {
                date: r.get(0),
                recorded_at: r.get(1),
                reason: r.get(2),
            })
            .collect())
    }

    fn providers(&self) -> Result<Vec<ProviderDays>, StoreError> {
        let rows = self
            .conn()
            .query(
                &self.sql("SELECT source, count(*), max(date) FROM {s}.days GROUP BY source"),
                &[],
            )
            .map_err(self.read_err())?;
        let mut out = Vec::new();
        for row in rows {
            let provider: String = row.get(0);
            let latest: NaiveDate = row.get(2);
            let provider = Source::parse(&provider).ok_or_else(|| StoreError::Damaged {
                target: self.target.clone(),
                date: latest.to_string(),
            })?;
            out.push(ProviderDays {
                provider,
                days: row.get::<_, i64>(1) as u64,
                latest,
            });
        }
        out.sort_by_key(|p| p.provider);
        Ok(out)
    }

    fn summary(&self) -> Result<Summary, StoreError> {
        let row = self
            .conn()
            .query_one(
                &self.sql("SELECT count(*), min(date), max(date) FROM {s}.days"),
                &[],
            )
            .map_err(self.read_err())?;
        Ok(Summary {
            days: row.get::<_, i64>(0) as u64,
            oldest: row.get(1),
            latest: row.get(2),
        })
    }

    fn count_before(&self, cutoff: NaiveDate) -> Result<Pruned, StoreError> {
        Ok(Pruned {
            days: self.count("SELECT count(*) FROM {s}.days WHERE date < $1", &[&cutoff])?,
            rates: self.count(
                "SELECT count(*) FROM {s}.day_rates WHERE date < $1",
                &[&cutoff],
            )?,
            unavailable: self.count(
                "SELECT count(*) FROM {s}.unavailable_days WHERE date < $1",
                &[&cutoff],
            )?,
        })
    }
}

impl crate::store::DaysWrite for PgStore {
    fn put_days(
        &mut self,
        days: &[NewDay<'_>],
        base: Currency,
        provenance: &Provenance<'_>,
    ) -> Result<(), StoreError> {
        if days.is_empty() {
            return Ok(());
        }
        self.check_not_future(days.iter().map(|d| d.date))?;
        // Whole arrays in five statements, however many days: a timeseries
        // answer of a year is one round trip per statement, not 60,000.
        let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
        let source_dates: Vec<NaiveDate> = days.iter().map(|d| d.source_date).collect();
        let source_ts: Vec<Option<i64>> = days.iter().map(|d| d.source_timestamp).collect();
        let total: usize = days.iter().map(|d| d.rates.len()).sum();
        let (mut rate_dates, mut codes, mut values) = (
            Vec::with_capacity(total),
            Vec::with_capacity(total),
            Vec::with_capacity(total),
        );
        for d in days {
            for (currency, decimal) in d.rates.iter() {
                rate_dates.push(d.date);
                codes.push(currency.as_str().to_string());
                values.push(decimal);
            }
        }
        let sql = [
            self.sql("DELETE FROM {s}.day_rates WHERE date = ANY($1)"),
            self.sql(
                "INSERT INTO {s}.days (date, base, source, endpoint, source_date, source_timestamp, fetched_at)
                 SELECT d, $2::text, $7::text, $3::text, s, t, $4::timestamptz
                 FROM unnest($1::date[], $5::date[], $6::bigint[]) AS x (d, s, t)
                 ON CONFLICT (date) DO UPDATE SET base = excluded.base, source = excluded.source,
                     endpoint = excluded.endpoint, source_date = excluded.source_date,
                     source_timestamp = excluded.source_timestamp, fetched_at = excluded.fetched_at",
            ),
            self.sql(
                "INSERT INTO {s}.day_rates (date, currency, rate)
                 SELECT * FROM unnest($1::date[], $2::text[], $3::text[])",
            ),
            self.sql("DELETE FROM {s}.unavailable_days WHERE date = ANY($1)"),
            self.sql("DELETE FROM {s}.unusable_days WHERE date = ANY($1)"),
        ];
        let mut conn = self.conn();
        let store_err = || self.err("cannot store rates in the database");
        let mut tx = conn.transaction().map_err(store_err())?;
        self.fence(&mut tx, "cannot store rates in the database")?;
        tx.execute(&sql[0], &[&dates]).map_err(store_err())?;
        tx.execute(
            &sql[1],
            &[
                &dates,
                &base.as_str(),
                &provenance.endpoint,
                &provenance.fetched_at,
                &source_dates,
                &source_ts,
                &provenance.provider.as_str(),
            ],
        )
        .map_err(store_err())?;
        tx.execute(&sql[2], &[&rate_dates, &codes, &values])
            .map_err(store_err())?;
        tx.execute(&sql[3], &[&dates]).map_err(store_err())?;
        tx.execute(&sql[4], &[&dates]).map_err(store_err())?;
        tx.commit().map_err(store_err())
    }

    fn put_stored_days(&mut self, days: &[StoredDay]) -> Result<(), StoreError> {
        self.put_batch(days)
    }

    fn mark_unavailable(
        &mut self,
        date: NaiveDate,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let (token, lease) = self.claim_params().unwrap_or_default();
        let mut conn = self.conn();
        let n = conn
            .execute(
                &self.sql(&format!(
                    "WITH fence AS ({} RETURNING 1)
                     INSERT INTO {{s}}.unavailable_days (date, recorded_at, reason)
                     SELECT $4, $5, $6 FROM fence
                     ON CONFLICT (date) DO UPDATE SET recorded_at = excluded.recorded_at,
                         reason = excluded.reason",
                    claim::RENEW
                )),
                &[
                    &claim::WRITER,
                    &token,
                    &lease,
                    &date,
                    &at,
                    &self.text(reason),
                ],
            )
            .map_err(self.write_err())?;
        if n == 0 {
            return Err(self.claim_lost(&mut *conn));
        }
        Ok(())
    }

    fn prune_before(&mut self, cutoff: NaiveDate) -> Result<Pruned, StoreError> {
        let sql = [
            self.sql("DELETE FROM {s}.day_rates WHERE date < $1"),
            self.sql("DELETE FROM {s}.days WHERE date < $1"),
            self.sql("DELETE FROM {s}.unavailable_days WHERE date < $1"),
        ];
        let prune_err = || self.err("cannot prune the database");
        let mut conn = self.conn();
        let mut tx = conn.transaction().map_err(prune_err())?;
        self.fence(&mut tx, "cannot prune the database")?;
        let rates = tx.execute(&sql[0], &[&cutoff]).map_err(prune_err())?;
        let days = tx.execute(&sql[1], &[&cutoff]).map_err(prune_err())?;
        let unavailable = tx.execute(&sql[2], &[&cutoff]).map_err(prune_err())?;
        tx.commit().map_err(prune_err())?;
        Ok(Pruned {
            days,
            rates,
            unavailable,
        })
    }
}

impl PgStore {
    /// Rows of one day with its rates: date, base, source_date,
    /// source_timestamp, fetched_at, endpoint, currency, rate, provider.
    const DAY_COLUMNS: &'static str = "d.date, d.base, d.source_date, d.source_timestamp, \
                                       d.fetched_at, d.endpoint, r.currency, r.rate, d.source";

    pub(super) fn day_head(&self, row: &postgres::Row) -> Result<StoredDay, StoreError> {
        let date: NaiveDate = row.get(0);
        let base: String = row.get(1);
        let fetched_at: DateTime<Utc> = row.get(4);
        let provider: String = row.get(8);
        let damaged = || StoreError::Damaged {
            target: self.target.clone(),
            date: date.to_string(),
        };
        Ok(StoredDay {
            date,
            base: Currency::parse(&base).ok_or_else(damaged)?,
            provider: Source::parse(&provider).ok_or_else(damaged)?,
            source_date: row.get(2),
            source_timestamp: row.get(3),
            fetched_at: timestamp(fetched_at),
            endpoint: row.get(5),
            rates: RateSet::with_capacity(180),
        })
    }

    /// Adds the rate of a row, if any; one that cannot be a stored rate is
    /// damage (another host or program shares the schema).
    pub(super) fn push_rate(
        &self,
        day: &mut StoredDay,
        row: &postgres::Row,
    ) -> Result<(), StoreError> {
        let code: Option<&str> = row.get(6);
        let rate: Option<&str> = row.get(7);
        if let (Some(code), Some(rate)) = (code, rate)
            && let Some(c) = Currency::parse(code)
        {
            if !crate::decimal::is_storable(rate) {
                return Err(StoreError::Damaged {
                    target: self.target.clone(),
                    date: day.date.to_string(),
                });
            }
            day.rates.push(c, rate);
        }
        Ok(())
    }

    pub(super) fn dates(
        &self,
        sql: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeSet<NaiveDate>, StoreError> {
        let rows = self
            .conn()
            .query(&self.sql(sql), &[&from, &to])
            .map_err(self.read_err())?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
