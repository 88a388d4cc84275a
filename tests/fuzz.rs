#![cfg(not(target_arch = "wasm32"))]
//! Fuzz targets of the tracker's parsers (README "Fuzzing"): what it reads
//! back from storage at the start and at a restore (ids, timestamps,
//! counts, the outbox), ids carried in URLs, the options text, the
//! collector's answer, and the text of every input as the shim sends it.
//! proptest, so they run on stable Rust: every test named `fuzz_*` is a
//! target (`npm test` runs each at proptest's default case count, `npm run
//! fuzz` at `FUZZ_CASES`). The properties, for any input: nothing panics
//! (a panic in wasm kills the tracker), no malformed id is ever stored, put
//! in a cookie or sent, and the tracker still works afterwards: a normal
//! event goes out with the ids it answers. A failure found this way becomes
//! a sentence-named regression test at the end of this file.

mod support;

use proptest::prelude::*;
use sessionmark::config::Config;
use sessionmark::ids;
use sessionmark::input::Code;
use sessionmark::rand::Rng;
use sessionmark::store::Key;
use sessionmark::time::Millis;
use support::{Browser, PageShell, Tab, T0};

const NOW: Millis = Millis(T0.0 + 3_600_000);

fn session_id(seed: u64, at: Millis) -> String {
    ids::mint_session_id(at, &mut Rng::new(seed, 1))
}

fn visitor_id(seed: u64) -> String {
    ids::mint_visitor_id(&mut Rng::new(seed, 2))
}

/// `base` with one edit: a byte replaced, the text cut, something added,
/// or upper-cased.
fn mutated(base: String) -> impl Strategy<Value = String> {
    let len = base.len();
    (0..4u8, 0..=len, any::<char>()).prop_map(move |(edit, at, c)| {
        let mut s = base.clone();
        let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        match edit {
            0 if at < s.len() => {
                let end = (at + 1..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap();
                s.replace_range(at..end, &c.to_string());
            }
            1 => s.truncate(at),
            2 => s.insert(at, c),
            _ => s = s.to_uppercase(),
        }
        s
    })
}

/// Ids near the formats: valid ones, and valid ones slightly wrong.
fn near_id() -> impl Strategy<Value = String> {
    (any::<u64>(), 0..3u8).prop_flat_map(|(seed, kind)| {
        let id = match kind {
            0 => session_id(seed, T0),
            1 => visitor_id(seed),
            _ => ids::uuid_v7(T0, &mut Rng::new(seed, 3)),
        };
        prop_oneof![Just(id.clone()), mutated(id)]
    })
}

/// What a stored value might hold: absent, ids, numbers, text of any kind.
fn stored_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        near_id(),
        any::<u64>().prop_map(|n| n.to_string()),
        (T0.0 - 100_000_000..NOW.0 + 100_000_000).prop_map(|n| n.to_string()),
        "-?[0-9]{0,25}(\\.[0-9]{0,5})?(e[0-9]{1,3})?",
        ".{0,40}",
    ]
}

/// One outbox line: an event as the tracker stores it, mutated, or text.
fn outbox_line() -> impl Strategy<Value = String> {
    let line = (any::<u64>(), ".{0,12}").prop_map(|(seed, name)| {
        let id = ids::uuid_v7(T0, &mut Rng::new(seed, 4));
        format!(
            "{{\"event_id\":\"{id}\",\"name\":{}}}",
            serde_json::json!(name)
        )
    });
    prop_oneof![line.clone(), line.prop_flat_map(mutated), ".{0,60}",]
}

fn outbox_text() -> impl Strategy<Value = String> {
    prop::collection::vec(outbox_line(), 0..6).prop_map(|lines| lines.join("\n"))
}

/// Every value after `"field":"` in a request body.
fn field_values<'a>(body: &'a str, field: &str) -> Vec<&'a str> {
    let key = format!("\"{field}\":\"");
    body.match_indices(&key)
        .filter_map(|(i, _)| body[i + key.len()..].split('"').next())
        .collect()
}

/// The ids of the outbox lines the page found at its start: those events
/// are resent as they were stored.
fn outboxed_ids(outbox: &str) -> Vec<String> {
    sessionmark::outbox::parse(outbox)
        .into_iter()
        .map(|q| q.id)
        .collect()
}

