//! Every session rule, driven through a fake browser (shared localStorage
//! and cookies, a sessionStorage per tab, a fake clock) that carries out
//! the core's commands: reloads, new tabs, duplicated tabs, idle time,
//! clear().
#![cfg(not(target_arch = "wasm32"))]

mod support;

use sessionmark::config::Config;
use sessionmark::ids;
use sessionmark::input::Code;
use sessionmark::rand::Rng;
use sessionmark::time::Millis;
use sessionmark::tracker::Page;
use support::{Browser, PageShell, Tab, T0};

const MIN: u64 = 60_000;

fn at(min: u64) -> Millis {
    T0.plus(Millis(min * MIN))
}

/// Opens a page in `tab` (no page view yet).
fn load(b: &mut Browser, tab: &Tab, now: Millis, query: &str) -> PageShell {
    b.open(tab, now, &Config::default(), query)
}

/// Opens a page in `tab` and counts it as a page view.
fn visit(b: &mut Browser, tab: &Tab, now: Millis) -> (PageShell, String) {
    let mut p = load(b, tab, now, "");
    p.at(now, |t| {
        t.handle_page_view(now, &Page::default(), "{}", false, None);
    });
    let id = p.sid(now);
    (p, id)
}

/// pagehide of the tab's page (reload, navigation, close).
fn leave(mut p: PageShell) {
    p.leave(T0);
}

#[test]
fn a_first_visit_stores_both_ids_in_the_documented_formats() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (_p, id) = visit(&mut b, &tab, T0);
    assert!(ids::is_session_id(&id), "{id}");
    assert_eq!(tab.session.get("did_session").unwrap(), id);
    assert_eq!(
        tab.session.get("did_session_timestamp").unwrap(),
        T0.0.to_string()
    );
    assert_eq!(
        tab.session.get("did_session_start").unwrap(),
        T0.0.to_string()
    );
    assert_eq!(
        ids::session_start(&id),
        Some(T0),
        "the UUIDv7 time is the session start"
    );
    assert!(ids::is_visitor_id(&b.local.get("did").unwrap()));
}

#[test]
fn a_reload_keeps_the_session_and_counts_pages() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (p, id) = visit(&mut b, &tab, T0);
    assert_eq!(p.tracker.page_count(), 1);
    leave(p);
    let (p, again) = visit(&mut b, &tab, at(1));
    assert_eq!(again, id);
    assert_eq!(p.tracker.page_count(), 2);
    assert_eq!(tab.session.get("did_page_count").unwrap(), "2");
}

#[test]
fn a_new_tab_gets_its_own_session_but_the_same_visitor() {
    let mut b = Browser::default();
    let (one, two) = (Tab::new(), Tab::new());
    let (_p1, a) = visit(&mut b, &one, T0);
    let v = b.local.get("did").unwrap();
    let (p2, c) = visit(&mut b, &two, at(1));
    assert_ne!(a, c);
    assert_eq!(b.local.get("did").unwrap(), v);
    assert_eq!(p2.tracker.visitor_id(), v);
}

#[test]
fn a_duplicated_tab_gets_a_new_session_while_the_original_keeps_its_own() {
    let mut b = Browser::default();
    let original = Tab::new();
    let (mut p_original, a) = visit(&mut b, &original, T0);
    // The browser copies sessionStorage of a tab that is still open.
    let dup = original.duplicate();
    let (p_dup, d) = visit(&mut b, &dup, at(1));
    assert_ne!(a, d);
    assert_eq!(p_dup.tracker.page_count(), 1);
    assert_eq!(p_original.sid(at(1)), a);
    // And the duplicate's own reload keeps its new session.
    leave(p_dup);
    assert_eq!(visit(&mut b, &dup, at(2)).1, d);
}

#[test]
fn idle_29_minutes_59_seconds_keeps_the_session() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    assert_eq!(p.sid(T0.plus(Millis(30 * MIN - 1))), id);
}

#[test]
fn idle_30_minutes_starts_a_new_session_on_read() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    let next = p.sid(at(30));
    assert_ne!(next, id);
    assert_eq!(tab.session.get("did_session").unwrap(), next);
    // The page still open is the new session's entry page.
    assert_eq!(tab.session.get("did_page_count").unwrap(), "1");
}

