// Backend pairing and consent, end to end: the built tracker (ES module,
// www/pairing.html) in headless Chromium against the real collector.
//
//   - ss_sid / ss_vid: the tab the user is using owns ss_sid (focus and
//     visibility changes are dispatched by the test: headless Chromium gives
//     every page focus and never switches tabs by itself).
//   - tracingHeaders: X-Session-ID on fetch/XHR to the listed host only, and
//     nothing else of a request changed (compared with a page that has no
//     tracker at all). The listed host is the collector as 127.0.0.1:PORT; the
//     unlisted one is the same collector as localhost:PORT.
//   - POST /v1/server-events joins a backend event to the browser session.
//   - Sealing (POST /v1/sessions/{id}/seal): the tab rotates on the answer to
//     its next batch, ss_sid follows, nothing is dropped.
//   - requireConsent: nothing stored or sent before setConsent(true).
//
// What was delivered is asserted on the collector's storage; Playwright's
// request events are used only for request headers, methods and fetch bodies
// (never beacon bodies). Every wait is a bounded poll; time moves only with
// page.clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_ID_RE, VISITOR_ID_RE, useSuite, waitFor } from './harness.mjs';

const T = { timeout: 90_000 };
const YEAR_S = 365 * 24 * 3600;

const suite = useSuite({ consoleLog: true });

// ---------------------------------------------------------------------------
// Helpers

/** The collector as the tracing option lists it (the pages' own origin). */
const listed = () => `127.0.0.1:${suite.collector.port}`;
/** The same collector under another loopback name: never listed. */
const unlisted = () => `localhost:${suite.collector.port}`;

let seq = 0;
/** A client id no other test (or earlier run against the same collector) uses. */
const newClientId = (tag) => `pair-${tag}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

/** A bounded poll whose failure message carries the pages' console output. */
function until(fn, what, timeout = 15_000) {
  return waitFor(fn, { timeout, what }).catch((e) => {
    e.message += `\npage console:\n${suite.consoleLog.slice(-30).join('\n') || '(nothing)'}`;
    throw e;
  });
}

/**
 * Opens www/pairing.html with these options (see www/pairing.js) and waits
 * until the page set window.sm. `host` picks the origin the page is loaded
 * from (127.0.0.1 by default).
 */
async function openPage(page, options = {}, { host = listed() } = {}) {
  const q = new URLSearchParams(Object.entries(options).map(([k, v]) => [k, String(v)]));
  await page.goto(`http://${host}/pairing.html?${q}`);
  await page.waitForFunction(() => window.pairingReady === true, null, { timeout: 10_000 });
}

const sessionOf = (page) => page.evaluate(() => window.sm.getSessionId());
const visitorOf = (page) => page.evaluate(() => window.sm.getAnonymousId());

/** The context's cookies for the pages' origin, by name. */
async function cookieJar(host = listed()) {
  const all = await suite.t.context.cookies(`http://${host}/`);
  return Object.fromEntries(all.map((c) => [c.name, c]));
}

/** Waits until the ss_sid cookie holds `sid`. */
async function untilSidCookie(sid, why) {
  let last = null;
  await until(async () => (last = (await cookieJar()).ss_sid?.value ?? null) === sid, `ss_sid = ${sid} (${why})`).catch((e) => {
    e.message = e.message.replace('\n', `\nss_sid is ${last}\n`);
    throw e;
  });
}

// The user leaves a tab (another tab or window comes to the front) or comes
// back to it. Headless pages never change focus or visibility on their own,
// so the test dispatches what the browser would.
function setPresence(page, { visible, focused }) {
  return page.evaluate(
    ({ visible, focused }) => {
      const vis = (state) => {
        Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      };
      // Leaving: blur, then hidden. Coming back: visible, then focus.
      if (focused === false) window.dispatchEvent(new FocusEvent('blur'));
      if (visible === false) vis('hidden');
      if (visible === true) vis('visible');
      if (focused === true) window.dispatchEvent(new FocusEvent('focus'));
    },
    { visible, focused },
  );
}
const leaveTab = (page) => setPresence(page, { visible: false, focused: false });
const enterTab = (page) => setPresence(page, { visible: true, focused: true });

/** Sends what the page queued and waits until the collector stored `names` for `sessionId`. */
async function flushUntilStored(page, sessionId, names) {
  await page.evaluate(() => window.sm.flush());
  return until(async () => {
    const evs = await suite.collector.events(sessionId);
    return names.every((n) => evs.some((e) => e.name === n)) && evs;
  }, `${names.join(', ')} stored for ${sessionId}`);
}

/**
 * Records every request the page makes: method, URL, headers as sent, and
 * the body (fetch and XHR bodies only; beacon bodies show up empty).
 */
function recordRequests(page) {
  const seen = [];
  page.on('request', (r) => {
    seen.push(
      r.allHeaders().then(
        (headers) => ({ method: r.method(), url: r.url(), headers, body: r.postData() }),
        () => ({ method: r.method(), url: r.url(), headers: r.headers(), body: r.postData() }),
      ),
    );
  });
  return {
    all: () => Promise.all(seen),
    /** Requests whose URL has `?case=name`. */
    async of(name) {
      return (await Promise.all(seen)).filter((x) => new URL(x.url).searchParams.get('case') === name);
    },
  };
}

/**
 * Makes the page fetch a marker URL and waits until Playwright reported that
 * request: any request the page made before it has been reported by then.
 */
async function settleRequests(page, rec) {
  const marker = `settle-${++seq}`;
  await page.evaluate((m) => fetch(`/healthz?case=${m}`).then((r) => r.text()), marker);
  await until(async () => (await rec.of(marker)).length > 0, `the marker request ${marker} was seen`);
}

/** A new page of this test's context that records its requests (recordRequests), opened as openPage does. */
async function openRecorded(options, where) {
  const page = await suite.t.newPage();
  const rec = recordRequests(page);
  await openPage(page, options, where);
  return { page, rec };
}

/**
 * Two tabs with the same options: A (recording its requests) opens first and
 * its load's screen_view is stored; the user leaves A, tab B opens in front
 * and ss_sid turns to B's session (`why` names that wait in its failure message).
 */
async function openTabsAThenB(options, why = 'tab B in front') {
  const { page: a, rec: recA } = await openRecorded(options);
  const sidA = await sessionOf(a);
  await flushUntilStored(a, sidA, ['screen_view']);
  await leaveTab(a);
  const b = await suite.t.newPage();
  await openPage(b, options);
  const sidB = await sessionOf(b);
  await untilSidCookie(sidB, why);
  return { a, recA, sidA, b, sidB };
}

