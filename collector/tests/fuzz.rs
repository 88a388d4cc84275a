//! Fuzz targets of the collector's parsers: batch bodies (both shapes), server-event
//! bodies (single and bulk), the cookie and header pairing, config values,
//! the JSON scan, and the routes in process. proptest, so they run on
//! stable Rust: every test named `fuzz_*` is a target. `npm test` runs each
//! with proptest's default case count; `npm run fuzz` runs every `fuzz_*`
//! test of the workspace with `FUZZ_CASES` cases (README "Fuzzing"). A
//! failure found this way becomes a sentence-named regression test at the
//! end of this file.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request};
use common::app::App;
use common::*;
use proptest::prelude::*;
use serde_json::Value;
use sessionmark::ids::{self, is_session_id, is_visitor_id};
use sessionmark::rand::Rng;
use sessionmark::time::Millis;
use sessionmark::wire::{Event, MAX_BATCH_EVENTS, SHARED_FIELDS, WHOLE_EVENT_FIELDS};
use sessionmark_collector::bounds::{scan, MAX_EVENT_BYTES, MAX_NESTING};
use sessionmark_collector::ingest::check_batch;
use sessionmark_collector::pairing::{cookie_value, pair};
use sessionmark_collector::{server_bulk, server_event, Config};

const NOW: u64 = T0 + 86_400_000;

/// Arbitrary JSON values, nested a few levels, strings with escapes.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A valid event as a JSON object, with some fields replaced or added by
/// arbitrary values: the shapes a buggy or hostile tracker sends.
fn mutated_event() -> impl Strategy<Value = Value> {
    // Every field of a whole event, the optional ones, one the collector
    // sets itself and one unknown.
    let mut names = WHOLE_EVENT_FIELDS.to_vec();
    names.extend([
        "page_count",
        "scroll_depth",
        "navigation_type",
        "source",
        "extra",
    ]);
    let fields = prop::sample::select(names);
    (
        0u64..1000,
        prop::collection::vec((fields, json_value()), 0..4),
    )
        .prop_map(|(n, edits)| {
            let mut v: Value = serde_json::from_str(&encode(&event(n, "a"))).unwrap();
            for (k, val) in edits {
                v[k] = val;
            }
            v
        })
}

fn events_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(mutated_event(), 0..8)
        .prop_map(|evs| serde_json::to_vec(&serde_json::json!({ "events": evs })).unwrap())
}

/// Events as a tracker sends them: on one of three pages, with or without
/// a user id, in one of two sessions, with an id that is the UUIDv7 of
/// their time (so the compact shape leaves the timestamp out) or not.
fn tracked_events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (
            0u64..1000,
            0usize..3,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|picks| {
        picks
            .into_iter()
            .map(|(n, page, user, other_session, v7)| {
                let mut e = event(n, "a");
                e.path = ["/", "/pricing", "/a?b=c"][page].into();
                e.user_id = user.then(|| "user-1".into());
                if other_session {
                    e.session_id = OTHER_SESSION.into();
                }
                if v7 {
                    let mut rng = Rng::new(n, 7);
                    e.event_id = ids::uuid_v7(Millis(e.timestamp), &mut rng);
                }
                e
            })
            .collect()
    })
}

/// A compact body as the tracker writes it, with some of its events' and
/// its `shared` part's fields replaced or added by arbitrary values.
fn compact_events_body() -> impl Strategy<Value = Vec<u8>> {
    let event_fields = prop::sample::select(vec![
        "event_id",
        "name",
        "session_id",
        "timestamp",
        "path",
        "properties",
        "user_id",
        "source",
        "extra",
    ]);
    // The shareable fields, and two that `shared` may not hold.
    let mut shared_names = SHARED_FIELDS.to_vec();
    shared_names.extend(["name", "source"]);
    let shared_fields = prop::sample::select(shared_names);
    (
        tracked_events(),
        prop::collection::vec(
            (any::<prop::sample::Index>(), event_fields, json_value()),
            0..3,
        ),
        prop::collection::vec((shared_fields, json_value()), 0..2),
    )
        .prop_map(|(events, event_edits, shared_edits)| {
            let mut body: Value = serde_json::from_str(&compact_body(&events)).unwrap();
            if let Some(list) = body["events"].as_array_mut().filter(|l| !l.is_empty()) {
                for (at, k, val) in event_edits {
                    let i = at.index(list.len());
                    list[i][k] = val;
                }
            }
            for (k, val) in shared_edits {
                body["shared"][k] = val;
            }
            serde_json::to_vec(&body).unwrap()
        })
}

