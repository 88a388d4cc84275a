//! One page view's engagement: engaged time (visible and focused), the
//! deepest scroll, interactions, and whether its `page_exit` went out.

use crate::time::Millis;

/// Engaged time accrues only while the document is visible and its window
/// has focus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engagement {
    visible: bool,
    focused: bool,
    /// When the current engaged stretch began (visible and focused).
    since: Option<Millis>,
    accrued: Millis,
    /// When this page view began (for `time_on_page`).
    pub started: Millis,
    /// Deepest scroll seen, percent 0-100.
    pub scroll_depth: u64,
    pub interactions: u64,
    /// Whether this page view's `page_exit` was sent.
    pub exited: bool,
}

impl Engagement {
    pub const fn new(now: Millis, visible: bool, focused: bool) -> Engagement {
        Engagement {
            visible,
            focused,
            since: if visible && focused { Some(now) } else { None },
            accrued: Millis(0),
            started: now,
            scroll_depth: 0,
            interactions: 0,
            exited: false,
        }
    }

    /// A new page view at `now`, keeping the current visibility and focus.
    pub fn restart(&mut self, now: Millis) {
        *self = Engagement::new(now, self.visible, self.focused);
    }

    /// Closes the current engaged stretch at `now` and opens the next one
    /// if the page is (still) visible and focused.
    fn settle(&mut self, now: Millis) {
        if let Some(s) = self.since.take() {
            self.accrued = self.accrued.plus(now.since(s));
        }
        self.since = (self.visible && self.focused).then_some(now);
    }

    pub fn set_visible(&mut self, now: Millis, visible: bool) {
        self.settle(now);
        self.visible = visible;
        self.settle(now);
    }

    pub fn set_focused(&mut self, now: Millis, focused: bool) {
        self.settle(now);
        self.focused = focused;
        self.settle(now);
    }

    pub fn is_visible(&self) -> bool {
        self.visible
    }

    pub fn is_focused(&self) -> bool {
        self.focused
    }

    /// Engaged milliseconds up to `now`. A clock that went backwards adds
    /// nothing.
    pub fn engaged(&self, now: Millis) -> Millis {
        match self.since {
            Some(s) => self.accrued.plus(now.since(s)),
            None => self.accrued,
        }
    }

    /// Wall-clock whole seconds since the page view began.
    pub fn time_on_page(&self, now: Millis) -> u64 {
        now.since(self.started).0 / 1000
    }

    pub fn scrolled(&mut self, depth: u64) {
        self.scroll_depth = self.scroll_depth.max(depth.min(100));
    }
}

/// Scroll depth in percent (0-100) of the bottom of the viewport in the
/// document: `(scroll_y + viewport) / document`, rounded, from whole
/// pixels as the input decoder reads them (a fraction cut; a negative or
/// nonsense value is 0 there). A page that cannot scroll is fully seen:
/// 100. Integer arithmetic on the numbers as read: no round trip through
/// floats (README "Size").
pub fn scroll_depth(scroll_y: u64, viewport: u64, document: u64) -> u64 {
    // Below 2^32 each, nothing below can overflow.
    let cap = u64::from(u32::MAX);
    let (y, v, d) = (scroll_y.min(cap), viewport.min(cap), document.min(cap));
    if d <= v {
        return 100;
    }
    // round(100 (y + v) / d) = floor((200 (y + v) + d) / 2d).
    ((200 * (y + v) + d) / (2 * d)).min(100)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T: Millis = Millis(1_000_000);

    fn at(ms: u64) -> Millis {
        T.plus(Millis(ms))
    }

    #[test]
    fn a_visible_focused_page_accrues_wall_time() {
        let e = Engagement::new(T, true, true);
        assert_eq!(e.engaged(at(4_000)), Millis(4_000));
    }

    #[test]
    fn a_hidden_span_is_not_engaged() {
        let mut e = Engagement::new(T, true, true);
        e.set_visible(at(1_000), false);
        e.set_visible(at(61_000), true);
        assert_eq!(e.engaged(at(62_000)), Millis(2_000));
    }

    #[test]
    fn an_unfocused_window_is_not_engaged_even_when_visible() {
        let mut e = Engagement::new(T, true, false);
        assert_eq!(e.engaged(at(5_000)), Millis(0));
        e.set_focused(at(5_000), true);
        assert_eq!(e.engaged(at(6_500)), Millis(1_500));
    }

    #[test]
    fn restart_begins_a_new_page_view_from_zero() {
        let mut e = Engagement::new(T, true, true);
        e.scrolled(80);
        e.interactions = 3;
        e.exited = true;
        e.restart(at(10_000));
        assert_eq!(e.engaged(at(10_000)), Millis(0));
        assert_eq!((e.scroll_depth, e.interactions, e.exited), (0, 0, false));
        assert_eq!(
            e.engaged(at(11_000)),
            Millis(1_000),
            "still visible and focused"
        );
    }

    #[test]
    fn time_on_page_is_whole_wall_clock_seconds() {
        let e = Engagement::new(T, false, false);
        assert_eq!(e.time_on_page(at(45_999)), 45);
    }

    #[test]
    fn scroll_depth_arithmetic() {
        assert_eq!(scroll_depth(0, 800, 800), 100, "cannot scroll");
        assert_eq!(scroll_depth(0, 800, 600), 100);
        assert_eq!(scroll_depth(0, 500, 2000), 25);
        assert_eq!(scroll_depth(1000, 500, 2000), 75);
        assert_eq!(scroll_depth(1500, 500, 2000), 100);
        assert_eq!(scroll_depth(9999, 500, 2000), 100, "overscroll");
        assert_eq!(scroll_depth(1, 500, 2001), 25, "rounded");
        assert_eq!(
            scroll_depth(u64::MAX, u64::MAX, u64::MAX),
            100,
            "no overflow"
        );
    }

    #[test]
    fn the_deepest_scroll_is_kept() {
        let mut e = Engagement::new(T, true, true);
        e.scrolled(60);
        e.scrolled(30);
        e.scrolled(250);
        assert_eq!(e.scroll_depth, 100);
    }

    #[derive(Clone, Debug)]
    enum Step {
        Visible(bool),
        Focused(bool),
    }

    proptest! {
        /// Engaged time never exceeds wall time and equals exactly the
        /// time spent visible and focused.
        #[test]
        fn engaged_time_counts_exactly_the_visible_focused_spans(
            start_visible: bool,
            start_focused: bool,
            steps in proptest::collection::vec(
                (0u64..100_000, prop_oneof![any::<bool>().prop_map(Step::Visible), any::<bool>().prop_map(Step::Focused)]),
                0..40,
            ),
            tail in 0u64..100_000,
        ) {
            let mut e = Engagement::new(T, start_visible, start_focused);
            let (mut vis, mut foc, mut now, mut expected) = (start_visible, start_focused, T, 0u64);
            for (gap, step) in steps {
                let next = now.plus(Millis(gap));
                if vis && foc { expected += gap; }
                now = next;
                match step {
                    Step::Visible(v) => { e.set_visible(now, v); vis = v; }
                    Step::Focused(f) => { e.set_focused(now, f); foc = f; }
                }
                prop_assert!(e.engaged(now) <= now.since(T));
            }
            if vis && foc { expected += tail; }
            let end = now.plus(Millis(tail));
            prop_assert_eq!(e.engaged(end), Millis(expected));
            prop_assert!(e.engaged(end) <= end.since(T));
        }
    }
}