/** The did* keys of localStorage and sessionStorage. */
function trackerStorage(page) {
  return page.evaluate(() => {
    const keys = (s) => Array.from({ length: s.length }, (_, i) => s.key(i)).filter((k) => k.startsWith('did'));
    return { local: keys(localStorage), session: keys(sessionStorage) };
  });
}

const ssCookies = async () => Object.keys(await cookieJar()).filter((n) => n.startsWith('ss_'));

/** POST /v1/sessions/{id}/seal. */
async function seal(sessionId) {
  const res = await fetch(`${suite.collector.url}/v1/sessions/${encodeURIComponent(sessionId)}/seal`, { method: 'POST' });
  const text = await res.text();
  assert.equal(res.status, 200, `sealing ${sessionId}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------

describe('ss_sid follows the tab the user is using; ss_vid is the visitor', () => {
  it('two tabs of one browser: each keeps its session, and switching between them flips ss_sid', T, async () => {
    const clientId = newClientId('cookies');
    const a = await suite.t.newPage();
    await openPage(a, { clientId });
    const sidA = await sessionOf(a);
    assert.match(sidA, SESSION_ID_RE);
    await untilSidCookie(sidA, 'tab A started with focus');

    // Opening tab B puts A in the background; B starts focused.
    await leaveTab(a);
    const b = await suite.t.newPage();
    await openPage(b, { clientId });
    const sidB = await sessionOf(b);
    assert.match(sidB, SESSION_ID_RE);
    assert.notEqual(sidB, sidA, 'each tab has a session of its own');
    await untilSidCookie(sidB, 'tab B started with focus');

    // One visitor: both tabs and the ss_vid cookie agree.
    const vid = await visitorOf(a);
    assert.match(vid, VISITOR_ID_RE);
    assert.equal(await visitorOf(b), vid, 'both tabs have the same visitor id');

    const jar = await cookieJar();
    assert.equal(jar.ss_vid?.value, vid, 'ss_vid holds the visitor id');
    for (const c of [jar.ss_vid, jar.ss_sid]) {
      assert.equal(c.path, '/', `${c.name}: Path=/`);
      assert.equal(c.sameSite, 'Lax', `${c.name}: SameSite=Lax`);
      assert.equal(c.secure, false, `${c.name}: no Secure on http`);
      assert.equal(c.httpOnly, false, `${c.name}: written by the page`);
    }
    const yearLeft = jar.ss_vid.expires - Date.now() / 1000;
    assert.ok(Math.abs(yearLeft - YEAR_S) < 3600, `ss_vid lives one year (Max-Age); expires in ${Math.round(yearLeft)} s`);
    assert.equal(jar.ss_sid.expires, -1, 'ss_sid is a browser-session cookie');

    // Tab switches (the tab left is blurred and hidden, the tab entered
    // becomes visible and gets focus), then two windows side by side: B is
    // uncovered (visible) while A keeps focus, and focus alone moves between them.
    const tabs = { A: [a, sidA], B: [b, sidB] };
    const switchTab = async (from, to) => (await leaveTab(from), await enterTab(to));
    const focusOnly = async (from, to) => (await setPresence(from, { focused: false }), await setPresence(to, { focused: true }));
    const steps = [
      ['B', 'A', 'tab switch', switchTab],
      ['A', 'B', 'tab switch', switchTab],
      ['B', 'A', 'tab switch', switchTab],
      ['A', 'B', 'B uncovered, A keeps focus', (from, to) => setPresence(to, { visible: true })],
      ['A', 'B', 'click into B (focus only)', focusOnly],
      ['B', 'A', 'click into A (focus only)', focusOnly],
      ['A', 'B', 'click into B (focus only)', focusOnly],
    ];
    for (const [from, to, how, step] of steps) {
      await step(tabs[from][0], tabs[to][0]);
      await untilSidCookie(tabs[to][1], `${how}: ${from} → ${to}`);
    }

    // The switches changed neither tab's session nor the visitor.
    assert.equal(await sessionOf(a), sidA);
    assert.equal(await sessionOf(b), sidB);
    assert.equal((await cookieJar()).ss_vid?.value, vid);

    // Both sessions reached the collector under the same visitor.
    for (const [page, sid] of [tabs.A, tabs.B]) {
      const evs = await flushUntilStored(page, sid, ['screen_view']);
      assert.ok(evs.every((e) => e.anonymous_id === vid && e.session_id === sid), `the events of ${sid} carry it and visitor ${vid}`);
    }
  });

  it('a tab that missed its blur still takes ss_sid back when it gains focus or becomes visible', T, async () => {
    const clientId = newClientId('missedblur');
    const a = await suite.t.newPage();
    await openPage(a, { clientId });
    const sidA = await sessionOf(a);
    await untilSidCookie(sidA, 'tab A started with focus');
    // Tab B opens in front, but A never hears a blur: it still believes it has focus.
    const b = await suite.t.newPage();
    await openPage(b, { clientId });
    const sidB = await sessionOf(b);
    await untilSidCookie(sidB, 'tab B started with focus');

    await setPresence(a, { focused: true });
    await untilSidCookie(sidA, 'A gains focus (no blur before it)');
    await setPresence(b, { visible: true });
    await untilSidCookie(sidB, 'B becomes visible (never hidden before)');
  });

  it('ss_vid is written on every load; a reload keeps the tab session and its ss_sid', T, async () => {
    const clientId = newClientId('reload');
    const a = await suite.t.newPage();
    await openPage(a, { clientId });
    await leaveTab(a);
    const b = await suite.t.newPage();
    await openPage(b, { clientId });
    const sidB = await sessionOf(b);
    const vid = await visitorOf(b);
    await untilSidCookie(sidB, 'B opened in front');

    // Both cookies gone (say, a privacy tool removed them): the next load of
    // the focused tab writes them again, with the same ids.
    await suite.t.context.clearCookies();
    assert.deepEqual(await ssCookies(), []);
    await b.reload();
    await b.waitForFunction(() => window.pairingReady === true, null, { timeout: 10_000 });
    assert.equal(await sessionOf(b), sidB, 'a reload keeps the tab session');
    assert.equal(await visitorOf(b), vid, 'and the visitor');
    await untilSidCookie(sidB, 'B reloaded with focus');
    assert.equal((await cookieJar()).ss_vid?.value, vid, 'ss_vid written again by the load');
  });
  it('a tab opened in the background does not take ss_sid until the user switches to it', T, async () => {
    const clientId = newClientId('bg-open');
    const a = await suite.t.newPage();
    await openPage(a, { clientId });
    const sidA = await sessionOf(a);
    await untilSidCookie(sidA, 'A in front');

    // Opened with a middle click: hidden and without focus from the start
    // (set before any page script runs).
    const b = await suite.t.newPage();
    await b.addInitScript(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.hasFocus = () => false;
    });
    await openPage(b, { clientId });
    const sidB = await sessionOf(b);
    assert.notEqual(sidB, sidA);
    assert.equal((await cookieJar()).ss_sid?.value, sidA, 'a background load leaves ss_sid to the tab in front');
    assert.equal((await cookieJar()).ss_vid?.value, await visitorOf(b), 'it still writes ss_vid');

    await leaveTab(a);
    await enterTab(b);
    await untilSidCookie(sidB, 'the user switched to B');
  });
});

describe('tracingHeaders: X-Session-ID to the listed hosts only', () => {
  it('a fetch to a listed host carries this tab’s session and the server event joins it; an unlisted host gets nothing', T, async () => {
    const clientId = newClientId('trace');
    // Tab B opens last and owns ss_sid: the header (exact per tab) must
    // still pair tab A's request with tab A's session, not B's.
    const { a, recA, sidA, sidB } = await openTabsAThenB({ clientId, trace: listed() });

    const post = (url, props) =>
      a.evaluate(
        async ({ url, props }) => {
          const res = await fetch(url, { method: 'POST', body: JSON.stringify({ name: 'purchase', properties: props }) });
          return { status: res.status, body: await res.text() };
        },
        { url, props },
      );

    // Listed host, absolute URL.
    const abs = await post(`http://${listed()}/v1/server-events?case=listed`, { order: 'A-1', total: 42 });
    assert.equal(abs.status, 200, `server event via the listed host: ${abs.body}`);
    const answer = JSON.parse(abs.body);
    assert.equal(answer.session_id, sidA, 'joined to tab A’s session (the header), not to the ss_sid cookie (tab B)');
    assert.equal(answer.source, 'header');
    // Listed host, relative URL: the host is the page's own.
    const rel = await post(`/v1/server-events?case=relative`, { order: 'A-2' });
    assert.equal(rel.status, 200, `server event via a relative URL: ${rel.body}`);
    assert.equal(JSON.parse(rel.body).session_id, sidA);

    // Unlisted host (same collector, other name): no header and, cross-site,
    // no cookie either, so the collector cannot pair it.
    const un = await post(`http://${unlisted()}/v1/server-events?case=unlisted`, { order: 'A-3' });
    assert.equal(un.status, 400, `an unlisted request carries no session: ${un.body}`);
    // Unlisted host whose URL merely mentions the listed one.
    const sly = await post(`http://${unlisted()}/v1/server-events?case=mention&u=http://${listed()}/`, { order: 'A-4' });
    assert.equal(sly.status, 400, `a URL only naming the listed host is not traced: ${sly.body}`);

    const header = async (name) => {
      const reqs = (await recA.of(name)).filter((r) => r.method !== 'OPTIONS');
      assert.equal(reqs.length, 1, `one request seen for case ${name}`);
      return reqs[0].headers['x-session-id'];
    };
    assert.equal(await header('listed'), sidA, 'X-Session-ID on the listed host is this tab’s getSessionId()');
    assert.equal(await header('relative'), sidA);
    assert.equal(await header('unlisted'), undefined, 'no X-Session-ID to an unlisted host');
    assert.equal(await header('mention'), undefined, 'no X-Session-ID when the listed host is only in the query');
    assert.deepEqual(
      (await recA.all()).filter((r) => r.method === 'OPTIONS').map((r) => r.url),
      [],
      'no CORS preflight was caused by a header on an unlisted host',
    );
    // The collector's own host is listed here: the tracker's batches still
    // go without the header (a header would make each one preflighted).
    const batches = (await recA.all()).filter((r) => new URL(r.url).pathname === '/v1/batch');
    assert.ok(batches.length > 0, 'tab A sent its screen_view in a batch');
    assert.deepEqual(
      batches.map((r) => r.headers['x-session-id']).filter(Boolean),
      [],
      'no X-Session-ID on the tracker’s own batches',
    );

    // The collector stored the server events in tab A's session, none in B's.
    const evsA = await until(async () => {
      const evs = (await suite.collector.events(sidA)).filter((e) => e.name === 'purchase');
      return evs.length === 2 && evs;
    }, `two purchase events in ${sidA}`);
    assert.deepEqual(evsA.map((e) => e.properties.order).sort(), ['A-1', 'A-2']);
    const p1 = evsA.find((e) => e.properties.order === 'A-1');
    assert.equal(p1.properties.total, 42);
    assert.equal(p1.session_id, sidA);
    assert.equal(p1.anonymous_id, await visitorOf(a), 'the server event carries the visitor of the browser session');
    assert.equal(p1.event_id, answer.event_id);
    assert.deepEqual((await suite.collector.events(sidB)).filter((e) => e.name === 'purchase'), [], 'nothing joined to tab B');
    assert.equal((await suite.collector.allEvents()).filter((e) => e.name === 'purchase' && /^A-[34]$/.test(e.properties?.order)).length, 0);
  });

  it('a cross-origin API host that is listed gets the header (CORS preflight allowed), pairing without cookies', T, async () => {
    // The page is served as localhost:PORT and lists 127.0.0.1:PORT: the
    // usual "API on another host" setup. No cookie crosses sites, so only the
    // header can pair the request.
    const clientId = newClientId('xorigin');
    const { page, rec } = await openRecorded({ clientId, trace: listed() }, { host: unlisted() });
    const sid = await sessionOf(page);
    await flushUntilStored(page, sid, ['screen_view']);

    const res = await page.evaluate(async (url) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'purchase', properties: { order: 'X-1' } }),
      });
      return { status: r.status, body: await r.text() };
    }, `http://${listed()}/v1/server-events?case=xorigin`);
    assert.equal(res.status, 200, `cross-origin server event: ${res.body}`);
    assert.equal(JSON.parse(res.body).session_id, sid);
    assert.equal(JSON.parse(res.body).source, 'header');
    const [sent] = (await rec.of('xorigin')).filter((r) => r.method === 'POST');
    assert.equal(sent.headers['x-session-id'], sid);
    assert.equal(sent.headers.cookie, undefined, 'no cookie went cross-site');
    await until(async () => (await suite.collector.events(sid)).some((e) => e.name === 'purchase' && e.properties.order === 'X-1'), `purchase X-1 in ${sid}`);
  });
});

