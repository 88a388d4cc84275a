//! Every session rule, driven through a fake browser (two storage maps and a
//! fake clock): reloads, new tabs, duplicated tabs, idle time, clear().
#![cfg(not(target_arch = "wasm32"))]

use sessionmark::config::Config;
use sessionmark::ids;
use sessionmark::rand::Rng;
use sessionmark::store::{Area, Snapshot};
use sessionmark::time::Millis;
use sessionmark::tracker::{Carried, Page, Tracker};
use std::collections::HashMap;

const T0: Millis = Millis(1_709_318_400_000);
const MIN: u64 = 60_000;

type Map = HashMap<String, String>;

/// One browser: localStorage and cookies shared by all tabs,
/// sessionStorage per tab.
#[derive(Default)]
struct Browser {
    local: Map,
    /// Cookie name → the last `document.cookie` assignment for it.
    cookies: Map,
    seed: u64,
}

struct Tab {
    session: Map,
    page: Option<Tracker>,
}

impl Browser {
    fn load<'a>(&mut self, tab: &'a mut Tab, now: Millis, carried: Carried) -> &'a mut Tracker {
        let snap = self.snapshot(tab);
        self.seed += 1;
        let t = Tracker::start(
            Config::default(),
            &snap,
            &carried,
            now,
            Rng::new(self.seed, 99),
        );
        tab.page = Some(t);
        self.apply(tab);
        tab.page.as_mut().unwrap()
    }

    /// What a page of `tab` would read from storage now.
    fn snapshot(&self, tab: &Tab) -> Snapshot {
        Snapshot::read(|area, key| match area {
            Area::Local => self.local.get(key).cloned(),
            Area::Session => tab.session.get(key).cloned(),
            Area::Cookie => None,
        })
    }

    /// Opens a page in `tab` and counts it as a page view.
    fn visit(&mut self, tab: &mut Tab, now: Millis) -> String {
        self.load(tab, now, Carried::default())
            .page_view(now, &Page::default(), "/", "{}", false);
        self.apply(tab);
        sid(tab, now)
    }

    fn apply(&mut self, tab: &mut Tab) {
        let Some(t) = tab.page.as_mut() else { return };
        for w in t.take_writes() {
            let map = match w.area {
                Area::Local => &mut self.local,
                Area::Session => &mut tab.session,
                Area::Cookie => &mut self.cookies,
            };
            match w.value {
                Some(v) => map.insert(w.key.into(), v),
                None => map.remove(w.key),
            };
        }
    }

    /// pagehide of the tab's page (reload, navigation, close).
    fn leave(&mut self, tab: &mut Tab) {
        if let Some(t) = tab.page.as_mut() {
            t.page_hide(T0, tab.session.get("did_tab").map(String::as_str));
        }
        self.apply(tab);
        tab.page = None;
    }
}

fn new_tab() -> Tab {
    Tab {
        session: Map::new(),
        page: None,
    }
}

fn sid(tab: &mut Tab, now: Millis) -> String {
    tab.page.as_mut().unwrap().session_id(now).to_owned()
}

fn at(min: u64) -> Millis {
    T0.plus(Millis(min * MIN))
}

#[test]
fn a_first_visit_stores_both_ids_in_the_documented_formats() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    assert!(ids::is_session_id(&id), "{id}");
    assert_eq!(tab.session["did_session"], id);
    assert_eq!(tab.session["did_session_timestamp"], T0.0.to_string());
    assert_eq!(tab.session["did_session_start"], T0.0.to_string());
    assert_eq!(
        ids::session_start(&id),
        Some(T0),
        "the UUIDv7 time is the session start"
    );
    assert!(ids::is_visitor_id(&b.local["did"]));
}

#[test]
fn a_reload_keeps_the_session_and_counts_pages() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    assert_eq!(tab.page.as_ref().unwrap().page_count(), 1);
    b.leave(&mut tab);
    assert_eq!(b.visit(&mut tab, at(1)), id);
    assert_eq!(tab.page.as_ref().unwrap().page_count(), 2);
    assert_eq!(tab.session["did_page_count"], "2");
}

#[test]
fn a_new_tab_gets_its_own_session_but_the_same_visitor() {
    let mut b = Browser::default();
    let (mut one, mut two) = (new_tab(), new_tab());
    let a = b.visit(&mut one, T0);
    let v = b.local["did"].clone();
    let c = b.visit(&mut two, at(1));
    assert_ne!(a, c);
    assert_eq!(b.local["did"], v);
    assert_eq!(two.page.as_ref().unwrap().visitor_id(), v);
}

