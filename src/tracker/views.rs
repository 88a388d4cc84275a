//! Page views and their engagement (README "Page views and engagement"):
//! `screen_view` and the one `page_exit` of each view, what makes two URLs
//! the same view, and the inputs engagement is measured from.

use alloc::string::String;

use super::{Tracker, BFCACHE, PAGE_EXIT, SCREEN_VIEW};
use crate::engagement::Engagement;
use crate::ids;
use crate::json::truncate;
use crate::store::{Key, Keys};
use crate::text::assign;
use crate::time::Millis;
use crate::wire::{self, EventRef};

/// The page as the shell reads it (`location`, `document`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Page<'a> {
    /// `location.pathname`.
    pub path: &'a str,
    /// `location.search`.
    pub search: &'a str,
    /// `location.hash`.
    pub hash: &'a str,
    /// `location.href`: the referrer of the next SPA view.
    pub href: &'a str,
    pub title: &'a str,
    /// `document.referrer`.
    pub referrer: &'a str,
}

/// The page view in progress: where, and its engagement.
pub(super) struct View {
    /// What identifies the URL (path + query, + hash with
    /// `trackHashChanges`): the same key again is not a new page view.
    pub(super) key: String,
    /// The URL of the last page view: an SPA view's referrer.
    pub(super) href: String,
    pub(super) path: String,
    pub(super) title: String,
    pub(super) referrer: String,
    /// False until the first page view (a prerendered page has none yet).
    pub(super) active: bool,
    pub(super) engagement: Engagement,
}

/// Whether `key` is the page view key of `page`: its path and query,
/// then `hash` (the URL's hash with `trackHashChanges`, else empty). What
/// makes two URLs the same page view.
fn is_key_of(key: &str, page: &Page, hash: &str) -> bool {
    let (path, search) = (page.path, page.search);
    key.len() == path.len() + search.len() + hash.len()
        && key.starts_with(path)
        && key.ends_with(hash)
        && key
            .get(path.len()..)
            .is_some_and(|rest| rest.starts_with(search))
}

impl Tracker {
    /// The shell listens now (after [`crate::command::Command::Listen`]),
    /// or a prerendered page is shown (`prerenderingchange`): the page's
    /// visibility and focus, then the load's page view (measured at
    /// `depth`) unless the page is only prerendered, then the calls that
    /// waited: those held until consent, and the events tracked while the
    /// page was prerendered in a session without a view.
    pub fn handle_page_shown(
        &mut self,
        now: Millis,
        visible: bool,
        focused: bool,
        prerendering: bool,
        page: &Page,
        depth: Option<u64>,
    ) {
        if !self.is_running() {
            return;
        }
        self.presence(now, visible, focused);
        if !prerendering {
            self.page_view(now, page, "", false);
            self.measured(depth);
        }
        self.replay_held(now);
    }

    /// A page view of `page` at `now`: the load once not prerendering, an
    /// SPA navigation, or `manual` from `screenView(props)`. An automatic
    /// view of the URL already in view is not a new page view (returns
    /// false). The previous view gets its `page_exit` first; `depth` (the
    /// scroll depth measured now, if any) closes the old view and opens the
    /// new one.
    pub fn handle_page_view(
        &mut self,
        now: Millis,
        page: &Page,
        props: &str,
        manual: bool,
        depth: Option<u64>,
    ) -> bool {
        if !self.is_running() {
            if manual {
                self.hold_view(page, props);
            }
            return false;
        }
        let props = if props.len() > wire::MAX_PROPS_BYTES {
            self.warn("screenView() properties over 16 KiB; sent without them");
            ""
        } else {
            props
        };
        self.measured(depth);
        let counted = self.page_view(now, page, props, manual);
        self.measured(depth);
        counted
    }

    /// Before an event of `page` is queued: a session without a page view
    /// yet (after `clear()`, an adopted id, a rotation while prerendered)
    /// begins with a `screen_view` of this page. False while the page is
    /// only prerendered: the event waits for the page's first view.
    pub(super) fn entered_session(&mut self, now: Millis, page: &Page) -> bool {
        if self.page_count == 0 {
            if !self.view.active {
                return false;
            }
            self.page_view(now, page, "", true);
        }
        true
    }

