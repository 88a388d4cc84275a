// Session core, end to end: the built tracker in headless Chromium against the
// real collector serving www/ and dist/. Asserts what a site and its user see:
// the ids the API returns, what is in storage, what the demo page shows, and
// (for the queue) what the collector stored.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  repoRoot,
  SESSION_ID_RE,
  VISITOR_ID_RE,
  freshContext,
  newSessionId,
  newVisitorId,
  sessionIdTime,
  useSuite,
  uuidv7,
  waitFor,
} from './harness.mjs';

const T = { timeout: 60_000 };
const MIN = 60_000;
const PRELOADED_VISITOR_ID = 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7'; // www/queue-stub.js

const suite = useSuite();

/** Opens `path` and waits until `window[api]` has the API. */
async function open(page, path, api = 'sessionmark') {
  await page.goto(suite.collector.url + path);
  await page.waitForFunction((name) => typeof window[name]?.getSessionId === 'function', api, { timeout: 10_000 });
}

/** What the API says plus what is stored, read in one go inside the page. */
function state(page, api = 'sessionmark') {
  return page.evaluate((name) => {
    const a = window[name];
    const tracker = a.getTracker();
    return {
      now: Date.now(),
      sessionId: a.getSessionId(),
      visitorId: a.getAnonymousId(),
      pageCount: tracker.pageCount,
      sessionStartTime: tracker.sessionStartTime,
      ss: {
        did_session: sessionStorage.getItem('did_session'),
        did_session_timestamp: sessionStorage.getItem('did_session_timestamp'),
        did_session_start: sessionStorage.getItem('did_session_start'),
      },
      did: localStorage.getItem('did'),
    };
  }, api);
}

/** Everything the page stored: sessionStorage, localStorage, cookies, as one string. */
function storageDump(page) {
  return page.evaluate(() => {
    const all = (s) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))]));
    return JSON.stringify({ session: all(sessionStorage), local: all(localStorage), cookie: document.cookie });
  });
}

/** Runs `fn(page)` in a context of its own (fresh sessionStorage, localStorage and cookies). */
async function inNewContext(fn) {
  const c = await freshContext(suite.browser);
  try {
    await fn(await c.newPage());
    assert.deepEqual(c.errors, [], 'the tracker threw into the page or broke the CSP');
  } finally {
    await c.close();
  }
}

function assertStored(s) {
  assert.match(s.sessionId, SESSION_ID_RE);
  assert.match(s.visitorId, VISITOR_ID_RE);
  assert.equal(s.ss.did_session, s.sessionId, 'sessionStorage did_session holds the session id');
  assert.equal(s.did, s.visitorId, 'localStorage did holds the visitor id');
  assert.match(s.ss.did_session_timestamp ?? '', /^\d+$/, 'did_session_timestamp is ms as a decimal string');
  assert.match(s.ss.did_session_start ?? '', /^\d+$/, 'did_session_start is ms as a decimal string');
}

