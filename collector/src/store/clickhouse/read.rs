//! Reads: pages of events, the session list, the visitor of sessions, and
//! sealing on request. Each reads `FINAL` (one row per event even before
//! ClickHouse merged racing copies), and filters inside the `FINAL` read
//! only on columns every copy of an event shares (session, client), so a
//! filter can never pick the copy that does not count.

use super::client::Client;
use super::schema::{precedence, EVENTS, LINKS, SEALS};
use super::sql;
use crate::store::{EventPage, EventQuery, SessionRow, StoreError, MAX_PAGE_EVENTS};
use sessionmark::ids::is_uuid_text;
use std::collections::HashMap;

/// A page stops early once its events hold this many bytes of JSON (the
/// SQLite store's bound too), so one page of large events cannot take the
/// collector's memory.
pub const MAX_PAGE_BYTES: u64 = 8 * 1024 * 1024;

/// Where a page starts: after this (timestamp, arrival, event_id), the
/// listing order. Its text is `"{timestamp}.{arrival}.{event_id}"`; clients
/// treat it as opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
struct After {
    timestamp: u64,
    arrival: u64,
    event_id: String,
}

impl After {
    fn parse(cursor: &str) -> Option<After> {
        let mut parts = cursor.splitn(3, '.');
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (t, a, e) = (parts.next()?, parts.next()?, parts.next()?);
        if !digits(t) || !digits(a) || !is_uuid_text(e) {
            return None;
        }
        Some(After {
            timestamp: t.parse().ok()?,
            arrival: a.parse().ok()?,
            event_id: e.to_owned(),
        })
    }

    fn text(&self) -> String {
        format!("{}.{}.{}", self.timestamp, self.arrival, self.event_id)
    }

    /// The SQL condition "listed after this".
    fn condition(&self) -> String {
        format!(
            "(timestamp, arrival, event_id) > ({}, {}, {})",
            self.timestamp,
            self.arrival,
            sql::string(&self.event_id)
        )
    }
}

/// One page of the listing `q` asks for.
pub async fn events(ch: &Client, db: &str, q: &EventQuery) -> Result<EventPage, StoreError> {
    let after = match &q.cursor {
        None => None,
        Some(c) => Some(
            After::parse(c)
                .ok_or_else(|| StoreError::Invalid("cursor is not one this store gave".into()))?,
        ),
    };
    let mut filters = Vec::new();
    if let Some(s) = &q.session_id {
        filters.push(format!("session_id = {}", sql::string(s)));
    }
    if let Some(c) = &q.client_id {
        filters.push(format!("client_id = {}", sql::string(c)));
    }
    let inner_where = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    let outer_where = after
        .as_ref()
        .map(|a| format!("WHERE {}", a.condition()))
        .unwrap_or_default();
    let limit = q.limit.clamp(1, MAX_PAGE_EVENTS);
    let listing = |columns: &str, n: u32| {
        format!(
            "SELECT {columns} FROM (
                SELECT timestamp, arrival, event_id, body FROM {db}.{EVENTS} FINAL {inner_where}
             ) {outer_where}
             ORDER BY timestamp, arrival, event_id LIMIT {n}"
        )
    };
    // First the sizes (one more than asked: whether another page follows),
    // then the bodies of as many as fit in MAX_PAGE_BYTES.
    #[derive(serde::Deserialize)]
    struct Size {
        bytes: u64,
    }
    let sizes: Vec<Size> = ch
        .rows(&listing("length(body) AS bytes", limit.saturating_add(1)))
        .await?;
    let mut fit: u32 = 0;
    let mut total = 0u64;
    for s in sizes
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
    {
        if fit > 0 && total.saturating_add(s.bytes) > MAX_PAGE_BYTES {
            break;
        }
        total = total.saturating_add(s.bytes);
        fit += 1;
    }
    let more = sizes.len() > usize::try_from(fit).unwrap_or(usize::MAX);
    if fit == 0 {
        return Ok(EventPage::default());
    }
    #[derive(serde::Deserialize)]
    struct Listed {
        timestamp: u64,
        arrival: u64,
        event_id: String,
        body: String,
    }
    let rows: Vec<Listed> = ch
        .rows(&listing("timestamp, arrival, event_id, body", fit))
        .await?;
    let next_cursor = match rows.last() {
        Some(last) if more => Some(
            After {
                timestamp: last.timestamp,
                arrival: last.arrival,
                event_id: last.event_id.clone(),
            }
            .text(),
        ),
        _ => None,
    };
    Ok(EventPage {
        events: rows.into_iter().map(|r| r.body).collect(),
        next_cursor,
    })
}

/// The `limit` most recently active sessions (latest event timestamp), the
/// newer session first among equals.
pub async fn sessions(ch: &Client, db: &str, limit: u32) -> Result<Vec<SessionRow>, StoreError> {
    #[derive(serde::Deserialize)]
    struct Row {
        session_id: String,
        visitor: String,
        first_seen: i64,
        last_seen: i64,
        event_count: i64,
    }
    let rows: Vec<Row> = ch
        .rows(&format!(
            "SELECT session_id, argMin(anonymous_id, arrival) AS visitor,
                    min(timestamp) AS first_seen, max(timestamp) AS last_seen,
                    count() AS event_count
             FROM {db}.{EVENTS} FINAL
             GROUP BY session_id
             ORDER BY last_seen DESC, min(arrival) DESC
             LIMIT {limit}"
        ))
        .await?;
    let sealed = sealed_at(ch, db, rows.iter().map(|r| r.session_id.as_str())).await?;
    let users = users_of(ch, db, rows.iter().map(|r| r.visitor.as_str())).await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionRow {
            sealed_at: sealed.get(&r.session_id).copied(),
            user_id: users.get(&r.visitor).cloned(),
            session_id: r.session_id,
            anonymous_id: r.visitor,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            event_count: r.event_count,
        })
        .collect())
}

