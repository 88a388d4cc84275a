//! The bulk form of `POST /v1/server-events`: `{"events":[E, ...]}` from the
//! server SDK, each E naming its own session and carrying its own
//! `event_id`, so a retried request is stored once.
//!
//! Like a browser batch, the body must have this shape (else the whole
//! request is refused) and each event is then judged on its own.

use crate::bounds::properties_problem;
use crate::ingest::MAX_FUTURE_MS;
use crate::server_event::{stored_body, SERVER_CLIENT_ID};
use serde::Deserialize;
use serde_json::value::RawValue;
use sessionmark::ids::{is_session_id, is_uuid_text, is_visitor_id};
use sessionmark::json::truncate;
use sessionmark::wire::{Event, Props, Rejected, MAX_BATCH_EVENTS};
use std::collections::HashMap;

/// Longest rejection reason sent back (serde messages can quote the input).
const MAX_REASON_BYTES: usize = 200;

/// One event of a bulk request, as the SDK sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkEvent {
    /// A lowercase hyphenated UUID, minted by the SDK (any version).
    pub event_id: String,
    pub name: String,
    /// `sess_` + UUIDv7: the browser session the event belongs to.
    pub session_id: String,
    #[serde(default)]
    pub properties: Option<Props>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// The visitor, when the SDK knows it (the `ss_vid` cookie); else the
    /// visitor the collector knows for the session.
    #[serde(default)]
    pub anonymous_id: Option<String>,
    /// ms since the epoch; default: the server clock.
    #[serde(default)]
    pub timestamp: Option<u64>,
}

/// Whether a body is the bulk form: a JSON object with an `events` field.
/// Anything else is for the single-event form to judge.
pub fn is_bulk(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        events: Option<&'a RawValue>,
    }
    serde_json::from_slice::<Probe<'_>>(body).is_ok_and(|p| p.events.is_some())
}

/// A bulk body, judged event by event.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The events that parsed, with their index in the request.
    pub events: Vec<(usize, BulkEvent)>,
    /// The ones refused already.
    pub rejected: Vec<Rejected>,
}

/// Reads a bulk body; `Err` for a body of the wrong shape.
pub fn parse(body: &[u8]) -> Result<Parsed, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Bulk<'a> {
        #[serde(borrow)]
        events: Vec<&'a RawValue>,
    }
    let bulk: Bulk<'_> = serde_json::from_slice(body).map_err(|e| {
        let reason = format!("body is not {{\"events\":[...]}}: {e}");
        truncate(&reason, MAX_REASON_BYTES).to_owned()
    })?;
    if bulk.events.len() > MAX_BATCH_EVENTS {
        return Err(format!(
            "{} events in one request; at most {MAX_BATCH_EVENTS}",
            bulk.events.len()
        ));
    }
    let mut parsed = Parsed::default();
    for (index, raw) in bulk.events.into_iter().enumerate() {
        match serde_json::from_str::<BulkEvent>(raw.get()) {
            Ok(e) => parsed.events.push((index, e)),
            Err(e) => parsed
                .rejected
                .push(reject(index, &format!("not a valid server event: {e}"))),
        }
    }
    Ok(parsed)
}

pub fn reject(index: usize, reason: &str) -> Rejected {
    Rejected {
        index,
        reason: truncate(reason, MAX_REASON_BYTES).to_owned(),
    }
}

/// The visitor of each session named in `events`, for its events that name
/// none: the one the store knows (`known`), else the first valid
/// `anonymous_id` another event of the request gives for that session.
pub fn visitors(
    events: &[(usize, BulkEvent)],
    known: HashMap<String, String>,
) -> HashMap<String, String> {
    let mut given: HashMap<String, String> = HashMap::new();
    for (_, e) in events {
        if let Some(v) = e.anonymous_id.as_deref().filter(|v| is_visitor_id(v)) {
            given
                .entry(e.session_id.clone())
                .or_insert_with(|| v.to_owned());
        }
    }
    given.extend(known);
    given
}

