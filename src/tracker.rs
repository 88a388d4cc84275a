//! The tracker state machine: identity and session state of one page.
//!
//! Inputs are method calls with `now`; outputs are [`Write`]s the shell
//! drains with [`Tracker::take_writes`]. Nothing here reads a clock.

use alloc::string::String;
use alloc::vec::Vec;

use crate::batch::{BatchRule, Queued};
use crate::config::Config;
use crate::cookies::{CookieRule, SESSION_COOKIE, VISITOR_COOKIE, VISITOR_MAX_AGE};
use crate::delivery::{Delivery, Outcome};
use crate::engagement::Engagement;
use crate::ids;
use crate::json::{parse_u64, truncate, u64_text};
use crate::rand::Rng;
use crate::session::{Reason, Rules, Session};
use crate::store::{self, Area, Snapshot, Write};
use crate::text::{cut, find, pieces};
use crate::time::Millis;
use crate::wire::{self, Event, Props};

/// Activity moves the stored last-activity time at most this often (a
/// scroll storm must not write storage on every event). Page hide and page
/// views always write it.
pub const ACTIVITY_WRITE_INTERVAL: Millis = Millis(5_000);

/// Where an event happened, as the shell reads it from the page.
#[derive(Clone, Copy, Debug, Default)]
pub struct Page<'a> {
    pub path: &'a str,
    pub title: &'a str,
    pub referrer: &'a str,
}

/// Why `track` refused an event (the shell turns it into one warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    EmptyName,
    PropsTooLarge,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::EmptyName => {
                "sessionmark: track() needs a non-empty event name; event refused"
            }
            Refusal::PropsTooLarge => "sessionmark: event properties exceed 16 KiB; event refused",
        }
    }
}

/// Ids carried over from another domain (`sessionId` / `anonId` URL
/// parameters). Anything not in the exact formats is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    pub session: Option<String>,
    pub visitor: Option<String>,
}

impl Carried {
    /// Reads `sessionId` and `anonId` from a query string (`?a=b&c=d`, the
    /// leading `?` optional). Values are taken as they are: a valid id needs
    /// no percent-encoding, so an encoded one is not valid.
    pub fn from_query(query: &str) -> Carried {
        let mut c = Carried::default();
        let query = query.strip_prefix('?').unwrap_or(query);
        for pair in pieces(query, b'&') {
            let (k, v) = cut(pair, b'=').unwrap_or((pair, ""));
            match k {
                "sessionId" => c.session = Some(v.into()),
                "anonId" => c.visitor = Some(v.into()),
                _ => {}
            }
        }
        c
    }
}

/// The page view in progress: where, and its engagement.
struct View {
    /// What identifies the URL (path + query, + hash with
    /// `trackHashChanges`): the same key again is not a new page view.
    key: String,
    path: String,
    title: String,
    referrer: String,
    /// False until the first page view (a prerendered page has none yet).
    active: bool,
    eng: Engagement,
}

pub const SCREEN_VIEW: &str = "screen_view";
pub const PAGE_EXIT: &str = "page_exit";
/// `navigation_type` of the screen view after a back/forward cache restore.
pub const BFCACHE: &str = "back_forward_cache";

pub struct Tracker {
    cfg: Config,
    view: View,
    /// How to write `ss_sid`/`ss_vid`; None: no cookies (not set up yet).
    cookies: Option<CookieRule>,
    rng: Rng,
    session: Session,
    visitor: String,
    page_count: u64,
    writes: Vec<Write>,
    /// The last-activity time most recently written to storage.
    written_activity: Millis,
    /// Why the session last rotated while this page was open, until taken.
    rotated: Option<Reason>,
    /// This page's mark in `did_tab` (random): a page removes the mark on
    /// pagehide only if it is still its own, since Chromium runs the left
    /// page's pagehide after a restored page's pageshow.
    page_token: String,
    /// `setGlobalProperties` as JSON object text: the properties of the
    /// events the tracker makes itself (exits, restore and rotation views).
    globals: String,
    delivery: Delivery,
}

