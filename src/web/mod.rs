//! The browser shell: reads the clock and storage, carries out the
//! tracker's writes. The exported functions are the JS API (the shim wraps
//! them; names are the JS ones) and the `on*` event entry points.
//!
//! DOM listeners live in the JS shim, which calls the `on*` exports:
//! measured, wasm-bindgen closures cost 2.4 KB of wasm and 2.3 KB of glue
//! JS for what the shim does in a few lines.

#[cfg(feature = "bundle")]
mod runtime;
mod storage;

pub use storage::Store;

use crate::config::{Config, Value};
use crate::rand::Rng;
use crate::time::Millis;
use crate::tracker::{Carried, Tracker};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

struct Shell {
    tracker: Tracker,
    store: Store,
}

/// The one tracker of the page. wasm32 without threads: a plain static.
struct Global(RefCell<Option<Shell>>);
// SAFETY: this wasm has one thread (no atomics), so nothing is shared.
unsafe impl Sync for Global {}
static SHELL: Global = Global(RefCell::new(None));

fn now() -> Millis {
    Millis::from_f64(js_sys::Date::now())
}

pub fn warn(msg: &str) {
    web_sys::console::warn_1(&JsValue::from_str(msg));
}

/// Runs `f` on the started tracker, then stores what it changed. `None`
/// before `init` (or if re-entered from a listener mid-call).
fn with<R>(f: impl FnOnce(&mut Tracker, Millis) -> R) -> Option<R> {
    let mut guard = SHELL.0.try_borrow_mut().ok()?;
    let shell = guard.as_mut()?;
    let out = f(&mut shell.tracker, now());
    shell.store.apply(shell.tracker.take_writes());
    Some(out)
}

/// Seeds the id generator from `crypto.getRandomValues`, falling back to
/// `Math.random` where crypto is missing.
fn seed() -> Rng {
    let mut b = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut b).is_ok());
    if !filled {
        for x in &mut b {
            let r = js_sys::Math::random() * 256.0;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            {
                *x = r as u8;
            }
        }
    }
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(b.get(..8).unwrap_or(&[0; 8]));
    hi.copy_from_slice(b.get(8..).unwrap_or(&[0; 8]));
    Rng::new(u64::from_le_bytes(lo) ^ now().0, u64::from_le_bytes(hi))
}

fn option_value(v: &JsValue) -> Option<Value> {
    if let Some(b) = v.as_bool() {
        Some(Value::Bool(b))
    } else if let Some(f) = v.as_f64() {
        Some(Value::Num(f))
    } else if let Some(s) = v.as_string() {
        Some(Value::Str(s))
    } else if js_sys::Array::is_array(v) {
        let a: &js_sys::Array = v.unchecked_ref();
        Some(Value::List(
            a.iter().filter_map(|x| x.as_string()).collect(),
        ))
    } else {
        None
    }
}

fn config_from(options: &JsValue) -> Config {
    let mut cfg = Config::default();
    if !options.is_object() {
        return cfg;
    }
    for entry in js_sys::Object::entries(options.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let Some(name) = pair.get(0).as_string() else {
            continue;
        };
        let v = pair.get(1);
        if v.is_undefined() {
            continue;
        }
        let warning = match option_value(&v) {
            Some(v) => cfg.set(&name, &v),
            None => cfg.set(&name, &Value::List(Vec::new())),
        };
        if let Some(w) = warning {
            warn(&w);
        }
    }
    cfg
}

/// Starts the tracker once per page. `search` is `location.search`, read
/// for cross-domain `sessionId` / `anonId` parameters.
#[wasm_bindgen]
pub fn init(options: JsValue, search: Option<String>) {
    let started = SHELL.0.try_borrow().map(|s| s.is_some()).unwrap_or(true);
    if started {
        warn("sessionmark: init() was already called; ignored");
        return;
    }
    let cfg = config_from(&options);
    let store = Store::open();
    let carried = Carried::from_query(search.as_deref().unwrap_or(""));
    let t0 = now();
    let mut tracker = Tracker::start(cfg, &store.snapshot(), &carried, t0, seed());
    tracker.page_view(t0);
    store.apply(tracker.take_writes());
    let shell = Shell { tracker, store };
    if let Ok(mut s) = SHELL.0.try_borrow_mut() {
        *s = Some(shell);
    }
}

/// The session id to forward to the backend. `params` (a query string)
/// may carry a cross-domain `sessionId`/`anonId`, adopted when valid.
#[wasm_bindgen(js_name = getSessionId)]
pub fn get_session_id(params: Option<String>) -> Option<String> {
    with(|t, now| {
        if let Some(q) = params.as_deref() {
            t.adopt(&Carried::from_query(q), now);
        }
        t.session_id(now).to_owned()
    })
}

#[wasm_bindgen(js_name = getAnonymousId)]
pub fn get_anonymous_id(params: Option<String>) -> Option<String> {
    with(|t, now| {
        if let Some(q) = params.as_deref() {
            t.adopt(&Carried::from_query(q), now);
        }
        t.visitor_id().to_owned()
    })
}

/// New visitor and session ids, all stored state removed (logout).
#[wasm_bindgen]
pub fn clear() {
    with(|t, now| t.clear(now));
}

/// Pages viewed in this session; -1 before `init`.
#[wasm_bindgen(js_name = pageCount)]
pub fn page_count() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    with(|t, now| {
        t.check(now);
        t.page_count() as f64
    })
    .unwrap_or(-1.0)
}

/// Session start, ms since epoch; -1 before `init`.
#[wasm_bindgen(js_name = sessionStart)]
pub fn session_start() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    with(|t, now| {
        t.check(now);
        t.session_start().0 as f64
    })
    .unwrap_or(-1.0)
}

/// `pagehide` (reload, navigation, close, or entering the back/forward cache).
#[wasm_bindgen(js_name = onPageHide)]
pub fn on_page_hide() {
    with(|t, _| t.page_hide());
}

/// `pageshow` with `persisted`: restored from the back/forward cache.
#[wasm_bindgen(js_name = onRestore)]
pub fn on_restore() {
    with(|t, now| t.page_restore(now));
}

/// User interaction (pointer, key, scroll, touch).
#[wasm_bindgen(js_name = onActivity)]
pub fn on_activity() {
    with(|t, now| t.activity(now));
}
