//! What a store's name (`--db`, `FXRATES_DB`, `copy`'s SOURCE and DEST)
//! means: a SQLite file or a PostgreSQL URL. One reading for every place a
//! store is named (the command line's value parser, `cli::StoreArgParser`),
//! so that a mistyped URL or an empty value (a settings line cut short) is
//! refused before anything is created, never taken for a file to create.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// A store's name, read: what it names is resolved with the settings (a
/// URL's password, the schema) into a [`super::Target`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreArg {
    Sqlite(PathBuf),
    /// The URL as written (it may hold a password: never shown).
    Postgres(String),
}

/// The schemes fxrates accepts, as libpq does: in lower case.
const SCHEMES: [&str; 2] = ["postgresql", "postgres"];

/// Reads `text`. The error completes a sentence that starts with where the
/// name came from ("FXRATES_DB (--db) ..."), says what to write instead,
/// and never repeats the value, which may be a URL holding a password.
pub(crate) fn store_arg(text: &OsStr) -> Result<StoreArg, String> {
    let bytes = text.as_bytes();
    let trimmed = bytes.trim_ascii();
    if trimmed.is_empty() {
        return Err(format!(
            "is {}: name a SQLite file or a postgresql:// URL",
            if bytes.is_empty() {
                "empty"
            } else {
                "only blanks"
            }
        ));
    }
    let padded = trimmed.len() != bytes.len();
    let Some((scheme, rest)) = url_scheme(trimmed) else {
        if padded {
            return Err("starts or ends with blanks; remove them".to_string());
        }
        return Ok(StoreArg::Sqlite(PathBuf::from(text)));
    };
    // Only ASCII reaches here: a scheme is letters, digits, '+', '-', '.'.
    let scheme = String::from_utf8_lossy(scheme);
    let lower = scheme.to_ascii_lowercase();
    if !SCHEMES.contains(&lower.as_str()) {
        return Err(format!(
            "is a URL of scheme {scheme:?}, which fxrates does not know; name a SQLite file, or \
             a PostgreSQL URL starting with postgresql:// or postgres://"
        ));
    }
    if scheme != lower {
        return Err(format!(
            "starts with {scheme}:, in capitals; write the scheme in lower case, {lower}://, as \
             libpq and psql require"
        ));
    }
    if !rest.starts_with(b"//") {
        return Err(format!(
            "is not a PostgreSQL URL: {scheme}: must be followed by two slashes, as in \
             {scheme}://user@host/database"
        ));
    }
    if padded {
        return Err("is a PostgreSQL URL that starts or ends with blanks; remove them".to_string());
    }
    match std::str::from_utf8(bytes) {
        Ok(url) => Ok(StoreArg::Postgres(url.to_string())),
        Err(_) => Err("is a PostgreSQL URL that is not valid UTF-8 text; \
                       percent-encode what is not ASCII"
            .to_string()),
    }
}

/// The scheme and what follows its colon, when `text` reads as a URL rather
/// than a path: an RFC 3986 scheme followed by `:/`, or any `postgres...:`
/// (a mistyped PostgreSQL URL is never a file name someone meant).
fn url_scheme(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = text.iter().position(|&b| b == b':')?;
    let (scheme, rest) = (&text[..colon], &text[colon + 1..]);
    let is_scheme = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let postgres_like = scheme.to_ascii_lowercase().starts_with(b"postgres");
    (is_scheme && (rest.starts_with(b"/") || postgres_like)).then_some((scheme, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<StoreArg, String> {
        store_arg(OsStr::new(text))
    }

    #[test]
    fn paths_and_urls() {
        for path in [
            "rates.db",
            "/var/lib/fxrates/rates.db",
            "./postgresql:/x",
            "backup:2024.db",
            "dir/a:b",
            "postgres.db",
        ] {
            assert_eq!(read(path), Ok(StoreArg::Sqlite(path.into())), "{path}");
        }
        for url in [
            "postgresql://u@h/db?sslmode=require&target_session_attrs=read-write",
            "postgres://h/db",
            "postgresql://",
        ] {
            assert_eq!(read(url), Ok(StoreArg::Postgres(url.into())), "{url}");
        }
    }

    #[test]
    fn mistakes_are_refused_without_the_value() {
        for (text, says) in [
            ("", "empty"),
            ("  ", "only blanks"),
            (" rates.db", "blanks"),
            ("rates.db\n", "blanks"),
            ("POSTGRESQL://u:pw@h/db", "lower case, postgresql://"),
            ("Postgres://u:pw@h/db", "lower case, postgres://"),
            (" postgresql://u:pw@h/db", "blanks"),
            ("postgresql://u:pw@h/db\t", "blanks"),
            ("postgresq://u:pw@h/db", "\"postgresq\""),
            ("postgresql:/u:pw@h/db", "two slashes"),
            ("postgresql:u:pw@h/db", "two slashes"),
            ("mysql://u:pw@h/db", "\"mysql\""),
            ("file:/tmp/pw.db", "\"file\""),
            ("HTTPS://h/pw", "postgresql://"),
        ] {
            let why = read(text).expect_err(text);
            assert!(why.contains(says), "{text:?}: {why}");
            assert!(!why.contains("pw"), "{text:?}: {why}");
        }
    }
}