impl Tracker {
    /// Starts from what storage held. Applies every session rule: a missing,
    /// malformed, idle, too old or duplicated-tab session is replaced.
    pub fn start(
        cfg: Config,
        snap: &Snapshot,
        carried: &Carried,
        now: Millis,
        rng: Rng,
    ) -> Tracker {
        let mut t = Tracker {
            cookies: None,
            view: View {
                key: String::new(),
                path: String::new(),
                title: String::new(),
                referrer: String::new(),
                active: false,
                eng: Engagement::new(now, false, false),
            },
            rng,
            session: Session {
                id: String::new(),
                start: now,
                last_activity: now,
            },
            visitor: String::new(),
            page_count: 0,
            writes: Vec::new(),
            written_activity: Millis(0),
            rotated: None,
            page_token: String::new(),
            globals: String::new(),
            delivery: Delivery::new(BatchRule {
                enabled: cfg.enable_batching,
                size: cfg.batch_size,
                timeout: cfg.batch_timeout,
            }),
            cfg,
        };
        let visitor = snap.visitor.as_deref().filter(|v| ids::is_visitor_id(v));
        t.visitor = match visitor {
            Some(v) => v.into(),
            None => ids::mint_visitor_id(&mut t.rng),
        };
        if visitor.is_none() {
            t.write_visitor();
        }
        let stored = if snap.tab_alive.is_some() {
            Err(Reason::DuplicateTab)
        } else {
            Session::from_stored(
                snap.session.as_deref(),
                snap.session_timestamp.as_deref(),
                snap.session_start.as_deref(),
            )
        };
        match stored.and_then(|s| s.expiry(now, t.rules()).map_or(Ok(s), Err)) {
            Ok(s) => {
                t.page_count = snap.page_count.as_deref().and_then(parse_u64).unwrap_or(0);
                t.written_activity = s.last_activity;
                t.session = s;
            }
            Err(_) => t.new_session(now),
        }
        t.adopt(carried, now);
        t.page_token = u64_text(t.rng.next_u64());
        t.mark_alive();
        // Whatever happened above, this tab has now begun a page of this session.
        t.rotated = None;
        t
    }

    fn rules(&self) -> Rules {
        Rules {
            timeout: self.cfg.session_timeout,
            max_length: self.cfg.max_session_length,
        }
    }

    fn set(&mut self, area: Area, key: &'static str, value: Option<String>) {
        self.writes.push(Write { area, key, value });
    }

    fn mark_alive(&mut self) {
        self.set(
            Area::Session,
            store::TAB_ALIVE,
            Some(self.page_token.clone()),
        );
    }

    fn write_visitor(&mut self) {
        self.set(Area::Local, store::VISITOR, Some(self.visitor.clone()));
        self.write_visitor_cookie();
    }

    fn write_visitor_cookie(&mut self) {
        if let Some(rule) = &self.cookies {
            let c = rule.cookie(VISITOR_COOKIE, &self.visitor, Some(VISITOR_MAX_AGE));
            self.set(Area::Cookie, VISITOR_COOKIE, Some(c));
        }
    }

    /// Writes `ss_sid`: this tab is the one the user is using.
    fn claim_session_cookie(&mut self) {
        if let Some(rule) = &self.cookies {
            let c = rule.cookie(SESSION_COOKIE, &self.session.id, None);
            self.set(Area::Cookie, SESSION_COOKIE, Some(c));
        }
    }

    /// Turns the backend cookies on: `ss_vid` is written (refreshed for a
    /// year) and `ss_sid` too when the page has focus.
    pub fn with_cookies(&mut self, rule: CookieRule) {
        self.cookies = Some(rule);
        self.write_visitor_cookie();
        if self.view.eng.is_focused() {
            self.claim_session_cookie();
        }
    }

    /// Visibility and focus as found at start-up or after a restore: no
    /// transition, but a focused page owns `ss_sid`.
    pub fn presence(&mut self, now: Millis, visible: bool, focused: bool) {
        self.view.eng.set_visible(now, visible);
        self.view.eng.set_focused(now, focused);
        if focused {
            self.claim_session_cookie();
        }
    }

    fn write_session(&mut self) {
        self.set(Area::Session, store::SESSION, Some(self.session.id.clone()));
        self.set(
            Area::Session,
            store::SESSION_START,
            Some(u64_text(self.session.start.0)),
        );
        self.write_activity();
        self.write_page_count();
    }

