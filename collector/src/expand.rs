//! The events of a batch made whole (README "Wire protocol"): an event is
//! its own fields, then each field of the batch's `shared` it does not
//! carry, then `timestamp` from its UUIDv7 `event_id` and `properties` `{}`
//! when it leaves them out. What is stored (`body`) and judged is that
//! whole event, whichever shape the batch came in; an event that needs
//! nothing added (every event of the full shape the tracker sent before)
//! is stored exactly as sent.

use crate::bounds::{size_problem, top_level, Field};
use serde_json::value::RawValue;
use sessionmark::ids::uuid_v7_time;
use sessionmark::wire::SHARED_FIELDS;
use std::borrow::Cow;

/// The `shared` part of a batch: its fields, each one of
/// [`SHARED_FIELDS`], at most once. Its values are judged in each event
/// that takes them, as if that event carried them.
pub fn shared_fields(shared: Option<&RawValue>) -> Result<Vec<Field<'_>>, String> {
    let Some(shared) = shared else {
        return Ok(Vec::new());
    };
    let fields = top_level(shared.get()).map_err(|_| "shared is not a JSON object".to_owned())?;
    for (i, (name, _)) in fields.iter().enumerate() {
        if !SHARED_FIELDS.contains(&name.as_ref()) {
            return Err(format!(
                "shared may hold only {}; not {name:?}",
                SHARED_FIELDS.join(", ")
            ));
        }
        if fields.iter().take(i).any(|(earlier, _)| earlier == name) {
            return Err(format!("shared holds {name} twice"));
        }
    }
    Ok(fields)
}

/// An event of a batch made whole.
#[derive(Debug)]
pub struct Whole<'a> {
    /// The whole event's JSON object text: as sent when nothing was added.
    pub text: Cow<'a, str>,
    /// The event's own top-level fields, as sent.
    pub own: Vec<Field<'a>>,
}

