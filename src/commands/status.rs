use super::{Run, read_health};
use crate::cli::{StatusArgs, StatusFormat};
use crate::error::{Exit, Failure, ResultExt};
use crate::present::status;
use crate::settings::Settings;
use std::io::Write;

impl Run for StatusArgs {
    fn run(&self, settings: &Settings) -> anyhow::Result<()> {
        let provider = settings.provider.source();
        let health = read_health(settings, self.budget.monthly_quota, self.deep, provider)?;
        let mut out = std::io::stdout().lock();
        let written = match self.format {
            StatusFormat::Text => status::text(&health, &mut out),
            StatusFormat::Json => status::json(&health, &mut out),
            StatusFormat::Prometheus => status::prometheus(&health, &mut out),
        }
        .and_then(|()| out.flush());
        match written {
            // The reader left early (`| head`): the verdict is the point of
            // `status`, and it still stands.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.exit(Exit::IoErr, || "cannot write to stdout".into())?,
        }
        // The report says why; the exit code is the verdict. A run that
        // waits for a person comes first: it is what makes the rest fail.
        if health.action_needed {
            Err(Failure::silent(Exit::RunFailed))
        } else if health.healthy {
            Ok(())
        } else {
            Err(Failure::silent(Exit::Unhealthy))
        }
    }
}