/// A batch body of either shape: valid, mutated, or bytes cut or flipped.
fn batch_body() -> impl Strategy<Value = Vec<u8>> {
    let either = || prop_oneof![events_body(), compact_events_body()];
    prop_oneof![
        either(),
        (either(), any::<prop::sample::Index>())
            .prop_map(|(b, at)| b[..at.index(b.len() + 1)].to_vec()),
        (either(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut b, at, byte)| {
            if !b.is_empty() {
                let i = at.index(b.len());
                b[i] = byte;
            }
            b
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #[test]
    fn fuzz_batch_bodies_are_judged_event_by_event_without_panicking(body in batch_body()) {
        let Ok(checked) = check_batch(&body, NOW) else {
            return Ok(());
        };
        let parsed: sessionmark::wire::BatchRequest<'_> = serde_json::from_slice(&body).unwrap();
        let sent = parsed.events.len();
        prop_assert!(sent <= MAX_BATCH_EVENTS);
        prop_assert_eq!(checked.valid.len() + checked.rejected.len(), sent);
        for v in &checked.valid {
            // What is stored is the whole event, reads back as the wire
            // type and as any JSON value, with every wire field, and is
            // within the bounds.
            let back: Event = serde_json::from_str(&v.body).unwrap();
            prop_assert!(serde_json::from_str::<Value>(&v.body).is_ok(), "{}", v.body);
            prop_assert_eq!(&back, &v.event);
            prop_assert_eq!(v.event.problem(), None);
            prop_assert!(scan(&v.body, MAX_NESTING + 1).depth <= MAX_NESTING + 1);
            prop_assert!(v.body.len() <= MAX_EVENT_BYTES);
            let stored: Value = serde_json::from_str(&v.body).unwrap();
            prop_assert!(stored.get("source").is_none());
            for field in WHOLE_EVENT_FIELDS {
                prop_assert!(stored.get(field).is_some(), "{} in {}", field, v.body);
            }
        }
        for r in &checked.rejected {
            prop_assert!(!r.reason.is_empty() && r.reason.len() <= 200);
        }
    }

    #[test]
    fn fuzz_a_compact_body_is_stored_as_the_same_events_sent_whole(events in tracked_events()) {
        let full_text = body(&events);
        let full = check_batch(full_text.as_bytes(), NOW).unwrap();
        let compact_text = compact_body(&events);
        let compact = check_batch(compact_text.as_bytes(), NOW).unwrap();
        prop_assert!(full.rejected.is_empty() && compact.rejected.is_empty());
        prop_assert_eq!(full.valid.len(), events.len());
        prop_assert_eq!(compact.valid.len(), events.len());
        for (f, c) in full.valid.iter().zip(&compact.valid) {
            prop_assert_eq!(f.index, c.index);
            prop_assert_eq!(&f.event, &c.event);
            let f_body: Value = serde_json::from_str(&f.body).unwrap();
            let c_body: Value = serde_json::from_str(&c.body).unwrap();
            prop_assert_eq!(f_body, c_body);
        }
        // Never longer than the full shape but for `"shared":{},`.
        let wrapper = "\"shared\":{},".len();
        prop_assert!(compact_text.len() <= full_text.len() + wrapper);
    }

    #[test]
    fn fuzz_server_event_bodies_are_parsed_or_refused_with_a_reason(
        body in prop_oneof![
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            (".{0,8}", json_value()).prop_map(|(name, props)| {
                serde_json::to_vec(&serde_json::json!({ "name": name, "properties": props })).unwrap()
            }),
            prop::collection::vec(any::<u8>(), 0..100),
        ]
    ) {
        match server_event::parse(&body) {
            Err(reason) => prop_assert!(!reason.is_empty() && reason.len() <= 200),
            Ok(req) => {
                let cx = server_event::Context {
                    event_id: "018dfb50-e87b-7abc-8def-0123456789ab".into(),
                    session_id: SESSION.into(),
                    anonymous_id: VISITOR.into(),
                    now_ms: NOW,
                };
                if let Ok(built) = server_event::build(req, cx) {
                    let stored: Value = serde_json::from_str(&built.body).unwrap();
                    prop_assert_eq!(&stored["source"], "server");
                    prop_assert_eq!(built.event.problem(), None);
                }
            }
        }
    }

    #[test]
    fn fuzz_pairing_reads_only_valid_ids_from_any_headers(
        cookies in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..80),
                (prop::sample::select(vec!["ss_sid", "ss_vid", " ss_sid", "ss_sid ", "x"]),
                 prop::sample::select(vec![SESSION, VISITOR, "\"sess_x\"", "%73ess_", "%", "%zz", ""]),
                 prop::sample::select(vec![";", "; ", ";;", "=", ""]))
                    .prop_map(|(k, v, sep)| format!("{k}={v}{sep}").into_bytes()),
            ],
            0..4,
        ),
        header in prop::option::of(prop_oneof![
            Just(SESSION.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..60),
        ]),
    ) {
        let mut headers = HeaderMap::new();
        for c in &cookies {
            if let Ok(v) = HeaderValue::from_bytes(c) {
                headers.append("cookie", v);
            }
            for name in ["ss_sid", "ss_vid", ""] {
                if let Some(value) = cookie_value(c, name) {
                    // A value is a part of the header it was read from.
                    let range = c.as_ptr_range();
                    prop_assert!(value.is_empty() || range.contains(&value.as_ptr()));
                }
            }
        }
        if let Some(h) = header.and_then(|h| HeaderValue::from_bytes(&h).ok()) {
            headers.append("x-session-id", h);
        }
        let p = pair(&headers);
        prop_assert!(p.session_id.as_deref().is_none_or(is_session_id));
        prop_assert!(p.visitor_id.as_deref().is_none_or(is_visitor_id));
    }

    #[test]
    fn fuzz_config_values_are_accepted_or_refused_naming_their_variable(
        name in prop::sample::select(vec![
            "PORT", "SESSIONMARK_SEAL_AFTER_MS", "SESSIONMARK_READ_KEY", "SESSIONMARK_SERVER_KEY",
            "SESSIONMARK_READ_ORIGINS", "SESSIONMARK_HEADER_TIMEOUT_MS", "SESSIONMARK_BODY_TIMEOUT_MS",
            "SESSIONMARK_MAX_CONNECTIONS", "SESSIONMARK_RATE_REQUESTS_PER_SEC",
            "SESSIONMARK_RATE_REQUESTS_BURST", "SESSIONMARK_RATE_KIB_PER_SEC", "SESSIONMARK_RATE_KIB_BURST",
            "SESSIONMARK_CLIENT_IP_HEADER", "SESSIONMARK_CSP_CONNECT_SRC", "SESSIONMARK_TEST_HOOKS",
        ]),
        value in prop_oneof![".{0,40}", "[0-9]{0,25}", "-?[0-9]{1,6}", "https?://[a-z.:0-9,/ *]{0,30}"],
    ) {
        let v = value.clone();
        match Config::from_lookup(move |k| (k == name).then(|| v.clone())) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.contains(name), "{name}={value:?}: {e}"),
        }
    }

    #[test]
    fn fuzz_the_json_scan_measures_what_serde_reads(v in json_value(), extra in 0usize..30) {
        let wrapped = (0..extra).fold(v, |inner, _| Value::Array(vec![inner]));
        let text = serde_json::to_string(&wrapped).unwrap();
        let s = scan(&text, 100);
        prop_assert_eq!(s.depth, depth(&wrapped).min(101));
        prop_assert!(!s.lone_surrogate);
        // The same text with every non-ASCII character as a \u escape.
        let escaped = serde_json::to_string(&wrapped).unwrap().chars().map(|c| {
            if c.is_ascii() { c.to_string() } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units).iter().map(|u| format!("\\u{u:04x}")).collect()
            }
        }).collect::<String>();
        prop_assert!(!scan(&escaped, 100).lone_surrogate, "{}", escaped);
    }
}

