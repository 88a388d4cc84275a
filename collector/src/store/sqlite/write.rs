//! Storing a batch: dedup by `event_id`, sealing idle sessions first, the
//! session summary rows, all in one transaction.

use super::{seal, sql_int};
use crate::store::{Batch, Inserted, StoreError};
use rusqlite::{params, Connection};

/// Stores the batch in one transaction; returns after it committed.
pub fn insert(conn: &mut Connection, batch: &Batch) -> Result<Inserted, StoreError> {
    let tx = conn.transaction()?;
    let done = insert_in(&tx, batch)?;
    tx.commit()?;
    Ok(done)
}

/// The work of [`insert`] inside a transaction the caller commits.
pub fn insert_in(conn: &Connection, batch: &Batch) -> Result<Inserted, StoreError> {
    let mut sessions: Vec<&str> = Vec::new();
    for e in &batch.events {
        if !sessions.contains(&e.event.session_id.as_str()) {
            sessions.push(&e.event.session_id);
        }
    }
    let now = sql_int(batch.received_at)?;
    let seal_after = i64::try_from(batch.seal_after_ms).unwrap_or(i64::MAX);
    for s in &sessions {
        seal::seal_if_idle(conn, s, now, seal_after)?;
    }
    let mut done = Inserted::default();
    let mut insert_event = conn.prepare(
        "INSERT INTO events (event_id, session_id, anonymous_id, name, timestamp,
                             received_at, client_id, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (event_id) DO NOTHING",
    )?;
    let mut upsert_session = conn.prepare(
        "INSERT INTO sessions (session_id, anonymous_id, first_seen, last_seen, event_count)
         VALUES (?1, ?2, ?3, ?3, 1)
         ON CONFLICT (session_id) DO UPDATE SET
             first_seen = min(first_seen, excluded.first_seen),
             last_seen = max(last_seen, excluded.last_seen),
             event_count = event_count + 1",
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
        ])?;
        if added == 0 {
            done.duplicates += 1;
        } else {
            done.accepted += 1;
            upsert_session.execute(params![e.session_id, e.anonymous_id, timestamp])?;
        }
    }
    for s in sessions {
        if seal::is_sealed(conn, s)? {
            done.sealed.push(s.to_owned());
        }
    }
    Ok(done)
}
