// sessionmark/server: request shapes, header-over-cookie, strict ids,
// hostile input. Run: node --test tests/server/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import {
  sessionFromRequest,
  isSessionId,
  isVisitorId,
  SESSION_HEADER,
  SESSION_COOKIE,
  VISITOR_COOKIE,
} from '../../js/server.js';

const S1 = 'sess_018e0e5c-5a00-7abc-8def-0123456789ab';
const S2 = 'sess_01900000-0000-7000-b000-000000000002';
const V1 = 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7'; // UUIDv4
const V2 = 'anon_018e0e5c-5a00-7abc-9def-0123456789ab'; // UUIDv7
const URL_ = 'https://app.example.com/api/x';
const NONE = { sessionId: null, visitorId: null, source: null };

const fetchReq = (headers) => new Request(URL_, { headers });

test('the constants name the header and the two cookies', () => {
  assert.equal(SESSION_HEADER, 'x-session-id');
  assert.equal(SESSION_COOKIE, 'ss_sid');
  assert.equal(VISITOR_COOKIE, 'ss_vid');
});

test('isSessionId accepts sess_ with a lowercase UUIDv7 and rejects everything else', () => {
  assert.equal(isSessionId(S1), true);
  assert.equal(isSessionId(S2), true);
  for (const bad of [
    '',
    'sess_',
    'SESS_018e0e5c-5a00-7abc-8def-0123456789ab',
    'sess_018E0E5C-5A00-7ABC-8DEF-0123456789AB',
    'sess_018e0e5c-5a00-4abc-8def-0123456789ab', // v4
    'sess_018e0e5c-5a00-7abc-cdef-0123456789ab', // variant c
    'sess_018e0e5c-5a00-7abc-7def-0123456789ab', // variant 7
    'sess_018e0e5c5a007abc8def0123456789ab',
    'sess_{018e0e5c-5a00-7abc-8def-0123456789ab}',
    'sess_018e0e5c-5a00-7abc-8def-0123456789ab ',
    'sess_018e0e5c-5a00-7abc-8def-0123456789ab\n',
    ' sess_018e0e5c-5a00-7abc-8def-0123456789ab',
    'sess_018e0e5c-5a00-7abc-8def-0123456789a"',
    'sess_018e0e5c-5a00-7abc-8def-0123456789ag',
    V2,
    V2.replace('anon_', 'sess_').toUpperCase(),
    null,
    undefined,
    42,
    {},
    [S1],
  ]) {
    assert.equal(isSessionId(bad), false, String(bad));
  }
});

test('isVisitorId accepts anon_ with a lowercase UUID of any version and rejects everything else', () => {
  assert.equal(isVisitorId(V1), true);
  assert.equal(isVisitorId(V2), true);
  for (const bad of [
    '',
    'anon_7c9e6679-7425-40de-944b-e07fc1f90ae',
    'anon_7c9e6679-7425-40de-c44b-e07fc1f90ae7', // variant c
    'ANON_7c9e6679-7425-40de-944b-e07fc1f90ae7',
    'anon_7C9E6679-7425-40DE-944B-E07FC1F90AE7',
    'user_7c9e6679-7425-40de-944b-e07fc1f90ae7',
    S1,
    'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7\n',
    null,
    7,
  ]) {
    assert.equal(isVisitorId(bad), false, String(bad));
  }
});

// ---- Fetch Request / Headers ----

test('a Fetch Request gives the X-Session-ID header with source header', () => {
  const r = sessionFromRequest(fetchReq({ 'X-Session-ID': S1 }));
  assert.deepEqual(r, { sessionId: S1, visitorId: null, source: 'header' });
});

test('a Fetch Request without the header falls back to the ss_sid cookie and reads ss_vid', () => {
  const r = sessionFromRequest(fetchReq({ Cookie: `theme=dark; ss_sid=${S1}; ss_vid=${V1}` }));
  assert.deepEqual(r, { sessionId: S1, visitorId: V1, source: 'cookie' });
});

test('the header wins over the cookie on a Fetch Request', () => {
  const r = sessionFromRequest(fetchReq({ 'x-session-id': S2, cookie: `ss_sid=${S1}; ss_vid=${V1}` }));
  assert.deepEqual(r, { sessionId: S2, visitorId: V1, source: 'header' });
});

test('a Fetch Request with neither header nor cookie gives all-null', () => {
  assert.deepEqual(sessionFromRequest(fetchReq({ accept: 'text/html' })), NONE);
});

