#![cfg(not(target_arch = "wasm32"))]
//! `identify(userId)` (README "API", "What is stored where"): every later
//! event carries `user_id`, the id survives reloads in localStorage
//! `did_user`, `clear()` ends it, a bad id is refused with one warning, and
//! while consent is pending the call is held. (tests/boundary.rs checks
//! how the input's `typeof` field is decoded.)

mod support;

use serde_json::Value;
use sessionmark::config::Config;
use sessionmark::time::Millis;
use sessionmark::tracker::Page;
use support::{page, Browser, PageShell, Tab, T0};

const USER: &str = "user-42";

fn at(ms: u64) -> Millis {
    T0.plus(Millis(ms))
}

/// `identify(value)`: `kind` is the value's `typeof`.
fn identify(t: &mut PageShell, now: Millis, kind: &str, value: &str) {
    let user = (kind == "string").then_some(value);
    t.at(now, |c| c.handle_identify(user));
}

fn track(t: &mut PageShell, now: Millis, name: &str) {
    t.at(now, |c| {
        c.handle_track(now, name, "{}", &page("/p")).unwrap()
    });
}

/// Every event sent since the last call, in order.
fn sent(t: &mut PageShell, now: Millis) -> Vec<Value> {
    t.flushed(now)
}

/// (name, user_id) of the tracked events (not the page views and exits).
fn users(evs: &[Value]) -> Vec<(String, Option<String>)> {
    evs.iter()
        .filter(|e| !matches!(e["name"].as_str(), Some("screen_view" | "page_exit")))
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["user_id"].as_str().map(String::from),
            )
        })
        .collect()
}

fn started(browser: &mut Browser, tab: &Tab, now: Millis) -> PageShell {
    browser.open(tab, now, &Config::default(), "")
}

#[test]
fn events_after_identify_carry_the_user_id_and_earlier_ones_do_not() {
    let mut t = started(&mut Browser::default(), &Tab::in_session(T0), T0);
    track(&mut t, T0, "before");
    identify(&mut t, at(1), "string", USER);
    track(&mut t, at(2), "after");
    let evs = sent(&mut t, at(3));
    assert_eq!(
        users(&evs),
        [("before".into(), None), ("after".into(), Some(USER.into()))]
    );
    assert_eq!(t.local.get("did_user").as_deref(), Some(USER));
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

#[test]
fn the_user_id_survives_a_reload_and_clear_ends_it() {
    let mut browser = Browser::default();
    let tab = Tab::in_session(T0);
    let mut first = started(&mut browser, &tab, T0);
    identify(&mut first, at(1), "string", USER);
    first.leave(at(2));

    let mut reloaded = started(&mut browser, &tab, at(10));
    reloaded.at(at(10), |c| {
        c.handle_page_view(at(10), &page("/p"), "", false, None)
    });
    track(&mut reloaded, at(11), "again");
    assert_eq!(
        users(&sent(&mut reloaded, at(12)))
            .last()
            .unwrap()
            .1
            .as_deref(),
        Some(USER),
        "the reload's events carry the stored user id"
    );

    reloaded.at(at(13), |c| c.handle_clear(at(13), None));
    assert_eq!(
        reloaded.local.get("did_user"),
        None,
        "clear() removes did_user"
    );
    track(&mut reloaded, at(14), "logged_out");
    let evs = sent(&mut reloaded, at(15));
    let exit = evs.iter().find(|e| e["name"] == "page_exit").unwrap();
    assert_eq!(
        exit["user_id"], USER,
        "the cleared view's exit is the user's"
    );
    let out = evs.iter().find(|e| e["name"] == "logged_out").unwrap();
    assert!(out.get("user_id").is_none(), "{out}");

    let mut next = started(&mut browser, &tab, at(20));
    track(&mut next, at(21), "next_page");
    assert!(sent(&mut next, at(22))
        .iter()
        .all(|e| e.get("user_id").is_none()));
}

#[test]
fn a_user_id_that_is_not_a_string_of_1_to_256_bytes_is_refused_with_one_warning() {
    let long = "x".repeat(257);
    let cases: [(&str, &str); 7] = [
        ("undefined", ""),
        ("object", ""),
        ("number", ""),
        ("symbol", ""),
        ("boolean", ""),
        ("string", ""),
        ("string", &long),
    ];
    for (kind, value) in cases {
        let mut t = started(&mut Browser::default(), &Tab::in_session(T0), T0);
        identify(&mut t, at(1), kind, value);
        assert_eq!(t.warnings.len(), 1, "{kind} {value:?}: {:?}", t.warnings);
        assert!(t.warnings[0].contains("identify()"), "{:?}", t.warnings);
        assert_eq!(t.local.get("did_user"), None, "{kind}");
        track(&mut t, at(2), "still_works");
        let evs = sent(&mut t, at(3));
        assert!(evs.iter().any(|e| e["name"] == "still_works"));
        assert!(evs.iter().all(|e| e.get("user_id").is_none()), "{kind}");
    }
    // 256 bytes of UTF-8 (85 three-byte characters + 1) is the limit.
    let max = format!("{}x", "€".repeat(85));
    assert_eq!(max.len(), 256);
    let mut t = started(&mut Browser::default(), &Tab::in_session(T0), T0);
    identify(&mut t, at(1), "string", &max);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.local.get("did_user").as_deref(), Some(max.as_str()));
}

