#![cfg(not(target_arch = "wasm32"))]
//! Page views and engagement (README "Page views and engagement",
//! "Sessions"), driven through the core with a fake clock and a fake shell
//! that carries out its commands: the screen_view / page_exit sequence and
//! its counts, exactly one exit per view, engaged time, scroll depth and
//! interactions, session rotation with the page open, back/forward cache
//! restores, prerendering, and clear().
//!
//! What was sent is read off the wire: flush, take every request, parse
//! each `{"events":[...]}` body, in order.

mod support;

use proptest::prelude::*;
use serde_json::Value;
use sessionmark::config::Config;
use sessionmark::time::Millis;
use sessionmark::tracker::Page;
use support::{Browser, PageShell, Tab, T0};

const SEC: u64 = 1_000;
const MIN: u64 = 60_000;

fn at(ms: u64) -> Millis {
    T0.plus(Millis(ms))
}

fn page(path: &str) -> Page<'_> {
    Page {
        path,
        title: "Title",
        referrer: "https://example.com/",
        ..Page::default()
    }
}

/// A page started at `T0` on a first visit (nothing stored), not yet
/// viewed, the window neither visible nor focused (as at start).
fn fresh(_seed: u64) -> PageShell {
    Browser::default().open(&Tab::new(), T0, &Config::default(), "")
}

/// A page that is visible and focused from `T0`.
fn attentive(seed: u64) -> PageShell {
    let mut t = fresh(seed);
    visible(&mut t, T0, true);
    focus(&mut t, T0, true);
    t
}

/// An automatic page view (load, SPA navigation) of `path`.
fn view(t: &mut PageShell, now: Millis, path: &str) -> bool {
    t.at(now, |c| {
        c.handle_page_view(now, &page(path), "{}", false, None)
    })
}

fn manual_view(t: &mut PageShell, now: Millis, path: &str, props: &str) -> bool {
    t.at(now, |c| {
        c.handle_page_view(now, &page(path), props, true, None)
    })
}

/// `prerenderingchange`: the prerendered page is shown.
fn shown(t: &mut PageShell, now: Millis, path: &str) {
    t.at(now, |c| {
        c.handle_page_shown(now, true, true, false, &page(path), Some(0))
    });
}

fn scrolled(t: &mut PageShell, now: Millis, depth: u64) {
    t.at(now, |c| c.handle_scroll(now, Some(depth), true));
}

/// A depth the page measures itself (not activity).
fn measured(t: &mut PageShell, depth: u64) {
    t.at(T0, |c| c.handle_scroll(T0, Some(depth), false));
}

fn interaction(t: &mut PageShell, now: Millis) {
    t.at(now, |c| c.handle_interaction(now));
}

fn focus(t: &mut PageShell, now: Millis, focused: bool) {
    t.at(now, |c| c.handle_focus(now, focused));
}

fn visible(t: &mut PageShell, now: Millis, visible: bool) {
    t.at(now, |c| c.handle_visibility(now, visible));
}

/// `pagehide`.
fn hide(t: &mut PageShell, now: Millis) {
    t.leave(now);
}

/// A restore from the back/forward cache, visible and focused.
fn restore(t: &mut PageShell, now: Millis) {
    t.at(now, |c| c.handle_page_restore(now, true, true, None));
}

fn clear(t: &mut PageShell, now: Millis) {
    t.at(now, |c| c.handle_clear(now, None));
}

fn engaged(t: &PageShell, now: Millis) -> Millis {
    t.tracker.engaged_time(now).unwrap()
}

/// Every event sent since the last call, in order.
fn sent(t: &mut PageShell) -> Vec<Value> {
    t.flushed(T0)
}

fn name(e: &Value) -> &str {
    e["name"].as_str().unwrap()
}

fn sid(e: &Value) -> &str {
    e["session_id"].as_str().unwrap()
}

fn num(e: &Value, field: &str) -> u64 {
    e[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} missing in {e}"))
}

/// (name, page_count) of each event.
fn kinds(evs: &[Value]) -> Vec<(&str, u64)> {
    evs.iter()
        .map(|e| (name(e), num(e, "page_count")))
        .collect()
}

