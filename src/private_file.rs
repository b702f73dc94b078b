//! Files that hold a secret (the API key, the database password): read only
//! when they are what they claim, ssh-style. A regular file, of this user's,
//! open to nobody else, except where systemd guards the file itself (its
//! credentials directory).

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Which secret a file holds, for the messages: what it is called, the
/// variable that names it, and what belongs in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Holding {
    /// "the API key file".
    pub file: &'static str,
    /// "FIXER_API_KEY_FILE".
    pub variable: &'static str,
    /// "your fixer.io API key".
    pub secret: &'static str,
}

/// Why a private file was refused. The boundary gives it exit code 78: a
/// person must fix the file.
#[derive(Debug)]
pub(crate) struct PrivateFileError {
    pub path: PathBuf,
    pub holding: Holding,
    pub problem: Problem,
}

#[derive(Debug)]
pub(crate) enum Problem {
    Unreadable(io::Error),
    NotAFile,
    OpenToOthers {
        mode: u32,
    },
    NotYours,
    /// Holds nothing once the caller trimmed what does not count.
    Empty,
}

impl fmt::Display for PrivateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Holding {
            file,
            variable,
            secret,
        } = self.holding;
        let shown = self.path.display();
        match &self.problem {
            Problem::Unreadable(_) => write!(f, "cannot read {file} {shown} ({variable})"),
            Problem::NotAFile => write!(
                f,
                "{file} {shown} is not a regular file (a FIFO, directory or device); point \
                 {variable} at a file holding {secret}"
            ),
            Problem::OpenToOthers { mode } => write!(
                f,
                "{file} {shown} has mode {mode:04o} and is open to group or others; run `chmod \
                 600 {shown}`"
            ),
            Problem::NotYours => write!(
                f,
                "{file} {shown} is owned by another user; it must be yours"
            ),
            Problem::Empty => write!(f, "{file} {shown} is empty; put {secret} in it"),
        }
    }
}

impl std::error::Error for PrivateFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// The text of `path`, a file holding `holding`'s secret. `credentials` is
/// systemd's `CREDENTIALS_DIRECTORY`: a file there is guarded by systemd
/// (through an ACL on a root-owned file, on some file systems), so its mode
/// and owner are not checked.
pub(crate) fn read_private_file(
    path: &Path,
    holding: Holding,
    credentials: Option<&Path>,
) -> Result<String, PrivateFileError> {
    let refuse = |problem| PrivateFileError {
        path: path.to_path_buf(),
        holding,
        problem,
    };
    let meta = fs::metadata(path).map_err(|e| refuse(Problem::Unreadable(e)))?;
    if !meta.is_file() {
        return Err(refuse(Problem::NotAFile));
    }
    let checked = !is_systemd_credential(path, credentials);
    let mode = meta.mode() & 0o777;
    if checked && mode & 0o077 != 0 {
        return Err(refuse(Problem::OpenToOthers { mode }));
    }
    // Another user's file could be changed behind our back.
    if checked && meta.uid() != effective_uid() {
        return Err(refuse(Problem::NotYours));
    }
    // Opened without waiting (a FIFO would block the run forever), and
    // checked to be the regular file that was just examined.
    let read = || -> io::Result<String> {
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::other(
                "it changed into something other than a file",
            ));
        }
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        Ok(text)
    };
    read().map_err(|e| refuse(Problem::Unreadable(e)))
}

/// The user this process acts as.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether `path` is a credential systemd passed to this service
/// (`LoadCredential=`, read through `FIXER_API_KEY_FILE=%d/NAME`).
fn is_systemd_credential(path: &Path, credentials: Option<&Path>) -> bool {
    let Some(dir) = credentials.filter(|d| d.is_absolute()) else {
        return false;
    };
    let parent = path.parent().and_then(|p| p.canonicalize().ok());
    parent.is_some() && parent == dir.canonicalize().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const KEY: Holding = Holding {
        file: "the API key file",
        variable: "FIXER_API_KEY_FILE",
        secret: "your fixer.io API key",
    };

    #[test]
    fn only_a_private_regular_file_of_this_user_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        fs::write(&path, "k3y\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_private_file(&path, KEY, None).unwrap(), "k3y\n");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_private_file(&path, KEY, None).unwrap_err();
        assert!(matches!(err.problem, Problem::OpenToOthers { mode: 0o640 }));
        assert!(err.to_string().contains("chmod 600"), "{err}");
        // systemd guards its credentials itself.
        assert!(read_private_file(&path, KEY, Some(dir.path())).is_ok());
        let err = read_private_file(dir.path(), KEY, None).unwrap_err();
        assert!(matches!(err.problem, Problem::NotAFile), "{err}");
        let err = read_private_file(&dir.path().join("nope"), KEY, None).unwrap_err();
        assert!(matches!(err.problem, Problem::Unreadable(_)), "{err}");
        assert!(err.to_string().contains("FIXER_API_KEY_FILE"), "{err}");
    }

    #[test]
    fn the_uid_is_the_owner_of_what_this_process_creates() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(fs::metadata(dir.path()).unwrap().uid(), effective_uid());
    }
}
