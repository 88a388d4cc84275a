#![cfg(not(target_arch = "wasm32"))]
//! The wasm boundary as the shim uses it: numbered inputs with their
//! fields as one text (`sessionmark::input`), answered with one JSON text
//! of the commands and the answer. The numbers the shim sends must be the
//! core's, and every input must decode its fields as the shim writes them.

#[path = "support/sent.rs"]
mod sent;

use sent::sent_events;
use serde_json::{json, Value};
use sessionmark::ids;
use sessionmark::input::{handle, Code};
use sessionmark::time::Millis;
use sessionmark::tracker::Tracker;

const T0: u64 = 1_709_318_400_000;

/// The shim's input numbers, from `js/inputs.js`.
fn shim_codes() -> Vec<(String, u32)> {
    include_str!("../js/inputs.js")
        .lines()
        .filter_map(|l| l.strip_prefix("export const "))
        .filter_map(|l| {
            let (name, n) = l.split_once(" = ")?;
            Some((name.to_owned(), n.trim_end_matches(';').parse().ok()?))
        })
        .collect()
}

#[test]
fn the_shims_input_numbers_are_the_cores() {
    let codes = shim_codes();
    assert_eq!(codes.len(), 23);
    for (name, n) in codes {
        let code = Code::from_number(n).unwrap_or_else(|| panic!("{name} = {n} unknown"));
        assert_eq!(format!("{code:?}"), name, "js/inputs.js {name} = {n}");
    }
    assert_eq!(Code::from_number(23), None);
}

/// A fake shim: inputs as text, storage in two maps, reads answered.
struct Shim {
    tracker: Tracker,
    now: u64,
    local: std::collections::HashMap<String, String>,
    session: std::collections::HashMap<String, String>,
    commands: Vec<Value>,
    inputs: u64,
}

impl Shim {
    fn new() -> Shim {
        Shim {
            tracker: Tracker::new(),
            now: T0,
            local: Default::default(),
            session: Default::default(),
            commands: Vec::new(),
            inputs: 0,
        }
    }

    /// Input `code` with `fields` after the random words (a count of the
    /// inputs, then zeros); carries out the commands, returns the answer.
    fn input(&mut self, code: Code, fields: &[&str]) -> Value {
        let n = (0..32)
            .find(|&n| Code::from_number(n) == Some(code))
            .unwrap();
        self.inputs += 1;
        let words = [self.inputs.to_string(), "0".into(), "0".into(), "0".into()];
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let text = [&words[..], fields].concat().join("\n");
        let text = handle(&mut self.tracker, n, Millis(self.now), &text);
        // As the shim reads it: `[` before it, the answer last.
        let mut out: Vec<Value> = serde_json::from_str(&format!("[{text}")).unwrap();
        let answer = out.pop().unwrap();
        for c in &out {
            self.commands.push(c.clone());
            let name = c[0].as_str().unwrap();
            match name {
                "set" => {
                    let (k, v) = (c[2].as_str().unwrap(), c[3].as_str().unwrap());
                    self.area(&c[1]).insert(k.into(), v.into());
                }
                "remove" => {
                    self.area(&c[1]).remove(c[2].as_str().unwrap());
                }
                "read" => {
                    let keys = c.as_array().unwrap()[1..].chunks(2);
                    let values: Vec<String> = keys
                        .map(|k| {
                            let map = if k[0] == "local" {
                                &self.local
                            } else {
                                &self.session
                            };
                            map.get(k[1].as_str().unwrap()).cloned().unwrap_or_default()
                        })
                        .collect();
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    self.input(Code::Stored, &values);
                }
                "listen" => {
                    self.input(
                        Code::PageShown,
                        &[
                            "true",
                            "true",
                            "false",
                            "/",
                            "?q=1",
                            "",
                            "https://site.example/?q=1",
                            "Home",
                            "",
                            "0",
                            "800",
                            "1600",
                            "false",
                        ],
                    );
                }
                _ => {}
            }
        }
        answer
    }

    fn area(&mut self, name: &Value) -> &mut std::collections::HashMap<String, String> {
        if name == "local" {
            &mut self.local
        } else {
            &mut self.session
        }
    }

    fn named(&self, name: &str) -> Vec<&Value> {
        self.commands.iter().filter(|c| c[0] == name).collect()
    }
}

const SCROLL: [&str; 4] = ["0", "800", "1600", "false"];

