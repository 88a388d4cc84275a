//! What the user does with the page (README "Page views and engagement"):
//! visibility and focus (engaged time, and who owns `ss_sid`),
//! interactions, scrolls. Becoming hidden also sends everything queued.

use super::Tracker;
use crate::time::Millis;

impl Tracker {
    /// Visibility and focus as found at the start or after a restore: no
    /// transition, but a focused page owns `ss_sid`.
    pub(super) fn presence(&mut self, now: Millis, visible: bool, focused: bool) {
        self.view.engagement.set_visible(now, visible);
        self.view.engagement.set_focused(now, focused);
        if focused {
            self.claim_session_cookie();
        }
    }

    /// The document became visible or hidden. Becoming visible takes
    /// `ss_sid` (the user switched to this tab); becoming hidden sends
    /// everything queued by beacon and keeps it in the outbox (the page
    /// may be gone for good).
    pub fn handle_visibility(&mut self, now: Millis, visible: bool) {
        if !self.is_running() {
            return;
        }
        self.view.engagement.set_visible(now, visible);
        // Whatever this page believed before: the cookie is shared, and
        // another tab may have written it since (README "Backend pairing").
        if visible {
            self.claim_session_cookie();
        }
        if !visible {
            self.hide_delivery();
        }
    }

    /// The window gained or lost focus; gaining it takes `ss_sid`, even
    /// if this page believed it had focus (a blur it missed).
    pub fn handle_focus(&mut self, now: Millis, focused: bool) {
        if !self.is_running() {
            return;
        }
        self.view.engagement.set_focused(now, focused);
        if focused {
            self.claim_session_cookie();
        }
    }

    /// A pointer, key or touch interaction: activity, counted.
    pub fn handle_interaction(&mut self, now: Millis) {
        if !self.is_running() {
            return;
        }
        self.activity(now);
        let e = &mut self.view.engagement;
        e.interactions = e.interactions.saturating_add(1);
    }

    /// A scroll to `depth` percent: by the user (activity), or measured by
    /// the page itself (at load: kept like a scroll's, but not activity).
    pub fn handle_scroll(&mut self, now: Millis, depth: Option<u64>, by_user: bool) {
        if !self.is_running() {
            return;
        }
        if by_user {
            self.activity(now);
        }
        self.measured(depth);
    }

    pub(super) fn measured(&mut self, depth: Option<u64>) {
        if let Some(d) = depth {
            self.view.engagement.scrolled(d);
        }
    }
}
