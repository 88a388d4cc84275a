//! What the tracker sent, read as the collector reads it (README "Wire
//! protocol"): a batch body of either shape, each event expanded to every
//! field. One reader for every native test (and the browser shell's).
#![allow(dead_code)]

use serde_json::{Map, Value};
use sessionmark::ids::uuid_v7_time;

/// The events of a request body, each whole: its own fields, then each
/// field of `shared` it does not carry, `timestamp` from its UUIDv7
/// `event_id` when left out, and `properties` `{}` when left out. The body
/// holds `events` and, in the compact shape, `shared`; nothing else.
pub fn sent_events(body: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(body).unwrap();
    let obj = v.as_object().unwrap();
    assert!(
        obj.keys().all(|k| k == "events" || k == "shared"),
        "only `events` and `shared` in {body}"
    );
    let shared = match obj.get("shared") {
        Some(s) => s.as_object().unwrap().clone(),
        None => Map::new(),
    };
    obj["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| expand(e, &shared))
        .collect()
}

/// The `shared` part of a request body (empty in the full shape).
pub fn sent_shared(body: &str) -> Map<String, Value> {
    let v: Value = serde_json::from_str(body).unwrap();
    match v.get("shared") {
        Some(s) => s.as_object().unwrap().clone(),
        None => Map::new(),
    }
}

fn expand(event: &Value, shared: &Map<String, Value>) -> Value {
    let mut e = event.as_object().unwrap().clone();
    for (k, v) in shared {
        if !e.contains_key(k) {
            e.insert(k.clone(), v.clone());
        }
    }
    if !e.contains_key("timestamp") {
        let id = e["event_id"].as_str().unwrap();
        let at = uuid_v7_time(id).expect("no timestamp, and the event_id is not a UUIDv7");
        e.insert("timestamp".into(), at.0.into());
    }
    if !e.contains_key("properties") {
        e.insert("properties".into(), Value::Object(Map::new()));
    }
    Value::Object(e)
}
