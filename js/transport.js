// The requests the core asks for: `fetch`, `fetch` with `keepalive`, or
// `navigator.sendBeacon`. Each answer goes back as an input. Bodies are
// strings, sent as text/plain;charset=UTF-8: no CORS preflight.
import { guard, input } from './wasm.js';
import { Beacon, Sent } from './inputs.js';

// The page's fetch as it was at the start, before tracingHeaders wraps it:
// the tracker's own batches carry no X-Session-ID.
let post;
export const keepFetch = () => post || (post = window.fetch);

// A request unanswered this long is given up like a network error: the
// core keeps its events in the outbox and retries them, and flush()
// settles (README "Delivery").
const TIMEOUT = 10000;

const inFlight = new Set();
let queued = [];

/** Queues request `id`; requests start one microtask after the caller's code, so a burst of track() calls never waits on fetch(). */
export function send(id, mode, url, body) {
  if (!queued.length) queueMicrotask(guard(start));
  queued.push([id, mode, url, body]);
}

/** Starts the queued requests. */
export function start() {
  for (const [id, mode, url, body] of queued.splice(0)) {
    if (mode === 'beacon') {
      let taken = false;
      try {
        taken = navigator.sendBeacon(url, body);
      } catch (e) {}
      input(Beacon, [id, taken]);
      continue;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT);
    const p = keepFetch()(url, { method: 'POST', body, keepalive: mode === 'keepalive', credentials: 'omit', signal: abort.signal })
      .then(
        (r) => r.text().then((text) => [r.status, text], () => [r.status, '']),
        () => [0, ''],
      )
      .then(guard(([status, text]) => (clearTimeout(timer), input(Sent, [id, status, text]))));
    inFlight.add(p);
    p.then(() => inFlight.delete(p));
  }
}

/** Resolves when every request made so far was answered. */
export const settled = () => Promise.all(Array.from(inFlight)).then(() => undefined);
