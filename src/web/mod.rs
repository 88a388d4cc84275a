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

use crate::batch::Queued;
use crate::config::Config;
use crate::cookies::{checked_domain, CookieRule};
use crate::delivery::{Mode, Outcome};
use crate::outbox;
use crate::rand::Rng;
use crate::store::{Area, OUTBOX};
use crate::text::{cut, pieces};
use crate::time::Millis;
use crate::tracker::{Carried, Page, Tracker};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

struct Shell {
    tracker: Tracker,
    store: Store,
    /// Id and mode of the request last handed out by `nextSend`.
    last_send: (u32, Mode),
}

/// The one tracker of the page. wasm32 without threads: a plain static.
struct Global(RefCell<Option<Shell>>);
// SAFETY: this wasm has one thread (no atomics), so nothing is shared.
unsafe impl Sync for Global {}
static SHELL: Global = Global(RefCell::new(None));

#[wasm_bindgen]
extern "C" {
    /// The page's window, read as `globalThis`: one import, where
    /// `web_sys::window()` probes four globals and an `instanceof`
    /// (measured: 0.6 KB brotli off the script tag). Its getters are read
    /// structurally, so on an object without storage they give `None`, as
    /// on a window.
    #[wasm_bindgen(thread_local_v2, js_name = globalThis)]
    static WINDOW: web_sys::Window;
}

pub(crate) fn window() -> web_sys::Window {
    WINDOW.with(Clone::clone)
}

fn now() -> Millis {
    Millis::from_f64(js_sys::Date::now())
}

pub fn warn(msg: &str) {
    web_sys::console::warn_1(&JsValue::from_str(msg));
}

/// Runs `f` on the started tracker, then stores what it changed. `None`
/// before `init` (or if re-entered from a listener mid-call).
fn with<R>(f: impl FnOnce(&mut Tracker, Millis) -> R) -> Option<R> {
    with_shell(|s, now| f(&mut s.tracker, now))
}

fn with_shell<R>(f: impl FnOnce(&mut Shell, Millis) -> R) -> Option<R> {
    let mut guard = SHELL.0.try_borrow_mut().ok()?;
    let shell = guard.as_mut()?;
    let out = f(shell, now());
    shell.store.apply(shell.tracker.take_writes());
    Some(out)
}

/// Adds events to the stored outbox (read, merge, write: another tab may
/// have written it meanwhile).
fn outbox_add(store: &Store, events: &[Queued]) {
    if events.is_empty() {
        return;
    }
    let existing = store.get(Area::Local, OUTBOX).unwrap_or_default();
    let (text, dropped) = outbox::merge(&existing, events);
    store.set(Area::Local, OUTBOX, &text);
    if dropped > 0 {
        warn("sessionmark: outbox full; the oldest undelivered events were dropped");
    }
}

fn outbox_remove(store: &Store, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let Some(existing) = store.get(Area::Local, OUTBOX) else {
        return;
    };
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let text = outbox::remove(&existing, &ids);
    if text.is_empty() {
        store.remove(Area::Local, OUTBOX);
    } else {
        store.set(Area::Local, OUTBOX, &text);
    }
}

/// Seeds the id generator from `crypto.getRandomValues`, falling back to
/// `Math.random` where crypto is missing.
fn seed() -> Rng {
    let mut b = [0u8; 16];
    let filled = window()
        .crypto()
        .ok()
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
    let (lo, hi) = (b.first_chunk::<8>(), b.last_chunk::<8>());
    let word = |c: Option<&[u8; 8]>| u64::from_le_bytes(c.copied().unwrap_or_default());
    Rng::new(word(lo) ^ now().0, word(hi))
}

/// Options from the shim's text: one `name=value` per line (values as
/// `data-` attributes write them).
fn config_from(options: &str) -> Config {
    let mut cfg = Config::default();
    for line in pieces(options, b'\n') {
        let Some((name, value)) = cut(line, b'=') else {
            continue;
        };
        if let Some(w) = cfg.set(name, value) {
            warn(&w);
        }
    }
    cfg
}

/// `Secure` on https; `cookieDomain` only if it is this host or a parent.
fn cookie_rule(cfg: &Config) -> CookieRule {
    let location = window().location();
    let host = location.hostname().unwrap_or_default();
    let secure = location.protocol().is_ok_and(|p| p == "https:");
    let domain = if cfg.cookie_domain.is_empty() {
        None
    } else {
        let d = checked_domain(&cfg.cookie_domain, &host);
        if d.is_none() {
            warn("sessionmark: option cookieDomain is not this page's host or a parent of it; ignored");
        }
        d
    };
    CookieRule { secure, domain }
}

