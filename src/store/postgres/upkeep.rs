//! The store's own checks of its health.

use super::PgStore;

/// The full check and `data_version` are SQLite's: PostgreSQL keeps the defaults.
impl crate::store::Upkeep for PgStore {}
impl crate::store::UpkeepWrite for PgStore {}
