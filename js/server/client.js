// createClient: server events recorded in the browser's session, queued in
// memory and sent to the collector in bulk (README "Server SDK").
//
// Life of an event: track() checks it and writes its JSON (event.js), then
// queues it. A batch (up to batchSize events) goes out when the queue holds
// batchSize events, flushInterval ms after the first event of an idle queue,
// on flush(), on shutdown() and when the process is about to exit. Each
// batch retries on its own (delivery.js) until it is stored or given up.
// Nothing here throws into the caller; every refusal is one console warning.
import { eventCalls } from './calls.js';
import { MAX_ATTEMPTS, RETRY_CAP_MS, backoffMs, postBatch } from './delivery.js';
import { preview, read, utf8Length, warn } from './event.js';
import { sessionFromRequest } from './request.js';

const PATH = '/v1/server-events';
/** Most events in one request (the collector's limit). */
export const MAX_BATCH = 100;
/** Largest request body; a batch stops growing before it. */
export const MAX_BODY_BYTES = 512 * 1024;
/** Most events held in memory; past it the oldest are dropped (the collector is down too long). */
export const MAX_QUEUE = 10_000;
/** Batches sent (or waiting to retry) at the same time. */
const MAX_IN_FLIGHT = 4;
/** How long shutdown() and the exit flush try before giving up. */
const EXIT_TIMEOUT_MS = 10_000;

// Timers never keep a process alive on their own (unref), except while the
// client is flushing for shutdown or exit, when finishing is the point.
function timer(fn, ms, keepAlive) {
  const t = setTimeout(fn, ms);
  if (!keepAlive) {
    try {
      if (t && typeof t.unref === 'function') t.unref();
      else if (typeof globalThis.Deno?.unrefTimer === 'function') globalThis.Deno.unrefTimer(t);
    } catch {
      // a runtime without unref: the timer is short-lived anyway
    }
  }
  return t;
}

/** The bulk route under `endpoint` (an origin, or an origin with a path prefix), or null. */
function bulkUrl(endpoint) {
  let u;
  try {
    u = new URL(endpoint);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const base = u.pathname.replace(/\/+$/, '');
  u.pathname = base.endsWith(PATH) ? base : base + PATH;
  u.search = '';
  u.hash = '';
  return u.href;
}

/** A whole number option within [min, max]; a warning and the default or the nearest bound otherwise. */
function numberOption(name, value, dflt, min, max) {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    warn(`createClient: ${name} ${preview(value)} is not a number; using ${dflt}`);
    return dflt;
  }
  const n = Math.min(max, Math.max(min, Math.floor(value)));
  if (n !== value) warn(`createClient: ${name} ${preview(value)} is outside ${min}..${max} or not whole; using ${n}`);
  return n;
}

/** Creates a client; never throws. See js/server.d.ts. */
export function createClient(options) {
  try {
    return makeClient(options);
  } catch (e) {
    warn(`createClient failed (${preview(e && e.message)}); every event will be dropped`);
    return makeClient(null, true);
  }
}