#[test]
fn idle_30_minutes_starts_a_new_session_on_reload() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (p, id) = visit(&mut b, &tab, T0);
    leave(p);
    let (p, next) = visit(&mut b, &tab, at(30));
    assert_ne!(next, id);
    assert_eq!(p.tracker.page_count(), 1);
}

#[test]
fn reading_the_id_never_extends_the_session() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    for m in [10, 20, 29] {
        assert_eq!(p.sid(at(m)), id);
    }
    assert_ne!(p.sid(at(30)), id);
}

#[test]
fn activity_extends_the_session() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    p.at(at(20), |t| t.handle_interaction(at(20)));
    assert_eq!(p.sid(at(49)), id);
    assert_ne!(p.sid(at(50)), id);
}

#[test]
fn activity_rotation_is_reported_once_for_the_entry_screen_view() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, _) = visit(&mut b, &tab, T0);
    p.flush(T0);
    p.take_requests(T0);
    // The rotation shows as the old view's exit and the new session's
    // entry view, once.
    let names = |p: &mut PageShell, now: Millis| -> Vec<String> {
        p.flushed(now)
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(names(&mut p, at(1)).is_empty());
    p.at(at(45), |t| t.handle_interaction(at(45)));
    assert_eq!(names(&mut p, at(45)), ["page_exit", "screen_view"]);
    p.at(at(46), |t| t.handle_interaction(at(46)));
    assert!(names(&mut p, at(46)).is_empty());
}

#[test]
fn a_busy_session_rotates_at_24_hours() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    let mut m = 0;
    while m < 24 * 60 - 10 {
        m += 10;
        p.at(at(m), |t| t.handle_interaction(at(m)));
    }
    assert_eq!(p.sid(at(24 * 60 - 1)), id);
    assert_ne!(p.sid(at(24 * 60)), id);
}

#[test]
fn a_clock_going_backwards_keeps_the_session_and_stores_the_earlier_time() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, at(60));
    p.at(at(0), |t| t.handle_interaction(at(0)));
    assert_eq!(p.sid(at(0)), id);
    assert_eq!(
        tab.session.get("did_session_timestamp").unwrap(),
        at(0).0.to_string()
    );
    // Time then runs forward normally from the earlier clock.
    assert_ne!(p.sid(at(30)), id);
}

#[test]
fn malformed_stored_values_start_a_fresh_session_without_failing() {
    let cases: [(&str, &str, &str); 5] = [
        ("did_session", "sess_not-a-uuid", ""),
        ("did_session_timestamp", "yesterday", ""),
        ("did_session_timestamp", "", ""),
        (
            "did_session",
            "SESS_018E0E5C-5A00-7ABC-8DEF-0123456789AB",
            "",
        ),
        ("did_page_count", "many", "keeps"),
    ];
    for (key, bad, outcome) in cases {
        let mut b = Browser::default();
        let tab = Tab::new();
        let (p, id) = visit(&mut b, &tab, T0);
        leave(p);
        tab.session.set(key, bad);
        let (p, next) = visit(&mut b, &tab, at(1));
        assert!(ids::is_session_id(&next));
        if outcome == "keeps" {
            assert_eq!(next, id);
            assert_eq!(p.tracker.page_count(), 1, "bad count restarts at 0");
        } else {
            assert_ne!(next, id, "{key}={bad}");
        }
    }
    let mut b = Browser::default();
    b.local.set("did", "anon_<script>");
    let tab = Tab::new();
    visit(&mut b, &tab, T0);
    assert!(ids::is_visitor_id(&b.local.get("did").unwrap()));
}

#[test]
fn clear_mints_new_ids_and_resets_the_page_count() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    let v = b.local.get("did").unwrap();
    p.at(at(1), |t| t.handle_clear(at(1), None));
    let (id2, v2) = (p.sid(at(1)), p.tracker.visitor_id().to_owned());
    assert_eq!(p.tracker.page_count(), 0);
    assert_ne!(id2, id);
    assert_ne!(v2, v);
    assert_eq!(b.local.get("did").unwrap(), v2);
    assert_eq!(tab.session.get("did_session").unwrap(), id2);
    assert_eq!(
        tab.session.get("did_session_start").unwrap(),
        at(1).0.to_string()
    );
}