test('a Headers object passed alone is read as headers, not as a cookie store', () => {
  const h = new Headers({ cookie: `ss_sid=${S1}; ss_vid=${V2}` });
  assert.deepEqual(sessionFromRequest(h), { sessionId: S1, visitorId: V2, source: 'cookie' });
  h.set('X-Session-Id', S2);
  assert.deepEqual(sessionFromRequest(h), { sessionId: S2, visitorId: V2, source: 'header' });
});

test('the header sent twice on a Fetch Request is ambiguous and the cookie is used', () => {
  const h = new Headers({ cookie: `ss_sid=${S1}` });
  h.append('x-session-id', S2);
  h.append('x-session-id', S2);
  assert.deepEqual(sessionFromRequest(new Request(URL_, { headers: h })), {
    sessionId: S1,
    visitorId: null,
    source: 'cookie',
  });
});

test('a NextRequest-like request whose cookies.get returns { name, value } is read', () => {
  class NextLike extends Request {
    constructor(url, init, jar) {
      super(url, init);
      this.cookies = { get: (n) => (n in jar ? { name: n, value: jar[n] } : undefined), has: () => true };
    }
  }
  const r = sessionFromRequest(new NextLike(URL_, {}, { ss_sid: S1, ss_vid: V1 }));
  assert.deepEqual(r, { sessionId: S1, visitorId: V1, source: 'cookie' });
});

// ---- Node IncomingMessage ----

test('a real Node IncomingMessage gives the header, and the cookie without it', async () => {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push(sessionFromRequest(req));
    res.end('ok');
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const base = `http://127.0.0.1:${server.address().port}/`;
    await (await fetch(base, { headers: { 'X-Session-ID': S2, Cookie: `ss_sid=${S1}; ss_vid=${V1}` } })).text();
    await (await fetch(base, { headers: { Cookie: `ss_vid=${V1}; ss_sid=${S1}` } })).text();
  } finally {
    await new Promise((ok) => server.close(ok));
  }
  assert.deepEqual(seen, [
    { sessionId: S2, visitorId: V1, source: 'header' },
    { sessionId: S1, visitorId: V1, source: 'cookie' },
  ]);
});

test('a Node-style headers map is read with case-insensitive names', () => {
  const r = sessionFromRequest({ headers: { 'X-Session-ID': S1, Cookie: `ss_vid=${V1}` } });
  assert.deepEqual(r, { sessionId: S1, visitorId: V1, source: 'header' });
});

test('a Node header given as an array of one value is used, of two values is ignored', () => {
  assert.deepEqual(sessionFromRequest({ headers: { 'x-session-id': [S1] } }), {
    sessionId: S1,
    visitorId: null,
    source: 'header',
  });
  assert.deepEqual(sessionFromRequest({ headers: { 'x-session-id': [S1, S2], cookie: `ss_sid=${S2}` } }), {
    sessionId: S2,
    visitorId: null,
    source: 'cookie',
  });
});

test('a Node cookie header given as an array is joined', () => {
  const r = sessionFromRequest({ headers: { cookie: ['a=b', `ss_sid=${S1}`, `ss_vid=${V1}`] } });
  assert.deepEqual(r, { sessionId: S1, visitorId: V1, source: 'cookie' });
});

test('header values are trimmed of spaces and tabs only', () => {
  assert.equal(sessionFromRequest({ headers: { 'x-session-id': ` \t${S1} ` } }).sessionId, S1);
  assert.equal(sessionFromRequest({ headers: { 'x-session-id': `${S1}\r\n` } }).sessionId, null);
});

// ---- parsed cookie maps (Express / Next Pages / Fastify) ----

test('an Express request prefers its parsed req.cookies map over the Cookie header', () => {
  const req = { headers: { cookie: `ss_sid=${S2}` }, cookies: { ss_sid: S1, ss_vid: V1 }, get: () => undefined };
  assert.deepEqual(sessionFromRequest(req), { sessionId: S1, visitorId: V1, source: 'cookie' });
});

test('an Express request still lets X-Session-ID win over req.cookies', () => {
  const req = { headers: { 'x-session-id': S2 }, cookies: { ss_sid: S1 } };
  assert.deepEqual(sessionFromRequest(req), { sessionId: S2, visitorId: null, source: 'header' });
});

