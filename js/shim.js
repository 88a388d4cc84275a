// sessionmark's JS side: loads the wasm synchronously, forwards DOM events
// to it and exposes the API. Every entry point is guarded: the tracker never
// throws into the host page, and before init() the getters return null.
import wasmText from 'sessionmark:wasm';
import * as w from '../pkg/sessionmark.js';

let state = 0; // 0: not loaded, 1: ready, 2: failed for good
let started = false;
// requireConsent: the options init() got, and the calls made, while
// consent is pending; nothing runs (not even the wasm) until it is given.
let waiting = null;
let consent; // undefined: not asked; true; false
// Consent refused (or withdrawn): nothing more is tracked or sent.
const off = () => consent === false;
let globals = {};
let timer;
let armed = -1; // the deadline the timer is set for
// The fetch the tracker sends with: the page's own, taken before
// tracingHeaders wraps it (the tracker's batches carry no X-Session-ID).
let post;
const inFlight = new Set();

function load() {
  if (!state) {
    try {
      // The wasm is inlined one character per byte (scripts/build.mjs says
      // why); compiling it synchronously lets the API answer at once.
      const bytes = new Uint8Array(wasmText.length);
      for (let i = 0; i < bytes.length; i++) bytes[i] = wasmText.charCodeAt(i);
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

// Makes the requests the wasm decided on, then re-arms its one timer.
function pump() {
  if (off()) return;
  for (let body; (body = w.nextSend()) !== undefined; ) send(w.sendId(), w.sendMode(), body);
  // Re-armed only when the deadline moved: handlers (scroll) pump often.
  const at = w.deadline();
  if (at === armed) return;
  clearTimeout(timer);
  armed = at;
  if (at >= 0) timer = setTimeout(guard(() => ((armed = -1), w.onTimer(), pump())), Math.max(0, at - Date.now()));
}

// A string body goes as text/plain;charset=UTF-8: no CORS preflight.
function send(id, mode, body) {
  const url = w.endpoint();
  try {
    if (mode === 2 && navigator.sendBeacon(url, body)) return w.beaconQueued(id);
  } catch (e) {}
  // Plain fetch, keepalive fetch, or the fallback of a refused beacon.
  const p = post(url, { method: 'POST', body, keepalive: mode > 0, credentials: 'omit' })
    .then((r) => r.text().then((t) => [r.status, t]), () => [0, ''])
    .then(guard(([status, text]) => (w.onResult(id, status, text), pump())));
  inFlight.add(p);
  p.then(() => inFlight.delete(p));
}

// track() and friends only queue; the requests start in one microtask
// after the caller's code, so a burst of calls never waits on fetch().
let pumping = false;
const later = () => {
  if (!pumping) {
    pumping = true;
    queueMicrotask(() => ((pumping = false), guard(pump)()));
  }
};

const hide = () => (w.onHide(), pump());

let lastHref;

// Scroll depth of the document; the arithmetic is in the wasm. Not while
// the document is still loading: a script in <head> would see an empty,
// unscrollable body and report 100. Only a scroll by the user (`user`)
// is activity; the tracker's own measurements are not.
const scrolled = (user) =>
  document.readyState === 'loading' ||
  w.onScroll(scrollY, innerHeight, document.documentElement.scrollHeight, user === true);

// A page view of the current URL; automatic ones of the URL already in
// view are dropped by the wasm. SPA views name the previous URL as referrer.
// Depth is measured before (the view that ends) and after (the new one).
function view(manual, props) {
  const l = location;
  scrolled();
  if (w.onPageView(l.pathname, l.search, l.hash, document.title, lastHref || document.referrer, json(props), manual)) lastHref = l.href;
  scrolled();
  pump();
}

function listen() {
  const d = document;
  // Each handler may have queued events (a session that rotated): the
  // requests start after it.
  const on = (target, type, f) =>
    target.addEventListener(type, guard((e) => off() || (f(e), later())), { capture: true, passive: true });
  const visible = () => d.visibilityState === 'visible';
  const presence = () => w.onPresence(visible(), d.hasFocus());
  presence();
  // pagehide, not unload: an unload listener blocks the back/forward cache.
  on(window, 'pagehide', () => (scrolled(), w.onPageHide(), hide()));
  on(window, 'pageshow', (e) => e.persisted && (presence(), w.onRestore(), scrolled(), pump()));
  on(d, 'visibilitychange', () => (w.onVisibility(visible()), visible() || hide()));
  on(window, 'focus', (e) => e.target === window && w.onFocus(true));
  on(window, 'blur', (e) => e.target === window && w.onFocus(false));
  for (const type of ['pointerdown', 'keydown', 'touchstart']) on(window, type, w.onInteraction);
  on(window, 'scroll', () => scrolled(true));
  // SPA navigation: history.pushState/replaceState, back/forward, and hash
  // changes (counted only with trackHashChanges).
  for (const m of ['pushState', 'replaceState']) {
    const original = history[m];
    history[m] = function () {
      const r = original.apply(this, arguments);
      off() || guard(view)(false);
      return r;
    };
  }
  on(window, 'popstate', () => view(false));
  on(window, 'hashchange', () => view(false));
  // The load's page view waits while the page is only prerendered.
  const first = () => view(false);
  if (d.prerendering) on(d, 'prerenderingchange', first);
  else first();
  // The load's depth once laid out (scrolled() skips a loading document).
  on(window, 'load', () => scrolled());
}

// tracingHeaders: X-Session-ID on fetch and XHR requests to the listed
// hosts (exact `host` or `host:port`), nothing else of a request touched.
let untrace;

function trace(hosts) {
  if (untrace || !hosts.length) return;
  // Relative URLs resolve against the document base, as fetch and XHR do.
  const wanted = (url) => {
    try {
      return hosts.includes(new URL(url, document.baseURI).host);
    } catch (e) {
      return false;
    }
  };
  const id = () => (!off() && getSessionId()) || null;
  const H = 'X-Session-ID';
  const fetch0 = window.fetch;
  const X = XMLHttpRequest.prototype;
  const open0 = X.open;
  const send0 = X.send;
  const setHeader0 = X.setRequestHeader;
  const traced = new WeakSet();
  const ownHeader = new WeakSet();
  const ours = {
    fetch(input, init) {
      try {
        // Duck-typed: a Request from another realm (an iframe) is one too.
        const isRequest = input != null && typeof input === 'object' && typeof input.url === 'string' && input.headers != null;
        const sid = wanted(isRequest ? input.url : String(input)) && id();
        if (sid) {
          // Headers given in init replace the Request's own, so start
          // from whichever the browser would have used; a value the page
          // set itself stays.
          const headers = new Headers(init && init.headers !== undefined ? init.headers : isRequest ? input.headers : undefined);
          if (!headers.has(H)) {
            headers.set(H, sid);
            // Every other field is read through to the caller's init,
            // inherited ones included.
            init = Object.create(init != null && typeof init === 'object' ? init : null, {
              headers: { value: headers, enumerable: true },
            });
          }
        }
      } catch (e) {}
      return fetch0.call(this, input, init);
    },
    open(method, url) {
      try {
        ownHeader.delete(this);
        if (wanted(String(url))) traced.add(this);
        else traced.delete(this);
      } catch (e) {}
      return open0.apply(this, arguments);
    },
    setRequestHeader(name) {
      try {
        if (String(name).toLowerCase() === 'x-session-id') ownHeader.add(this);
      } catch (e) {}
      return setHeader0.apply(this, arguments);
    },
    send() {
      try {
        // XHR appends repeated headers: never add a second value.
        const sid = traced.has(this) && !ownHeader.has(this) && id();
        if (sid) setHeader0.call(this, H, sid);
      } catch (e) {}
      return send0.apply(this, arguments);
    },
  };
  window.fetch = ours.fetch;
  X.open = ours.open;
  X.send = ours.send;
  X.setRequestHeader = ours.setRequestHeader;
  // Puts back what was there, unless another script wrapped ours since.
  untrace = () => {
    if (window.fetch === ours.fetch) window.fetch = fetch0;
    if (X.open === ours.open) X.open = open0;
    if (X.send === ours.send) X.send = send0;
    if (X.setRequestHeader === ours.setRequestHeader) X.setRequestHeader = setHeader0;
    untrace = undefined;
  };
}

// Props given to the API: an object, or null with a warning.
function plain(props) {
  if (props != null && (typeof props !== 'object' || Array.isArray(props))) {
    console.warn('sessionmark: properties must be a plain object; ignored');
    return null;
  }
  return props;
}

// Global and event props as JSON object text. Values JSON cannot hold
// (functions, symbols, BigInt, cycles) are dropped with one warning; never
// a throw.
function json(props) {
  props = Object.assign({}, globals, plain(props));
  // Fast path: a flat object of strings, finite numbers, booleans and null
  // needs no replacer (the replacer makes JSON.stringify several times slower).
  let flat = true;
  for (const k in props) {
    const v = props[k];
    const t = typeof v;
    if (!(v === null || t === 'string' || t === 'boolean' || (t === 'number' && isFinite(v)))) flat = false;
  }
  if (flat) return JSON.stringify(props);
  let dropped = false;
  const stack = [];
  const text = JSON.stringify(props, function (key, value) {
    const t = typeof value;
    if (t === 'function' || t === 'symbol' || t === 'bigint') return void (dropped = true);
    if (value && t === 'object') {
      // JSON.stringify walks depth-first: unwind to this value's holder,
      // then a value already on the path is a cycle.
      while (stack.length && stack[stack.length - 1] !== this) stack.pop();
      if (stack.includes(value)) return void (dropped = true);
      stack.push(value);
    }
    return value;
  });
  if (dropped) console.warn('sessionmark: dropped property values JSON cannot hold (functions, symbols, BigInt, cycles)');
  return text;
}

const needsConsent = (o) => o != null && (o.requireConsent === true || o.requireConsent === 'true');

// Options as the wasm reads them: `name=value` lines, values written the
// way data- attributes are (arrays comma-joined).
const optionText = (o) =>
  Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .map((k) => k + '=' + String(Array.isArray(o[k]) ? o[k].join(',') : o[k]).replace(/\n/g, ' '))
    .join('\n');

function start(options) {
  post = window.fetch;
  w.init(optionText(options), location.search);
  started = true;
  w.setGlobals(json());
  listen();
  trace(w.tracingHosts().split(',').filter(Boolean));
  pump();
}

/** Starts the tracker (once per page). */
export const init = guard((options) => {
  if (started || waiting) return console.warn('sessionmark: init() was already called; ignored');
  options = options == null ? {} : options;
  // Consent refused before init() also holds it: a later grant starts.
  if ((needsConsent(options) && consent !== true) || off()) waiting = { options, calls: [] };
  else start(options);
});

// While consent is pending, API calls are held (in memory only) and run
// once it is given; they are dropped if it is refused.
const held = (f, fallback) =>
  guard(function () {
    if (off()) return fallback;
    if (waiting) return void waiting.calls.push([f, arguments]);
    return f.apply(null, arguments);
  }, fallback);

/**
 * With requireConsent: true starts the tracker and runs the held calls;
 * false drops them, and after a grant stops tracking, sending and the
 * tracing headers on this page and removes what the tracker stored.
 */
export const setConsent = guard((granted) => {
  consent = !!granted;
  if (untrace && !consent) untrace();
  if (started && off()) w.forget();
  if (!waiting) return;
  if (!consent) return void (waiting.calls = []);
  const { options, calls } = waiting;
  waiting = null;
  start(options);
  for (const [f, args] of calls) f.apply(null, args);
});

/** A page view of the current URL, with optional properties (SPA routers that do not use history). */
export const screenView = held((props) => view(true, props));

/** Engaged time of the current page view (visible and focused), ms; null before init(). */
export const getEngagedTime = guard(() => {
  const ms = w.engagedTime();
  return ms < 0 ? null : ms;
}, null);

/** getEngagedTime() in whole seconds. */
export const getEngagedTimeSeconds = guard(() => {
  const ms = w.engagedTime();
  return ms < 0 ? null : Math.floor(ms / 1000);
}, null);

// The page an event happened on, read when track() is called (a call held
// for consent keeps it, and its time).
const here = () => [location.pathname, document.title, document.referrer, Date.now()];

const track0 = held((name, props, at) => {
  w.track(String(name), json(props), ...(at || here()));
  later();
});

/** Tracks an event with optional properties (a JSON-able object). */
export const track = guard((name, props) => track0(name, props, waiting ? here() : undefined));

/** Properties merged into every later event (replaces earlier ones). */
export const setGlobalProperties = held((props) => {
  globals = Object.assign({}, plain(props));
  if (started) w.setGlobals(json());
});

/** Sends everything queued now; resolves when it was delivered or kept for a later retry. */
export const flush = guard(() => {
  w.flush();
  pump();
  return Promise.all(Array.from(inFlight)).then(() => undefined);
}, Promise.resolve());

/** The session id to forward as X-Session-ID; null before init(). */
export const getSessionId = guard((params) => (later(), w.getSessionId(query(params))), null);

/** The visitor id; null before init(). */
export const getAnonymousId = guard((params) => (later(), w.getAnonymousId(query(params))), null);

/** Logout: new visitor and session ids; the ids, session keys, cookies and global properties are replaced. */
export const clear = held(() => {
  if (started) scrolled();
  globals = {};
  w.clear();
});

/** Page count and session start of this tab; null before init(). */
export const getTracker = guard(() => {
  const pageCount = w.pageCount();
  return pageCount < 0
    ? null
    : { pageCount, sessionStartTime: w.sessionStart(), getEngagedTime, getEngagedTimeSeconds };
}, null);
