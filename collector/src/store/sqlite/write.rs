//! Storing a batch: dedup by `event_id`, sealing idle sessions first, the
//! typed columns, the session summary rows, the visitor -> user links.

use super::visit::{StoredVisit, VisitDelta};
use super::{seal, sql_int};
use crate::store::columns;
use crate::store::{Batch, Inserted, StoreError};
use rusqlite::{params, Connection};

/// Stores the batch inside the caller's transaction (the writer's group).
pub fn insert(conn: &Connection, batch: &Batch) -> Result<Inserted, StoreError> {
    // Sessions in order of first appearance; a batch holds few.
    let mut visits: Vec<VisitDelta<'_>> = Vec::new();
    for e in &batch.events {
        if !visits.iter().any(|v| v.session_id == e.event.session_id) {
            visits.push(VisitDelta::new(e));
        }
    }
    let now = sql_int(batch.received_at)?;
    let seal_after = i64::try_from(batch.seal_after_ms).unwrap_or(i64::MAX);
    for v in &mut visits {
        v.row = StoredVisit::read(conn, v.session_id)?;
        v.sealed = seal::seal_if_idle(conn, v.row.as_ref(), now, seal_after)?;
    }
    let mut done = Inserted::default();
    let mut insert_event = conn.prepare_cached(
        "INSERT INTO events (event_id, session_id, anonymous_id, name, timestamp,
                             received_at, client_id, body, user_id, source, path,
                             referrer_host, page_count, engaged_time, amount, navigation_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
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
            new.source.as_str(),
            e.path,
            new.referrer_host,
            e.page_count.map(sql_int).transpose()?,
            e.engaged_time.map(sql_int).transpose()?,
            columns::amount(&e.properties.0),
            e.navigation_type,
        ])?;
        if added == 0 {
            done.duplicates += 1;
            continue;
        }
        done.accepted += 1;
        if let Some(user) = &e.user_id {
            link.execute(params![e.anonymous_id, user, timestamp])?;
        }
        if let Some(v) = visits.iter_mut().find(|v| v.session_id == e.session_id) {
            v.add(new)?;
        }
    }
    for v in &visits {
        v.write(conn, now)?;
    }
    done.sealed = visits
        .iter()
        .filter(|v| v.sealed)
        .map(|v| v.session_id.to_owned())
        .collect();
    Ok(done)
}
