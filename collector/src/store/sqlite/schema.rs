//! The SQLite schema, and the settings every connection gets.

use rusqlite::Connection;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    event_id     TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    anonymous_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    client_id    TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, timestamp);
CREATE INDEX IF NOT EXISTS events_by_client ON events (client_id, timestamp);
CREATE INDEX IF NOT EXISTS events_by_time ON events (timestamp);
-- The last arrival of a session, for sealing idle sessions.
CREATE INDEX IF NOT EXISTS events_by_session_arrival ON events (session_id, received_at);
CREATE TABLE IF NOT EXISTS sessions (
    session_id   TEXT PRIMARY KEY,
    anonymous_id TEXT NOT NULL,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    event_count  INTEGER NOT NULL,
    sealed_at    INTEGER NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_last_seen ON sessions (last_seen);
";

/// Opens the database (creating its folder and tables), in WAL mode with
/// `synchronous=FULL`: the WAL is synced at every commit, so a committed
/// batch survives a crash of the collector.
pub fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        eprintln!("sessionmark collector: journal_mode is {mode}, not wal");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}