#[test]
fn url_ids_in_the_exact_formats_are_adopted() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let mut rng = Rng::new(42, 42);
    let carried_sid = ids::mint_session_id(T0, &mut rng);
    let carried_vid = ids::mint_visitor_id(&mut rng);
    let query = format!("?sessionId={carried_sid}&anonId={carried_vid}");
    let mut p = load(&mut b, &tab, at(5), &query);
    assert_eq!(p.sid(at(5)), carried_sid);
    assert_eq!(p.tracker.visitor_id(), carried_vid);
    assert_eq!(
        p.tracker.session_start(),
        T0,
        "start is the carried id's UUIDv7 time"
    );
    assert_eq!(tab.session.get("did_session").unwrap(), carried_sid);
    assert_eq!(b.local.get("did").unwrap(), carried_vid);
}

#[test]
fn malformed_or_stale_url_ids_are_ignored_and_never_stored() {
    let mut rng = Rng::new(7, 7);
    let stale = ids::mint_session_id(T0, &mut rng);
    for (s, v) in [
        ("sess_bogus", "anon_bogus"),
        (
            "SESS_018E0E5C-5A00-7ABC-8DEF-0123456789AB",
            "ANON_7C9E6679-7425-40DE-944B-E07FC1F90AE7",
        ),
        (
            "sess_018e0e5c-5a00-4abc-8def-0123456789ab",
            "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7x",
        ),
        (stale.as_str(), "<img src=x>"),
    ] {
        let mut b = Browser::default();
        let tab = Tab::new();
        let now = T0.plus(Millis(25 * 60 * MIN));
        let mut p = load(&mut b, &tab, now, &format!("sessionId={s}&anonId={v}"));
        assert_ne!(p.sid(now), s);
        assert_ne!(p.tracker.visitor_id(), v);
        assert!(!tab.session.values().iter().any(|x| x == s));
        assert!(!b.local.values().iter().any(|x| x == v));
    }
}

#[test]
fn a_scroll_storm_writes_last_activity_once_per_interval() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, _) = visit(&mut b, &tab, T0);
    let stored = || tab.session.get("did_session_timestamp").unwrap();
    for ms in 1..=4_999 {
        let now = T0.plus(Millis(ms));
        let commands = {
            p.tracker.handle_interaction(now);
            p.poll_commands(now)
        };
        assert!(commands.is_empty(), "no write inside the interval");
    }
    let now = T0.plus(Millis(5_000));
    p.tracker.handle_interaction(now);
    assert_eq!(p.poll_commands(now).len(), 1);
    // Leaving the page stores the exact time.
    p.at(T0.plus(Millis(6_000)), |t| {
        t.handle_interaction(T0.plus(Millis(6_000)));
        t.handle_page_hide(T0.plus(Millis(6_000)), None);
    });
    assert_eq!(stored(), (T0.0 + 6_000).to_string());
}

#[test]
fn a_back_forward_restore_after_30_minutes_starts_a_new_session() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, id) = visit(&mut b, &tab, T0);
    p.leave(T0);
    p.at(at(31), |t| t.handle_page_restore(at(31), true, false, None));
    assert_ne!(p.sid(at(31)), id);
    assert!(tab.session.contains("did_tab"), "alive again");
}

#[test]
fn url_parameters_are_read_from_a_query_string() {
    use sessionmark::tracker::Carried;
    let c = Carried::from_query("?utm=x&sessionId=sess_a&anonId=anon_b&x");
    assert_eq!(c.session, Some("sess_a"));
    assert_eq!(c.visitor, Some("anon_b"));
    assert_eq!(Carried::from_query(""), Carried::default());
}

// ---------------------------------------------------------------- cookies

