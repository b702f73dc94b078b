//! The ECB's connection settings, from the same flags and variables as
//! fixer's where they are shared (timeouts, the run's time budget, proxies
//! and CAs); it needs no key, so none is read.

use super::Settings;
use crate::cli::{EcbArgs, ProviderArgs, RequestArgs};
use crate::ecb;
use crate::error::{Exit, fail};
use crate::fixer::{Endpoint, RetryPolicy};
use std::time::Duration;

impl Settings {
    /// The ECB client the provider flags describe (`ingest`, `backfill`).
    /// A proxy that cannot be honoured is refused now, before anything is
    /// opened or sent.
    pub(crate) fn ecb(&self, args: &ProviderArgs) -> anyhow::Result<ecb::Client> {
        self.ecb_client(&args.ecb, &args.ecb_files, &args.requests)
    }

    /// The ECB client from its own flags and the shared timeouts alone;
    /// `files` is where the 90-day file is, for the commands that read it.
    pub(crate) fn ecb_client(
        &self,
        api: &EcbArgs,
        files: &str,
        requests: &RequestArgs,
    ) -> anyhow::Result<ecb::Client> {
        ecb::Client::new(self.ecb_settings(api, files, requests)?, self.now.utc)
            .map_err(|why| fail(Exit::Config, why))
    }

    fn ecb_settings(
        &self,
        api: &EcbArgs,
        files: &str,
        args: &RequestArgs,
    ) -> anyhow::Result<ecb::Settings> {
        let endpoint =
            Endpoint::parse_like(&api.ecb_endpoint, ecb::DEFAULT_ENDPOINT).map_err(|why| {
                fail(
                    Exit::Config,
                    format!("FXRATES_ECB_ENDPOINT (--ecb-endpoint): {why}"),
                )
            })?;
        let files = Endpoint::parse_like(files, ecb::DEFAULT_FILES).map_err(|why| {
            fail(
                Exit::Config,
                format!("FXRATES_ECB_FILES (--ecb-files): {why}"),
            )
        })?;
        let network = self.network()?.clone();
        Ok(ecb::Settings {
            network,
            endpoint,
            files,
            connect_timeout: Duration::from_secs(args.connect_timeout),
            timeout: args
                .timeout_ms
                .map_or(Duration::from_secs(args.timeout), Duration::from_millis),
            max_body: ecb::MAX_BODY,
            retry: RetryPolicy {
                base: self.retry_base,
                budget: Duration::from_secs(args.max_run_time),
                ..RetryPolicy::default()
            },
        })
    }
}