    pub(super) fn page_view(
        &mut self,
        now: Millis,
        page: &Page,
        props: &str,
        manual: bool,
    ) -> bool {
        let hash = if self.cfg.track_hash_changes {
            page.hash
        } else {
            ""
        };
        if !manual && self.view.active && is_key_of(&self.view.key, page, hash) {
            return false;
        }
        self.end_page_view(now);
        if let Some(why) = self.session.expiry(now, self.rules()) {
            // The view below is the new session's entry page.
            self.rotate(now, why);
        }
        self.touch(now);
        // SPA views name the previous URL as their referrer.
        let referrer = if self.view.href.is_empty() {
            page.referrer
        } else {
            &self.view.href
        };
        let referrer = truncate(referrer, wire::MAX_URL_BYTES);
        assign(&mut self.view.referrer, referrer);
        assign(&mut self.view.key, page.path);
        self.view.key.push_str(page.search);
        self.view.key.push_str(hash);
        assign(&mut self.view.href, page.href);
        assign(
            &mut self.view.path,
            truncate(page.path, wire::MAX_URL_BYTES),
        );
        assign(
            &mut self.view.title,
            truncate(page.title, wire::MAX_TITLE_BYTES),
        );
        self.begin_view(now, None, props);
        self.write_activity();
        true
    }

    /// After a rotation with the page still open: the new session's entry
    /// page is the current one.
    pub(super) fn reenter(&mut self, now: Millis) {
        if self.view.active {
            self.begin_view(now, None, "");
        }
    }

    /// Counts a page view at `now` of the page in `self.view` and queues
    /// its `screen_view`.
    fn begin_view(&mut self, now: Millis, navigation_type: Option<&str>, props: &str) {
        if self.page_count == 0 {
            self.entered = now;
        }
        self.view.active = true;
        self.view.engagement.restart(now);
        self.page_count = self.page_count.saturating_add(1);
        self.write_page_count();
        let id = ids::uuid_v7(now, &mut self.rng);
        let mut ev = self.view_event(&id, now, SCREEN_VIEW, props);
        ev.navigation_type = navigation_type;
        let ev = ev.encode();
        self.delivery.push(ev, now);
    }

    /// The envelope of event `id` of the page in view.
    fn view_event<'a>(
        &'a self,
        id: &'a str,
        now: Millis,
        name: &'a str,
        props: &'a str,
    ) -> EventRef<'a> {
        let page = Page {
            path: &self.view.path,
            title: &self.view.title,
            referrer: &self.view.referrer,
            ..Page::default()
        };
        let mut ev = self.envelope(id, now, name, props, &page);
        ev.page_count = Some(self.page_count);
        ev
    }

    /// Queues the open page view's `page_exit`, once: what the next view,
    /// `pagehide`, a rotation and `clear()` do first.
    pub fn end_page_view(&mut self, now: Millis) {
        if !self.view.active || self.view.engagement.exited {
            return;
        }
        self.view.engagement.exited = true;
        let id = ids::uuid_v7(now, &mut self.rng);
        let mut ev = self.view_event(&id, now, PAGE_EXIT, "");
        let e = &self.view.engagement;
        ev.time_on_page = Some(e.time_on_page(now));
        ev.engaged_time = Some(e.engaged(now).0);
        ev.scroll_depth = Some(e.scroll_depth);
        ev.interaction_count = Some(e.interactions);
        let ev = ev.encode();
        self.delivery.push(ev, now);
    }

    /// `pagehide` (reload, navigation, close, or entering the back/forward
    /// cache): the page view's `page_exit` (after the last `depth`), the
    /// exact last activity stored, everything sent by beacon and kept in
    /// the outbox; and the tab marked as not alive if `did_tab` is still
    /// this page's mark, so the tab's next page (reload, navigation) keeps
    /// the session.
    pub fn handle_page_hide(&mut self, now: Millis, depth: Option<u64>) {
        if !self.is_running() {
            return;
        }
        self.measured(depth);
        self.end_page_view(now);
        if self.written_activity != self.session.last_activity {
            self.write_activity();
        }
        self.reads.need(Keys::one(Key::Tab));
        self.reads.tab_check = true;
        self.hide_delivery();
    }

    /// `pageshow` of a page restored from the back/forward cache: alive
    /// again, its visibility and focus, then (once storage is read) synced
    /// with what the tab stored meanwhile, rules applied (a session idle
    /// 30 minutes is replaced), and a new page view with
    /// `navigation_type: "back_forward_cache"`, measured at `depth`.
    pub fn handle_page_restore(
        &mut self,
        now: Millis,
        visible: bool,
        focused: bool,
        depth: Option<u64>,
    ) {
        if !self.is_running() {
            return;
        }
        self.presence(now, visible, focused);
        self.mark_alive();
        self.reads.need(Keys::RESTORE);
        self.reads.restoring = Some(depth);
    }

    /// The restore once storage is read (see
    /// [`Tracker::handle_page_restore`]).
    pub(super) fn restore_from(
        &mut self,
        now: Millis,
        snap: &crate::store::Snapshot,
        depth: Option<u64>,
    ) {
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
        self.measured(depth);
    }

    /// `clear()` (see README "API"), after the scroll `depth` measured now.
    pub fn handle_clear(&mut self, now: Millis, depth: Option<u64>) {
        if !self.is_running() {
            self.hold_clear();
            return;
        }
        self.measured(depth);
        self.clear(now);
    }
}