#[test]
fn a_duplicated_tab_gets_a_new_session_while_the_original_keeps_its_own() {
    let mut b = Browser::default();
    let mut original = new_tab();
    let a = b.visit(&mut original, T0);
    // The browser copies sessionStorage of a tab that is still open.
    let mut dup = Tab {
        session: original.session.clone(),
        page: None,
    };
    let d = b.visit(&mut dup, at(1));
    assert_ne!(a, d);
    assert_eq!(dup.page.as_ref().unwrap().page_count(), 1);
    assert_eq!(sid(&mut original, at(1)), a);
    // And the duplicate's own reload keeps its new session.
    b.leave(&mut dup);
    assert_eq!(b.visit(&mut dup, at(2)), d);
}

#[test]
fn idle_29_minutes_59_seconds_keeps_the_session() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    assert_eq!(sid(&mut tab, T0.plus(Millis(30 * MIN - 1))), id);
}

#[test]
fn idle_30_minutes_starts_a_new_session_on_read() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    let next = sid(&mut tab, at(30));
    assert_ne!(next, id);
    b.apply(&mut tab);
    assert_eq!(tab.session["did_session"], next);
    // The page still open is the new session's entry page.
    assert_eq!(tab.session["did_page_count"], "1");
}

#[test]
fn idle_30_minutes_starts_a_new_session_on_reload() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    b.leave(&mut tab);
    assert_ne!(b.visit(&mut tab, at(30)), id);
    assert_eq!(tab.page.as_ref().unwrap().page_count(), 1);
}

#[test]
fn reading_the_id_never_extends_the_session() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    for m in [10, 20, 29] {
        assert_eq!(sid(&mut tab, at(m)), id);
    }
    assert_ne!(sid(&mut tab, at(30)), id);
}

#[test]
fn activity_extends_the_session() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    tab.page.as_mut().unwrap().activity(at(20));
    assert_eq!(sid(&mut tab, at(49)), id);
    assert_ne!(sid(&mut tab, at(50)), id);
}

#[test]
fn activity_rotation_is_reported_once_for_the_entry_screen_view() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    b.visit(&mut tab, T0);
    let t = tab.page.as_mut().unwrap();
    assert_eq!(t.take_rotation(), None);
    t.activity(at(45));
    assert!(t.take_rotation().is_some());
    assert_eq!(t.take_rotation(), None);
}

#[test]
fn a_busy_session_rotates_at_24_hours() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    let t = tab.page.as_mut().unwrap();
    let mut m = 0;
    while m < 24 * 60 - 10 {
        m += 10;
        t.activity(at(m));
    }
    assert_eq!(t.session_id(at(24 * 60 - 1)), id);
    assert_ne!(t.session_id(at(24 * 60)), id);
}

#[test]
fn a_clock_going_backwards_keeps_the_session_and_stores_the_earlier_time() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, at(60));
    let t = tab.page.as_mut().unwrap();
    t.activity(at(0));
    assert_eq!(t.session_id(at(0)), id);
    b.apply(&mut tab);
    assert_eq!(tab.session["did_session_timestamp"], at(0).0.to_string());
    // Time then runs forward normally from the earlier clock.
    assert_ne!(sid(&mut tab, at(30)), id);
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
        let mut tab = new_tab();
        let id = b.visit(&mut tab, T0);
        b.leave(&mut tab);
        tab.session.insert(key.into(), bad.into());
        let next = b.visit(&mut tab, at(1));
        assert!(ids::is_session_id(&next));
        if outcome == "keeps" {
            assert_eq!(next, id);
            assert_eq!(
                tab.page.as_ref().unwrap().page_count(),
                1,
                "bad count restarts at 0"
            );
        } else {
            assert_ne!(next, id, "{key}={bad}");
        }
    }
    let mut b = Browser::default();
    b.local.insert("did".into(), "anon_<script>".into());
    let mut tab = new_tab();
    b.visit(&mut tab, T0);
    assert!(ids::is_visitor_id(&b.local["did"]));
}