fn exits(evs: &[Value]) -> Vec<&Value> {
    evs.iter().filter(|e| name(e) == "page_exit").collect()
}

/// (time_on_page s, engaged_time ms, scroll_depth, interaction_count).
fn engagement(e: &Value) -> (u64, u64, u64, u64) {
    (
        num(e, "time_on_page"),
        num(e, "engaged_time"),
        num(e, "scroll_depth"),
        num(e, "interaction_count"),
    )
}

// 1. The sequence of a visit.

#[test]
fn a_load_two_spa_navigations_and_back_alternate_screen_views_and_page_exits_with_counts() {
    let mut t = attentive(1);
    assert!(view(&mut t, T0, "/"));
    scrolled(&mut t, at(5 * SEC), 40);
    interaction(&mut t, at(6 * SEC));
    interaction(&mut t, at(7 * SEC));
    assert!(view(&mut t, at(30 * SEC), "/a"));
    // 10 s with the window unfocused: wall clock, not engaged.
    focus(&mut t, at(40 * SEC), false);
    focus(&mut t, at(50 * SEC), true);
    assert!(view(&mut t, at(75_400), "/b"));
    // Back (popstate) to /a: a new page view.
    assert!(view(&mut t, at(80 * SEC), "/a"));

    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [
            ("screen_view", 1),
            ("page_exit", 1),
            ("screen_view", 2),
            ("page_exit", 2),
            ("screen_view", 3),
            ("page_exit", 3),
            ("screen_view", 4),
        ]
    );
    let paths: Vec<&str> = evs.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/", "/", "/a", "/a", "/b", "/b", "/a"]);
    let first = sid(&evs[0]);
    assert!(evs.iter().all(|e| sid(e) == first), "one session");
    for sv in evs.iter().filter(|e| name(e) == "screen_view") {
        for field in [
            "time_on_page",
            "engaged_time",
            "scroll_depth",
            "interaction_count",
        ] {
            assert!(sv.get(field).is_none(), "{field} on a screen_view: {sv}");
        }
    }
    let got: Vec<_> = exits(&evs).into_iter().map(engagement).collect();
    assert_eq!(
        got,
        [
            (30, 30_000, 40, 2),
            // 45.4 s on the page, 10 s of it unfocused.
            (45, 35_400, 0, 0),
            (4, 4_600, 0, 0),
        ]
    );
    assert_eq!(num(&evs[5], "timestamp"), at(80 * SEC).0);

    hide(&mut t, at(90 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 4)]);
    assert_eq!(evs[0]["path"], "/a");
    assert_eq!(engagement(&evs[0]), (10, 10_000, 0, 0));
    assert_eq!(t.tracker.page_count(), 4);
}

// 2. Exactly one page_exit per page view.

#[test]
fn hiding_a_page_twice_sends_one_page_exit() {
    let mut t = attentive(2);
    view(&mut t, T0, "/");
    hide(&mut t, at(3 * SEC));
    hide(&mut t, at(4 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("screen_view", 1), ("page_exit", 1)]);
    assert_eq!(num(&evs[1], "time_on_page"), 3);
}

#[test]
fn an_exit_then_a_page_hide_sends_one_page_exit() {
    let mut t = attentive(3);
    view(&mut t, T0, "/");
    t.at(at(2 * SEC), |c| c.end_page_view(at(2 * SEC)));
    hide(&mut t, at(9 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("screen_view", 1), ("page_exit", 1)]);
    assert_eq!(num(&evs[1], "engaged_time"), 2_000, "the first exit counts");
}

#[test]
fn clear_after_an_exit_sends_no_second_page_exit() {
    let mut t = attentive(4);
    view(&mut t, T0, "/");
    hide(&mut t, at(2 * SEC));
    clear(&mut t, at(3 * SEC));
    hide(&mut t, at(4 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("screen_view", 1), ("page_exit", 1)]);
}

