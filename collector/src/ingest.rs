//! Reading a batch body: which events are stored and which are refused.
//!
//! The body must be `{"events":[...]}` or `{"shared":{...},"events":[...]}`
//! (README "Wire protocol"); anything else refuses the whole request. Each
//! event is then made whole (`expand`: its own fields and what it takes of
//! `shared`) and judged on its own, so one bad event never takes its valid
//! neighbours down: its size, the wire checks (`Event::problem`), the
//! bounds on unknown fields and nesting (`bounds`), and the clock.

use crate::bounds::{fields_problem, struct_fields};
use crate::expand::{shared_fields, whole};
use serde_json::value::RawValue;
use sessionmark::json::truncate;
use sessionmark::wire::{BatchRequest, Event, Rejected, MAX_BATCH_EVENTS};
use std::borrow::Cow;

/// How far ahead of the server clock an event timestamp may be.
pub const MAX_FUTURE_MS: u64 = 24 * 60 * 60 * 1000;
/// Longest rejection reason sent back (serde messages can quote the input).
const MAX_REASON_BYTES: usize = 200;

/// An event that passed every check, with the JSON text to store for it.
#[derive(Debug)]
pub struct ValidEvent<'a> {
    /// Its position in the batch.
    pub index: usize,
    pub event: Event,
    /// The whole event: exactly as sent when it needed nothing added, so
    /// fields this collector does not know survive.
    pub body: Cow<'a, str>,
}

/// A batch body, judged event by event.
#[derive(Debug, Default)]
pub struct Checked<'a> {
    pub valid: Vec<ValidEvent<'a>>,
    pub rejected: Vec<Rejected>,
}

/// Why a whole request is refused (answered 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON, or not `{"events":[...]}` (with `shared` or not).
    Shape(String),
    /// `shared` is not an object of shareable fields, each once.
    Shared(String),
    /// More than `MAX_BATCH_EVENTS` events.
    TooManyEvents(usize),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Shape(e) => write!(f, "body is not {{\"events\":[...]}}: {e}"),
            BodyError::Shared(e) => f.write_str(e),
            BodyError::TooManyEvents(n) => {
                write!(f, "{n} events in one batch; at most {MAX_BATCH_EVENTS}")
            }
        }
    }
}

/// Splits a batch body into storable events and refused ones. `now_ms` is the
/// server clock, for the future-timestamp rule.
pub fn check_batch(body: &[u8], now_ms: u64) -> Result<Checked<'_>, BodyError> {
    let req: BatchRequest<'_> = serde_json::from_slice(body)
        .map_err(|e| BodyError::Shape(truncate(&e.to_string(), MAX_REASON_BYTES).to_owned()))?;
    if req.events.len() > MAX_BATCH_EVENTS {
        return Err(BodyError::TooManyEvents(req.events.len()));
    }
    let shared = shared_fields(req.shared)
        .map_err(|e| BodyError::Shared(truncate(&e, MAX_REASON_BYTES).to_owned()))?;
    let mut out = Checked::default();
    for (index, raw) in req.events.into_iter().enumerate() {
        match check_event(raw, &shared, now_ms) {
            Ok((event, body)) => out.valid.push(ValidEvent { index, event, body }),
            Err(reason) => out.rejected.push(Rejected {
                index,
                reason: truncate(&reason, MAX_REASON_BYTES).to_owned(),
            }),
        }
    }
    Ok(out)
}

