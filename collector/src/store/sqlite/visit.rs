//! What a batch adds to each session's summary row (`sessions`): counts,
//! times, the site, and the visit's sums the metrics read. Summed in Rust
//! per batch, then written with one statement per session.
//!
//! The row is read first (sealing needs it anyway), so a new session is one
//! plain insert, and a known one an update that sets only the columns that
//! move with every batch: SQLite rewrites an index only when its columns
//! are set, and `first_seen` and `client_id` (in `sessions_by_start` and
//! `sessions_by_site`) almost never change after the first batch. Setting
//! them every time cost two random index pages per batch in each commit.

use super::sql_int;
use crate::store::{NewEvent, Source, StoreError};
use rusqlite::{params, Connection, OptionalExtension};

/// What the writer needs of a session's stored row.
#[derive(Debug, Clone, Copy)]
pub struct StoredVisit {
    rowid: i64,
    pub sealed: bool,
    /// Server clock of its last stored event, for sealing.
    pub last_received_at: i64,
    first_seen: i64,
    has_client: bool,
}

impl StoredVisit {
    /// The row of `session_id`, if it has one.
    pub fn read(conn: &Connection, session_id: &str) -> rusqlite::Result<Option<StoredVisit>> {
        conn.prepare_cached(
            "SELECT rowid, sealed_at IS NOT NULL, last_received_at, first_seen,
                    client_id IS NOT NULL
             FROM sessions WHERE session_id = ?1",
        )?
        .query_row([session_id], |r| {
            Ok(StoredVisit {
                rowid: r.get(0)?,
                sealed: r.get(1)?,
                last_received_at: r.get(2)?,
                first_seen: r.get(3)?,
                has_client: r.get(4)?,
            })
        })
        .optional()
    }

    /// The row's id, to write it without looking the session up again.
    pub fn rowid(&self) -> i64 {
        self.rowid
    }
}

/// A page view at a time, for a visit's entry or exit.
struct PageAt<'a> {
    timestamp: i64,
    path: &'a str,
    referrer_host: &'a str,
}

/// The stored events of one session in one batch, summed.
pub struct VisitDelta<'a> {
    pub session_id: &'a str,
    /// The visitor of its first stored event in the batch (kept only when
    /// the row is new).
    anonymous_id: &'a str,
    /// Its row before the batch, if it had one.
    pub row: Option<StoredVisit>,
    /// Sealed before the batch was stored (see `seal::seal_if_idle`).
    pub sealed: bool,
    stored: i64,
    first_seen: i64,
    last_seen: i64,
    /// The `client_id` of its first stored browser event.
    client_id: Option<&'a str>,
    pageviews: i64,
    other_events: i64,
    engaged_ms: i64,
    /// Earliest and latest browser `screen_view` (ties: first and last
    /// stored).
    entry: Option<PageAt<'a>>,
    exit: Option<PageAt<'a>>,
}

