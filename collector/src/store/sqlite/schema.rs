//! The SQLite schema, its migrations, and the settings of the write
//! connection.
//!
//! `PRAGMA user_version` holds the schema version. A new database gets the
//! current schema at once; an older one is migrated step by step on open,
//! each step in one transaction.

use crate::store::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// The schema version this build reads and writes.
pub const VERSION: i64 = 2;

/// The current schema, for a new database.
const SCHEMA: &str = "
CREATE TABLE events (
    event_id     TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    anonymous_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    client_id    TEXT NOT NULL,
    body         TEXT NOT NULL,
    -- The site's user id the event carried (after identify), else NULL.
    user_id      TEXT NULL
);
CREATE INDEX events_by_session ON events (session_id, timestamp);
CREATE INDEX events_by_client ON events (client_id, timestamp);
CREATE INDEX events_by_time ON events (timestamp);
CREATE TABLE sessions (
    session_id       TEXT PRIMARY KEY,
    anonymous_id     TEXT NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    event_count      INTEGER NOT NULL,
    sealed_at        INTEGER NULL,
    -- The server clock of the session's last stored event, for sealing.
    last_received_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen);
-- Which user each visitor identified as: the user_id of its latest event
-- (by timestamp) that carried one.
CREATE TABLE links (
    anonymous_id TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    linked_at    INTEGER NOT NULL
);
";

/// Version 0 (the first schema, no version kept) to 1: a session's last
/// arrival is kept on its row instead of found through an index of every
/// event, one index less to update per stored event.
const TO_1: &str = "
ALTER TABLE sessions ADD COLUMN last_received_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_received_at = coalesce(
    (SELECT max(received_at) FROM events WHERE events.session_id = sessions.session_id), 0);
DROP INDEX IF EXISTS events_by_session_arrival;
";

/// 1 to 2: the user id of an event as a column, and the visitor -> user
/// links, both found again in the stored JSON of older events.
const TO_2: &str = "
ALTER TABLE events ADD COLUMN user_id TEXT NULL;
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
    WHERE user_id IS NOT NULL GROUP BY anonymous_id;
";

/// Each migration, by the version it leads to.
const MIGRATIONS: [(i64, &str); 2] = [(1, TO_1), (2, TO_2)];

/// Opens the database for writing (creating it, or migrating an older
/// schema), in WAL mode with `synchronous=FULL`: the WAL is synced at every
/// commit, so a committed batch survives a crash of the collector. Its
/// checkpoints are left to the checkpoint thread.
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        eprintln!("sessionmark collector: journal_mode is {mode}, not wal");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The checkpoint thread copies the WAL into the database, not commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // Savepoint journals in memory, not in a temp file per transaction.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    bring_up_to_date(&mut conn)?;
    Ok(conn)
}

fn bring_up_to_date(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let has_events: bool = tx.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'events'",
        [],
        |r| r.get(0),
    )?;
    if !has_events {
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", VERSION)?;
        return Ok(tx.commit()?);
    }
    tx.commit()?;
    let mut version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Err(StoreError::Failed(format!(
            "the database has schema version {version}, newer than this collector's {VERSION}"
        )));
    }
    for (to, sql) in MIGRATIONS {
        if version >= to {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
        eprintln!("sessionmark collector: database schema migrated to version {to}");
        version = to;
    }
    Ok(())
}
