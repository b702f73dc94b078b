//! What a writer may do, checked in one round trip before it claims the
//! store: a role that could record a request but not store its answer
//! would spend quota for nothing.

use super::PgStore;
use crate::store::StoreError;

/// Every table a writer touches, with the privileges it uses on it.
const NEEDED: &[(&str, &[&str])] = &[
    ("claims", &["SELECT", "INSERT", "UPDATE", "DELETE"]),
    ("requests", &["SELECT", "INSERT", "UPDATE"]),
    ("runs", &["SELECT", "INSERT", "UPDATE"]),
    ("days", &["SELECT", "INSERT", "UPDATE", "DELETE"]),
    ("day_rates", &["SELECT", "INSERT", "DELETE"]),
    (
        "unavailable_days",
        &["SELECT", "INSERT", "UPDATE", "DELETE"],
    ),
    ("plan_memory", &["SELECT", "INSERT", "UPDATE"]),
    ("currency_names", &["SELECT", "INSERT", "DELETE"]),
    ("unusable_days", &["SELECT", "INSERT", "UPDATE", "DELETE"]),
    // Only a migration writes `meta`, and only the schema's owner migrates.
    ("meta", &["SELECT"]),
];

/// The (table, privilege) pairs the session's role lacks; the table is
/// empty for USAGE on the schema. Objects are looked up by OID: naming a
/// table of a schema without USAGE would fail instead of answering.
const MISSING: &str = "
SELECT '' AS t, 'USAGE' AS p, 0 AS i FROM pg_namespace n
WHERE n.nspname = $3 AND NOT has_schema_privilege(n.oid, 'USAGE')
UNION ALL
SELECT v.t, v.p, v.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v (t, p, i)
LEFT JOIN pg_class c ON c.relname = v.t
    AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $3)
WHERE c.oid IS NULL OR NOT has_table_privilege(c.oid, v.p)
ORDER BY i";

impl PgStore {
    /// Fails naming every missing privilege, and the GRANT that gives them.
    pub(super) fn check_writable(&self) -> Result<(), StoreError> {
        let (mut tables, mut privileges) = (Vec::new(), Vec::new());
        for (table, needed) in NEEDED {
            for p in *needed {
                tables.push(*table);
                privileges.push(*p);
            }
        }
        let mut conn = self.conn();
        let rows = conn
            .query(MISSING, &[&tables, &privileges, &self.schema])
            .map_err(self.err("cannot check the role's privileges"))?;
        if rows.is_empty() {
            return Ok(());
        }
        let role: String = conn
            .query_one("SELECT current_user::text", &[])
            .map_err(self.err("cannot check the role's privileges"))?
            .get(0);
        let mut missing = Vec::new();
        // Per table, in the order of NEEDED: "INSERT, UPDATE".
        let mut per_table: Vec<(String, Vec<String>)> = Vec::new();
        for row in &rows {
            let (table, privilege): (String, String) = (row.get(0), row.get(1));
            let object = if table.is_empty() {
                format!("SCHEMA {}", self.quoted)
            } else {
                format!("{}.{}", self.quoted, super::quote_ident(&table))
            };
            missing.push(format!("{privilege} on {object}"));
            match per_table.iter_mut().find(|(o, _)| *o == object) {
                Some((_, ps)) => ps.push(privilege),
                None => per_table.push((object, vec![privilege])),
            }
        }
        let grantee = super::quote_ident(&role);
        let grants = per_table
            .iter()
            .map(|(object, ps)| format!("GRANT {} ON {object} TO {grantee};", ps.join(", ")))
            .collect::<Vec<_>>()
            .join(" ");
        Err(StoreError::Ungranted {
            target: self.target.clone(),
            role,
            missing: missing.join(", "),
            grants,
        })
    }
}
