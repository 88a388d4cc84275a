#![cfg(not(target_arch = "wasm32"))]
//! What the tracker puts on the wire (README "Wire protocol"), driven
//! through the core with the fake shell: the compact batch (what a batch's
//! events share sent once), its size for a realistic batch, batches that
//! span a change of page, session, user or visitor, and outbox lines of the
//! previous release sent whole after an upgrade.

mod support;

use serde_json::{json, Value};
use sessionmark::config::Config;
use sessionmark::time::Millis;
use sessionmark::tracker::Page;
use sessionmark::wire::WHOLE_EVENT_FIELDS;
use support::{sent_events, sent_shared, Browser, PageShell, Request, Tab, T0};

const MIN: u64 = 60_000;

fn at(ms: u64) -> Millis {
    T0.plus(Millis(ms))
}

/// A product page of a shop, as its visitor sees it.
const PRODUCT: Page<'static> = Page {
    path: "/products/trail-running-shoes",
    title: "Trail Running Shoes – Acme Outdoor",
    referrer: "https://www.google.com/",
    search: "",
    hash: "",
    href: "https://shop.example/products/trail-running-shoes",
};

const CART: Page<'static> = Page {
    path: "/cart",
    title: "Your cart – Acme Outdoor",
    referrer: "https://www.google.com/",
    search: "",
    hash: "",
    href: "https://shop.example/cart",
};

fn shop() -> Config {
    Config {
        client_id: "acme-shop".into(),
        batch_size: 10,
        ..Config::default()
    }
}

/// A page of the shop, visible and focused from `T0`, its load viewed.
fn visit() -> PageShell {
    let mut t = Browser::default().open(&Tab::new(), T0, &shop(), "");
    t.at(T0, |c| c.handle_visibility(T0, true));
    t.at(T0, |c| c.handle_focus(T0, true));
    view(&mut t, T0, &PRODUCT);
    t
}

fn view(t: &mut PageShell, now: Millis, page: &Page) {
    t.at(now, |c| c.handle_page_view(now, page, "{}", false, None));
}

fn track(t: &mut PageShell, now: Millis, name: &str, props: &str, page: &Page) {
    t.at(now, |c| c.handle_track(now, name, props, page))
        .unwrap();
}

/// Every request made since the last take.
fn requests(t: &mut PageShell, now: Millis) -> Vec<Request> {
    t.take_requests(now)
}

fn names(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["name"].as_str().unwrap()).collect()
}

/// Bytes of the full shape for these (expanded) events, as the release
/// before the compact shape sent them: every field of every event.
fn full_shape_len(events: &[Value]) -> usize {
    serde_json::to_string(&json!({ "events": events }))
        .unwrap()
        .len()
}

