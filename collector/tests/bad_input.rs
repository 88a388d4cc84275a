//! Bad input against every route of the collector: each case must get a 4xx
//! with a reason in `{"error":...}` (or, inside a well-formed batch, a
//! rejection with a reason), store nothing, and leave the collector
//! answering. One collector takes all the cases, in order.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::app::App;
use common::*;
use serde_json::Value;

/// What a case must get.
enum Want {
    /// This status, with `{"error": "..."}`.
    Status(u16),
    /// `200` with every event of the batch in `rejected`, each with a reason.
    AllRejected,
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    want: Want,
}

fn case(
    name: &'static str,
    method: &'static str,
    path: &str,
    body: impl Into<Vec<u8>>,
    want: Want,
) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        body: body.into(),
        want,
    }
}

fn with_header(mut c: Case, name: &'static str, value: impl Into<String>) -> Case {
    c.headers.push((name, value.into()));
    c
}

/// A batch of one event: a valid event's JSON with `edit` applied.
fn one_event(edit: impl Fn(String) -> String) -> String {
    format!("{{\"events\":[{}]}}", edit(encode(&event(1, "a"))))
}

/// A batch of one event with `field` replaced by `value` (raw JSON).
fn field(name: &str, value: &str) -> String {
    let mut v: Value = serde_json::from_str(&encode(&event(1, "a"))).unwrap();
    v[name] = serde_json::from_str(value).unwrap_or(Value::String(value.to_owned()));
    format!("{{\"events\":[{v}]}}")
}

/// A batch of one event without `name`.
fn without(name: &str) -> String {
    let mut v: Value = serde_json::from_str(&encode(&event(1, "a"))).unwrap();
    v.as_object_mut().unwrap().remove(name);
    format!("{{\"events\":[{v}]}}")
}

/// A compact batch of one event as the tracker writes it (everything
/// shareable in `shared`), with `edit` applied to the body's JSON.
fn compact(edit: impl Fn(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&compact_body(&[event(1, "a")])).unwrap();
    edit(&mut v);
    v.to_string()
}

fn server_event(body: &str) -> Case {
    with_header(
        case(
            "server event",
            "POST",
            "/v1/server-events",
            body,
            Want::Status(400),
        ),
        "x-session-id",
        SESSION,
    )
}

