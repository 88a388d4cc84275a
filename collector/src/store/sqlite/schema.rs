//! The SQLite schema, its migrations, and the settings of the write
//! connection.
//!
//! `PRAGMA user_version` holds the schema version. A new database gets the
//! current schema at once; an older one is migrated step by step on open,
//! each step in one transaction.

use super::{migrations, wal_writes};
use crate::store::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// WAL pages after which a commit checkpoints (see `open_writer`).
pub const WAL_PAGES: i64 = 4000;

/// The schema version this build reads and writes.
pub const VERSION: i64 = 4;

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
    user_id      TEXT NULL,
    -- The typed columns the metrics read, from the event (store::columns).
    source          TEXT NOT NULL DEFAULT 'browser',
    path            TEXT NOT NULL DEFAULT '',
    -- '' when direct: no referrer, or the site itself.
    referrer_host   TEXT NOT NULL DEFAULT '',
    page_count      INTEGER NULL,
    engaged_time    INTEGER NULL,
    amount          REAL NULL,
    navigation_type TEXT NULL
);
-- What each index is for (every one costs each stored event a b-tree
-- insert, README Benchmarks): the pages of one session, of one site, and
-- of everything (`GET /v1/events`), and the metrics' goal events and page
-- views. The last two lead with the time, so new events land at the end of
-- them instead of at one place per session.
CREATE INDEX events_by_session ON events (session_id, timestamp);
CREATE INDEX events_by_client ON events (client_id, timestamp);
CREATE INDEX events_by_time ON events (timestamp);
CREATE INDEX events_by_name ON events (name, timestamp);
CREATE INDEX events_pageviews ON events (timestamp, session_id, path)
    WHERE name = 'screen_view' AND source = 'browser';
CREATE TABLE sessions (
    session_id       TEXT PRIMARY KEY,
    anonymous_id     TEXT NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    event_count      INTEGER NOT NULL,
    sealed_at        INTEGER NULL,
    -- The server clock of the session's last stored event, for sealing.
    last_received_at INTEGER NOT NULL DEFAULT 0,
    -- The visit, summed as its events are stored (the metrics read these):
    -- its site (client_id of its first stored browser event; NULL while it
    -- has none), browser screen_views, browser events other than
    -- screen_view and page_exit, engaged ms of its browser page_exits, and
    -- its first (entry) and last (exit) browser screen_view by timestamp.
    client_id        TEXT NULL,
    pageviews        INTEGER NOT NULL DEFAULT 0,
    other_events     INTEGER NOT NULL DEFAULT 0,
    engaged_ms       INTEGER NOT NULL DEFAULT 0,
    entry_ts         INTEGER NULL,
    entry_path       TEXT NULL,
    entry_referrer   TEXT NULL,
    exit_ts          INTEGER NULL,
    exit_path        TEXT NULL
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen);
CREATE INDEX sessions_by_start ON sessions (first_seen);
CREATE INDEX sessions_by_site ON sessions (client_id, first_seen);
-- Which user each visitor identified as: the user_id of its latest event
-- (by timestamp) that carried one.
CREATE TABLE links (
    anonymous_id TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    linked_at    INTEGER NOT NULL
);
";

/// Opens the database for writing (creating it, or migrating an older
/// schema), in WAL mode with `synchronous=FULL`: the WAL is synced at every
/// commit, so a committed batch survives a crash of the collector. Its
/// checkpoints are left to the checkpoint thread.
pub fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    // Its WAL writes gathered into a few large ones per commit (`wal_writes`).
    wal_writes::register().map_err(StoreError::Failed)?;
    let mut conn =
        Connection::open_with_flags_and_vfs(path, OpenFlags::default(), wal_writes::NAME)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        eprintln!("sessionmark collector: journal_mode is {mode}, not wal");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The checkpoint thread copies the WAL into the database between
    // commits. Under steady load its checkpoints never catch up with the
    // last commit, and only a complete one lets the WAL start over, so the
    // writer still checkpoints what is left once the WAL holds this many
    // pages (16 MiB): that bounds the WAL, and little is left by then.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)?;
    // 4 MiB: the pages ingest touches (the ends of the indexes, the
    // sessions being written) fit, and each commit's pass over the cache
    // (pcache1TruncateUnsafe, about a tenth of the writer's time at 32 MiB)
    // stays short.
    conn.pragma_update(None, "cache_size", -4 * 1024)?;
    // Statement journals (a statement that fails halfway) in memory, not
    // in a temp file.
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
    for (to, step) in migrations::STEPS {
        if version >= to {
            continue;
        }
        let tx = conn.transaction()?;
        step(&tx)?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
        eprintln!("sessionmark collector: database schema migrated to version {to}");
        version = to;
    }
    Ok(())
}
