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
/// was received more than `after_ms` before `now`.
pub fn seal_if_idle(
    conn: &Connection,
    session_id: &str,
    now: i64,
    after_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET sealed_at = ?2
         WHERE session_id = ?1 AND sealed_at IS NULL
           AND (SELECT max(received_at) FROM events WHERE session_id = ?1) < ?2 - ?3",
        params![session_id, now, after_ms],
    )?;
    Ok(())
}

/// Seals `session_id` now unless it already is; false when it is unknown.
pub fn seal(conn: &Connection, session_id: &str, now: i64) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE sessions SET sealed_at = coalesce(sealed_at, ?2) WHERE session_id = ?1",
        params![session_id, now],
    )?;
    Ok(changed > 0)
}

pub fn is_sealed(conn: &Connection, session_id: &str) -> rusqlite::Result<bool> {
    let sealed = conn
        .query_row(
            "SELECT sealed_at IS NOT NULL FROM sessions WHERE session_id = ?1",
            [session_id],
            |r| r.get::<_, bool>(0),
        )
        .optional()?;
    Ok(sealed.unwrap_or(false))
}
