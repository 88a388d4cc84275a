//! The API's reads (README "API"): `getSessionId`, `getAnonymousId`,
//! `getTracker`. Each applies what a read must (cross-domain ids, the
//! session rules) before it answers, so it may rotate the session.

use super::{Carried, Tracker};
use crate::time::Millis;

impl Tracker {
    /// `getSessionId(params)`: the session id to forward to the backend;
    /// `params` (a query string) may carry a cross-domain
    /// `sessionId`/`anonId`, adopted when valid. Applies the session rules
    /// first, without extending the session: a session idle too long
    /// rotates now (its `page_exit` and the new `screen_view` are queued).
    /// None unless running.
    pub fn handle_session_id_read(&mut self, now: Millis, params: Option<&str>) -> Option<&str> {
        if !self.is_running() {
            return None;
        }
        if let Some(q) = params {
            self.adopt(&Carried::from_query(q), now);
        }
        self.expire_if_due(now);
        Some(&self.session.id)
    }

    /// `getAnonymousId(params)`: the visitor id, after adopting a valid
    /// `anonId`/`sessionId` in `params`. None unless running.
    pub fn handle_visitor_id_read(&mut self, now: Millis, params: Option<&str>) -> Option<&str> {
        if !self.is_running() {
            return None;
        }
        if let Some(q) = params {
            self.adopt(&Carried::from_query(q), now);
        }
        Some(&self.visitor)
    }

    /// `getTracker()`: the page count and start of the session, after
    /// applying the rules (which may rotate it). None unless running.
    pub fn handle_tracker_read(&mut self, now: Millis) -> Option<(u64, Millis)> {
        if !self.is_running() {
            return None;
        }
        self.expire_if_due(now);
        Some((self.page_count, self.session.start))
    }
}
