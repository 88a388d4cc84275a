// Fuzzing sessionFromRequest (js/server/request.js) with random input
// (README "Fuzzing"): cookie strings and headers made of random text, id
// fragments, separators, quotes and percent signs, in every request shape
// the helper reads, and hostile objects. For any input it never throws and
// never answers a malformed id. A seeded generator: a failure prints its
// seed and case, and becomes a sentence-named test in request.test.mjs.
// FUZZ_CASES sets the number of cases (default 3000; `npm run fuzz` runs the
// Rust targets, this one runs with `node --test tests/server/`).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { sessionFromRequest, isSessionId, isVisitorId } from '../../js/server.js';

const CASES = Number(process.env.FUZZ_CASES) || 3000;
const SEED = Number(process.env.FUZZ_SEED) || 0x5e55_1011;

const SESSION = 'sess_018e0e5c-5a00-7abc-8def-0123456789ab';
const VISITOR = 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7';
const SESSION_RE = /^sess_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VISITOR_RE = /^anon_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (xs) => xs[int(xs.length)];
  return { next, int, pick };
}

const PIECES = [
  'ss_sid',
  'ss_vid',
  ' ss_sid',
  'ss_sid ',
  'SS_SID',
  '=',
  '==',
  ';',
  '; ',
  ';;',
  ',',
  '"',
  '%',
  '%25',
  '%73ess_',
  '%zz',
  ' ',
  '\t',
  '\r\n',
  SESSION,
  VISITOR,
  SESSION.toUpperCase(),
  encodeURIComponent(SESSION).replace('_', '%5F'),
  `"${SESSION}"`,
  `"${VISITOR}`,
  'sess_',
  'anon_',
  '__proto__',
  'constructor',
  '\u0000',
  '\u00e9',
  '\ud83d',
  '😀',
];

/** Random text: id fragments, separators and random characters. */
function text(g, max = 12) {
  let s = '';
  const n = g.int(max);
  for (let i = 0; i < n; i++) {
    const r = g.next();
    if (r < 0.55) s += g.pick(PIECES);
    else if (r < 0.75) s += String.fromCharCode(32 + g.int(95));
    else if (r < 0.85) s += String.fromCharCode(g.int(0x10000));
    else {
      // An id with one character changed.
      const id = g.pick([SESSION, VISITOR]);
      const at = g.int(id.length);
      s += id.slice(0, at) + String.fromCharCode(32 + g.int(95)) + id.slice(at + 1);
    }
  }
  if (g.next() < 0.02) s = s.repeat(2000); // past the 16 KiB bound
  return s;
}

/** A value for a header or cookie slot: mostly text, sometimes anything. */
function value(g) {
  const r = g.next();
  if (r < 0.8) return text(g);
  if (r < 0.88) return [text(g), text(g)].slice(0, 1 + g.int(2));
  return g.pick([undefined, null, 42, {}, [], true, Symbol('s'), () => SESSION, { value: text(g) }, { value: 42 }]);
}

/** An object whose every access throws. */
const hostile = new Proxy(
  {},
  Object.fromEntries(
    ['get', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf'].map((trap) => [
      trap,
      () => {
        throw new Error(trap);
      },
    ]),
  ),
);

/** A request in one of the shapes the helper reads, built from random parts. */
function request(g) {
  const headers = () => {
    const h = {};
    const n = g.int(4);
    for (let i = 0; i < n; i++) h[g.pick(['cookie', 'Cookie', 'x-session-id', 'X-Session-ID', 'COOKIE', text(g, 3)])] = value(g);
    return h;
  };
  switch (g.int(10)) {
    case 0:
      return text(g, 20);
    case 1: {
      const h = new Headers();
      for (const [k, v] of Object.entries(headers())) {
        try {
          h.append(k, String(v));
        } catch {
          // A name or value Headers refuses: what a real request cannot carry.
        }
      }
      return new Request('https://app.example/x', { headers: h });
    }
    case 2:
      return { headers: headers() };
    case 3:
      return { headers: headers(), cookies: { ss_sid: value(g), ss_vid: value(g) } };
    case 4:
      return { cookies: { get: () => value(g) }, request: { headers: headers() } };
    case 5:
      return { node: { req: { headers: headers() } } };
    case 6:
      return { req: { raw: { headers: headers() } } };
    case 7:
      return { get: () => value(g) };
    case 8:
      return g.pick([hostile, { headers: hostile }, { cookies: hostile, headers: headers() }, { request: hostile }]);
    default:
      return value(g);
  }
}

test(`sessionFromRequest never throws and never answers a malformed id (${CASES} random requests)`, () => {
  const g = generator(SEED);
  for (let i = 0; i < CASES; i++) {
    const req = request(g);
    let found;
    try {
      found = sessionFromRequest(req);
    } catch (e) {
      assert.fail(`case ${i} (seed ${SEED}) threw ${e}: ${describe(req)}`);
    }
    const ok =
      JSON.stringify(Object.keys(found).sort()) === '["sessionId","source","visitorId"]' &&
      (found.sessionId === null || SESSION_RE.test(found.sessionId)) &&
      (found.visitorId === null || VISITOR_RE.test(found.visitorId)) &&
      [null, 'header', 'cookie'].includes(found.source) &&
      (found.source === null) === (found.sessionId === null);
    if (!ok) assert.fail(`case ${i} (seed ${SEED}): ${describe(req)} -> ${JSON.stringify(found)}`);
  }
});

test(`isSessionId and isVisitorId take anything and accept only the exact formats (${CASES} random values)`, () => {
  const g = generator(SEED + 1);
  for (let i = 0; i < CASES; i++) {
    const v = g.next() < 0.7 ? text(g) : value(g);
    const [s, a] = [isSessionId(v), isVisitorId(v)];
    assert.equal(s, typeof v === 'string' && SESSION_RE.test(v), `case ${i}: ${describe(v)}`);
    assert.equal(a, typeof v === 'string' && VISITOR_RE.test(v), `case ${i}: ${describe(v)}`);
  }
});

/** The case for a failure message, whatever it is (a hostile proxy too). */
function describe(x) {
  try {
    const json = JSON.stringify(x, (k, v) => (typeof v === 'symbol' || typeof v === 'function' ? String(v) : v));
    return json === undefined ? String(x) : json.slice(0, 300);
  } catch {
    return '(an object that throws when read)';
  }
}