/// `raw` (one event of a batch) made whole with the batch's `shared`
/// fields; or why it is refused before anything else is judged: it is not
/// an object, or whole it would be larger than the bound of one event
/// (measured before the text is built, so a large shared value is not
/// copied into each event).
pub fn whole<'a>(raw: &'a RawValue, shared: &[Field<'a>]) -> Result<Whole<'a>, String> {
    let text = raw.get();
    let own = top_level(text).map_err(|e| format!("not a valid event: {e}"))?;
    let carries = |name: &str| own.iter().any(|(n, _)| n == name);
    let mut added: Vec<(&str, Cow<'a, str>)> = shared
        .iter()
        .filter(|(name, _)| !carries(name))
        .map(|(name, value)| (canonical(name), Cow::Borrowed(value.get())))
        .collect();
    if !carries("timestamp") {
        if let Some(at) = id_time(&own) {
            added.push(("timestamp", Cow::Owned(at.to_string())));
        }
    }
    if !carries("properties") {
        added.push(("properties", Cow::Borrowed("{}")));
    }
    if added.is_empty() {
        if let Some(problem) = size_problem(text.len()) {
            return Err(problem);
        }
        return Ok(Whole {
            text: Cow::Borrowed(text),
            own,
        });
    }
    // `,"name":value` for each added field.
    let grown = added.iter().fold(text.len(), |len, (name, value)| {
        len.saturating_add(name.len() + 4)
            .saturating_add(value.len())
    });
    if let Some(problem) = size_problem(grown) {
        return Err(problem);
    }
    let Some(open) = text.strip_suffix('}') else {
        return Err("not a valid event: not a JSON object".to_owned());
    };
    let mut out = String::with_capacity(grown);
    out.push_str(open);
    for (i, (name, value)) in added.iter().enumerate() {
        if i > 0 || !own.is_empty() {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        out.push_str(value);
    }
    out.push('}');
    Ok(Whole {
        text: Cow::Owned(out),
        own,
    })
}

/// The name of shared field `name` as written in a stored event (it may
/// have arrived with escapes in it).
fn canonical(name: &str) -> &'static str {
    SHARED_FIELDS
        .iter()
        .find(|f| **f == name)
        .copied()
        .unwrap_or("")
}

/// The time of the event's `event_id`, when it is a UUIDv7 string.
fn id_time(own: &[Field<'_>]) -> Option<u64> {
    let (_, id) = own.iter().find(|(name, _)| name == "event_id")?;
    let id: Cow<'_, str> = serde_json::from_str(id.get()).ok()?;
    uuid_v7_time(&id).map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const ID: &str = "018e0e5c-5a00-7abc-8def-0123456789ab";
    const ID_MS: u64 = 0x018e_0e5c_5a00;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn whole_of(event: &str, shared: &str) -> Result<Value, String> {
        let shared = raw(shared);
        let fields = shared_fields(Some(&shared))?;
        let event = raw(event);
        let w = whole(&event, &fields)?;
        Ok(serde_json::from_str(&w.text).unwrap())
    }

    #[test]
    fn an_event_takes_the_shared_fields_it_does_not_carry() {
        let v = whole_of(
            &format!(r#"{{"event_id":"{ID}","name":"a","path":"/own"}}"#),
            r#"{"path":"/shared","title":"T","user_id":"u"}"#,
        )
        .unwrap();
        assert_eq!(v["path"], "/own");
        assert_eq!(v["title"], "T");
        assert_eq!(v["user_id"], "u");
        assert_eq!(v["timestamp"], ID_MS);
        assert_eq!(v["properties"], serde_json::json!({}));
    }

    #[test]
    fn an_event_that_needs_nothing_is_kept_as_sent() {
        let text = format!(r#"{{ "event_id":"{ID}", "timestamp":5, "properties":{{"a" : 1}} }}"#);
        let event = raw(&text);
        let w = whole(&event, &[]).unwrap();
        assert!(matches!(w.text, Cow::Borrowed(_)));
        assert_eq!(w.text, text);
    }

    #[test]
    fn an_empty_event_and_whitespace_before_its_end_still_make_valid_json() {
        for text in ["{}", "{ }", "{\"name\":\"a\" }"] {
            let v = whole_of(text, r#"{"path":"/p"}"#).unwrap();
            assert_eq!(v["path"], "/p", "{text}");
        }
    }

    #[test]
    fn no_timestamp_is_made_up_for_an_id_that_is_not_a_uuid_v7() {
        for id in ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "nope"] {
            let v = whole_of(&format!(r#"{{"event_id":"{id}"}}"#), "{}").unwrap();
            assert!(v.get("timestamp").is_none(), "{id}");
        }
        // Escapes in the id are read as JSON reads them.
        let v = whole_of(
            r#"{"event_id":"018e0e5c-5a00-7abc-8def-0123456789\u0061b"}"#,
            "{}",
        )
        .unwrap();
        assert_eq!(v["timestamp"], ID_MS);
    }

    #[test]
    fn shared_holds_only_shareable_fields_each_once() {
        for bad in [
            r#"[]"#,
            r#""x""#,
            r#"{"name":"a"}"#,
            r#"{"source":"server"}"#,
            r#"{"path":"/a","path":"/b"}"#,
        ] {
            let shared = raw(bad);
            assert!(shared_fields(Some(&shared)).is_err(), "{bad}");
        }
        let escaped = raw(r#"{"p\u0061th":"/a"}"#);
        let fields = shared_fields(Some(&escaped)).unwrap();
        let event = raw(&format!(r#"{{"event_id":"{ID}"}}"#));
        let w = whole(&event, &fields).unwrap();
        assert!(w.text.contains(r#""path":"/a""#), "{}", w.text);
    }

    #[test]
    fn a_large_shared_value_is_refused_for_each_event_before_it_is_copied() {
        let shared = format!(r#"{{"title":"{}"}}"#, "t".repeat(40 * 1024));
        let err = whole_of(&format!(r#"{{"event_id":"{ID}"}}"#), &shared).unwrap_err();
        assert!(err.contains("larger"), "{err}");
        // An event that carries its own title does not take it.
        assert!(whole_of(&format!(r#"{{"event_id":"{ID}","title":"x"}}"#), &shared).is_ok());
    }
}
