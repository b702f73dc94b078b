//! What is at the database path, found out without changing a byte of it:
//! nothing, an empty file, an fxrates database (of which version), or
//! something that is not fxrates' (a FIFO, a file that is not SQLite,
//! another program's database). Only an fxrates database, or nothing, is
//! ever opened for writing; everything else is refused as it is.
//!
//! fxrates databases carry `PRAGMA application_id` = [`APPLICATION_ID`]
//! ("FXRT"). Databases made before it was set are recognised by their
//! schema, which must be exactly what fxrates' migrations create; a writer
//! then marks them.

use super::schema::{self, VERSION};
use crate::store::{StoreError, Target};
use rusqlite::{Connection, OpenFlags};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// `PRAGMA application_id` of every fxrates database: "FXRT" in ASCII.
pub(super) const APPLICATION_ID: i32 = 0x4658_5254;

/// What the path holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// A 0-byte file, or a SQLite file with nothing in it: a database being
    /// created, to be read as empty and written from scratch.
    Empty,
    /// An fxrates database at this schema version; `marked` when it carries
    /// the application id (older fxrates did not set it).
    Ours { version: i64, marked: bool },
}

/// The path with every link resolved, so that two names for one database
/// lock and open the same file. A path that does not exist yet resolves its
/// directory.
pub(super) fn canonical(path: &Path) -> Result<PathBuf, StoreError> {
    let what = || format!("cannot resolve the database path {}", path.display());
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(StoreError::io(what(), e));
            };
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            match std::fs::canonicalize(dir) {
                Ok(d) => Ok(d.join(name)),
                // The directory is missing too: the caller says so.
                Err(_) => Ok(path.to_owned()),
            }
        }
        Err(e) => Err(StoreError::io(what(), e)),
    }
}

/// Refuses anything at `path` that is not a regular file, before anything
/// opens it (opening a FIFO would wait forever). `Ok(false)`: nothing there.
pub(super) fn check_type(path: &Path, target: &Target) -> Result<bool, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) => type_ok(&m, target).map(|()| true),
        // A path below a file: nothing can be there; the directory check
        // says why.
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => Ok(false),
        Err(e) => Err(StoreError::io(
            format!("cannot read the database {target}"),
            e,
        )),
    }
}

fn type_ok(m: &std::fs::Metadata, target: &Target) -> Result<(), StoreError> {
    let t = m.file_type();
    let why = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "it is a directory"
    } else if t.is_fifo() {
        "it is a FIFO (named pipe), not a file"
    } else if t.is_socket() {
        "it is a socket, not a file"
    } else if t.is_block_device() || t.is_char_device() {
        "it is a device, not a file"
    } else {
        "it is not a regular file"
    };
    Err(StoreError::NotOurs {
        target: target.clone(),
        why,
    })
}

/// Opens the existing file at `path` for reading, without following a link
/// planted since it was resolved and without waiting on a FIFO, and checks
/// that what was opened is a regular file.
pub(super) fn open_file(path: &Path, target: &Target) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| StoreError::io(format!("cannot open the database {target}"), e))?;
    let meta = file
        .metadata()
        .map_err(|e| StoreError::io(format!("cannot read the database {target}"), e))?;
    type_ok(&meta, target)?;
    Ok(file)
}

/// Whether `file` is still what `path` names (it was not replaced or
/// removed meanwhile).
pub(super) fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Finds out what `file` (open at `path`) holds, reading only: the SQLite
/// header first, then, where it cannot tell, SQLite itself through a
/// read-only connection that creates nothing (no -wal, no -shm).
pub(super) fn inspect(file: &File, path: &Path, target: &Target) -> Result<Found, StoreError> {
    let not_sqlite = || StoreError::NotOurs {
        target: target.clone(),
        why: "it is not SQLite, or is damaged",
    };
    let mut header = [0u8; 100];
    let len = file
        .metadata()
        .map_err(|e| StoreError::io(format!("cannot read the database {target}"), e))?
        .len();
    if len == 0 {
        return Ok(Found::Empty);
    }
    file.read_exact_at(&mut header, 0)
        .map_err(|_| not_sqlite())?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(not_sqlite());
    }
    let application_id = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if application_id != 0 && application_id != APPLICATION_ID {
        return Err(StoreError::Foreign(target.clone()));
    }
    let conn = open_inspector(path).map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => not_sqlite(),
        _ => StoreError::io(format!("cannot read the database {target}"), e),
    })?;
    let read = || -> rusqlite::Result<(i32, i64, Vec<SchemaRow>)> {
        let id = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok((id, version, schema_rows(&conn)?))
    };
    let (id, version, rows) = read().map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => not_sqlite(),
        _ => StoreError::io(format!("cannot read the database {target}"), e),
    })?;
    drop(conn);
    classify(id, version, &rows, target)
}