describe('script tag (www/index.html)', () => {
  it('puts exactly the npm exports on window.sessionmark, with the queue', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/');
    const index = readFileSync(join(repoRoot, 'js', 'index.js'), 'utf8');
    const exported = /export \{([^}]*)\}/.exec(index)[1].match(/\w+/g);
    assert.ok(exported.length >= 14, `${exported}`);
    const global = await page.evaluate(() => Object.keys(window.sessionmark));
    assert.deepEqual(global.sort(), [...exported, 'q'].sort());
  });

  it('mints a session id and a visitor id in the documented formats and stores them', T, async () => {
    const page = await suite.t.newPage();
    const t0 = Date.now();
    await open(page, '/');
    const s = await state(page);
    const t1 = Date.now();

    assertStored(s);
    const start = Number(s.ss.did_session_start);
    assert.ok(start >= t0 - 2000 && start <= t1 + 2000, `session start ${start} is now (${t0}..${t1})`);
    assert.equal(sessionIdTime(s.sessionId), start, 'the UUIDv7 timestamp of the session id is the session start');
    assert.equal(s.sessionStartTime, start, 'getTracker().sessionStartTime is the stored session start');
    assert.ok(Number(s.ss.did_session_timestamp) >= start, 'last activity is not before the session start');
    assert.equal(s.pageCount, 1);
  });

  it('starts the same in a browser without Uint8Array.fromBase64 (before 2025)', T, async () => {
    const page = await suite.t.newPage();
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await page.addInitScript(() => delete Uint8Array.fromBase64);
    await open(page, '/');
    assert.equal(await page.evaluate(() => typeof Uint8Array.fromBase64), 'undefined');
    const s = await state(page);
    assertStored(s);
    assert.equal(s.pageCount, 1);
    assert.deepEqual(warnings, []);
  });

  it('the demo page shows the live ids', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/');
    await page.waitForFunction(
      () => {
        const text = (id) => document.getElementById(id)?.textContent;
        const sm = window.sessionmark;
        return (
          text('session-id') === sm.getSessionId() &&
          text('visitor-id') === sm.getAnonymousId() &&
          text('page-count') === String(sm.getTracker().pageCount) &&
          text('session-start') === new Date(sm.getTracker().sessionStartTime).toISOString()
        );
      },
      null,
      { timeout: 5_000 },
    );
    // The clear button is wired to clear(): the shown session id changes.
    const before = await page.textContent('#session-id');
    await page.click('#clear');
    await page.waitForFunction((old) => document.getElementById('session-id').textContent !== old, before, { timeout: 5_000 });
    assert.match(await page.textContent('#session-id'), SESSION_ID_RE);
  });
});

describe('ES module (www/esm.html)', () => {
  it('works through import { init, ... } from /dist/sessionmark.mjs', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/esm.html', 'sm');
    const s = await state(page, 'sm');
    assertStored(s);
    assert.equal(s.pageCount, 1);
    await page.waitForFunction(() => document.getElementById('session-id')?.textContent === window.sm.getSessionId(), null, {
      timeout: 5_000,
    });
  });
});