fn cases() -> Vec<Case> {
    use Want::*;
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let mut all = vec![
        // Batch bodies the collector cannot read as {"events":[...]}.
        case("empty body", "POST", "/v1/batch", "", Status(400)),
        case("not JSON", "POST", "/v1/batch", "hello", Status(400)),
        case("a JSON array", "POST", "/v1/batch", "[]", Status(400)),
        case("no events field", "POST", "/v1/batch", "{}", Status(400)),
        case(
            "events not an array",
            "POST",
            "/v1/batch",
            r#"{"events":{}}"#,
            Status(400),
        ),
        case(
            "events null",
            "POST",
            "/v1/batch",
            r#"{"events":null}"#,
            Status(400),
        ),
        case(
            "trailing comma",
            "POST",
            "/v1/batch",
            r#"{"events":[1,]}"#,
            Status(400),
        ),
        case(
            "truncated JSON",
            "POST",
            "/v1/batch",
            one_event(|e| e[..e.len() / 2].to_owned()),
            Status(400),
        ),
        case(
            "invalid UTF-8",
            "POST",
            "/v1/batch",
            b"{\"events\":[\"\xff\xfe\"]}".to_vec(),
            Status(400),
        ),
        case(
            "a NUL byte outside strings",
            "POST",
            "/v1/batch",
            "{\"events\":[]\0}",
            Status(400),
        ),
        case(
            "NaN literal",
            "POST",
            "/v1/batch",
            r#"{"events":[NaN]}"#,
            Status(400),
        ),
        case(
            "101 events",
            "POST",
            "/v1/batch",
            body(&(1..=101).map(|n| event(n, "a")).collect::<Vec<_>>()),
            Status(400),
        ),
        case(
            "a body over 1 MiB",
            "POST",
            "/v1/batch",
            format!("{{\"events\":[\"{}\"]}}", "x".repeat(1 << 20)),
            Status(413),
        ),
        case(
            "events nested 100,000 deep at the top",
            "POST",
            "/v1/batch",
            format!("{{\"events\":[{}]}}", deep(100_000)),
            AllRejected,
        ),
        // Events inside a well-formed batch, each rejected on its own.
        case(
            "an event that is a number",
            "POST",
            "/v1/batch",
            r#"{"events":[42]}"#,
            AllRejected,
        ),
        case(
            "an event that is a string",
            "POST",
            "/v1/batch",
            r#"{"events":["x"]}"#,
            AllRejected,
        ),
        case(
            "no event_id",
            "POST",
            "/v1/batch",
            without("event_id"),
            AllRejected,
        ),
        case(
            "upper-case event_id",
            "POST",
            "/v1/batch",
            field("event_id", "\"018E0E5C-5A00-7ABC-8DEF-000000000001\""),
            AllRejected,
        ),
        case(
            "event_id not a UUID",
            "POST",
            "/v1/batch",
            field("event_id", "\"../../etc/passwd\""),
            AllRejected,
        ),
        case(
            "empty name",
            "POST",
            "/v1/batch",
            field("name", "\"\""),
            AllRejected,
        ),
        case(
            "name of 129 bytes",
            "POST",
            "/v1/batch",
            field("name", &format!("\"{}\"", "n".repeat(129))),
            AllRejected,
        ),
        case(
            "name not a string",
            "POST",
            "/v1/batch",
            field("name", "{\"a\":1}"),
            AllRejected,
        ),
        case(
            "session_id of another prefix",
            "POST",
            "/v1/batch",
            field(
                "session_id",
                "\"anon_018e0e5c-5a00-7abc-8def-0123456789ab\"",
            ),
            AllRejected,
        ),
        case(
            "session_id of a UUIDv4",
            "POST",
            "/v1/batch",
            field(
                "session_id",
                "\"sess_7c9e6679-7425-40de-944b-e07fc1f90ae7\"",
            ),
            AllRejected,
        ),
        case(
            "anonymous_id malformed",
            "POST",
            "/v1/batch",
            field("anonymous_id", "\"anon_<script>\""),
            AllRejected,
        ),
        case(
            "timestamp 0",
            "POST",
            "/v1/batch",
            field("timestamp", "0"),
            AllRejected,
        ),
        case(
            "timestamp negative",
            "POST",
            "/v1/batch",
            field("timestamp", "-5"),
            AllRejected,
        ),
        case(
            "timestamp a float",
            "POST",
            "/v1/batch",
            field("timestamp", "1.5e12"),
            AllRejected,
        ),
        case(
            "timestamp past u64",
            "POST",
            "/v1/batch",
            field("timestamp", "99999999999999999999999"),
            AllRejected,
        ),
        case(
            "timestamp a year ahead",
            "POST",
            "/v1/batch",
            field("timestamp", "4102444800000"),
            AllRejected,
        ),
        case(
            "path of 2049 bytes",
            "POST",
            "/v1/batch",
            field("path", &format!("\"/{}\"", "p".repeat(2048))),
            AllRejected,
        ),
        case(
            "title of 513 bytes",
            "POST",
            "/v1/batch",
            field("title", &format!("\"{}\"", "t".repeat(513))),
            AllRejected,
        ),
        case(
            "client_id of 129 bytes",
            "POST",
            "/v1/batch",
            field("client_id", &format!("\"{}\"", "c".repeat(129))),
            AllRejected,
        ),
        case(
            "properties an array",
            "POST",
            "/v1/batch",
            field("properties", "[1,2]"),
            AllRejected,
        ),
        case(
            "properties a string",
            "POST",
            "/v1/batch",
            field("properties", "\"{}\""),
            AllRejected,
        ),
        case(
            "properties over 16 KiB",
            "POST",
            "/v1/batch",
            field(
                "properties",
                &format!("{{\"x\":\"{}\"}}", "x".repeat(16 * 1024)),
            ),
            AllRejected,
        ),
        case(
            "properties nested 11 deep",
            "POST",
            "/v1/batch",
            field("properties", &format!("{{\"a\":{}}}", deep(10))),
            AllRejected,
        ),
        case(
            "an unknown field nested 1000 deep",
            "POST",
            "/v1/batch",
            one_event(|e| e.replacen('{', &format!("{{\"x\":{},", deep(1000)), 1)),
            AllRejected,
        ),
        case(
            "17 unknown fields",
            "POST",
            "/v1/batch",
            one_event(|e| {
                e.replacen(
                    '{',
                    &format!(
                        "{{{}",
                        (0..17).map(|i| format!("\"u{i}\":0,")).collect::<String>()
                    ),
                    1,
                )
            }),
            AllRejected,
        ),
        case(
            "a forged source of server",
            "POST",
            "/v1/batch",
            one_event(|e| e.replacen('{', "{\"source\":\"server\",", 1)),
            AllRejected,
        ),
        case(
            "scroll_depth 101",
            "POST",
            "/v1/batch",
            field("scroll_depth", "101"),
            AllRejected,
        ),
        case(
            "page_count negative",
            "POST",
            "/v1/batch",
            field("page_count", "-1"),
            AllRejected,
        ),
        case(
            "a repeated known field",
            "POST",
            "/v1/batch",
            one_event(|e| e.replacen('{', "{\"name\":\"twice\",", 1)),
            AllRejected,
        ),
        case(
            "a lone surrogate in the name",
            "POST",
            "/v1/batch",
            one_event(|e| e.replace("\"name\":\"a\"", "\"name\":\"\\ud800\"")),
            AllRejected,
        ),
        case(
            "a lone surrogate in properties",
            "POST",
            "/v1/batch",
            one_event(|e| {
                e.replace(
                    "\"properties\":{\"n\":1}",
                    "\"properties\":{\"s\":\"\\udc00\"}",
                )
            }),
            AllRejected,
        ),
        // Compact batches: a shared part the collector cannot read refuses
        // the request; what an event takes of it is judged in the event.
        case(
            "shared not an object",
            "POST",
            "/v1/batch",
            compact(|v| v["shared"] = Value::from("x")),
            Status(400),
        ),
        case(
            "shared with a field that is not shareable",
            "POST",
            "/v1/batch",
            compact(|v| v["shared"]["name"] = Value::from("all")),
            Status(400),
        ),
        case(
            "shared claiming a source of server",
            "POST",
            "/v1/batch",
            compact(|v| v["shared"]["source"] = Value::from("server")),
            Status(400),
        ),
        case(
            "shared with a field twice",
            "POST",
            "/v1/batch",
            compact(|_| {}).replacen("\"shared\":{", "\"shared\":{\"path\":\"/x\",", 1),
            Status(400),
        ),
        case(
            "a shared session_id that is not one",
            "POST",
            "/v1/batch",
            compact(|v| v["shared"]["session_id"] = Value::from("sess_<script>")),
            AllRejected,
        ),
        case(
            "a shared title of 40 KiB",
            "POST",
            "/v1/batch",
            compact(|v| v["shared"]["title"] = Value::from("t".repeat(40 * 1024))),
            AllRejected,
        ),
        case(
            "a compact event without event_id",
            "POST",
            "/v1/batch",
            compact(|v| {
                v["events"][0].as_object_mut().unwrap().remove("event_id");
            }),
            AllRejected,
        ),
        case(
            "a compact event forging a source of server",
            "POST",
            "/v1/batch",
            compact(|v| v["events"][0]["source"] = Value::from("server")),
            AllRejected,
        ),
        case(
            "a compact event with 17 unknown fields",
            "POST",
            "/v1/batch",
            compact(|v| {
                for i in 0..17 {
                    v["events"][0][format!("u{i}")] = Value::from(i);
                }
            }),
            AllRejected,
        ),
        // Server events.
        case(
            "server event without a session",
            "POST",
            "/v1/server-events",
            r#"{"name":"x"}"#,
            Status(400),
        ),
        with_header(
            case(
                "server event with a malformed X-Session-ID",
                "POST",
                "/v1/server-events",
                r#"{"name":"x"}"#,
                Status(400),
            ),
            "x-session-id",
            "sess_../../x",
        ),
        with_header(
            case(
                "server event with a cookie of garbage",
                "POST",
                "/v1/server-events",
                r#"{"name":"x"}"#,
                Status(400),
            ),
            "cookie",
            "ss_sid=%zz%; ss_vid=\"",
        ),
        server_event("not json"),
        server_event(r#"{"name":"x","session_id":"sess_x"}"#),
        server_event(r#"{"name":""}"#),
        server_event(&format!(
            r#"{{"name":"x","properties":{{"a":{}}}}}"#,
            deep(10)
        )),
        server_event(r#"{"name":"x","properties":[1]}"#),
        // No event of this session was stored, and no ss_vid: no visitor.
        server_event(r#"{"name":"x"}"#),
        with_header(
            case(
                "server event over 64 KiB",
                "POST",
                "/v1/server-events",
                format!(r#"{{"name":"x","p":"{}"}}"#, "x".repeat(65 * 1024)),
                Status(413),
            ),
            "x-session-id",
            SESSION,
        ),
        // Reads and sealing.
        case(
            "events with a repeated session_id",
            "GET",
            &format!("/v1/events?session_id={SESSION}&session_id=x"),
            "",
            Status(400),
        ),
        case(
            "sealing what is not a session id",
            "POST",
            "/v1/sessions/not%20a%20session/seal",
            "",
            Status(404),
        ),
        case(
            "sealing an unknown session",
            "POST",
            &format!("/v1/sessions/{SESSION}/seal"),
            "",
            Status(404),
        ),
        case(
            "sealing a traversal",
            "POST",
            "/v1/sessions/..%2F..%2Fetc/seal",
            "",
            Status(404),
        ),
        // Routes and methods.
        case(
            "an unknown API route",
            "GET",
            "/v1/nowhere",
            "",
            Status(404),
        ),
        case("GET on ingest", "GET", "/v1/batch", "", Status(405)),
        case("PUT on ingest", "PUT", "/v1/batch", "{}", Status(405)),
        case("DELETE on events", "DELETE", "/v1/events", "", Status(405)),
        case(
            "GET on the seal route",
            "GET",
            &format!("/v1/sessions/{SESSION}/seal"),
            "",
            Status(405),
        ),
        case(
            "the test hook without hooks",
            "POST",
            "/v1/_test/fail",
            r#"{"status":500,"count":1}"#,
            Status(404),
        ),
    ];
    all.push(with_header(
        case(
            "a Content-Length beyond the limit",
            "POST",
            "/v1/batch",
            "{}",
            Status(413),
        ),
        "content-length",
        "999999999999",
    ));
    all
}

#[tokio::test]
async fn every_bad_input_gets_a_reason_stores_nothing_and_leaves_the_collector_answering() {
    let app = App::build(false, |s| s);
    let all = cases();
    assert!(all.len() >= 40, "{} cases", all.len());
    for c in all {
        let mut req = Request::builder().method(c.method).uri(c.path.as_str());
        for (k, v) in &c.headers {
            req = req.header(*k, v.as_str());
        }
        let a = app.send(req.body(Body::from(c.body)).unwrap()).await;
        let text = String::from_utf8_lossy(&a.body).into_owned();
        match c.want {
            Want::Status(status) => {
                assert_eq!(a.status.as_u16(), status, "{}: {text}", c.name);
                let reason = a.json()["error"].as_str().map(str::to_owned);
                assert!(
                    reason.is_some_and(|r| !r.is_empty()),
                    "{}: no reason in {text}",
                    c.name
                );
            }
            Want::AllRejected => {
                assert_eq!(a.status, StatusCode::OK, "{}: {text}", c.name);
                let answer = a.batch();
                assert_eq!(
                    (answer.accepted, answer.duplicates),
                    (0, 0),
                    "{}: {text}",
                    c.name
                );
                assert!(!answer.rejected.is_empty(), "{}: {text}", c.name);
                assert!(
                    answer.rejected.iter().all(|r| !r.reason.is_empty()),
                    "{}",
                    c.name
                );
            }
        }
        assert_eq!(
            app.get("/v1/events").await.body,
            b"[]",
            "{}: something was stored",
            c.name
        );
        assert_eq!(
            app.get("/v1/sessions").await.body,
            b"[]",
            "{}: a session was stored",
            c.name
        );
        let health = app.get("/healthz").await;
        assert_eq!(
            (health.status, health.body.as_slice()),
            (StatusCode::OK, &b"ok"[..]),
            "{}",
            c.name
        );
    }
    // And it still stores a good batch.
    assert_eq!(
        app.post("/v1/batch", body(&[event(1, "a")]))
            .await
            .batch()
            .accepted,
        1
    );
}
