//! The wire protocol: one event, a batch of them, and the collector's answer.
//!
//! Defined once here and used by both sides: the tracker encodes by hand
//! ([`Event::encode`], [`batch_body`]; no serde in the wasm), the collector
//! decodes with serde (feature `serde`). Tests check the two agree.
//!
//! Request: `POST /v1/batch`, sent as `text/plain;charset=UTF-8` (no CORS
//! preflight), in one of two shapes (README "Wire protocol"):
//! - full: `{"events":[Event, ...]}`, each event with every field;
//! - compact: `{"shared":{...},"events":[...]}`: the fields of
//!   [`SHARED_FIELDS`] once for the batch, each event with its own fields
//!   and any shared field where it differs ([`body`]).
//!
//! Either way an event is its own fields plus each field of `shared` it does
//! not carry; it may leave out `timestamp` when that is the time of its
//! UUIDv7 `event_id`, and `properties` when empty.
//! Answer: `{"accepted":n,"duplicates":n,"rejected":[{"index":i,"reason":"..."}],"sealed":["sess_..."]}`.

mod body;

pub use body::{batch_body, batch_body_len, Encoded, SHARED_FIELDS};

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

/// The fields every event holds once whole (README "Wire protocol"): with
/// the fields it takes from a batch's `shared`, an implied `timestamp` and
/// an empty `properties` written in.
pub const WHOLE_EVENT_FIELDS: [&str; 10] = [
    "event_id",
    "name",
    "session_id",
    "anonymous_id",
    "timestamp",
    "path",
    "title",
    "referrer",
    "client_id",
    "properties",
];

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

/// Appends `"key":"value"` (nothing when absent) and a line break.
fn push_member(out: &mut String, key: &str, value: Option<&str>) {
    if let Some(value) = value {
        push_str(out, key);
        out.push(':');
        push_str(out, value);
    }
    out.push('\n');
}

/// An event's fields, borrowed: what the tracker encodes straight from its
/// own state (no copy of its strings), and [`Event::encode`] through
/// [`Event::as_ref`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EventRef<'a> {
    pub event_id: &'a str,
    pub name: &'a str,
    pub session_id: &'a str,
    pub anonymous_id: &'a str,
    pub timestamp: u64,
    pub path: &'a str,
    pub title: &'a str,
    pub referrer: &'a str,
    pub client_id: &'a str,
    pub page_count: Option<u64>,
    pub navigation_type: Option<&'a str>,
    pub time_on_page: Option<u64>,
    pub engaged_time: Option<u64>,
    pub scroll_depth: Option<u64>,
    pub interaction_count: Option<u64>,
    /// A JSON object's text (`{}` or empty: none).
    pub properties: &'a str,
    pub user_id: Option<&'a str>,
}

impl EventRef<'_> {
    /// The event encoded for a batch: its own fields, and its shareable
    /// ones apart (what the batch's events share is sent once). Its
    /// `timestamp` is left out when it is the time of its UUIDv7
    /// `event_id` (as the tracker mints them), and `properties` when empty.
    pub fn encode(&self) -> Encoded {
        let mut own = String::new();
        self.write_own(&mut own, false);
        // In SHARED_FIELDS order, each member ended by '\n' (an absent
        // user_id is an empty member).
        let mut context = String::new();
        push_member(&mut context, "session_id", Some(self.session_id));
        push_member(&mut context, "anonymous_id", Some(self.anonymous_id));
        push_member(&mut context, "client_id", Some(self.client_id));
        push_member(&mut context, "user_id", self.user_id);
        push_member(&mut context, "path", Some(self.path));
        push_member(&mut context, "title", Some(self.title));
        push_member(&mut context, "referrer", Some(self.referrer));
        Encoded {
            id: self.event_id.into(),
            own,
            context,
        }
    }

    /// Appends the members that are this event's own (not shareable),
    /// `event_id` first; `full` writes an implied timestamp and empty
    /// properties too.
    fn write_own(&self, out: &mut String, full: bool) {
        out.push_str("\"event_id\":");
        push_str(out, self.event_id);
        push_field(out, "name");
        push_str(out, self.name);
        if full || ids::uuid_v7_time(self.event_id).map(|t| t.0) != Some(self.timestamp) {
            push_field(out, "timestamp");
            push_u64(out, self.timestamp);
        }
        if let Some(v) = self.navigation_type {
            push_field(out, "navigation_type");
            push_str(out, v);
        }
        for &(k, v) in &[
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
        if full || !matches!(self.properties, "" | "{}") {
            push_field(out, "properties");
            let props = if self.properties.is_empty() {
                "{}"
            } else {
                self.properties
            };
            // JSON.stringify's text (or an outbox line's): never a line
            // break, which the outbox would refuse (`outbox::merge`).
            out.push_str(props);
        }
    }
}

