//! What an event may carry beyond the fields this collector knows, and how
//! deep its JSON may nest (README "Limits and access").
//!
//! Unknown top-level fields are kept in the stored event (a newer tracker
//! may send fields this collector does not know yet), but within bounds:
//! without them one client could store a megabyte per event, or a
//! 100,000-deep nesting that every JSON reader of `GET /v1/events` then
//! fails on. `properties` is bounded by depth here and by size in
//! `Event::problem`.
//!
//! The text checked here has already been parsed once by serde_json, so it
//! is valid JSON; the scans only measure it.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// Largest stored event, in bytes of its JSON text as sent (whitespace
/// included: it is stored as sent).
pub const MAX_EVENT_BYTES: usize = 32 * 1024;
/// Most unknown top-level fields in one event.
pub const MAX_EXTRA_FIELDS: usize = 16;
/// Largest total of the unknown fields' names and values, in bytes as sent.
pub const MAX_EXTRA_BYTES: usize = 4 * 1024;
/// Deepest nesting of arrays and objects in `properties` (the properties
/// object itself is level 1) and in each unknown field's value.
pub const MAX_NESTING: usize = 10;
/// Top-level fields a browser batch may not carry: the collector sets them.
/// `source` marks server events (`"source":"server"`).
pub const RESERVED_FIELDS: &[&str] = &["source"];

/// One top-level field of an object: its name (unescaped) and its value as
/// sent.
pub type Field<'a> = (Cow<'a, str>, &'a RawValue);

/// Why an event's extra fields or nesting are refused, if they are.
/// `known` lists the field names the wire type reads.
pub fn extra_fields_problem(raw: &str, known: &[&str]) -> Option<String> {
    if let Some(problem) = size_problem(raw.len()) {
        return Some(problem);
    }
    let Ok(fields) = top_level(raw) else {
        return Some("event is not a JSON object".to_owned());
    };
    fields_problem(&fields, known)
}

/// Why an event of `len` bytes (its JSON text, whitespace included) is
/// refused for its size, if it is.
pub fn size_problem(len: usize) -> Option<String> {
    (len > MAX_EVENT_BYTES).then(|| format!("event larger than {} KiB", MAX_EVENT_BYTES / 1024))
}

/// Every top-level field of a JSON object, in order, repeats included.
pub fn top_level(raw: &str) -> Result<Vec<Field<'_>>, serde_json::Error> {
    serde_json::from_str::<TopLevel<'_>>(raw).map(|TopLevel(fields)| fields)
}

/// Why these top-level fields of an event are refused (unknown ones, the
/// reserved ones, nesting), if they are; its size is [`size_problem`]'s.
pub fn fields_problem(fields: &[Field<'_>], known: &[&str]) -> Option<String> {
    let mut extra_count = 0usize;
    let mut extra_bytes = 0usize;
    for (name, value) in fields {
        if RESERVED_FIELDS.contains(&name.as_ref()) {
            return Some(format!("{name} is set by the collector, not by a batch"));
        }
        if name == "properties" {
            if let Some(problem) = properties_problem(value.get()) {
                return Some(problem.to_owned());
            }
            continue;
        }
        if known.contains(&name.as_ref()) {
            continue;
        }
        extra_count += 1;
        extra_bytes += name.len() + value.get().len();
        let scan = scan(value.get(), MAX_NESTING);
        if scan.depth > MAX_NESTING {
            return Some(format!("{name} nests deeper than {MAX_NESTING} levels"));
        }
        if scan.lone_surrogate {
            return Some(format!("{name} holds an unpaired UTF-16 surrogate escape"));
        }
        if scan.huge_number {
            return Some(format!("{name} holds a number beyond a 64-bit float"));
        }
    }
    if extra_count > MAX_EXTRA_FIELDS {
        return Some(format!(
            "{extra_count} unknown fields; at most {MAX_EXTRA_FIELDS}"
        ));
    }
    if extra_bytes > MAX_EXTRA_BYTES {
        return Some(format!(
            "unknown fields take {extra_bytes} bytes; at most {MAX_EXTRA_BYTES}"
        ));
    }
    None
}

/// Why a `properties` text (a JSON object) is refused, if it is.
pub fn properties_problem(props: &str) -> Option<&'static str> {
    let scan = scan(props, MAX_NESTING);
    if scan.depth > MAX_NESTING {
        return Some("properties nest deeper than 10 levels");
    }
    if scan.lone_surrogate {
        // Valid JSON text, but most readers (serde_json among them) refuse it.
        return Some("properties hold an unpaired UTF-16 surrogate escape");
    }
    if scan.huge_number {
        return Some("properties hold a number beyond a 64-bit float");
    }
    None
}

