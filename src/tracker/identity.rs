//! The visitor and the session of the page (README "Sessions", "Backend
//! pairing"): the start from what storage held, rotation, cross-domain ids,
//! taking up what other pages of the tab stored, `clear()`, withdrawn
//! consent, and the `ss_sid`/`ss_vid` cookies.

use alloc::string::String;

use super::Tracker;
use crate::command::Command;
use crate::cookies::{CookieRule, SESSION_COOKIE, VISITOR_COOKIE, VISITOR_MAX_AGE};
use crate::ids;
use crate::json::{parse_u64, push_u64, u64_text};
use crate::session::{Reason, Rules, Session};
use crate::store::{Key, Snapshot};
use crate::text::{assign, cut, pieces};
use crate::time::Millis;

/// Ids carried over from another domain (`sessionId` / `anonId` URL
/// parameters). Anything not in the exact formats is ignored.
/// Borrowed from the query string they were read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Carried<'a> {
    pub session: Option<&'a str>,
    pub visitor: Option<&'a str>,
}

impl<'a> Carried<'a> {
    /// Reads `sessionId` and `anonId` from a query string (`?a=b&c=d`, the
    /// leading `?` optional). Values are taken as they are: a valid id needs
    /// no percent-encoding, so an encoded one is not valid.
    pub fn from_query(query: &'a str) -> Carried<'a> {
        let mut c = Carried::default();
        let query = query.strip_prefix('?').unwrap_or(query);
        for pair in pieces(query, b'&') {
            let (k, v) = cut(pair, b'=').unwrap_or((pair, ""));
            match k {
                "sessionId" => c.session = Some(v),
                "anonId" => c.visitor = Some(v),
                _ => {}
            }
        }
        c
    }
}

/// The session storage held, if well-formed.
fn stored_session<'a>(snap: &Snapshot<'a>) -> Result<Session<&'a str>, Reason> {
    Session::from_stored(snap.session, snap.session_timestamp, snap.session_start)
}

/// The page count storage held (0 when absent or malformed).
fn stored_page_count(snap: &Snapshot) -> u64 {
    snap.page_count.and_then(parse_u64).unwrap_or(0)
}

/// A user id as `identify()` takes it: 1..256 bytes.
fn valid_user(user: Option<&str>) -> Option<&str> {
    user.filter(|u| (1..=crate::wire::MAX_USER_ID_BYTES).contains(&u.len()))
}

impl Tracker {
    /// Takes up what storage held at the start. Applies every session
    /// rule: a missing, malformed, idle, too old or duplicated-tab session
    /// is replaced.
    pub(super) fn start_identity(&mut self, now: Millis, snap: &Snapshot) {
        let visitor = snap.visitor.filter(|v| ids::is_visitor_id(v));
        match visitor {
            Some(v) => {
                assign(&mut self.visitor, v);
                self.write_visitor_cookie();
            }
            None => {
                ids::write_visitor_id(&mut self.visitor, &mut self.rng);
                self.write_visitor();
            }
        }
        let stored = if snap.tab_alive.is_some() {
            Err(Reason::DuplicateTab)
        } else {
            stored_session(snap)
        };
        match stored.and_then(|s| s.expiry(now, self.rules()).map_or(Ok(s), Err)) {
            Ok(s) => self.take_up(&s, snap),
            Err(_) => self.new_session(now),
        }
        assign(&mut self.user, valid_user(snap.user).unwrap_or_default());
        let query = core::mem::take(&mut self.carried_query);
        self.adopt(&Carried::from_query(&query), now);
        self.page_token.clear();
        push_u64(&mut self.page_token, self.rng.next_u64());
        self.mark_alive();
    }

    pub(super) fn rules(&self) -> Rules {
        Rules {
            timeout: self.cfg.session_timeout,
            max_length: self.cfg.max_session_length,
        }
    }

    pub(super) fn set(&mut self, key: Key, value: String) {
        self.push(Command::Set(key, value));
    }

    pub(super) fn mark_alive(&mut self) {
        self.set(Key::Tab, self.page_token.clone());
    }

