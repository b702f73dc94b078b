//! stderr: log lines and panics, scrubbed of secrets (the final error line
//! is `crate::report`'s). stdout is left to the data.

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
