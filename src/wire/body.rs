//! The body of a batch request, in its compact shape (README "Wire
//! protocol"): what every event of the batch shares is written once in
//! `shared`; each event carries its own fields, plus any shareable field
//! whose value differs from the shared one (the event's value wins).
//!
//! `{"shared":{"session_id":"…","path":"/a",…},"events":[{"event_id":"…","name":"…"},…]}`
//!
//! A body with nothing shared is the full shape, `{"events":[…]}`: each
//! event whole. The body's length is known before it is written
//! ([`batch_body_len`]: the same walk, counting), so batches are cut to a
//! byte budget exactly.

use alloc::string::String;

use crate::text::cut;

/// The fields the events of a batch may share, in the order `shared`
/// lists them.
pub const SHARED_FIELDS: [&str; 7] = [
    "session_id",
    "anonymous_id",
    "client_id",
    "user_id",
    "path",
    "title",
    "referrer",
];

/// One event encoded for the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Encoded {
    /// The event's `event_id` (a lowercase hyphenated UUID).
    pub id: String,
    /// Its own fields as JSON object members, without the braces:
    /// `"event_id":"…","name":"…",…`, always starting with `event_id`.
    pub own: String,
    /// Its shareable fields: for each of [`SHARED_FIELDS`], in that order,
    /// its member (`"path":"/a"`, empty when the event has no such field)
    /// and a `'\n'` (which encoded JSON never holds). Empty for an event
    /// kept whole (an outbox line): all of its fields are in `own`.
    pub context: String,
}

/// Takes the next member off a context (what is left of it in `rest`).
// Not inlined: four loops walk contexts.
#[inline(never)]
fn next_member<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (member, after) = cut(rest, b'\n')?;
    *rest = after;
    Some(member)
}

impl Encoded {
    /// Event `id` kept whole, from its JSON object text (`{` ... `}`): it
    /// shares nothing, so it goes with every field of its own.
    pub fn whole(id: &str, object: &str) -> Encoded {
        let own = object
            .strip_prefix('{')
            .and_then(|o| o.strip_suffix('}'))
            .unwrap_or(object);
        Encoded {
            id: id.into(),
            own: own.into(),
            context: String::new(),
        }
    }

    /// Appends the event as one JSON object with every field (one line: no
    /// line break in it), as the outbox keeps it.
    pub fn write_line(&self, out: &mut String) {
        self.walk(&mut Sink::to(out), &Shared::NONE);
    }

    /// Bytes [`Encoded::write_line`] writes.
    pub fn line_len(&self) -> usize {
        let mut sink = Sink::counting();
        self.walk(&mut sink, &Shared::NONE);
        sink.len
    }

    /// The event as it goes in a body that shares `shared`: its own
    /// members and each shareable member that the body does not share as
    /// is.
    fn walk(&self, sink: &mut Sink<'_>, shared: &Shared<'_>) {
        sink.put("{");
        sink.put(&self.own);
        let (mut rest, mut common) = (self.context.as_str(), shared.context);
        let mut field = 0;
        while let Some(member) = next_member(&mut rest) {
            let same = next_member(&mut common) == Some(member) && shared.has(field);
            if !member.is_empty() && !same {
                sink.put(",");
                sink.put(member);
            }
            field += 1;
        }
        sink.put("}");
    }
}

/// What a body's events share: the fields (bit `i` for field `i` of
/// [`SHARED_FIELDS`]) that every event has (an event cannot say it lacks a
/// field the batch shares), with the values of the last event. The last,
/// not the first: a batch that spans a rotation or a `clear()` begins with
/// the old session's `page_exit`, then the new session's events.
struct Shared<'a> {
    fields: u32,
    context: &'a str,
}

