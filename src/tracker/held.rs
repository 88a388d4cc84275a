//! Calls made while consent is pending (README "Consent"): held in memory
//! with what they need (a `track()` keeps its time and page), run in order
//! once the tracker starts, dropped when consent is refused.

use alloc::string::String;

use super::lifecycle::{Consent, Stage};
use super::{Page, Refusal, Tracker};
use crate::time::Millis;

/// A page as it was when a held call was made.
pub(super) struct OwnedPage {
    path: String,
    search: String,
    hash: String,
    href: String,
    title: String,
    referrer: String,
}

impl OwnedPage {
    fn of(p: &Page) -> OwnedPage {
        OwnedPage {
            path: p.path.into(),
            search: p.search.into(),
            hash: p.hash.into(),
            href: p.href.into(),
            title: p.title.into(),
            referrer: p.referrer.into(),
        }
    }

    fn page(&self) -> Page<'_> {
        Page {
            path: &self.path,
            search: &self.search,
            hash: &self.hash,
            href: &self.href,
            title: &self.title,
            referrer: &self.referrer,
        }
    }
}

/// A call made while consent is pending, run once it is given.
pub(super) enum Held {
    /// `track()`: keeps the time and page of the call.
    Track {
        at: Millis,
        name: String,
        props: String,
        page: OwnedPage,
    },
    /// `screenView()`: a view at the time of consent.
    View {
        props: String,
        page: OwnedPage,
    },
    Globals(String),
    Identify(String),
    Clear,
}

impl Tracker {
    /// Holds a call made while the tracker does not run, if it waits for
    /// consent (true); otherwise the call is dropped.
    fn hold(&mut self, held: impl FnOnce() -> Held) -> bool {
        let holding = self.stage == Stage::Waiting && self.consent != Consent::Refused;
        if holding {
            self.held.push(held());
        }
        holding
    }

    pub(super) fn hold_track(
        &mut self,
        now: Millis,
        name: &str,
        props: &str,
        page: &Page,
    ) -> Result<(), Refusal> {
        if self.stage == Stage::New {
            self.warn(Refusal::NotStarted.message());
            return Err(Refusal::NotStarted);
        }
        let held = self.hold(|| Held::Track {
            at: now,
            name: name.into(),
            props: props.into(),
            page: OwnedPage::of(page),
        });
        if held {
            Ok(())
        } else {
            Err(Refusal::NoConsent)
        }
    }

    /// An event tracked while the page is prerendered in a session without
    /// a page view: it waits until the page is shown (README "Page views
    /// and engagement"; [`Tracker::handle_page_shown`] replays it).
    pub(super) fn hold_until_viewed(&mut self, at: Millis, name: &str, props: &str, page: &Page) {
        self.held.push(Held::Track {
            at,
            name: name.into(),
            props: props.into(),
            page: OwnedPage::of(page),
        });
    }

    pub(super) fn hold_view(&mut self, page: &Page, props: &str) {
        self.hold(|| Held::View {
            props: props.into(),
            page: OwnedPage::of(page),
        });
    }

    pub(super) fn hold_globals(&mut self, props: &str) {
        self.hold(|| Held::Globals(props.into()));
    }

    pub(super) fn hold_identify(&mut self, user: &str) {
        self.hold(|| Held::Identify(user.into()));
    }

    pub(super) fn hold_clear(&mut self) {
        self.hold(|| Held::Clear);
    }

    /// Runs the calls held until consent, in order.
    pub(super) fn replay_held(&mut self, now: Millis) {
        // Walked by reference, then dropped whole: a consuming loop would
        // bring its own drop code for the calls it did not reach.
        let all = core::mem::take(&mut self.held);
        for held in &all {
            match held {
                Held::Track {
                    at,
                    name,
                    props,
                    page,
                } => {
                    if let Err(refusal) = self.track_at(now, *at, name, props, &page.page()) {
                        self.warn(refusal.message());
                    }
                }
                Held::View { props, page } => {
                    self.handle_page_view(now, &page.page(), props, true, None);
                }
                Held::Globals(props) => self.handle_globals(props),
                Held::Identify(user) => self.handle_identify(Some(user)),
                Held::Clear => self.handle_clear(now, None),
            }
        }
    }
}