    fn write_activity(&mut self) {
        self.written_activity = self.session.last_activity;
        self.set(
            Area::Session,
            store::SESSION_TIMESTAMP,
            Some(u64_text(self.session.last_activity.0)),
        );
    }

    fn write_page_count(&mut self) {
        self.set(
            Area::Session,
            store::PAGE_COUNT,
            Some(u64_text(self.page_count)),
        );
    }

    fn new_session(&mut self, now: Millis) {
        self.session = Session::mint(now, &mut self.rng);
        self.page_count = 0;
        self.write_session();
    }

    /// Replaces the session because of `why` (the page stays open). The
    /// focused tab's new session takes over `ss_sid`; after `clear()` any
    /// tab's does (the old session must not stay paired after a logout).
    pub fn rotate(&mut self, now: Millis, why: Reason) {
        self.new_session(now);
        self.rotated = Some(why);
        if self.view.eng.is_focused() || why == Reason::Cleared {
            self.claim_session_cookie();
        }
    }

    /// The collector's answer to a batch may name sealed sessions: if this
    /// tab's is one, it rotates (old page_exit, new screen_view, `ss_sid`).
    pub fn sealed(&mut self, now: Millis, answer: &str) {
        if sealed_ids(answer).any(|id| id == self.session.id) {
            self.exit(now);
            self.rotate(now, Reason::Sealed);
            self.reenter(now);
        }
    }

    /// Adopts carried ids that are in the exact formats (and, for a session,
    /// still within the rules); ignores everything else.
    pub fn adopt(&mut self, carried: &Carried, now: Millis) {
        if let Some(v) = carried.visitor.as_deref().filter(|v| ids::is_visitor_id(v)) {
            if v != self.visitor {
                self.visitor = v.into();
                self.write_visitor();
            }
        }
        let Some(id) = carried.session.as_deref() else {
            return;
        };
        if id == self.session.id {
            return;
        }
        if let Some(s) = Session::adopt(id, now).filter(|s| s.expiry(now, self.rules()).is_none()) {
            self.session = s;
            self.page_count = 0;
            self.write_session();
            if self.view.eng.is_focused() {
                self.claim_session_cookie();
            }
        }
    }

    /// Applies the rules at `now` without counting as activity: a session
    /// idle for `sessionTimeout` or older than `maxSessionLength` rotates.
    /// While a page view is open, the old session gets its `page_exit` and
    /// the new one begins with a `screen_view` of the same page.
    pub fn check(&mut self, now: Millis) {
        if let Some(why) = self.session.expiry(now, self.rules()) {
            self.exit(now);
            self.rotate(now, why);
            self.reenter(now);
        }
    }

    /// After a rotation with the page still open: the new session's entry
    /// page is the current one.
    fn reenter(&mut self, now: Millis) {
        if self.view.active {
            self.begin_view(now, None, "");
        }
    }

    /// Counts a page view at `now` of the page in `self.view` and sends its
    /// `screen_view`.
    fn begin_view(&mut self, now: Millis, navigation_type: Option<&str>, props: &str) {
        self.view.active = true;
        self.view.eng.restart(now);
        self.page_count = self.page_count.saturating_add(1);
        self.write_page_count();
        let mut ev = self.view_event(now, SCREEN_VIEW, props);
        ev.navigation_type = navigation_type.map(Into::into);
        self.queue(&ev, now);
    }

    fn view_event(&mut self, now: Millis, name: &str, props: &str) -> Event {
        let (path, title, referrer) = (
            core::mem::take(&mut self.view.path),
            core::mem::take(&mut self.view.title),
            core::mem::take(&mut self.view.referrer),
        );
        let page = Page {
            path: &path,
            title: &title,
            referrer: &referrer,
        };
        let mut ev = self.event(now, name, props, &page);
        ev.page_count = Some(self.page_count);
        self.view.path = path;
        self.view.title = title;
        self.view.referrer = referrer;
        ev
    }