function makeClient(options, broken = false) {
  const endpoint = broken ? undefined : read(options, 'endpoint');
  const url = typeof endpoint === 'string' ? bulkUrl(endpoint) : null;
  if (!url && !broken) warn(`createClient: endpoint ${preview(endpoint)} is not an http(s) URL; every event will be dropped`);
  const headers = { 'content-type': 'application/json' };
  const key = broken ? undefined : read(options, 'key');
  if (typeof key === 'string' && key !== '' && !/[\0-\x1f\x7f]/.test(key)) headers.authorization = `Bearer ${key}`;
  else if (key !== undefined && key !== null) warn('createClient: key must be a non-empty string without control characters; sending without one');
  const batchSize = broken ? 1 : numberOption('batchSize', read(options, 'batchSize'), 50, 1, MAX_BATCH);
  const flushInterval = broken ? 0 : numberOption('flushInterval', read(options, 'flushInterval'), 2000, 0, 3_600_000);

  let seq = 0; // events ever queued; each event's number orders flush() waits
  const queue = []; // { seq, id, name, json, bytes }
  const inFlight = new Set(); // batches being sent or waiting to retry: { first, size, sleeping }
  const waiters = []; // flush() promises: { upTo, resolve }
  let forceUpTo = 0; // partial batches go out while the oldest queued event is this old
  let flushTimer = null;
  let closed = false; // after shutdown(): nothing more is queued
  let exitBy = 0; // when flushing for shutdown or exit: give up at this time
  let overflowing = false;

  const now = () => Date.now();

  // flush() waiters whose events have all been delivered or given up.
  function settle() {
    let oldest = queue.length ? queue[0].seq : Infinity;
    for (const b of inFlight) oldest = Math.min(oldest, b.first);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].upTo < oldest) waiters.splice(i, 1)[0].resolve();
    }
  }

  function pump() {
    while (url && queue.length && inFlight.size < MAX_IN_FLIGHT && (queue.length >= batchSize || queue[0].seq <= forceUpTo)) {
      const events = [queue.shift()];
      let bytes = events[0].bytes;
      while (queue.length && events.length < batchSize && bytes + queue[0].bytes + 1 <= MAX_BODY_BYTES) {
        bytes += queue[0].bytes + 1;
        events.push(queue.shift());
      }
      deliver(events);
    }
    if (!queue.length && flushTimer !== null) {
      clearTimeout(flushTimer);
      flushTimer = null;
    } else if (queue.length && flushTimer === null && !closed) {
      flushTimer = timer(() => {
        flushTimer = null;
        forceUpTo = seq;
        pump();
      }, flushInterval, exitBy > 0);
    }
  }

  async function deliver(events) {
    const batch = { first: events[0].seq, size: events.length, sleeping: null };
    inFlight.add(batch);
    try {
      await attempt(batch, events);
    } catch (e) {
      warn(`${events.length} events dropped: ${preview(e && e.message)}`);
    } finally {
      inFlight.delete(batch);
      settle();
      pump();
    }
  }

  // Sends `events` until stored or given up; splits them when the body is too large.
  async function attempt(batch, events) {
    const body = `{"events":[${events.map((e) => e.json).join(',')}]}`;
    for (let tries = 1; ; tries++) {
      const r = await postBatch(url, headers, body, now);
      if (r.ok) return reportRejected(events, r.rejected);
      if (r.tooLarge && events.length > 1) {
        const half = Math.ceil(events.length / 2);
        await attempt(batch, events.slice(0, half));
        return attempt(batch, events.slice(half));
      }
      if (r.tooLarge) return warn(`event ${preview(events[0].name)} dropped: the collector found it too large (HTTP 413)`);
      if (r.drop) return warn(`${events.length} events dropped: ${r.drop}`);
      if (tries >= MAX_ATTEMPTS) return warn(`${events.length} events dropped after ${tries} attempts (last: ${r.why})`);
      const wait = Math.min(RETRY_CAP_MS, Math.max(r.after ?? 0, backoffMs(tries)));
      if (exitBy && now() + wait > exitBy) return warn(`${events.length} events dropped: not delivered before exit (last: ${r.why})`);
      await new Promise((resolve) => {
        batch.sleeping = { timer: timer(resolve, wait, exitBy > 0), resolve };
      });
      batch.sleeping = null;
    }
  }

  function reportRejected(events, rejected) {
    if (!rejected.length) return;
    const named = rejected.slice(0, 3).map((r) => `${preview(events[read(r, 'index')]?.name)}: ${preview(read(r, 'reason'))}`);
    warn(`the collector refused ${rejected.length} of ${events.length} events (${named.join('; ')}${rejected.length > 3 ? '; ...' : ''})`);
  }

  // From here on, finish fast: keep the process alive while sending, and
  // cut short the retry waits that would outlast `timeoutMs`.
  function finishWithin(timeoutMs) {
    const by = now() + timeoutMs;
    exitBy = exitBy ? Math.min(exitBy, by) : by;
    for (const b of inFlight) {
      if (b.sleeping) {
        clearTimeout(b.sleeping.timer);
        b.sleeping.resolve();
      }
    }
  }

  function flush() {
    try {
      if (!queue.length && !inFlight.size) return Promise.resolve();
      forceUpTo = seq;
      const done = new Promise((resolve) => waiters.push({ upTo: seq, resolve }));
      pump();
      settle();
      return done;
    } catch (e) {
      warn(`flush failed: ${preview(e && e.message)}`);
      return Promise.resolve();
    }
  }

  const proc = globalThis.process;
  const onBeforeExit = () => {
    try {
      if (!queue.length && !inFlight.size) return;
      finishWithin(EXIT_TIMEOUT_MS);
      // Should the process live on after all (another listener gave it
      // work), the client goes back to its usual, unhurried retries.
      flush().then(() => {
        if (!closed) exitBy = 0;
      });
    } catch {
      // exiting anyway
    }
  };
  if (url && typeof proc?.on === 'function') proc.on('beforeExit', onBeforeExit);

  // Events queued or in flight, for the warning when time runs out.
  const unsettled = () => [...inFlight].reduce((n, b) => n + b.size, queue.length);

  let shutdownDone = null;
  function shutdown(opts) {
    try {
      if (!shutdownDone) {
        closed = true;
        if (flushTimer !== null) clearTimeout(flushTimer);
        flushTimer = null;
        if (typeof proc?.off === 'function') proc.off('beforeExit', onBeforeExit);
        const t = read(opts, 'timeout');
        const timeoutMs = typeof t === 'number' && t >= 0 ? t : EXIT_TIMEOUT_MS;
        finishWithin(timeoutMs);
        // Resolves by the timeout even if a request never answers.
        shutdownDone = new Promise((resolve) => {
          const giveUp = () => {
            const left = unsettled();
            if (left) warn(`${left} events not confirmed within the shutdown timeout (${timeoutMs} ms); they may be lost`);
            resolve();
          };
          const flushed = flush();
          if (timeoutMs === 0) return giveUp();
          const deadline = timer(giveUp, timeoutMs, true);
          flushed.then(() => {
            clearTimeout(deadline);
            resolve();
          });
        });
      }
      return shutdownDone;
    } catch (e) {
      warn(`shutdown failed: ${preview(e && e.message)}`);
      return Promise.resolve();
    }
  }

  /** Queues a built event; returns its event_id, or null when the client takes nothing. */
  function add(name, built) {
    if (queue.length >= MAX_QUEUE) {
      const lost = queue.shift();
      if (!overflowing) warn(`more than ${MAX_QUEUE} events waiting for the collector; dropping the oldest (${preview(lost.name)} first)`);
      overflowing = true;
      settle();
    } else if (queue.length < MAX_QUEUE / 2) overflowing = false;
    queue.push({ seq: ++seq, id: built.id, name, json: built.json, bytes: utf8Length(built.json) });
    pump();
    return built.id;
  }
  // The client's own reason to take no event, said once per event.
  function refuses(name) {
    if (!url) return true;
    if (closed) warn(`event ${preview(name)} dropped: the client is shut down`);
    return closed;
  }
  const sink = { refuses, add };

  return {
    ...eventCalls(sink, undefined),
    forRequest(req) {
      const found = sessionFromRequest(req);
      const scope = { sessionId: found.sessionId, visitorId: found.visitorId, userId: undefined };
      return { sessionId: found.sessionId, visitorId: found.visitorId, source: found.source, ...eventCalls(sink, scope) };
    },
    flush,
    shutdown,
  };
}