#[test]
fn clear_mints_new_ids_and_resets_the_page_count() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    let v = b.local["did"].clone();
    let t = tab.page.as_mut().unwrap();
    t.clear(at(1));
    let (id2, v2) = (t.session_id(at(1)).to_owned(), t.visitor_id().to_owned());
    assert_eq!(t.page_count(), 0);
    b.apply(&mut tab);
    assert_ne!(id2, id);
    assert_ne!(v2, v);
    assert_eq!(b.local["did"], v2);
    assert_eq!(tab.session["did_session"], id2);
    assert_eq!(tab.session["did_session_start"], at(1).0.to_string());
}

#[test]
fn url_ids_in_the_exact_formats_are_adopted() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let mut rng = Rng::new(42, 42);
    let carried_sid = ids::mint_session_id(T0, &mut rng);
    let carried_vid = ids::mint_visitor_id(&mut rng);
    let t = b.load(
        &mut tab,
        at(5),
        Carried {
            session: Some(carried_sid.clone()),
            visitor: Some(carried_vid.clone()),
        },
    );
    assert_eq!(t.session_id(at(5)), carried_sid);
    assert_eq!(t.visitor_id(), carried_vid);
    assert_eq!(
        t.session_start(),
        T0,
        "start is the carried id's UUIDv7 time"
    );
    b.apply(&mut tab);
    assert_eq!(tab.session["did_session"], carried_sid);
    assert_eq!(b.local["did"], carried_vid);
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
        let mut tab = new_tab();
        let t = b.load(
            &mut tab,
            T0.plus(Millis(25 * 60 * MIN)),
            Carried {
                session: Some(s.into()),
                visitor: Some(v.into()),
            },
        );
        assert_ne!(t.session_id(T0.plus(Millis(25 * 60 * MIN))), s);
        assert_ne!(t.visitor_id(), v);
        b.apply(&mut tab);
        assert!(!tab.session.values().any(|x| x == s));
        assert!(!b.local.values().any(|x| x == v));
    }
}

#[test]
fn a_scroll_storm_writes_last_activity_once_per_interval() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    b.visit(&mut tab, T0);
    let t = tab.page.as_mut().unwrap();
    for ms in 1..=4_999 {
        t.activity(T0.plus(Millis(ms)));
    }
    assert!(t.take_writes().is_empty(), "no write inside the interval");
    t.activity(T0.plus(Millis(5_000)));
    assert_eq!(t.take_writes().len(), 1);
    // Leaving the page stores the exact time.
    t.activity(T0.plus(Millis(6_000)));
    t.page_hide(T0.plus(Millis(6_000)), None);
    b.apply(&mut tab);
    assert_eq!(
        tab.session["did_session_timestamp"],
        (T0.0 + 6_000).to_string()
    );
}

#[test]
fn a_back_forward_restore_after_30_minutes_starts_a_new_session() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    let t = tab.page.as_mut().unwrap();
    t.page_hide(T0, None);
    t.page_restore(at(31), &Snapshot::default());
    assert_ne!(t.session_id(at(31)), id);
    b.apply(&mut tab);
    assert!(tab.session.contains_key("did_tab"), "alive again");
}

#[test]
fn url_parameters_are_read_from_a_query_string() {
    let c = Carried::from_query("?utm=x&sessionId=sess_a&anonId=anon_b&x");
    assert_eq!(c.session.as_deref(), Some("sess_a"));
    assert_eq!(c.visitor.as_deref(), Some("anon_b"));
    assert_eq!(Carried::from_query(""), Carried::default());
}

// ---------------------------------------------------------------- cookies

use sessionmark::cookies::CookieRule;

/// The value of cookie `name` as last written.
fn cookie(b: &Browser, name: &str) -> Option<String> {
    let c = b.cookies.get(name)?;
    let v = c.split(';').next()?.split_once('=')?.1;
    Some(v.to_owned())
}

/// Opens a page with cookies on, as the shell does: visible and focused
/// as given.
fn open_with_cookies(b: &mut Browser, tab: &mut Tab, now: Millis, focused: bool) -> String {
    let t = b.load(tab, now, Carried::default());
    t.presence(now, true, focused);
    t.with_cookies(CookieRule::default());
    t.page_view(now, &Page::default(), "/", "{}", false);
    b.apply(tab);
    sid(tab, now)
}

#[test]
fn the_visitor_cookie_is_written_for_a_year_on_every_load() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    open_with_cookies(&mut b, &mut tab, T0, false);
    let c = &b.cookies["ss_vid"];
    assert!(
        c.contains("Max-Age=31536000") && c.contains("Path=/") && c.contains("SameSite=Lax"),
        "{c}"
    );
    assert_eq!(
        cookie(&b, "ss_vid").as_deref(),
        Some(b.local["did"].as_str())
    );
}