/// Everything `p` stored and wrote as a cookie holds ids in their exact
/// formats, and numbers where numbers belong.
fn check_stored(p: &PageShell) -> Result<(), TestCaseError> {
    for (key, value) in &p.written {
        let ok = match key {
            Key::Session => ids::is_session_id(value),
            Key::Visitor => ids::is_visitor_id(value),
            Key::SessionTimestamp | Key::SessionStart | Key::PageCount => {
                value.parse::<u64>().is_ok()
            }
            Key::User => (1..=256).contains(&value.len()),
            Key::Outbox => !sessionmark::outbox::parse(value).is_empty(),
            Key::Tab => !value.is_empty(),
        };
        prop_assert!(ok, "{} = {value:?}", key.name());
    }
    for (cookie, valid) in [
        ("ss_sid", ids::is_session_id as fn(&str) -> bool),
        ("ss_vid", ids::is_visitor_id),
    ] {
        if let Some(v) = p.cookie(cookie) {
            prop_assert!(v.is_empty() || valid(&v), "{cookie}={v:?}");
        }
    }
    Ok(())
}

/// The requests made so far: every event carries an `event_id` in its
/// format, and every event the tracker made carries session and visitor
/// ids in theirs. Events resent from the stored outbox (known by the
/// `resent` event ids) go out as they were stored. Bodies are JSON when
/// the properties the shim sent were (`json`). Returns the bodies.
fn check_sent(
    p: &mut PageShell,
    now: Millis,
    resent: &[String],
    json: bool,
) -> Result<String, TestCaseError> {
    let mut all = String::new();
    for r in p.take_requests(now) {
        let event_ids = field_values(&r.body, "event_id");
        for id in &event_ids {
            prop_assert!(ids::is_uuid_text(id), "event_id {id:?}");
        }
        if event_ids.iter().any(|id| resent.iter().any(|r| r == id)) {
            continue;
        }
        if json {
            let v: Result<serde_json::Value, _> = serde_json::from_str(&r.body);
            prop_assert!(v.is_ok_and(|v| v.is_object()), "{}", r.body);
        }
        for id in field_values(&r.body, "session_id") {
            prop_assert!(ids::is_session_id(id), "session_id {id:?}");
        }
        for id in field_values(&r.body, "anonymous_id") {
            prop_assert!(ids::is_visitor_id(id), "anonymous_id {id:?}");
        }
        all.push_str(&r.body);
    }
    Ok(all)
}

/// The tracker still works: a normal event goes out with the ids the API
/// answers, and what is stored is well formed (the bodies JSON when the
/// shim's properties so far were: `json`).
fn still_works(p: &mut PageShell, now: Millis, json: bool) -> Result<(), TestCaseError> {
    if p.stopped || !p.tracker.is_running() {
        return Ok(());
    }
    p.take_requests(now);
    let sid = p.sid(now);
    let vid = p.tracker.visitor_id().to_owned();
    prop_assert!(ids::is_session_id(&sid), "{sid:?}");
    prop_assert!(ids::is_visitor_id(&vid), "{vid:?}");
    p.input(
        now,
        Code::Track,
        &["/p", "", "", "", "P", "", "", "{}", "string", "probe"],
    );
    p.flush(now);
    let sent = check_sent(p, now, &[], json)?;
    prop_assert!(sent.contains("\"name\":\"probe\""), "{sent}");
    prop_assert!(sent.contains(&sid) && sent.contains(&vid), "{sent}");
    check_stored(p)
}

/// A browser whose pages start visible, focused and shown (a page view at
/// the start).
fn shown_browser() -> Browser {
    let mut b = Browser::default();
    b.shown = (true, true, false);
    b
}

/// Fills `tab` and `b`'s localStorage with the given values (an empty one
/// is left unset).
fn store(b: &Browser, tab: &Tab, values: &[String; 8]) {
    for (key, value) in Key::ALL.into_iter().zip(values) {
        if value.is_empty() {
            continue;
        }
        match key.area() {
            sessionmark::store::Area::Local => b.local.set(key.name(), value),
            sessionmark::store::Area::Session => tab.session.set(key.name(), value),
        }
    }
}

