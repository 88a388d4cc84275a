//! The wire protocol: one event, a batch of them, and the collector's answer.
//!
//! Defined once here and used by both sides: the tracker encodes with
//! [`Event::write_json`] (hand-written, no serde in the wasm), the collector
//! decodes with serde (feature `serde`). A test checks the two agree.
//!
//! Request: `POST /v1/batch`, body `{"events":[Event, ...]}` sent as
//! `text/plain;charset=UTF-8` (no CORS preflight).
//! Answer: `{"accepted":n,"duplicates":n,"rejected":[{"index":i,"reason":"..."}],"sealed":["sess_..."]}`.

use alloc::string::String;

use crate::ids;
use crate::json::{push_str, push_u64};

/// Longest event name, in bytes; longer names are cut by the tracker.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest `path`/`referrer`, in bytes; longer values are cut.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest `title`, in bytes; longer titles are cut.
pub const MAX_TITLE_BYTES: usize = 512;
/// Longest `client_id`, in bytes.
pub const MAX_CLIENT_ID_BYTES: usize = 128;
/// Longest `user_id`, in bytes (it must not be empty).
pub const MAX_USER_ID_BYTES: usize = 256;
/// Largest serialized `properties` object, in bytes; larger ones are refused.
pub const MAX_PROPS_BYTES: usize = 16 * 1024;
/// Most events in one batch request.
pub const MAX_BATCH_EVENTS: usize = 100;
/// Largest request body the collector reads; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON object, kept as its serialized text (`{}` when empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Props(pub String);

impl Default for Props {
    fn default() -> Props {
        Props("{}".into())
    }
}

/// One tracked event as it travels to the collector.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// Unique per event (UUIDv7); the collector drops repeats of it.
    pub event_id: String,
    pub name: String,
    pub session_id: String,
    pub anonymous_id: String,
    /// Milliseconds since the epoch, when the event was tracked.
    pub timestamp: u64,
    pub path: String,
    pub title: String,
    pub referrer: String,
    pub client_id: String,
    /// Pages viewed in this session so far (screen_view, page_exit).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub page_count: Option<u64>,
    /// `"back_forward_cache"` on a restore; absent otherwise.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub navigation_type: Option<String>,
    /// page_exit: wall-clock seconds on the page.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub time_on_page: Option<u64>,
    /// page_exit: milliseconds visible and focused.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub engaged_time: Option<u64>,
    /// page_exit: deepest scroll, percent 0-100.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub scroll_depth: Option<u64>,
    /// page_exit: pointer/key/touch interactions on the page.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub interaction_count: Option<u64>,
    /// Global properties merged with the event's own.
    #[cfg_attr(feature = "serde", serde(default))]
    pub properties: Props,
    /// The site's own user id, after `identify()`; absent before.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub user_id: Option<String>,
}

fn push_field(out: &mut String, key: &str) {
    out.push(',');
    push_str(out, key);
    out.push(':');
}

impl Event {
    /// Appends this event as one JSON object, with no newline in it (the
    /// outbox keeps one event per line).
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"event_id\":");
        push_str(out, &self.event_id);
        for (k, v) in [
            ("name", &self.name),
            ("session_id", &self.session_id),
            ("anonymous_id", &self.anonymous_id),
        ] {
            push_field(out, k);
            push_str(out, v);
        }
        push_field(out, "timestamp");
        push_u64(out, self.timestamp);
        for (k, v) in [
            ("path", &self.path),
            ("title", &self.title),
            ("referrer", &self.referrer),
            ("client_id", &self.client_id),
        ] {
            push_field(out, k);
            push_str(out, v);
        }
        if let Some(v) = &self.navigation_type {
            push_field(out, "navigation_type");
            push_str(out, v);
        }
        if let Some(v) = &self.user_id {
            push_field(out, "user_id");
            push_str(out, v);
        }
        for (k, v) in [
            ("page_count", self.page_count),
            ("time_on_page", self.time_on_page),
            ("engaged_time", self.engaged_time),
            ("scroll_depth", self.scroll_depth),
            ("interaction_count", self.interaction_count),
        ] {
            if let Some(v) = v {
                push_field(out, k);
                push_u64(out, v);
            }
        }
        push_field(out, "properties");
        // Props text comes from JSON.stringify (or the outbox); strip any
        // newline so the one-event-per-line outbox format holds.
        for c in self.properties.0.chars() {
            if c != '\n' && c != '\r' {
                out.push(c);
            }
        }
        out.push('}');
    }

    /// Why the collector refuses this event, if it does. Each event is judged
    /// on its own; a bad one never takes its batch neighbours down.
    pub fn problem(&self) -> Option<&'static str> {
        if !ids::is_uuid_text(&self.event_id) {
            return Some("event_id is not a lowercase hyphenated UUID");
        }
        if self.name.is_empty() || self.name.len() > MAX_NAME_BYTES {
            return Some("name is empty or longer than 128 bytes");
        }
        if !ids::is_session_id(&self.session_id) {
            return Some("session_id is not sess_ + UUIDv7");
        }
        if !ids::is_visitor_id(&self.anonymous_id) {
            return Some("anonymous_id is not anon_ + UUID");
        }
        if self.timestamp == 0 {
            return Some("timestamp is missing");
        }
        if self.path.len() > MAX_URL_BYTES || self.referrer.len() > MAX_URL_BYTES {
            return Some("path or referrer longer than 2048 bytes");
        }
        if self.title.len() > MAX_TITLE_BYTES {
            return Some("title longer than 512 bytes");
        }
        if self.client_id.len() > MAX_CLIENT_ID_BYTES {
            return Some("client_id longer than 128 bytes");
        }
        if self.properties.0.len() > MAX_PROPS_BYTES {
            return Some("properties larger than 16 KiB");
        }
        if self.scroll_depth.is_some_and(|d| d > 100) {
            return Some("scroll_depth above 100");
        }
        if self
            .user_id
            .as_ref()
            .is_some_and(|u| u.is_empty() || u.len() > MAX_USER_ID_BYTES)
        {
            return Some("user_id is empty or longer than 256 bytes");
        }
        None
    }
}