/// A bulk server-event body: events of the SDK's shape with fields replaced
/// or added by arbitrary values, or arbitrary bytes.
fn bulk_body() -> impl Strategy<Value = Vec<u8>> {
    let fields = prop::sample::select(vec![
        "event_id",
        "name",
        "session_id",
        "properties",
        "user_id",
        "anonymous_id",
        "timestamp",
        "source",
        "extra",
    ]);
    let one = (
        0u64..1000,
        prop::collection::vec((fields, json_value()), 0..3),
    )
        .prop_map(|(n, edits)| {
            let mut v = serde_json::json!({
                "event_id": format!("0f8fad5b-d9cb-469f-a165-{n:012x}"),
                "name": "purchase",
                "session_id": SESSION,
                "properties": { "n": n },
            });
            for (k, val) in edits {
                v[k] = val;
            }
            v
        });
    prop_oneof![
        prop::collection::vec(one, 0..6)
            .prop_map(|evs| serde_json::to_vec(&serde_json::json!({ "events": evs })).unwrap()),
        prop::collection::vec(any::<u8>(), 0..100),
    ]
}

proptest! {
    #[test]
    fn fuzz_bulk_server_event_bodies_are_judged_event_by_event(body in bulk_body()) {
        let Ok(parsed) = server_bulk::parse(&body) else {
            return Ok(());
        };
        for r in &parsed.rejected {
            prop_assert!(!r.reason.is_empty() && r.reason.len() <= 200);
        }
        for (_, e) in parsed.events {
            match server_bulk::build(e, Some(VISITOR), NOW) {
                Err(reason) => prop_assert!(!reason.is_empty()),
                Ok((event, stored)) => {
                    prop_assert_eq!(event.problem(), None);
                    let v: Value = serde_json::from_str(&stored).unwrap();
                    prop_assert_eq!(&v["source"], "server");
                    prop_assert!(scan(&stored, MAX_NESTING + 2).depth <= MAX_NESTING + 1);
                }
            }
        }
    }
}