describe('session lifetime', () => {
  it('a reload keeps the session and counts the page: pageCount 1 → 2', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/');
    const a = await state(page);
    assert.equal(a.pageCount, 1);

    await page.reload();
    await page.waitForFunction(() => typeof window.sessionmark?.getSessionId === 'function');
    const b = await state(page);
    assert.equal(b.sessionId, a.sessionId);
    assert.equal(b.visitorId, a.visitorId);
    assert.equal(b.sessionStartTime, a.sessionStartTime);
    assert.equal(b.pageCount, 2);
  });

  it('a new tab gets a new session id and keeps the visitor id', T, async () => {
    const p1 = await suite.t.newPage();
    await open(p1, '/');
    const a = await state(p1);

    const p2 = await suite.t.newPage();
    await open(p2, '/');
    const b = await state(p2);
    assertStored(b);
    assert.notEqual(b.sessionId, a.sessionId);
    assert.equal(b.visitorId, a.visitorId);
    assert.equal(b.pageCount, 1);

    assert.equal((await state(p1)).sessionId, a.sessionId, 'the first tab keeps its session');
  });

  it('a duplicated tab (window.open copies sessionStorage) gets a new session; the opener keeps its own', T, async () => {
    const opener = await suite.t.newPage();
    await open(opener, '/');
    const a = await state(opener);

    const [popup] = await Promise.all([
      suite.t.context.waitForEvent('page'),
      opener.evaluate(() => {
        window.open(location.href);
      }),
    ]);
    await popup.waitForLoadState('load');
    await popup.waitForFunction(() => typeof window.sessionmark?.getSessionId === 'function');
    const b = await state(popup);
    assert.match(b.sessionId, SESSION_ID_RE);
    assert.notEqual(b.sessionId, a.sessionId, 'the duplicate must not share the opener session');
    assert.equal(b.ss.did_session, b.sessionId, 'the duplicate stored its own session');
    assert.equal(b.visitorId, a.visitorId);

    const a2 = await state(opener);
    assert.equal(a2.sessionId, a.sessionId, 'the opener keeps its session');
    assert.equal(a2.ss.did_session, a.sessionId);

    // A reload of the duplicate is a reload, not another duplicate.
    await popup.reload();
    await popup.waitForFunction(() => typeof window.sessionmark?.getSessionId === 'function');
    assert.equal((await state(popup)).sessionId, b.sessionId, 'a reload of the duplicate keeps its session');
  });

  it('30 idle minutes start a new session on the next read', T, async () => {
    const page = await suite.t.newPage();
    await page.clock.install();
    await open(page, '/');
    const a = await state(page);

    await page.clock.fastForward('30:00');
    const b = await state(page);
    assertStored(b);
    assert.notEqual(b.sessionId, a.sessionId);
    assert.equal(b.visitorId, a.visitorId, 'a new session keeps the visitor');
    assert.ok(b.sessionStartTime >= a.sessionStartTime + 30 * MIN, 'the new session starts now');
    assert.equal(sessionIdTime(b.sessionId), b.sessionStartTime);
  });

  it('29:59 idle keeps the session', T, async () => {
    const page = await suite.t.newPage();
    await page.clock.install();
    await open(page, '/');
    const a = await state(page);
    // Count from the recorded last activity, so the real time the test itself
    // spent since the page load does not add to the idle time.
    const idleSoFar = a.now - Number(a.ss.did_session_timestamp);
    assert.ok(idleSoFar >= 0 && idleSoFar < 10_000, `idle so far: ${idleSoFar} ms`);

    await page.clock.fastForward(29 * MIN + 59_000 - idleSoFar);
    const b = await state(page);
    assert.equal(b.sessionId, a.sessionId);
    assert.equal(b.sessionStartTime, a.sessionStartTime);
  });

  it('clear() replaces the session id and the visitor id, and resets the page count', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/');
    await page.reload();
    await page.waitForFunction(() => typeof window.sessionmark?.getSessionId === 'function');
    const a = await state(page);
    assert.equal(a.pageCount, 2);

    await page.evaluate(() => window.sessionmark.clear());
    const b = await state(page);
    assertStored(b);
    assert.notEqual(b.sessionId, a.sessionId);
    assert.notEqual(b.visitorId, a.visitorId);
    assert.ok(b.pageCount < a.pageCount, `page count reset (was ${a.pageCount}, now ${b.pageCount})`);
    // The page_exit that clear() sends still names the old visitor, and waits
    // in did_outbox until the collector acknowledges it (longer on a slower
    // store): gone once delivered.
    await waitFor(async () => !(await storageDump(page)).includes(a.visitorId), {
      what: 'the old visitor id gone from storage once its last events are delivered',
    });

    // The new ids are the ones that persist.
    await page.reload();
    await page.waitForFunction(() => typeof window.sessionmark?.getSessionId === 'function');
    const c = await state(page);
    assert.equal(c.sessionId, b.sessionId);
    assert.equal(c.visitorId, b.visitorId);
  });
});