/// Wraps already-encoded events (each a JSON object) into a request body.
pub fn batch_body<'a>(events: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("{\"events\":[");
    for (i, e) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push_str("]}");
    out
}

/// Bytes a body of events with these encoded sizes takes.
pub fn batch_body_len(event_lens: impl IntoIterator<Item = usize>) -> usize {
    let (n, sum) = event_lens
        .into_iter()
        .fold((0usize, 0usize), |(n, s), l| (n + 1, s + l));
    "{\"events\":[]}".len() + sum + n.saturating_sub(1)
}

#[cfg(feature = "serde")]
mod serde_impls {
    use super::Props;
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::value::RawValue;

    impl Serialize for Props {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
            raw.serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for Props {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Props, D::Error> {
            let raw = Box::<RawValue>::deserialize(d)?;
            if !raw.get().trim_start().starts_with('{') {
                return Err(D::Error::custom("properties must be a JSON object"));
            }
            Ok(Props(raw.get().to_owned()))
        }
    }
}

/// The request body, as the collector reads it.
#[cfg(feature = "serde")]
#[derive(Debug, serde::Deserialize)]
pub struct BatchRequest<'a> {
    #[serde(borrow)]
    pub events: Vec<&'a serde_json::value::RawValue>,
}

/// One refused event of a batch.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

/// The collector's answer to a batch.
#[cfg(feature = "serde")]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchAnswer {
    /// Events newly stored.
    pub accepted: usize,
    /// Events whose `event_id` was already stored (acknowledged, not stored again).
    pub duplicates: usize,
    pub rejected: Vec<Rejected>,
    /// Session ids the collector has sealed; a tab holding one rotates.
    pub sealed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Event {
        Event {
            event_id: "018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            name: "signup \"quoted\"\n".into(),
            session_id: "sess_018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            anonymous_id: "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            timestamp: 1_709_318_400_000,
            path: "/pricing".into(),
            title: "Pricing ünï".into(),
            referrer: String::new(),
            client_id: "demo".into(),
            page_count: Some(3),
            navigation_type: None,
            time_on_page: None,
            engaged_time: Some(1200),
            scroll_depth: None,
            interaction_count: None,
            properties: Props("{\"plan\":\"pro\",\"n\":[1,2]}".into()),
            user_id: Some("user-42 \"ü\"".into()),
        }
    }

    #[test]
    fn encoded_event_is_one_line_of_valid_json() {
        let mut out = String::new();
        sample().write_json(&mut out);
        assert!(!out.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["name"], "signup \"quoted\"\n");
        assert_eq!(v["page_count"], 3);
        assert_eq!(v["engaged_time"], 1200);
        assert!(v.get("scroll_depth").is_none());
        assert_eq!(v["properties"]["n"][1], 2);
    }

    #[test]
    fn body_length_is_predicted_exactly() {
        let evs = ["{\"a\":1}", "{}", "{\"bb\":22}"];
        assert_eq!(
            batch_body(evs).len(),
            batch_body_len(evs.iter().map(|e| e.len()))
        );
        assert_eq!(batch_body([]).len(), batch_body_len([]));
    }

    #[test]
    fn a_valid_event_has_no_problem_and_bad_fields_are_named() {
        assert_eq!(sample().problem(), None);
        let mut e = sample();
        e.session_id = "sess_nope".into();
        assert!(e.problem().unwrap().contains("session_id"));
        let mut e = sample();
        e.properties = Props(format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_PROPS_BYTES)));
        assert!(e.problem().unwrap().contains("properties"));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn the_collector_decodes_exactly_what_the_tracker_encodes() {
        let mut out = String::new();
        sample().write_json(&mut out);
        let back: Event = serde_json::from_str(&out).unwrap();
        assert_eq!(back, sample());
    }
}
