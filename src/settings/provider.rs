//! The provider a run asks, resolved once: the command's own `--provider`
//! and `--fallback` when it has them (clap reads their variables), else
//! `FXRATES_PROVIDER`.

use super::var;
use crate::cli::{FallbackArg, SourceArg};
use crate::error::{Exit, fail};
use crate::rates::Source;

/// Where a run's rates come from, and whose calendar decides what is
/// missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Provider {
    /// fixer.io; with `ecb_fallback` (`--fallback ecb`), what fixer cannot
    /// deliver is fetched from the ECB. Commands without the flag never
    /// fetch, so never fall back.
    Fixer { ecb_fallback: bool },
    /// The ECB's reference rates; a fallback is meaningless with them.
    Ecb,
}

impl Provider {
    /// The provider whose calendar decides what is missing.
    pub(crate) fn source(self) -> Source {
        match self {
            Provider::Fixer { .. } => Source::Fixer,
            Provider::Ecb => Source::Ecb,
        }
    }

    /// Whether the days fixer cannot deliver come from the ECB.
    pub(crate) fn falls_back_to_ecb(self) -> bool {
        self == Provider::Fixer { ecb_fallback: true }
    }
}

/// The provider `flags` chose (see [`crate::cli::Command::provider_flags`]),
/// else `FXRATES_PROVIDER`. A given flag overrides the variable, which is
/// then not read (nor refused), as clap does for every flag.
pub(super) fn provider(
    flags: Option<(SourceArg, Option<FallbackArg>)>,
) -> anyhow::Result<Provider> {
    Ok(match flags {
        Some((SourceArg::Ecb, _)) => Provider::Ecb,
        Some((SourceArg::Fixer, fallback)) => Provider::Fixer {
            ecb_fallback: fallback == Some(FallbackArg::Ecb),
        },
        None => match provider_var()? {
            Source::Fixer => Provider::Fixer {
                ecb_fallback: false,
            },
            Source::Ecb => Provider::Ecb,
        },
    })
}

/// `FXRATES_PROVIDER`: `fixer` (the default) or `ecb`.
fn provider_var() -> anyhow::Result<Source> {
    match var("FXRATES_PROVIDER")? {
        None => Ok(Source::Fixer),
        Some(text) => Source::parse(text.trim()).ok_or_else(|| {
            fail(
                Exit::Config,
                format!("FXRATES_PROVIDER={text:?} is neither fixer nor ecb; set one of them, or unset it"),
            )
        }),
    }
}
