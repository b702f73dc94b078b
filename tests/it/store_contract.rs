//! The Store trait's promises, checked through the library on both stores
//! (`both_stores!`): days whole or absent and exact, in order; one writer at
//! a time; readers that neither block nor are blocked by the writer; the
//! request and run records; pruning; and the records `copy` carries.

use crate::common::*;
use chrono::{DateTime, NaiveDate, Utc};
use fxrates::rates::{Currency, EUR, RateSet};
use fxrates::store::{
    self, NewDay, Provenance, Reader, Request, RunFailure, Store, StoreError, TimeseriesAnswer,
};
use std::ops::ControlFlow;
use std::time::Duration;

fn date(s: &str) -> NaiveDate {
    fxrates::calendar::parse_date(s).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn rates(pairs: &[(&str, &str)]) -> RateSet {
    let mut set = RateSet::with_capacity(pairs.len());
    for (c, r) in pairs {
        set.push(Currency::parse(c).unwrap(), r);
    }
    set
}

fn env(backend: Backend) -> TestEnv {
    TestEnv::on(backend, "http://127.0.0.1:9/api", "2024-09-20T09:00:00Z")
}

fn writer(env: &TestEnv, wait: Duration) -> Result<Box<dyn Store>, StoreError> {
    store::open_write(&env.target(), true, wait)
}

fn reader(env: &TestEnv) -> Box<dyn Reader> {
    store::open_read(&env.target()).unwrap()
}

const PROVENANCE: Provenance<'static> = Provenance {
    endpoint: "timeseries",
    fetched_at: DateTime::from_timestamp(1_726_822_800, 0).unwrap(),
    provider: fxrates::rates::Source::Fixer,
};

/// Stores the given days in one call.
fn put(store: &mut dyn Store, days: &[(&str, &RateSet)]) -> Result<(), StoreError> {
    let days: Vec<NewDay<'_>> = days
        .iter()
        .map(|(d, r)| NewDay {
            date: date(d),
            source_date: date(d),
            source_timestamp: Some(1_726_790_399),
            rates: r,
        })
        .collect();
    store.put_days(&days, EUR, &PROVENANCE)
}