test('a req.cookies map without the cookie falls back to parsing the header', () => {
  const req = { headers: { cookie: `ss_sid=${S1}; ss_vid=${V1}` }, cookies: {} };
  assert.deepEqual(sessionFromRequest(req), { sessionId: S1, visitorId: V1, source: 'cookie' });
});

test('a malformed value in req.cookies decides: null, the header is not tried', () => {
  const req = { headers: { cookie: `ss_sid=${S1}` }, cookies: { ss_sid: S1.toUpperCase(), ss_vid: { j: 1 } } };
  assert.deepEqual(sessionFromRequest(req), NONE);
});

test('only own properties of req.cookies are read (no __proto__ or inherited keys)', () => {
  const polluted = JSON.parse(`{"__proto__": {"ss_sid": "${S1}", "ss_vid": "${V1}"}}`);
  assert.deepEqual(sessionFromRequest({ headers: {}, cookies: polluted }), NONE);
  assert.deepEqual(sessionFromRequest({ headers: {}, cookies: Object.create({ ss_sid: S1 }) }), NONE);
  assert.deepEqual(sessionFromRequest({ headers: Object.create({ 'x-session-id': S1 }) }), NONE);
  assert.equal({}.ss_sid, undefined);
});

test('a null-prototype req.cookies map (Fastify-style) is read', () => {
  const cookies = Object.assign(Object.create(null), { ss_sid: S1, ss_vid: V2 });
  assert.deepEqual(sessionFromRequest({ headers: {}, cookies }), { sessionId: S1, visitorId: V2, source: 'cookie' });
});

// ---- cookies.get() stores: SvelteKit, Koa, bare ----

const store = (jar) => ({
  get: (name) => jar[name],
  getAll: () => Object.entries(jar).map(([name, value]) => ({ name, value })),
  set() {},
  delete() {},
  serialize: () => '',
});

test('a SvelteKit event { request, cookies } reads cookies.get', () => {
  const event = { request: fetchReq({}), cookies: store({ ss_sid: S1, ss_vid: V1 }) };
  assert.deepEqual(sessionFromRequest(event), { sessionId: S1, visitorId: V1, source: 'cookie' });
});

test('a SvelteKit event takes X-Session-ID from its request first', () => {
  const event = { request: fetchReq({ 'X-Session-ID': S2 }), cookies: store({ ss_sid: S1 }) };
  assert.deepEqual(sessionFromRequest(event), { sessionId: S2, visitorId: null, source: 'header' });
});

test('a bare cookie store with get(name) is read', () => {
  assert.deepEqual(sessionFromRequest(store({ ss_sid: S1, ss_vid: V1 })), {
    sessionId: S1,
    visitorId: V1,
    source: 'cookie',
  });
  assert.deepEqual(sessionFromRequest(new Map([['ss_sid', S2]])), { sessionId: S2, visitorId: null, source: 'cookie' });
});

const koaCtx = (headers, jar) => {
  const req = { headers };
  return {
    req,
    request: { headers, req },
    headers,
    get: (field) => headers[field.toLowerCase()] ?? '',
    cookies: { get: (name, opts) => (opts ? undefined : jar[name]), set() {} },
  };
};

test('a Koa ctx reads ctx.cookies.get, not ctx.get', () => {
  const r = sessionFromRequest(koaCtx({ cookie: `ss_sid=${S2}` }, { ss_sid: S1, ss_vid: V1 }));
  assert.deepEqual(r, { sessionId: S1, visitorId: V1, source: 'cookie' });
});

test('a Koa ctx takes X-Session-ID from its headers first', () => {
  const r = sessionFromRequest(koaCtx({ 'x-session-id': S2 }, { ss_sid: S1 }));
  assert.deepEqual(r, { sessionId: S2, visitorId: null, source: 'header' });
});

test('a Koa-like ctx with headers only on ctx.request is read', () => {
  const r = sessionFromRequest({ request: { headers: { 'x-session-id': S1 } } });
  assert.deepEqual(r, { sessionId: S1, visitorId: null, source: 'header' });
});

// ---- h3 / Nuxt, Hono ----

test('an h3 v1 event is read through event.node.req', () => {
  const event = { node: { req: { headers: { cookie: `ss_sid=${S1}; ss_vid=${V1}` } }, res: {} }, context: {} };
  assert.deepEqual(sessionFromRequest(event), { sessionId: S1, visitorId: V1, source: 'cookie' });
  event.node.req.headers['x-session-id'] = S2;
  assert.deepEqual(sessionFromRequest(event), { sessionId: S2, visitorId: V1, source: 'header' });
});