// ---------------------------------------------------------------------------
// "Exactly as without the tracker": the same calls on a traced page and on a
// page without any tracker (same browser context, so the same cookies).

/**
 * Runs the fetch scenarios in the page; returns each call's outcome. Every
 * URL carries ?case=NAME so the requests can be matched across pages.
 * `listedHost` / `unlistedHost` are host:port.
 */
function fetchScenarios(page, listedHost, unlistedHost) {
  return page.evaluate(
    async ({ listedHost, unlistedHost }) => {
      const url = (name, host = listedHost, path = '/v1/nowhere') => `http://${host}${path}?case=${name}`;
      const outcome = async (p, reason) => {
        try {
          const r = await p;
          return {
            ok: r.ok,
            status: r.status,
            statusText: r.statusText,
            type: r.type,
            redirected: r.redirected,
            contentType: r.headers.get('content-type'),
            text: await r.text(),
          };
        } catch (e) {
          return { error: { name: e?.name, message: e?.message, isTheReason: reason !== undefined && e === reason } };
        }
      };
      const out = {};
      // A Request object with a body, method, custom headers.
      out.requestPost = await outcome(
        fetch(
          new Request(url('requestPost'), {
            method: 'POST',
            body: JSON.stringify({ a: 1, s: 'ünïcödé' }),
            headers: { 'Content-Type': 'application/json', 'X-Custom': 'req-post', Accept: 'application/json' },
          }),
        ),
      );
      // A Request with PUT and credentials: 'omit'.
      out.requestPutOmit = await outcome(
        fetch(new Request(url('requestPutOmit'), { method: 'PUT', body: 'put body', credentials: 'omit', headers: { 'X-Custom': 'req-put' } })),
      );
      // A Request plus init headers: the init's headers replace the Request's.
      out.requestInitHeaders = await outcome(
        fetch(new Request(url('requestInitHeaders'), { method: 'POST', body: 'r', headers: { 'X-Custom': 'from-request' } }), {
          headers: { 'X-Other': 'from-init' },
        }),
      );
      // A Request plus an init overriding method and body.
      out.requestInitBody = await outcome(
        fetch(new Request(url('requestInitBody'), { method: 'POST', body: 'old', headers: { 'X-Custom': 'keep' } }), { method: 'PUT', body: 'new body' }),
      );
      // URL string + init: PUT, body, headers as a plain object, credentials omit.
      out.putOmit = await outcome(
        fetch(url('putOmit'), { method: 'PUT', body: 'plain text body', headers: { 'X-Custom': 'put', 'Content-Type': 'text/plain' }, credentials: 'omit' }),
      );
      // Headers as an array of pairs and as a Headers object; URLSearchParams and Blob bodies.
      out.postPairs = await outcome(
        fetch(url('postPairs'), { method: 'POST', body: new URLSearchParams({ q: 'a b', n: '1' }), headers: [['X-Custom', 'pairs'], ['X-Two', '2']] }),
      );
      out.postHeadersObject = await outcome(
        fetch(url('postHeadersObject'), {
          method: 'POST',
          body: new Blob(['blob-bytes'], { type: 'application/octet-stream' }),
          headers: new Headers({ 'X-Custom': 'headers-object' }),
        }),
      );
      // A URL object as input; default credentials (cookies go same-origin).
      out.urlObject = await outcome(fetch(new URL(url('urlObject', listedHost, '/healthz'))));
      // Unlisted host, simple GET (cross-origin, CORS allowed).
      out.unlistedGet = await outcome(fetch(url('unlistedGet', unlistedHost, '/healthz')));
      // Abort: before the call, with the default reason and with our own.
      let c = new AbortController();
      c.abort();
      out.abortedBefore = await outcome(fetch(url('abortedBefore'), { method: 'POST', body: 'x', signal: c.signal }));
      c = new AbortController();
      const reason = new TypeError('my own reason');
      c.abort(reason);
      out.abortedReason = await outcome(fetch(url('abortedReason'), { signal: c.signal }), reason);
      // A Request carrying its signal, aborted after the Request was built.
      c = new AbortController();
      const r = new Request(url('abortedRequest'), { method: 'POST', body: 'x', signal: c.signal, headers: { 'X-Custom': 'r' } });
      c.abort();
      out.abortedRequest = await outcome(fetch(r));
      // Aborted while in flight.
      c = new AbortController();
      const p = fetch(url('abortedInFlight', listedHost, '/healthz'), { signal: c.signal });
      c.abort();
      out.abortedInFlight = await outcome(p);
      // An unaborted signal passes through untouched (the request completes).
      c = new AbortController();
      out.liveSignal = await outcome(fetch(url('liveSignal', listedHost, '/healthz'), { signal: c.signal }));
      // Errors of the caller stay the caller's: a GET with a body throws TypeError.
      out.getWithBody = await outcome(Promise.resolve().then(() => fetch(url('getWithBody'), { method: 'GET', body: 'x' })));
      return out;
    },
    { listedHost, unlistedHost },
  );
}

