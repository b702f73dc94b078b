//! The ECB's connection settings, from the same flags and variables as
//! fixer's where they are shared (timeouts, the run's time budget, proxies
//! and CAs); it needs no key, so none is read.

use super::Settings;
use crate::cli::ProviderArgs;
use crate::ecb;
use crate::error::{Exit, fail};
use crate::fixer::{Endpoint, RetryPolicy};
use std::time::Duration;

impl Settings {
    /// The ECB client the provider flags describe. A proxy that cannot be
    /// honoured is refused now, before anything is opened or sent.
    pub(crate) fn ecb(&self, args: &ProviderArgs) -> anyhow::Result<ecb::Client> {
        ecb::Client::new(self.ecb_settings(args)?, self.now.utc)
            .map_err(|why| fail(Exit::Config, why))
    }

    fn ecb_settings(&self, args: &ProviderArgs) -> anyhow::Result<ecb::Settings> {
        let endpoint =
            Endpoint::parse_like(&args.ecb_endpoint, ecb::DEFAULT_ENDPOINT).map_err(|why| {
                fail(
                    Exit::Config,
                    format!("FXRATES_ECB_ENDPOINT (--ecb-endpoint): {why}"),
                )
            })?;
        let files = Endpoint::parse_like(&args.ecb_files, ecb::DEFAULT_FILES).map_err(|why| {
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
