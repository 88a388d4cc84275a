//! Storing a batch: dedup by `event_id`, sealing idle sessions first, the
//! session summary rows, the visitor -> user links.

use super::{seal, sql_int};
use crate::store::{Batch, Inserted, StoreError};
use rusqlite::{params, Connection};

/// What a batch adds to one session's summary row.
struct SessionDelta<'a> {
    session_id: &'a str,
    /// The visitor of its first stored event in the batch (kept only when
    /// the row is new).
    anonymous_id: &'a str,
    first_seen: i64,
    last_seen: i64,
    stored: i64,
    sealed: bool,
}

/// Stores the batch inside the caller's transaction (the writer's group).
pub fn insert(conn: &Connection, batch: &Batch) -> Result<Inserted, StoreError> {
    // Sessions in order of first appearance; a batch holds few.
    let mut sessions: Vec<SessionDelta<'_>> = Vec::new();
    for e in &batch.events {
        if !sessions.iter().any(|s| s.session_id == e.event.session_id) {
            sessions.push(SessionDelta {
                session_id: &e.event.session_id,
                anonymous_id: &e.event.anonymous_id,
                first_seen: i64::MAX,
                last_seen: i64::MIN,
                stored: 0,
                sealed: false,
            });
        }
    }
    let now = sql_int(batch.received_at)?;
    let seal_after = i64::try_from(batch.seal_after_ms).unwrap_or(i64::MAX);
    for s in &mut sessions {
        s.sealed = seal::seal_if_idle(conn, s.session_id, now, seal_after)?;
    }
    let mut done = Inserted::default();
    let mut insert_event = conn.prepare_cached(
        "INSERT INTO events (event_id, session_id, anonymous_id, name, timestamp,
                             received_at, client_id, body, user_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (event_id) DO NOTHING",
    )?;
    // The latest identification (by event time) of a visitor wins.
    let mut link = conn.prepare_cached(
        "INSERT INTO links (anonymous_id, user_id, linked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (anonymous_id) DO UPDATE SET
             user_id = excluded.user_id, linked_at = excluded.linked_at
         WHERE excluded.linked_at >= links.linked_at",
    )?;
    for new in &batch.events {
        let e = &new.event;
        let timestamp = sql_int(e.timestamp)?;
        let added = insert_event.execute(params![
            e.event_id,
            e.session_id,
            e.anonymous_id,
            e.name,
            timestamp,
            now,
            e.client_id,
            new.body,
            e.user_id,
        ])?;
        if added == 0 {
            done.duplicates += 1;
            continue;
        }
        done.accepted += 1;
        if let Some(user) = &e.user_id {
            link.execute(params![e.anonymous_id, user, timestamp])?;
        }
        if let Some(s) = sessions.iter_mut().find(|s| s.session_id == e.session_id) {
            if s.stored == 0 {
                s.anonymous_id = &e.anonymous_id;
            }
            s.stored += 1;
            s.first_seen = s.first_seen.min(timestamp);
            s.last_seen = s.last_seen.max(timestamp);
        }
    }
    // One upsert per session, not per event.
    let mut upsert_session = conn.prepare_cached(
        "INSERT INTO sessions (session_id, anonymous_id, first_seen, last_seen, event_count,
                               last_received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (session_id) DO UPDATE SET
             first_seen = min(first_seen, excluded.first_seen),
             last_seen = max(last_seen, excluded.last_seen),
             event_count = event_count + excluded.event_count,
             last_received_at = max(last_received_at, excluded.last_received_at)",
    )?;
    for s in sessions.iter().filter(|s| s.stored > 0) {
        upsert_session.execute(params![
            s.session_id,
            s.anonymous_id,
            s.first_seen,
            s.last_seen,
            s.stored,
            now
        ])?;
    }
    done.sealed = sessions
        .iter()
        .filter(|s| s.sealed)
        .map(|s| s.session_id.to_owned())
        .collect();
    Ok(done)
}
