//! The API key: from a key file (checked like ssh checks its keys) or from
//! the variable's value that [`super::Settings`] read.

use crate::error::{Exit, ResultExt, fail};
use crate::secret::Secret;
use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
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
        Some(path) => read_secret_file(path, credentials, &API_KEY)?,
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

/// What a secret file holds, as its messages name it.
struct SecretKind {
    /// "API key": "the API key file ...".
    what: &'static str,
    /// The variable that names the file.
    variable: &'static str,
    /// What the file should hold: "point VAR at a file holding the key".
    noun: &'static str,
    /// What to do about an empty file.
    fill: &'static str,
}

const API_KEY: SecretKind = SecretKind {
    what: "API key",
    variable: "FIXER_API_KEY_FILE",
    noun: "key",
    fill: "put your fixer.io API key in it",
};

const TOKEN: SecretKind = SecretKind {
    what: "token",
    variable: "FXRATES_TOKEN_FILE",
    noun: "token",
    fill: "put the token clients must send in it",
};

/// The shortest token accepted: a token guards a server that may be
/// reachable from anywhere, so it must not be guessable.
const MIN_TOKEN_LEN: usize = 16;

/// The token `serve` requires of every request, from its file.
pub(super) fn token(path: &Path, credentials: Option<&Path>) -> anyhow::Result<Secret> {
    let token = read_secret_file(path, credentials, &TOKEN)?;
    let shown = path.display();
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(fail(
            Exit::Config,
            format!(
                "the token in {shown} contains spaces or non-ASCII characters; use letters, digits and punctuation"
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
    Ok(Secret::new(token))
}

fn read_secret_file(
    path: &Path,
    credentials: Option<&Path>,
    kind: &SecretKind,
) -> anyhow::Result<String> {
    let shown = path.display();
    let SecretKind {
        what,
        variable,
        noun,
        fill,
    } = kind;
    let meta = fs::metadata(path).exit(Exit::Config, || {
        format!("cannot read the {what} file {shown} ({variable})")
    })?;
    if !meta.is_file() {
        return Err(fail(
            Exit::Config,
            format!(
                "the {what} file {shown} is not a regular file (a FIFO, directory or device); \
                 point {variable} at a file holding the {noun}"
            ),
        ));
    }
    let mode = meta.mode() & 0o777;
    // systemd guards its credentials itself; depending on the file system
    // it grants the service access through an ACL on a root-owned file,
    // which the two checks below would refuse.
    let checked = !is_systemd_credential(path, credentials);
    if checked && mode & 0o077 != 0 {
        return Err(fail(
            Exit::Config,
            format!(
                "the {what} file {shown} has mode {mode:04o} and is open to group or others; run `chmod 600 {shown}`"
            ),
        ));
    }
    // Another user's file could be changed behind our back. /proc/self is
    // owned by this process's user, which std cannot ask for directly.
    let uid = fs::metadata("/proc/self").map(|m| m.uid()).ok();
    if checked && uid.is_some_and(|uid| uid != meta.uid()) {
        return Err(fail(
            Exit::Config,
            format!("the {what} file {shown} is owned by another user; it must be yours"),
        ));
    }
    // Opened without waiting (a FIFO would block the run forever), and
    // checked to be the regular file that was just examined.
    let read = || -> std::io::Result<String> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        if !file.metadata()?.is_file() {
            return Err(std::io::Error::other(
                "it changed into something other than a file",
            ));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text)?;
        Ok(text)
    };
    let text = read().exit(Exit::Config, || {
        format!("cannot read the {what} file {shown} ({variable})")
    })?;
    let key = text.trim();
    if key.is_empty() {
        return Err(fail(
            Exit::Config,
            format!("the {what} file {shown} is empty; {fill}"),
        ));
    }
    Ok(key.to_string())
}

/// Whether `path` is a credential systemd passed to this service
/// (`LoadCredential=`, read through `FIXER_API_KEY_FILE=%d/NAME`).
fn is_systemd_credential(path: &Path, credentials: Option<&Path>) -> bool {
    let Some(dir) = credentials else {
        return false;
    };
    let parent = path.parent().and_then(|p| p.canonicalize().ok());
    dir.is_absolute() && parent.is_some() && parent == dir.canonicalize().ok()
}