/// Opens a page with cookies on, as the shell does: visible and focused
/// as given.
fn open_with_cookies(
    b: &mut Browser,
    tab: &Tab,
    now: Millis,
    focused: bool,
) -> (PageShell, String) {
    b.shown = (true, focused, true);
    let mut p = load(b, tab, now, "");
    p.at(now, |t| {
        t.handle_page_view(now, &Page::default(), "{}", false, None);
    });
    let id = p.sid(now);
    (p, id)
}

#[test]
fn the_visitor_cookie_is_written_for_a_year_on_every_load() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (p, _) = open_with_cookies(&mut b, &tab, T0, false);
    let c = b.cookies.get("ss_vid").unwrap();
    assert!(
        c.contains("Max-Age=31536000") && c.contains("Path=/") && c.contains("SameSite=Lax"),
        "{c}"
    );
    assert_eq!(p.cookie("ss_vid"), b.local.get("did"));
}

#[test]
fn the_focused_tab_owns_the_session_cookie_and_each_tab_keeps_its_session() {
    let mut b = Browser::default();
    let (one, two) = (Tab::new(), Tab::new());
    let (mut p1, a) = open_with_cookies(&mut b, &one, T0, true);
    assert_eq!(
        p1.cookie("ss_sid").as_deref(),
        Some(a.as_str()),
        "focused at start-up"
    );
    let (mut p2, c) = open_with_cookies(&mut b, &two, at(1), false);
    assert_eq!(
        p1.cookie("ss_sid").as_deref(),
        Some(a.as_str()),
        "an unfocused new tab does not take it"
    );
    // The user switches to tab two: it gains focus.
    p1.at(at(2), |t| t.handle_focus(at(2), false));
    p2.at(at(2), |t| t.handle_focus(at(2), true));
    assert_eq!(p1.cookie("ss_sid").as_deref(), Some(c.as_str()));
    // Back to tab one by making it visible again.
    p1.at(at(3), |t| t.handle_visibility(at(3), false));
    p1.at(at(4), |t| t.handle_visibility(at(4), true));
    assert_eq!(p1.cookie("ss_sid").as_deref(), Some(a.as_str()));
    assert_eq!(p1.sid(at(4)), a);
    assert_eq!(p2.sid(at(4)), c);
}

#[test]
fn a_tab_that_gains_focus_takes_the_session_cookie_even_when_its_blur_was_missed() {
    let mut b = Browser::default();
    let (one, two) = (Tab::new(), Tab::new());
    // Both tabs report focus at start-up (as headless pages do, or a blur
    // the browser never delivered): the later one holds the cookie.
    let (mut p1, a) = open_with_cookies(&mut b, &one, T0, true);
    let (mut p2, c) = open_with_cookies(&mut b, &two, at(1), true);
    assert_eq!(p1.cookie("ss_sid").as_deref(), Some(c.as_str()));
    // Tab one gains focus without having lost it first, as far as it knows.
    p1.at(at(2), |t| t.handle_focus(at(2), true));
    assert_eq!(p1.cookie("ss_sid").as_deref(), Some(a.as_str()));
    // Tab two becomes visible without having been hidden first.
    p2.at(at(3), |t| t.handle_visibility(at(3), true));
    assert_eq!(p2.cookie("ss_sid").as_deref(), Some(c.as_str()));
}

#[test]
fn a_rotation_of_the_focused_tab_rewrites_the_session_cookie_and_an_unfocused_one_does_not() {
    let mut b = Browser::default();
    let (one, two) = (Tab::new(), Tab::new());
    let (mut p1, _) = open_with_cookies(&mut b, &one, T0, false);
    let (mut p2, c) = open_with_cookies(&mut b, &two, T0, true);
    let fresh_one = p1.sid(at(31));
    assert_eq!(
        p1.cookie("ss_sid").as_deref(),
        Some(c.as_str()),
        "unfocused rotation leaves it"
    );
    let fresh_two = p2.sid(at(31));
    assert_ne!(fresh_one, fresh_two);
    assert_eq!(p1.cookie("ss_sid").as_deref(), Some(fresh_two.as_str()));
}