/** The same for XMLHttpRequest. */
function xhrScenarios(page, listedHost, unlistedHost) {
  return page.evaluate(
    async ({ listedHost, unlistedHost }) => {
      const url = (name, host = listedHost, path = '/v1/nowhere') => `http://${host}${path}?case=${name}`;
      const run = (setup) =>
        new Promise((resolve) => {
          const x = new XMLHttpRequest();
          x.onloadend = () => resolve({ status: x.status, text: x.responseText });
          x.onerror = () => resolve({ error: 'error', status: x.status });
          try {
            setup(x);
          } catch (e) {
            resolve({ thrown: e.name });
          }
        });
      const out = {};
      out.xhrListedPost = await run((x) => {
        x.open('POST', url('xhrListedPost'));
        x.setRequestHeader('X-Custom', 'xhr');
        x.setRequestHeader('Content-Type', 'application/json');
        x.send(JSON.stringify({ xhr: true }));
      });
      out.xhrListedPut = await run((x) => {
        x.open('PUT', url('xhrListedPut', listedHost, '/v1/nowhere'), true);
        x.send('put via xhr');
      });
      out.xhrUnlistedGet = await run((x) => {
        x.open('GET', url('xhrUnlistedGet', unlistedHost, '/healthz'));
        x.send();
      });
      // Reopened: first to the listed host, then to the unlisted one.
      out.xhrReopened = await run((x) => {
        x.open('GET', url('xhrReopenedFirst'));
        x.open('GET', url('xhrReopened', unlistedHost, '/healthz'));
        x.send();
      });
      // And the other way round.
      out.xhrReopenedListed = await run((x) => {
        x.open('GET', url('xhrReopenedListedFirst', unlistedHost, '/healthz'));
        x.open('GET', url('xhrReopenedListed', listedHost, '/healthz'));
        x.send();
      });
      // send() before open() throws as usual.
      out.xhrNotOpened = await run((x) => x.send());
      return out;
    },
    { listedHost, unlistedHost },
  );
}