#[test]
fn the_focused_tab_owns_the_session_cookie_and_each_tab_keeps_its_session() {
    let mut b = Browser::default();
    let (mut one, mut two) = (new_tab(), new_tab());
    let a = open_with_cookies(&mut b, &mut one, T0, true);
    assert_eq!(
        cookie(&b, "ss_sid").as_deref(),
        Some(a.as_str()),
        "focused at start-up"
    );
    let c = open_with_cookies(&mut b, &mut two, at(1), false);
    assert_eq!(
        cookie(&b, "ss_sid").as_deref(),
        Some(a.as_str()),
        "an unfocused new tab does not take it"
    );
    // The user switches to tab two: it gains focus.
    one.page.as_mut().unwrap().set_focused(at(2), false);
    two.page.as_mut().unwrap().set_focused(at(2), true);
    b.apply(&mut one);
    b.apply(&mut two);
    assert_eq!(cookie(&b, "ss_sid").as_deref(), Some(c.as_str()));
    // Back to tab one by making it visible again.
    one.page.as_mut().unwrap().set_visible(at(3), false);
    one.page.as_mut().unwrap().set_visible(at(4), true);
    b.apply(&mut one);
    assert_eq!(cookie(&b, "ss_sid").as_deref(), Some(a.as_str()));
    assert_eq!(sid(&mut one, at(4)), a);
    assert_eq!(sid(&mut two, at(4)), c);
}

#[test]
fn a_rotation_of_the_focused_tab_rewrites_the_session_cookie_and_an_unfocused_one_does_not() {
    let mut b = Browser::default();
    let (mut one, mut two) = (new_tab(), new_tab());
    open_with_cookies(&mut b, &mut one, T0, false);
    let c = open_with_cookies(&mut b, &mut two, T0, true);
    let fresh_one = sid(&mut one, at(31));
    b.apply(&mut one);
    assert_eq!(
        cookie(&b, "ss_sid").as_deref(),
        Some(c.as_str()),
        "unfocused rotation leaves it"
    );
    let fresh_two = sid(&mut two, at(31));
    b.apply(&mut two);
    assert_ne!(fresh_one, fresh_two);
    assert_eq!(cookie(&b, "ss_sid").as_deref(), Some(fresh_two.as_str()));
}

#[test]
fn a_sealed_session_rotates_the_tab_and_its_cookie() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let a = open_with_cookies(&mut b, &mut tab, T0, true);
    let t = tab.page.as_mut().unwrap();
    t.sealed(at(1), r#"{"accepted":1,"duplicates":0,"rejected":[],"sealed":["sess_018e0e5c-5a00-7abc-8def-0123456789ab"]}"#);
    assert_eq!(
        t.session_id(at(1)),
        a,
        "another session's seal does not matter"
    );
    let answer = format!(r#"{{"accepted":1,"duplicates":0,"rejected":[],"sealed":["{a}"]}}"#);
    t.sealed(at(2), &answer);
    let next = t.session_id(at(2)).to_owned();
    assert_ne!(next, a);
    b.apply(&mut tab);
    assert_eq!(cookie(&b, "ss_sid").as_deref(), Some(next.as_str()));
}

#[test]
fn clear_rewrites_both_cookies_even_unfocused_and_an_adopted_session_takes_ss_sid() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let mut rng = Rng::new(9, 9);
    let a = open_with_cookies(&mut b, &mut tab, T0, true);
    let t = tab.page.as_mut().unwrap();
    t.set_focused(at(1), false);
    t.clear(at(2));
    let cleared = t.session_id(at(2)).to_owned();
    b.apply(&mut tab);
    assert_ne!(cleared, a);
    assert_eq!(
        cookie(&b, "ss_sid").as_deref(),
        Some(cleared.as_str()),
        "the logged-out session is not left paired"
    );
    assert_eq!(
        cookie(&b, "ss_vid").as_deref(),
        Some(b.local["did"].as_str())
    );

    let carried = ids::mint_session_id(at(3), &mut rng);
    let t = tab.page.as_mut().unwrap();
    t.set_focused(at(3), true);
    t.adopt(
        &Carried {
            session: Some(carried.clone()),
            visitor: None,
        },
        at(3),
    );
    b.apply(&mut tab);
    assert_eq!(sid(&mut tab, at(3)), carried);
    assert_eq!(cookie(&b, "ss_sid").as_deref(), Some(carried.as_str()));
}