impl<'a> Shared<'a> {
    const NONE: Shared<'static> = Shared {
        fields: 0,
        context: "",
    };

    fn of(events: &'a [Encoded]) -> Shared<'a> {
        let Some(last) = events.last() else {
            return Shared::NONE;
        };
        let mut fields = (1u32 << SHARED_FIELDS.len()) - 1;
        for e in events {
            if e.context.is_empty() {
                fields = 0;
            }
            let (mut rest, mut field) = (e.context.as_str(), 0);
            while let Some(member) = next_member(&mut rest) {
                if member.is_empty() {
                    fields &= !(1u32 << field);
                }
                field += 1;
            }
        }
        Shared {
            fields,
            context: &last.context,
        }
    }

    fn has(&self, field: usize) -> bool {
        self.fields >> field & 1 == 1
    }
}

/// Where a walk over a body goes: its length, and its text when wanted (one
/// walk for both, so the predicted length is the written one).
struct Sink<'a> {
    len: usize,
    out: Option<&'a mut String>,
}

impl<'a> Sink<'a> {
    fn to(out: &'a mut String) -> Sink<'a> {
        Sink {
            len: 0,
            out: Some(out),
        }
    }

    fn counting() -> Sink<'a> {
        Sink { len: 0, out: None }
    }

    // Not inlined: a body is a dozen puts, each would copy push_str's code.
    #[inline(never)]
    fn put(&mut self, text: &str) {
        self.len = self.len.saturating_add(text.len());
        if let Some(out) = self.out.as_deref_mut() {
            out.push_str(text);
        }
    }
}

/// Writes the body of `events` into `sink`.
fn walk(events: &[Encoded], sink: &mut Sink<'_>) {
    let shared = Shared::of(events);
    sink.put("{");
    // `"shared":{` before the first shared member, `,` before the others.
    let mut separator = "\"shared\":{";
    let (mut rest, mut field) = (shared.context, 0);
    while let Some(member) = next_member(&mut rest) {
        if shared.has(field) {
            sink.put(separator);
            sink.put(member);
            separator = ",";
        }
        field += 1;
    }
    if shared.fields != 0 {
        sink.put("},");
    }
    sink.put("\"events\":[");
    let mut separator = "";
    for e in events {
        sink.put(separator);
        e.walk(sink, &shared);
        separator = ",";
    }
    sink.put("]}");
}

/// The request body of `events`, in order: what they all share once in
/// `shared` (nothing shared: the full shape, `{"events":[...]}`).
pub fn batch_body(events: &[Encoded]) -> String {
    let mut out = String::new();
    walk(events, &mut Sink::to(&mut out));
    out
}