#[test]
fn an_automatic_view_of_the_url_in_view_is_not_a_new_page_view() {
    let mut t = attentive(5);
    assert!(view(&mut t, T0, "/docs?q=1"));
    sent(&mut t);
    interaction(&mut t, at(SEC));
    assert!(!view(&mut t, at(2 * SEC), "/docs?q=1"));
    assert!(sent(&mut t).is_empty(), "no events for a repeated URL");
    assert_eq!(t.tracker.page_count(), 1);
    assert_eq!(
        engaged(&t, at(3 * SEC)),
        Millis(3_000),
        "the page view goes on"
    );
    hide(&mut t, at(5 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 1)]);
    assert_eq!(engagement(&evs[0]), (5, 5_000, 0, 1));
}

/// An automatic view of path, query and hash as `location` gives them.
fn view_url(t: &mut PageShell, now: Millis, path: &str, search: &str, hash: &str) -> bool {
    let page = Page {
        search,
        hash,
        ..page(path)
    };
    t.at(now, |c| c.handle_page_view(now, &page, "{}", false, None))
}

#[test]
fn a_new_query_is_a_new_page_view_and_a_new_hash_only_with_track_hash_changes() {
    let mut t = attentive(7);
    assert!(view_url(&mut t, T0, "/docs", "?q=1", ""));
    assert!(!view_url(&mut t, at(SEC), "/docs", "?q=1", "#intro"));
    assert!(view_url(&mut t, at(2 * SEC), "/docs", "?q=2", "#intro"));
    // The same text cut elsewhere between path and query is the same URL.
    assert!(!view_url(&mut t, at(3 * SEC), "/docs?q", "=2", ""));
    assert!(view_url(&mut t, at(4 * SEC), "/docs", "", ""));
    assert_eq!(t.tracker.page_count(), 3);

    let cfg = Config {
        track_hash_changes: true,
        ..Config::default()
    };
    let mut t = Browser::default().open(&Tab::new(), T0, &cfg, "");
    assert!(view_url(&mut t, T0, "/docs", "?q=1", ""));
    assert!(view_url(&mut t, at(SEC), "/docs", "?q=1", "#intro"));
    assert!(!view_url(&mut t, at(2 * SEC), "/docs", "?q=1", "#intro"));
    assert!(view_url(&mut t, at(3 * SEC), "/docs", "?q=1", "#in"));
    assert_eq!(t.tracker.page_count(), 3);
}

#[test]
fn a_manual_view_of_the_url_in_view_is_a_new_page_view() {
    let mut t = attentive(6);
    assert!(view(&mut t, T0, "/app"));
    assert!(manual_view(&mut t, at(4 * SEC), "/app", "{\"step\":2}"));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [("screen_view", 1), ("page_exit", 1), ("screen_view", 2)]
    );
    assert_eq!(evs[2]["path"], "/app");
    assert_eq!(evs[2]["properties"]["step"], 2);
    assert_eq!(num(&evs[1], "time_on_page"), 4);
}

// 3. Engaged time.

#[test]
fn a_hidden_span_is_not_engaged_time() {
    let mut t = attentive(7);
    view(&mut t, T0, "/");
    visible(&mut t, at(10 * SEC), false);
    assert_eq!(engaged(&t, at(40 * SEC)), Millis(10_000));
    visible(&mut t, at(70 * SEC), true);
    hide(&mut t, at(75 * SEC));
    let evs = sent(&mut t);
    assert_eq!(engagement(exits(&evs)[0]), (75, 15_000, 0, 0));
}

#[test]
fn an_unfocused_span_is_not_engaged_time_even_while_visible() {
    let mut t = attentive(8);
    view(&mut t, T0, "/");
    focus(&mut t, at(2 * SEC), false);
    focus(&mut t, at(32 * SEC), true);
    focus(&mut t, at(33 * SEC), false);
    hide(&mut t, at(50 * SEC));
    let evs = sent(&mut t);
    assert_eq!(engagement(exits(&evs)[0]), (50, 3_000, 0, 0));
}

