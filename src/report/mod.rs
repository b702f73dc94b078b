//! The command boundary: the exit code and the line the user reads for
//! every error a run ends with. The layers below return typed errors that
//! know no exit code ([`StoreError`], [`FetchError`], [`PrivateFileError`])
//! or a [`Failure`] a
//! command chose; [`verdict`] is the one place that judges each of them.
//! stderr gets one scrubbed line, and with `-v` the causes below it.

mod ecb;
mod engine;
mod fetch;
mod store;

use crate::engine::EngineError;
use crate::error::{Exit, Failure};
use crate::fixer::FetchError;
use crate::private_file::PrivateFileError;
use crate::secret::scrub;
use crate::store::StoreError;
use crate::untrusted::escaped;
use std::io::Write;

pub(crate) use store::storage_cause;

/// What a typed error means for the user: the exit code and the message
/// (`None` for a silent failure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub exit: Exit,
    pub message: Option<String>,
}

/// The verdict on `cause`, if it is one of the typed errors of the layers
/// below. `None` for an error that is only context.
pub(crate) fn verdict(cause: &(dyn std::error::Error + 'static)) -> Option<Verdict> {
    if let Some(f) = cause.downcast_ref::<Failure>() {
        return Some(Verdict {
            exit: f.exit,
            message: f.message().map(str::to_string),
        });
    }
    if let Some(e) = cause.downcast_ref::<StoreError>() {
        return Some(Verdict {
            exit: store::exit(e),
            message: Some(e.to_string()),
        });
    }
    if let Some(e) = cause.downcast_ref::<PrivateFileError>() {
        return Some(Verdict {
            exit: Exit::Config,
            message: Some(e.to_string()),
        });
    }
    if let Some(e) = cause.downcast_ref::<EngineError>() {
        let (exit, message) = engine::describe(e);
        return Some(Verdict {
            exit,
            message: Some(message),
        });
    }
    if let Some(e) = cause.downcast_ref::<FetchError>() {
        let (exit, message) = fetch::describe(e);
        return Some(Verdict {
            exit,
            message: Some(message),
        });
    }
    if let Some(e) = cause.downcast_ref::<crate::ecb::EcbError>() {
        let (exit, message) = ecb::describe(e);
        return Some(Verdict {
            exit,
            message: Some(message),
        });
    }
    None
}

/// The exit code an error chain asks for: the outermost typed error (see
/// [`verdict`]), else a storage error (74), else 70.
pub(crate) fn exit_of(err: &anyhow::Error) -> Exit {
    if let Some(v) = err.chain().find_map(verdict) {
        return v.exit;
    }
    for cause in err.chain() {
        if cause.downcast_ref::<rusqlite::Error>().is_some()
            || cause.downcast_ref::<std::io::Error>().is_some()
        {
            return Exit::IoErr;
        }
    }
    Exit::Software
}

/// Whether the error is stdout closed by its reader (`fxrates show | head`),
/// which is no failure of fxrates.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints the error as one line (the chain down to the first typed error),
/// and with `verbose` the causes below it; returns its exit code. stdout
/// closed by its reader (`fxrates show ... | head`) ends the run quietly,
/// and a silent failure prints nothing.
pub(crate) fn failure(err: &anyhow::Error, verbose: bool) -> Exit {
    if is_broken_pipe(err) {
        return Exit::Ok;
    }
    let silent = err
        .chain()
        .find_map(verdict)
        .is_some_and(|v| v.message.is_none());
    if !silent {
        eprintln!("fxrates: error: {}", headline(err));
    }
    let exit = exit_of(err);
    if verbose {
        let rest = err
            .chain()
            .skip_while(|c| verdict(*c).is_none())
            .skip(1)
            .map(|c| c.to_string());
        for cause in rest {
            eprintln!(
                "fxrates:   caused by: {}",
                escaped(&cause.replace('\n', " "))
            );
        }
    }
    exit
}

/// The error as the user reads it, on one line and scrubbed: the chain down
/// to the first typed error, and for a storage error the system's reason.
pub(crate) fn headline(err: &anyhow::Error) -> String {
    let mut head = Vec::new();
    for cause in err.chain() {
        let verdict = verdict(cause);
        let text = match &verdict {
            Some(v) => v.message.clone().unwrap_or_default(),
            None => cause.to_string(),
        };
        if !text.is_empty() {
            head.push(text);
        }
        if verdict.is_some() {
            break;
        }
    }
    let mut line = head.join(": ").replace('\n', " ");
    if exit_of(err) == Exit::IoErr {
        // A storage failure always ends with why: the system's reason in
        // words when it is a known one, else the cause as it was given.
        let below = err
            .chain()
            .skip_while(|c| verdict(*c).is_none())
            .skip(1)
            .last();
        if let Some(cause) = storage_cause(err) {
            line = format!("{line} ({cause})");
        } else if let Some(cause) = below
            && !already_said(&line, &cause.to_string())
        {
            line = format!(
                "{line} ({})",
                crate::untrusted::one_line(&cause.to_string())
            );
        }
    }
    // Nothing on the line may drive a terminal, whatever part of it came
    // from the network; scrubbed of secrets too.
    escaped(&line)
}

/// Whether `line` already says what `cause` does: a database server's
/// message ("ERROR: relation ... does not exist") is often in the line
/// already, and once is enough.
fn already_said(line: &str, cause: &str) -> bool {
    let first = cause.lines().next().unwrap_or_default().trim();
    let message = match first.split_once(": ") {
        Some((severity, rest)) if severity.bytes().all(|b| b.is_ascii_uppercase()) => rest,
        _ => first,
    };
    !message.is_empty() && line.contains(message)
}

/// clap's help and version go to stdout with 0; a usage error becomes one
/// `fxrates: error:` line with exit code 2.
pub(crate) fn usage(e: clap::Error) -> Exit {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Help that could not be written (`--help > /dev/full`) is a
        // failure; a reader that left early (`| head`) is not.
        let printed = e.print().and_then(|()| std::io::stdout().flush());
        if let Err(err) = printed
            && err.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("fxrates: error: cannot write to stdout ({err})");
            return Exit::IoErr;
        }
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            Exit::Usage
        } else {
            Exit::Ok
        };
    }
    // A store's name has words (and an exit code) of its own, the same
    // whether it came from a flag, a variable or an argument.
    if let Some(bad) = crate::cli::BadStoreName::of(&e) {
        eprintln!("fxrates: error: {}", escaped(&bad.to_string()));
        return Exit::StoreName;
    }
    // A bad value that came from the environment names its variable: the
    // flag it stands for was never typed.
    let variable = e
        .get(clap::error::ContextKind::InvalidArg)
        .and_then(|v| match v {
            clap::error::ContextValue::String(flag) => crate::cli::Cli::variable_of(flag),
            _ => None,
        })
        .map(|name| format!("{name}: "))
        .unwrap_or_default();
    eprintln!(
        "fxrates: error: {variable}{}; see `fxrates --help`",
        scrub(&clap_summary(&e))
    );
    Exit::Usage
}