/// Starts the tracker once per page. `options` is `name=value` lines;
/// `search` is `location.search`, read for cross-domain `sessionId` /
/// `anonId` parameters.
#[wasm_bindgen]
pub fn init(options: &str, search: Option<String>) {
    let started = SHELL.0.try_borrow().map(|s| s.is_some()).unwrap_or(true);
    if started {
        warn("sessionmark: init() was already called; ignored");
        return;
    }
    let cfg = config_from(options);
    let store = Store::open();
    let carried = Carried::from_query(search.as_deref().unwrap_or(""));
    let t0 = now();
    let mut tracker = Tracker::start(cfg, &store.snapshot(), &carried, t0, seed());
    tracker.with_cookies(cookie_rule(tracker.config()));
    store.apply(tracker.take_writes());
    // Events an earlier page could not deliver go first.
    if let Some(text) = store.get(Area::Local, OUTBOX) {
        tracker.delivery().resend(outbox::parse(&text));
    }
    let shell = Shell {
        tracker,
        store,
        last_send: (0, Mode::Fetch),
    };
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

/// Logout: new visitor and session ids replace the stored ones and the
/// cookies (the outbox stays).
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

/// `pagehide` (reload, navigation, close, or entering the back/forward
/// cache): the page view's `page_exit`, exact last activity stored.
#[wasm_bindgen(js_name = onPageHide)]
pub fn on_page_hide() {
    with_shell(|s, now| {
        let mark = s.store.get(Area::Session, crate::store::TAB_ALIVE);
        s.tracker.page_hide(now, mark.as_deref());
    });
}

/// A page view: at load (once not prerendering), on SPA navigation, or
/// `manual` from `screenView(props)`. Returns whether it counted (an
/// automatic view of the URL already in view does not).
#[wasm_bindgen(js_name = onPageView)]
#[allow(clippy::too_many_arguments)]
pub fn on_page_view(
    path: &str,
    search: &str,
    hash: &str,
    title: &str,
    referrer: &str,
    props: &str,
    manual: bool,
) -> bool {
    let props = if props.len() > crate::wire::MAX_PROPS_BYTES {
        warn("sessionmark: screenView() properties exceed 16 KiB; the page view is sent without them");
        ""
    } else {
        props
    };
    with(|t, now| {
        let key = page_key(t.config().track_hash_changes, path, search, hash);
        let page = Page {
            path,
            title,
            referrer,
        };
        t.page_view(now, &page, &key, props, manual)
    })
    .unwrap_or(false)
}

/// What makes two URLs the same page view.
fn page_key(with_hash: bool, path: &str, search: &str, hash: &str) -> String {
    let mut key = String::with_capacity(path.len() + search.len() + hash.len());
    key.push_str(path);
    key.push_str(search);
    if with_hash {
        key.push_str(hash);
    }
    key
}

/// A pointer, key or touch interaction.
#[wasm_bindgen(js_name = onInteraction)]
pub fn on_interaction() {
    with(|t, now| t.interaction(now));
}

/// Scroll depth from `scrollY`, `innerHeight`, `scrollHeight`: a scroll
/// by the user (`user`: activity) or a measurement by the page.
#[wasm_bindgen(js_name = onScroll)]
pub fn on_scroll(y: f64, viewport: f64, document: f64, user: bool) {
    let depth = crate::engagement::scroll_depth(y, viewport, document);
    with(|t, now| {
        if user {
            t.scrolled(now, depth)
        } else {
            t.measured(depth)
        }
    });
}

/// `setGlobalProperties` (JSON object text), for the events the tracker
/// makes itself.
#[wasm_bindgen(js_name = setGlobals)]
pub fn set_globals(props: &str) {
    with(|t, _| t.set_globals(props));
}

/// Visibility and focus at start-up or after a restore (no transition; a
/// focused page writes `ss_sid`).
#[wasm_bindgen(js_name = onPresence)]
pub fn on_presence(visible: bool, focused: bool) {
    with(|t, now| t.presence(now, visible, focused));
}

#[wasm_bindgen(js_name = onVisibility)]
pub fn on_visibility(visible: bool) {
    with(|t, now| t.set_visible(now, visible));
}

#[wasm_bindgen(js_name = onFocus)]
pub fn on_focus(focused: bool) {
    with(|t, now| t.set_focused(now, focused));
}

/// Engaged milliseconds of the current page view; -1 before `init`.
#[wasm_bindgen(js_name = engagedTime)]
pub fn engaged_time() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    with(|t, now| t.engaged_time(now).0 as f64).unwrap_or(-1.0)
}