#[test]
fn a_page_never_visible_and_focused_has_no_engaged_time() {
    let mut t = fresh(9);
    view(&mut t, T0, "/");
    visible(&mut t, at(SEC), true);
    hide(&mut t, at(20 * SEC));
    let evs = sent(&mut t);
    assert_eq!(engagement(exits(&evs)[0]), (20, 0, 0, 0));
}

#[derive(Clone, Debug)]
enum Step {
    Visible(bool),
    Focused(bool),
    Interaction,
    Scroll(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<bool>().prop_map(Step::Visible),
        any::<bool>().prop_map(Step::Focused),
        Just(Step::Interaction),
        (0u64..150).prop_map(Step::Scroll),
    ]
}

/// Mostly short gaps, sometimes long enough to end the session.
fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..120_000, 1 => 0u64..(40 * MIN)]
}

proptest! {
    /// Over random visibility, focus, interaction and scroll sequences
    /// (idle gaps that rotate the session included): each page view has
    /// exactly one page_exit, whose engaged_time is exactly the time spent
    /// visible and focused during that view and never more than its wall
    /// time (`engaged_time <= time_on_page * 1000 + 999`).
    #[test]
    fn engaged_time_is_the_visible_focused_time_and_never_exceeds_wall_time(
        start_visible: bool,
        start_focused: bool,
        steps in proptest::collection::vec((gap(), step()), 0..40),
        tail in 0u64..100_000,
    ) {
        let mut t = fresh(10);
        view(&mut t, T0, "/");
        visible(&mut t, T0, start_visible);
        focus(&mut t, T0, start_focused);
        let (mut vis, mut foc) = (start_visible, start_focused);
        let (mut now, mut view_start, mut last, mut session_start) = (T0, T0, T0, T0);
        let mut expected = 0u64;
        let mut closed = Vec::new();
        for (gap, step) in steps {
            now = now.plus(Millis(gap));
            if vis && foc {
                expected += gap;
            }
            match step {
                Step::Visible(v) => {
                    visible(&mut t, now, v);
                    vis = v;
                }
                Step::Focused(f) => {
                    focus(&mut t, now, f);
                    foc = f;
                }
                Step::Interaction | Step::Scroll(_) => {
                    if now.since(last).0 >= 30 * MIN || now.since(session_start).0 >= 24 * 60 * MIN {
                        // Rotation: the view closes, the same page reopens.
                        closed.push(expected);
                        expected = 0;
                        view_start = now;
                        session_start = now;
                    }
                    last = now;
                    match step {
                        Step::Scroll(d) => scrolled(&mut t, now, d),
                        _ => interaction(&mut t, now),
                    }
                }
            }
            prop_assert_eq!(engaged(&t, now), Millis(expected));
            prop_assert!(expected <= now.since(view_start).0);
        }
        let end = now.plus(Millis(tail));
        if vis && foc {
            expected += tail;
        }
        hide(&mut t, end);
        closed.push(expected);

        let evs = sent(&mut t);
        let ex = exits(&evs);
        let views = evs.iter().filter(|e| name(e) == "screen_view").count();
        prop_assert_eq!(views, ex.len(), "one exit per view");
        let engaged: Vec<u64> = ex.iter().map(|e| num(e, "engaged_time")).collect();
        prop_assert_eq!(&engaged, &closed);
        for e in &ex {
            let (secs, ms, depth, _) = engagement(e);
            prop_assert!(ms <= secs * 1000 + 999, "{}", e);
            prop_assert!(depth <= 100, "{}", e);
        }
    }
}

// 4. Scroll depth and interactions.

#[test]
fn the_page_exit_carries_the_deepest_scroll_and_the_interaction_count() {
    let mut t = attentive(11);
    view(&mut t, T0, "/long");
    scrolled(&mut t, at(SEC), 35);
    scrolled(&mut t, at(2 * SEC), 80);
    scrolled(&mut t, at(3 * SEC), 20);
    for i in 0..5 {
        interaction(&mut t, at(4 * SEC + i));
    }
    view(&mut t, at(10 * SEC), "/next");
    scrolled(&mut t, at(11 * SEC), 250);
    hide(&mut t, at(12 * SEC));
    let evs = sent(&mut t);
    let got: Vec<_> = exits(&evs).into_iter().map(engagement).collect();
    assert_eq!(
        got,
        [(10, 10_000, 80, 5), (2, 2_000, 100, 0)],
        "max kept, clamped to 100, reset per view"
    );
}

