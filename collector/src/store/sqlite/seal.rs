//! Sealing in SQL (the rule is the store boundary's, `crate::store`): a
//! session is sealed lazily when more of its events arrive after it has been
//! idle, by the `received_at` of its last stored event, longer than the seal
//! timeout, or at once on request. A sealed session keeps its first
//! `sealed_at`; sealing never drops data, it only tells the tab (through the
//! batch answer's `sealed`) to rotate to a new session.
//!
//! These run inside the caller's connection or transaction.

use super::visit::StoredVisit;
use rusqlite::{params, Connection};

/// Seals the session of row `stored` (`None`: not known yet) when it is
/// not sealed yet and its last event was received more than `after_ms`
/// before `now`; says whether it is sealed afterwards (storing events never
/// seals or unseals, so this holds for the rest of the batch).
pub fn seal_if_idle(
    conn: &Connection,
    stored: Option<&StoredVisit>,
    now: i64,
    after_ms: i64,
) -> rusqlite::Result<bool> {
    // The common case (open and active) writes nothing.
    match stored {
        None => Ok(false),
        Some(row) if row.sealed => Ok(true),
        Some(row) if row.last_received_at < now.saturating_sub(after_ms) => {
            conn.prepare_cached("UPDATE sessions SET sealed_at = ?2 WHERE rowid = ?1")?
                .execute(params![row.rowid(), now])?;
            Ok(true)
        }
        Some(_) => Ok(false),
    }
}

/// Seals `session_id` now unless it already is; false when it is unknown.
pub fn seal(conn: &Connection, session_id: &str, now: i64) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE sessions SET sealed_at = coalesce(sealed_at, ?2) WHERE session_id = ?1",
        params![session_id, now],
    )?;
    Ok(changed > 0)
}
