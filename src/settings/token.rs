//! The token `serve` requires of every request, from a file read with the
//! key file's rules (a regular file of this user's, open to nobody else).

use crate::error::{Exit, fail};
use crate::private_file::{Holding, PrivateFileError, Problem, read_private_file};
use crate::secret::Secret;
use std::path::Path;

const TOKEN_FILE: Holding = Holding {
    file: "the token file",
    variable: "FXRATES_TOKEN_FILE",
    secret: "the token clients must send",
};

/// The shortest token accepted: it guards a server that may be reachable
/// from anywhere, so it must not be guessable.
const MIN_TOKEN_LEN: usize = 16;

pub(super) fn token(path: &Path, credentials: Option<&Path>) -> anyhow::Result<Secret> {
    let text = read_private_file(path, TOKEN_FILE, credentials)?;
    let token = text.trim();
    let shown = path.display();
    if token.is_empty() {
        return Err(PrivateFileError {
            path: path.to_path_buf(),
            holding: TOKEN_FILE,
            problem: Problem::Empty,
        }
        .into());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(fail(
            Exit::Config,
            format!(
                "the token in {shown} contains spaces or non-ASCII characters; use letters, \
                 digits and punctuation"
            ),
        ));
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(fail(
            Exit::Config,
            format!(
                "the token in {shown} is only {} characters long; use at least {MIN_TOKEN_LEN} \
                 (for example the output of `openssl rand -hex 32`)",
                token.len()
            ),
        ));
    }
    Ok(Secret::new(token.to_string()))
}
