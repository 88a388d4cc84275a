//! SQLite storage: one connection behind a mutex, WAL with `synchronous=FULL`
//! so a batch acknowledged to the tracker survives a crash of the collector.
//!
//! Every method here blocks; the HTTP layer calls them from `spawn_blocking`.

use crate::ingest::ValidEvent;
use crate::seal;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Most rows answered by the unfiltered and `client_id` event queries and by
/// the session list.
pub const LIST_LIMIT: u32 = 1000;

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

#[derive(Debug)]
pub enum StoreError {
    Io(std::io::Error),
    Sql(rusqlite::Error),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io(e) => write!(f, "{e}"),
            StoreError::Sql(e) => write!(f, "sqlite: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(e)
    }
}

/// What a batch insert did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inserted {
    /// Events newly stored.
    pub accepted: usize,
    /// Events whose `event_id` was already stored (or repeated in the batch).
    pub duplicates: usize,
    /// The sessions of these events that are sealed (including any sealed
    /// by this insert), in order of first appearance.
    pub sealed: Vec<String>,
}

/// Which stored events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub session_id: Option<String>,
    pub client_id: Option<String>,
}

/// One row of `GET /v1/sessions`. `first_seen` and `last_seen` are event
/// timestamps (ms); `sealed_at` is the server clock (ms) when it was sealed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    pub session_id: String,
    pub anonymous_id: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub event_count: i64,
    pub sealed_at: Option<i64>,
}

/// SQLite integers are signed; ingest never lets a larger value through.
fn sql_int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|e| StoreError::Sql(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

/// A shared handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database and its folder.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        }
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            eprintln!("sessionmark collector: journal_mode is {mode}, not wal");
        }
        // FULL: the WAL is synced at every commit, so an answered batch is on disk.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped its Transaction, which rolled
        // back: the connection is consistent, so a poisoned lock is reusable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores the events in one transaction; returns after it committed.
    /// An `event_id` already stored (or earlier in the same slice) is counted
    /// as a duplicate and left as it was.
    ///
    /// First, each session of these events whose last event was received
    /// more than `seal_after_ms` before `received_at` is sealed; its events
    /// are stored all the same.
    pub fn insert(
        &self,
        events: &[ValidEvent<'_>],
        received_at: u64,
        seal_after_ms: u64,
    ) -> Result<Inserted, StoreError> {
        let mut sessions: Vec<&str> = Vec::new();
        for v in events {
            if !sessions.contains(&v.event.session_id.as_str()) {
                sessions.push(&v.event.session_id);
            }
        }
        let now = sql_int(received_at)?;
        let seal_after = i64::try_from(seal_after_ms).unwrap_or(i64::MAX);
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for s in &sessions {
            seal::seal_if_idle(&tx, s, now, seal_after)?;
        }
        let mut done = Inserted::default();
        {
            let mut insert_event = tx.prepare(
                "INSERT INTO events (event_id, session_id, anonymous_id, name, timestamp,
                                     received_at, client_id, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (event_id) DO NOTHING",
            )?;
            let mut upsert_session = tx.prepare(
                "INSERT INTO sessions (session_id, anonymous_id, first_seen, last_seen, event_count)
                 VALUES (?1, ?2, ?3, ?3, 1)
                 ON CONFLICT (session_id) DO UPDATE SET
                     first_seen = min(first_seen, excluded.first_seen),
                     last_seen = max(last_seen, excluded.last_seen),
                     event_count = event_count + 1",
            )?;
            for v in events {
                let e = &v.event;
                let timestamp = sql_int(e.timestamp)?;
                let added = insert_event.execute(params![
                    e.event_id,
                    e.session_id,
                    e.anonymous_id,
                    e.name,
                    timestamp,
                    now,
                    e.client_id,
                    v.raw,
                ])?;
                if added == 0 {
                    done.duplicates += 1;
                } else {
                    done.accepted += 1;
                    upsert_session.execute(params![e.session_id, e.anonymous_id, timestamp])?;
                }
            }
        }
        for s in sessions {
            if seal::is_sealed(&tx, s)? {
                done.sealed.push(s.to_owned());
            }
        }
        tx.commit()?;
        Ok(done)
    }

    /// Seals a session now (keeping an earlier `sealed_at`); false when no
    /// event of it was ever stored.
    pub fn seal(&self, session_id: &str, now: u64) -> Result<bool, StoreError> {
        let now = sql_int(now)?;
        Ok(seal::seal(&self.conn(), session_id, now)?)
    }

    /// The visitor the first stored event of this session named.
    pub fn visitor_of(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT anonymous_id FROM sessions WHERE session_id = ?1",
                [session_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The stored event objects, as a JSON array text, in timestamp then
    /// arrival order. A `session_id` filter lists the whole session; otherwise
    /// the most recent `LIST_LIMIT` events are listed.
    pub fn events_json(&self, filter: &EventFilter) -> Result<String, StoreError> {
        let conn = self.conn();
        let limit = if filter.session_id.is_some() {
            -1 // SQLite: no limit
        } else {
            i64::from(LIST_LIMIT)
        };
        // Newest first to apply the limit, then turned back to chronological.
        let mut stmt = conn.prepare(
            "SELECT body FROM events
             WHERE (?1 IS NULL OR session_id = ?1) AND (?2 IS NULL OR client_id = ?2)
             ORDER BY timestamp DESC, rowid DESC
             LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![filter.session_id, filter.client_id, limit], |r| {
            r.get::<_, String>(0)
        })?;
        let mut bodies = rows.collect::<Result<Vec<String>, _>>()?;
        bodies.reverse();
        // Each body is a JSON object that parsed on the way in.
        let mut out = String::with_capacity(bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 2);
        out.push('[');
        for (i, b) in bodies.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(b);
        }
        out.push(']');
        Ok(out)
    }

    /// Sessions, most recently active first, at most `LIST_LIMIT`.
    pub fn sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT session_id, anonymous_id, first_seen, last_seen, event_count, sealed_at
             FROM sessions ORDER BY last_seen DESC, rowid DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([LIST_LIMIT], |r| {
            Ok(SessionRow {
                session_id: r.get(0)?,
                anonymous_id: r.get(1)?,
                first_seen: r.get(2)?,
                last_seen: r.get(3)?,
                event_count: r.get(4)?,
                sealed_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
