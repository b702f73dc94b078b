//! Where the database password comes from, in this order: the URL,
//! `FXRATES_DB_PASSWORD_FILE`, `PGPASSWORD`, then the password file
//! (`PGPASSFILE`, else `~/.pgpass`) with libpq's matching rules. The values
//! are read by the settings layer and handed in; nothing here reads the
//! environment.

use super::url::{DEFAULT_SOCKET_DIR, Host, PgUrl};
use crate::private_file::{Holding, PrivateFileError, Problem, read_private_file};
use crate::secret::Secret;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The password sources besides the URL.
#[derive(Clone, Debug, Default)]
pub struct PasswordSources {
    /// `FXRATES_DB_PASSWORD_FILE`: a file holding only the password.
    pub file: Option<PathBuf>,
    /// `PGPASSWORD`.
    pub pgpassword: Option<Secret>,
    /// `PGPASSFILE`, else `~/.pgpass` when the home directory is known.
    pub pgpassfile: Option<PathBuf>,
    /// `CREDENTIALS_DIRECTORY`, set by systemd for `LoadCredential=`.
    pub credentials_dir: Option<PathBuf>,
}

/// The user and database a connection will use, as libpq defaults them.
pub(super) struct Identity<'a> {
    pub user: &'a str,
    pub dbname: &'a str,
}

/// The password for `url`, or `None` when no source has one (the server may
/// not ask for any). A file named by `FXRATES_DB_PASSWORD_FILE` that is
/// unsafe or unreadable is an error; an unsafe `.pgpass` is skipped with a
/// warning, as libpq does.
pub(super) fn resolve(
    url: &PgUrl,
    who: &Identity<'_>,
    sources: &PasswordSources,
) -> Result<Option<Secret>, PrivateFileError> {
    if let Some(p) = &url.password {
        return Ok(Some(p.clone()));
    }
    if let Some(path) = &sources.file {
        return read_password_file(path, sources.credentials_dir.as_deref()).map(Some);
    }
    if let Some(p) = &sources.pgpassword {
        return Ok(Some(p.clone()));
    }
    let Some(path) = &sources.pgpassfile else {
        return Ok(None);
    };
    Ok(from_pgpass(path, url, who).map(Secret::new))
}

/// What `FXRATES_DB_PASSWORD_FILE` holds, for its messages.
const PASSWORD_FILE: Holding = Holding {
    file: "the database password file",
    variable: "FXRATES_DB_PASSWORD_FILE",
    secret: "the password",
};

/// Reads `FXRATES_DB_PASSWORD_FILE` with the rules of the API key file: a
/// regular file of this user's, not open to group or others (systemd's
/// credentials excepted: systemd guards them itself).
fn read_password_file(
    path: &Path,
    credentials_dir: Option<&Path>,
) -> Result<Secret, PrivateFileError> {
    let text = read_private_file(path, PASSWORD_FILE, credentials_dir)?;
    // Only the line end goes: spaces may belong to the password.
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(PrivateFileError {
            path: path.to_path_buf(),
            holding: PASSWORD_FILE,
            problem: Problem::Empty,
        });
    }
    Ok(Secret::new(password.to_string()))
}

/// The password of the first line of the password file that matches, as
/// libpq reads it: `host:port:database:user:password`, `*` matching
/// anything, `\` escaping `:` and `\`, `#` starting a comment line.
fn from_pgpass(path: &Path, url: &PgUrl, who: &Identity<'_>) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        log::warn!(
            "the password file {} is not a plain file; ignored",
            path.display()
        );
        return None;
    }
    if meta.mode() & 0o077 != 0 {
        log::warn!(
            "the password file {} is open to group or others and is ignored; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
        return None;
    }
    let text = fs::read_to_string(path).ok()?;
    // libpq looks up the first host it connects to.
    let hosts = url.hosts_or_default();
    let host = hosts.first()?;
    let host_name = match host {
        Host::Tcp(h) => h.clone(),
        Host::Socket(dir) if is_default_socket(dir) => "localhost".into(),
        Host::Socket(dir) => dir.display().to_string(),
    };
    let port = url.port(0).to_string();
    let wanted = [host_name.as_str(), &port, who.dbname, who.user];
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = split_fields(line);
            if fields.len() < 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field == "*" || field == want);
            // The password is the rest of the line, colons and all.
            matches.then(|| fields[4..].join(":"))
        })
        .filter(|p| !p.is_empty())
}

