//! Sealing: `POST /v1/sessions/{id}/seal`, and the lazy seal of a session
//! idle longer than the timeout (by the server's clock of its last stored
//! event). Time is a manual clock in the router state: no sleeping.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::app::App;
use common::*;
use serde_json::Value;
use sessionmark::wire::Event;
use sessionmark_collector::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const TIMEOUT: u64 = 60_000;
/// The server clock at the start of each test.
const START: u64 = 1_800_000_000_000;

struct Timed {
    app: App,
    clock: Arc<AtomicU64>,
}

impl Timed {
    fn new() -> Timed {
        let (clock, handle) = Clock::manual(START);
        Timed {
            app: App::build(false, |s| s.with_clock(clock).with_seal_after(TIMEOUT)),
            clock: handle,
        }
    }

    fn advance(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    async fn batch(&self, events: &[Event]) -> Vec<String> {
        let a = self.app.post("/v1/batch", body(events)).await.batch();
        assert!(a.rejected.is_empty(), "{:?}", a.rejected);
        a.sealed
    }

    async fn seal(&self, id: &str) -> (StatusCode, Value) {
        let a = self.app.post(&format!("/v1/sessions/{id}/seal"), "").await;
        (a.status, a.json())
    }

    async fn session(&self, id: &str) -> Value {
        let list = self.app.get("/v1/sessions").await.json();
        list.as_array()
            .unwrap()
            .iter()
            .find(|s| s["session_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not listed"))
    }
}

fn other(n: u64, name: &str) -> Event {
    Event {
        session_id: OTHER_SESSION.into(),
        ..event(n, name)
    }
}

#[tokio::test]
async fn a_batch_for_an_unsealed_session_answers_sealed_empty() {
    let t = Timed::new();
    assert!(t.batch(&[event(1, "a")]).await.is_empty());
    t.advance(TIMEOUT / 2);
    assert!(t.batch(&[event(2, "b")]).await.is_empty());
    assert_eq!(t.session(SESSION).await["sealed_at"], Value::Null);
}

#[tokio::test]
async fn the_seal_route_seals_and_the_next_batch_answers_sealed_but_stores_its_events() {
    let t = Timed::new();
    t.batch(&[event(1, "a")]).await;
    t.advance(5);
    let (status, answer) = t.seal(SESSION).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, serde_json::json!({ "sealed": SESSION }));
    assert_eq!(t.session(SESSION).await["sealed_at"], START + 5);

    let a = t
        .app
        .post("/v1/batch", body(&[event(2, "b"), event(3, "c")]))
        .await
        .batch();
    assert_eq!(a.sealed, [SESSION]);
    assert_eq!(a.accepted, 2, "a sealed session's events are still stored");
    assert_eq!(t.app.session_events(SESSION).await.len(), 3);
    // A retry of them is acknowledged as duplicates and still says sealed.
    let retry = t
        .app
        .post("/v1/batch", body(&[event(2, "b")]))
        .await
        .batch();
    assert_eq!(
        (retry.duplicates, retry.sealed.as_slice()),
        (1, [SESSION.to_owned()].as_slice())
    );
}

#[tokio::test]
async fn sealing_again_keeps_the_first_sealed_at() {
    let t = Timed::new();
    t.batch(&[event(1, "a")]).await;
    assert_eq!(t.seal(SESSION).await.0, StatusCode::OK);
    t.advance(1000);
    assert_eq!(t.seal(SESSION).await.0, StatusCode::OK);
    assert_eq!(t.session(SESSION).await["sealed_at"], START);
}

#[tokio::test]
async fn sealing_an_unknown_or_malformed_session_is_answered_404() {
    let t = Timed::new();
    t.batch(&[event(1, "a")]).await;
    for id in [OTHER_SESSION, "sess_nope", "%27%20OR%201%3D1"] {
        let (status, answer) = t.seal(id).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert!(answer["error"].is_string(), "{id}");
    }
    assert_eq!(t.session(SESSION).await["sealed_at"], Value::Null);
}

