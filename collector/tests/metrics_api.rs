//! `GET /v1/metrics` and `GET /v1/sites` over HTTP: the answer's shape, the
//! parameters and their defaults, and figures from what ingest stored (the
//! figures themselves are the store suite's, on a hand-worked seed).

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::app::App;
use common::*;
use serde_json::Value;
use sessionmark::wire::{Event, Props};
use sessionmark_collector::Clock;

const DAY: u64 = 24 * 60 * 60 * 1000;
/// The collector's clock in these tests: an hour after the events.
const NOW: u64 = T0 + 60 * 60 * 1000;

fn app() -> App {
    let (clock, _) = Clock::manual(NOW);
    App::build(false, |s| s.with_clock(clock))
}

fn view(n: u64, path: &str, referrer: &str) -> Event {
    Event {
        path: path.into(),
        referrer: referrer.into(),
        ..event(n, "screen_view")
    }
}

/// A batch from a page of shop.example.
async fn from_shop(app: &App, events: &[Event]) {
    let a = app
        .send(
            Request::post("/v1/batch")
                .header(header::ORIGIN, "https://shop.example")
                .body(Body::from(body(events)))
                .unwrap(),
        )
        .await;
    let answer = a.batch();
    assert!(answer.rejected.is_empty(), "{:?}", answer.rejected);
}

fn ok(a: &common::app::Answer) -> Value {
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(a.header("content-type"), "application/json");
    a.json()
}

#[tokio::test]
async fn the_answer_has_every_field_of_the_contract_and_defaults_to_the_last_7_days() {
    let app = app();
    let m = ok(&app.get("/v1/metrics").await);
    let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "average_order_value",
            "avg_engaged_ms",
            "avg_visit_ms",
            "bounce_rate",
            "client_id",
            "conversion_rate",
            "conversions",
            "entry_pages",
            "exit_pages",
            "from",
            "interval",
            "pages_per_visit",
            "pageviews",
            "referrers",
            "revenue",
            "series",
            "to",
            "top_pages",
            "unique_visitors",
            "visitors_now",
            "visits"
        ]
    );
    assert_eq!(m["client_id"], Value::Null);
    assert_eq!(m["to"], NOW);
    assert_eq!(m["from"], NOW - 7 * DAY);
    assert_eq!(m["interval"], "day");
    assert_eq!(m["bounce_rate"], 0.0);
    assert_eq!(m["series"], serde_json::json!([]));
    let hourly = ok(&app
        .get(&format!("/v1/metrics?to={NOW}&from={}", NOW - 2 * DAY))
        .await);
    assert_eq!(hourly["interval"], "hour");
}

#[tokio::test]
async fn bad_parameters_are_answered_400_with_a_reason() {
    let app = app();
    for q in [
        "from=abc",
        "from=-5",
        &format!("from={NOW}&to={NOW}"),
        &format!("from={}&to={NOW}", NOW + 1),
        "to=99999999999999999999",
        "to=9007199254740993",
        "client=demo",
    ] {
        let a = app.get(&format!("/v1/metrics?{q}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(a.json()["error"].is_string(), "{q}");
    }
}

#[tokio::test]
async fn what_ingest_stored_is_counted_with_server_events_and_same_site_referrers() {
    let app = app();
    let exit = Event {
        engaged_time: Some(1500),
        path: "/cart".into(),
        ..event(3, "page_exit")
    };
    from_shop(
        &app,
        &[
            view(1, "/", "https://www.search.example/?q=x"),
            view(2, "/cart", "https://shop.example/"),
            exit,
        ],
    )
    .await;
    // The purchase comes from the shop's backend, in bulk.
    let purchase = format!(
        r#"{{"events":[{{"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e","name":"purchase",
            "session_id":"{SESSION}","timestamp":{},"properties":{{"amount":12.5}}}}]}}"#,
        T0 + 5000
    );
    assert_eq!(
        app.post("/v1/server-events", purchase).await.status,
        StatusCode::OK
    );
    // Another visit whose entry is an internal link of the site: direct.
    let mut again = view(10, "/cart", "https://shop.example/");
    again.session_id = OTHER_SESSION.into();
    from_shop(&app, &[again]).await;

    let m = ok(&app
        .get(&format!(
            "/v1/metrics?client_id=demo&from={T0}&to={}",
            T0 + DAY
        ))
        .await);
    assert_eq!(m["client_id"], "demo");
    assert_eq!(m["visits"], 2);
    assert_eq!(m["unique_visitors"], 1);
    assert_eq!(m["pageviews"], 3);
    assert_eq!(m["bounce_rate"], 0.5);
    assert_eq!(m["avg_engaged_ms"], 750);
    assert_eq!(m["conversions"], 1);
    assert_eq!(m["revenue"], 12.5);
    assert_eq!(m["average_order_value"], 12.5);
    assert_eq!(
        m["referrers"],
        serde_json::json!([{"value": "(direct)", "count": 1}, {"value": "search.example", "count": 1}])
    );
    assert_eq!(
        m["entry_pages"],
        serde_json::json!([{"value": "/", "count": 1}, {"value": "/cart", "count": 1}])
    );
    assert_eq!(m["series"][0]["t"], T0 - T0 % (60 * 60 * 1000));
}

#[tokio::test]
async fn the_goals_setting_names_the_conversion_events() {
    let (clock, _) = Clock::manual(NOW);
    let app = App::build(false, |s| {
        s.with_clock(clock).with_goals(vec!["signup".into()])
    });
    let signup = Event {
        properties: Props("{\"amount\":3}".into()),
        ..event(2, "signup")
    };
    from_shop(&app, &[view(1, "/", ""), signup, event(3, "purchase")]).await;
    let m = ok(&app
        .get(&format!("/v1/metrics?from={T0}&to={}", T0 + DAY))
        .await);
    assert_eq!(
        (m["conversions"].as_u64(), m["revenue"].as_f64()),
        (Some(1), Some(3.0))
    );
}

#[tokio::test]
async fn sites_lists_each_site_with_its_events_and_last_time() {
    let app = app();
    let mut other = event(5, "screen_view");
    other.client_id = "blog".into();
    other.session_id = OTHER_SESSION.into();
    from_shop(&app, &[event(1, "a"), event(2, "b"), other]).await;
    let sites = ok(&app.get("/v1/sites").await);
    assert_eq!(
        sites,
        serde_json::json!([
            {"client_id": "blog", "events": 1, "last_seen": T0 + 5000},
            {"client_id": "demo", "events": 2, "last_seen": T0 + 2000},
        ])
    );
}