// ------------------------------------------ back/forward cache and the tab

#[test]
fn a_restored_page_takes_up_the_session_and_pages_the_tab_moved_on_to() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    // Page one goes into the back/forward cache; page two of the tab is
    // used for 40 minutes (active every 10).
    let mut cached = tab.page.take().unwrap();
    cached.page_hide(at(0), tab.session.get("did_tab").map(String::as_str));
    let mut cached_writes = cached.take_writes();
    for w in cached_writes.drain(..) {
        match w.value {
            Some(v) => tab.session.insert(w.key.into(), v),
            None => tab.session.remove(w.key),
        };
    }
    assert_eq!(b.visit(&mut tab, at(1)), id);
    for m in [10, 20, 30, 40] {
        tab.page.as_mut().unwrap().activity(at(m));
    }
    b.leave(&mut tab);
    // Back: the restored page continues the tab's session, as page 3.
    let snap = b.snapshot(&tab);
    cached.page_restore(at(41), &snap);
    assert_eq!(
        cached.session_id(at(41)),
        id,
        "the tab was active a minute ago"
    );
    assert_eq!(cached.page_count(), 3);
}

#[test]
fn a_restored_page_takes_up_the_ids_a_clear_on_another_page_made() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    let id = b.visit(&mut tab, T0);
    let mut cached = tab.page.take().unwrap();
    cached.page_hide(at(0), None);
    b.visit(&mut tab, at(1));
    tab.page.as_mut().unwrap().clear(at(2));
    b.apply(&mut tab);
    let (new_id, new_visitor) = (tab.session["did_session"].clone(), b.local["did"].clone());
    assert_ne!(new_id, id);
    let snap = b.snapshot(&tab);
    cached.page_restore(at(3), &snap);
    assert_eq!(cached.session_id(at(3)), new_id);
    assert_eq!(cached.visitor_id(), new_visitor);
}

#[test]
fn a_late_pagehide_of_the_page_left_keeps_the_restored_pages_mark() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    b.visit(&mut tab, T0);
    let mut cached = tab.page.take().unwrap();
    cached.page_hide(at(0), None);
    b.visit(&mut tab, at(1));
    let mut away = tab.page.take().unwrap();
    // Chromium: the restored page's pageshow runs before the left page's
    // pagehide.
    cached.page_restore(at(2), &Snapshot::default());
    for w in cached.take_writes() {
        if let Some(v) = w.value {
            tab.session.insert(w.key.into(), v);
        }
    }
    away.page_hide(at(2), tab.session.get("did_tab").map(String::as_str));
    assert!(away.take_writes().iter().all(|w| w.key != "did_tab"));
    assert!(
        tab.session.contains_key("did_tab"),
        "a duplicate of this tab would be detected"
    );
}

#[test]
fn forgetting_removes_every_stored_key_and_expires_both_cookies() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    open_with_cookies(&mut b, &mut tab, T0, true);
    b.local.insert("did_outbox".into(), "x".into());
    tab.page.as_mut().unwrap().forget();
    b.apply(&mut tab);
    assert!(tab.session.is_empty(), "{:?}", tab.session);
    assert!(b.local.is_empty(), "{:?}", b.local);
    for name in ["ss_sid", "ss_vid"] {
        let c = &b.cookies[name];
        assert!(
            c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0"),
            "{c}"
        );
    }
}

#[test]
fn an_event_held_for_consent_keeps_the_time_of_its_call() {
    let mut b = Browser::default();
    let mut tab = new_tab();
    b.visit(&mut tab, at(1));
    let t = tab.page.as_mut().unwrap();
    let page = Page {
        path: "/then",
        ..Page::default()
    };
    t.track_at(at(1), T0, "held", "{}", &page).unwrap();
    t.delivery().flush(false);
    let mut bodies = String::new();
    while let Some(s) = t.delivery().next_send() {
        bodies.push_str(&s.body);
    }
    let v: serde_json::Value = serde_json::from_str(&bodies).unwrap();
    let held = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "held")
        .unwrap();
    assert_eq!(held["timestamp"], T0.0);
    assert_eq!(held["path"], "/then");
}
