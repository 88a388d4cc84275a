//! Keys, CORS of reads, and what a browser batch may claim (README "Limits
//! and access"), on the real router in process.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::app::App;
use common::*;
use sessionmark_collector::access::{parse_origins, Access, Key};

const READ_KEY: &str = "read-key-for-tests-0123";
const SERVER_KEY: &str = "server-key-for-tests-0123";
const DASHBOARD: &str = "https://dash.example.com";

fn keyed() -> App {
    App::build(false, |s| {
        s.with_access(Access {
            read_key: Some(Key::new("read", READ_KEY).unwrap()),
            server_key: Some(Key::new("server", SERVER_KEY).unwrap()),
            read_origins: parse_origins(DASHBOARD).unwrap(),
        })
    })
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[tokio::test]
async fn reads_without_the_read_key_are_answered_401_with_www_authenticate_bearer() {
    let app = keyed();
    app.post("/v1/batch", body(&[event(1, "a")])).await.batch();
    for path in [
        "/v1/events",
        "/v1/sessions",
        &format!("/v1/events?session_id={SESSION}"),
        "/v1/metrics",
        "/v1/sites",
    ] {
        for auth in [
            None,
            Some(bearer("wrong-key-0123456789")),
            Some(bearer(SERVER_KEY)),
        ] {
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("authorization", a.as_str())).collect();
            let a = app.with_headers("GET", path, &headers).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{path} {auth:?}");
            assert_eq!(a.header("www-authenticate"), "Bearer");
            assert!(a.json()["error"].as_str().unwrap().contains("read key"));
        }
    }
}

#[tokio::test]
async fn reads_with_the_read_key_are_answered() {
    let app = keyed();
    app.post("/v1/batch", body(&[event(1, "a")])).await.batch();
    let auth = bearer(READ_KEY);
    let a = app
        .with_headers(
            "GET",
            &format!("/v1/events?session_id={SESSION}"),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json().as_array().unwrap().len(), 1);
    let s = app
        .with_headers("GET", "/v1/sessions", &[("authorization", &auth)])
        .await;
    assert_eq!(s.status, StatusCode::OK);
}

#[tokio::test]
async fn sealing_needs_the_read_key() {
    let app = keyed();
    app.post("/v1/batch", body(&[event(1, "a")])).await.batch();
    let path = format!("/v1/sessions/{SESSION}/seal");
    let refused = app.with_headers("POST", &path, &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Not sealed: the next batch answers no sealed session.
    let next = app.post("/v1/batch", body(&[event(2, "b")])).await.batch();
    assert!(next.sealed.is_empty());
    let sealed = app
        .with_headers("POST", &path, &[("authorization", &bearer(READ_KEY))])
        .await;
    assert_eq!(sealed.status, StatusCode::OK);
}

#[tokio::test]
async fn server_events_need_the_server_key_and_not_the_read_key() {
    let app = keyed();
    app.post("/v1/batch", body(&[event(1, "a")])).await.batch();
    let post = |auth: Option<String>| {
        let mut req = Request::post("/v1/server-events").header("x-session-id", SESSION);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        app.send(req.body(Body::from(r#"{"name":"purchase"}"#)).unwrap())
    };
    assert_eq!(post(None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(Some(bearer(READ_KEY))).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(post(Some(bearer(SERVER_KEY))).await.status, StatusCode::OK);
}

#[tokio::test]
async fn ingest_stays_open_to_any_origin_with_keys_configured() {
    let app = keyed();
    let a = app
        .send(
            Request::post("/v1/batch")
                .header("origin", "https://shop.example")
                .body(Body::from(body(&[event(1, "a")])))
                .unwrap(),
        )
        .await;
    assert_eq!(a.batch().accepted, 1);
    assert_eq!(a.header("access-control-allow-origin"), "*");
}

#[tokio::test]
async fn reads_answer_cors_only_to_the_configured_origins() {
    let app = keyed();
    let app = &app;
    let preflight = |origin: &'static str| async move {
        let headers = [
            ("origin", origin),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ];
        app.with_headers("OPTIONS", "/v1/events", &headers).await
    };
    let ok = preflight(DASHBOARD).await;
    assert_eq!(ok.header("access-control-allow-origin"), DASHBOARD);
    assert!(ok
        .header("access-control-allow-headers")
        .contains("authorization"));
    let other = preflight("https://evil.example").await;
    assert_eq!(other.header("access-control-allow-origin"), "");
    let get = app
        .with_headers(
            "GET",
            "/v1/sessions",
            &[("origin", DASHBOARD), ("authorization", &bearer(READ_KEY))],
        )
        .await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.header("access-control-allow-origin"), DASHBOARD);
    assert!(get
        .header("access-control-expose-headers")
        .contains("x-next-cursor"));
}

#[tokio::test]
async fn without_keys_reads_are_open_to_loopback_hosts_but_answer_no_cors() {
    let app = App::build(false, |s| s);
    let a = app
        .with_headers(
            "GET",
            "/v1/events",
            &[
                ("host", "127.0.0.1:8080"),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.header("access-control-allow-origin"),
        "",
        "no page of another origin may read"
    );
    let rebound = app
        .with_headers("GET", "/v1/events", &[("host", "evil.example")])
        .await;
    assert_eq!(
        rebound.status,
        StatusCode::FORBIDDEN,
        "a DNS-rebound name is not this machine"
    );
    let seal = app
        .with_headers(
            "POST",
            &format!("/v1/sessions/{SESSION}/seal"),
            &[("host", "evil.example:80")],
        )
        .await;
    assert_eq!(seal.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_browser_batch_cannot_claim_to_be_a_server_event() {
    let app = App::build(false, |s| s);
    let mut forged = encode(&event(1, "purchase"));
    forged.insert_str(1, "\"source\":\"server\",");
    let honest = encode(&event(2, "b"));
    let a = app
        .post("/v1/batch", format!("{{\"events\":[{forged},{honest}]}}"))
        .await
        .batch();
    assert_eq!(a.accepted, 1);
    assert_eq!(a.rejected.len(), 1);
    assert_eq!(a.rejected[0].index, 0);
    assert!(a.rejected[0].reason.contains("source"), "{:?}", a.rejected);
    let stored = app.session_events(SESSION).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["name"], "b");
}