/// What one pass over a JSON text found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scan {
    /// Deepest nesting of arrays and objects (0 for a scalar), counted up
    /// to `limit + 1` only: the scan stops there.
    pub depth: usize,
    /// A `\uD800`-`\uDFFF` escape that is not a high surrogate followed by
    /// a low one.
    pub lone_surrogate: bool,
    /// A number beyond the range of a 64-bit float (`1e400`): valid JSON
    /// that serde_json readers refuse ("number out of range").
    pub huge_number: bool,
}

/// Measures valid JSON text without recursing (so without a stack to
/// overflow, however deep the text nests).
pub fn scan(json: &str, limit: usize) -> Scan {
    let bytes = json.as_bytes();
    let mut out = Scan::default();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if in_string {
            match b {
                b'"' => in_string = false,
                b'\\' => {
                    if bytes.get(i) == Some(&b'u') {
                        let (unit, next) = (hex4(bytes, i + 1), i + 5);
                        i = next;
                        match unit {
                            Some(0xD800..=0xDBFF) => {
                                let low = (bytes.get(i) == Some(&b'\\')
                                    && bytes.get(i + 1) == Some(&b'u'))
                                .then(|| hex4(bytes, i + 2))
                                .flatten();
                                if matches!(low, Some(0xDC00..=0xDFFF)) {
                                    i += 6;
                                } else {
                                    out.lone_surrogate = true;
                                }
                            }
                            Some(0xDC00..=0xDFFF) => out.lone_surrogate = true,
                            _ => {}
                        }
                    } else {
                        // Any other escape is one character long.
                        i += 1;
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'-' | b'0'..=b'9' => {
                let start = i - 1;
                while bytes
                    .get(i)
                    .is_some_and(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    i += 1;
                }
                let finite = json
                    .get(start..i)
                    .and_then(|n| n.parse::<f64>().ok())
                    .is_some_and(f64::is_finite);
                if !finite {
                    out.huge_number = true;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > out.depth {
                    out.depth = depth;
                    if depth > limit {
                        return out;
                    }
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// The four hex digits at `at`, as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at.checked_add(4)?)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// Every top-level field of an object, in order, repeats included (a map
/// would keep only the last of a repeated name, while the stored text keeps
/// them all).
struct TopLevel<'a>(Vec<Field<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Fields<'a> {
            type Value = TopLevel<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<TopLevel<'a>, M::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<Cow<'a, str>, &'a RawValue>()? {
                    fields.push(entry);
                }
                Ok(TopLevel(fields))
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
    }
}

/// The field names a serde-derived struct reads, taken from its own
/// `Deserialize` impl, so a field added to the wire type is known here
/// without a second list to keep in step.
pub fn struct_fields<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Probe {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(de::Error::custom("probe only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut probe = Probe(None);
    let _ = T::deserialize(&mut probe);
    probe.0.unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionmark::wire::Event;

    fn known() -> &'static [&'static str] {
        struct_fields::<Event>()
    }

    #[test]
    fn the_wire_type_names_its_fields() {
        let fields = known();
        for f in ["event_id", "name", "session_id", "properties", "page_count"] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn depth_counts_arrays_and_objects_but_not_brackets_in_strings() {
        assert_eq!(scan("1", 10).depth, 0);
        assert_eq!(scan("{}", 10).depth, 1);
        assert_eq!(scan(r#"{"a":[1,{"b":[]}]}"#, 10).depth, 4);
        assert_eq!(scan(r#"{"a":"[[[{{{\"]]"}"#, 10).depth, 1);
        assert_eq!(scan(r#"[[],[[]],[]]"#, 10).depth, 3);
    }

    #[test]
    fn a_deep_text_is_measured_only_up_to_past_the_limit() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(scan(&deep, 10).depth, 11);
    }

    #[test]
    fn numbers_beyond_a_float_are_found_and_others_pass() {
        for ok in [
            "0",
            "-1",
            "1.5e300",
            "12345678901234567890123",
            "[1,-2.5E-3]",
            "\"1e999\"",
        ] {
            assert!(!scan(ok, 10).huge_number, "{ok}");
        }
        for huge in ["1e400", "[-1E309]", "{\"a\":2e+999}"] {
            assert!(scan(huge, 10).huge_number, "{huge}");
        }
    }

    #[test]
    fn an_escape_cut_at_the_end_of_the_text_stops_the_scan_cleanly() {
        assert_eq!(scan("\"\\u", 10), Scan::default());
        assert!(scan("\"\\ud83d\\u", 10).lone_surrogate);
    }

    #[test]
    fn paired_surrogates_pass_and_lone_ones_are_found() {
        assert!(!scan(r#""\ud83d\ude00""#, 10).lone_surrogate);
        assert!(!scan(r#""\u00e9\\u""#, 10).lone_surrogate);
        assert!(scan(r#""\ud83d""#, 10).lone_surrogate);
        assert!(scan(r#""\ud83dx""#, 10).lone_surrogate);
        assert!(scan(r#""\ude00""#, 10).lone_surrogate);
        assert!(scan(r#""\ud83d\u0041""#, 10).lone_surrogate);
    }

    fn with_fields(extra: &str) -> String {
        format!(r#"{{"event_id":"x","name":"n","properties":{{}}{extra}}}"#)
    }

    #[test]
    fn a_few_small_unknown_fields_pass() {
        let raw = with_fields(r#","added_later":[1,2],"flag":true"#);
        assert_eq!(extra_fields_problem(&raw, known()), None);
    }

    #[test]
    fn a_browser_event_may_not_say_it_came_from_the_server() {
        let raw = with_fields(r#","source":"server""#);
        let problem = extra_fields_problem(&raw, known()).unwrap();
        assert!(problem.contains("source"), "{problem}");
        let raw = with_fields(r#","source":"browser""#);
        assert!(extra_fields_problem(&raw, known()).is_some());
    }

    #[test]
    fn too_many_too_large_or_too_deep_unknown_fields_are_refused() {
        let many: String = (0..=MAX_EXTRA_FIELDS)
            .map(|i| format!(",\"f{i}\":1"))
            .collect();
        assert!(extra_fields_problem(&with_fields(&many), known())
            .unwrap()
            .contains("unknown fields"));
        let large = format!(",\"big\":\"{}\"", "x".repeat(MAX_EXTRA_BYTES));
        assert!(extra_fields_problem(&with_fields(&large), known())
            .unwrap()
            .contains("bytes"));
        let deep = format!(
            ",\"deep\":{}{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert!(extra_fields_problem(&with_fields(&deep), known())
            .unwrap()
            .contains("deeper"));
        let just = format!(
            ",\"deep\":{}{}",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert_eq!(extra_fields_problem(&with_fields(&just), known()), None);
    }

    #[test]
    fn a_repeated_unknown_field_counts_every_time_it_is_sent() {
        let half = format!(",\"same\":\"{}\"", "x".repeat(MAX_EXTRA_BYTES / 2));
        let raw = with_fields(&format!("{half}{half}{half}"));
        assert!(extra_fields_problem(&raw, known()).is_some());
    }

    #[test]
    fn properties_may_nest_ten_levels_and_no_more() {
        let nest = |n: usize| format!("{}{}", "{\"a\":".repeat(n - 1) + "{", "}".repeat(n));
        assert_eq!(properties_problem(&nest(MAX_NESTING)), None);
        assert!(properties_problem(&nest(MAX_NESTING + 1)).is_some());
    }

    #[test]
    fn whitespace_counts_toward_the_event_size() {
        let raw = format!("{{\"event_id\":\"x\"{}}}", " ".repeat(MAX_EVENT_BYTES));
        assert!(extra_fields_problem(&raw, known())
            .unwrap()
            .contains("larger"));
    }
}
