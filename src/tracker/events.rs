//! The event envelope (README "Wire protocol"), `track()`, and handing
//! events to delivery.

use super::{Page, Tracker};
use crate::batch::Queued;
use crate::ids;
use crate::json::truncate;
use crate::time::Millis;
use crate::wire::{self, EventRef};

/// Why `track` refused an event (it warns once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    EmptyName,
    PropsTooLarge,
    /// `track()` before `init()`.
    NotStarted,
    /// Consent was refused or withdrawn: nothing is tracked (silently).
    NoConsent,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::EmptyName => "track() needs an event name; ignored",
            Refusal::PropsTooLarge => "properties over 16 KiB; event ignored",
            Refusal::NotStarted => "track() before init(); ignored",
            Refusal::NoConsent => "no consent; ignored",
        }
    }
}

/// What the shim found wrong with properties it was given (it converts
/// them to JSON; the core words the warning).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropsProblem {
    /// Not a plain object: ignored.
    NotAnObject,
    /// Values JSON cannot hold (functions, symbols, BigInt, cycles) were
    /// dropped.
    DroppedValues,
}

impl Tracker {
    /// What the shim found wrong with properties: one warning.
    pub fn handle_props_problem(&mut self, problem: PropsProblem) {
        self.warn(match problem {
            PropsProblem::NotAnObject => "properties must be a plain object; ignored",
            PropsProblem::DroppedValues => "property values JSON cannot hold were dropped",
        });
    }
    /// Tracks event `name` with `props` (a JSON object's text) on `page`
    /// at `now`. The event counts as activity. A refused event earns one
    /// warning (but none for want of consent); a name that is empty or
    /// only spaces is refused at once, held or not. While consent is
    /// pending the call is held, with its time and page (Ok).
    pub fn handle_track(
        &mut self,
        now: Millis,
        name: &str,
        props: &str,
        page: &Page,
    ) -> Result<(), Refusal> {
        if name.trim_ascii().is_empty() {
            self.warn(Refusal::EmptyName.message());
            return Err(Refusal::EmptyName);
        }
        if !self.is_running() {
            return self.hold_track(now, name, props, page);
        }
        let r = self.track_at(now, now, name, props, page);
        if let Err(refusal) = r {
            self.warn(refusal.message());
        }
        r
    }

    /// Tracks an event that happened at `at` (a call held until consent):
    /// the event carries `at`, activity counts at `now`.
    pub(super) fn track_at(
        &mut self,
        now: Millis,
        at: Millis,
        name: &str,
        props: &str,
        page: &Page,
    ) -> Result<(), Refusal> {
        let name = name.trim_ascii();
        if props.len() > wire::MAX_PROPS_BYTES {
            return Err(Refusal::PropsTooLarge);
        }
        self.activity(now);
        if !self.entered_session(now, page) {
            self.hold_until_viewed(at, name, props, page);
            return Ok(());
        }
        // Never before the session's first screen_view (a call held for
        // consent, or while prerendering).
        let ev = self.event(at.min(now).max(self.entered), name, props, page);
        self.delivery.push(ev, now);
        Ok(())
    }

    /// Event `name` of `page` at `now`, encoded.
    pub fn event(&mut self, now: Millis, name: &str, props: &str, page: &Page) -> Queued {
        let id = ids::uuid_v7(now, &mut self.rng);
        self.envelope(&id, now, name, props, page).encode()
    }

    /// The envelope of event `id` of `page` at `now`, written straight
    /// from the tracker's state (no copy of its strings). Long strings are
    /// cut to the wire limits.
    pub(super) fn envelope<'a>(
        &'a self,
        id: &'a str,
        now: Millis,
        name: &'a str,
        props: &'a str,
        page: &Page<'a>,
    ) -> EventRef<'a> {
        EventRef {
            event_id: id,
            name: truncate(name, wire::MAX_NAME_BYTES),
            session_id: &self.session.id,
            anonymous_id: &self.visitor,
            timestamp: now.0,
            path: truncate(page.path, wire::MAX_URL_BYTES),
            title: truncate(page.title, wire::MAX_TITLE_BYTES),
            referrer: truncate(page.referrer, wire::MAX_URL_BYTES),
            client_id: &self.cfg.client_id,
            properties: if props.is_empty() {
                &self.globals
            } else {
                props
            },
            user_id: (!self.user.is_empty()).then_some(self.user.as_str()),
            ..EventRef::default()
        }
    }

    /// `setGlobalProperties` (JSON object text): the properties of the
    /// events the tracker makes itself; an empty text or one over the props
    /// limit means none. (The shim merges them into the events it is
    /// given.)
    pub fn handle_globals(&mut self, props: &str) {
        if !self.is_running() {
            self.hold_globals(props);
            return;
        }
        self.globals.clear();
        if props.len() <= wire::MAX_PROPS_BYTES && props != "{}" {
            self.globals.push_str(props);
        }
    }
}
