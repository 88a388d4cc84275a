// sessionmark's JS side: loads the wasm synchronously, forwards DOM events
// to it and exposes the API. Every entry point is guarded: the tracker never
// throws into the host page, and before init() the getters return null.
import wasmHex from 'sessionmark:wasm';
import * as w from '../pkg/sessionmark.js';

let state = 0; // 0: not loaded, 1: ready, 2: failed for good
let started = false;

function load() {
  if (!state) {
    try {
      // The wasm is inlined as hex: charset-safe, and 19% smaller than
      // base64 once brotli'd (it keeps the bytes aligned).
      const n = wasmHex.length >> 1;
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = parseInt(wasmHex.substr(i * 2, 2), 16);
      w.initSync({ module: bytes });
      state = 1;
    } catch (e) {
      state = 2;
      console.warn('sessionmark: could not start', e);
    }
  }
  return state === 1;
}

function guard(f, fallback) {
  return function () {
    try {
      if (load()) {
        const r = f.apply(null, arguments);
        return r === undefined ? fallback : r;
      }
    } catch (e) {
      console.warn('sessionmark:', e);
    }
    return fallback;
  };
}

// URLSearchParams, a query string or a plain object -> a query string.
const query = (p) => (p == null ? undefined : new URLSearchParams(p).toString());

function listen() {
  const on = (type, f) => addEventListener(type, guard(f), { capture: true, passive: true });
  // pagehide, not unload: an unload listener blocks the back/forward cache.
  on('pagehide', w.onPageHide);
  on('pageshow', (e) => e.persisted && w.onRestore());
  for (const type of ['pointerdown', 'keydown', 'scroll', 'touchstart']) on(type, w.onActivity);
}

/** Starts the tracker (once per page). */
export const init = guard((options) => {
  w.init(options == null ? {} : options, location.search);
  if (!started) listen();
  started = true;
});

/** The session id to forward as X-Session-ID; null before init(). */
export const getSessionId = guard((params) => w.getSessionId(query(params)), null);

/** The visitor id; null before init(). */
export const getAnonymousId = guard((params) => w.getAnonymousId(query(params)), null);

/** Logout: new visitor and session ids, all stored state removed. */
export const clear = guard(() => w.clear());

/** Page count and session start of this tab; null before init(). */
export const getTracker = guard(() => {
  const pageCount = w.pageCount();
  return pageCount < 0 ? null : { pageCount, sessionStartTime: w.sessionStart() };
}, null);