fn stored_values() -> impl Strategy<Value = [String; 8]> {
    (
        (
            stored_value(),
            stored_value(),
            stored_value(),
            stored_value(),
        ),
        (
            stored_value(),
            stored_value(),
            stored_value(),
            outbox_text(),
        ),
    )
        .prop_map(|((a, b, c, d), (e, f, g, h))| [a, b, c, d, e, f, g, h])
}

proptest! {
    #[test]
    fn fuzz_stored_values_at_the_start_are_taken_only_when_well_formed(values in stored_values()) {
        let mut b = shown_browser();
        let tab = Tab::new();
        store(&b, &tab, &values);
        let mut p = b.open(&tab, NOW, &Config::default(), "");
        let resent = outboxed_ids(&values[7]);
        check_stored(&p)?;
        check_sent(&mut p, NOW, &resent, true)?;
        still_works(&mut p, NOW.plus(Millis(1_000)), true)?;
    }

    #[test]
    fn fuzz_stored_values_read_at_a_restore_are_taken_only_when_well_formed(
        values in stored_values(),
        answer in prop::collection::vec(stored_value(), 0..8),
    ) {
        let mut b = shown_browser();
        let tab = Tab::new();
        let mut p = b.open(&tab, NOW, &Config::default(), "");
        p.leave(NOW);
        // Another page of the tab stored these meanwhile.
        store(&b, &tab, &values);
        p.at(NOW.plus(Millis(60_000)), |t| {
            t.handle_page_restore(NOW.plus(Millis(60_000)), true, true, None)
        });
        check_stored(&p)?;
        // And an answer to a read that no one asked for.
        p.input(NOW, Code::Stored, &answer.iter().map(String::as_str).collect::<Vec<_>>());
        check_stored(&p)?;
        still_works(&mut p, NOW.plus(Millis(61_000)), true)?;
    }

    #[test]
    fn fuzz_url_ids_are_adopted_only_in_their_exact_formats(
        params in prop::collection::vec(
            (
                prop::sample::select(vec!["sessionId", "anonId", "sessionid", "x", ""]),
                prop_oneof![
                    near_id(),
                    Just(session_id(7, NOW)),
                    near_id().prop_map(|id| format!("sess_{id}")),
                    near_id().prop_map(|id| format!("anon_{id}")),
                    ".{0,20}",
                ],
                prop::sample::select(vec!["&", "&&", "?", "#", "=", "%26"]),
            ),
            0..4,
        ),
        leading in prop::sample::select(vec!["", "?", "??"]),
    ) {
        let query: String = std::iter::once(leading.to_owned())
            .chain(params.iter().map(|(k, v, sep)| format!("{k}={v}{sep}")))
            .collect();
        let carried = |id: &str| query.contains(id);
        let mut b = shown_browser();
        let mut p = b.open(&Tab::new(), NOW, &Config::default(), &query);
        check_stored(&p)?;
        let sid = p.sid(NOW);
        check_sent(&mut p, NOW, &[], true)?;
        // The API's reads with the same text.
        let read_sid = p.input(NOW, Code::SessionIdRead, &[&query]);
        let read_vid = p.input(NOW, Code::VisitorIdRead, &[&query]);
        for answer in [read_sid, read_vid] {
            let Some(id) = answer.as_str() else {
                return Err(TestCaseError::fail("no id answered"));
            };
            prop_assert!(ids::is_session_id(id) || ids::is_visitor_id(id), "{id:?}");
        }
        let now_sid = p.sid(NOW);
        prop_assert!(now_sid == sid || carried(&now_sid), "{now_sid} from {query:?}");
        check_stored(&p)?;
        still_works(&mut p, NOW.plus(Millis(1_000)), true)?;
    }

    #[test]
    fn fuzz_options_text_keeps_every_option_in_range(
        lines in prop::collection::vec(
            (
                prop_oneof![
                    prop::sample::select(sessionmark::config::OPTION_NAMES.to_vec()).prop_map(String::from),
                    ".{0,12}",
                ],
                prop::option::of(prop_oneof![
                    stored_value(),
                    Just("true".into()),
                    Just("false".into()),
                ]),
            ),
            0..8,
        ),
    ) {
        let options: Vec<String> = lines
            .iter()
            .map(|(name, value)| match value {
                Some(v) => format!("{name}={v}"),
                None => name.clone(),
            })
            .collect();
        let options = options.join("\n");
        let mut b = shown_browser();
        let mut fresh = b.open_with(&Tab::new(), NOW, &options, "");
        let cfg = fresh.tracker.config().clone();
        prop_assert!((1..=50).contains(&cfg.batch_size));
        prop_assert!((100..=30_000).contains(&cfg.batch_timeout.0));
        prop_assert!((60_000..=86_400_000).contains(&cfg.session_timeout.0));
        prop_assert!((60_000..=86_400_000).contains(&cfg.max_session_length.0));
        prop_assert!(cfg.client_id.len() <= 128);
        prop_assert!(
            fresh.warnings.len() <= lines.len() + 1,
            "at most one warning per line: {:?}", fresh.warnings
        );
        for w in &fresh.warnings {
            prop_assert!(w.starts_with("option "), "{w:?}");
        }
        if cfg.require_consent {
            fresh.input(NOW, Code::Consent, &["boolean", "true"]);
        }
        check_stored(&fresh)?;
        still_works(&mut fresh, NOW.plus(Millis(1_000)), true)?;
    }

    #[test]
    fn fuzz_collector_answers_never_break_the_tracker(
        status in prop_oneof![Just(200u16), Just(0), Just(500), Just(429), Just(400), any::<u16>()],
        sealed in prop::collection::vec(prop_oneof![near_id(), Just("OWN".to_owned()), ".{0,10}"], 0..3),
        body in prop_oneof![
            Just(String::new()),
            ".{0,80}",
            Just("{\"accepted\":1,\"rejected\":[{\"index\":0,\"reason\":\"x\"}],\"sealed\":[]}".to_owned()),
        ],
        status_text in prop_oneof![Just(None), Just(Some("-1".to_owned())), Just(Some("2000000".to_owned())), ".{0,6}".prop_map(Some)],
    ) {
        let mut b = shown_browser();
        let mut p = b.open(&Tab::new(), NOW, &Config::default(), "");
        let own = p.sid(NOW);
        p.flush(NOW);
        let requests = p.take_requests(NOW);
        let sealed: Vec<String> = sealed
            .into_iter()
            .map(|s| if s == "OWN" { own.clone() } else { s })
            .collect();
        let answer = if body.is_empty() {
            format!("{{\"accepted\":1,\"sealed\":{}}}", serde_json::json!(sealed))
        } else {
            body
        };
        for r in &requests {
            let status = status_text.clone().unwrap_or_else(|| status.to_string());
            p.input(NOW, Code::Sent, &[&r.id.to_string(), &status, &answer]);
        }
        // The same answers again, and one to a request never made.
        for r in &requests {
            p.input(NOW, Code::Sent, &[&r.id.to_string(), "200", &answer]);
        }
        p.input(NOW, Code::Sent, &["999999", "200", &answer]);
        check_stored(&p)?;
        check_sent(&mut p, NOW, &[], true)?;
        still_works(&mut p, NOW.plus(Millis(120_000)), true)?;
    }

    #[test]
    fn fuzz_the_text_of_every_input_never_breaks_the_tracker(
        inputs in prop::collection::vec(
            (
                0u32..30,
                prop::collection::vec(
                    prop_oneof![stored_value(), Just("true".to_owned()), Just("string".to_owned()), Just("boolean".to_owned())],
                    0..12,
                ),
                0u64..100_000,
            ),
            1..12,
        ),
    ) {
        let mut b = shown_browser();
        let mut p = b.open(&Tab::new(), NOW, &Config::default(), "");
        let mut now = NOW;
        for (code, fields, step) in &inputs {
            now = now.plus(Millis(*step));
            let text = fields.join("\n");
            p.input_text(now, *code, &text);
            check_stored(&p)?;
            // Properties are the shim's JSON, taken as they come.
            check_sent(&mut p, now, &[], false)?;
        }
        still_works(&mut p, now.plus(Millis(1_000)), false)?;
    }
}