/// The stored form of one bulk event, or why it is refused. `visitor` is
/// the one `visitors` found for its session; `now_ms` the server clock.
pub fn build(e: BulkEvent, visitor: Option<&str>, now_ms: u64) -> Result<(Event, String), String> {
    if !is_uuid_text(&e.event_id) {
        return Err("event_id is not a lowercase hyphenated UUID".into());
    }
    if !is_session_id(&e.session_id) {
        return Err("session_id is not sess_ + UUIDv7".into());
    }
    if e.anonymous_id.as_deref().is_some_and(|v| !is_visitor_id(v)) {
        return Err("anonymous_id is not anon_ + UUID".into());
    }
    // A visitor given with the event wins over the one the session knows.
    let Some(visitor) = e.anonymous_id.as_deref().or(visitor) else {
        return Err("no visitor for this session".into());
    };
    let timestamp = e.timestamp.unwrap_or(now_ms);
    if timestamp > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err("timestamp more than 24 h in the future".into());
    }
    let event = Event {
        event_id: e.event_id,
        name: e.name,
        session_id: e.session_id,
        anonymous_id: visitor.to_owned(),
        timestamp,
        client_id: SERVER_CLIENT_ID.to_owned(),
        properties: e.properties.unwrap_or_default(),
        user_id: e.user_id,
        ..Event::default()
    };
    if let Some(problem) = event
        .problem()
        .or_else(|| properties_problem(&event.properties.0))
    {
        return Err(problem.to_owned());
    }
    let body = stored_body(&event);
    Ok((event, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "sess_018e0e5c-5a00-7abc-8def-0123456789ab";
    const VID: &str = "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7";
    const EID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const NOW: u64 = 1_709_318_400_123;

    fn one(json: &str) -> BulkEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_bulk_body_is_told_from_the_single_event_form() {
        assert!(is_bulk(br#"{"events":[]}"#));
        assert!(is_bulk(br#"{"events":{}}"#), "a wrong shape, but bulk");
        assert!(!is_bulk(br#"{"name":"purchase"}"#));
        assert!(!is_bulk(b"[]"));
        assert!(!is_bulk(b"nope"));
    }

    #[test]
    fn an_sdk_event_becomes_a_server_event_of_its_session_with_its_own_id() {
        let e = one(&format!(
            r#"{{"event_id":"{EID}","name":"purchase","session_id":"{SID}","timestamp":1709318400000,
                "user_id":"u-42","properties":{{"amount":19.5}}}}"#
        ));
        let (event, body) = build(e, Some(VID), NOW).unwrap();
        assert_eq!(event.event_id, EID);
        assert_eq!(event.anonymous_id, VID);
        assert_eq!(event.timestamp, 1_709_318_400_000);
        assert_eq!(event.user_id.as_deref(), Some("u-42"));
        let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(stored["source"], "server");
        assert_eq!(stored["client_id"], SERVER_CLIENT_ID);
        assert_eq!(stored["user_id"], "u-42");
        assert_eq!(stored["properties"]["amount"], 19.5);
    }

    #[test]
    fn without_a_timestamp_the_server_clock_is_used() {
        let e = one(&format!(
            r#"{{"event_id":"{EID}","name":"x","session_id":"{SID}"}}"#
        ));
        assert_eq!(build(e, Some(VID), NOW).unwrap().0.timestamp, NOW);
    }

    #[test]
    fn each_bad_field_is_refused_with_its_name() {
        let cases = [
            (r#""event_id":"NOPE","name":"x""#.to_owned(), "event_id"),
            (format!(r#""event_id":"{EID}","name":"""#), "name"),
            (
                format!(r#""event_id":"{EID}","name":"x","user_id":"""#),
                "user_id",
            ),
            (
                format!(
                    r#""event_id":"{EID}","name":"x","user_id":"{}""#,
                    "u".repeat(257)
                ),
                "user_id",
            ),
            (
                format!(r#""event_id":"{EID}","name":"x","anonymous_id":"anon_x""#),
                "anonymous_id",
            ),
            (
                format!(
                    r#""event_id":"{EID}","name":"x","timestamp":{}"#,
                    NOW + MAX_FUTURE_MS + 1
                ),
                "future",
            ),
        ];
        for (fields, word) in cases {
            let e = one(&format!(r#"{{{fields},"session_id":"{SID}"}}"#));
            let why = build(e, Some(VID), NOW).unwrap_err();
            assert!(why.contains(word), "{fields}: {why}");
        }
        let bad_session = one(&format!(
            r#"{{"event_id":"{EID}","name":"x","session_id":"sess_1"}}"#
        ));
        assert!(build(bad_session, Some(VID), NOW)
            .unwrap_err()
            .contains("session_id"));
        let nobody = one(&format!(
            r#"{{"event_id":"{EID}","name":"x","session_id":"{SID}"}}"#
        ));
        assert_eq!(
            build(nobody, None, NOW).unwrap_err(),
            "no visitor for this session"
        );
    }

    #[test]
    fn unknown_fields_and_wrong_types_refuse_only_their_event() {
        let ok = format!(r#"{{"event_id":"{EID}","name":"x","session_id":"{SID}"}}"#);
        let body = format!(
            r#"{{"events":[{ok},{{"event_id":"{EID}","name":"x","session_id":"{SID}","source":"browser"}},7,{ok}]}}"#
        );
        let parsed = parse(body.as_bytes()).unwrap();
        assert_eq!(
            parsed.events.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [0, 3]
        );
        assert_eq!(
            parsed.rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn a_body_of_the_wrong_shape_or_over_100_events_is_refused_whole() {
        for body in ["", "{}", r#"{"events":{}}"#, r#"{"events":[],"x":1}"#] {
            assert!(parse(body.as_bytes()).is_err(), "{body}");
        }
        let many = format!(r#"{{"events":[{}]}}"#, vec!["1"; 101].join(","));
        assert!(parse(many.as_bytes()).unwrap_err().contains("at most 100"));
    }

    #[test]
    fn a_visitor_given_in_the_request_serves_its_whole_session() {
        let events = vec![
            (
                0,
                one(&format!(
                    r#"{{"event_id":"{EID}","name":"a","session_id":"{SID}"}}"#
                )),
            ),
            (
                1,
                one(&format!(
                    r#"{{"event_id":"{EID}","name":"b","session_id":"{SID}","anonymous_id":"{VID}"}}"#
                )),
            ),
        ];
        assert_eq!(
            visitors(&events, HashMap::new())
                .get(SID)
                .map(String::as_str),
            Some(VID)
        );
    }
}