impl Event {
    /// The event's fields, borrowed.
    pub fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            event_id: &self.event_id,
            name: &self.name,
            session_id: &self.session_id,
            anonymous_id: &self.anonymous_id,
            timestamp: self.timestamp,
            path: &self.path,
            title: &self.title,
            referrer: &self.referrer,
            client_id: &self.client_id,
            page_count: self.page_count,
            navigation_type: self.navigation_type.as_deref(),
            time_on_page: self.time_on_page,
            engaged_time: self.engaged_time,
            scroll_depth: self.scroll_depth,
            interaction_count: self.interaction_count,
            properties: &self.properties.0,
            user_id: self.user_id.as_deref(),
        }
    }

    /// The event encoded for a batch ([`EventRef::encode`]).
    pub fn encode(&self) -> Encoded {
        self.as_ref().encode()
    }

    /// Appends this event as one JSON object with every field written out
    /// (the full shape), with no newline in it.
    pub fn write_json(&self, out: &mut String) {
        let ev = self.as_ref();
        let mut e = ev.encode();
        e.own.clear();
        ev.write_own(&mut e.own, true);
        e.write_line(out);
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

/// The request body, as the collector reads it (either shape).
#[cfg(feature = "serde")]
#[derive(Debug, serde::Deserialize)]
pub struct BatchRequest<'a> {
    /// The compact shape's fields shared by every event; absent (or null)
    /// in the full shape.
    #[serde(borrow, default)]
    pub shared: Option<&'a serde_json::value::RawValue>,
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
    fn a_compact_event_leaves_out_a_timestamp_its_id_implies_and_empty_properties() {
        let mut e = sample();
        e.event_id = "018e0e5c-5a00-7abc-8def-0123456789ab".into();
        e.timestamp = 0x018e_0e5c_5a00;
        e.properties = Props::default();
        let own = e.encode().own;
        assert!(
            !own.contains("timestamp") && !own.contains("properties"),
            "{own}"
        );
        // A timestamp other than the id's time, or a v4 id: written.
        e.timestamp += 1;
        let own = e.encode().own;
        assert!(
            own.contains(&format!("\"timestamp\":{}", e.timestamp)),
            "{own}"
        );
        e.timestamp -= 1;
        e.event_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7".into();
        assert!(e.encode().own.contains("\"timestamp\""));
        // The full shape writes both whatever they hold.
        let mut full = String::new();
        sample().write_json(&mut full);
        let v: serde_json::Value = serde_json::from_str(&full).unwrap();
        assert_eq!(v["timestamp"], sample().timestamp);
        let mut full = String::new();
        e.write_json(&mut full);
        assert!(full.contains("\"properties\":{}"), "{full}");
    }

    #[test]
    fn the_shareable_fields_are_encoded_apart_and_an_absent_user_id_is_empty() {
        let enc = sample().encode();
        assert!(enc.own.starts_with("\"event_id\":\""), "{}", enc.own);
        for key in SHARED_FIELDS {
            assert!(
                !enc.own.contains(&format!("\"{key}\"")),
                "{key} in {}",
                enc.own
            );
        }
        let members: Vec<&str> = enc.context.split_terminator('\n').collect();
        assert_eq!(members.len(), SHARED_FIELDS.len());
        assert_eq!(
            members[0],
            "\"session_id\":\"sess_018e0e5c-5a00-7abc-8def-0123456789ab\""
        );
        assert_eq!(members[3], "\"user_id\":\"user-42 \\\"ü\\\"\"");
        assert_eq!(members[6], "\"referrer\":\"\"");
        let mut anonymous = sample();
        anonymous.user_id = None;
        assert_eq!(anonymous.encode().context.split('\n').nth(3), Some(""));
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
