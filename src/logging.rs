//! stderr: log lines, the final error line, and panics, all scrubbed of
//! secrets. stdout is left to the data.

use crate::error::{Exit, exit_of, is_broken_pipe, storage_cause, verdict};
use crate::secret::scrub;
use crate::untrusted::escaped;
use std::io::{IsTerminal, Write};

/// Log targets that print raw request and response bytes.
const WIRE_DUMPS: [&str; 1] = ["ureq_proto::util"];

/// Sets up logging: `-q` errors only, default warnings (and info on a
/// terminal), `-v` debug for fxrates, `-vv` trace for everything. `RUST_LOG`,
/// when set, replaces all of this.
pub fn init(verbose: u8, quiet: bool) {
    init_for(verbose, quiet, false)
}

/// [`init`], for a long-running service when `service`: its default is
/// info, so that its log (the journal) holds a line per request.
pub fn init_for(verbose: u8, quiet: bool, service: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if service => "warn,fxrates=info",
        (false, 0) if std::io::stderr().is_terminal() => "info",
        (false, 0) => "warn",
        (false, 1) => "warn,fxrates=debug",
        _ => "trace",
    };
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(default);
    if let Some(filters) = crate::settings::log_filters() {
        builder.parse_filters(&filters);
    }
    // The HTTP library's trace level dumps the raw bytes sent and received,
    // 16 to a line: the key (in the URL or the apikey header) is split
    // across lines there, where `scrub` cannot find it. Never show them,
    // whatever RUST_LOG asks for.
    for module in WIRE_DUMPS {
        builder.filter_module(module, log::LevelFilter::Off);
    }
    builder
        .format(|buf, record| {
            let level = record.level().as_str().to_ascii_lowercase();
            let level = if level == "warn" { "warning" } else { &level };
            let text = record.args().to_string();
            let target = record.target();
            if WIRE_DUMPS.iter().any(|m| target.starts_with(m)) {
                return Ok(());
            }
            if target.starts_with("fxrates") {
                writeln!(buf, "fxrates: {level}: {}", escaped(&text))
            } else {
                writeln!(buf, "fxrates: {level}: [{target}] {}", escaped(&text))
            }
        })
        .init();
    std::panic::set_hook(Box::new(|info| {
        let text = escaped(&info.to_string().replace('\n', " "));
        eprintln!("fxrates: error: internal error, please report it: {text}");
    }));
}

/// Prints the error as one line (the chain down to the first typed error),
/// and with `verbose` the causes below it; returns its exit code. stdout
/// closed by its reader (`fxrates show ... | head`) ends the run quietly.
pub(crate) fn report_error(err: &anyhow::Error, verbose: bool) -> Exit {
    if is_broken_pipe(err) {
        return Exit::Ok;
    }
    let line = headline(err);
    if !line.is_empty() {
        eprintln!("fxrates: error: {line}");
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
            Some(v) => v.message.clone(),
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
        } else if let Some(cause) = below {
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

/// clap's help and version go to stdout with 0; a usage error becomes one
/// `fxrates: error:` line with exit code 2.
pub(crate) fn report_clap_error(e: clap::Error) -> Exit {
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
    use clap::Parser;

    #[test]
    fn a_missing_argument_is_named_on_the_one_line() {
        let e = Cli::try_parse_from(["fxrates", "backfill", "--to", "2024-09-20"]).unwrap_err();
        let line = clap_summary(&e);
        assert!(line.contains("--from"), "{line}");
        assert!(!line.contains('\n'), "{line}");
    }
}
