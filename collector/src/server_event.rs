//! `POST /v1/server-events`: an event the site's own backend records against
//! the browser session of the request it is serving (found by `pairing`).
//!
//! The body is `{"name": "...", "properties": {...}}` (properties optional).
//! The stored event is an ordinary wire event (a fresh UUIDv7 `event_id`
//! from `EventIds`,
//! server-clock `timestamp`, empty `path`/`title`/`referrer`, `client_id`
//! `"server"`, the properties as given) plus a top-level `"source":"server"`
//! in its stored JSON. That field is outside the wire type, like any field a
//! newer tracker might add, so the event passes the same checks as a browser
//! event, the caller's properties are left exactly as sent, and
//! `GET /v1/events` shows where the event came from.

use crate::bounds::properties_problem;
use serde::Deserialize;
use sessionmark::json::truncate;
use sessionmark::wire::{Event, Props};

/// Largest request body accepted (properties are limited to 16 KiB anyway).
pub const MAX_SERVER_EVENT_BYTES: usize = 64 * 1024;
/// The `client_id` of every server event.
pub const SERVER_CLIENT_ID: &str = "server";
/// Longest parse error sent back (serde messages can quote the input).
const MAX_REASON_BYTES: usize = 200;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerEventRequest {
    pub name: String,
    #[serde(default)]
    pub properties: Option<Props>,
}

/// A request body, or why it is refused.
pub fn parse(body: &[u8]) -> Result<ServerEventRequest, String> {
    serde_json::from_slice(body).map_err(|e| {
        let reason = format!("body is not {{\"name\":\"...\",\"properties\":{{...}}}}: {e}");
        truncate(&reason, MAX_REASON_BYTES).to_owned()
    })
}

/// A server event ready to store: the checked event and its stored JSON.
#[derive(Debug)]
pub struct ServerEvent {
    pub event: Event,
    pub body: String,
}

/// Who and when a server event is about.
#[derive(Debug, Clone)]
pub struct Context {
    /// A fresh UUIDv7 (`EventIds`).
    pub event_id: String,
    pub session_id: String,
    pub anonymous_id: String,
    /// The server clock.
    pub now_ms: u64,
}

/// Builds the event, or says why it would be refused (`Event::problem`).
pub fn build(req: ServerEventRequest, cx: Context) -> Result<ServerEvent, &'static str> {
    let Context {
        event_id,
        session_id,
        anonymous_id,
        now_ms,
    } = cx;
    let event = Event {
        event_id,
        name: req.name,
        session_id,
        anonymous_id,
        timestamp: now_ms,
        client_id: SERVER_CLIENT_ID.to_owned(),
        properties: req.properties.unwrap_or_default(),
        ..Event::default()
    };
    if let Some(problem) = event.problem() {
        return Err(problem);
    }
    if let Some(problem) = properties_problem(&event.properties.0) {
        return Err(problem);
    }
    let body = stored_body(&event);
    Ok(ServerEvent { event, body })
}

/// The JSON kept for a server event: the wire event (serde's encoding, so
/// every field of the type is there, `user_id` included) plus
/// `"source":"server"` as its last field.
pub fn stored_body(event: &Event) -> String {
    // Every field of Event serializes (Props is JSON that parsed), so the
    // fallback is never taken; it still keeps the event as a valid object.
    let json = serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned());
    let fields = json.strip_suffix('}').unwrap_or(&json);
    if fields == "{" {
        return "{\"source\":\"server\"}".to_owned();
    }
    format!("{fields},\"source\":\"server\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";
    const VID: &str = "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7";
    const EID: &str = "018dfb50-e87b-7abc-8def-0123456789ab";
    const NOW: u64 = 1_709_318_400_123;

    fn built(body: &str) -> Result<ServerEvent, String> {
        let req = parse(body.as_bytes())?;
        let cx = Context {
            event_id: EID.into(),
            session_id: SID.into(),
            anonymous_id: VID.into(),
            now_ms: NOW,
        };
        build(req, cx).map_err(str::to_owned)
    }

    #[test]
    fn a_server_event_is_a_valid_wire_event_marked_as_from_the_server() {
        let e = built(r#"{"name":"purchase","properties":{"total":42,"items":["a"]}}"#).unwrap();
        assert_eq!(e.event.problem(), None);
        let stored: serde_json::Value = serde_json::from_str(&e.body).unwrap();
        assert_eq!(stored["event_id"], EID);
        assert_eq!(stored["name"], "purchase");
        assert_eq!(stored["session_id"], SID);
        assert_eq!(stored["anonymous_id"], VID);
        assert_eq!(stored["timestamp"], NOW);
        assert_eq!(stored["path"], "");
        assert_eq!(stored["title"], "");
        assert_eq!(stored["referrer"], "");
        assert_eq!(stored["client_id"], "server");
        assert_eq!(stored["source"], "server");
        assert_eq!(stored["properties"]["total"], 42);
        assert_eq!(stored["properties"]["items"][0], "a");
        // The stored text still reads as the wire type.
        let back: Event = serde_json::from_str(&e.body).unwrap();
        assert_eq!(back, e.event);
    }

    #[test]
    fn properties_are_optional_and_null_means_none() {
        for body in [r#"{"name":"x"}"#, r#"{"name":"x","properties":null}"#] {
            assert_eq!(built(body).unwrap().event.properties.0, "{}", "{body}");
        }
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_refused() {
        for body in [
            "",
            "[]",
            "{}",
            r#"{"name":1}"#,
            r#"{"name":"x","properties":[1]}"#,
            r#"{"name":"x","properties":"a"}"#,
            r#"{"name":"x","session_id":"sess_x"}"#,
        ] {
            assert!(built(body).is_err(), "{body}");
        }
    }

    #[test]
    fn an_empty_or_long_name_and_big_properties_fail_the_wire_checks() {
        assert!(built(r#"{"name":""}"#).unwrap_err().contains("name"));
        let long = format!(r#"{{"name":"{}"}}"#, "n".repeat(129));
        assert!(built(&long).unwrap_err().contains("name"));
        let big = format!(
            r#"{{"name":"x","properties":{{"p":"{}"}}}}"#,
            "x".repeat(16 * 1024)
        );
        assert!(built(&big).unwrap_err().contains("properties"));
    }

    #[test]
    fn a_long_parse_error_is_cut() {
        let body = format!(r#"{{"{}":1}}"#, "k".repeat(10_000));
        assert!(built(&body).unwrap_err().len() <= MAX_REASON_BYTES);
    }
}
