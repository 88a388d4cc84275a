//! What a batch adds to each session's summary row (`sessions`): counts,
//! times, the site, and the visit's sums the metrics read. Summed in Rust
//! per batch, then written with one upsert per session.

use super::sql_int;
use crate::store::{NewEvent, Source, StoreError};
use rusqlite::{params, Connection};

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

    /// Adds the sums to the session's row (creating it). An entry replaces
    /// the stored one only when earlier, an exit when not earlier, so the
    /// order events arrive in does not matter.
    pub fn write(&self, conn: &Connection, received_at: i64) -> Result<(), StoreError> {
        if self.stored == 0 {
            return Ok(());
        }
        // In an UPDATE every expression reads the row as it was before it.
        let mut upsert = conn.prepare_cached(
            "INSERT INTO sessions (session_id, anonymous_id, first_seen, last_seen, event_count,
                                   last_received_at, client_id, pageviews, other_events,
                                   engaged_ms, entry_ts, entry_path, entry_referrer,
                                   exit_ts, exit_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (session_id) DO UPDATE SET
                 first_seen = min(first_seen, excluded.first_seen),
                 last_seen = max(last_seen, excluded.last_seen),
                 event_count = event_count + excluded.event_count,
                 last_received_at = max(last_received_at, excluded.last_received_at),
                 client_id = coalesce(client_id, excluded.client_id),
                 pageviews = pageviews + excluded.pageviews,
                 other_events = other_events + excluded.other_events,
                 engaged_ms = engaged_ms + excluded.engaged_ms,
                 entry_ts = CASE WHEN excluded.entry_ts < coalesce(entry_ts, excluded.entry_ts + 1)
                            THEN excluded.entry_ts ELSE entry_ts END,
                 entry_path = CASE WHEN excluded.entry_ts < coalesce(entry_ts, excluded.entry_ts + 1)
                              THEN excluded.entry_path ELSE entry_path END,
                 entry_referrer = CASE WHEN excluded.entry_ts < coalesce(entry_ts, excluded.entry_ts + 1)
                                  THEN excluded.entry_referrer ELSE entry_referrer END,
                 exit_ts = CASE WHEN excluded.exit_ts >= coalesce(exit_ts, excluded.exit_ts)
                           THEN excluded.exit_ts ELSE exit_ts END,
                 exit_path = CASE WHEN excluded.exit_ts >= coalesce(exit_ts, excluded.exit_ts)
                             THEN excluded.exit_path ELSE exit_path END",
        )?;
        upsert.execute(params![
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