test('an h3 v2 event is read through event.headers (a Headers) or event.req (a Request)', () => {
  const headers = new Headers({ cookie: `ss_sid=${S1}` });
  assert.deepEqual(sessionFromRequest({ headers, context: {} }), { sessionId: S1, visitorId: null, source: 'cookie' });
  const event = { req: fetchReq({ 'x-session-id': S2 }), context: {} };
  assert.deepEqual(sessionFromRequest(event), { sessionId: S2, visitorId: null, source: 'header' });
});

test('a Hono context is read through c.req.raw', () => {
  const c = { req: { raw: fetchReq({ cookie: `ss_sid=${S1}` }), header: () => undefined }, json() {} };
  assert.deepEqual(sessionFromRequest(c), { sessionId: S1, visitorId: null, source: 'cookie' });
});

// ---- raw cookie string ----

test('a raw cookie header string gives both cookies', () => {
  assert.deepEqual(sessionFromRequest(`a=b; ss_sid=${S1}; ss_vid=${V1}`), {
    sessionId: S1,
    visitorId: V1,
    source: 'cookie',
  });
  assert.deepEqual(sessionFromRequest(`ss_vid=${V2}`), { sessionId: null, visitorId: V2, source: null });
  assert.deepEqual(sessionFromRequest(''), NONE);
});

// ---- cookie parsing rules ----

test('the first occurrence of a cookie name decides', () => {
  assert.equal(sessionFromRequest(`ss_sid=${S1}; ss_sid=${S2}`).sessionId, S1);
  assert.equal(sessionFromRequest(`ss_sid=evil; ss_sid=${S2}`).sessionId, null);
  assert.equal(sessionFromRequest(`ss_vid=${V1};ss_vid=${V2}`).visitorId, V1);
});

test('cookies whose name merely contains ss_sid or differs in case are ignored', () => {
  for (const c of [`xss_sid=${S1}`, `ss_sid2=${S1}`, `SS_SID=${S1}`, `ss_sid_=${S1}`, `${S1}`, `ss_sid`]) {
    assert.equal(sessionFromRequest(c).sessionId, null, c);
  }
  assert.equal(sessionFromRequest(`xss_sid=${S2}; ss_sid=${S1}`).sessionId, S1);
  assert.equal(sessionFromRequest(`  ss_sid  =  ${S1}  `).sessionId, S1);
});

test('a quoted cookie value is unquoted', () => {
  assert.deepEqual(sessionFromRequest(`ss_sid="${S1}"; ss_vid="${V1}"`), {
    sessionId: S1,
    visitorId: V1,
    source: 'cookie',
  });
  assert.equal(sessionFromRequest(`ss_sid="${S1}`).sessionId, null);
});

test('a percent-encoded cookie value is decoded only when that yields a valid id', () => {
  assert.equal(sessionFromRequest(`ss_sid=${S1.replace('_', '%5F')}`).sessionId, S1);
  assert.equal(sessionFromRequest(`ss_sid=${S1}%0A`).sessionId, null);
  assert.equal(sessionFromRequest(`ss_sid=${S1}%`).sessionId, null);
  assert.equal(sessionFromRequest(`ss_sid=%E0%A4%A`).sessionId, null);
});

test('hostile cookie values give null', () => {
  const upper = S1.replace('sess_', '').toUpperCase();
  for (const c of [
    `ss_sid=${S1}\r\nSet-Cookie: admin=1`,
    `ss_sid=${S1}\nSet-Cookie: admin=1`,
    `ss_sid="${S1};evil"`,
    `ss_sid=${S1}, ss_sid=evil`,
    `ss_sid=${S1},ss_vid=${V1}`,
    `ss_sid=${V1}`, // anon_ in ss_sid
    `ss_sid=sess_${upper}`,
    `ss_sid=${S1.toUpperCase()}`,
    `ss_sid=sess_018e0e5c-5a00-4abc-8def-0123456789ab`, // UUIDv4
    `ss_sid=${S1}x`,
    `ss_sid=<script>alert(1)</script>`,
    `ss_sid=${encodeURIComponent(`${S1}\r\n`)}`,
  ]) {
    assert.equal(sessionFromRequest(c).sessionId, null, JSON.stringify(c));
    assert.equal(sessionFromRequest({ headers: { cookie: c } }).sessionId, null, JSON.stringify(c));
  }
  assert.equal(sessionFromRequest(`ss_vid=${S1}`).visitorId, null); // sess_ in ss_vid
  assert.equal(sessionFromRequest(`ss_vid=${V1.toUpperCase()}`).visitorId, null);
});