/// Bytes [`batch_body`] writes for `events`, without writing them.
pub fn batch_body_len(events: &[Encoded]) -> usize {
    let mut sink = Sink::counting();
    walk(events, &mut sink);
    sink.len
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::wire::{Event, Props};
    use proptest::prelude::*;
    use serde_json::Value;

    fn event(n: u64, path: &str, user: Option<&str>) -> Event {
        Event {
            event_id: format!("018e0e5c-5a00-7abc-8def-{n:012x}"),
            name: "click".into(),
            session_id: "sess_018e0e5c-5a00-7abc-8def-0123456789ab".into(),
            anonymous_id: "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7".into(),
            timestamp: 0x018e_0e5c_5a00,
            path: path.into(),
            title: "T".into(),
            client_id: "demo".into(),
            properties: Props(format!("{{\"n\":{n}}}")),
            user_id: user.map(Into::into),
            ..Event::default()
        }
    }

    fn body_of(events: &[Encoded]) -> (String, usize) {
        (batch_body(events), batch_body_len(events))
    }

    /// The body of these events as the tracker encodes them (its length
    /// predicted exactly), and its JSON.
    fn sent(events: &[Event]) -> (String, Value) {
        let encoded: Vec<Encoded> = events.iter().map(Event::encode).collect();
        let (body, len) = body_of(&encoded);
        assert_eq!(body.len(), len);
        let v = parse(&body);
        (body, v)
    }

    fn parse(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn what_every_event_shares_goes_once_and_a_different_path_inline() {
        let (body, v) = sent(&[
            event(1, "/a", None),
            event(2, "/b", None),
            event(3, "/b", None),
        ]);
        // The last event's path is the shared one; another goes inline.
        assert_eq!(v["shared"]["path"], "/b");
        assert_eq!(v["shared"]["client_id"], "demo");
        assert_eq!(v["events"][0]["path"], "/a");
        assert!(v["events"][1].get("path").is_none());
        assert!(v["events"][2].get("session_id").is_none());
        assert!(v["shared"].get("user_id").is_none());
        assert_eq!(body.matches("anon_7c9e").count(), 1);
    }

    #[test]
    fn a_user_id_only_some_events_have_is_never_shared() {
        let (body, v) = sent(&[
            event(1, "/a", None),
            event(2, "/a", Some("u")),
            event(3, "/a", Some("u")),
        ]);
        assert!(v["shared"].get("user_id").is_none(), "{body}");
        assert!(v["events"][0].get("user_id").is_none());
        assert_eq!(v["events"][1]["user_id"], "u");
        assert_eq!(v["events"][2]["user_id"], "u");
    }

    #[test]
    fn the_values_shared_are_the_last_event_s() {
        // A rotation: the old session's exit, then the new session's events.
        let mut exit = event(1, "/a", None);
        exit.session_id = "sess_018e0e5c-5a00-7abc-8def-00000000000a".into();
        let (_, v) = sent(&[exit, event(2, "/a", None), event(3, "/a", None)]);
        assert_eq!(
            v["shared"]["session_id"],
            "sess_018e0e5c-5a00-7abc-8def-0123456789ab"
        );
        assert_eq!(
            v["events"][0]["session_id"],
            "sess_018e0e5c-5a00-7abc-8def-00000000000a"
        );
        assert!(v["events"][1].get("session_id").is_none());
        assert_eq!(v["shared"]["path"], "/a");
    }

    #[test]
    fn whole_events_share_nothing_and_go_in_the_full_shape() {
        let mut line = String::new();
        let e = event(1, "/a", Some("u"));
        e.write_json(&mut line);
        let whole = Encoded::whole(&e.event_id, &line);
        assert_eq!(whole.line_len(), line.len());
        let mut again = String::new();
        whole.write_line(&mut again);
        assert_eq!(again, line);
        // Next to a fresh event of the same page: still nothing shared, so
        // the fresh event goes with every field.
        let events = [whole, event(2, "/a", Some("u")).encode()];
        let (body, len) = body_of(&events);
        assert_eq!(body.len(), len);
        assert!(body.starts_with("{\"events\":[{\"event_id\""), "{body}");
        assert_eq!(parse(&body)["events"][1]["path"], "/a");
        assert_eq!(body_of(&[]), ("{\"events\":[]}".to_owned(), 13));
    }

    proptest! {
        #[test]
        fn the_predicted_length_is_the_body_s_length(
            picks in proptest::collection::vec((0usize..3, 0usize..3, any::<bool>(), 0usize..40), 0..30),
        ) {
            let paths = ["/", "/pricing", "/a/very/long/path?with=query"];
            let users = [None, Some("u-1"), Some("user \"two\"")];
            let events: Vec<Encoded> = picks
                .iter()
                .enumerate()
                .map(|(i, &(p, u, whole, pad))| {
                    let mut e = event(i as u64, paths[p], users[u]);
                    e.properties = Props(format!("{{\"pad\":\"{}\"}}", "x".repeat(pad)));
                    if whole {
                        let mut line = String::new();
                        e.write_json(&mut line);
                        Encoded::whole(&e.event_id, &line)
                    } else {
                        e.encode()
                    }
                })
                .collect();
            let (body, len) = body_of(&events);
            prop_assert_eq!(body.len(), len);
            let v = parse(&body);
            prop_assert_eq!(v["events"].as_array().unwrap().len(), events.len());
        }
    }
}
