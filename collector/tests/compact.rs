//! The compact batch shape (README "Wire protocol") through the real
//! router: what a batch's events share is sent once in `shared`, each event
//! overrides it where it differs, and the collector stores each event
//! whole, the same rows as the same events sent in the full shape. On
//! SQLite, or on ClickHouse with `SESSIONMARK_TEST_STORE=clickhouse`.

mod common;

use common::app::App;
use common::*;
use serde_json::{json, Value};
use sessionmark::ids;
use sessionmark::rand::Rng;
use sessionmark::time::Millis;
use sessionmark::wire::{Event, Props, WHOLE_EVENT_FIELDS};

const DAY: u64 = 86_400_000;

fn app() -> App {
    App::build(false, |s| s)
}

/// Events of a visit as the tracker makes them: ids minted at their time
/// (so the compact shape leaves their timestamps out), a page view, the
/// site's own events, an identify, a second page and its exit.
fn visit() -> Vec<Event> {
    let mut rng = Rng::new(3, 4);
    let mut at = T0;
    let mut next = |name: &str, path: &str| {
        at += 1_500;
        Event {
            event_id: ids::uuid_v7(Millis(at), &mut rng),
            timestamp: at,
            name: name.into(),
            path: path.into(),
            title: format!("Title of {path}"),
            referrer: "https://search.example/?q=shoes".into(),
            properties: Props::default(),
            ..event(0, name)
        }
    };
    let mut events = vec![
        Event {
            page_count: Some(1),
            ..next("screen_view", "/products/1")
        },
        Event {
            properties: Props(r#"{"sku":"A-1","amount":19.5}"#.into()),
            page_count: None,
            ..next("add_to_cart", "/products/1")
        },
        Event {
            user_id: Some("user-9".into()),
            page_count: None,
            ..next("login", "/products/1")
        },
    ];
    let mut exit = next("page_exit", "/products/1");
    exit.user_id = Some("user-9".into());
    exit.time_on_page = Some(12);
    exit.engaged_time = Some(9_000);
    exit.scroll_depth = Some(80);
    exit.interaction_count = Some(4);
    events.push(exit);
    let mut cart = next("screen_view", "/cart");
    cart.user_id = Some("user-9".into());
    cart.page_count = Some(2);
    cart.referrer = "https://shop.example/products/1".into();
    events.push(cart);
    let mut purchase = next("purchase", "/cart");
    purchase.user_id = Some("user-9".into());
    purchase.page_count = None;
    purchase.properties = Props(r#"{"amount":42,"currency":"EUR"}"#.into());
    events.push(purchase);
    events
}

fn by_id(events: &[Value]) -> std::collections::BTreeMap<String, Value> {
    events
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

#[tokio::test]
async fn a_compact_batch_is_stored_as_the_same_rows_as_the_same_events_sent_whole() {
    let events = visit();
    let (whole, compact) = (app(), app());
    let text = compact_body(&events);
    assert!(text.starts_with("{\"shared\":"), "{text}");
    assert!(text.len() < body(&events).len());
    let a = whole.post("/v1/batch", body(&events)).await.batch();
    let b = compact.post("/v1/batch", text).await.batch();
    assert_eq!(a, b);
    assert_eq!(b.accepted, events.len());

    // Every stored event reads back as the same full event, every wire
    // field written out, whichever shape it came in.
    let stored_whole = whole.session_events(SESSION).await;
    let stored_compact = compact.session_events(SESSION).await;
    assert_eq!(stored_compact.len(), events.len());
    assert_eq!(stored_whole, stored_compact);
    for e in &stored_compact {
        for field in WHOLE_EVENT_FIELDS {
            assert!(e.get(field).is_some(), "{field} in {e}");
        }
    }
    // The columns the reads use: sessions, users, sites, metrics.
    let range = format!("from={}&to={}", T0 - DAY, T0 + DAY);
    for path in [
        "/v1/sessions".to_owned(),
        "/v1/sites".to_owned(),
        format!("/v1/metrics?{range}"),
        format!("/v1/metrics?{range}&client_id=demo"),
    ] {
        assert_eq!(
            whole.get(&path).await.json(),
            compact.get(&path).await.json(),
            "{path}"
        );
    }
    let sessions = compact.get("/v1/sessions").await.json();
    assert_eq!(sessions[0]["user_id"], "user-9");
}

#[tokio::test]
async fn each_shared_field_an_event_carries_itself_is_its_own() {
    let app = app();
    let shared = json!({
        "session_id": SESSION,
        "anonymous_id": VISITOR,
        "client_id": "demo",
        "user_id": "shared-user",
        "path": "/shared",
        "title": "Shared",
        "referrer": "https://shared.example/",
    });
    let overrides = [
        ("session_id", json!(OTHER_SESSION)),
        (
            "anonymous_id",
            json!("anon_0f8fad5b-d9cb-469f-a165-70867728950e"),
        ),
        ("client_id", json!("other-site")),
        ("user_id", json!("own-user")),
        ("path", json!("/own")),
        ("title", json!("Own")),
        ("referrer", json!("https://own.example/")),
    ];
    let mut events = vec![json!({
        "event_id": event(0, "a").event_id,
        "name": "plain",
        "timestamp": T0,
    })];
    for (n, (field, value)) in overrides.iter().enumerate() {
        let mut e = json!({
            "event_id": event(n as u64 + 1, "a").event_id,
            "name": field,
            "timestamp": T0 + n as u64 + 1,
        });
        e[field] = value.clone();
        events.push(e);
    }
    let answer = app
        .post(
            "/v1/batch",
            json!({ "shared": shared, "events": events }).to_string(),
        )
        .await
        .batch();
    assert_eq!(answer.accepted, 8, "{answer:?}");
    let mut stored: Vec<Value> = app.session_events(SESSION).await;
    stored.extend(app.session_events(OTHER_SESSION).await);
    let stored = by_id(&stored);
    let plain = &stored[event(0, "a").event_id.as_str()];
    for (field, value) in shared.as_object().unwrap() {
        assert_eq!(&plain[field], value, "{field}");
    }
    for (n, (field, value)) in overrides.iter().enumerate() {
        let e = &stored[event(n as u64 + 1, "a").event_id.as_str()];
        for (other, shared_value) in shared.as_object().unwrap() {
            let want = if other == field { value } else { shared_value };
            assert_eq!(&e[other], want, "{field}: {other}");
        }
    }
}

#[tokio::test]
async fn a_batch_across_a_rotation_stores_each_event_in_its_own_session() {
    let app = app();
    // The old session's exit, then the new session's view and event.
    let mut exit = event(1, "page_exit");
    exit.session_id = OTHER_SESSION.into();
    let events = [exit, event(2, "screen_view"), event(3, "search")];
    let text = compact_body(&events);
    let sent: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sent["shared"]["session_id"], SESSION);
    assert_eq!(sent["events"][0]["session_id"], OTHER_SESSION);
    assert_eq!(app.post("/v1/batch", text).await.batch().accepted, 3);
    let names = |evs: Vec<Value>| -> Vec<String> {
        evs.iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(app.session_events(OTHER_SESSION).await),
        ["page_exit"]
    );
    assert_eq!(
        names(app.session_events(SESSION).await),
        ["screen_view", "search"]
    );
    assert_eq!(
        app.get("/v1/sessions")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn events_rejected_in_a_compact_batch_are_named_by_their_index() {
    let app = app();
    let events = [
        event(1, "a"),
        event(2, "b"),
        event(3, "c"),
        event(4, "d"),
        event(5, "e"),
    ];
    let mut body: Value = serde_json::from_str(&compact_body(&events)).unwrap();
    body["events"][1]["name"] = json!("");
    body["events"][3]["session_id"] = json!("sess_not-a-uuid");
    let answer = app.post("/v1/batch", body.to_string()).await.batch();
    assert_eq!(answer.accepted, 3);
    let idx: Vec<usize> = answer.rejected.iter().map(|r| r.index).collect();
    assert_eq!(idx, [1, 3]);
    assert!(answer.rejected[0].reason.contains("name"));
    assert!(answer.rejected[1].reason.contains("session_id"));
    let stored: Vec<Value> = app.session_events(SESSION).await;
    let names: Vec<&str> = stored.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "c", "e"]);
}

#[tokio::test]
async fn a_compact_batch_sent_again_or_whole_is_made_of_duplicates_stored_once() {
    let app = app();
    let events = visit();
    let first = app.post("/v1/batch", compact_body(&events)).await.batch();
    assert_eq!((first.accepted, first.duplicates), (events.len(), 0));
    let again = app.post("/v1/batch", compact_body(&events)).await.batch();
    assert_eq!((again.accepted, again.duplicates), (0, events.len()));
    // The same events from an old outbox line: whole.
    let whole = app.post("/v1/batch", body(&events[..2])).await.batch();
    assert_eq!((whole.accepted, whole.duplicates), (0, 2));
    assert_eq!(app.session_events(SESSION).await.len(), events.len());
}

#[tokio::test]
async fn an_invalid_shared_value_rejects_the_events_that_take_it_and_no_other() {
    let app = app();
    let own = |n: u64| {
        json!({
            "event_id": event(n, "a").event_id,
            "name": "a",
            "timestamp": T0 + n,
        })
    };
    let mut overriding = own(3);
    overriding["session_id"] = json!(SESSION);
    for (bad, why) in [
        (json!("sess_nope"), "session_id"),
        (json!(42), "valid event"),
    ] {
        let shared = json!({
            "session_id": bad,
            "anonymous_id": VISITOR,
            "client_id": "demo",
            "path": "/",
            "title": "",
            "referrer": "",
        });
        let body = json!({ "shared": shared, "events": [own(1), own(2), overriding.clone()] });
        let answer = app.post("/v1/batch", body.to_string()).await.batch();
        let idx: Vec<usize> = answer.rejected.iter().map(|r| r.index).collect();
        assert_eq!(idx, [0, 1], "{bad}");
        assert!(answer.rejected[0].reason.contains(why), "{answer:?}");
    }
    let stored = app.session_events(SESSION).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["event_id"], event(3, "a").event_id.as_str());
}

#[tokio::test]
async fn a_shared_part_of_other_fields_is_answered_400_and_stores_nothing() {
    let app = app();
    let events = [event(1, "a")];
    let mut body: Value = serde_json::from_str(&compact_body(&events)).unwrap();
    for (field, value) in [
        ("name", json!("x")),
        ("source", json!("server")),
        ("properties", json!({})),
    ] {
        let mut b = body.clone();
        b["shared"][field] = value;
        let a = app.post("/v1/batch", b.to_string()).await;
        assert_eq!(a.status, axum::http::StatusCode::BAD_REQUEST, "{field}");
        assert!(a.json()["error"].as_str().unwrap().contains("shared"));
    }
    body["shared"] = json!([1]);
    let a = app.post("/v1/batch", body.to_string()).await;
    assert_eq!(a.status, axum::http::StatusCode::BAD_REQUEST);
    assert!(app.session_events(SESSION).await.is_empty());
}