/// The first `sealed_at` of each of these sessions that is sealed.
async fn sealed_at<'a>(
    ch: &Client,
    db: &str,
    sessions: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, i64>, StoreError> {
    let list: Vec<&str> = sessions.collect();
    if list.is_empty() {
        return Ok(HashMap::new());
    }
    #[derive(serde::Deserialize)]
    struct Sealed {
        session_id: String,
        first_sealed: i64,
    }
    let rows: Vec<Sealed> = ch
        .rows(&format!(
            "SELECT session_id, min(sealed_at) AS first_sealed FROM {db}.{SEALS}
             WHERE session_id IN {} GROUP BY session_id",
            sql::string_list(list)
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.session_id, r.first_sealed))
        .collect())
}

/// The user each of these visitors is linked to: its latest link by event
/// time, the later arrival among equals (correct before merges, which keep
/// one row of the highest `linked_at`).
async fn users_of<'a>(
    ch: &Client,
    db: &str,
    visitors: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, String>, StoreError> {
    let mut list: Vec<&str> = visitors.collect();
    list.sort_unstable();
    list.dedup();
    if list.is_empty() {
        return Ok(HashMap::new());
    }
    #[derive(serde::Deserialize)]
    struct Linked {
        anonymous_id: String,
        user_id: String,
        linked_at: u64,
        arrival: u64,
    }
    let rows: Vec<Linked> = ch
        .rows(&format!(
            "SELECT anonymous_id, user_id, linked_at, arrival FROM {db}.{LINKS}
             WHERE anonymous_id IN {}",
            sql::string_list(list)
        ))
        .await?;
    let mut latest: HashMap<String, (u64, u64, String)> = HashMap::new();
    for r in rows {
        let rank = (r.linked_at, r.arrival);
        match latest.get(&r.anonymous_id) {
            Some((at, arrival, _)) if (*at, *arrival) >= rank => {}
            _ => {
                latest.insert(r.anonymous_id, (r.linked_at, r.arrival, r.user_id));
            }
        }
    }
    Ok(latest
        .into_iter()
        .map(|(visitor, (_, _, user))| (visitor, user))
        .collect())
}

/// The visitor the first stored event of each known session named.
pub async fn visitors(
    ch: &Client,
    db: &str,
    session_ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    if session_ids.is_empty() {
        return Ok(HashMap::new());
    }
    #[derive(serde::Deserialize)]
    struct Visitor {
        session_id: String,
        visitor: String,
    }
    let rows: Vec<Visitor> = ch
        .rows(&format!(
            "SELECT session_id, argMin(anonymous_id, arrival) AS visitor
             FROM {db}.{EVENTS} FINAL WHERE session_id IN {} GROUP BY session_id",
            sql::string_list(session_ids.iter().map(String::as_str))
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|v| (v.session_id, v.visitor))
        .collect())
}

/// Seals a session at `now_ms` unless it already is (the earliest seal
/// counts); `false` when no event of it is stored.
pub async fn seal(
    ch: &Client,
    db: &str,
    session_id: &str,
    now_ms: u64,
) -> Result<bool, StoreError> {
    #[derive(serde::Deserialize)]
    struct Found {}
    let found: Vec<Found> = ch
        .rows(&format!(
            "SELECT 1 AS one FROM {db}.{EVENTS} WHERE session_id = {} LIMIT 1",
            sql::string(session_id)
        ))
        .await?;
    if found.is_empty() {
        return Ok(false);
    }
    let row = serde_json::json!({
        "session_id": session_id,
        "sealed_at": now_ms,
        "precedence": precedence(now_ms),
    });
    let mut line = row.to_string().into_bytes();
    line.push(b'\n');
    ch.insert(&format!("{db}.{SEALS}"), &line).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_anything_else_is_refused() {
        let a = After {
            timestamp: 1_709_318_400_000,
            arrival: 42,
            event_id: "018e0e5c-5a00-7abc-8def-0123456789ab".into(),
        };
        assert_eq!(After::parse(&a.text()), Some(a));
        for bad in [
            "",
            "..",
            "1.2",
            "1.2.x",
            "1.2.018E0E5C-5A00-7ABC-8DEF-0123456789AB",
            "a.2.018e0e5c-5a00-7abc-8def-0123456789ab",
            "1.+2.018e0e5c-5a00-7abc-8def-0123456789ab",
            "99999999999999999999.1.018e0e5c-5a00-7abc-8def-0123456789ab",
            "1.2.018e0e5c-5a00-7abc-8def-0123456789ab'",
            "1-2",
        ] {
            assert_eq!(After::parse(bad), None, "{bad}");
        }
    }
}
