//! The tracker state machine: identity and session state of one page.
//!
//! Inputs are method calls with `now`; outputs are [`Write`]s the shell
//! drains with [`Tracker::take_writes`]. Nothing here reads a clock.

use alloc::string::String;
use alloc::vec::Vec;

use crate::batch::{BatchRule, Queued};
use crate::config::Config;
use crate::delivery::{Delivery, Outcome};
use crate::ids;
use crate::json::{parse_u64, truncate, u64_text};
use crate::rand::Rng;
use crate::session::{Reason, Rules, Session};
use crate::store::{self, Area, Snapshot, Write};
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
        for pair in query.trim_start_matches('?').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "sessionId" => c.session = Some(v.into()),
                "anonId" => c.visitor = Some(v.into()),
                _ => {}
            }
        }
        c
    }
}

pub struct Tracker {
    cfg: Config,
    rng: Rng,
    session: Session,
    visitor: String,
    page_count: u64,
    writes: Vec<Write>,
    /// The last-activity time most recently written to storage.
    written_activity: Millis,
    /// Why the session last rotated while this page was open, until taken.
    rotated: Option<Reason>,
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
        t.set(Area::Session, store::TAB_ALIVE, Some("1".into()));
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

    fn write_visitor(&mut self) {
        self.set(Area::Local, store::VISITOR, Some(self.visitor.clone()));
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

    /// Replaces the session because of `why` (the page stays open).
    pub fn rotate(&mut self, now: Millis, why: Reason) {
        self.new_session(now);
        self.rotated = Some(why);
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
        }
    }

    /// Applies the rules at `now` without counting as activity: a session
    /// idle for `sessionTimeout` or older than `maxSessionLength` rotates.
    pub fn check(&mut self, now: Millis) {
        if let Some(why) = self.session.expiry(now, self.rules()) {
            self.rotate(now, why);
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
        self.session.last_activity = now;
        // `since` is zero when the clock went backwards: write then too, so
        // storage never keeps a time from the future.
        let elapsed = now.since(self.written_activity);
        if elapsed >= ACTIVITY_WRITE_INTERVAL || now < self.written_activity {
            self.write_activity();
        }
    }

    /// A page view at `now` (load, SPA navigation, restore): activity, and
    /// one more page in this session.
    pub fn page_view(&mut self, now: Millis) {
        self.activity(now);
        self.page_count = self.page_count.saturating_add(1);
        self.write_page_count();
        self.write_activity();
    }

    /// The page is being hidden for good or put in the back/forward cache:
    /// store the exact last activity and mark this tab as not alive, so the
    /// next page of this tab (reload, navigation) keeps the session.
    pub fn page_hide(&mut self) {
        if self.written_activity != self.session.last_activity {
            self.write_activity();
        }
        self.set(Area::Session, store::TAB_ALIVE, None);
    }

    /// The page came back from the back/forward cache: alive again, rules
    /// applied (a session idle 30 minutes is replaced).
    pub fn page_restore(&mut self, now: Millis) {
        self.set(Area::Session, store::TAB_ALIVE, Some("1".into()));
        self.check(now);
    }

    /// `clear()`: removes all stored state, new visitor and session ids, page
    /// count back to zero.
    pub fn clear(&mut self, now: Millis) {
        for key in store::SESSION_KEYS {
            self.set(Area::Session, key, None);
        }
        self.set(Area::Local, store::VISITOR, None);
        self.visitor = ids::mint_visitor_id(&mut self.rng);
        self.write_visitor();
        self.rotate(now, Reason::Cleared);
        self.set(Area::Session, store::TAB_ALIVE, Some("1".into()));
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
        let name = name.trim();
        if name.is_empty() {
            return Err(Refusal::EmptyName);
        }
        if props.len() > wire::MAX_PROPS_BYTES {
            return Err(Refusal::PropsTooLarge);
        }
        self.activity(now);
        let ev = self.event(now, name, props, page);
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
            properties: Props(if props.is_empty() {
                "{}".into()
            } else {
                props.into()
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