/** Headers of a request without those that legitimately differ between the two pages. */
function comparable(headers) {
  const h = { ...headers };
  delete h['x-session-id']; // what the tracker adds
  delete h.referer; // the two pages' URLs differ in their query
  return h;
}

describe('tracingHeaders leave everything else of a request alone', () => {
  it('fetch: Request objects, bodies, methods, headers, credentials and abort signals behave as without the tracker', T, async () => {
    const clientId = newClientId('same');
    const { page: traced, rec: recT } = await openRecorded({ clientId, trace: listed() });
    const sid = await sessionOf(traced);
    const { page: plain, rec: recP } = await openRecorded({ tracker: 0 });
    assert.equal(await plain.evaluate(() => window.sm), null, 'the baseline page has no tracker');

    const withT = await fetchScenarios(traced, listed(), unlisted());
    const withoutT = await fetchScenarios(plain, listed(), unlisted());
    assert.deepEqual(withT, withoutT, 'every fetch resolves or rejects the same with and without the tracker');

    // Sanity of the baseline itself: aborts reject, our reason is the rejection.
    for (const name of ['abortedBefore', 'abortedRequest', 'abortedInFlight']) {
      assert.equal(withT[name].error?.name, 'AbortError', `${name} rejects with AbortError`);
    }
    assert.deepEqual(withT.abortedReason.error, { name: 'TypeError', message: 'my own reason', isTheReason: true });
    assert.equal(withT.getWithBody.error?.name, 'TypeError');
    assert.equal(withT.requestPost.status, 404);
    assert.equal(withT.urlObject.text, 'ok');
    assert.equal(withT.unlistedGet.text, 'ok');

    await settleRequests(traced, recT);
    await settleRequests(plain, recP);
    const expectHeader = {
      requestPost: true,
      requestPutOmit: true,
      requestInitHeaders: true,
      requestInitBody: true,
      putOmit: true,
      postPairs: true,
      postHeadersObject: true,
      urlObject: true,
      liveSignal: true,
      unlistedGet: false,
    };
    for (const [name, header] of Object.entries(expectHeader)) {
      const [a] = await recT.of(name);
      const [b] = await recP.of(name);
      assert.ok(a && b, `case ${name} was requested on both pages`);
      assert.equal(a.method, b.method, `${name}: same method`);
      assert.equal(a.body, b.body, `${name}: same body`);
      assert.deepEqual(comparable(a.headers), comparable(b.headers), `${name}: same headers apart from X-Session-ID`);
      assert.equal(b.headers['x-session-id'], undefined, `${name}: no X-Session-ID without the tracker`);
      assert.equal(a.headers['x-session-id'], header ? sid : undefined, `${name}: X-Session-ID ${header ? 'added' : 'absent'}`);
    }
    // Spot checks that the calls were what they claim to be.
    const [rp] = await recT.of('requestPost');
    assert.equal(rp.method, 'POST');
    assert.equal(rp.body, JSON.stringify({ a: 1, s: 'ünïcödé' }));
    assert.equal(rp.headers['x-custom'], 'req-post');
    assert.equal(rp.headers['content-type'], 'application/json');
    const [omit] = await recT.of('putOmit');
    assert.equal(omit.method, 'PUT');
    assert.equal(omit.headers.cookie, undefined, "credentials: 'omit' sends no cookie");
    const [reqOmit] = await recT.of('requestPutOmit');
    assert.equal(reqOmit.headers.cookie, undefined, "a Request with credentials: 'omit' sends no cookie");
    const [withCookies] = await recT.of('urlObject');
    assert.match(withCookies.headers.cookie ?? '', /ss_sid=/, 'default credentials send the cookies same-origin');
    const [ih] = await recT.of('requestInitHeaders');
    assert.equal(ih.headers['x-custom'], undefined, "init headers replace the Request's, as fetch does");
    assert.equal(ih.headers['x-other'], 'from-init');
    assert.equal(ih.body, 'r');
    const [ib] = await recT.of('requestInitBody');
    assert.equal(ib.method, 'PUT');
    assert.equal(ib.body, 'new body');
    assert.equal(ib.headers['x-custom'], 'keep');
    // Aborted before sending: no request on either page.
    for (const name of ['abortedBefore', 'abortedReason', 'abortedRequest']) {
      assert.equal((await recT.of(name)).length, 0, `${name}: nothing sent with the tracker`);
      assert.equal((await recP.of(name)).length, 0, `${name}: nothing sent without it`);
    }
  });

  it('XMLHttpRequest: the listed host gets X-Session-ID, an unlisted one not, and nothing else changes', T, async () => {
    const clientId = newClientId('xhr');
    const { page: traced, rec: recT } = await openRecorded({ clientId, trace: listed() });
    const sid = await sessionOf(traced);
    const { page: plain, rec: recP } = await openRecorded({ tracker: 0 });

    const withT = await xhrScenarios(traced, listed(), unlisted());
    const withoutT = await xhrScenarios(plain, listed(), unlisted());
    assert.deepEqual(withT, withoutT, 'every XHR ends the same with and without the tracker');
    assert.equal(withT.xhrUnlistedGet.text, 'ok');
    assert.equal(withT.xhrNotOpened.thrown, 'InvalidStateError');

    await settleRequests(traced, recT);
    await settleRequests(plain, recP);
    const expectHeader = { xhrListedPost: true, xhrListedPut: true, xhrUnlistedGet: false, xhrReopened: false, xhrReopenedListed: true };
    for (const [name, header] of Object.entries(expectHeader)) {
      const [a, ...moreA] = (await recT.of(name)).filter((r) => r.method !== 'OPTIONS');
      const [b] = (await recP.of(name)).filter((r) => r.method !== 'OPTIONS');
      assert.ok(a && b, `case ${name} was requested on both pages`);
      assert.equal(moreA.length, 0, `${name}: one request`);
      assert.equal(a.method, b.method, `${name}: same method`);
      assert.equal(a.body, b.body, `${name}: same body`);
      assert.deepEqual(comparable(a.headers), comparable(b.headers), `${name}: same headers apart from X-Session-ID`);
      assert.equal(a.headers['x-session-id'], header ? sid : undefined, `${name}: X-Session-ID ${header ? 'added' : 'absent'}`);
    }
    const [post] = await recT.of('xhrListedPost');
    assert.equal(post.body, JSON.stringify({ xhr: true }));
    assert.equal(post.headers['x-custom'], 'xhr');
    assert.deepEqual(
      (await recT.all()).filter((r) => r.method === 'OPTIONS').map((r) => r.url),
      [],
      'no preflight: nothing was added to unlisted cross-origin requests',
    );
  });
  // Inputs fetch and XHR accept that the tracker must read the way the browser
  // does. Each of these failed when written (fixed in 1b2c064).

  it('a Request made in another realm (an iframe) is traced by its own URL and keeps its own headers', T, async () => {
    const clientId = newClientId('realm');
    const { page, rec } = await openRecorded({ clientId, trace: listed() });
    const sid = await sessionOf(page);
    const out = await page.evaluate(
      async ({ listedHost, unlistedHost }) => {
        const frame = document.createElement('iframe');
        document.body.append(frame);
        const R = frame.contentWindow.Request;
        const a = await fetch(new R(`http://${unlistedHost}/healthz?case=realm-unlisted`));
        const b = await fetch(new R(`http://${listedHost}/v1/nowhere?case=realm-listed`, { method: 'POST', body: 'b', headers: { 'X-Custom': 'keep' } }));
        return [a.status, b.status];
      },
      { listedHost: listed(), unlistedHost: unlisted() },
    );
    assert.deepEqual(out, [200, 404]);
    await settleRequests(page, rec);
    const [un] = (await rec.of('realm-unlisted')).filter((r) => r.method === 'GET');
    assert.equal(un.headers['x-session-id'], undefined, 'no X-Session-ID to an unlisted host');
    const [li] = await rec.of('realm-listed');
    assert.equal(li.headers['x-custom'], 'keep', 'the Request keeps its own headers');
    assert.equal(li.headers['x-session-id'], sid, 'X-Session-ID to the listed host');
    assert.equal(li.body, 'b');
  });

  it('an init object whose fields are inherited (not own properties) keeps its method and body', T, async () => {
    const clientId = newClientId('inherit');
    const { page, rec } = await openRecorded({ clientId, trace: listed() });
    const sid = await sessionOf(page);
    const status = await page.evaluate(async () => {
      const init = Object.create({ method: 'PUT', body: 'inherited body', credentials: 'omit' });
      return (await fetch('/v1/nowhere?case=inherit', init)).status;
    });
    assert.equal(status, 404);
    await settleRequests(page, rec);
    const [r] = await rec.of('inherit');
    assert.equal(r.method, 'PUT', 'the inherited method is used');
    assert.equal(r.body, 'inherited body', 'the inherited body is sent');
    assert.equal(r.headers.cookie, undefined, "the inherited credentials: 'omit' holds");
    assert.equal(r.headers['x-session-id'], sid);
  });

  it('relative URLs are matched against the document base URL (<base href>), the way fetch and XHR resolve them', T, async () => {
    const clientId = newClientId('base');
    const { page, rec } = await openRecorded({ clientId, trace: listed() });
    await page.evaluate(async (unlistedHost) => {
      const base = document.createElement('base');
      base.href = `http://${unlistedHost}/`;
      document.head.append(base);
      await fetch('healthz?case=base-fetch').then((r) => r.text());
      await new Promise((res) => {
        const x = new XMLHttpRequest();
        x.onloadend = res;
        x.open('GET', 'healthz?case=base-xhr');
        x.send();
      });
      base.remove();
    }, unlisted());
    await settleRequests(page, rec);
    for (const name of ['base-fetch', 'base-xhr']) {
      const reqs = await rec.of(name);
      assert.ok(reqs.length > 0, `${name} was requested`);
      for (const r of reqs) {
        assert.equal(new URL(r.url).host, unlisted(), `${name} went to the base URL's host`);
        assert.equal(r.headers['x-session-id'], undefined, `${name} (${r.method}): no X-Session-ID to the unlisted base host`);
      }
    }
  });

  it('a page that forwards X-Session-ID itself (as README "Backend pairing" shows) still sends one valid id, with fetch and XHR', T, async () => {
    const clientId = newClientId('manual');
    const { a, recA: rec, sidA } = await openTabsAThenB({ clientId, trace: listed() });
    const out = await a.evaluate(async () => {
      const sid = window.sm.getSessionId();
      const body = (via) => JSON.stringify({ name: 'purchase', properties: { via } });
      const f = await fetch('/v1/server-events?case=manual-fetch', { method: 'POST', headers: { 'X-Session-ID': sid }, body: body('fetch') });
      const fetchAnswer = await f.text();
      const xhrAnswer = await new Promise((res) => {
        const x = new XMLHttpRequest();
        x.onloadend = () => res(x.responseText);
        x.open('POST', '/v1/server-events?case=manual-xhr');
        x.setRequestHeader('X-Session-ID', sid);
        x.send(body('xhr'));
      });
      return { fetchAnswer, xhrAnswer };
    });
    await settleRequests(a, rec);
    assert.equal((await rec.of('manual-fetch'))[0].headers['x-session-id'], sidA, 'fetch: one id');
    assert.equal((await rec.of('manual-xhr'))[0].headers['x-session-id'], sidA, 'XHR: one id');
    assert.equal(JSON.parse(out.fetchAnswer).session_id, sidA, `fetch paired with tab A: ${out.fetchAnswer}`);
    assert.equal(JSON.parse(out.xhrAnswer).session_id, sidA, `XHR paired with tab A: ${out.xhrAnswer}`);
  });
});