/// Methods, paths and bodies thrown at the routes in process.
fn request() -> impl Strategy<Value = (String, String, Vec<u8>)> {
    let method = prop::sample::select(vec![
        "GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH",
    ]);
    let path = prop_oneof![
        prop::sample::select(vec![
            "/v1/batch",
            "/v1/events",
            "/v1/sessions",
            "/v1/server-events",
            "/healthz",
            "/",
            "/dist/sessionmark.js",
            "/v1/sessions/x/seal",
            "/v1/nowhere",
            "/../Cargo.toml",
            "/dist/..%2f..%2fCargo.toml",
            "/v1/events?session_id=%ff&client_id=",
        ])
        .prop_map(str::to_owned),
        "/[a-z0-9%./?=&_-]{0,40}",
    ];
    let body = prop_oneof![batch_body(), prop::collection::vec(any::<u8>(), 0..64)];
    (method, path, body).prop_map(|(m, p, b)| (m.to_owned(), p, b))
}

#[test]
fn fuzz_routes_never_answer_5xx_and_keep_answering() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = App::build(false, |s| s);
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&request(), |(method, path, body)| {
            let Ok(req) = Request::builder()
                .method(method.as_str())
                .uri(path.as_str())
                .body(Body::from(body))
            else {
                return Ok(());
            };
            let a = rt.block_on(app.send(req));
            prop_assert!(a.status.as_u16() < 500, "{method} {path}: {}", a.status);
            Ok(())
        })
        .unwrap();
    let health = rt.block_on(app.get("/healthz"));
    assert_eq!(health.body, b"ok");
}

// Regressions found by the targets above.

#[test]
fn an_event_with_a_number_beyond_a_float_is_rejected_so_that_serde_readers_can_read_what_is_stored()
{
    // Found by fuzz_batch_bodies_*: `1e400` is valid JSON, was stored, and
    // serde_json then refused the stored event ("number out of range").
    for (field, value) in [("extra", "1e400"), ("properties", "{\"amount\":-1e999}")] {
        let mut v: Value = serde_json::from_str(&encode(&event(1, "a"))).unwrap();
        v[field] = Value::Null;
        let text = serde_json::to_string(&v).unwrap().replace("null", value);
        let body = format!("{{\"events\":[{text}]}}");
        let checked = check_batch(body.as_bytes(), NOW).unwrap();
        assert_eq!(checked.valid.len(), 0, "{text}");
        assert!(
            checked.rejected[0].reason.contains("number"),
            "{:?}",
            checked.rejected
        );
    }
}