    /// Sends the open page view's `page_exit`, once.
    pub fn exit(&mut self, now: Millis) {
        if !self.view.active || self.view.eng.exited {
            return;
        }
        self.view.eng.exited = true;
        let mut ev = self.view_event(now, PAGE_EXIT, "");
        let e = &self.view.eng;
        ev.time_on_page = Some(e.time_on_page(now));
        ev.engaged_time = Some(e.engaged(now).0);
        ev.scroll_depth = Some(e.scroll_depth);
        ev.interaction_count = Some(e.interactions);
        self.queue(&ev, now);
    }

    /// A page view of `page` at `now` (load, SPA navigation, or `manual`
    /// `screenView(props)`). An automatic view of the URL `key` already in
    /// view is not a new page view (returns false). The previous view gets
    /// its `page_exit` first.
    pub fn page_view(
        &mut self,
        now: Millis,
        page: &Page,
        key: &str,
        props: &str,
        manual: bool,
    ) -> bool {
        if !manual && self.view.active && self.view.key == key {
            return false;
        }
        self.exit(now);
        if let Some(why) = self.session.expiry(now, self.rules()) {
            // The view below is the new session's entry page.
            self.rotate(now, why);
        }
        self.touch(now);
        self.view.key = key.into();
        self.view.path = truncate(page.path, wire::MAX_URL_BYTES).into();
        self.view.title = truncate(page.title, wire::MAX_TITLE_BYTES).into();
        self.view.referrer = truncate(page.referrer, wire::MAX_URL_BYTES).into();
        self.begin_view(now, None, props);
        self.write_activity();
        true
    }

    /// The document became visible or hidden; becoming visible takes
    /// `ss_sid` (the user switched to this tab).
    pub fn set_visible(&mut self, now: Millis, visible: bool) {
        let gained = visible && !self.view.eng.is_visible();
        self.view.eng.set_visible(now, visible);
        if gained {
            self.claim_session_cookie();
        }
    }

    /// The window gained or lost focus; gaining it takes `ss_sid`.
    pub fn set_focused(&mut self, now: Millis, focused: bool) {
        let gained = focused && !self.view.eng.is_focused();
        self.view.eng.set_focused(now, focused);
        if gained {
            self.claim_session_cookie();
        }
    }

    /// Engaged milliseconds of the current page view.
    pub fn engaged_time(&self, now: Millis) -> Millis {
        self.view.eng.engaged(now)
    }

    /// A pointer, key or touch interaction: activity, counted.
    pub fn interaction(&mut self, now: Millis) {
        self.activity(now);
        self.view.eng.interactions = self.view.eng.interactions.saturating_add(1);
    }

    /// A scroll to `depth` percent: activity, deepest kept.
    pub fn scrolled(&mut self, now: Millis, depth: u64) {
        self.activity(now);
        self.measured(depth);
    }

    /// Depth measured by the page itself (at a page view, hide or
    /// clear): kept like a scroll's, but it is not activity.
    pub fn measured(&mut self, depth: u64) {
        self.view.eng.scrolled(depth);
    }

    /// Properties of the events the tracker makes itself; an empty text
    /// or one over the props limit means none.
    pub fn set_globals(&mut self, props: &str) {
        self.globals.clear();
        if props.len() <= wire::MAX_PROPS_BYTES && props != "{}" {
            self.globals.push_str(props);
        }
    }

    /// The session id at `now` (rules applied; never extends the session).
    pub fn session_id(&mut self, now: Millis) -> &str {
        self.check(now);
        &self.session.id
    }

    pub fn visitor_id(&self) -> &str {
        &self.visitor
    }

    pub fn session_start(&self) -> Millis {
        self.session.start
    }