test('a malformed X-Session-ID is ignored and the cookie is tried', () => {
  for (const bad of ['null', 'undefined', '', S1.toUpperCase(), `${S1}, ${S2}`, V1, 'sess_018e0e5c-5a00-4abc-8def-0123456789ab']) {
    const r = sessionFromRequest({ headers: { 'x-session-id': bad, cookie: `ss_sid=${S1}` } });
    assert.deepEqual(r, { sessionId: S1, visitorId: null, source: 'cookie' }, JSON.stringify(bad));
    assert.deepEqual(sessionFromRequest({ headers: { 'x-session-id': bad } }), NONE, JSON.stringify(bad));
  }
});

test('a Cookie header over 16 KiB is ignored whole; one at the limit is read', () => {
  const head = `ss_sid=${S1}; ss_vid=${V1}; pad=`;
  const atLimit = head + 'x'.repeat(16 * 1024 - head.length);
  assert.equal(atLimit.length, 16 * 1024);
  assert.deepEqual(sessionFromRequest(atLimit), { sessionId: S1, visitorId: V1, source: 'cookie' });
  const over = atLimit + 'x';
  assert.deepEqual(sessionFromRequest(over), NONE);
  assert.deepEqual(sessionFromRequest({ headers: { cookie: over } }), NONE);
  assert.deepEqual(sessionFromRequest(fetchReq({ cookie: over })), NONE);
  assert.deepEqual(sessionFromRequest({ headers: { cookie: [head, 'y'.repeat(16 * 1024)] } }), NONE);
});

test('an X-Session-ID over 16 KiB is ignored and the cookie is tried', () => {
  const r = sessionFromRequest({ headers: { 'x-session-id': S2 + ' '.repeat(16 * 1024), cookie: `ss_sid=${S1}` } });
  assert.deepEqual(r, { sessionId: S1, visitorId: null, source: 'cookie' });
});

// ---- never throws ----

test('never throws on odd input and gives all-null', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const hostileProxy = new Proxy(
    {},
    {
      get() {
        throw new Error('get');
      },
      has() {
        throw new Error('has');
      },
      ownKeys() {
        throw new Error('ownKeys');
      },
      getOwnPropertyDescriptor() {
        throw new Error('gopd');
      },
      getPrototypeOf() {
        throw new Error('proto');
      },
    },
  );
  const odd = [
    null,
    undefined,
    42,
    NaN,
    0n,
    true,
    Symbol('x'),
    [],
    [S1],
    {},
    { [Symbol('ss_sid')]: S1, [Symbol.for('x-session-id')]: S1 },
    () => S1,
    new String(`ss_sid=${S1}`),
    revoked.proxy,
    hostileProxy,
    { headers: null, cookies: null },
    { headers: 42, cookies: 'ss_sid' },
    {
      get headers() {
        throw new Error('boom');
      },
      get cookies() {
        throw new Error('boom');
      },
    },
    { headers: { get: () => { throw new Error('boom'); }, has() {}, append() {} } },
    { headers: {}, cookies: { get: () => { throw new Error('boom'); } } },
    { headers: { 'x-session-id': { toString: () => S1 }, cookie: { toString: () => `ss_sid=${S1}` } } },
    { node: { req: null } },
    { get: () => { throw new Error('boom'); } },
  ];
  odd.forEach((x, i) => {
    let r;
    assert.doesNotThrow(() => {
      r = sessionFromRequest(x);
    }, `odd input #${i}`);
    assert.deepEqual(r, NONE, `odd input #${i}`);
  });
});

test('a throwing part of the request does not hide the others', () => {
  const req = {
    headers: { 'x-session-id': S1 },
    get cookies() {
      throw new Error('boom');
    },
  };
  assert.deepEqual(sessionFromRequest(req), { sessionId: S1, visitorId: null, source: 'header' });
  const req2 = { headers: { cookie: `ss_vid=${V1}`, get ['x-session-id']() { throw new Error('boom'); } } };
  assert.deepEqual(sessionFromRequest(req2), { sessionId: null, visitorId: V1, source: null });
});

test('each call returns a fresh object', () => {
  const a = sessionFromRequest(null);
  a.sessionId = 'tampered';
  assert.deepEqual(sessionFromRequest(null), NONE);
});
