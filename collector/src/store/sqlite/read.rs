//! Reads: pages of events, the session list, the visitor of a session.

use crate::store::{EventPage, EventQuery, SessionRow, StoreError, MAX_PAGE_EVENTS};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// A page stops early once its events hold this many bytes of JSON, so one
/// page of large events cannot take the collector's memory.
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// Where a page starts: after this (timestamp, rowid). The cursor text is
/// `"{timestamp}-{rowid}"`; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct After {
    timestamp: i64,
    rowid: i64,
}

impl After {
    /// Before every event (timestamps and rowids are positive).
    const START: After = After {
        timestamp: i64::MIN,
        rowid: i64::MIN,
    };

    fn parse(cursor: &str) -> Option<After> {
        let (t, r) = cursor.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(t) || !digits(r) {
            return None;
        }
        Some(After {
            timestamp: t.parse().ok()?,
            rowid: r.parse().ok()?,
        })
    }

    fn text(self) -> String {
        format!("{}-{}", self.timestamp, self.rowid)
    }
}

pub fn events(conn: &Connection, q: &EventQuery) -> Result<EventPage, StoreError> {
    let after = match &q.cursor {
        None => After::START,
        Some(c) => After::parse(c)
            .ok_or_else(|| StoreError::Invalid("cursor is not one this store gave".into()))?,
    };
    // One statement per filter, so each can use its index (an `?1 IS NULL OR`
    // condition would make SQLite scan the whole table).
    let filter = match (&q.session_id, &q.client_id) {
        (Some(_), Some(_)) => "session_id = ?4 AND client_id = ?5 AND",
        (Some(_), None) => "session_id = ?4 AND ?5 IS NULL AND",
        (None, Some(_)) => "?4 IS NULL AND client_id = ?5 AND",
        (None, None) => "?4 IS NULL AND ?5 IS NULL AND",
    };
    let sql = format!(
        "SELECT timestamp, rowid, body FROM events
         WHERE {filter} (timestamp, rowid) > (?1, ?2)
         ORDER BY timestamp, rowid LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    // One more than asked: it says whether another page follows.
    let mut rows = stmt.query(params![
        after.timestamp,
        after.rowid,
        i64::from(q.limit.clamp(1, MAX_PAGE_EVENTS)) + 1,
        q.session_id,
        q.client_id
    ])?;
    let limit = usize::try_from(q.limit.clamp(1, MAX_PAGE_EVENTS)).unwrap_or(usize::MAX);
    let mut page = EventPage::default();
    let mut bytes = 0usize;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let full = page.events.len() >= limit || bytes >= MAX_PAGE_BYTES;
        if full {
            page.next_cursor = last.map(After::text);
            break;
        }
        let body: String = row.get(2)?;
        bytes += body.len();
        page.events.push(body);
        last = Some(After {
            timestamp: row.get(0)?,
            rowid: row.get(1)?,
        });
    }
    Ok(page)
}

pub fn sessions(conn: &Connection, limit: u32) -> Result<Vec<SessionRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.session_id, s.anonymous_id, s.first_seen, s.last_seen, s.event_count,
                s.sealed_at, l.user_id
         FROM sessions s LEFT JOIN links l ON l.anonymous_id = s.anonymous_id
         ORDER BY s.last_seen DESC, s.rowid DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(SessionRow {
            session_id: r.get(0)?,
            anonymous_id: r.get(1)?,
            first_seen: r.get(2)?,
            last_seen: r.get(3)?,
            event_count: r.get(4)?,
            sealed_at: r.get(5)?,
            user_id: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn visitors(
    conn: &Connection,
    session_ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT anonymous_id FROM sessions WHERE session_id = ?1")?;
    let mut found = HashMap::new();
    for id in session_ids {
        if let Some(visitor) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            found.insert(id.clone(), visitor);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_anything_else_is_refused() {
        let a = After {
            timestamp: 1_709_318_400_000,
            rowid: 42,
        };
        assert_eq!(After::parse(&a.text()), Some(a));
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1-2-3",
            "a-1",
            "1-+2",
            "99999999999999999999-1",
        ] {
            assert_eq!(After::parse(bad), None, "{bad}");
        }
    }
}