#[test]
fn a_sealed_session_rotates_the_tab_and_its_cookie() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let cfg = Config {
        enable_batching: false,
        ..Config::default()
    };
    b.shown = (true, true, true);
    let mut p = b.open(&tab, T0, &cfg, "");
    p.at(T0, |t| {
        t.handle_page_view(T0, &Page::default(), "{}", false, None);
    });
    let a = p.sid(T0);
    p.at(at(1), |t| {
        t.handle_track(at(1), "x", "{}", &Page::default()).unwrap()
    });
    let reqs = p.take_requests(at(1));
    p.answer(reqs[0].id, 200, r#"{"accepted":1,"duplicates":0,"rejected":[],"sealed":["sess_018e0e5c-5a00-7abc-8def-0123456789ab"]}"#, at(1));
    assert_eq!(p.sid(at(1)), a, "another session's seal does not matter");
    let answer = format!(r#"{{"accepted":1,"duplicates":0,"rejected":[],"sealed":["{a}"]}}"#);
    p.answer(reqs[1].id, 200, &answer, at(2));
    let next = p.sid(at(2));
    assert_ne!(next, a);
    assert_eq!(p.cookie("ss_sid").as_deref(), Some(next.as_str()));
}

#[test]
fn clear_rewrites_both_cookies_even_unfocused_and_an_adopted_session_takes_ss_sid() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let mut rng = Rng::new(9, 9);
    let (mut p, a) = open_with_cookies(&mut b, &tab, T0, true);
    p.at(at(1), |t| t.handle_focus(at(1), false));
    p.at(at(2), |t| t.handle_clear(at(2), None));
    let cleared = p.sid(at(2));
    assert_ne!(cleared, a);
    assert_eq!(
        p.cookie("ss_sid").as_deref(),
        Some(cleared.as_str()),
        "the logged-out session is not left paired"
    );
    assert_eq!(p.cookie("ss_vid"), b.local.get("did"));

    let carried = ids::mint_session_id(at(3), &mut rng);
    p.at(at(3), |t| t.handle_focus(at(3), true));
    let query = format!("sessionId={carried}");
    p.at(at(3), |t| {
        t.handle_session_id_read(at(3), Some(&query));
    });
    assert_eq!(p.sid(at(3)), carried);
    assert_eq!(p.cookie("ss_sid").as_deref(), Some(carried.as_str()));
}

// ------------------------------------------ back/forward cache and the tab

#[test]
fn a_restored_page_takes_up_the_session_and_pages_the_tab_moved_on_to() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut cached, id) = visit(&mut b, &tab, T0);
    // Page one goes into the back/forward cache; page two of the tab is
    // used for 40 minutes (active every 10).
    cached.leave(at(0));
    let (mut two, again) = visit(&mut b, &tab, at(1));
    assert_eq!(again, id);
    for m in [10, 20, 30, 40] {
        two.at(at(m), |t| t.handle_interaction(at(m)));
    }
    leave(two);
    // Back: the restored page continues the tab's session, as page 3.
    cached.at(at(41), |t| t.handle_page_restore(at(41), true, false, None));
    assert_eq!(cached.sid(at(41)), id, "the tab was active a minute ago");
    assert_eq!(cached.tracker.page_count(), 3);
}

#[test]
fn a_restored_page_takes_up_the_ids_a_clear_on_another_page_made() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut cached, id) = visit(&mut b, &tab, T0);
    cached.leave(at(0));
    let (mut two, _) = visit(&mut b, &tab, at(1));
    two.at(at(2), |t| t.handle_clear(at(2), None));
    let (new_id, new_visitor) = (
        tab.session.get("did_session").unwrap(),
        b.local.get("did").unwrap(),
    );
    assert_ne!(new_id, id);
    cached.at(at(3), |t| t.handle_page_restore(at(3), true, false, None));
    assert_eq!(cached.sid(at(3)), new_id);
    assert_eq!(cached.tracker.visitor_id(), new_visitor);
}

#[test]
fn a_late_pagehide_of_the_page_left_keeps_the_restored_pages_mark() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut cached, _) = visit(&mut b, &tab, T0);
    cached.leave(at(0));
    let (mut away, _) = visit(&mut b, &tab, at(1));
    // Chromium: the restored page's pageshow runs before the left page's
    // pagehide.
    cached.at(at(2), |t| t.handle_page_restore(at(2), true, false, None));
    let mark = tab.session.get("did_tab");
    away.leave(at(2));
    assert_eq!(
        tab.session.get("did_tab"),
        mark,
        "the restored page's mark stays"
    );
    assert!(
        tab.session.contains("did_tab"),
        "a duplicate of this tab would be detected"
    );
}

