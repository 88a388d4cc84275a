//! The steps from each older schema to the next, each run in one
//! transaction by `schema::open_writer`. A step never drops data: it adds
//! columns and tables, found again from the stored JSON of the events
//! already there, and changes indexes.

use crate::store::columns::url_host;
use crate::store::StoreError;
use rusqlite::{params, Connection};

/// One step, by the version it leads to.
pub type Step = fn(&Connection) -> Result<(), StoreError>;

pub const STEPS: [(i64, Step); 4] = [(1, to_1), (2, to_2), (3, to_3), (4, to_4)];

/// Version 0 (the first schema, no version kept) to 1: a session's last
/// arrival is kept on its row instead of found through an index of every
/// event, one index less to update per stored event.
fn to_1(conn: &Connection) -> Result<(), StoreError> {
    Ok(conn.execute_batch(
        "ALTER TABLE sessions ADD COLUMN last_received_at INTEGER NOT NULL DEFAULT 0;
         UPDATE sessions SET last_received_at = coalesce(
             (SELECT max(received_at) FROM events WHERE events.session_id = sessions.session_id), 0);
         DROP INDEX IF EXISTS events_by_session_arrival;",
    )?)
}

/// 1 to 2: the user id of an event as a column, and the visitor -> user
/// links.
fn to_2(conn: &Connection) -> Result<(), StoreError> {
    Ok(conn.execute_batch(
        "ALTER TABLE events ADD COLUMN user_id TEXT NULL;
         UPDATE events SET user_id = json_extract(body, '$.user_id')
             WHERE instr(body, '\"user_id\"') > 0 AND json_valid(body)
               AND json_type(body, '$.user_id') = 'text' AND json_extract(body, '$.user_id') <> '';
         CREATE TABLE links (
             anonymous_id TEXT PRIMARY KEY,
             user_id      TEXT NOT NULL,
             linked_at    INTEGER NOT NULL
         );
         -- SQLite takes the bare user_id from the row of max(timestamp).
         INSERT INTO links (anonymous_id, user_id, linked_at)
             SELECT anonymous_id, user_id, max(timestamp) FROM events
             WHERE user_id IS NOT NULL GROUP BY anonymous_id;",
    )?)
}

/// 2 to 3: the typed columns of the metrics, on events and as each visit's
/// sums on sessions. Referrers of older events were stored without the
/// page's host, so a site's own pages among them count as referrers.
fn to_3(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "ALTER TABLE events ADD COLUMN source TEXT NOT NULL DEFAULT 'browser';
         ALTER TABLE events ADD COLUMN path TEXT NOT NULL DEFAULT '';
         ALTER TABLE events ADD COLUMN referrer_host TEXT NOT NULL DEFAULT '';
         ALTER TABLE events ADD COLUMN page_count INTEGER NULL;
         ALTER TABLE events ADD COLUMN engaged_time INTEGER NULL;
         ALTER TABLE events ADD COLUMN amount REAL NULL;
         ALTER TABLE events ADD COLUMN navigation_type TEXT NULL;
         UPDATE events SET
             source = CASE WHEN client_id = 'server' AND json_extract(body, '$.source') = 'server'
                           THEN 'server' ELSE 'browser' END,
             path = CASE WHEN json_type(body, '$.path') = 'text'
                         THEN json_extract(body, '$.path') ELSE '' END,
             page_count = CASE WHEN json_type(body, '$.page_count') = 'integer'
                               THEN json_extract(body, '$.page_count') END,
             engaged_time = CASE WHEN json_type(body, '$.engaged_time') = 'integer'
                                 THEN json_extract(body, '$.engaged_time') END,
             amount = CASE WHEN json_type(body, '$.properties.amount') IN ('integer', 'real')
                           THEN json_extract(body, '$.properties.amount') END,
             navigation_type = CASE WHEN json_type(body, '$.navigation_type') = 'text'
                                    THEN json_extract(body, '$.navigation_type') END
         WHERE json_valid(body);
         CREATE INDEX events_by_name ON events (name, session_id, source, path);",
    )?;
    {
        let mut referrers = conn.prepare(
            "SELECT rowid, json_extract(body, '$.referrer') FROM events
             WHERE json_valid(body) AND json_type(body, '$.referrer') = 'text'
               AND json_extract(body, '$.referrer') <> ''",
        )?;
        let mut set = conn.prepare("UPDATE events SET referrer_host = ?2 WHERE rowid = ?1")?;
        let mut rows = referrers.query([])?;
        while let Some(row) = rows.next()? {
            let referrer: String = row.get(1)?;
            set.execute(params![row.get::<_, i64>(0)?, url_host(&referrer)])?;
        }
    }
    conn.execute_batch(
        "ALTER TABLE sessions ADD COLUMN client_id TEXT NULL;
         ALTER TABLE sessions ADD COLUMN pageviews INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE sessions ADD COLUMN other_events INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE sessions ADD COLUMN engaged_ms INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE sessions ADD COLUMN entry_ts INTEGER NULL;
         ALTER TABLE sessions ADD COLUMN entry_path TEXT NULL;
         ALTER TABLE sessions ADD COLUMN entry_referrer TEXT NULL;
         ALTER TABLE sessions ADD COLUMN exit_ts INTEGER NULL;
         ALTER TABLE sessions ADD COLUMN exit_path TEXT NULL;
         UPDATE sessions SET
             client_id = (SELECT e.client_id FROM events e
                 WHERE e.session_id = sessions.session_id AND e.source = 'browser'
                 ORDER BY e.rowid LIMIT 1),
             pageviews = (SELECT count(*) FROM events e
                 WHERE e.session_id = sessions.session_id AND e.source = 'browser'
                   AND e.name = 'screen_view'),
             other_events = (SELECT count(*) FROM events e
                 WHERE e.session_id = sessions.session_id AND e.source = 'browser'
                   AND e.name NOT IN ('screen_view', 'page_exit')),
             engaged_ms = (SELECT coalesce(sum(e.engaged_time), 0) FROM events e
                 WHERE e.session_id = sessions.session_id AND e.source = 'browser'
                   AND e.name = 'page_exit');
         UPDATE sessions SET (entry_ts, entry_path, entry_referrer) = (
             SELECT e.timestamp, e.path, e.referrer_host FROM events e
             WHERE e.session_id = sessions.session_id AND e.source = 'browser'
               AND e.name = 'screen_view'
             ORDER BY e.timestamp, e.rowid LIMIT 1);
         UPDATE sessions SET (exit_ts, exit_path) = (
             SELECT e.timestamp, e.path FROM events e
             WHERE e.session_id = sessions.session_id AND e.source = 'browser'
               AND e.name = 'screen_view'
             ORDER BY e.timestamp DESC, e.rowid DESC LIMIT 1);
         CREATE INDEX sessions_by_start ON sessions (first_seen);
         CREATE INDEX sessions_by_site ON sessions (client_id, first_seen);",
    )?;
    Ok(())
}

/// 3 to 4: the metrics' indexes lead with the time (cheaper to write: each
/// new event lands at their end), the page views' in an index of their own.
fn to_4(conn: &Connection) -> Result<(), StoreError> {
    Ok(conn.execute_batch(
        "DROP INDEX events_by_name;
         CREATE INDEX events_by_name ON events (name, timestamp);
         CREATE INDEX events_pageviews ON events (timestamp, session_id, path)
             WHERE name = 'screen_view' AND source = 'browser';",
    )?)
}