#[test]
fn a_depth_the_page_measures_itself_after_thirty_idle_minutes_is_not_activity() {
    let mut t = attentive(13);
    view(&mut t, T0, "/article");
    let old = t.sid(T0);
    sent(&mut t);
    // The shell measures the depth as the tab closes: the visit ended
    // 31 minutes ago and must not start a session of its own.
    measured(&mut t, 60);
    hide(&mut t, at(31 * MIN));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [("page_exit", 1)],
        "no new session, no second view"
    );
    assert_eq!(sid(&evs[0]), old);
    assert_eq!(num(&evs[0], "scroll_depth"), 60);
}

// 5. Session rotation with the page open.

#[test]
fn an_interaction_after_thirty_idle_minutes_closes_the_old_session_and_reenters_the_page() {
    let mut t = attentive(12);
    view(&mut t, T0, "/docs");
    view(&mut t, at(MIN), "/docs/b");
    let old = t.sid(at(MIN));
    sent(&mut t);

    let back = at(31 * MIN);
    interaction(&mut t, back);
    let new = t.sid(back);
    assert_ne!(new, old);
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 2), ("screen_view", 1)]);
    assert_eq!(sid(&evs[0]), old, "the exit closes the old session");
    assert_eq!(num(&evs[0], "time_on_page"), 30 * 60);
    assert_eq!(
        sid(&evs[1]),
        new,
        "the new session begins with its entry page"
    );
    assert_eq!(evs[1]["path"], "/docs/b");
    assert_eq!(num(&evs[1], "timestamp"), back.0);
    assert_eq!(t.tracker.page_count(), 1);

    // The interaction was activity of the new session, counted on its view.
    assert_eq!(t.sid(back.plus(Millis(29 * MIN))), new);
    hide(&mut t, back.plus(Millis(29 * MIN)));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 1)]);
    assert_eq!(sid(&evs[0]), new);
    assert_eq!(num(&evs[0], "interaction_count"), 1);
}

#[test]
fn a_tracked_event_after_thirty_idle_minutes_follows_the_new_sessions_screen_view() {
    let mut t = attentive(13);
    view(&mut t, T0, "/shop");
    let old = t.sid(T0);
    sent(&mut t);
    t.at(at(30 * MIN), |c| {
        c.handle_track(at(30 * MIN), "add_to_cart", "{}", &page("/shop"))
    })
    .unwrap();
    let evs = sent(&mut t);
    let names: Vec<&str> = evs.iter().map(name).collect();
    assert_eq!(names, ["page_exit", "screen_view", "add_to_cart"]);
    assert_eq!(sid(&evs[0]), old);
    let new = sid(&evs[1]);
    assert_ne!(new, old);
    assert_eq!(sid(&evs[2]), new);
    assert_eq!(num(&evs[1], "page_count"), 1);
}

#[test]
fn reading_the_session_id_after_thirty_idle_minutes_closes_the_old_session_and_reenters_the_page() {
    let mut t = attentive(14);
    view(&mut t, T0, "/home");
    let old = t.sid(T0);
    sent(&mut t);
    let new = t.sid(at(30 * MIN));
    assert_ne!(new, old);
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 1), ("screen_view", 1)]);
    assert_eq!(sid(&evs[0]), old);
    assert_eq!(sid(&evs[1]), new);
    assert_eq!(evs[1]["path"], "/home");
    // A second read rotates nothing more.
    assert_eq!(t.sid(at(31 * MIN)), new);
    assert!(sent(&mut t).is_empty());
}

