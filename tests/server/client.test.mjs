// sessionmark/server createClient: batching by size and timer, flush and
// shutdown, forRequest's session binding, retries, dedup ids, refusals and
// hostile input, against a stub collector on a free port. Time is node:test's
// fake clock (mock.timers): nothing here sleeps.
// Run: node --test tests/server/
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { createClient, isSessionId } from '../../js/server.js';
import { startStub } from './stub.mjs';

const S1 = 'sess_018e0e5c-5a00-7abc-8def-0123456789ab';
const S2 = 'sess_01900000-0000-7000-b000-000000000002';
const V1 = 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7';
const NOW = 1_763_900_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// One real fetch before the clock is faked, so the HTTP client is loaded.
await fetch('http://127.0.0.1:9/').catch(() => {});
// One fake clock for the whole file: fetch's own timers, made under it, must
// stay in the same fake queue from one test to the next.
mock.timers.enable({ apis: ['setTimeout', 'Date'], now: NOW });

/** A few turns of the real event loop (setImmediate is never faked here): lets I/O run. */
async function turns(n = 5) {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Waits for `cond()` by letting real I/O run, without moving the fake clock. */
async function until(cond, what) {
  for (let i = 0; i < 20_000; i++) {
    if (cond()) return;
    await turns(1);
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * Moves the fake clock in `step` ms steps, letting real I/O run between
 * them, until `cond()`; returns how far it moved.
 */
async function advanceUntil(cond, what, { step = 10, limit = 600_000 } = {}) {
  let moved = 0;
  for (;;) {
    await turns();
    if (cond()) return moved;
    if (moved >= limit) throw new Error(`not within ${limit} fake ms: ${what}`);
    mock.timers.tick(step);
    moved += step;
  }
}

/** A fresh stub, a fake clock, silenced warnings, and clients shut down after the test. */
async function setup(t) {
  const stub = await startStub();
  const warn = t.mock.method(console, 'warn', () => {});
  const fetchSpy = t.mock.method(globalThis, 'fetch');
  const clients = [];
  t.after(async () => {
    await Promise.all(clients.map((c) => c.shutdown({ timeout: 0 })));
    await stub.close();
  });
  return {
    stub,
    fetches: () => fetchSpy.mock.callCount(),
    warnings: () => warn.mock.calls.map((c) => String(c.arguments[0])),
    client(opts = {}) {
      const c = createClient({ endpoint: stub.url, flushInterval: 60_000, ...opts });
      clients.push(c);
      return c;
    },
  };
}

const nodeReq = (headers) => ({ headers });

// ---- batching ----

test('a batch goes out as soon as batchSize events are queued, not before', async (t) => {
  const s = await setup(t);
  const client = s.client({ batchSize: 3 });
  client.track('a', undefined, { sessionId: S1 });
  client.track('b', undefined, { sessionId: S1 });
  assert.equal(s.fetches(), 0);
  client.track('c', undefined, { sessionId: S1 });
  assert.equal(s.fetches(), 1);
  await s.stub.until(1);
  const [req] = s.stub.requests;
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/server-events');
  assert.match(req.headers['content-type'], /^application\/json/);
  assert.deepEqual(req.body.events.map((e) => e.name), ['a', 'b', 'c']);
});

test('queued events go out flushInterval ms after the first one, without flush()', async (t) => {
  const s = await setup(t);
  const client = s.client({ flushInterval: 2000 });
  client.track('first', { n: 1 }, { sessionId: S1 });
  mock.timers.tick(1500);
  client.track('second', { n: 2 }, { sessionId: S1 });
  mock.timers.tick(499);
  assert.equal(s.fetches(), 0);
  mock.timers.tick(1);
  assert.equal(s.fetches(), 1);
  await s.stub.until(1);
  assert.deepEqual(s.stub.events.map((e) => [e.name, e.properties]), [['first', { n: 1 }], ['second', { n: 2 }]]);

  // The next event starts a new wait of its own.
  await until(() => true, 'the answer');
  client.track('third', undefined, { sessionId: S1 });
  mock.timers.tick(1999);
  assert.equal(s.fetches(), 1);
  mock.timers.tick(1);
  await s.stub.until(2);
  assert.deepEqual(s.stub.requests[1].body.events.map((e) => e.name), ['third']);
});

test('the defaults are batches of 50 and a 2 s timer', async (t) => {
  const s = await setup(t);
  const client = createClient({ endpoint: s.stub.url });
  t.after(() => client.shutdown({ timeout: 0 }));
  for (let i = 0; i < 120; i++) client.track('e', { i }, { sessionId: S1 });
  await s.stub.until(2);
  assert.deepEqual(s.stub.requests.map((r) => r.body.events.length), [50, 50]);
  mock.timers.tick(2000);
  await s.stub.until(3);
  assert.equal(s.stub.requests[2].body.events.length, 20);
  assert.deepEqual(s.stub.events.map((e) => e.properties.i), [...Array(120).keys()]);
});

test('flush() sends what is queued and resolves once it is stored', async (t) => {
  const s = await setup(t);
  const client = s.client();
  client.track('a', undefined, { sessionId: S1 });
  client.track('b', undefined, { sessionId: S2 });
  await client.flush();
  assert.equal(s.stub.requests.length, 1);
  assert.deepEqual(s.stub.events.map((e) => [e.name, e.session_id]), [['a', S1], ['b', S2]]);
  // Nothing queued: resolves at once, sends nothing.
  await client.flush();
  assert.equal(s.stub.requests.length, 1);
});

test('each event has its own UUID event_id, its call time, and the wire fields only', async (t) => {
  const s = await setup(t);
  const client = s.client();
  const t0 = Date.now();
  const id = client.track('signup', { plan: 'pro' }, { sessionId: S1 });
  mock.timers.tick(700);
  client.track('later', undefined, { sessionId: S1, timestamp: new Date(t0 - 5000) });
  await client.flush();
  const [a, b] = s.stub.events;
  assert.match(a.event_id, UUID);
  assert.match(b.event_id, UUID);
  assert.notEqual(a.event_id, b.event_id);
  assert.equal(a.event_id, id);
  assert.deepEqual(a, { event_id: id, name: 'signup', session_id: S1, timestamp: t0, properties: { plan: 'pro' } });
  assert.equal(b.timestamp, t0 - 5000);
});

// ---- forRequest ----

test('forRequest binds the X-Session-ID header first, then the ss_sid cookie, and sends ss_vid as anonymous_id', async (t) => {
  const s = await setup(t);
  const client = s.client();
  const both = client.forRequest(nodeReq({ 'x-session-id': S2, cookie: `ss_sid=${S1}; ss_vid=${V1}` }));
  assert.equal(both.sessionId, S2);
  assert.equal(both.source, 'header');
  both.track('from-header');
  client.forRequest(new Request('https://shop.example/buy', { headers: { cookie: `ss_sid=${S1}; ss_vid=${V1}` } })).track('from-cookie', { amount: 42 });
  await client.flush();
  assert.deepEqual(
    s.stub.events.map((e) => [e.name, e.session_id, e.anonymous_id]),
    [['from-header', S2, V1], ['from-cookie', S1, V1]],
  );
});

test('a sessionId passed to a call wins over the request’s, and then no visitor is guessed', async (t) => {
  const s = await setup(t);
  const client = s.client();
  const scoped = client.forRequest(nodeReq({ cookie: `ss_sid=${S1}; ss_vid=${V1}` }));
  scoped.track('override', undefined, { sessionId: S2 });
  await client.flush();
  assert.equal(s.stub.events[0].session_id, S2);
  assert.equal('anonymous_id' in s.stub.events[0], false);
});

test('an event without a valid session is dropped with one warning naming why', async (t) => {
  const s = await setup(t);
  const client = s.client();
  assert.equal(client.forRequest(nodeReq({ cookie: 'theme=dark' })).track('checkout'), null);
  assert.equal(client.track('direct'), null);
  assert.equal(client.track('bad-id', undefined, { sessionId: 'sess_not-a-uuid' }), null);
  assert.equal(client.forRequest(nodeReq({ cookie: `ss_sid=${S1}` })).track('bad-override', undefined, { sessionId: null }), null);
  const w = s.warnings();
  assert.equal(w.length, 4);
  assert.match(w[0], /"checkout" dropped: the request has no valid X-Session-ID header or ss_sid cookie/);
  assert.match(w[1], /"direct" dropped: no session id: use client\.forRequest\(req\) or pass \{ sessionId \}/);
  assert.match(w[2], /"bad-id" dropped: the session id "sess_not-a-uuid" is not sess_ \+ a lowercase UUIDv7/);
  assert.match(w[3], /"bad-override" dropped: the session id null/);
  await client.flush();
  assert.equal(s.fetches(), 0);
});

test('identify sends an identify event with user_id, and the request’s later events carry it', async (t) => {
  const s = await setup(t);
  const client = s.client();
  const req = client.forRequest(nodeReq({ 'x-session-id': S1 }));
  req.track('before');
  req.identify('user-42');
  req.track('after');
  client.forRequest(nodeReq({ 'x-session-id': S1 })).track('other-request');
  assert.equal(client.identify('', { sessionId: S1 }), null);
  assert.equal(req.identify(42), null);
  await client.flush();
  assert.deepEqual(
    s.stub.events.map((e) => [e.name, e.user_id]),
    [['before', undefined], ['identify', 'user-42'], ['after', 'user-42'], ['other-request', undefined]],
  );
  assert.match(s.warnings()[0], /"identify" dropped: the user id "" is not a non-empty string/);
  assert.match(s.warnings()[1], /"identify" dropped: the user id 42 is not a non-empty string/);
});

test('captureError sends an error event with message, stack, type and level', async (t) => {
  const s = await setup(t);
  const client = s.client();
  const req = client.forRequest(nodeReq({ 'x-session-id': S1 }));
  const err = new TypeError('cart is empty');
  req.captureError(err, { level: 'critical', properties: { route: '/checkout', level: 'ignored' } });
  req.captureError('a thrown string');
  req.captureError(new Error('odd level'), { level: 'fatal' });
  await client.flush();
  const [a, b, c] = s.stub.events;
  assert.equal(a.name, 'error');
  assert.deepEqual(a.properties, { route: '/checkout', message: 'cart is empty', stack: err.stack, type: 'TypeError', level: 'critical' });
  assert.deepEqual(b.properties, { message: 'a thrown string', level: 'error' });
  assert.equal(c.properties.level, 'error');
  assert.match(s.warnings()[0], /level "fatal" is not one of critical, error, warning; using "error"/);
});

// ---- wire: key, endpoint ----

test('the key goes as Authorization: Bearer, and no header without a key', async (t) => {
  const s = await setup(t);
  const keyed = s.client({ key: 'sk_test_123' });
  keyed.track('a', undefined, { sessionId: S1 });
  await keyed.flush();
  const open = s.client();
  open.track('b', undefined, { sessionId: S1 });
  await open.flush();
  assert.equal(s.stub.requests[0].headers.authorization, 'Bearer sk_test_123');
  assert.equal(s.stub.requests[1].headers.authorization, undefined);
});

test('an endpoint with a path prefix or a trailing slash posts under it', async (t) => {
  const s = await setup(t);
  for (const endpoint of [`${s.stub.url}/`, `${s.stub.url}/analytics/`, `${s.stub.url}/v1/server-events`]) {
    const c = s.client({ endpoint });
    c.track('x', undefined, { sessionId: S1 });
    await c.flush();
  }
  assert.deepEqual(s.stub.requests.map((r) => r.url), ['/v1/server-events', '/analytics/v1/server-events', '/v1/server-events']);
});

// ---- retries ----

test('network errors and 5xx are retried with growing jittered waits, resending the same event ids', async (t) => {
  const s = await setup(t);
  s.stub.answer({ status: 503 }, 'reset', { status: 500 });
  const client = s.client();
  const ids = [1, 2, 3].map((i) => client.track('e', { i }, { sessionId: S1 }));
  const flushed = client.flush();
  const arrivals = [];
  for (let n = 1; n <= 4; n++) {
    await advanceUntil(() => s.stub.requests.length >= n, `attempt ${n}`);
    arrivals.push(Date.now());
  }
  await flushed;
  assert.equal(s.stub.requests.length, 4);
  for (const r of s.stub.requests) assert.deepEqual(r.body.events.map((e) => e.event_id), ids);
  assert.equal(new Set(s.stub.requests.map((r) => r.text)).size, 1, 'every attempt sends the same body');
  // Waits: 500, 1000, 2000 ms each jittered to 50-100 % (plus the fake clock's step).
  const waits = arrivals.slice(1).map((at, i) => at - arrivals[i]);
  [500, 1000, 2000].forEach((full, i) => {
    assert.ok(waits[i] >= full / 2 && waits[i] <= full + 100, `wait ${i + 1} was ${waits[i]} ms`);
  });
  assert.deepEqual(s.warnings(), []);
});

test('429 and 503 wait at least their Retry-After before the next attempt', async (t) => {
  const s = await setup(t);
  s.stub.answer({ status: 429, headers: { 'retry-after': '7' } }, { status: 503, headers: { 'retry-after': '3' } });
  const client = s.client();
  client.track('e', undefined, { sessionId: S1 });
  client.flush();
  await advanceUntil(() => s.stub.requests.length >= 1, 'attempt 1');
  const waited = await advanceUntil(() => s.stub.requests.length >= 2, 'attempt 2', { step: 100 });
  assert.ok(waited >= 7000 && waited <= 7300, `waited ${waited} ms after Retry-After: 7`);
  const second = await advanceUntil(() => s.stub.requests.length >= 3, 'attempt 3', { step: 100 });
  assert.ok(second >= 3000 && second <= 3300, `waited ${second} ms after Retry-After: 3`);
  await client.flush();
  assert.equal(s.stub.requests.length, 3);
});

test('a batch still failing after 10 attempts is given up with a warning; flush() resolves anyway', async (t) => {
  const s = await setup(t);
  s.stub.answer(...Array(10).fill({ status: 502 }));
  const client = s.client();
  client.track('doomed', undefined, { sessionId: S1 });
  let done = false;
  client.flush().then(() => (done = true));
  const took = await advanceUntil(() => done, 'flush() to resolve', { step: 250 });
  assert.equal(s.stub.requests.length, 10);
  // 0.5 + 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 s at most, at least half of it.
  assert.ok(took >= 60_000 && took <= 122_000, `gave up after ${took} ms`);
  assert.match(s.warnings().at(-1), /1 events dropped after 10 attempts \(last: HTTP 502\)/);
});

test('a 4xx answer drops the batch with a warning and is not retried', async (t) => {
  const s = await setup(t);
  s.stub.answer({ status: 401, body: { error: 'missing or wrong key' } });
  const client = s.client();
  client.track('e', undefined, { sessionId: S1 });
  await client.flush();
  mock.timers.tick(60_000);
  await turns(20);
  assert.equal(s.stub.requests.length, 1);
  assert.match(s.warnings()[0], /1 events dropped: the collector answered HTTP 401: missing or wrong key \(check the key/);
});

test('events the collector rejects are named in one warning and not resent', async (t) => {
  const s = await setup(t);
  s.stub.answer({ body: { accepted: 1, duplicates: 0, rejected: [{ index: 1, reason: 'no visitor for this session' }] } });
  const client = s.client();
  client.track('kept', undefined, { sessionId: S1 });
  client.track('refused', undefined, { sessionId: S2 });
  await client.flush();
  assert.equal(s.stub.requests.length, 1);
  assert.equal(s.warnings().length, 1);
  assert.match(s.warnings()[0], /refused 1 of 2 events \("refused": "no visitor for this session"\)/);
});

test('a 413 answer splits the batch until it fits', async (t) => {
  const s = await setup(t);
  s.stub.answer({ status: 413 }, { status: 413 });
  const client = s.client();
  for (let i = 0; i < 4; i++) client.track('e', { i }, { sessionId: S1 });
  await client.flush();
  assert.deepEqual(s.stub.requests.map((r) => r.body.events.length), [4, 2, 1, 1, 2]);
  assert.deepEqual([...new Set(s.stub.requests.slice(1).flatMap((r) => r.body.events.map((e) => e.properties.i)))].sort(), [0, 1, 2, 3]);
});

// ---- shutdown ----

test('shutdown() sends what is queued, stops the timer, and later calls warn', async (t) => {
  const s = await setup(t);
  const client = s.client({ flushInterval: 2000 });
  client.track('last', undefined, { sessionId: S1 });
  await client.shutdown();
  assert.deepEqual(s.stub.events.map((e) => e.name), ['last']);
  assert.equal(client.track('too-late', undefined, { sessionId: S1 }), null);
  assert.match(s.warnings()[0], /"too-late" dropped: the client is shut down/);
  mock.timers.tick(10_000);
  await turns(20);
  assert.equal(s.stub.requests.length, 1);
});

test('shutdown() against a collector that is down gives up within its timeout', async (t) => {
  const s = await setup(t);
  s.stub.answer(...Array(20).fill({ status: 503 }));
  const client = s.client();
  client.track('e', undefined, { sessionId: S1 });
  let done = false;
  client.shutdown({ timeout: 3000 }).then(() => (done = true));
  const took = await advanceUntil(() => done, 'shutdown() to resolve', { step: 50 });
  assert.ok(took <= 3000, `took ${took} ms`);
  assert.match(s.warnings().at(-1), /1 events dropped: not delivered before exit/);
});

test('shutdown() resolves by its timeout even when a request never answers', async (t) => {
  const s = await setup(t);
  s.stub.answer('hold');
  const client = s.client();
  client.track('e', undefined, { sessionId: S1 });
  client.flush();
  await s.stub.until(1);
  let done = false;
  client.shutdown({ timeout: 2000 }).then(() => (done = true));
  mock.timers.tick(1999);
  await turns(20);
  assert.equal(done, false);
  mock.timers.tick(1);
  await until(() => done, 'shutdown() to resolve');
  assert.match(s.warnings().at(-1), /1 events not confirmed within the shutdown timeout \(2000 ms\)/);
});

// ---- bounds and hostile input ----

test('while the collector does not answer, at most 10000 events wait; the oldest go first, with one warning', async (t) => {
  const s = await setup(t);
  t.mock.method(globalThis, 'fetch', () => new Promise(() => {}));
  const client = s.client({ batchSize: 100 });
  // 4 batches of 100 are in flight, the rest waits.
  for (let i = 0; i < 10_400 + 5; i++) client.track('e', { i }, { sessionId: S1 });
  const w = s.warnings();
  assert.equal(w.length, 1);
  assert.match(w[0], /more than 10000 events waiting for the collector; dropping the oldest/);
});

test('names, properties and options that cannot be sent are refused with a warning, never thrown', async (t) => {
  const s = await setup(t);
  const client = s.client();
  const cyclic = {};
  cyclic.self = cyclic;
  const getterThrows = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw new Error('boom'); } });
  const hostileOpts = new Proxy({}, { get: () => { throw new Error('trap'); } });
  const cases = [
    () => client.track(undefined, {}, { sessionId: S1 }),
    () => client.track('', {}, { sessionId: S1 }),
    () => client.track('x'.repeat(129), {}, { sessionId: S1 }),
    () => client.track('cyclic', cyclic, { sessionId: S1 }),
    () => client.track('bigint', { n: 1n }, { sessionId: S1 }),
    () => client.track('getter', getterThrows, { sessionId: S1 }),
    () => client.track('tojson', { toJSON() { throw new Error('no'); } }, { sessionId: S1 }),
    () => client.track('array', [1, 2], { sessionId: S1 }),
    () => client.track('huge', { s: 'x'.repeat(17 * 1024) }, { sessionId: S1 }),
    () => client.track('opts', {}, hostileOpts),
    () => client.track('when', {}, { sessionId: S1, timestamp: 'yesterday' }),
    () => client.identify({ toString() { throw new Error('x'); } }, { sessionId: S1 }),
    () => client.forRequest(hostileOpts).track('hostile-request'),
    () => client.forRequest(null).captureError(null),
  ];
  for (const c of cases) assert.equal(c(), null);
  assert.equal(s.warnings().length, cases.length);
  // The client still works afterwards, and errors of any shape are captured.
  const weird = Object.defineProperty({}, 'message', { get: () => { throw new Error('no message'); } });
  assert.notEqual(client.captureError(weird, { sessionId: S1 }), null);
  assert.notEqual(client.captureError(Object.create(null), { sessionId: S1 }), null);
  assert.notEqual(client.track('ok', { nested: { a: [1, 'two', null] } }, { sessionId: S1 }), null);
  await client.flush();
  assert.deepEqual(s.stub.events.map((e) => e.name), ['error', 'error', 'ok']);
});

test('strings with lone surrogates are sent as U+FFFD, so the body stays valid JSON', async (t) => {
  const s = await setup(t);
  const client = s.client();
  client.track('bad\ud800name', { text: 'a\udc00b', pair: '😀', literal: '\\ud800' }, { sessionId: S1 });
  await client.flush();
  const [e] = s.stub.events;
  assert.equal(e.name, 'bad\ufffdname');
  assert.deepEqual(e.properties, { text: 'a\ufffdb', pair: '😀', literal: '\\ud800' });
});

test('createClient never throws: bad options give a client that drops everything, with one warning', async (t) => {
  const s = await setup(t);
  for (const opts of [undefined, null, 42, {}, { endpoint: 'ftp://x' }, { endpoint: 'not a url' }]) {
    const c = createClient(opts);
    assert.equal(c.track('e', undefined, { sessionId: S1 }), null);
    await c.flush();
    await c.shutdown();
  }
  assert.equal(s.warnings().length, 6);
  const trap = new Proxy({}, { get: () => { throw new Error('trap'); } });
  const c = createClient(trap);
  assert.equal(c.forRequest({}).track('e'), null);
  assert.match(s.warnings().at(-1), /createClient failed/);
  // Out-of-range numbers are clamped with a warning, and the client works.
  const clamped = s.client({ batchSize: 1000, flushInterval: -5, key: 'a\nb' });
  assert.match(s.warnings().slice(-3).join('\n'), /key must be[\s\S]*batchSize 1000 is outside 1..100[\s\S]*flushInterval -5/);
  clamped.track('x', undefined, { sessionId: S1 });
  await clamped.flush();
  assert.equal(s.stub.requests[0].headers.authorization, undefined);
  assert.equal(s.fetches(), 1);
  assert.ok(isSessionId(s.stub.events[0].session_id));
});