#[test]
fn a_user_id_with_a_line_break_is_kept_whole() {
    let mut t = started(&mut Browser::default(), &Tab::in_session(T0), T0);
    identify(&mut t, at(1), "string", "line\nbreak");
    track(&mut t, at(2), "e");
    let evs = sent(&mut t, at(3));
    assert_eq!(evs.last().unwrap()["user_id"], "line\nbreak");
    assert!(
        t.outbox_text().lines().count() <= evs.len(),
        "the outbox stays one event per line"
    );
}

#[test]
fn identify_while_consent_is_pending_is_held_and_dropped_with_a_refusal() {
    let cfg = Config {
        require_consent: true,
        ..Config::default()
    };
    let mut browser = Browser::default();
    let mut t = browser.open(&Tab::in_session(T0), T0, &cfg, "");
    identify(&mut t, at(1), "string", USER);
    assert!(t.local.is_empty(), "nothing stored before consent");
    t.at(at(2), |c| c.handle_consent(at(2), Some(true)));
    assert_eq!(t.local.get("did_user").as_deref(), Some(USER));
    track(&mut t, at(3), "consented");
    assert_eq!(sent(&mut t, at(4)).last().unwrap()["user_id"], USER);

    let mut refused = browser.open(&Tab::in_session(T0), T0, &cfg, "");
    identify(&mut refused, at(1), "string", "other");
    refused.at(at(2), |c| c.handle_consent(at(2), Some(false)));
    refused.at(at(3), |c| c.handle_consent(at(3), Some(true)));
    assert_ne!(refused.local.get("did_user").as_deref(), Some("other"));
}

#[test]
fn a_restored_page_takes_up_the_user_its_tab_identified_or_cleared_meanwhile() {
    let mut browser = Browser::default();
    let tab = Tab::in_session(T0);
    let mut first = started(&mut browser, &tab, T0);
    first.at(T0, |c| {
        c.handle_page_view(T0, &Page::default(), "", false, None)
    });
    first.leave(at(1));
    // Another page of the tab logs in while the first sits in the cache.
    let mut second = started(&mut browser, &tab, at(2));
    identify(&mut second, at(3), "string", USER);
    second.leave(at(4));
    first.at(at(5), |c| c.handle_page_restore(at(5), true, true, None));
    track(&mut first, at(6), "restored");
    assert_eq!(sent(&mut first, at(7)).last().unwrap()["user_id"], USER);
    // And logs out.
    first.leave(at(8));
    let mut third = started(&mut browser, &tab, at(9));
    third.at(at(10), |c| c.handle_clear(at(10), None));
    third.leave(at(11));
    first.at(at(12), |c| c.handle_page_restore(at(12), true, true, None));
    track(&mut first, at(13), "after_logout");
    let last = sent(&mut first, at(14)).pop().unwrap();
    assert!(last.get("user_id").is_none(), "{last}");
}