/// `pageshow` with `persisted`: restored from the back/forward cache.
#[wasm_bindgen(js_name = onRestore)]
pub fn on_restore() {
    with_shell(|s, now| {
        let snap = s.store.snapshot();
        s.tracker.page_restore(now, &snap);
    });
}

/// Tracks an event. `props` is JSON object text made by the shim; the page
/// fields and `at` (`Date.now()`) were read when the page called `track()`,
/// which may be earlier than now for a call held until consent.
#[wasm_bindgen]
pub fn track(name: &str, props: &str, path: &str, title: &str, referrer: &str, at: f64) {
    let page = Page {
        path,
        title,
        referrer,
    };
    match with(|t, now| t.track_at(now, Millis::from_f64(at).min(now), name, props, &page)) {
        Some(Ok(())) => {}
        Some(Err(refusal)) => warn(refusal.message()),
        None => warn("sessionmark: track() called before init(); event dropped"),
    }
}

/// The body of the next request to make, or undefined; its id and mode
/// are then read with `sendId` / `sendMode`.
#[wasm_bindgen(js_name = nextSend)]
pub fn next_send() -> Option<String> {
    with_shell(|s, _| {
        let send = s.tracker.delivery().next_send()?;
        s.last_send = (send.id, send.mode);
        Some(send.body)
    })
    .flatten()
}

#[wasm_bindgen(js_name = sendId)]
pub fn send_id() -> u32 {
    with_shell(|s, _| s.last_send.0).unwrap_or(0)
}

/// 0: fetch, 1: fetch with keepalive, 2: sendBeacon.
#[wasm_bindgen(js_name = sendMode)]
pub fn send_mode() -> u8 {
    with_shell(|s, _| s.last_send.1 as u8).unwrap_or(0)
}

/// The answer to request `id`: HTTP status (0: network error) and body.
#[wasm_bindgen(js_name = onResult)]
pub fn on_result(id: u32, status: u16, answer: &str) {
    with_shell(|s, now| match s.tracker.on_result(id, status, now) {
        Outcome::Delivered(ids) => {
            outbox_remove(&s.store, &ids);
            s.tracker.sealed(now, answer);
            // `"rejected":[{"index":..` names events the collector found
            // invalid: they are not retried (they would fail again).
            if crate::tracker::has_rejected(answer) {
                warn("sessionmark: the collector rejected events of a batch (see its answer); they were dropped");
            }
        }
        Outcome::Retrying(events) => outbox_add(&s.store, &events),
        Outcome::Refused { outboxed, .. } => {
            outbox_remove(&s.store, &outboxed);
            warn("sessionmark: the collector refused a batch (4xx); its events were dropped");
        }
        Outcome::Unknown => {}
    });
}

/// The browser accepted beacon `id` (its events stay in the outbox until a
/// later page load resends them; the collector drops the repeats).
#[wasm_bindgen(js_name = beaconQueued)]
pub fn beacon_queued(id: u32) {
    with(|t, _| t.delivery().beacon_queued(id));
}

/// When `onTimer` should next run, ms since epoch; -1 for never.
#[wasm_bindgen]
pub fn deadline() -> f64 {
    #[allow(clippy::cast_precision_loss)]
    with(|t, _| t.delivery().deadline().map_or(-1.0, |d| d.0 as f64)).unwrap_or(-1.0)
}

#[wasm_bindgen(js_name = onTimer)]
pub fn on_timer() {
    with(|t, now| t.delivery().poll(now, false));
}

/// `flush()`: everything queued or waiting for a retry goes now.
#[wasm_bindgen]
pub fn flush() {
    with(|t, _| t.delivery().flush(false));
}

/// The page was hidden (visibilitychange or pagehide): everything goes by
/// beacon, and everything unacknowledged is kept in the outbox first.
#[wasm_bindgen(js_name = onHide)]
pub fn on_hide() {
    with_shell(|s, _| {
        let unacked = s.tracker.delivery().hide();
        outbox_add(&s.store, &unacked);
    });
}

/// Consent withdrawn: removes everything the tracker stored (storage keys,
/// cookies) and writes nothing more on this page.
#[wasm_bindgen]
pub fn forget() {
    with_shell(|s, _| {
        s.tracker.forget();
        s.store.apply(s.tracker.take_writes());
        s.store = Store::none();
    });
}

/// `tracingHeaders`, validated, comma-separated.
#[wasm_bindgen(js_name = tracingHosts)]
pub fn tracing_hosts() -> String {
    with(|t, _| t.config().tracing_headers.clone()).unwrap_or_default()
}

/// Where batches go.
#[wasm_bindgen]
pub fn endpoint() -> String {
    with(|t, _| t.config().endpoint.clone()).unwrap_or_default()
}
