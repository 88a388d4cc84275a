//! Sealing: the collector declares a session over. A session is sealed when
//! it has been idle (by the server's `received_at` clock of its last stored
//! event) longer than the seal timeout, checked lazily when more of its
//! events arrive, or at once on `POST /v1/sessions/{id}/seal`.
//!
//! A sealed session keeps its first `sealed_at`. Its later events are still
//! stored and acknowledged: sealing never drops data, it only tells the tab
//! (through the batch answer's `sealed`) to rotate to a new session.
//!
//! These run inside the store's connection or transaction.

use rusqlite::{params, Connection, OptionalExtension};

/// `SESSIONMARK_SEAL_AFTER_MS` default: 30 minutes, the tracker's own
/// session timeout.
pub const DEFAULT_SEAL_AFTER_MS: u64 = 30 * 60 * 1000;

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
