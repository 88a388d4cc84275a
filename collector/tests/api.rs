//! The collector's HTTP API, exercised in process on the real router.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::app::App;
use common::*;
use serde_json::Value;
use sessionmark::wire::{BatchAnswer, MAX_BATCH_EVENTS, MAX_BODY_BYTES};

fn app_with(hooks: bool) -> App {
    App::build(hooks, |s| s)
}

fn app() -> App {
    app_with(false)
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_valid_batch_is_stored_and_listed_by_session_with_wire_field_names() {
    let app = app();
    let sent = [
        event(1, "screen_view"),
        event(2, "signup"),
        event(3, "page_exit"),
    ];
    let answer = app.post("/v1/batch", body(&sent)).await.batch();
    assert_eq!(
        answer,
        BatchAnswer {
            accepted: 3,
            ..BatchAnswer::default()
        }
    );
    let stored = app.session_events(SESSION).await;
    assert_eq!(ids(&stored), ids_of(&sent));
    let first = &stored[0];
    assert_eq!(first["name"], "screen_view");
    assert_eq!(first["session_id"], SESSION);
    assert_eq!(first["anonymous_id"], VISITOR);
    assert_eq!(first["timestamp"], T0 + 1000);
    assert_eq!(first["path"], "/page/1");
    assert_eq!(first["client_id"], "demo");
    assert_eq!(first["page_count"], 1);
    assert_eq!(first["properties"]["n"], 1);
    assert!(app.session_events(OTHER_SESSION).await.is_empty());
}

fn ids_of(events: &[sessionmark::wire::Event]) -> Vec<String> {
    events.iter().map(|e| e.event_id.clone()).collect()
}

#[tokio::test]
async fn one_invalid_event_among_valid_ones_is_the_only_one_rejected_with_its_index() {
    let app = app();
    let mut bad = event(2, "broken");
    bad.session_id = "sess_not-a-uuid".into();
    let sent = [event(1, "a"), bad, event(3, "c")];
    let answer = app.post("/v1/batch", body(&sent)).await.batch();
    assert_eq!(answer.accepted, 2);
    assert_eq!(answer.duplicates, 0);
    assert_eq!(answer.rejected.len(), 1);
    assert_eq!(answer.rejected[0].index, 1);
    assert!(
        answer.rejected[0].reason.contains("session_id"),
        "{:?}",
        answer.rejected
    );
    assert!(answer.sealed.is_empty());
    assert_eq!(
        ids(&app.session_events(SESSION).await),
        ids_of(&[event(1, "a"), event(3, "c")])
    );
}

#[tokio::test]
async fn malformed_and_future_events_are_rejected_without_harming_neighbours() {
    let app = app();
    let mut future = event(4, "future");
    future.timestamp = 4_102_444_800_000; // 2100
    let text = format!(
        "{{\"events\":[{},{{\"event_id\":5}},\"text\",{}]}}",
        encode(&event(1, "ok")),
        encode(&future)
    );
    let answer = app.post("/v1/batch", text).await.batch();
    assert_eq!(answer.accepted, 1);
    let idx: Vec<usize> = answer.rejected.iter().map(|r| r.index).collect();
    assert_eq!(idx, [1, 2, 3]);
    assert!(answer.rejected[2].reason.contains("future"));
}

#[tokio::test]
async fn an_event_id_sent_again_in_a_later_batch_is_a_duplicate_stored_once() {
    let app = app();
    let first = app
        .post("/v1/batch", body(&[event(1, "a"), event(2, "b")]))
        .await
        .batch();
    assert_eq!((first.accepted, first.duplicates), (2, 0));
    // A retry of the same batch plus one new event.
    let retry = app
        .post(
            "/v1/batch",
            body(&[event(1, "a"), event(2, "b"), event(3, "c")]),
        )
        .await
        .batch();
    assert_eq!((retry.accepted, retry.duplicates), (1, 2));
    assert!(retry.rejected.is_empty());
    assert_eq!(app.session_events(SESSION).await.len(), 3);
    let sessions = app.get("/v1/sessions").await.json();
    assert_eq!(sessions[0]["event_count"], 3, "duplicates are not counted");
}

#[tokio::test]
async fn an_event_id_repeated_within_one_batch_is_stored_once() {
    let app = app();
    let answer = app
        .post(
            "/v1/batch",
            body(&[event(7, "a"), event(7, "a"), event(8, "b")]),
        )
        .await
        .batch();
    assert_eq!((answer.accepted, answer.duplicates), (2, 1));
    assert_eq!(
        ids(&app.session_events(SESSION).await),
        ids_of(&[event(7, "a"), event(8, "b")])
    );
}

#[tokio::test]
async fn fields_the_collector_does_not_know_are_kept_in_the_stored_event() {
    let app = app();
    let mut text = encode(&event(1, "a"));
    text.insert_str(1, "\"added_later\":{\"x\":[1,2]},");
    let answer = app
        .post("/v1/batch", format!("{{\"events\":[{text}]}}"))
        .await
        .batch();
    assert_eq!(answer.accepted, 1);
    let stored = app.session_events(SESSION).await;
    assert_eq!(stored[0]["added_later"]["x"][1], 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_answered_413_with_a_json_error() {
    let app = app();
    let big = format!(
        "{{\"events\":[{}\"{}\"]}}",
        encode(&event(1, "a")) + ",",
        "x".repeat(MAX_BODY_BYTES)
    );
    // Without Content-Length: the limit is found while reading.
    let streamed = app.post("/v1/batch", big.clone()).await;
    assert_eq!(streamed.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(streamed.json()["error"].is_string());
    // With Content-Length: refused before reading.
    let declared = app
        .send(
            Request::post("/v1/batch")
                .header(header::CONTENT_LENGTH, big.len())
                .body(Body::from(big))
                .unwrap(),
        )
        .await;
    assert_eq!(declared.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(declared.json()["error"].is_string());
    assert!(app.session_events(SESSION).await.is_empty());
}

#[tokio::test]
async fn garbage_or_a_wrong_shape_is_answered_400_with_a_json_error() {
    let app = app();
    for garbage in [
        "",
        "not json",
        "[1,2]",
        "{\"evts\":[]}",
        "{\"events\":{}}",
        "{\"events\":[1",
    ] {
        let a = app.post("/v1/batch", garbage).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{garbage:?}");
        assert_eq!(a.header("content-type"), "application/json");
        assert!(a.json()["error"].is_string(), "{garbage:?}");
    }
}

#[tokio::test]
async fn more_than_the_batch_limit_of_events_is_answered_400_and_stores_nothing() {
    let app = app();
    let events: Vec<_> = (1..=MAX_BATCH_EVENTS as u64 + 1)
        .map(|n| event(n, "e"))
        .collect();
    let a = app.post("/v1/batch", body(&events)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["error"].as_str().unwrap().contains("at most"));
    assert!(app.session_events(SESSION).await.is_empty());
    let full = app
        .post("/v1/batch", body(&events[..MAX_BATCH_EVENTS]))
        .await
        .batch();
    assert_eq!(full.accepted, MAX_BATCH_EVENTS);
}

#[tokio::test]
async fn an_empty_batch_is_answered_with_zero_counts() {
    let app = app();
    let a = app.post("/v1/batch", "{\"events\":[]}").await.batch();
    assert_eq!(a, BatchAnswer::default());
}

#[tokio::test]
async fn a_cors_preflight_from_any_origin_is_answered() {
    let app = app();
    let a = app.preflight("/v1/batch").await;
    assert!(a.status.is_success(), "{}", a.status);
    assert_eq!(a.header("access-control-allow-origin"), "*");
    let methods = a
        .header("access-control-allow-methods")
        .to_ascii_uppercase();
    for m in ["GET", "POST", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = a
        .header("access-control-allow-headers")
        .to_ascii_lowercase();
    assert!(allowed.contains("content-type"), "{allowed}");
    assert!(allowed.contains("x-session-id"), "{allowed}");

    // The batch itself (and reads) carry the header too.
    let post = app
        .send(
            Request::post("/v1/batch")
                .header(header::ORIGIN, "https://shop.example")
                .body(Body::from(body(&[event(1, "a")])))
                .unwrap(),
        )
        .await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(post.header("access-control-allow-origin"), "*");
}

#[tokio::test]
async fn the_fault_hook_fails_the_next_n_batches_without_storing_them() {
    let app = app_with(true);
    let arm = app
        .post("/v1/_test/fail", "{\"status\":503,\"count\":2}")
        .await;
    assert_eq!(arm.status, StatusCode::OK);
    for _ in 0..2 {
        let a = app.post("/v1/batch", body(&[event(1, "a")])).await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(a.json()["error"].is_string());
    }
    assert!(app.session_events(SESSION).await.is_empty());
    assert_eq!(
        app.post("/v1/batch", body(&[event(1, "a")]))
            .await
            .batch()
            .accepted,
        1
    );

    // Status defaults to 500; a count of 0 resets.
    app.post("/v1/_test/fail", "{\"count\":3}").await;
    assert_eq!(
        app.post("/v1/batch", body(&[event(2, "b")])).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    app.post("/v1/_test/fail", "{\"count\":0}").await;
    assert_eq!(
        app.post("/v1/batch", body(&[event(2, "b")]))
            .await
            .batch()
            .accepted,
        1
    );

    let bad = app
        .post("/v1/_test/fail", "{\"status\":200,\"count\":1}")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_test_hooks_the_fault_route_does_not_exist() {
    let app = app();
    let a = app
        .post("/v1/_test/fail", "{\"status\":500,\"count\":1}")
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post("/v1/batch", body(&[event(1, "a")]))
            .await
            .batch()
            .accepted,
        1
    );
}

#[tokio::test]
async fn sessions_are_listed_most_recent_first_with_their_counts_and_times() {
    let app = app();
    let mut other = event(100, "screen_view");
    other.session_id = OTHER_SESSION.into();
    app.post("/v1/batch", body(&[event(5, "a"), event(1, "b"), other]))
        .await
        .batch();
    let a = app.get("/v1/sessions").await;
    assert_eq!(a.header("content-type"), "application/json");
    let list = a.json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["session_id"], OTHER_SESSION);
    assert_eq!(list[1]["session_id"], SESSION);
    assert_eq!(list[1]["anonymous_id"], VISITOR);
    assert_eq!(list[1]["first_seen"], T0 + 1000);
    assert_eq!(list[1]["last_seen"], T0 + 5000);
    assert_eq!(list[1]["event_count"], 2);
}

#[tokio::test]
async fn events_are_listed_in_timestamp_order_then_arrival_order() {
    let app = app();
    let mut same_time = event(9, "second");
    same_time.timestamp = T0 + 2000;
    app.post("/v1/batch", body(&[event(3, "c"), event(2, "first")]))
        .await
        .batch();
    app.post("/v1/batch", body(&[same_time, event(1, "a")]))
        .await
        .batch();
    let names: Vec<String> = app
        .session_events(SESSION)
        .await
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a", "first", "second", "c"]);
}

#[tokio::test]
async fn events_can_be_listed_unfiltered_or_by_client_id() {
    let app = app();
    let mut other_site = event(2, "b");
    other_site.client_id = "other".into();
    app.post(
        "/v1/batch",
        body(&[event(3, "c"), other_site, event(1, "a")]),
    )
    .await
    .batch();
    let all = app.events("").await;
    assert_eq!(
        ids(&all),
        ids_of(&[event(1, "a"), event(2, "b"), event(3, "c")])
    );
    let demo = app.events("?client_id=demo").await;
    assert_eq!(ids(&demo), ids_of(&[event(1, "a"), event(3, "c")]));
    let both = app
        .events(&format!("?client_id=other&session_id={SESSION}"))
        .await;
    assert_eq!(ids(&both), ids_of(&[event(2, "b")]));
}

#[tokio::test]
async fn the_site_and_the_tracker_builds_are_served_with_their_types() {
    let app = app();
    let index = app.get("/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.header("content-type").starts_with("text/html"));
    assert!(String::from_utf8_lossy(&index.body).contains("<title>demo"));
    for path in ["/dist/sessionmark.js", "/dist/sessionmark.mjs"] {
        let a = app.get(path).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert_eq!(a.header("content-type"), "text/javascript", "{path}");
    }
    assert_eq!(app.get("/nope.html").await.status, StatusCode::NOT_FOUND);
    let unknown = app.get("/v1/nope").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.json()["error"].is_string());
}

#[tokio::test]
async fn health_is_ok() {
    let app = app();
    let a = app.get("/healthz").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, b"ok");
}

#[tokio::test]
async fn a_listing_longer_than_the_limit_comes_in_pages_linked_by_x_next_cursor() {
    let app = app();
    let sent: Vec<_> = (1..=5).map(|n| event(n, "e")).collect();
    app.post("/v1/batch", body(&sent)).await.batch();
    let mut got = Vec::new();
    let mut path = format!("/v1/events?session_id={SESSION}&limit=2");
    let mut pages = 0;
    loop {
        let a = app.get(&path).await;
        assert_eq!(a.status, StatusCode::OK);
        pages += 1;
        got.extend(ids(a.json().as_array().unwrap()));
        let cursor = a.header("x-next-cursor").to_owned();
        if cursor.is_empty() {
            break;
        }
        path = format!("/v1/events?session_id={SESSION}&limit=2&cursor={cursor}");
    }
    assert_eq!(pages, 3);
    assert_eq!(got, ids_of(&sent));
    // The default page holds them all and says nothing more follows.
    let all = app.get(&format!("/v1/events?session_id={SESSION}")).await;
    assert_eq!(all.json().as_array().unwrap().len(), 5);
    assert!(all.headers.get("x-next-cursor").is_none());
}

#[tokio::test]
async fn a_limit_outside_1_to_5000_or_a_foreign_cursor_is_answered_400() {
    let app = app();
    app.post("/v1/batch", body(&[event(1, "a")])).await.batch();
    for query in [
        "limit=0",
        "limit=5001",
        "limit=-1",
        "limit=ten",
        "cursor=nope",
    ] {
        let a = app.get(&format!("/v1/events?{query}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(a.json()["error"].is_string(), "{query}");
    }
    assert_eq!(
        app.get("/v1/events?limit=5000").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_browser_event_may_carry_a_user_id_of_1_to_256_bytes() {
    let app = app();
    let with = |n: u64, user: String| sessionmark::wire::Event {
        user_id: Some(user),
        ..event(n, "e")
    };
    // serde's encoding: the tracker's own encoder does not write user_id yet.
    let sent: Vec<String> = [
        with(1, "user-1".into()),
        with(2, String::new()),
        with(3, "u".repeat(257)),
        with(4, "u".repeat(256)),
    ]
    .iter()
    .map(|e| serde_json::to_string(e).unwrap())
    .collect();
    let a = app
        .post("/v1/batch", format!("{{\"events\":[{}]}}", sent.join(",")))
        .await
        .batch();
    assert_eq!(a.accepted, 2);
    let idx: Vec<usize> = a.rejected.iter().map(|r| r.index).collect();
    assert_eq!(idx, [1, 2]);
    assert!(a.rejected[0].reason.contains("user_id"));
    let stored = app.session_events(SESSION).await;
    assert_eq!(stored[0]["user_id"], "user-1");
    assert_eq!(
        app.get("/v1/sessions").await.json()[0]["user_id"],
        "u".repeat(256)
    );
}