/// The verdict on a database's application id, version and schema.
fn classify(
    id: i32,
    version: i64,
    rows: &[SchemaRow],
    target: &Target,
) -> Result<Found, StoreError> {
    let marked = id == APPLICATION_ID;
    if id != 0 && !marked {
        return Err(StoreError::Foreign(target.clone()));
    }
    if rows.is_empty() && version == 0 {
        return Ok(Found::Empty);
    }
    if !marked && !(1..=VERSION).contains(&version) {
        // Not marked, so not made by a version of fxrates that knows
        // versions above this one's, nor by any fxrates at 0 or below.
        return Err(StoreError::Foreign(target.clone()));
    }
    if version > VERSION {
        return Err(StoreError::TooNew {
            target: target.clone(),
            version,
            known: VERSION,
        });
    }
    if version < 1 {
        return Err(StoreError::NotOurs {
            target: target.clone(),
            why: "its schema version is one no fxrates ever wrote; it is damaged",
        });
    }
    if rows != expected_schema(version).as_slice() {
        return Err(if marked {
            StoreError::NotOurs {
                target: target.clone(),
                why: "its tables are not the ones fxrates made; it is damaged",
            }
        } else {
            StoreError::Foreign(target.clone())
        });
    }
    Ok(Found::Ours { version, marked })
}

/// A connection that only reads `path`: read-only, and "immutable" when no
/// write-ahead log exists, so SQLite creates no -wal or -shm file beside
/// someone else's database. With a log present (its program has it open),
/// the log is read as it is.
fn open_inspector(path: &Path) -> rusqlite::Result<Connection> {
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        Path::new(&name).exists()
    };
    // A journal means a write in progress: then read with SQLite's locks.
    let immutable = !beside("-wal") && !beside("-journal");
    let uri = format!(
        "file:{}?mode=ro{}",
        uri_path(path),
        if immutable { "&immutable=1" } else { "" }
    );
    let conn = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    Ok(conn)
}

/// `path` percent-encoded for a `file:` URI (SQLite decodes `%HH`).
fn uri_path(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One row of `sqlite_master`: type, name, table and the SQL text.
type SchemaRow = (String, String, String, Option<String>);

fn schema_rows(conn: &Connection) -> rusqlite::Result<Vec<SchemaRow>> {
    let mut stmt =
        conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect()
}

/// The schema fxrates' migrations create up to `version`, read back from a
/// database in memory, so that it can never drift from the migrations.
fn expected_schema(version: i64) -> Vec<SchemaRow> {
    let build = || -> rusqlite::Result<Vec<SchemaRow>> {
        let conn = Connection::open_in_memory()?;
        for sql in schema::MIGRATIONS.iter().take(version as usize) {
            conn.execute_batch(sql)?;
        }
        schema_rows(&conn)
    };
    // The migrations are fixed text, tested to apply: an error here is a
    // bug, and an empty schema then matches no real database.
    build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target::Sqlite(PathBuf::from("t.db"))
    }

    #[test]
    fn the_schema_of_every_version_is_recognised_only_when_exact() {
        let rows = expected_schema(VERSION);
        assert!(rows.iter().any(|r| r.1 == "days"));
        assert_eq!(
            classify(0, VERSION, &rows, &target()).unwrap(),
            Found::Ours {
                version: VERSION,
                marked: false
            }
        );
        let mut other = rows.clone();
        other.pop();
        assert!(matches!(
            classify(0, VERSION, &other, &target()),
            Err(StoreError::Foreign(_))
        ));
        assert!(matches!(
            classify(APPLICATION_ID, VERSION, &other, &target()),
            Err(StoreError::NotOurs { .. })
        ));
    }

    #[test]
    fn versions_no_fxrates_wrote_are_refused() {
        let rows = expected_schema(VERSION);
        for v in [-1, 0, VERSION + 1] {
            assert!(matches!(
                classify(0, v, &rows, &target()),
                Err(StoreError::Foreign(_))
            ));
        }
        assert!(matches!(
            classify(APPLICATION_ID, -1, &rows, &target()),
            Err(StoreError::NotOurs { .. })
        ));
        assert!(matches!(
            classify(APPLICATION_ID, VERSION + 1, &rows, &target()),
            Err(StoreError::TooNew { .. })
        ));
        assert!(matches!(
            classify(7, VERSION, &rows, &target()),
            Err(StoreError::Foreign(_))
        ));
        assert_eq!(classify(0, 0, &[], &target()).unwrap(), Found::Empty);
    }
}
