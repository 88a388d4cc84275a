//! Browser tests of the shell glue (wasm-bindgen-test in headless Chromium):
//! the one export, as the JS shim calls it, compiled to wasm32 and run in
//! a real browser: the start's read and its answer, the listen, the API
//! answers, and the tracker in memory when storage gives nothing back (the
//! shim answers an unreadable key with an empty value). The rules
//! themselves are proven natively.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target
//! wasm32-unknown-unknown -p sessionmark --no-default-features --test web`
//! (the test harness brings std's allocator and panic handler, so the
//! bundle runtime is switched off).
#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use sessionmark::ids;
use sessionmark::web::input;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const T0: f64 = 1_709_318_400_000.0;

/// Input `code` as the shim sends it: fields joined by line breaks.
fn call(code: u32, now: f64, fields: &[&str]) -> Vec<Value> {
    let text = input(code, now, &fields.join("\n"));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn named<'a>(out: &'a [Value], name: &str) -> Vec<&'a Value> {
    out.iter().skip(1).filter(|c| c[0] == name).collect()
}

#[wasm_bindgen_test]
fn the_export_starts_the_tracker_in_memory_when_storage_gives_nothing() {
    // Before init: null answers, nothing to do.
    assert_eq!(call(15, T0, &[""]), [Value::Null]);
    let out = call(
        0,
        T0,
        &[
            "",
            "example.com",
            "https:",
            "",
            "1",
            "2",
            "3",
            "4",
            "clientId=web-test\nbatchSize=5",
        ],
    );
    let read = named(&out, "read");
    assert_eq!(read.len(), 1, "{out:?}");
    assert_eq!(
        read[0].as_array().unwrap().len(),
        17,
        "8 keys: area and name each"
    );
    // The shim found nothing it could read.
    let out = call(2, T0, &[""; 8]);
    assert_eq!(named(&out, "listen").len(), 1, "{out:?}");
    let cookie = named(&out, "cookie")[0][1].as_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("ss_vid=anon_") && cookie.ends_with("; Secure"),
        "{cookie}"
    );
    let sid = call(15, T0, &[""])[0].as_str().unwrap().to_owned();
    assert!(ids::is_session_id(&sid), "{sid}");
    assert_eq!(
        call(15, T0 + 1000.0, &[""])[0],
        sid.as_str(),
        "stable in memory"
    );
    let vid = call(16, T0, &[""])[0].as_str().unwrap().to_owned();
    assert!(ids::is_visitor_id(&vid), "{vid}");
    // clear(): new ids; the page count starts again.
    call(14, T0 + 2000.0, &["0", "800", "800", "false"]);
    assert_ne!(call(15, T0 + 2000.0, &[""])[0], sid.as_str());
    assert_ne!(call(16, T0 + 2000.0, &[""])[0], vid.as_str());
    assert_eq!(call(17, T0 + 2000.0, &[])[0][0], 0);
    // A track() then flush() gives one keepalive request to the endpoint.
    call(
        11,
        T0 + 3000.0,
        &["/p", "", "", "", "t", "", "", "{}", "signup"],
    );
    let out = call(13, T0 + 3000.0, &[]);
    let send = named(&out, "send");
    assert_eq!(send.len(), 1, "{out:?}");
    assert_eq!(send[0][2], "keepalive");
    assert_eq!(send[0][3], "/v1/batch");
    let body: Value = serde_json::from_str(send[0][4].as_str().unwrap()).unwrap();
    assert_eq!(body["events"][0]["name"], "signup");
    assert_eq!(body["events"][0]["client_id"], "web-test");
}
