#![cfg(not(target_arch = "wasm32"))]
//! What the API refuses (README "API", "Consent"), through the inputs'
//! text exactly as the shim writes it: a value of the wrong type earns one
//! warning and changes nothing, and the tracker keeps working after it.

mod support;

use sessionmark::config::Config;
use sessionmark::input::Code;
use sessionmark::time::Millis;
use support::{Browser, PageShell, Tab, T0};

fn at(ms: u64) -> Millis {
    T0.plus(Millis(ms))
}

/// The shim's fields of `track(name)` on `/p` with no properties: the name
/// as `typeof` and, for a string, its text.
fn track(p: &mut PageShell, now: Millis, kind: &str, name: &str) {
    p.input(
        now,
        Code::Track,
        &["/p", "", "", "", "P", "", "", "{}", kind, name],
    );
}

/// The names of the events of every request made so far.
fn sent_names(p: &mut PageShell, now: Millis) -> Vec<String> {
    p.flushed(now)
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

fn waiting_for_consent(b: &mut Browser, tab: &Tab) -> PageShell {
    let cfg = Config {
        require_consent: true,
        ..Config::default()
    };
    b.open(tab, T0, &cfg, "")
}

#[test]
fn set_consent_with_anything_but_true_or_false_warns_once_and_grants_nothing() {
    let mut b = Browser::default();
    let tab = Tab::in_session(T0);
    let mut p = waiting_for_consent(&mut b, &tab);
    // What `typeof` says of 'false', 'no', {}, 1, undefined, null, a
    // Symbol: the shim sends `=== true` beside it, true for none of them.
    let values = [
        "string",
        "string",
        "object",
        "number",
        "undefined",
        "object",
        "symbol",
    ];
    for (i, kind) in values.into_iter().enumerate() {
        p.warnings.clear();
        p.input(at(1), Code::Consent, &[kind, "false"]);
        assert_eq!(
            p.warnings,
            ["setConsent() needs true or false; ignored"],
            "value {i} ({kind})"
        );
        assert!(
            !p.listening && !tab.session.contains("did_tab") && b.local.is_empty(),
            "value {i} ({kind}) started the tracker"
        );
    }
    // Not a refusal either: the calls held meanwhile still run on consent.
    track(&mut p, at(2), "string", "held");
    p.input(at(2), Code::Consent, &["string", "true"]);
    assert!(!p.listening);
    p.input(at(3), Code::Consent, &["boolean", "true"]);
    assert!(p.listening);
    assert_eq!(sent_names(&mut p, at(3)), ["held"]);
}

#[test]
fn set_consent_with_a_non_boolean_after_a_grant_does_not_withdraw_it() {
    let mut b = Browser::default();
    let tab = Tab::in_session(T0);
    let mut p = waiting_for_consent(&mut b, &tab);
    p.input(at(1), Code::Consent, &["boolean", "true"]);
    p.warnings.clear();
    p.input(at(2), Code::Consent, &["string", "false"]);
    assert_eq!(p.warnings.len(), 1);
    assert!(!p.stopped && tab.session.contains("did_session"));
    track(&mut p, at(3), "string", "after");
    assert_eq!(sent_names(&mut p, at(3)), ["after"]);
    p.input(at(4), Code::Consent, &["boolean", "false"]);
    assert!(p.stopped && tab.session.is_empty(), "false still withdraws");
}

#[test]
fn track_with_a_name_that_is_not_a_non_empty_string_warns_once_and_sends_nothing() {
    let mut b = Browser::default();
    let mut p = b.open(&Tab::in_session(T0), T0, &Config::default(), "");
    // track(), track(null), track(Symbol('x')), track(1), track({}),
    // track(''), track('   '): `typeof` and the text the shim sends.
    let names = [
        ("undefined", ""),
        ("object", ""),
        ("symbol", ""),
        ("number", ""),
        ("object", ""),
        ("string", ""),
        ("string", " \t "),
        // A shim that sent the value anyway: only `typeof` counts.
        ("undefined", "undefined"),
        ("symbol", "Symbol(x)"),
    ];
    for (kind, name) in names {
        p.warnings.clear();
        track(&mut p, at(1), kind, name);
        assert_eq!(
            p.warnings,
            ["track() needs an event name; ignored"],
            "{kind} {name:?}"
        );
    }
    track(&mut p, at(2), "string", "after");
    assert_eq!(sent_names(&mut p, at(2)), ["after"]);
}

#[test]
fn a_bad_name_is_refused_at_once_while_consent_is_pending() {
    let mut b = Browser::default();
    let tab = Tab::in_session(T0);
    let mut p = waiting_for_consent(&mut b, &tab);
    track(&mut p, at(1), "object", "");
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    p.input(at(2), Code::Consent, &["boolean", "true"]);
    assert_eq!(p.warnings.len(), 1, "nothing more at consent");
    assert_eq!(sent_names(&mut p, at(2)), Vec::<String>::new());
}