fn check_event<'a>(
    raw: &'a RawValue,
    shared: &[crate::bounds::Field<'a>],
    now_ms: u64,
) -> Result<(Event, Cow<'a, str>), String> {
    let whole = whole(raw, shared)?;
    let event: Event =
        serde_json::from_str(&whole.text).map_err(|e| format!("not a valid event: {e}"))?;
    if let Some(problem) = event.problem() {
        return Err(problem.to_owned());
    }
    // What `shared` adds is known fields only, so the bounds on unknown
    // fields and nesting are the event's own fields'.
    if let Some(problem) = fields_problem(&whole.own, struct_fields::<Event>()) {
        return Err(problem);
    }
    if event.timestamp > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err("timestamp more than 24 h in the future".to_owned());
    }
    Ok((event, whole.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_709_318_400_000;

    fn event(ts: u64) -> String {
        let e = Event {
            event_id: "018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            name: "screen_view".into(),
            session_id: "sess_018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            anonymous_id: "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            timestamp: ts,
            ..Event::default()
        };
        let mut s = String::new();
        e.write_json(&mut s);
        s
    }

    #[test]
    fn an_event_a_day_ahead_passes_and_one_later_is_refused() {
        let ok = event(NOW + MAX_FUTURE_MS);
        let late = event(NOW + MAX_FUTURE_MS + 1);
        let body = format!("{{\"events\":[{ok},{late}]}}");
        let c = check_batch(body.as_bytes(), NOW).unwrap();
        assert_eq!(c.valid.len(), 1);
        assert_eq!(c.rejected.len(), 1);
        assert_eq!(c.rejected[0].index, 1);
        assert!(c.rejected[0].reason.contains("future"));
    }

    #[test]
    fn the_raw_text_of_a_valid_event_is_kept_with_unknown_fields() {
        let mut e = event(NOW);
        e.insert_str(1, "\"added_later\":[1,2],");
        let body = format!("{{\"events\":[{e}]}}");
        let c = check_batch(body.as_bytes(), NOW).unwrap();
        assert_eq!(c.valid[0].body, e);
    }

    #[test]
    fn a_non_object_event_is_refused_on_its_own() {
        let ok = event(NOW);
        let body = format!("{{\"events\":[42,{ok},\"x\"]}}");
        let c = check_batch(body.as_bytes(), NOW).unwrap();
        assert_eq!(c.valid.len(), 1);
        assert_eq!(c.valid[0].index, 1);
        let idx: Vec<usize> = c.rejected.iter().map(|r| r.index).collect();
        assert_eq!(idx, [0, 2]);
    }

    #[test]
    fn a_body_of_the_wrong_shape_refuses_the_request() {
        for body in [
            "",
            "nope",
            "[]",
            "{}",
            "{\"events\":{}}",
            "{\"events\":[1,]}",
        ] {
            assert!(
                matches!(check_batch(body.as_bytes(), NOW), Err(BodyError::Shape(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn a_compact_event_is_stored_whole_and_judged_with_what_it_takes_of_shared() {
        let full = event(NOW);
        let e: Event = serde_json::from_str(&full).unwrap();
        let shared = format!(
            "{{\"session_id\":\"{}\",\"anonymous_id\":\"{}\",\"client_id\":\"\",\"path\":\"\",\"title\":\"\",\"referrer\":\"\"}}",
            e.session_id, e.anonymous_id
        );
        let own = format!(
            "{{\"event_id\":\"{}\",\"name\":\"screen_view\",\"timestamp\":{NOW}}}",
            e.event_id
        );
        // The same event with a session of its own that is not a session id.
        let bad = own.replacen('{', "{\"session_id\":\"sess_x\",", 1);
        let body = format!("{{\"shared\":{shared},\"events\":[{own},{bad}]}}");
        let c = check_batch(body.as_bytes(), NOW).unwrap();
        assert_eq!(c.valid.len(), 1);
        assert_eq!(c.valid[0].event, e);
        let stored: serde_json::Value = serde_json::from_str(&c.valid[0].body).unwrap();
        let sent: serde_json::Value = serde_json::from_str(&full).unwrap();
        assert_eq!(stored, sent);
        assert_eq!(c.rejected[0].index, 1);
        assert!(c.rejected[0].reason.contains("session_id"));
    }

    #[test]
    fn a_shared_part_that_is_not_an_object_of_shareable_fields_refuses_the_request() {
        for shared in [
            "[]",
            "{\"name\":\"x\"}",
            "{\"source\":\"server\"}",
            "{\"path\":\"/a\",\"path\":\"/a\"}",
        ] {
            let body = format!("{{\"shared\":{shared},\"events\":[]}}");
            assert!(
                matches!(check_batch(body.as_bytes(), NOW), Err(BodyError::Shared(_))),
                "{shared}"
            );
        }
        // null is no shared part at all.
        assert!(check_batch(b"{\"shared\":null,\"events\":[]}", NOW).is_ok());
    }

    #[test]
    fn long_rejection_reasons_are_cut() {
        let body = format!("{{\"events\":[\"{}\"]}}", "x".repeat(10_000));
        let c = check_batch(body.as_bytes(), NOW).unwrap();
        assert!(c.rejected[0].reason.len() <= MAX_REASON_BYTES);
    }
}