#[test]
fn a_page_view_after_thirty_idle_minutes_exits_in_the_old_session_and_views_in_the_new() {
    let mut t = attentive(15);
    view(&mut t, T0, "/");
    view(&mut t, at(MIN), "/two");
    let old = t.sid(at(MIN));
    sent(&mut t);
    assert!(view(&mut t, at(31 * MIN), "/three"));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [("page_exit", 2), ("screen_view", 1)],
        "no extra screen_view of the old page"
    );
    assert_eq!(sid(&evs[0]), old);
    assert_eq!(evs[0]["path"], "/two");
    assert_ne!(sid(&evs[1]), old);
    assert_eq!(evs[1]["path"], "/three");
    assert_eq!(sid(&evs[1]), t.sid(at(31 * MIN)));
}

#[test]
fn global_properties_ride_on_the_exits_and_views_the_tracker_makes_itself() {
    let mut t = attentive(14);
    t.at(T0, |c| c.handle_globals(r#"{"plan":"pro"}"#));
    view(&mut t, T0, "/a");
    // The shell merges the globals into the props of the views it asks for.
    t.at(at(SEC), |c| {
        c.handle_page_view(
            at(SEC),
            &page("/b"),
            r#"{"plan":"pro","tab":2}"#,
            false,
            None,
        )
    });
    interaction(&mut t, at(40 * MIN));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [
            ("screen_view", 1),
            ("page_exit", 1),
            ("screen_view", 2),
            ("page_exit", 2),
            ("screen_view", 1)
        ]
    );
    let props: Vec<_> = evs.iter().map(|e| e["properties"].to_string()).collect();
    assert_eq!(
        props,
        [
            "{}", // the view's own props: what the shell gave
            r#"{"plan":"pro"}"#,
            r#"{"plan":"pro","tab":2}"#,
            r#"{"plan":"pro"}"#,
            r#"{"plan":"pro"}"#,
        ],
        "page_exit and the rotation's screen_view carry the globals"
    );

    clear(&mut t, at(41 * MIN));
    hide(&mut t, at(42 * MIN));
    t.at(T0, |c| c.handle_globals("{}"));
    let evs = sent(&mut t);
    assert_eq!(
        evs[0]["properties"].to_string(),
        r#"{"plan":"pro"}"#,
        "the exit before clear()"
    );
    t.at(T0, |c| {
        c.handle_globals(&format!("{{\"x\":\"{}\"}}", "y".repeat(17 * 1024)))
    });
    view(&mut t, at(43 * MIN), "/c");
    hide(&mut t, at(44 * MIN));
    let evs = sent(&mut t);
    assert_eq!(
        exits(&evs)[0]["properties"].to_string(),
        "{}",
        "oversized globals are not sent"
    );
}

// 6. Back/forward cache.

#[test]
fn a_restore_ten_minutes_later_is_a_new_page_view_of_the_same_session() {
    let mut t = attentive(16);
    view(&mut t, T0, "/article");
    scrolled(&mut t, at(5 * SEC), 70);
    interaction(&mut t, at(6 * SEC));
    hide(&mut t, at(20 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("screen_view", 1), ("page_exit", 1)]);
    let old = sid(&evs[0]).to_owned();

    // Still "visible and focused" as far as the core knows: only the reset
    // keeps the 10 minutes in the cache out of the restored view.
    let back = at(20 * SEC + 10 * MIN);
    restore(&mut t, back);
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("screen_view", 2)]);
    assert_eq!(evs[0]["navigation_type"], "back_forward_cache");
    assert_eq!(evs[0]["path"], "/article");
    assert_eq!(sid(&evs[0]), old, "same session");
    assert_eq!(engaged(&t, back), Millis(0));

    hide(&mut t, back.plus(Millis(7 * SEC)));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 2)]);
    assert_eq!(
        engagement(&evs[0]),
        (7, 7_000, 0, 0),
        "counted after restore"
    );
    assert!(evs[0].get("navigation_type").is_none());
}