#[test]
fn every_input_decodes_the_fields_the_shim_writes() {
    let mut s = Shim::new();
    let init = |s: &mut Shim, options: &str| {
        s.input(
            Code::Init,
            &[
                "?x=1",
                "site.example",
                "https:",
                "https://cdn.example/s.js",
                options,
            ],
        )
    };
    // Consent first: nothing is read or written.
    init(&mut s, "clientId=site\nrequireConsent=true\nbatchSize=99");
    assert_eq!(s.named("read").len(), 0);
    assert_eq!(
        s.named("warn")[0][1],
        "option batchSize is out of range 1..50; using 50"
    );
    assert_eq!(s.input(Code::SessionIdRead, &[""]), Value::Null);
    s.input(
        Code::Track,
        &[
            "/held",
            "",
            "",
            "",
            "T",
            "",
            "",
            "{\"a\":1}",
            "string",
            "held",
        ],
    );
    assert!(s.local.is_empty() && s.session.is_empty());

    s.now += 1000;
    s.input(Code::Consent, &["boolean", "true"]);
    assert_eq!(s.named("read").len(), 1);
    assert_eq!(s.named("listen").len(), 1);
    let sid = s.input(Code::SessionIdRead, &[""]);
    assert!(ids::is_session_id(sid.as_str().unwrap()));
    assert_eq!(s.session["did_session"], sid);
    assert_eq!(s.input(Code::TrackerRead, &[]), json!([1, T0 + 1000]));

    // Presence, engagement, a scroll, an SPA view.
    s.now += 4000;
    assert_eq!(s.input(Code::EngagedTimeRead, &[]), json!(4000));
    s.input(Code::Focus, &["false"]);
    s.input(Code::Visibility, &["true"]);
    s.input(Code::Interaction, &[]);
    let mut scroll = SCROLL;
    scroll[0] = "800";
    s.input(Code::Scroll, &[&scroll[..], &["true"]].concat());
    s.input(
        Code::PageView,
        &[
            &["/next", "", "", "https://site.example/next", "Next", ""],
            &SCROLL[..],
            &["false", "values", ""],
        ]
        .concat(),
    );
    assert!(s.named("warn").iter().any(|w| w[1]
        .as_str()
        .unwrap()
        .contains("property values JSON cannot hold were dropped")));
    s.input(Code::Globals, &["", "{\"plan\":\"pro\"}"]);
    // identify(): the value counts only when `typeof` says string.
    s.input(Code::Identify, &["object", "u"]);
    assert!(!s.local.contains_key("did_user"));
    s.input(Code::Identify, &["string", "u\n1"]);
    assert_eq!(s.local["did_user"], "u\n1");
    s.input(Code::Flush, &[]);
    let sends = s.named("send");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0][2], "keepalive");
    assert_eq!(
        sends[0][3], "https://cdn.example/v1/batch",
        "the script's origin"
    );
    let events = sent_events(sends[0][4].as_str().unwrap());
    let names: Vec<&str> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["screen_view", "held", "page_exit", "screen_view"]);
    assert_eq!(events[1]["path"], "/held");
    assert_eq!(
        events[1]["timestamp"],
        T0 + 1000,
        "the session began on consent: never before its screen_view"
    );
    assert_eq!(events[2]["scroll_depth"], 100);
    assert_eq!(events[2]["interaction_count"], 1);
    assert_eq!(
        events[3]["referrer"], "https://site.example/?q=1",
        "the previous URL"
    );

    // The answer to it, a timer, the page hidden and restored.
    let id = sends[0][1].to_string();
    s.input(
        Code::Sent,
        &[
            &id,
            "200",
            "{\"accepted\":4,\"rejected\":[{\"index\":0,\"reason\":\"x\"}],\"sealed\":[]}",
        ],
    );
    assert!(s
        .named("warn")
        .iter()
        .any(|w| w[1].as_str().unwrap().contains("rejected events")));
    s.input(
        Code::Track,
        &["/next", "", "", "", "Next", "", "", "{}", "string", "later"],
    );
    assert!(s.named("timer").iter().any(|t| t[1] == 5000));
    s.now += 5000;
    s.input(Code::Timer, &[]);
    assert_eq!(s.named("send").len(), 2);
    s.input(Code::PageHide, &SCROLL);
    let beacon = s.named("send").last().unwrap().to_owned().clone();
    assert_eq!(beacon[2], "beacon");
    assert!(s.local.contains_key("did_outbox"));
    assert!(!s.session.contains_key("did_tab"), "its own mark, removed");
    let beacon_id = beacon[1].to_string();
    s.input(Code::Beacon, &[&beacon_id, "true"]);
    s.input(
        Code::PageRestore,
        &[&["true", "true", "false"], &SCROLL[..]].concat(),
    );
    assert!(s.session.contains_key("did_tab"), "alive again");
    s.input(
        Code::VisitorIdRead,
        &["anonId=anon_7c9e6679-7425-40de-944b-e07fc1f90ae7"],
    );
    assert_eq!(s.local["did"], "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7");
    s.input(Code::Clear, &SCROLL);
    assert_ne!(s.local["did"], "anon_7c9e6679-7425-40de-944b-e07fc1f90ae7");

    // Consent withdrawn: everything stored is removed, the shell stops.
    s.input(Code::Consent, &["boolean", "false"]);
    assert!(s.local.is_empty() && s.session.is_empty());
    assert_eq!(s.named("stop").len(), 1);
    assert_eq!(s.input(Code::SessionIdRead, &[""]), Value::Null);
    // An unknown input number does nothing.
    let text = handle(&mut s.tracker, 99, Millis(s.now), "");
    assert_eq!(text, "null]");
}

#[test]
fn a_second_init_warns_and_does_nothing() {
    let mut s = Shim::new();
    let fields = ["", "h", "http:", "", "clientId=a"];
    s.input(Code::Init, &fields);
    let reads = s.named("read").len();
    s.input(Code::Init, &fields);
    assert_eq!(s.named("read").len(), reads);
    assert_eq!(
        s.named("warn").last().unwrap()[1],
        "init() called twice; ignored"
    );
    // Before any init, track() warns.
    let mut fresh = Shim::new();
    fresh.input(
        Code::Track,
        &["/", "", "", "", "", "", "", "{}", "string", "x"],
    );
    assert_eq!(fresh.named("warn")[0][1], "track() before init(); ignored");
}