impl<'a> VisitDelta<'a> {
    pub fn new(first: &'a NewEvent) -> VisitDelta<'a> {
        VisitDelta {
            session_id: &first.event.session_id,
            anonymous_id: &first.event.anonymous_id,
            row: None,
            sealed: false,
            stored: 0,
            first_seen: i64::MAX,
            last_seen: i64::MIN,
            client_id: None,
            pageviews: 0,
            other_events: 0,
            engaged_ms: 0,
            entry: None,
            exit: None,
        }
    }

    /// Counts one newly stored event of this session.
    pub fn add(&mut self, new: &'a NewEvent) -> Result<(), StoreError> {
        let e = &new.event;
        let timestamp = sql_int(e.timestamp)?;
        if self.stored == 0 {
            self.anonymous_id = &e.anonymous_id;
        }
        self.stored += 1;
        self.first_seen = self.first_seen.min(timestamp);
        self.last_seen = self.last_seen.max(timestamp);
        if new.source != Source::Browser {
            return Ok(());
        }
        self.client_id.get_or_insert(&e.client_id);
        match e.name.as_str() {
            "screen_view" => {
                self.pageviews += 1;
                let at = || PageAt {
                    timestamp,
                    path: &e.path,
                    referrer_host: &new.referrer_host,
                };
                if self.entry.as_ref().is_none_or(|p| timestamp < p.timestamp) {
                    self.entry = Some(at());
                }
                if self.exit.as_ref().is_none_or(|p| timestamp >= p.timestamp) {
                    self.exit = Some(at());
                }
            }
            "page_exit" => {
                let engaged = i64::try_from(e.engaged_time.unwrap_or(0)).unwrap_or(i64::MAX);
                self.engaged_ms = self.engaged_ms.saturating_add(engaged);
            }
            _ => self.other_events += 1,
        }
        Ok(())
    }

    /// Adds the sums to the session's row (`row`, read before the batch was
    /// stored), or creates it. An entry replaces the stored one only when
    /// earlier, an exit when not earlier, so the order events arrive in does
    /// not matter.
    pub fn write(&self, conn: &Connection, received_at: i64) -> Result<(), StoreError> {
        if self.stored == 0 {
            return Ok(());
        }
        let Some(row) = &self.row else {
            return self.create(conn, received_at);
        };
        // In an UPDATE every expression reads the row as it was before it.
        let mut update = conn.prepare_cached(
            "UPDATE sessions SET
                 last_seen = max(last_seen, ?2),
                 event_count = event_count + ?3,
                 last_received_at = max(last_received_at, ?4),
                 pageviews = pageviews + ?5,
                 other_events = other_events + ?6,
                 engaged_ms = engaged_ms + ?7,
                 entry_ts = CASE WHEN ?8 < coalesce(entry_ts, ?8 + 1) THEN ?8 ELSE entry_ts END,
                 entry_path = CASE WHEN ?8 < coalesce(entry_ts, ?8 + 1) THEN ?9 ELSE entry_path END,
                 entry_referrer = CASE WHEN ?8 < coalesce(entry_ts, ?8 + 1)
                                  THEN ?10 ELSE entry_referrer END,
                 exit_ts = CASE WHEN ?11 >= coalesce(exit_ts, ?11) THEN ?11 ELSE exit_ts END,
                 exit_path = CASE WHEN ?11 >= coalesce(exit_ts, ?11) THEN ?12 ELSE exit_path END
             WHERE rowid = ?1",
        )?;
        update.execute(params![
            row.rowid(),
            self.last_seen,
            self.stored,
            received_at,
            self.pageviews,
            self.other_events,
            self.engaged_ms,
            self.entry.as_ref().map(|p| p.timestamp),
            self.entry.as_ref().map(|p| p.path),
            self.entry.as_ref().map(|p| p.referrer_host),
            self.exit.as_ref().map(|p| p.timestamp),
            self.exit.as_ref().map(|p| p.path),
        ])?;
        // Rare: an event older than the visit's first, or its first browser
        // event after server events only.
        let earlier = self.first_seen < row.first_seen;
        let site = !row.has_client && self.client_id.is_some();
        if earlier || site {
            conn.prepare_cached(
                "UPDATE sessions SET first_seen = min(first_seen, ?2),
                                     client_id = coalesce(client_id, ?3)
                 WHERE rowid = ?1",
            )?
            .execute(params![row.rowid(), self.first_seen, self.client_id])?;
        }
        Ok(())
    }

    fn create(&self, conn: &Connection, received_at: i64) -> Result<(), StoreError> {
        let mut insert = conn.prepare_cached(
            "INSERT INTO sessions (session_id, anonymous_id, first_seen, last_seen, event_count,
                                   last_received_at, client_id, pageviews, other_events,
                                   engaged_ms, entry_ts, entry_path, entry_referrer,
                                   exit_ts, exit_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        insert.execute(params![
            self.session_id,
            self.anonymous_id,
            self.first_seen,
            self.last_seen,
            self.stored,
            received_at,
            self.client_id,
            self.pageviews,
            self.other_events,
            self.engaged_ms,
            self.entry.as_ref().map(|p| p.timestamp),
            self.entry.as_ref().map(|p| p.path),
            self.entry.as_ref().map(|p| p.referrer_host),
            self.exit.as_ref().map(|p| p.timestamp),
            self.exit.as_ref().map(|p| p.path),
        ])?;
        Ok(())
    }
}