#[test]
fn a_restore_after_the_shells_hidden_and_shown_events_counts_only_after_restore() {
    let mut t = attentive(17);
    view(&mut t, T0, "/");
    // visibilitychange hidden, pagehide; pageshow: visibility, focus, restore.
    visible(&mut t, at(10 * SEC), false);
    hide(&mut t, at(10 * SEC));
    let back = at(10 * SEC + 10 * MIN);
    visible(&mut t, back, true);
    focus(&mut t, back, true);
    restore(&mut t, back);
    focus(&mut t, back.plus(Millis(3 * SEC)), false);
    hide(&mut t, back.plus(Millis(4 * SEC)));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [
            ("screen_view", 1),
            ("page_exit", 1),
            ("screen_view", 2),
            ("page_exit", 2)
        ]
    );
    assert_eq!(engagement(&evs[1]), (10, 10_000, 0, 0));
    assert_eq!(engagement(&evs[3]), (4, 3_000, 0, 0));
}

#[test]
fn a_restore_thirty_one_minutes_later_starts_a_new_session_at_page_one() {
    let mut t = attentive(18);
    view(&mut t, T0, "/");
    view(&mut t, at(MIN), "/two");
    hide(&mut t, at(2 * MIN));
    let evs = sent(&mut t);
    let old = sid(&evs[0]).to_owned();
    assert_eq!(kinds(&evs).last(), Some(&("page_exit", 2)));

    restore(&mut t, at(33 * MIN));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [("screen_view", 1)],
        "no exit: it went at hide"
    );
    assert_eq!(evs[0]["navigation_type"], "back_forward_cache");
    assert_eq!(evs[0]["path"], "/two");
    assert_ne!(sid(&evs[0]), old);
    assert_eq!(sid(&evs[0]), t.sid(at(33 * MIN)));
}

// 7. Prerendering.

#[test]
fn a_prerendered_page_with_no_page_view_sends_nothing_even_when_hidden() {
    let mut t = attentive(19);
    interaction(&mut t, at(SEC));
    scrolled(&mut t, at(2 * SEC), 50);
    // Idle past the timeout while prerendered: no page to exit or reenter.
    let _ = t.sid(at(40 * MIN));
    hide(&mut t, at(41 * MIN));
    assert!(sent(&mut t).is_empty());
    assert_eq!(t.tracker.page_count(), 0);
}

#[test]
fn the_first_page_view_after_prerendering_is_page_one() {
    let mut t = attentive(20);
    interaction(&mut t, at(SEC));
    scrolled(&mut t, at(2 * SEC), 50);
    shown(&mut t, at(5 * SEC), "/landing");
    hide(&mut t, at(8 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("screen_view", 1), ("page_exit", 1)]);
    assert_eq!(evs[0]["path"], "/landing");
    assert_eq!(
        engagement(&evs[1]),
        (3, 3_000, 0, 0),
        "nothing from before the view"
    );
}

// 8. clear().

#[test]
fn clear_sends_the_exit_with_the_old_ids_and_the_next_view_is_page_one_with_the_new_ids() {
    let mut t = attentive(21);
    view(&mut t, T0, "/account");
    view(&mut t, at(SEC), "/account/settings");
    let (old_sid, old_vid) = (t.sid(at(SEC)), t.tracker.visitor_id().to_owned());
    sent(&mut t);

    clear(&mut t, at(5 * SEC));
    let evs = sent(&mut t);
    assert_eq!(kinds(&evs), [("page_exit", 2)]);
    assert_eq!(sid(&evs[0]), old_sid);
    assert_eq!(evs[0]["anonymous_id"], old_vid.as_str());
    assert_eq!(num(&evs[0], "time_on_page"), 4);
    assert_eq!(t.tracker.page_count(), 0);
    let new_sid = t.sid(at(5 * SEC));
    let new_vid = t.tracker.visitor_id().to_owned();
    assert_ne!(new_sid, old_sid);
    assert_ne!(new_vid, old_vid);

    assert!(view(&mut t, at(6 * SEC), "/login"));
    hide(&mut t, at(9 * SEC));
    let evs = sent(&mut t);
    assert_eq!(
        kinds(&evs),
        [("screen_view", 1), ("page_exit", 1)],
        "no second exit of the cleared view"
    );
    for e in &evs {
        assert_eq!(sid(e), new_sid);
        assert_eq!(e["anonymous_id"], new_vid.as_str());
    }
    assert_eq!(engagement(&evs[1]), (3, 3_000, 0, 0));
}

