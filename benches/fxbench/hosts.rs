//! Section 9: what the coordination between hosts costs the daily run on a
//! PostgreSQL store (the claim taken when a writer opens the store, the
//! checks inside its writes, the release when it closes).

use super::{Bench, row};
use crate::history::history_start;
use crate::process::{median, ms};
use crate::server::Plan;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

impl Bench {
    pub(crate) fn hosts(&mut self) {
        eprintln!("fxbench: several hosts on PostgreSQL");
        let Some(url) = ["FXBENCH_DATABASE_URL", "FXRATES_TEST_DATABASE_URL"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        else {
            self.out.push_str(
                "### 9. Several hosts on PostgreSQL\n\nSkipped: set FXBENCH_DATABASE_URL to a \
                 server fxrates may create schemas on (or run under `.ci/pg-test-server`).\n\n",
            );
            return;
        };
        const SCHEMA: &str = "fxbench_hosts";
        let mut admin = match postgres::Client::connect(&url, postgres::NoTls) {
            Ok(c) => c,
            Err(e) => {
                let _ = write!(
                    self.out,
                    "### 9. Several hosts on PostgreSQL\n\nSkipped: cannot connect ({e}).\n\n"
                );
                return;
            }
        };
        let drop_schema = |admin: &mut postgres::Client| {
            admin
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                .expect("drop the benchmark schema");
        };
        drop_schema(&mut admin);
        let pg = |host: &str, args: &[&str]| {
            let mut cmd = self.fxrates(Path::new(&url), args);
            cmd.env("FXRATES_DB_SCHEMA", SCHEMA)
                .env("FXRATES_HOSTNAME", host);
            cmd
        };
        // An up-to-date store: the whole history, today included.
        self.server.set_plan(Plan::Paid);
        let from = history_start().to_string();
        self.run(&mut pg("host-a", &["backfill", "--from", &from]), &[0]);
        self.server.reset();

        // The daily run on host A: the day's one request, stored, the month
        // checked (`--force`, so that every run fetches and stores it).
        let daily = self.many(|| pg("host-a", &["ingest", "--force"]), &[0]);
        let tally = self.server.reset();
        let per_request = tally.handling / tally.requests.max(1) as u32;
        // Host B at 9:05: the day is there, no request.
        let second = self.many(|| pg("host-b", &["ingest"]), &[0]);
        let tally_b = self.server.reset();

        // In process: opening the store to write (connect, check the
        // schema, claim) and closing it (release), against opening it to
        // read (connect, check the schema).
        let target = {
            let parsed = fxrates::pg::PgUrl::parse(&url).expect("the server's URL");
            let server = fxrates::pg::Server::resolve(
                parsed,
                "postgres",
                &Default::default(),
                Default::default(),
            )
            .expect("the server");
            fxrates::store::PgTarget::new(server, SCHEMA.into()).into()
        };
        let writer = fxrates::store::Writer {
            host: "bench".into(),
            lease: fxrates::store::DEFAULT_LEASE,
            deadline: None,
            clock: None,
        };
        let time = |open: &dyn Fn()| -> Duration {
            let samples: Vec<Duration> = (0..101)
                .map(|_| {
                    let t = Instant::now();
                    open();
                    t.elapsed()
                })
                .collect();
            median(samples)
        };
        let write = time(&|| {
            let store =
                fxrates::store::open_write_as(&target, false, Duration::from_secs(5), &writer);
            drop(store.expect("open the store"));
        });
        let read = time(&|| drop(fxrates::store::open_read(&target).expect("open the store")));
        drop_schema(&mut admin);
        let _ = write!(
            self.out,
            "### 9. Several hosts on PostgreSQL\n\n\
             The daily run on an up-to-date store (the whole history, today included) through \
             `FXRATES_DB=postgresql://...`, as host A at 9:00 and host B at 9:05.\n\n\
             | command (whole process) | wall, median | wall, fastest | CPU (user + sys) | peak RSS |\n|---|---|---|---|---|\n\
             | host A: `fxrates ingest --force` (the day's one request, stored, the month checked) | {} |\n\
             | host B: `fxrates ingest` (the day is stored: no request) | {} |\n\n\
             Requests at the server: {} for host A's runs (server time per request {}), {} for \
             host B's.\n\n\
             | in process, median of 101 | time |\n|---|---|\n\
             | open to write and close: connect, check the schema, claim, release | {} |\n\
             | open to read and close: connect, check the schema | {} |\n\
             | **the claim and its release** (the difference) | **{}** |\n\n",
            row(&daily),
            row(&second),
            tally.requests,
            ms(per_request),
            tally_b.requests,
            ms(write),
            ms(read),
            ms(write.saturating_sub(read)),
        );
    }
}