// ---------------------------------------------------------------------------

describe('sealing', () => {
  it('a sealed session: the answer to the next batch rotates the tab and ss_sid; the events sent with the old id are stored', T, async () => {
    const clientId = newClientId('seal');
    const page = await suite.t.newPage();
    await openPage(page, { clientId, trace: listed() });
    const oldSid = await sessionOf(page);
    await untilSidCookie(oldSid, 'the page started with focus');
    await flushUntilStored(page, oldSid, ['screen_view']);

    assert.deepEqual(await seal(oldSid), { sealed: oldSid });
    const sealedRow = (await suite.collector.sessions()).find((s) => s.session_id === oldSid);
    assert.ok(sealedRow?.sealed_at, `GET /v1/sessions shows ${oldSid} sealed: ${JSON.stringify(sealedRow)}`);

    // Sealing alone changes nothing in the page: only a batch answer tells it.
    assert.equal(await sessionOf(page), oldSid);

    await page.evaluate(() => {
      window.sm.track('after_seal', { n: 1 });
      window.sm.track('after_seal', { n: 2 });
      return window.sm.flush();
    });
    const newSid = await until(async () => {
      const s = await sessionOf(page);
      return s !== oldSid && s;
    }, `getSessionId() to change from the sealed ${oldSid}`);
    assert.match(newSid, SESSION_ID_RE);
    await untilSidCookie(newSid, 'the focused tab rotated after its session was sealed');

    // Nothing was dropped: the events sent after sealing are stored under the
    // old id; the old page view ends there and the new session starts with a
    // screen_view of the same page.
    const oldEvs = await flushUntilStored(page, oldSid, ['screen_view', 'after_seal', 'page_exit']);
    assert.deepEqual(
      oldEvs.filter((e) => e.name === 'after_seal').map((e) => e.properties.n).sort(),
      [1, 2],
      'both events tracked after the seal are stored under the sealed session',
    );
    const newEvs = await flushUntilStored(page, newSid, ['screen_view']);
    assert.equal(newEvs.find((e) => e.name === 'screen_view').path, '/pairing.html');
    const vid = await visitorOf(page);
    assert.ok([...oldEvs, ...newEvs].every((e) => e.anonymous_id === vid), 'the visitor stays the same');

    // The new id is the one the backend now sees.
    const res = await page.evaluate(async () => {
      const r = await fetch('/v1/server-events', { method: 'POST', body: JSON.stringify({ name: 'purchase', properties: { after: 'rotation' } }) });
      return { status: r.status, body: await r.text() };
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).session_id, newSid, 'X-Session-ID carries the new session after rotation');
  });

  it('a background tab whose session is sealed rotates without taking ss_sid', T, async () => {
    const clientId = newClientId('seal-bg');
    const { a, sidA: oldA, b, sidB } = await openTabsAThenB({ clientId }, 'B in front');

    await seal(oldA);
    await a.evaluate(() => (window.sm.track('bg_after_seal'), window.sm.flush()));
    const newA = await until(async () => {
      const s = await sessionOf(a);
      return s !== oldA && s;
    }, `background tab A to leave the sealed ${oldA}`);
    assert.equal((await cookieJar()).ss_sid?.value, sidB, 'ss_sid stays with the focused tab B');
    await flushUntilStored(a, oldA, ['bg_after_seal']);

    // Coming back to A hands ss_sid the new session.
    await leaveTab(b);
    await enterTab(a);
    await untilSidCookie(newA, 'back to tab A after its rotation');
  });
});