fn all_days(store: &dyn Store, currencies: &[Currency]) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    store
        .for_each_day(
            date("1999-01-01"),
            date("2030-01-01"),
            currencies,
            &mut |d| {
                out.push((
                    d.date.to_string(),
                    d.rates
                        .iter()
                        .map(|(c, r)| (c.as_str().to_string(), r.to_string()))
                        .collect(),
                ));
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    out
}

both_stores! {
    fn days_come_back_exact_whole_and_in_order(backend) {
        let env = env(backend);
        let mut store = writer(&env, Duration::ZERO).unwrap();
        let a = rates(&[("USD", "1.095623"), ("BTC", "0.0000125511"), ("EUR", "1"), ("JPY", "159.30")]);
        let b = rates(&[("USD", "1.1"), ("GBP", "0.83578")]);
        put(&mut *store, &[("2024-09-19", &b), ("2024-09-18", &a)]).unwrap();
        let days = all_days(&*store, &[]);
        assert_eq!(
            days,
            [
                (
                    "2024-09-18".to_string(),
                    vec![
                        ("BTC".into(), "0.0000125511".into()),
                        ("EUR".into(), "1".into()),
                        ("JPY".into(), "159.30".into()),
                        ("USD".into(), "1.095623".into())
                    ]
                ),
                (
                    "2024-09-19".to_string(),
                    vec![("GBP".into(), "0.83578".into()), ("USD".into(), "1.1".into())]
                ),
            ]
        );
        let usd = Currency::parse("USD").unwrap();
        let only_usd = all_days(&*store, &[usd]);
        assert_eq!(only_usd.len(), 2);
        assert!(only_usd.iter().all(|(_, r)| r.len() == 1 && r[0].0 == "USD"));

        let day = store.day_on_or_before(Some(date("2024-09-22")), 7).unwrap().unwrap();
        assert_eq!(day.date, date("2024-09-19"));
        assert_eq!(day.fetched_at, "2024-09-20T09:00:00Z");
        assert_eq!(day.endpoint, "timeseries");
        assert_eq!(day.source_timestamp, Some(1_726_790_399));
        assert!(store.day_on_or_before(Some(date("2024-09-17")), 7).unwrap().is_none());
        assert_eq!(store.day_on_or_before(None, 0).unwrap().unwrap().date, date("2024-09-19"));
        let summary = store.summary().unwrap();
        assert_eq!(
            (summary.days, summary.oldest, summary.latest),
            (2, Some(date("2024-09-18")), Some(date("2024-09-19")))
        );
        assert!(store.has_currency_between(usd, date("2024-09-19"), date("2024-09-19")).unwrap());
        let gbp = Currency::parse("GBP").unwrap();
        assert!(!store.has_currency_between(gbp, date("2024-09-01"), date("2024-09-18")).unwrap());

        // Storing a day again replaces it whole: no rate of the old one stays.
        put(&mut *store, &[("2024-09-18", &b)]).unwrap();
        assert_eq!(all_days(&*store, &[])[0].1.len(), 2);
        assert_eq!(store.count_days(date("2024-09-01"), date("2024-09-30")).unwrap(), 2);
    }

    fn a_failed_write_leaves_nothing_behind(backend) {
        let env = env(backend);
        let mut store = writer(&env, Duration::ZERO).unwrap();
        let good = rates(&[("USD", "1.1")]);
        put(&mut *store, &[("2024-09-16", &good)]).unwrap();
        // The second day repeats a currency: the store refuses it, and the
        // first day of the same call must not stay.
        let mut twice = RateSet::with_capacity(2);
        twice.push(Currency::parse("USD").unwrap(), "1.2");
        twice.push(Currency::parse("USD").unwrap(), "1.3");
        assert!(put(&mut *store, &[("2024-09-17", &good), ("2024-09-18", &twice)]).is_err());
        let dates: Vec<String> = all_days(&*store, &[]).into_iter().map(|d| d.0).collect();
        assert_eq!(dates, ["2024-09-16"]);
        // And the store still works.
        put(&mut *store, &[("2024-09-17", &good)]).unwrap();
        assert_eq!(store.summary().unwrap().days, 2);
    }

    fn one_writer_at_a_time_and_readers_are_never_held_up(backend) {
        let env = env(backend);
        let mut first = writer(&env, Duration::ZERO).unwrap();
        let day = rates(&[("USD", "1.1")]);
        put(&mut *first, &[("2024-09-16", &day)]).unwrap();
        match writer(&env, Duration::from_millis(200)) {
            Err(StoreError::Locked { .. }) => {}
            Err(e) => panic!("a second writer must wait, then give up: {e}"),
            Ok(_) => panic!("a second writer got in"),
        }
        // A reader in the middle of a walk does not stop the writer, and
        // sees only what was committed when it looked.
        put(&mut *first, &[("2024-09-17", &day)]).unwrap();
        let read = reader(&env);
        let mut seen = 0;
        read.for_each_day(date("2024-09-01"), date("2024-09-30"), &[], &mut |_| {
            if seen == 0 {
                put(&mut *first, &[("2024-09-18", &day)]).unwrap();
            }
            seen += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
        assert!(seen >= 2, "{seen}");
        assert_eq!(reader(&env).summary().unwrap().days, 3);
        // A reader has no method that writes (`store::open_read`'s
        // documentation holds the program that does not compile).
        drop(first);
        // Dropping the store releases its lock at once; the wait only
        // covers a child process another test forks at that moment, which
        // holds a copy of the file's descriptor (and so its `flock`) until
        // it execs.
        let again = writer(&env, Duration::from_secs(5));
        assert!(again.is_ok(), "released with the store: {:?}", again.err());
    }

    fn a_reader_never_creates_a_store(backend) {
        let env = env(backend);
        assert!(matches!(
            store::open_read(&env.target()),
            Err(StoreError::Missing(_))
        ));
        assert!(matches!(
            store::open_write(&env.target(), false, Duration::ZERO),
            Err(StoreError::Missing(_))
        ));
        assert!(!env.store_exists());
    }

    fn requests_runs_and_the_plans_answer_are_kept(backend) {
        let env = env(backend);
        let mut store = writer(&env, Duration::ZERO).unwrap();
        let id = store
            .record_request(&Request {
                at: at("2024-09-20T09:00:01Z"),
                endpoint: "latest",
                outcome: Request::UNANSWERED,
            })
            .unwrap();
        store
            .record_request(&Request {
                at: at("2024-08-31T23:59:59Z"),
                endpoint: "historical",
                outcome: "ok",
            })
            .unwrap();
        store.set_request_outcome(id, "ok").unwrap();
        assert_eq!(store.requests_since(at("2024-09-01T00:00:00Z")).unwrap(), 1);
        assert_eq!(store.requests_since(at("2024-08-01T00:00:00Z")).unwrap(), 2);
        assert_eq!(env.sql("SELECT outcome FROM requests ORDER BY id"), [["ok"], ["ok"]]);

        let ingest = store.start_run("ingest", at("2024-09-19T09:00:00Z")).unwrap();
        store.finish_run(ingest, at("2024-09-19T09:00:02Z"), None).unwrap();
        let failed = store.start_run("ingest", at("2024-09-20T09:00:00Z")).unwrap();
        let failure = RunFailure { error: "it broke", exit_code: 78 };
        store.finish_run(failed, at("2024-09-20T09:00:03Z"), Some(failure)).unwrap();
        let prune = store.start_run("prune", at("2024-09-20T10:00:00Z")).unwrap();
        let _ = prune; // killed: never finished
        let runs = store.last_runs().unwrap();
        let runs: Vec<_> = runs
            .iter()
            .map(|r| (r.command.as_str(), r.started_at, r.ok, r.error.as_deref(), r.exit_code))
            .collect();
        assert_eq!(
            runs,
            [
                ("ingest", at("2024-09-20T09:00:00Z"), Some(false), Some("it broke"), Some(78)),
                ("prune", at("2024-09-20T10:00:00Z"), None, None, None)
            ]
        );
        assert_eq!(
            store.last_success(&["ingest", "backfill"]).unwrap(),
            Some(at("2024-09-19T09:00:02Z"))
        );
        assert_eq!(store.last_success(&["backfill"]).unwrap(), None);

        assert_eq!(store.timeseries_answer().unwrap(), None);
        let answer = TimeseriesAnswer { allowed: false, on: date("2024-09-20") };
        store.set_timeseries_answer(answer).unwrap();
        store.set_timeseries_answer(answer).unwrap();
        assert_eq!(store.timeseries_answer().unwrap(), Some(answer));
    }

    fn unavailable_days_and_pruning(backend) {
        let env = env(backend);
        let mut store = writer(&env, Duration::ZERO).unwrap();
        let day = rates(&[("USD", "1.1"), ("GBP", "0.8")]);
        put(&mut *store, &[("2024-08-01", &day), ("2024-09-16", &day)]).unwrap();
        store.mark_unavailable(date("2024-07-31"), at("2024-08-01T09:00:00Z"), "106").unwrap();
        store.mark_unavailable(date("2024-09-17"), at("2024-09-17T09:00:00Z"), "106").unwrap();
        store.mark_unavailable(date("2024-09-17"), at("2024-09-18T09:00:00Z"), "again").unwrap();
        let records = store.unavailable_days().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].reason, "again");
        assert_eq!(records[1].recorded_at, at("2024-09-18T09:00:00Z"));
        // Storing the day clears its mark.
        put(&mut *store, &[("2024-09-17", &day)]).unwrap();
        assert_eq!(
            store.unavailable_between(date("2024-09-01"), date("2024-09-30")).unwrap().len(),
            0
        );
        let counted = store.count_before(date("2024-09-01")).unwrap();
        assert_eq!((counted.days, counted.rates, counted.unavailable), (1, 2, 1));
        let pruned = store.prune_before(date("2024-09-01")).unwrap();
        assert_eq!(pruned, counted);
        assert_eq!(
            store.stored_between(date("2024-01-01"), date("2024-12-31")).unwrap().len(),
            2
        );
        assert!(store.unavailable_days().unwrap().is_empty());
    }
}

both_stores! {
    /// Whoever stores a day (the engine, `copy`) needs no second call to
    /// forget that its answer was once unusable: storing it is enough.
    fn storing_a_day_forgets_that_its_answer_was_unusable(backend) {
        let env = env(backend);
        let mut store = writer(&env, Duration::ZERO).unwrap();
        let today = date("2024-09-20");
        store.set_unusable(date("2024-09-18"), Some(today)).unwrap();
        store.set_unusable(date("2024-09-19"), Some(today)).unwrap();
        let day = rates(&[("USD", "1.1")]);
        put(&mut *store, &[("2024-09-18", &day)]).unwrap();
        let marked: Vec<_> = store.unusable_days().unwrap().into_keys().collect();
        assert_eq!(marked, [date("2024-09-19")]);
        // As `copy` stores it, too.
        put(&mut *store, &[("2024-09-19", &day)]).unwrap();
        let stored = store.day_on_or_before(Some(date("2024-09-19")), 0).unwrap().unwrap();
        store.set_unusable(date("2024-09-19"), Some(today)).unwrap();
        store.put_stored_days(&[stored]).unwrap();
        assert!(store.unusable_days().unwrap().is_empty());
    }
}

both_stores! {
    /// fixer's currency names come back as they were given, one line each,
    /// with the day they were fetched; a new list replaces the old whole.
    fn currency_names_are_replaced_whole_and_read_back(backend) {
        let env = env(backend);
        let mut store = writer(&env, Duration::ZERO).unwrap();
        assert_eq!(store.currency_names().unwrap(), None);
        let code = |c| Currency::parse(c).unwrap();
        let first = store::CurrencyNames {
            fetched_on: Some(date("2024-08-20")),
            names: [(code("USD"), "Dollar"), (code("XAU"), "Gold,\nounce")]
                .into_iter()
                .map(|(c, n)| (c, n.to_string()))
                .collect(),
        };
        store.set_currency_names(&first).unwrap();
        let read = store.currency_names().unwrap().unwrap();
        assert_eq!(read.fetched_on, first.fetched_on);
        assert_eq!(read.names[&code("XAU")], "Gold, ounce");
        let second = store::CurrencyNames {
            fetched_on: Some(date("2024-09-20")),
            names: [(code("GBP"), "Pound".to_string())].into_iter().collect(),
        };
        store.set_currency_names(&second).unwrap();
        drop(store);
        let reader = store::open_read(&env.target()).unwrap();
        assert_eq!(reader.currency_names().unwrap(), Some(second));
    }
}
