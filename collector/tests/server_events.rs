//! `POST /v1/server-events`: the site's backend records an event against the
//! browser session named by the `X-Session-ID` header or the `ss_sid` cookie.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::app::{Answer, App};
use common::*;
use serde_json::Value;
use sessionmark::ids::is_uuid_v7_text;

const OTHER_VISITOR: &str = "anon_0f8fad5b-d9cb-469f-a165-70867728950e";
const NO_SESSION: &str = "no valid X-Session-ID header or ss_sid cookie";

fn app() -> App {
    App::build(false, |s| s)
}

/// An app that has already stored one browser event of `SESSION` (by `VISITOR`).
async fn app_with_session() -> App {
    let app = app();
    app.post("/v1/batch", body(&[event(1, "screen_view")]))
        .await
        .batch();
    app
}

async fn server_event(
    app: &App,
    session_header: Option<&str>,
    cookie: Option<&str>,
    body: &str,
) -> Answer {
    let mut req =
        Request::post("/v1/server-events").header(header::CONTENT_TYPE, "application/json");
    if let Some(s) = session_header {
        req = req.header("X-Session-ID", s);
    }
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    app.send(req.body(Body::from(body.to_owned())).unwrap())
        .await
}

fn ok(a: &Answer) -> Value {
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    a.json()
}

/// The stored events of `session` that came from the server.
async fn stored_server_events(app: &App, session: &str) -> Vec<Value> {
    app.session_events(session)
        .await
        .into_iter()
        .filter(|e| e["source"] == "server")
        .collect()
}

#[tokio::test]
async fn a_server_event_with_the_session_header_is_stored_in_that_session() {
    let app = app_with_session().await;
    let a = server_event(
        &app,
        Some(SESSION),
        None,
        r#"{"name":"purchase","properties":{"total":42,"currency":"EUR"}}"#,
    )
    .await;
    let answer = ok(&a);
    assert_eq!(a.header("content-type"), "application/json");
    assert_eq!(answer["session_id"], SESSION);
    assert_eq!(answer["source"], "header");
    let event_id = answer["event_id"].as_str().unwrap();
    assert!(is_uuid_v7_text(event_id), "{event_id}");
    assert_eq!(answer.as_object().unwrap().len(), 3, "{answer}");

    let all = app.session_events(SESSION).await;
    assert_eq!(all.len(), 2);
    let e = &all[1];
    assert_eq!(e["event_id"], event_id);
    assert_eq!(e["name"], "purchase");
    assert_eq!(e["session_id"], SESSION);
    assert_eq!(e["anonymous_id"], VISITOR, "the visitor the session knows");
    assert_eq!(e["path"], "");
    assert_eq!(e["title"], "");
    assert_eq!(e["referrer"], "");
    assert_eq!(e["client_id"], "server");
    assert_eq!(e["source"], "server");
    assert_eq!(
        e["properties"],
        serde_json::json!({"total": 42, "currency": "EUR"})
    );
    // Server time: far later than the browser event's 2024 timestamp.
    assert!(e["timestamp"].as_u64().unwrap() > T0 + 60_000);

    let sessions = app.get("/v1/sessions").await.json();
    assert_eq!(sessions[0]["event_count"], 2);
}

