//! Sealing in SQL (the rule is the store boundary's, `crate::store`): a
//! session is sealed lazily when more of its events arrive after it has been
//! idle, by the `received_at` of its last stored event, longer than the seal
//! timeout, or at once on request. A sealed session keeps its first
//! `sealed_at`; sealing never drops data, it only tells the tab (through the
//! batch answer's `sealed`) to rotate to a new session.
//!
//! These run inside the caller's connection or transaction.

use rusqlite::{params, Connection, OptionalExtension};

/// Seals `session_id` when it is known, not sealed yet, and its last event
/// was received more than `after_ms` before `now`; says whether it is
/// sealed afterwards (storing events never seals or unseals, so this holds
/// for the rest of the batch).
pub fn seal_if_idle(
    conn: &Connection,
    session_id: &str,
    now: i64,
    after_ms: i64,
) -> rusqlite::Result<bool> {
    // Read first: the common case (open and active) writes nothing.
    let row = conn
        .prepare_cached(
            "SELECT sealed_at IS NOT NULL, last_received_at FROM sessions WHERE session_id = ?1",
        )?
        .query_row([session_id], |r| {
            Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?;
    match row {
        None => Ok(false),
        Some((true, _)) => Ok(true),
        Some((false, last)) if last < now.saturating_sub(after_ms) => {
            conn.prepare_cached("UPDATE sessions SET sealed_at = ?2 WHERE session_id = ?1")?
                .execute(params![session_id, now])?;
            Ok(true)
        }
        Some((false, _)) => Ok(false),
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
