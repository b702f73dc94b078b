//! The API key: from a key file (checked like ssh checks its keys) or from
//! the variable's value that [`super::Settings`] read.

use crate::error::{Exit, fail};
use crate::private_file::{Holding, PrivateFileError, Problem, read_private_file};
use crate::secret::Secret;
use std::path::Path;

/// The API key: from the key file when one is given, else `FIXER_API_KEY`.
/// `from_env` is the value of `FIXER_API_KEY`; `credentials` systemd's
/// `CREDENTIALS_DIRECTORY`.
pub(super) fn api_key(
    file: Option<&Path>,
    from_env: Option<&str>,
    credentials: Option<&Path>,
) -> anyhow::Result<Secret> {
    let key = match file {
        Some(path) => read_key_file(path, credentials)?,
        None => match from_env.map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) => k.to_string(),
            None => {
                return Err(fail(
                    Exit::Config,
                    "no fixer.io API key: set FIXER_API_KEY, or FIXER_API_KEY_FILE (--api-key-file) \
                     to a file holding it",
                ));
            }
        },
    };
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(fail(
            Exit::Config,
            "the fixer.io API key contains spaces or non-ASCII characters; check FIXER_API_KEY or the key file",
        ));
    }
    // Real keys are 32 characters. A short one is a mistake (a truncated
    // paste, a placeholder), and too short to be told apart from ordinary
    // text when it is kept out of what fxrates prints.
    if key.len() < MIN_KEY_LEN {
        return Err(fail(
            Exit::Config,
            format!(
                "the fixer.io API key is only {} characters long, too short to be a key (they \
                 have 32); check FIXER_API_KEY or the key file",
                key.len()
            ),
        ));
    }
    Ok(Secret::new(key))
}

/// The shortest key accepted.
const MIN_KEY_LEN: usize = 8;

/// What the key file holds, for its messages.
const KEY_FILE: Holding = Holding {
    file: "the API key file",
    variable: "FIXER_API_KEY_FILE",
    secret: "your fixer.io API key",
};

fn read_key_file(path: &Path, credentials: Option<&Path>) -> Result<String, PrivateFileError> {
    let text = read_private_file(path, KEY_FILE, credentials)?;
    let key = text.trim();
    if key.is_empty() {
        return Err(PrivateFileError {
            path: path.to_path_buf(),
            holding: KEY_FILE,
            problem: Problem::Empty,
        });
    }
    Ok(key.to_string())
}