fn is_default_socket(dir: &Path) -> bool {
    [DEFAULT_SOCKET_DIR, "/run/postgresql", "/tmp"]
        .iter()
        .any(|d| dir == Path::new(d))
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("never empty").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn url(text: &str) -> PgUrl {
        PgUrl::parse(text).unwrap()
    }

    const WHO: Identity<'static> = Identity {
        user: "fx",
        dbname: "finance",
    };

    #[test]
    fn sources_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "pw", "from-file-pw\n", 0o600);
        let pgpass = write(dir.path(), "pgpass", "*:*:*:*:from-pgpass-pw\n", 0o600);
        let all = PasswordSources {
            file: Some(file.clone()),
            pgpassword: Some(Secret::new("from-env-pw".into())),
            pgpassfile: Some(pgpass.clone()),
            credentials_dir: None,
        };
        let get = |u: &str, s: &PasswordSources| {
            resolve(&url(u), &WHO, s)
                .unwrap()
                .map(|p| p.expose().to_string())
        };
        assert_eq!(
            get("postgres://fx:from-url-pw@h/finance", &all).as_deref(),
            Some("from-url-pw")
        );
        assert_eq!(
            get("postgres://fx@h/finance", &all).as_deref(),
            Some("from-file-pw")
        );
        let no_file = PasswordSources {
            file: None,
            ..all.clone()
        };
        assert_eq!(
            get("postgres://fx@h/finance", &no_file).as_deref(),
            Some("from-env-pw")
        );
        let only_pgpass = PasswordSources {
            pgpassword: None,
            ..no_file.clone()
        };
        assert_eq!(
            get("postgres://fx@h/finance", &only_pgpass).as_deref(),
            Some("from-pgpass-pw")
        );
        assert_eq!(
            get("postgres://fx@h/finance", &PasswordSources::default()),
            None
        );
    }

    #[test]
    fn the_password_file_must_be_private_and_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let open = write(dir.path(), "open", "pw-open\n", 0o640);
        let err = read_password_file(&open, None).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_eq!(
            crate::report::exit_of(&err.into()),
            crate::error::Exit::Config
        );
        // A systemd credential is guarded by systemd.
        assert!(read_password_file(&open, Some(dir.path())).is_ok());
        let empty = write(dir.path(), "empty", "\n", 0o600);
        assert!(
            read_password_file(&empty, None)
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let spaced = write(dir.path(), "spaced", " two words \r\n", 0o600);
        assert_eq!(
            read_password_file(&spaced, None).unwrap().expose(),
            " two words "
        );
        let missing = read_password_file(&dir.path().join("nope"), None).unwrap_err();
        assert!(
            missing.to_string().contains("FXRATES_DB_PASSWORD_FILE"),
            "{missing}"
        );
    }

    #[test]
    fn pgpass_matching_follows_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let text = "# comment\n\
                    other:5432:*:*:wrong-host\n\
                    db.internal:5433:*:fx:wrong-port\n\
                    db.internal:5432:finance:fx:pa\\:ss\\\\word:tail\n\
                    *:*:*:*:fallback\n\
                    localhost:*:*:*:socket-pw\n";
        let path = write(dir.path(), "pgpass", text, 0o600);
        let found = |u: &str| from_pgpass(&path, &url(u), &WHO);
        assert_eq!(
            found("postgres://db.internal/finance").as_deref(),
            Some("pa:ss\\word:tail")
        );
        assert_eq!(
            found("postgres://elsewhere/finance").as_deref(),
            Some("fallback")
        );
        let sock = write(dir.path(), "sock", "localhost:5432:*:*:socket-pw\n", 0o600);
        let on_socket = |u: &str| from_pgpass(&sock, &url(u), &WHO);
        assert_eq!(
            on_socket("postgres:///finance?host=/run/postgresql").as_deref(),
            Some("socket-pw")
        );
        assert_eq!(
            on_socket("postgres:///finance").as_deref(),
            Some("socket-pw")
        );
        assert_eq!(on_socket("postgres:///finance?host=/srv/pg"), None);
        // Open to others: ignored, as libpq does.
        let open = write(dir.path(), "open", "*:*:*:*:open-pw\n", 0o644);
        assert_eq!(from_pgpass(&open, &url("postgres://h/d"), &WHO), None);
    }
}