#[test]
fn a_batch_of_ten_typical_events_takes_at_most_150_bytes_an_event() {
    // One product page: its view, eight events of the site's own with the
    // small properties sites give them, and its exit when the page goes.
    let mut t = visit();
    let own = [
        ("product_viewed", r#"{"sku":"TRS-42","price":129.9}"#),
        ("image_zoomed", r#"{"index":2}"#),
        ("size_selected", r#"{"size":"42"}"#),
        ("color_selected", r#"{"color":"blue"}"#),
        ("reviews_opened", "{}"),
        ("add_to_cart", r#"{"sku":"TRS-42","qty":1}"#),
        ("shipping_estimated", r#"{"country":"DE"}"#),
        ("checkout_started", r#"{"items":1}"#),
    ];
    for (k, (name, props)) in own.iter().enumerate() {
        track(&mut t, at(400 * (k as u64 + 1)), name, props, &PRODUCT);
    }
    t.leave(at(4_000));
    let sent = requests(&mut t, at(4_000));
    assert_eq!(sent.len(), 1, "one batch of ten");
    let body = &sent[0].body;
    let events = sent_events(body);
    assert_eq!(events.len(), 10);
    assert_eq!(names(&events)[0], "screen_view");
    assert_eq!(names(&events)[9], "page_exit");
    let per_event = body.len() as f64 / 10.0;
    let full = full_shape_len(&events) as f64 / 10.0;
    eprintln!("a batch of 10 typical events: {per_event:.1} B an event (full shape: {full:.1})");
    assert!(per_event <= 150.0, "{per_event} B an event: {body}");
    // Each shared value is sent once.
    assert_eq!(body.matches("acme-shop").count(), 1);
    assert_eq!(body.matches("Trail Running Shoes").count(), 1);
}

#[test]
fn every_field_the_events_share_is_sent_once_and_each_event_whole_on_reading() {
    let mut t = visit();
    t.at(at(1), |c| c.handle_identify(Some("user-7")));
    track(&mut t, at(2), "signup", r#"{"plan":"pro"}"#, &PRODUCT);
    t.flush(at(3));
    let sent = requests(&mut t, at(3));
    let body = &sent[0].body;
    let shared = sent_shared(body);
    let session = t.tracker.current_session_id().to_owned();
    let visitor = t.tracker.visitor_id().to_owned();
    // screen_view (before identify: no user id) and signup (with one).
    assert_eq!(
        Value::Object(shared),
        json!({
            "session_id": session,
            "anonymous_id": visitor,
            "client_id": "acme-shop",
            "path": PRODUCT.path,
            "title": PRODUCT.title,
            "referrer": PRODUCT.referrer,
        })
    );
    let raw: Value = serde_json::from_str(body).unwrap();
    let signup = &raw["events"][1];
    let mut keys: Vec<&str> = signup
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    // The timestamp is the event_id's own time: left out.
    assert_eq!(keys, ["event_id", "name", "properties", "user_id"]);
    let events = sent_events(body);
    for e in &events {
        for field in WHOLE_EVENT_FIELDS {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
    }
    assert_eq!(events[1]["timestamp"], at(2).0);
    assert_eq!(events[1]["user_id"], "user-7");
    assert!(events[0].get("user_id").is_none());
    assert_eq!(events[0]["properties"], json!({}));
}

#[test]
fn a_page_change_inside_a_batch_sends_only_the_page_fields_of_the_other_page() {
    let mut t = visit();
    track(&mut t, at(1_000), "add_to_cart", "{}", &PRODUCT);
    // An SPA navigation: the product page's exit, the cart's view.
    view(&mut t, at(2_000), &CART);
    track(&mut t, at(3_000), "coupon_applied", "{}", &CART);
    t.flush(at(4_000));
    let body = requests(&mut t, at(4_000)).remove(0).body;
    let events = sent_events(&body);
    assert_eq!(
        names(&events),
        [
            "screen_view",
            "add_to_cart",
            "page_exit",
            "screen_view",
            "coupon_applied"
        ]
    );
    let raw: Value = serde_json::from_str(&body).unwrap();
    // The last event's page is the shared one; the product page's events
    // carry their path and title, and nothing else of the shared part.
    assert_eq!(raw["shared"]["path"], "/cart");
    for i in 0..3 {
        assert_eq!(raw["events"][i]["path"], PRODUCT.path);
        assert_eq!(raw["events"][i]["title"], PRODUCT.title);
        assert!(raw["events"][i].get("session_id").is_none());
        assert!(raw["events"][i].get("client_id").is_none());
    }
    assert_eq!(
        events[2]["path"], PRODUCT.path,
        "the exit is the left page's"
    );
    assert_eq!(events[3]["path"], CART.path);
    assert_eq!(
        events[3]["referrer"], PRODUCT.href,
        "an SPA view's referrer"
    );
    assert!(raw["events"][4].get("path").is_none());
}

#[test]
fn a_rotation_inside_a_batch_keeps_each_event_in_its_own_session() {
    let mut t = visit();
    t.flush(at(1));
    requests(&mut t, at(1));
    let old = t.tracker.current_session_id().to_owned();
    // 31 idle minutes, then a tracked event: the old view's exit, the new
    // session's view of the page, the event, all in one batch.
    let later = at(31 * MIN);
    track(&mut t, later, "search", r#"{"q":"boots"}"#, &PRODUCT);
    let new = t.tracker.current_session_id().to_owned();
    assert_ne!(new, old);
    t.flush(later);
    let body = requests(&mut t, later).remove(0).body;
    let events = sent_events(&body);
    assert_eq!(names(&events), ["page_exit", "screen_view", "search"]);
    assert_eq!(events[0]["session_id"], old.as_str());
    assert_eq!(events[1]["session_id"], new.as_str());
    assert_eq!(events[2]["session_id"], new.as_str());
    assert_eq!(sent_shared(&body)["session_id"], new.as_str());
}

#[test]
fn a_clear_inside_a_batch_gives_the_later_events_the_new_visitor_and_no_user() {
    let mut t = visit();
    t.at(at(1), |c| c.handle_identify(Some("user-7")));
    track(&mut t, at(2), "logout_clicked", "{}", &PRODUCT);
    let visitor = t.tracker.visitor_id().to_owned();
    t.at(at(3), |c| c.handle_clear(at(3), None));
    track(&mut t, at(4), "after", "{}", &PRODUCT);
    let events = t.flushed(at(5));
    let by_name = |n: &str| events.iter().find(|e| e["name"] == n).unwrap().clone();
    let before = by_name("logout_clicked");
    let after = by_name("after");
    assert_eq!(before["user_id"], "user-7");
    assert_eq!(before["anonymous_id"], visitor.as_str());
    assert!(after.get("user_id").is_none(), "{after}");
    assert_ne!(after["anonymous_id"], visitor.as_str());
    assert_ne!(after["session_id"], before["session_id"]);
}

#[test]
fn an_outbox_line_the_previous_release_wrote_is_sent_whole_after_an_upgrade() {
    // Written by the release before the compact shape: every field, in its
    // order, `timestamp` and `properties` always.
    let line = r#"{"event_id":"018dfb50-e800-764c-905d-ac05e6a4eac6","name":"signup","session_id":"sess_018dfb50-e800-7ee7-a1c0-b15b102b4040","anonymous_id":"anon_34efc40b-b3a4-46d6-b3dc-b92fc59f1659","timestamp":1709318400000,"path":"/pricing","title":"Pricing","referrer":"","client_id":"acme-shop","user_id":"u-1","properties":{"plan":"pro"}}"#;
    let mut b = Browser::default();
    b.local.set("did_outbox", &format!("{line}\n"));
    let mut t = b.open(&Tab::new(), at(MIN), &shop(), "");
    let sent = requests(&mut t, at(MIN));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body, format!("{{\"events\":[{line}]}}"));
    t.reply(sent[0].id, 200, at(MIN));
    assert_eq!(t.outbox_text(), "");
}

#[test]
fn the_outbox_keeps_each_event_whole_on_its_line() {
    let mut t = visit();
    track(&mut t, at(1), "signup", r#"{"plan":"pro"}"#, &PRODUCT);
    let beacon_body = {
        t.hide(at(2));
        requests(&mut t, at(2)).remove(0).body
    };
    let lines: Vec<Value> = t
        .outbox_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut expanded = sent_events(&beacon_body);
    // A line leaves out what the event's id implies and empty properties,
    // as an event of a batch does; all else is on it.
    for (line, whole) in lines.iter().zip(&mut expanded) {
        let mut line = line.clone();
        let obj = line.as_object_mut().unwrap();
        if !obj.contains_key("properties") {
            obj.insert("properties".into(), json!({}));
        }
        whole.as_object_mut().unwrap().remove("timestamp");
        assert_eq!(&line, whole);
    }
    assert_eq!(lines.len(), 2);
}