describe('cross-domain ids in the URL', () => {
  /** A test that `?param=bad` is neither adopted as the `field` of state() nor stored anywhere. */
  function itIgnoresUrlId(param, field, bad, why) {
    it(`?${param}= is ignored when it is ${why} (${bad})`, T, async () => {
      await inNewContext(async (page) => {
        await open(page, `/?${param}=${encodeURIComponent(bad)}`);
        const s = await state(page);
        assertStored(s);
        assert.notEqual(s[field], bad);
        assert.notEqual(s[field], bad.toLowerCase(), 'not adopted after normalising either');
        const dump = await storageDump(page);
        assert.ok(!dump.includes(bad) && !dump.toLowerCase().includes(bad.toLowerCase()), `never stored: ${dump}`);
      });
    });
  }

  it('?sessionId= with a valid sess_ UUIDv7 is adopted', T, async () => {
    const sid = newSessionId();
    const page = await suite.t.newPage();
    await open(page, `/?sessionId=${sid}`);
    const s = await state(page);
    assert.equal(s.sessionId, sid);
    assert.equal(s.ss.did_session, sid);
  });

  const badSessionIds = () => {
    const v7 = uuidv7();
    return [
      ['sess_bogus', 'not a UUID'],
      [`sess_${v7.toUpperCase()}`, 'upper case'],
      [`SESS_${v7}`, 'upper-case prefix'],
      [`sess_${crypto.randomUUID()}`, 'UUIDv4, not v7'],
      [`sess_${v7}x`, 'trailing junk'],
      [`sess_{${v7}}`, 'braces'],
    ];
  };

  for (const [bad, why] of badSessionIds()) itIgnoresUrlId('sessionId', 'sessionId', bad, why);

  it('?anonId= with a valid anon_ UUID is adopted', T, async () => {
    const vid = newVisitorId();
    const page = await suite.t.newPage();
    await open(page, `/?anonId=${vid}`);
    const s = await state(page);
    assert.equal(s.visitorId, vid);
    assert.equal(s.did, vid);
  });

  const badVisitorIds = () => {
    const u = crypto.randomUUID();
    return [
      ['anon_bogus', 'not a UUID'],
      [`anon_${u.toUpperCase()}`, 'upper case'],
      [`ANON_${u}`, 'upper-case prefix'],
      [`anon_${u.slice(0, 19)}c${u.slice(20)}`, 'a UUID with an invalid variant'],
      [`sess_${uuidv7()}`, 'a session id'],
      [`anon_${u}<script>`, 'trailing markup'],
    ];
  };

  for (const [bad, why] of badVisitorIds()) itIgnoresUrlId('anonId', 'visitorId', bad, why);

  it('getSessionId(urlParams) / getAnonymousId(urlParams) accept only valid ids', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/');
    const cur = await state(page);
    const sid = newSessionId();
    const vid = newVisitorId();
    const r = await page.evaluate(
      ({ sid, vid }) => {
        const sm = window.sessionmark;
        return {
          bogusSession: sm.getSessionId('?sessionId=sess_bogus'),
          upperSession: sm.getSessionId(new URLSearchParams({ sessionId: sid.toUpperCase() })),
          bogusVisitor: sm.getAnonymousId('?anonId=anon_bogus'),
          validSession: sm.getSessionId(new URLSearchParams({ sessionId: sid })),
          validVisitor: sm.getAnonymousId(`anonId=${vid}`),
        };
      },
      { sid, vid },
    );
    assert.equal(r.bogusSession, cur.sessionId);
    assert.equal(r.upperSession, cur.sessionId);
    assert.equal(r.bogusVisitor, cur.visitorId);
    assert.equal(r.validSession, sid);
    assert.equal(r.validVisitor, vid);
    const dump = await storageDump(page);
    assert.ok(!dump.includes('bogus') && !dump.includes(sid.toUpperCase()), `never stored: ${dump}`);
  });
});

describe('calls queued before the script loaded (www/queue.html)', () => {
  it('the queued clear() ran: the preloaded visitor id was replaced', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/queue.html');
    const stub = await page.evaluate(() => window.__queueStub);
    assert.equal(stub?.preloadedVisitorId, PRELOADED_VISITOR_ID, 'queue-stub.js ran before the tracker');
    const s = await state(page);
    assertStored(s);
    assert.notEqual(s.visitorId, PRELOADED_VISITOR_ID);
    assert.ok(!(await storageDump(page)).includes(PRELOADED_VISITOR_ID), 'the preloaded visitor id is gone');
  });

  it('queued calls ran in order: the track() queued after clear() carries the new ids', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/queue.html');
    const s = await state(page);
    await page.evaluate(() => (typeof window.sessionmark.flush === 'function' ? window.sessionmark.flush() : null));

    const queued = await waitFor(
      async () => {
        // Only this page's session: another test opens queue.html too.
        const found = (await suite.collector.events(s.sessionId)).filter((e) => e.name === 'queued_after_clear');
        return found.length > 0 && found;
      },
      { what: 'the collector to store the queued_after_clear event', timeout: 20_000 },
    ).catch((e) => {
      throw new Error(`${e.message}\ncollector output:\n${suite.collector.logs()}`);
    });
    assert.equal(queued.length, 1, 'tracked once');
    assert.equal(queued[0].anonymous_id, s.visitorId, 'tracked after clear(): new visitor id');
    assert.notEqual(queued[0].anonymous_id, PRELOADED_VISITOR_ID);
    assert.equal(queued[0].session_id, s.sessionId, 'tracked after clear(): new session id');
  });
});