// ------------------------------------------- every session begins with a view

fn track(t: &mut PageShell, now: Millis, event: &str, path: &str) {
    t.at(now, |c| {
        c.handle_track(now, event, "{}", &page(path)).unwrap()
    });
}

/// (name, path, timestamp) of each event.
fn entries(evs: &[Value]) -> Vec<(&str, &str, u64)> {
    evs.iter()
        .map(|e| (name(e), e["path"].as_str().unwrap(), num(e, "timestamp")))
        .collect()
}

#[test]
fn after_clear_the_new_session_begins_with_a_screen_view_of_the_page_its_first_event_is_on() {
    let mut t = attentive(30);
    view(&mut t, T0, "/account");
    let old = t.sid(T0);
    clear(&mut t, at(SEC));
    let new = t.sid(at(SEC));
    track(&mut t, at(2 * SEC), "logged_out", "/account");
    let evs = sent(&mut t);
    assert_eq!(
        entries(&evs),
        [
            ("screen_view", "/account", T0.0),
            ("page_exit", "/account", at(SEC).0),
            ("screen_view", "/account", at(2 * SEC).0),
            ("logged_out", "/account", at(2 * SEC).0),
        ]
    );
    let sessions: Vec<&str> = evs.iter().map(sid).collect();
    assert_eq!(sessions, [old.as_str(), &old, &new, &new]);
    assert_eq!(num(&evs[2], "page_count"), 1, "the new session's page 1");
    // The view is of that URL: its automatic view again is no new one.
    assert!(!view(&mut t, at(3 * SEC), "/account"));
    // A navigation after clear() with no event first: that is the entry.
    clear(&mut t, at(4 * SEC));
    view(&mut t, at(5 * SEC), "/login");
    track(&mut t, at(6 * SEC), "shown_login", "/login");
    let evs = sent(&mut t);
    let names: Vec<&str> = evs.iter().map(name).collect();
    assert_eq!(names, ["page_exit", "screen_view", "shown_login"]);
}

#[test]
fn an_event_tracked_while_prerendered_in_a_new_session_waits_for_the_pages_first_view() {
    let mut t = attentive(31);
    track(&mut t, at(SEC), "early", "/landing");
    assert!(sent(&mut t).is_empty(), "no view yet, so no session start");
    shown(&mut t, at(5 * SEC), "/landing");
    assert_eq!(
        entries(&sent(&mut t)),
        [
            ("screen_view", "/landing", at(5 * SEC).0),
            ("early", "/landing", at(5 * SEC).0),
        ],
        "after the view, at its time"
    );
    // A prerendered page that is never shown sends nothing at all.
    let mut never = attentive(32);
    track(&mut never, at(SEC), "early", "/landing");
    hide(&mut never, at(2 * SEC));
    assert!(sent(&mut never).is_empty());
}

#[test]
fn an_event_tracked_while_prerendered_in_a_session_that_already_began_goes_at_once() {
    let mut t = Browser::default().open(&Tab::in_session(T0), at(SEC), &Config::default(), "");
    track(&mut t, at(2 * SEC), "early", "/next");
    assert_eq!(entries(&sent(&mut t)), [("early", "/next", at(2 * SEC).0)]);
}

#[test]
fn a_session_rotated_while_prerendered_holds_its_events_until_the_view() {
    let mut t = Browser::default().open(&Tab::in_session(T0), at(SEC), &Config::default(), "");
    let old = t.sid(at(SEC));
    // 31 idle minutes later, still prerendered: the event rotates the
    // session, which has no view yet.
    track(&mut t, at(31 * MIN), "late", "/next");
    assert!(sent(&mut t).is_empty());
    shown(&mut t, at(32 * MIN), "/next");
    let evs = sent(&mut t);
    assert_eq!(
        entries(&evs),
        [
            ("screen_view", "/next", at(32 * MIN).0),
            ("late", "/next", at(32 * MIN).0)
        ]
    );
    assert!(evs.iter().all(|e| sid(e) != old));
}