#[tokio::test]
async fn a_session_idle_longer_than_the_timeout_is_sealed_by_its_next_batch() {
    let t = Timed::new();
    assert!(t.batch(&[event(1, "a")]).await.is_empty());
    // Exactly the timeout is not longer than it.
    t.advance(TIMEOUT);
    assert!(t.batch(&[event(2, "b")]).await.is_empty());
    t.advance(TIMEOUT + 1);
    let sealed_at = t.now();
    assert_eq!(t.batch(&[event(3, "c")]).await, [SESSION]);
    assert_eq!(
        t.app.session_events(SESSION).await.len(),
        3,
        "nothing dropped"
    );
    let row = t.session(SESSION).await;
    assert_eq!(row["sealed_at"], sealed_at);
    assert_eq!(row["event_count"], 3);
    // It stays sealed, however busy it is afterwards.
    t.advance(1);
    assert_eq!(t.batch(&[event(4, "d")]).await, [SESSION]);
    assert_eq!(t.session(SESSION).await["sealed_at"], sealed_at);
}

#[tokio::test]
async fn idleness_is_measured_by_the_server_clock_not_event_timestamps() {
    let t = Timed::new();
    // Event timestamps hours apart (2024), arriving moments apart: not idle.
    let mut late = event(2, "b");
    late.timestamp = T0 + 10 * 3_600_000;
    t.batch(&[event(1, "a")]).await;
    t.advance(1);
    assert!(t.batch(&[late]).await.is_empty());
}

#[tokio::test]
async fn the_answer_lists_only_the_sealed_sessions_of_the_batch_in_order() {
    let t = Timed::new();
    t.batch(&[event(1, "a")]).await;
    t.advance(TIMEOUT + 1);
    // OTHER_SESSION is new; SESSION has been idle.
    assert_eq!(
        t.batch(&[other(2, "x"), event(3, "b"), event(4, "c")])
            .await,
        [SESSION]
    );
    t.seal(OTHER_SESSION).await;
    t.advance(1);
    assert_eq!(
        t.batch(&[other(5, "y"), event(6, "d")]).await,
        [OTHER_SESSION, SESSION]
    );
    // A sealed session not in this batch is not mentioned.
    let mut third = event(7, "z");
    third.session_id = "sess_018e0e5c-7c00-7abc-8def-0123456789ab".into();
    assert!(t.batch(&[third]).await.is_empty());
}

#[tokio::test]
async fn retried_duplicates_do_not_keep_a_session_alive() {
    let t = Timed::new();
    t.batch(&[event(1, "a")]).await;
    t.advance(TIMEOUT / 2);
    t.batch(&[event(1, "a")]).await;
    t.advance(TIMEOUT / 2 + 1);
    assert_eq!(t.batch(&[event(2, "b")]).await, [SESSION]);
}

#[tokio::test]
async fn a_server_event_is_stored_in_a_sealed_session_and_seals_an_idle_one() {
    let t = Timed::new();
    t.batch(&[event(1, "a")]).await;
    t.advance(TIMEOUT + 1);
    let post = |s: &'static str| {
        Request::post("/v1/server-events")
            .header("x-session-id", s)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name":"purchase"}"#))
            .unwrap()
    };
    let a = t.app.send(post(SESSION)).await;
    assert_eq!(a.status, StatusCode::OK);
    let stored = t.app.session_events(SESSION).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(
        stored[1]["timestamp"],
        t.now(),
        "server events use the server clock"
    );
    assert_eq!(t.session(SESSION).await["sealed_at"], t.now());
    // The tab learns it with its next batch.
    assert_eq!(t.batch(&[event(2, "b")]).await, [SESSION]);
    assert_eq!(t.app.session_events(SESSION).await.len(), 3);
}
