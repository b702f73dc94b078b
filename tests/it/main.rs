//! The integration tests: one binary, one module per area, shared fixtures
//! in `common` (the fake fixer server and the test environment) and `seed`
//! (stored history).

// The fixtures' modules are `pub` to one another; the crate is a test.
#![allow(unreachable_pub)]

#[macro_use]
mod common;
mod seed;

mod auth;
mod backfill;
mod chart;
mod convert;
mod copy;
mod crash;
mod crosscheck;
mod currency_names;
mod ecb;
mod ecb_outage;
mod endpoint;
mod faults;
mod frozen;
mod heal;
mod history;
mod hostile_storage;
mod hosts;
mod ingest;
mod install;
mod layers;
mod locking;
mod metrics;
mod monitoring;
mod package;
mod pg_server;
mod postgres;
mod privileges;
mod properties;
mod provider;
mod provider_errors;
mod proxy;
mod prune;
mod readme;
mod secrets;
mod serve;
mod show;
mod status;
mod storage;
mod store_contract;
mod store_names;
mod tls;
mod upgrade;