    pub fn page_count(&self) -> u64 {
        self.page_count
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// User interaction or a tracked event at `now`: applies the rules, then
    /// moves last activity forward. Storage is written at most every
    /// [`ACTIVITY_WRITE_INTERVAL`].
    pub fn activity(&mut self, now: Millis) {
        self.check(now);
        self.touch(now);
    }

    /// Moves last activity to `now` (throttled storage write).
    fn touch(&mut self, now: Millis) {
        self.session.last_activity = now;
        // `since` is zero when the clock went backwards: write then too, so
        // storage never keeps a time from the future.
        let elapsed = now.since(self.written_activity);
        if elapsed >= ACTIVITY_WRITE_INTERVAL || now < self.written_activity {
            self.write_activity();
        }
    }

    /// The page is being hidden for good or put in the back/forward cache:
    /// store the exact last activity and, if `stored_mark` (the current
    /// `did_tab`) is still this page's, mark the tab as not alive, so the
    /// next page of this tab (reload, navigation) keeps the session.
    pub fn page_hide(&mut self, now: Millis, stored_mark: Option<&str>) {
        self.exit(now);
        if self.written_activity != self.session.last_activity {
            self.write_activity();
        }
        if stored_mark == Some(self.page_token.as_str()) {
            self.set(Area::Session, store::TAB_ALIVE, None);
        }
    }

    /// Takes up what the tab's other pages stored while this one sat in the
    /// back/forward cache: a newer session or activity, more pages, a new
    /// visitor after their `clear()`. Unreadable or malformed storage leaves
    /// memory as it is.
    fn resync(&mut self, snap: &Snapshot) {
        if let Some(v) = snap.visitor.as_deref().filter(|v| ids::is_visitor_id(v)) {
            if v != self.visitor {
                self.visitor = v.into();
            }
        }
        let stored = Session::from_stored(
            snap.session.as_deref(),
            snap.session_timestamp.as_deref(),
            snap.session_start.as_deref(),
        );
        let Ok(s) = stored else { return };
        let count = snap.page_count.as_deref().and_then(parse_u64).unwrap_or(0);
        if s.id == self.session.id {
            self.session.last_activity = self.session.last_activity.max(s.last_activity);
            self.page_count = self.page_count.max(count);
        } else {
            self.written_activity = s.last_activity;
            self.session = s;
            self.page_count = count;
        }
    }

    /// The page came back from the back/forward cache: alive again, synced
    /// with what the tab stored meanwhile (`snap`), rules applied (a session
    /// idle 30 minutes is replaced), and a new page view with
    /// `navigation_type: "back_forward_cache"`.
    pub fn page_restore(&mut self, now: Millis, snap: &Snapshot) {
        self.mark_alive();
        self.resync(snap);
        if let Some(why) = self.session.expiry(now, self.rules()) {
            self.rotate(now, why);
        }
        self.claim_session_cookie();
        self.touch(now);
        if self.view.active {
            self.begin_view(now, Some(BFCACHE), "");
        }
        self.write_activity();
    }

    /// `clear()`: sends the current page view's `page_exit` (old ids),
    /// removes all stored state, new visitor and session ids, page count
    /// and engagement back to zero.
    pub fn clear(&mut self, now: Millis) {
        self.exit(now);
        for key in store::SESSION_KEYS {
            self.set(Area::Session, key, None);
        }
        self.set(Area::Local, store::VISITOR, None);
        self.visitor = ids::mint_visitor_id(&mut self.rng);
        self.write_visitor();
        self.rotate(now, Reason::Cleared);
        self.mark_alive();
        // The page view ended with its page_exit above; the next page view
        // (navigation, screenView) is the new session's page 1.
        self.view.eng.restart(now);
        self.view.eng.exited = true;
        // Forget the URL too: the next view, even of this same URL, is the
        // new session's entry page.
        self.view.key.clear();
        self.globals.clear();
    }

    /// Consent withdrawn: every stored key and both cookies are removed,
    /// and the shell stops writing (it drops its storage handles).
    pub fn forget(&mut self) {
        for key in store::SESSION_KEYS {
            self.set(Area::Session, key, None);
        }
        self.set(Area::Local, store::VISITOR, None);
        self.set(Area::Local, store::OUTBOX, None);
        if let Some(rule) = self.cookies.take() {
            for name in [SESSION_COOKIE, VISITOR_COOKIE] {
                // An empty value that expires at once deletes the cookie.
                let c = rule.cookie(name, "", Some(0));
                self.set(Area::Cookie, name, Some(c));
            }
        }
    }

    /// Why the session rotated while the page stayed open, once.
    pub fn take_rotation(&mut self) -> Option<Reason> {
        self.rotated.take()
    }

    /// Tracks event `name` with `props` (a JSON object's text, already
    /// checked by the shim) at `now`. The event counts as activity.
    pub fn track(
        &mut self,
        now: Millis,
        name: &str,
        props: &str,
        page: &Page,
    ) -> Result<(), Refusal> {
        self.track_at(now, now, name, props, page)
    }

    /// [`Tracker::track`] of an event that happened at `at` (a call held
    /// until consent): the event carries `at`, activity counts at `now`.
    pub fn track_at(
        &mut self,
        now: Millis,
        at: Millis,
        name: &str,
        props: &str,
        page: &Page,
    ) -> Result<(), Refusal> {
        let name = name.trim_ascii();
        if name.is_empty() {
            return Err(Refusal::EmptyName);
        }
        if props.len() > wire::MAX_PROPS_BYTES {
            return Err(Refusal::PropsTooLarge);
        }
        self.activity(now);
        let ev = self.event(at, name, props, page);
        self.queue(&ev, now);
        Ok(())
    }

    /// The envelope of an event of this page at `now`. Long strings are
    /// cut to the wire limits.
    pub fn event(&mut self, now: Millis, name: &str, props: &str, page: &Page) -> Event {
        Event {
            event_id: ids::uuid_v7(now, &mut self.rng),
            name: truncate(name, wire::MAX_NAME_BYTES).into(),
            session_id: self.session.id.clone(),
            anonymous_id: self.visitor.clone(),
            timestamp: now.0,
            path: truncate(page.path, wire::MAX_URL_BYTES).into(),
            title: truncate(page.title, wire::MAX_TITLE_BYTES).into(),
            referrer: truncate(page.referrer, wire::MAX_URL_BYTES).into(),
            client_id: self.cfg.client_id.clone(),
            properties: Props(match (props, self.globals.as_str()) {
                ("", "") => "{}".into(),
                ("", globals) => globals.into(),
                (props, _) => props.into(),
            }),
            ..Event::default()
        }
    }

    /// Hands an event to delivery.
    pub fn queue(&mut self, ev: &Event, now: Millis) {
        let mut json = String::new();
        ev.write_json(&mut json);
        self.delivery.push(
            Queued {
                id: ev.event_id.clone(),
                json,
            },
            now,
        );
    }

    /// The answer to request `id` (see [`Delivery::on_result`]).
    pub fn on_result(&mut self, id: u32, status: u16, now: Millis) -> Outcome {
        self.delivery.on_result(id, status, now, &mut self.rng)
    }

    pub fn delivery(&mut self) -> &mut Delivery {
        &mut self.delivery
    }

    /// Storage changes to make, in order.
    pub fn take_writes(&mut self) -> Vec<Write> {
        core::mem::take(&mut self.writes)
    }
}

/// The session ids listed in a batch answer's `"sealed":[...]`. Only exact
/// session ids count; anything else in the answer is ignored.
pub fn sealed_ids(answer: &str) -> impl Iterator<Item = &str> {
    const KEY: &[u8] = b"\"sealed\"";
    let list = find(answer, KEY)
        .and_then(|i| answer.get(i + KEY.len()..))
        .and_then(|rest| cut(rest, b'['))
        .and_then(|(_, rest)| cut(rest, b']'))
        .map_or("", |(inside, _)| inside);
    pieces(list, b'"').filter(|s| ids::is_session_id(s))
}

/// Whether a batch answer lists events the collector rejected
/// (`"rejected":[{"index":..`).
pub fn has_rejected(answer: &str) -> bool {
    find(answer, b"\"index\"").is_some()
}

#[cfg(test)]
mod tests {
    use super::{has_rejected, sealed_ids};

    const SID: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";

    #[test]
    fn a_batch_answer_is_read_for_sealed_sessions_and_rejected_events() {
        let clean = format!(
            r#"{{"accepted":2,"duplicates":0,"rejected":[],"sealed":["{SID}","sess_bad"]}}"#
        );
        assert_eq!(sealed_ids(&clean).collect::<Vec<_>>(), [SID]);
        assert!(!has_rejected(&clean));
        let bad =
            r#"{"accepted":1,"duplicates":0,"rejected":[{"index":1,"reason":"x"}],"sealed":[]}"#;
        assert!(has_rejected(bad));
        assert_eq!(sealed_ids(bad).count(), 0);
        assert_eq!(sealed_ids("not json").count(), 0);
    }
}
