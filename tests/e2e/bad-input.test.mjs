// Bad input to the public browser API and to the options (README "API",
// "Options", "Consent"): the script-tag build in headless Chromium against
// the real collector. Each case loads a page of its own (its script tag's
// data- attributes, calls queued before the script, then a call made in the
// page) and asserts that the page threw nothing (the harness checks that
// after each test), that it printed at most one console warning, a clear one
// (`sessionmark: ...`), that nothing wrong reached the collector (no event
// named "undefined", no malformed id, no client id "[object Object]"), and
// that the tracker still works after it: a normal track() is stored.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_ID_RE, VISITOR_ID_RE, useSuite, waitFor } from './harness.mjs';

const T = { timeout: 60_000 };
const suite = useSuite();

let seq = 0;
const newClientId = () => `bad-${process.pid}-${Date.now().toString(36)}-${++seq}`;

/** A page with the script tag, served for one case; `attrs` are its extra data- attributes. */
function html(clientId, attrs = {}) {
  const data = Object.entries({ 'client-id': clientId, ...attrs })
    .map(([k, v]) => ` data-${k}="${v.replace(/"/g, '&quot;')}"`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>bad input</title>
<script src="/dist/sessionmark.js"${data}></script></head><body><p>bad input</p></body></html>`;
}

/** What may be stored besides the page's own events: the names a case tracks on purpose. */
const PAGE_EVENTS = ['screen_view', 'page_exit', 'after'];

/**
 * Runs one case:
 * - `attrs`: data- attributes of the script tag (data-client-id is the case's own);
 * - `queue`: calls on window.sessionmark.q before the script runs;
 * - `act`: a function run in the page after the start (serialized: self-contained);
 * - `warns`: how many console warnings the case earns (0 or 1);
 * - `names`: event names the case itself may store;
 * - `before`: a check in the page after `act`, before the tracker is used again;
 * - `consent`: the page waits for consent; it is given after `act` (and `before`);
 * - `clientId`: the client id the stored events carry, when the case changes it.
 */
async function run(c) {
  const clientId = newClientId();
  const page = await suite.t.newPage();
  const warnings = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  const path = `/bad-input/${encodeURIComponent(clientId)}.html`;
  await page.route(suite.collector.url + path, (route) =>
    route.fulfill({ contentType: 'text/html; charset=utf-8', body: html(clientId, c.attrs) }),
  );
  if (c.queue) await page.addInitScript(`window.sessionmark = { q: ${c.queue} };`);
  await page.goto(suite.collector.url + path);
  await page.waitForFunction(() => typeof window.sessionmark?.track === 'function', null, { timeout: 10_000 });
  if (c.act) await page.evaluate(c.act);
  if (c.before) assert.deepEqual(await page.evaluate(c.before), true, `${c.before}`);
  assert.ok(warnings.length <= 1, `at most one warning, got: ${JSON.stringify(warnings)}`);
  assert.equal(warnings.length, c.warns ?? 1, `warnings: ${JSON.stringify(warnings)}`);
  for (const w of warnings) assert.match(w, /^sessionmark: \S/, 'a warning says it is the tracker’s');

  // The tracker still works.
  const visitor = await page.evaluate((consent) => {
    const sm = window.sessionmark;
    if (consent) sm.setConsent(true);
    sm.track('after', { ok: true });
    sm.flush();
    return sm.getAnonymousId();
  }, !!c.consent);
  assert.match(visitor, VISITOR_ID_RE);
  const stored = await waitFor(
    async () => {
      const evs = (await suite.collector.allEvents({ clientId: c.clientId ?? clientId })).filter((e) => e.anonymous_id === visitor);
      return evs.some((e) => e.name === 'after') && evs;
    },
    { what: `the event tracked after the case (visitor ${visitor})`, timeout: 20_000 },
  );
  assert.equal(warnings.length, c.warns ?? 1, `no warning after the case either: ${JSON.stringify(warnings)}`);
  const allowed = [...PAGE_EVENTS, ...(c.names ?? [])];
  for (const e of stored) {
    assert.ok(allowed.includes(e.name), `an event named ${JSON.stringify(e.name)} was stored`);
    assert.match(e.session_id, SESSION_ID_RE);
    assert.equal(e.anonymous_id, visitor);
    assert.equal(typeof e.properties, 'object');
    assert.ok(!JSON.stringify(e).includes('[object Object]'), JSON.stringify(e));
  }
  assert.equal(stored.filter((e) => e.name === 'after').length, 1);
  if (c.stored) c.stored(stored);
  return stored;
}

/** Nothing stored by the tracker in the page: no storage key, no cookie. */
const nothingStored = () => localStorage.length === 0 && sessionStorage.length === 0 && document.cookie === '';

const consentCases = {
  "setConsent('false')": () => window.sessionmark.setConsent('false'),
  "setConsent('no')": () => window.sessionmark.setConsent('no'),
  "setConsent('true')": () => window.sessionmark.setConsent('true'),
  'setConsent({})': () => window.sessionmark.setConsent({}),
  'setConsent(1)': () => window.sessionmark.setConsent(1),
  'setConsent()': () => window.sessionmark.setConsent(),
  'setConsent(null)': () => window.sessionmark.setConsent(null),
  'setConsent(Symbol())': () => window.sessionmark.setConsent(Symbol('yes')),
};

describe('setConsent() with anything but true or false: ignored, nothing granted or withdrawn', () => {
  for (const [name, act] of Object.entries(consentCases)) {
    it(`${name} before consent grants nothing`, T, () =>
      run({ attrs: { 'require-consent': 'true' }, act, before: nothingStored, consent: true }),
    );
  }
  it("setConsent('false') after a grant withdraws nothing", T, () =>
    run({
      attrs: { 'require-consent': 'true' },
      queue: "[['setConsent', true]]",
      act: () => window.sessionmark.setConsent('false'),
      before: () => localStorage.getItem('did') !== null,
    }),
  );
});

const nameCases = {
  'track()': () => window.sessionmark.track(),
  'track(undefined)': () => window.sessionmark.track(undefined, { a: 1 }),
  'track(null)': () => window.sessionmark.track(null),
  'track(Symbol())': () => window.sessionmark.track(Symbol('x')),
  'track(42)': () => window.sessionmark.track(42),
  'track({})': () => window.sessionmark.track({}),
  'track([])': () => window.sessionmark.track(['a']),
  "track('')": () => window.sessionmark.track(''),
  "track('   ')": () => window.sessionmark.track(' \t '),
  'track(true)': () => window.sessionmark.track(true),
  'track(function)': () => window.sessionmark.track(() => 'x'),
  'track(10n)': () => window.sessionmark.track(10n),
  "track(new String('x'))": () => window.sessionmark.track(new String('x')),
};

describe('track() with a name that is not a non-empty string: refused', () => {
  for (const [name, act] of Object.entries(nameCases)) it(name, T, () => run({ act }));
});

describe('track() with properties that cannot be sent', () => {
  it("track('p', 'text'): not an object, sent without them", T, () =>
    run({ act: () => window.sessionmark.track('p', 'text'), names: ['p'] }),
  );
  it("track('p', [1, 2]): an array, sent without them", T, () =>
    run({ act: () => window.sessionmark.track('p', [1, 2]), names: ['p'] }),
  );
  it("track('p', 42)", T, () => run({ act: () => window.sessionmark.track('p', 42), names: ['p'] }));
  it('a function, a BigInt and a symbol among the values are dropped', T, () =>
    run({
      act: () => window.sessionmark.track('p', { keep: 1, f() {}, big: 10n, s: Symbol('s') }),
      names: ['p'],
      stored: (evs) => assert.deepEqual(evs.find((e) => e.name === 'p').properties, { keep: 1 }),
    }),
  );
  it('a cycle is dropped', T, () =>
    run({
      act: () => {
        const o = { keep: 'yes' };
        o.self = o;
        window.sessionmark.track('p', o);
      },
      names: ['p'],
      stored: (evs) => assert.equal(evs.find((e) => e.name === 'p').properties.keep, 'yes'),
    }),
  );
  it('properties over 16 KiB: the event is refused', T, () =>
    run({ act: () => window.sessionmark.track('p', { pad: 'x'.repeat(20_000) }) }),
  );
  it('a getter that throws is not the page’s problem', T, () =>
    run({
      act: () =>
        window.sessionmark.track('p', {
          get bad() {
            throw new Error('boom');
          },
        }),
    }),
  );
});

describe('the other calls with bad values', () => {
  it('identify(42)', T, () => run({ act: () => window.sessionmark.identify(42) }));
  it('identify(null)', T, () => run({ act: () => window.sessionmark.identify(null) }));
  it("identify('')", T, () => run({ act: () => window.sessionmark.identify('') }));
  it('identify() of 300 bytes', T, () =>
    run({
      act: () => window.sessionmark.identify('u'.repeat(300)),
      stored: (evs) => assert.ok(evs.every((e) => e.user_id === undefined)),
    }),
  );
  it("setGlobalProperties('x')", T, () =>
    run({
      act: () => window.sessionmark.setGlobalProperties('x'),
      stored: (evs) => assert.deepEqual(evs.find((e) => e.name === 'after').properties, { ok: true }),
    }),
  );
  it('setGlobalProperties() with a cycle', T, () =>
    run({
      act: () => {
        const o = { plan: 'pro' };
        o.o = o;
        window.sessionmark.setGlobalProperties(o);
      },
      stored: (evs) => {
        const { plan, ok } = evs.find((e) => e.name === 'after').properties;
        assert.deepEqual([plan, ok], ['pro', true], 'the globals kept, without the cycle');
      },
    }),
  );
  it("screenView('x')", T, () => run({ act: () => window.sessionmark.screenView('x') }));
  it('screenView() with properties over 16 KiB: the view goes without them', T, () =>
    run({ act: () => window.sessionmark.screenView({ pad: 'x'.repeat(20_000) }) }),
  );
  it('getSessionId() with ids not in the exact format: nothing adopted', T, () =>
    run({
      act: () => {
        const sm = window.sessionmark;
        const before = sm.getSessionId();
        const answers = [
          sm.getSessionId({ sessionId: 'sess_evil' }),
          sm.getSessionId('sessionId=' + before.toUpperCase()),
          sm.getSessionId(42),
          sm.getSessionId(new URLSearchParams({ sessionId: before + ' ' })),
        ];
        if (answers.some((a) => a !== before)) throw new Error('adopted: ' + answers);
      },
      warns: 0,
    }),
  );
  it('getAnonymousId() with an anonId that is not an id: nothing adopted', T, () =>
    run({
      act: () => {
        const sm = window.sessionmark;
        const before = sm.getAnonymousId();
        if (sm.getAnonymousId({ anonId: '<script>alert(1)</script>' }) !== before) throw new Error('adopted');
        if (localStorage.getItem('did') !== before) throw new Error('stored');
      },
      warns: 0,
    }),
  );
  it('getSessionId(Symbol()): answers null, one warning', T, () =>
    run({ act: () => window.sessionmark.getSessionId(Symbol('q')) }),
  );
  it('init() a second time', T, () => run({ act: () => window.sessionmark.init({ clientId: 'other' }) }));
});

describe('calls queued before the script', () => {
  it('an unknown call', T, () => run({ queue: "[['nope', 1]]" }));
  it('an entry that is not an array', T, () => run({ queue: "['track']" }));
  it('null among the calls', T, () => run({ queue: '[null]' }));
  it("['track'] without a name", T, () => run({ queue: "[['track']]" }));
  it('a call pushed after the start that is not a call', T, () => run({ act: () => window.sessionmark.q.push(42) }));
});

describe('options in init({...}) (a queued init) and data- attributes', () => {
  const init = (options) => `[['init', ${options}]]`;
  it('batchSize: -5 is clamped', T, () => run({ queue: init('{ batchSize: -5 }') }));
  it("batchSize: 'abc' keeps the default", T, () => run({ queue: init("{ batchSize: 'abc' }") }));
  it('sessionTimeout: 1e20 is clamped', T, () => run({ queue: init('{ sessionTimeout: 1e20 }') }));
  it('batchTimeout: NaN keeps the default', T, () => run({ queue: init('{ batchTimeout: NaN }') }));
  it("requireConsent: 'yes' keeps the default", T, () => run({ queue: init("{ requireConsent: 'yes' }") }));
  it('an unknown option', T, () => run({ queue: init('{ batchSzie: 3 }') }));
  it('clientId: {} keeps the default', T, () => run({ queue: init('{ clientId: {} }'), clientId: '' }));
  it('clientId: null keeps the default', T, () => run({ queue: init('{ clientId: null }'), clientId: '' }));
  it('clientId of 200 bytes keeps the default', T, () => run({ queue: init("{ clientId: 'c'.repeat(200) }"), clientId: '' }));
  it('endpoint: {} keeps the default', T, () => run({ queue: init('{ endpoint: {} }') }));
  it('endpoint: a function keeps the default', T, () => run({ queue: init('{ endpoint() {} }') }));
  it('tracingHeaders: [Symbol()] drops the entry', T, () => run({ queue: init("{ tracingHeaders: [Symbol('h')] }") }));
  it("cookieDomain: 'evil.example' is not this page's", T, () => run({ queue: init("{ cookieDomain: 'evil.example' }") }));
  it("init('text'): options that are not an object", T, () => run({ queue: "[['init', 'text']]" }));
  it('data-batch-size="abc"', T, () => run({ attrs: { 'batch-size': 'abc' } }));
  it('data-session-timeout="-5"', T, () => run({ attrs: { 'session-timeout': '-5' } }));
  it('data-enable-batching="maybe"', T, () => run({ attrs: { 'enable-batching': 'maybe' } }));
  it('data-batch-timeout="1.5e3"', T, () => run({ attrs: { 'batch-timeout': '1.5e3' } }));
  it('data-tracing-headers="a b,https://x/"', T, () => run({ attrs: { 'tracing-headers': 'a b,https://x/' } }));
  it('data-cookie-domain="evil.example"', T, () => run({ attrs: { 'cookie-domain': 'evil.example' } }));
  it('data-require-consent="1"', T, () => run({ attrs: { 'require-consent': '1' } }));
  it('an unknown data- attribute', T, () => run({ attrs: { 'bacth-size': '3' } }));
});