describe('every session begins with a screen_view of its page', () => {
  /** The stored events of `sessionId` once `name` is among them, in the collector's order. */
  const storedWith = (sessionId, name) =>
    waitFor(
      async () => {
        const evs = await suite.collector.events(sessionId);
        return evs.some((e) => e.name === name) && evs;
      },
      { what: `${name} stored for ${sessionId}`, timeout: 20_000 },
    );

  it('the session begun by a queued clear() starts with a screen_view, before the queued event (www/queue.html)', T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/queue.html');
    const { sessionId } = await state(page);
    await page.evaluate(() => window.sessionmark.flush());
    const evs = await storedWith(sessionId, 'queued_after_clear');
    assert.deepEqual(
      evs.map((e) => [e.name, e.path]),
      [
        ['screen_view', '/queue.html'],
        ['queued_after_clear', '/queue.html'],
      ],
    );
    assert.equal(evs[0].page_count, 1);
  });

  it("clear() then an event: the new session's first event is a screen_view of the page", T, async () => {
    const page = await suite.t.newPage();
    await open(page, '/');
    const sessionId = await page.evaluate(() => {
      const sm = window.sessionmark;
      sm.clear();
      sm.track('after_clear');
      sm.flush();
      return sm.getSessionId();
    });
    const evs = await storedWith(sessionId, 'after_clear');
    assert.deepEqual(
      evs.map((e) => e.name),
      ['screen_view', 'after_clear'],
    );
  });

  it('an event held for consent in a session that begins on consent is stored after its screen_view', T, async () => {
    const page = await suite.t.newPage();
    await page.clock.install();
    await page.addInitScript(() => {
      window.sessionmark = { q: [['init', { clientId: 'entry-consent', requireConsent: true }], ['track', 'held_early']] };
    });
    await open(page, '/');
    await page.clock.fastForward(3_000);
    const sessionId = await page.evaluate(() => {
      window.sessionmark.setConsent(true);
      window.sessionmark.flush();
      return window.sessionmark.getSessionId();
    });
    const evs = await storedWith(sessionId, 'held_early');
    assert.deepEqual(
      evs.map((e) => e.name),
      ['screen_view', 'held_early'],
    );
    assert.equal(evs[1].timestamp, evs[0].timestamp, "stamped at consent, the session's start");
  });
});

describe('the script tag pasted twice (www/twice.html)', () => {
  it('one tracker runs: one screen_view stored, events once, one warning', T, async () => {
    const page = await suite.t.newPage();
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await open(page, '/twice.html');
    const vid = await page.evaluate(() => {
      window.sessionmark.track('twice_probe');
      window.sessionmark.flush();
      return window.sessionmark.getAnonymousId();
    });
    // By visitor, not session: a second tracker in the tab would see the
    // first one's page mark and take a session of its own.
    const stored = await waitFor(
      async () => {
        const evs = (await suite.collector.allEvents({ clientId: 'twice' })).filter((e) => e.anonymous_id === vid);
        return evs.some((e) => e.name === 'twice_probe') && evs;
      },
      { what: 'the probe event to be stored', timeout: 20_000 },
    );
    assert.deepEqual(
      stored.map((e) => e.name).sort(),
      ['screen_view', 'twice_probe'],
      'a second tracker would have sent its own screen_view and a second probe',
    );
    assert.equal(warnings.filter((w) => /loaded twice/.test(w)).length, 1, warnings.join('\n'));
  });
});