/// clap's message on one line: its first paragraph (which, for a missing
/// argument, lists the arguments on the lines below the first).
fn clap_summary(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    let text = text.trim_start_matches("error: ").trim_end_matches(':');
    if text.is_empty() {
        "invalid arguments".into()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::error::{ResultExt, fail};
    use clap::Parser;
    use std::io;

    #[test]
    fn a_missing_argument_is_named_on_the_one_line() {
        let e = Cli::try_parse_from(["fxrates", "backfill", "--to", "2024-09-20"]).unwrap_err();
        let line = clap_summary(&e);
        assert!(line.contains("--from"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn the_exit_code_and_the_cause_survive_wrapping() {
        let err = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .exit(Exit::IoErr, || "cannot write to stdout".into())
            .map_err(|e| e.context("showing rates"))
            .unwrap_err();
        assert_eq!(exit_of(&err), Exit::IoErr);
        assert!(is_broken_pipe(&err));
        let other = Err::<(), _>(io::Error::from(io::ErrorKind::PermissionDenied))
            .exit(Exit::IoErr, || "cannot write".into())
            .unwrap_err();
        assert!(!is_broken_pipe(&other));
        assert_eq!(exit_of(&fail(Exit::Config, "x")), Exit::Config);
    }

    #[test]
    fn a_silent_failure_keeps_its_exit_code_and_says_nothing() {
        let err = Failure::silent(Exit::Unhealthy);
        assert_eq!(exit_of(&err), Exit::Unhealthy);
        assert_eq!(err.chain().find_map(verdict).unwrap().message, None);
        assert_eq!(headline(&err), "");
    }
}
