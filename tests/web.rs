//! Browser tests of the shell glue (wasm-bindgen-test in headless Chromium):
//! storage reads and writes, and the in-memory fallback when storage is
//! disabled or throws. The rules themselves are proven natively.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target
//! wasm32-unknown-unknown -p sessionmark --no-default-features --test web`
//! (the test harness brings std's allocator and panic handler, so the
//! bundle runtime is switched off).
#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Object, Reflect};
use sessionmark::ids;
use sessionmark::store::{Area, Write, SESSION, VISITOR};
use sessionmark::web::{self, Store};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn session_storage() -> web_sys::Storage {
    web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap()
}

fn write(area: Area, key: &'static str, value: Option<&str>) -> Write {
    Write {
        area,
        key,
        value: value.map(str::to_owned),
    }
}

#[wasm_bindgen_test]
fn writes_land_in_the_real_storage_areas_and_read_back() {
    let store = Store::open();
    store.apply(vec![
        write(Area::Session, "did_test_a", Some("1")),
        write(Area::Local, "did_test_b", Some("2")),
    ]);
    assert_eq!(
        session_storage().get_item("did_test_a").unwrap().as_deref(),
        Some("1")
    );
    let local = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    assert_eq!(local.get_item("did_test_b").unwrap().as_deref(), Some("2"));
    assert_eq!(store.get(Area::Local, "did_test_b").as_deref(), Some("2"));
    store.apply(vec![write(Area::Session, "did_test_a", None)]);
    assert_eq!(session_storage().get_item("did_test_a").unwrap(), None);
    assert_eq!(store.get(Area::Session, "did_test_a"), None);
}

#[wasm_bindgen_test]
fn a_snapshot_reads_what_a_previous_page_stored() {
    let s = session_storage();
    s.set_item(SESSION, "sess_018e0e5c-5a00-7abc-8def-0123456789ab")
        .unwrap();
    let snap = Store::open().snapshot();
    assert_eq!(
        snap.session.as_deref(),
        Some("sess_018e0e5c-5a00-7abc-8def-0123456789ab")
    );
    s.remove_item(SESSION).unwrap();
}

/// Replaces `Storage.prototype[name]` with a function that throws, runs
/// `f`, then puts the original back.
fn with_throwing_storage(names: &[&str], f: impl FnOnce()) {
    let ctor = Reflect::get(&js_sys::global(), &"Storage".into()).unwrap();
    let proto: Object = Reflect::get(&ctor, &"prototype".into())
        .unwrap()
        .unchecked_into();
    let thrower = Function::new_no_args("throw new DOMException('denied', 'SecurityError')");
    let saved: Vec<JsValue> = names
        .iter()
        .map(|n| Reflect::get(&proto, &(*n).into()).unwrap())
        .collect();
    for n in names {
        Reflect::set(&proto, &(*n).into(), &thrower).unwrap();
    }
    f();
    for (n, v) in names.iter().zip(saved) {
        Reflect::set(&proto, &(*n).into(), &v).unwrap();
    }
}

#[wasm_bindgen_test]
fn failing_storage_calls_are_swallowed() {
    with_throwing_storage(&["getItem", "setItem", "removeItem"], || {
        let store = Store::open();
        store.apply(vec![
            write(Area::Local, VISITOR, Some("x")),
            write(Area::Session, SESSION, None),
        ]);
        assert_eq!(store.get(Area::Local, VISITOR), None);
    });
}

#[wasm_bindgen_test]
fn the_tracker_runs_in_memory_when_storage_throws() {
    with_throwing_storage(&["getItem", "setItem", "removeItem"], || {
        web::init("clientId=web-test\nbatchSize=5", None);
        let a = web::get_session_id(None).expect("a session id without storage");
        assert!(ids::is_session_id(&a), "{a}");
        assert_eq!(
            web::get_session_id(None).as_deref(),
            Some(a.as_str()),
            "stable in memory"
        );
        let v = web::get_anonymous_id(None).unwrap();
        assert!(ids::is_visitor_id(&v));
        web::clear();
        assert_ne!(web::get_session_id(None).unwrap(), a);
        assert_ne!(web::get_anonymous_id(None).unwrap(), v);
        assert_eq!(web::page_count(), 0.0);
    });
}