    fn write_visitor(&mut self) {
        self.set(Key::Visitor, self.visitor.clone());
        self.write_visitor_cookie();
    }

    /// How cookies are written now; None before `init` and once consent
    /// is withdrawn.
    fn cookie_rule(&self) -> Option<CookieRule<'_>> {
        self.cookies.map(|secure| CookieRule {
            secure,
            domain: &self.cfg.cookie_domain,
        })
    }

    /// `ss_vid`, refreshed for a year.
    fn write_visitor_cookie(&mut self) {
        if let Some(rule) = self.cookie_rule() {
            let c = rule.cookie(VISITOR_COOKIE, &self.visitor, Some(VISITOR_MAX_AGE));
            self.push(Command::Cookie(c));
        }
    }

    /// Writes `ss_sid`: this tab is the one the user is using.
    pub(super) fn claim_session_cookie(&mut self) {
        if let Some(rule) = self.cookie_rule() {
            let c = rule.cookie(SESSION_COOKIE, &self.session.id, None);
            self.push(Command::Cookie(c));
        }
    }

    fn write_session(&mut self) {
        self.set(Key::Session, self.session.id.clone());
        self.set(Key::SessionStart, u64_text(self.session.start.0));
        self.write_activity();
        self.write_page_count();
    }

    pub(super) fn write_activity(&mut self) {
        self.written_activity = self.session.last_activity;
        self.set(
            Key::SessionTimestamp,
            u64_text(self.session.last_activity.0),
        );
    }

    pub(super) fn write_page_count(&mut self) {
        self.set(Key::PageCount, u64_text(self.page_count));
    }

    fn new_session(&mut self, now: Millis) {
        ids::write_session_id(&mut self.session.id, now, &mut self.rng);
        self.session.start = now;
        self.session.last_activity = now;
        self.page_count = 0;
        self.write_session();
    }

    /// Replaces the session because of `why` (the page stays open). The
    /// focused tab's new session takes over `ss_sid`; after `clear()` any
    /// tab's does (the old session must not stay paired after a logout).
    pub(super) fn rotate(&mut self, now: Millis, why: Reason) {
        self.new_session(now);
        if self.view.engagement.is_focused() || why == Reason::Cleared {
            self.claim_session_cookie();
        }
    }

    /// Ends the session for `why` with the page open: the old session gets
    /// the open page view's `page_exit`, the new one begins with a
    /// `screen_view` of the same page.
    pub(super) fn rotate_with_page_open(&mut self, now: Millis, why: Reason) {
        self.end_page_view(now);
        self.rotate(now, why);
        self.reenter(now);
    }

    /// Applies the session rules at `now` without counting as activity: a
    /// session idle for `sessionTimeout` or older than `maxSessionLength`
    /// rotates, with the page open.
    pub(super) fn expire_if_due(&mut self, now: Millis) {
        if let Some(why) = self.session.expiry(now, self.rules()) {
            self.rotate_with_page_open(now, why);
        }
    }

    /// Adopts carried ids that are in the exact formats (and, for a session,
    /// still within the rules); ignores everything else.
    pub(super) fn adopt(&mut self, carried: &Carried, now: Millis) {
        if let Some(v) = carried.visitor.filter(|v| ids::is_visitor_id(v)) {
            if v != self.visitor {
                assign(&mut self.visitor, v);
                self.write_visitor();
            }
        }
        let Some(id) = carried.session else {
            return;
        };
        if id == self.session.id {
            return;
        }
        if let Some(s) = Session::adopt(id, now).filter(|s| s.expiry(now, self.rules()).is_none()) {
            self.hold_session(&s);
            self.page_count = 0;
            self.write_session();
            if self.view.engagement.is_focused() {
                self.claim_session_cookie();
            }
        }
    }

    /// User interaction or a tracked event at `now`: applies the rules, then
    /// moves last activity forward (throttled storage write).
    pub(super) fn activity(&mut self, now: Millis) {
        self.expire_if_due(now);
        self.touch(now);
    }

    /// Moves last activity to `now`. Storage is written at most every
    /// [`super::ACTIVITY_WRITE_INTERVAL`].
    pub(super) fn touch(&mut self, now: Millis) {
        self.session.last_activity = now;
        // `since` is zero when the clock went backwards: write then too, so
        // storage never keeps a time from the future.
        let elapsed = now.since(self.written_activity);
        if elapsed >= super::ACTIVITY_WRITE_INTERVAL || now < self.written_activity {
            self.write_activity();
        }
    }

    /// Takes up what the tab's other pages stored while this one sat in the
    /// back/forward cache: a newer session or activity, more pages, a new
    /// visitor after their `clear()`. Unreadable or malformed storage leaves
    /// memory as it is.
    pub(super) fn resync(&mut self, snap: &Snapshot) {
        if let Some(v) = snap.visitor.filter(|v| ids::is_visitor_id(v)) {
            assign(&mut self.visitor, v);
            // Readable storage: the user is whoever the tab's other pages
            // identified (or nobody, after their `clear()`).
            assign(&mut self.user, valid_user(snap.user).unwrap_or_default());
        }
        let Ok(s) = stored_session(snap) else { return };
        if s.id == self.session.id {
            self.session.last_activity = self.session.last_activity.max(s.last_activity);
            self.page_count = self.page_count.max(stored_page_count(snap));
        } else {
            self.take_up(&s, snap);
        }
    }

    /// Takes up session `s` that storage held, with its stored page count.
    fn take_up(&mut self, s: &Session<&str>, snap: &Snapshot) {
        self.page_count = stored_page_count(snap);
        self.written_activity = s.last_activity;
        self.entered = s.start;
        self.hold_session(s);
    }

    /// Makes `s` the session, its id copied into the tracker's own string.
    fn hold_session(&mut self, s: &Session<&str>) {
        assign(&mut self.session.id, s.id);
        self.session.start = s.start;
        self.session.last_activity = s.last_activity;
    }

    /// `clear()`: sends the current page view's `page_exit` (old ids),
    /// removes all stored state, new visitor and session ids, page count
    /// and engagement back to zero.
    pub(super) fn clear(&mut self, now: Millis) {
        self.end_page_view(now);
        for &key in &Key::SESSION_KEYS {
            self.push(Command::Remove(key));
        }
        self.push(Command::Remove(Key::Visitor));
        self.push(Command::Remove(Key::User));
        self.user.clear();
        ids::write_visitor_id(&mut self.visitor, &mut self.rng);
        self.write_visitor();
        self.rotate(now, Reason::Cleared);
        self.mark_alive();
        // The page view ended with its page_exit above; the next page view
        // (navigation, screenView) is the new session's page 1.
        self.view.engagement.restart(now);
        self.view.engagement.exited = true;
        // Forget the URL too: the next view, even of this same URL, is the
        // new session's entry page.
        self.view.key.clear();
        self.globals.clear();
    }

    /// `identify(userId)`: `user` is the id if it was a string (None
    /// otherwise). Later events carry it as `user_id`, and it is stored
    /// for the next pages; anything but 1..256 bytes is refused with one
    /// warning. Held while consent is pending.
    pub fn handle_identify(&mut self, user: Option<&str>) {
        let Some(user) = valid_user(user) else {
            self.warn("identify() needs 1 to 256 bytes of text; ignored");
            return;
        };
        if !self.is_running() {
            self.hold_identify(user);
        } else if user != self.user {
            assign(&mut self.user, user);
            self.set(Key::User, self.user.clone());
        }
    }

    /// Consent withdrawn: every stored key and both cookies are removed,
    /// and nothing is written or sent any more.
    pub(super) fn forget(&mut self) {
        for &key in &Key::ALL {
            self.push(Command::Remove(key));
        }
        for name in &[SESSION_COOKIE, VISITOR_COOKIE] {
            if let Some(rule) = self.cookie_rule() {
                // An empty value that expires at once deletes the cookie.
                let c = rule.cookie(name, "", Some(0));
                self.push(Command::Cookie(c));
            }
        }
        self.cookies = None;
    }
}
