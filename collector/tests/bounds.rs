//! Bounds on extra fields and nesting (README "Limits and access"): events
//! past them are rejected on their own and never stored.

mod common;

use common::app::App;
use common::*;
use serde_json::Value;
use sessionmark::wire::BatchAnswer;

fn app() -> App {
    App::build(false, |s| s)
}

/// A batch of one valid event with `extra` inserted as its first fields,
/// then a valid neighbour.
async fn send_with(app: &App, extra: &str) -> BatchAnswer {
    let mut first = encode(&event(1, "a"));
    first.insert_str(1, extra);
    let second = encode(&event(2, "b"));
    app.post("/v1/batch", format!("{{\"events\":[{first},{second}]}}"))
        .await
        .batch()
}

/// The first event of the batch is the one rejected, for a reason naming
/// `why`, and only its neighbour is stored.
async fn assert_the_first_rejected_for(app: &App, a: &BatchAnswer, why: &str) {
    assert_eq!(a.rejected.len(), 1, "{:?}", a.rejected);
    assert_eq!(a.rejected[0].index, 0);
    assert!(a.rejected[0].reason.contains(why), "{:?}", a.rejected);
    assert_only_the_neighbour_stored(app).await;
}

async fn assert_only_the_neighbour_stored(app: &App) {
    let stored = app.session_events(SESSION).await;
    let names: Vec<&Value> = stored.iter().map(|e| &e["name"]).collect();
    assert_eq!(names, ["b"]);
}

#[tokio::test]
async fn a_hundred_thousand_deep_unknown_field_is_rejected_and_not_stored() {
    let app = app();
    for depth in [100_000, 1000, 11] {
        let deep = format!("\"deep\":{}{},", "[".repeat(depth), "]".repeat(depth));
        let a = send_with(&app, &deep).await;
        assert_eq!(
            (a.accepted + a.duplicates, a.rejected.len()),
            (1, 1),
            "{depth}"
        );
        // 100,000 levels are refused for their size first.
        assert!(
            a.rejected[0].reason.contains("deep") || depth > 10_000,
            "{:?}",
            a.rejected
        );
    }
    assert_only_the_neighbour_stored(&app).await;
    // What is listed still parses with a depth-limited reader.
    let text = app.get("/v1/events").await.body;
    assert!(serde_json::from_slice::<Value>(&text).is_ok());
}

#[tokio::test]
async fn deeply_nested_properties_are_rejected() {
    let app = app();
    let mut e = encode(&event(1, "a"));
    let props = format!("{}1{}", "{\"a\":".repeat(11), "}".repeat(11));
    e = e.replace(
        "\"properties\":{\"n\":1}",
        &format!("\"properties\":{props}"),
    );
    assert!(e.contains("{\"a\":{\"a\""), "{e}");
    let a = app
        .post(
            "/v1/batch",
            format!("{{\"events\":[{e},{}]}}", encode(&event(2, "b"))),
        )
        .await
        .batch();
    assert_the_first_rejected_for(&app, &a, "properties").await;
}

#[tokio::test]
async fn more_than_sixteen_unknown_fields_are_rejected() {
    let app = app();
    let many: String = (0..17).map(|i| format!("\"f{i}\":{i},")).collect();
    let a = send_with(&app, &many).await;
    assert_eq!(a.rejected.len(), 1);
    assert_only_the_neighbour_stored(&app).await;
}

#[tokio::test]
async fn unknown_fields_larger_than_4_kib_together_are_rejected() {
    let app = app();
    let big = format!(
        "\"a\":\"{}\",\"b\":\"{}\",",
        "x".repeat(2100),
        "y".repeat(2100)
    );
    let a = send_with(&app, &big).await;
    assert_the_first_rejected_for(&app, &a, "bytes").await;
}

#[tokio::test]
async fn an_event_padded_past_32_kib_with_whitespace_is_rejected() {
    let app = app();
    let pad = format!("\"pad\":1{},", " ".repeat(40_000));
    let a = send_with(&app, &pad).await;
    assert_the_first_rejected_for(&app, &a, "larger").await;
}

#[tokio::test]
async fn an_unpaired_surrogate_in_properties_is_rejected() {
    let app = app();
    let e = encode(&event(1, "a")).replace(
        "\"properties\":{\"n\":1}",
        "\"properties\":{\"s\":\"\\ud800\"}",
    );
    let a = app
        .post(
            "/v1/batch",
            format!("{{\"events\":[{e},{}]}}", encode(&event(2, "b"))),
        )
        .await
        .batch();
    assert_eq!(a.rejected.len(), 1, "{e}");
    assert_only_the_neighbour_stored(&app).await;
}

#[tokio::test]
async fn a_server_event_with_deep_properties_is_answered_400() {
    let app = app();
    app.post("/v1/batch", body(&[event(1, "a")])).await.batch();
    let props = format!("{}1{}", "{\"a\":".repeat(11), "}".repeat(11));
    let a = app
        .send(
            axum::http::Request::post("/v1/server-events")
                .header("x-session-id", SESSION)
                .body(axum::body::Body::from(format!(
                    "{{\"name\":\"x\",\"properties\":{props}}}"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, axum::http::StatusCode::BAD_REQUEST);
    assert!(a.json()["error"].as_str().unwrap().contains("properties"));
}

#[tokio::test]
async fn a_compact_event_is_bounded_as_the_whole_event_it_makes_with_shared() {
    let app = app();
    // Two events as the tracker sends them; the second then carries its
    // own referrer, so it takes nothing large from `shared`.
    let mut body: Value =
        serde_json::from_str(&compact_body(&[event(1, "a"), event(2, "b")])).unwrap();
    body["events"][1]["referrer"] = Value::from("https://own.example/");
    // 14 KiB of shared referrer: the first event alone is under 32 KiB as
    // sent, over it whole. Refused for its size before its fields are
    // judged, as the same event sent whole would be.
    body["shared"]["referrer"] = Value::from("r".repeat(14 * 1024));
    body["events"][0]["properties"] = serde_json::json!({ "p": "p".repeat(15 * 1024) });
    body["events"][0]["extra"] = Value::from("e".repeat(3 * 1024));
    let own_len = body["events"][0].to_string().len();
    assert!(own_len < 32 * 1024, "{own_len}");
    let a = app.post("/v1/batch", body.to_string()).await.batch();
    assert_the_first_rejected_for(&app, &a, "larger").await;

    // The other bounds are the event's own fields' (what `shared` adds is
    // known fields only): too many unknown fields, a forged source, depth.
    let deep = format!("{}{}", "[".repeat(11), "]".repeat(11));
    for (edit, why) in [
        ("many", "unknown fields"),
        ("source", "source"),
        ("deep", "deeper"),
    ] {
        let app = self::app();
        let mut body: Value =
            serde_json::from_str(&compact_body(&[event(1, "a"), event(2, "b")])).unwrap();
        let first = &mut body["events"][0];
        match edit {
            "many" => {
                for i in 0..17 {
                    first[format!("f{i}")] = Value::from(i);
                }
            }
            "source" => first["source"] = Value::from("server"),
            _ => first["x"] = serde_json::from_str(&deep).unwrap(),
        }
        let a = app.post("/v1/batch", body.to_string()).await.batch();
        assert_the_first_rejected_for(&app, &a, why).await;
    }
}