#[tokio::test]
async fn a_server_event_with_only_cookies_uses_ss_sid_and_ss_vid() {
    let app = app();
    let cookie = format!("theme=dark; ss_sid={OTHER_SESSION}; ss_vid={OTHER_VISITOR}");
    let answer = ok(&server_event(&app, None, Some(&cookie), r#"{"name":"signup"}"#).await);
    assert_eq!(answer["session_id"], OTHER_SESSION);
    assert_eq!(answer["source"], "cookie");
    let stored = stored_server_events(&app, OTHER_SESSION).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["event_id"], answer["event_id"]);
    assert_eq!(stored[0]["anonymous_id"], OTHER_VISITOR);
    assert_eq!(stored[0]["properties"], serde_json::json!({}));
}

#[tokio::test]
async fn a_valid_ss_vid_cookie_wins_over_the_visitor_the_session_knows() {
    let app = app_with_session().await;
    let cookie = format!("ss_vid={OTHER_VISITOR}");
    ok(&server_event(&app, Some(SESSION), Some(&cookie), r#"{"name":"x"}"#).await);
    let stored = stored_server_events(&app, SESSION).await;
    assert_eq!(stored[0]["anonymous_id"], OTHER_VISITOR);
}

#[tokio::test]
async fn the_header_wins_over_the_cookie() {
    let app = app_with_session().await;
    let cookie = format!("ss_sid={OTHER_SESSION}; ss_vid={VISITOR}");
    let answer = ok(&server_event(&app, Some(SESSION), Some(&cookie), r#"{"name":"x"}"#).await);
    assert_eq!(answer["session_id"], SESSION);
    assert_eq!(answer["source"], "header");
    assert_eq!(stored_server_events(&app, SESSION).await.len(), 1);
    assert!(app.session_events(OTHER_SESSION).await.is_empty());
}

#[tokio::test]
async fn a_malformed_header_falls_back_to_a_valid_cookie() {
    let app = app_with_session().await;
    let cookie = format!("ss_sid={SESSION}");
    let answer =
        ok(&server_event(&app, Some("sess_forged"), Some(&cookie), r#"{"name":"x"}"#).await);
    assert_eq!(answer["session_id"], SESSION);
    assert_eq!(answer["source"], "cookie");
}

#[tokio::test]
async fn no_valid_session_id_is_answered_400_and_stores_nothing() {
    let app = app_with_session().await;
    let upper = SESSION.to_ascii_uppercase();
    let v4 = "sess_7c9e6679-7425-40de-944b-e07fc1f90ae7";
    let cases: Vec<(Option<&str>, Option<String>)> = vec![
        (None, None),
        (Some("sess_not-a-uuid"), None),
        (Some(&upper), None),
        (Some(v4), None),
        (Some(VISITOR), None),
        (Some("<script>alert(1)</script>"), None),
        (None, Some(format!("xss_sid={SESSION}"))),
        (None, Some(format!("ss_sid={v4}"))),
        (None, Some(format!("ss_sid=bad; ss_sid={SESSION}"))),
        (None, Some(format!("ss_vid={VISITOR}"))),
        (
            Some("' OR 1=1 --"),
            Some("ss_sid=%27%20OR%201%3D1".to_owned()),
        ),
    ];
    for (h, c) in &cases {
        let a = server_event(&app, *h, c.as_deref(), r#"{"name":"x"}"#).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{h:?} {c:?}");
        assert_eq!(
            a.json(),
            serde_json::json!({ "error": NO_SESSION }),
            "{h:?} {c:?}"
        );
    }
    assert_eq!(app.session_events(SESSION).await.len(), 1);
    assert_eq!(app.events("").await.len(), 1);
}

#[tokio::test]
async fn a_session_with_no_known_visitor_and_no_ss_vid_is_answered_400() {
    let app = app_with_session().await;
    let a = server_event(&app, Some(OTHER_SESSION), None, r#"{"name":"x"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.json(),
        serde_json::json!({ "error": "no visitor for this session" })
    );
    // A malformed ss_vid is no visitor either.
    let a = server_event(
        &app,
        Some(OTHER_SESSION),
        Some("ss_vid=anon_x"),
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(app.session_events(OTHER_SESSION).await.is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_a_server_event_is_answered_400() {
    let app = app_with_session().await;
    let long_name = format!(r#"{{"name":"{}"}}"#, "n".repeat(129));
    for body in [
        "",
        "purchase",
        "{}",
        r#"{"name":""}"#,
        long_name.as_str(),
        r#"{"name":"x","properties":[1,2]}"#,
        r#"{"name":"x","properties":"a"}"#,
        r#"{"name":"x","session_id":"sess_018e0e5c-6b00-7abc-8def-0123456789ab"}"#,
    ] {
        let a = server_event(&app, Some(SESSION), None, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(a.json()["error"].is_string(), "{body}");
    }
    assert!(stored_server_events(&app, SESSION).await.is_empty());
}

#[tokio::test]
async fn a_server_event_body_over_64_kib_is_answered_413() {
    let app = app_with_session().await;
    let body = format!(
        r#"{{"name":"x","properties":{{"p":"{}"}}}}"#,
        "x".repeat(64 * 1024)
    );
    let a = server_event(&app, Some(SESSION), None, &body).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(a.json()["error"].is_string());
}

#[tokio::test]
async fn each_server_event_gets_its_own_event_id() {
    let app = app_with_session().await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let a = ok(&server_event(&app, Some(SESSION), None, r#"{"name":"x"}"#).await);
        ids.push(a["event_id"].as_str().unwrap().to_owned());
    }
    let stored: Vec<String> = stored_server_events(&app, SESSION)
        .await
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), 20);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

#[tokio::test]
async fn the_server_event_route_answers_a_cors_preflight_with_x_session_id() {
    let app = app();
    let a = app.preflight("/v1/server-events").await;
    assert!(a.status.is_success(), "{}", a.status);
    assert_eq!(a.header("access-control-allow-origin"), "*");
    assert!(a
        .header("access-control-allow-headers")
        .contains("x-session-id"));
}

#[tokio::test]
async fn get_on_the_server_event_route_is_not_allowed() {
    let app = app();
    let a = app.get("/v1/server-events").await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// A bulk event of the server SDK, as JSON.
fn sdk_event(event_id: &str, name: &str, session: &str, extra: &str) -> String {
    format!(r#"{{"event_id":"{event_id}","name":"{name}","session_id":"{session}"{extra}}}"#)
}

const E1: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const E2: &str = "018e0e5c-5a00-7abc-8def-00000000aaaa";
const E3: &str = "018e0e5c-5a00-7abc-8def-00000000bbbb";

async fn bulk(app: &App, events: &[String]) -> Answer {
    let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
    app.send(
        Request::post("/v1/server-events")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_bulk_request_stores_each_event_in_its_own_session_under_the_sdk_event_id() {
    let app = app_with_session().await;
    let a = bulk(
        &app,
        &[
            sdk_event(
                E1,
                "purchase",
                SESSION,
                r#","timestamp":1709318405000,"properties":{"amount":42}"#,
            ),
            sdk_event(
                E2,
                "signup",
                OTHER_SESSION,
                &format!(r#","anonymous_id":"{OTHER_VISITOR}""#),
            ),
        ],
    )
    .await;
    assert_eq!(
        ok(&a),
        serde_json::json!({"accepted": 2, "duplicates": 0, "rejected": []})
    );
    let mine = stored_server_events(&app, SESSION).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["event_id"], E1);
    assert_eq!(
        mine[0]["anonymous_id"], VISITOR,
        "the visitor the session knows"
    );
    assert_eq!(mine[0]["timestamp"], 1_709_318_405_000u64);
    assert_eq!(mine[0]["client_id"], "server");
    assert_eq!(mine[0]["properties"]["amount"], 42);
    let other = stored_server_events(&app, OTHER_SESSION).await;
    assert_eq!(other[0]["event_id"], E2);
    assert_eq!(other[0]["anonymous_id"], OTHER_VISITOR);
}

#[tokio::test]
async fn a_retried_bulk_request_is_stored_once() {
    let app = app_with_session().await;
    let events = [
        sdk_event(E1, "a", SESSION, ""),
        sdk_event(E2, "b", SESSION, ""),
    ];
    ok(&bulk(&app, &events).await);
    let retry = ok(&bulk(&app, &events).await);
    assert_eq!(
        retry,
        serde_json::json!({"accepted": 0, "duplicates": 2, "rejected": []})
    );
    assert_eq!(stored_server_events(&app, SESSION).await.len(), 2);
}

#[tokio::test]
async fn a_bad_bulk_event_is_rejected_by_index_and_its_neighbours_are_stored() {
    let app = app_with_session().await;
    let a = ok(&bulk(
        &app,
        &[
            sdk_event(E1, "a", SESSION, ""),
            // No visitor: the session is unknown and none is given.
            sdk_event(E2, "b", OTHER_SESSION, ""),
            sdk_event("not-a-uuid", "c", SESSION, ""),
            sdk_event(E3, "d", SESSION, r#","source":"browser""#),
            "42".to_owned(),
        ],
    )
    .await);
    assert_eq!(a["accepted"], 1);
    let rejected = a["rejected"].as_array().unwrap();
    let idx: Vec<u64> = rejected
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, [1, 2, 3, 4]);
    assert_eq!(rejected[0]["reason"], "no visitor for this session");
    assert!(rejected[1]["reason"].as_str().unwrap().contains("event_id"));
    assert!(rejected[2]["reason"].as_str().unwrap().contains("source"));
    assert_eq!(stored_server_events(&app, SESSION).await.len(), 1);
    assert!(app.session_events(OTHER_SESSION).await.is_empty());
}

#[tokio::test]
async fn a_bulk_body_of_the_wrong_shape_or_over_100_events_is_answered_400() {
    let app = app_with_session().await;
    let many: Vec<String> = (0..101)
        .map(|n| {
            sdk_event(
                &format!("018e0e5c-5a00-7abc-8def-{n:012x}"),
                "x",
                SESSION,
                "",
            )
        })
        .collect();
    let a = bulk(&app, &many).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["error"].as_str().unwrap().contains("at most 100"));
    for body in [
        r#"{"events":{}}"#,
        r#"{"events":[],"extra":1}"#,
        r#"{"events":"x"}"#,
    ] {
        let a = app
            .send(
                Request::post("/v1/server-events")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(a.json()["error"].is_string(), "{body}");
    }
    assert!(stored_server_events(&app, SESSION).await.is_empty());
}

#[tokio::test]
async fn a_bulk_body_may_exceed_the_single_event_limit_up_to_1_mib() {
    let app = app_with_session().await;
    let pad = "x".repeat(15 * 1024);
    let events: Vec<String> = (0..10)
        .map(|n| {
            sdk_event(
                &format!("018e0e5c-5a00-7abc-8def-{:012x}", 0xb16_0000 + n),
                "big",
                SESSION,
                &format!(r#","properties":{{"pad":"{pad}"}}"#),
            )
        })
        .collect();
    let a = ok(&bulk(&app, &events).await);
    assert_eq!(a["accepted"], 10);
    let huge = format!(r#"{{"events":["{}"]}}"#, "x".repeat(1024 * 1024));
    let a = app
        .send(
            Request::post("/v1/server-events")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_server_event_with_a_user_id_links_the_visitor_of_its_session() {
    let app = app_with_session().await;
    ok(&bulk(
        &app,
        &[sdk_event(E1, "identify", SESSION, r#","user_id":"user-7""#)],
    )
    .await);
    let sessions = app.get("/v1/sessions").await.json();
    assert_eq!(sessions[0]["user_id"], "user-7");
    assert_eq!(
        stored_server_events(&app, SESSION).await[0]["user_id"],
        "user-7"
    );
}