#[test]
fn forgetting_removes_every_stored_key_and_expires_both_cookies() {
    let mut b = Browser::default();
    let tab = Tab::new();
    let (mut p, _) = open_with_cookies(&mut b, &tab, T0, true);
    b.local.set("did_outbox", "x");
    p.at(T0, |t| t.handle_consent(T0, Some(false)));
    assert!(tab.session.is_empty(), "{:?}", tab.session);
    assert!(b.local.is_empty(), "{:?}", b.local);
    for name in ["ss_sid", "ss_vid"] {
        let c = b.cookies.get(name).unwrap();
        assert!(
            c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"),
            "{c}"
        );
    }
    assert!(
        p.stopped,
        "the shell removes its listeners and tracing headers"
    );
}

#[test]
fn an_event_held_for_consent_in_a_session_that_begins_on_consent_follows_its_screen_view() {
    let mut b = Browser::default();
    b.shown = (true, true, false);
    let tab = Tab::new();
    let cfg = Config {
        require_consent: true,
        ..Config::default()
    };
    let mut p = b.open(&tab, T0, &cfg, "");
    let then = Page {
        path: "/then",
        ..Page::default()
    };
    p.at(T0, |t| t.handle_track(T0, "held", "{}", &then).unwrap());
    p.at(at(1), |t| t.handle_consent(at(1), Some(true)));
    let events = p.flushed(at(1));
    let seen: Vec<(&str, &serde_json::Value, &str)> = events
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                &e["timestamp"],
                e["path"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("screen_view", &at(1).0.into(), ""),
            ("held", &at(1).0.into(), "/then")
        ],
        "the page of its call, the time of the session's first view"
    );
}

#[test]
fn an_event_held_for_consent_keeps_the_time_of_its_call() {
    let mut b = Browser::default();
    // The session began with a view on an earlier page of the tab.
    let tab = Tab::in_session(T0);
    let cfg = Config {
        require_consent: true,
        ..Config::default()
    };
    let mut p = b.open(&tab, T0, &cfg, "");
    assert!(
        !p.listening && !tab.session.contains("did_tab") && b.local.is_empty(),
        "nothing before consent"
    );
    let then = Page {
        path: "/then",
        ..Page::default()
    };
    p.at(T0, |t| t.handle_track(T0, "held", "{}", &then).unwrap());
    p.at(at(1), |t| t.handle_consent(at(1), Some(true)));
    let sent = p.flushed(at(1));
    let held = sent.iter().find(|e| e["name"] == "held").unwrap();
    assert_eq!(held["timestamp"], T0.0);
    assert_eq!(held["path"], "/then");
}

#[test]
fn the_ids_clear_mints_come_from_the_random_bytes_the_browser_gave_with_it() {
    // Three pages alike in everything before clear() (the same fake random
    // source and inputs, so the same ids so far).
    let cleared = |words: [u32; 4]| {
        let mut b = Browser::default();
        let mut p = load(&mut b, &Tab::new(), T0, "");
        let before = (p.tracker.visitor_id().to_owned(), p.sid(T0));
        p.random = words;
        p.input(at(1), Code::Clear, &["0", "800", "800", "false"]);
        let after = (p.tracker.visitor_id().to_owned(), p.sid(at(1)));
        (before, after)
    };
    let (a_before, a) = cleared([1, 2, 3, 4]);
    let (b_before, b) = cleared([5, 6, 7, 8]);
    let (_, a_again) = cleared([1, 2, 3, 4]);
    assert_eq!(a_before, b_before, "the same ids before clear()");
    assert_ne!(
        a.0, b.0,
        "the new visitor id comes from clear()'s own bytes"
    );
    assert_ne!(a.1, b.1, "so does the new session id");
    assert_eq!(a, a_again, "and only from them");
}