// ---------------------------------------------------------------------------

describe('requireConsent', () => {
  /** Opens a consent-gated page that records its requests; tracks three held events. */
  async function gatedPage(clientId) {
    const { page, rec } = await openRecorded({ clientId, consent: 1, trace: listed() });
    await page.evaluate(() => {
      for (let i = 0; i < 3; i++) window.sm.track('held', { i });
    });
    return { page, rec };
  }

  /** Asserts that the page stored nothing and sent nothing to the collector. */
  async function assertNothing(page, rec, clientId, when) {
    assert.deepEqual(await trackerStorage(page), { local: [], session: [] }, `${when}: no did* keys in localStorage or sessionStorage`);
    assert.deepEqual(await ssCookies(), [], `${when}: no ss_ cookies`);
    assert.equal(await page.evaluate(() => document.cookie), '', `${when}: document.cookie is empty`);
    await settleRequests(page, rec);
    const all = await rec.all();
    assert.deepEqual(
      all.filter((r) => new URL(r.url).pathname === '/v1/batch').map((r) => `${r.method} ${r.url}`),
      [],
      `${when}: no batch was sent`,
    );
    assert.deepEqual(
      all.filter((r) => r.headers['x-session-id']).map((r) => r.url),
      [],
      `${when}: no request carried X-Session-ID`,
    );
    assert.deepEqual(await suite.collector.allEvents({ clientId }), [], `${when}: the collector has nothing for ${clientId}`);
  }

  it('nothing is stored or sent before consent; setConsent(true) sends the held events and writes storage and cookies', T, async () => {
    const clientId = newClientId('consent-yes');
    const { page, rec } = await gatedPage(clientId);
    assert.equal(await sessionOf(page), null, 'no session id before consent');
    assert.equal(await visitorOf(page), null, 'no visitor id before consent');

    // Give it every chance to send: flush, hide (beacon path), focus and
    // visibility changes, an API call to a listed host.
    await page.evaluate(() => window.sm.flush());
    await leaveTab(page);
    await enterTab(page);
    await page.evaluate(() => fetch('/healthz?case=before-consent').then((r) => r.text()));
    await assertNothing(page, rec, clientId, 'before consent');

    await page.evaluate(() => window.sm.setConsent(true));
    const sid = await sessionOf(page);
    const vid = await visitorOf(page);
    assert.match(sid, SESSION_ID_RE);
    assert.match(vid, VISITOR_ID_RE);

    const evs = await flushUntilStored(page, sid, ['held', 'screen_view']);
    assert.deepEqual(
      evs.filter((e) => e.name === 'held').map((e) => e.properties.i).sort(),
      [0, 1, 2],
      'the three events tracked before consent arrive once each',
    );
    assert.ok(evs.every((e) => e.client_id === clientId && e.anonymous_id === vid));

    const stored = await trackerStorage(page);
    assert.ok(stored.local.includes('did'), `localStorage did written: ${JSON.stringify(stored)}`);
    for (const k of ['did_session', 'did_session_timestamp', 'did_session_start']) {
      assert.ok(stored.session.includes(k), `sessionStorage ${k} written: ${JSON.stringify(stored)}`);
    }
    const jar = await cookieJar();
    assert.equal(jar.ss_vid?.value, vid, 'ss_vid written on consent');
    assert.equal(jar.ss_sid?.value, sid, 'ss_sid written on consent (the page has focus)');

    // Tracing starts with consent.
    await page.evaluate(() => fetch('/healthz?case=after-consent').then((r) => r.text()));
    await until(async () => (await rec.of('after-consent')).length === 1, 'the after-consent request was seen');
    assert.equal((await rec.of('after-consent'))[0].headers['x-session-id'], sid);
    assert.equal((await rec.of('before-consent'))[0].headers['x-session-id'], undefined);
  });

  it('setConsent(false): the held events never arrive and nothing is stored', T, async () => {
    const clientId = newClientId('consent-no');
    const page = await suite.t.newPage();
    await page.clock.install();
    const rec = recordRequests(page);
    await openPage(page, { clientId, consent: 1, trace: listed() });
    await page.evaluate(() => {
      for (let i = 0; i < 3; i++) window.sm.track('held', { i });
    });
    await page.evaluate(() => window.sm.setConsent(false));
    await page.evaluate(() => {
      window.sm.track('after_refusal');
      window.sm.screenView({ x: 1 });
      return window.sm.flush();
    });
    // Every timer the tracker could have armed (batch timeout, retries) fires.
    await page.clock.runFor(10 * 60_000);
    await leaveTab(page);
    await enterTab(page);
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    await page.evaluate(() => window.sm.flush());
    assert.equal(await sessionOf(page), null);
    await assertNothing(page, rec, clientId, 'after setConsent(false)');
  });

  it('setConsent(false) before init() holds init(): nothing stored or sent until setConsent(true)', T, async () => {
    const clientId = newClientId('consent-first');
    const { page, rec } = await openRecorded({ clientId, refuse: 1, trace: listed() });
    await page.evaluate(() => window.sm.track('before_any_consent'));
    await page.evaluate(() => window.sm.flush());
    assert.equal(await sessionOf(page), null, 'not started');
    await assertNothing(page, rec, clientId, 'refused before init()');

    await page.evaluate(() => window.sm.setConsent(true));
    const sid = await sessionOf(page);
    assert.match(sid, SESSION_ID_RE, 'a later grant starts the tracker');
    const evs = await flushUntilStored(page, sid, ['screen_view']);
    assert.deepEqual(
      evs.filter((e) => e.name === 'before_any_consent'),
      [],
      'what was tracked while refused is dropped, not held',
    );
  });

  it('events held before consent keep the time and page of their track() call in a session that began earlier', T, async () => {
    const clientId = newClientId('consent-time');
    const page = await suite.t.newPage();
    await page.clock.install();
    // The first page: consent given, the session begins (with its screen_view).
    await openPage(page, { clientId, consent: 1 });
    await page.evaluate(() => window.sm.setConsent(true));
    // The next page of the tab waits for consent again (the site gives it
    // from its own record); a session that began before consent was asked
    // keeps the time of calls held meanwhile (README "Consent").
    await page.reload();
    await page.waitForFunction(() => window.pairingReady === true, null, { timeout: 10_000 });
    const trackedAt = await page.evaluate(() => {
      window.sm.track('held_timed');
      return Date.now();
    });
    // The user reads the banner for 30 s and moves to another page of the SPA.
    await page.clock.runFor(30_000);
    await page.evaluate(() => history.pushState({}, '', '/pairing-next'));
    const consentAt = await page.evaluate(() => (window.sm.setConsent(true), Date.now()));
    assert.ok(consentAt - trackedAt >= 30_000);
    const sid = await sessionOf(page);
    const evs = await flushUntilStored(page, sid, ['held_timed']);
    const held = evs.find((e) => e.name === 'held_timed');
    assert.ok(held.timestamp - trackedAt < 1_000, `timestamp is the track() time ${trackedAt}, not the consent time ${consentAt}: got ${held.timestamp}`);
    assert.equal(held.path, '/pairing.html', 'path of the page the event happened on');
  });

  it('withdrawing consent after a grant: the header stops, fetch and XHR are the originals again, stored state is removed and nothing more is sent', T, async () => {
    const clientId = newClientId('consent-withdraw');
    const { page, rec } = await openRecorded({ clientId, consent: 1, trace: listed() });
    await page.evaluate(() => {
      const X = XMLHttpRequest.prototype;
      window.originals = { fetch: window.fetch, open: X.open, send: X.send, setRequestHeader: X.setRequestHeader };
    });
    await page.evaluate(() => window.sm.setConsent(true));
    const sid = await sessionOf(page);
    assert.equal(await page.evaluate(() => window.fetch !== window.originals.fetch), true, 'fetch is wrapped after consent');
    await flushUntilStored(page, sid, ['screen_view']);
    assert.ok((await trackerStorage(page)).session.includes('did_session'), 'consent wrote the session');
    assert.deepEqual((await ssCookies()).sort(), ['ss_sid', 'ss_vid'], 'consent wrote both cookies');
    await page.evaluate(() => fetch('/healthz?case=granted').then((r) => r.text()));

    await page.evaluate(() => window.sm.setConsent(false));
    assert.deepEqual(
      await page.evaluate(() => {
        const X = XMLHttpRequest.prototype;
        const o = window.originals;
        return { fetch: window.fetch === o.fetch, open: X.open === o.open, send: X.send === o.send, setRequestHeader: X.setRequestHeader === o.setRequestHeader };
      }),
      { fetch: true, open: true, send: true, setRequestHeader: true },
      'setConsent(false) puts back the original fetch and XHR',
    );
    // README "Consent": withdrawal removes everything the tracker stored.
    assert.deepEqual(await trackerStorage(page), { local: [], session: [] }, 'no did* keys left after withdrawal');
    assert.deepEqual(await ssCookies(), [], 'ss_sid and ss_vid expired after withdrawal');

    const batchesBefore = (await rec.all()).filter((r) => new URL(r.url).pathname === '/v1/batch').length;
    await page.evaluate(async () => {
      window.sm.track('after_withdrawal');
      history.pushState({}, '', '/pairing-after-withdrawal');
      await window.sm.flush();
      await fetch('/healthz?case=withdrawn').then((r) => r.text());
      await new Promise((res) => {
        const x = new XMLHttpRequest();
        x.onloadend = res;
        x.open('GET', '/healthz?case=withdrawn-xhr');
        x.send();
      });
    });
    await leaveTab(page);
    await enterTab(page);
    await settleRequests(page, rec);
    assert.equal((await rec.of('granted'))[0]?.headers['x-session-id'], sid);
    assert.equal((await rec.of('withdrawn'))[0]?.headers['x-session-id'], undefined, 'no header on fetch after withdrawal');
    assert.equal((await rec.of('withdrawn-xhr'))[0]?.headers['x-session-id'], undefined, 'no header on XHR after withdrawal');
    const batchesAfter = (await rec.all()).filter((r) => new URL(r.url).pathname === '/v1/batch').length;
    assert.equal(batchesAfter, batchesBefore, 'no batch sent after withdrawal');
    assert.deepEqual(await trackerStorage(page), { local: [], session: [] }, 'nothing written again (tracking, navigation, hide)');
    assert.deepEqual(await ssCookies(), [], 'no cookie written again (focus, visibility)');
    const names = (await suite.collector.events(sid)).map((e) => e.name);
    assert.ok(!names.includes('after_withdrawal'), `nothing tracked after withdrawal is stored: ${names}`);
  });
});
