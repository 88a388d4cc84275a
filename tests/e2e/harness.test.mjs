// The harness itself against the real collector and Chromium: if these fail,
// every other end-to-end failure is suspect.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshContext, launch, newSessionId, newVisitorId, startCollector, useSuite, uuidv7 } from './harness.mjs';

const T = { timeout: 60_000 };

function event(sessionId, visitorId, name) {
  return {
    event_id: uuidv7(),
    name,
    session_id: sessionId,
    anonymous_id: visitorId,
    timestamp: Date.now() - 1000,
    path: '/harness',
    title: 'harness',
    referrer: '',
    client_id: 'harness',
    properties: {},
  };
}

async function post(collector, events) {
  const res = await fetch(`${collector.url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    body: JSON.stringify({ events }),
  });
  return { status: res.status, body: await res.json() };
}

describe('e2e harness: collector', () => {
  const suite = useSuite({ browser: false });

  it('listens on a free port and serves the demo site', T, async () => {
    assert.match(suite.collector.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(suite.collector.port > 0);
    const res = await fetch(`${suite.collector.url}/index.html`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<script src="\/dist\/sessionmark\.js"/);
  });

  it('events(), allEvents() and sessions() read what a batch stored', T, async () => {
    const sid = newSessionId();
    const vid = newVisitorId();
    const sent = [event(sid, vid, 'screen_view'), event(sid, vid, 'harness_check')];
    const r = await post(suite.collector, sent);
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 2);

    const stored = await suite.collector.events(sid);
    assert.deepEqual(stored.map((e) => e.event_id), sent.map((e) => e.event_id));
    assert.equal(stored[1].name, 'harness_check');
    assert.equal(stored[1].anonymous_id, vid);
    assert.deepEqual(await suite.collector.events(newSessionId()), []);
    assert.ok((await suite.collector.allEvents()).some((e) => e.event_id === sent[0].event_id));
    assert.ok((await suite.collector.allEvents({ clientId: 'harness' })).length >= 2);
    assert.deepEqual(await suite.collector.allEvents({ clientId: 'nobody' }), []);
    const sessions = await suite.collector.sessions();
    assert.ok(Array.isArray(sessions));
    assert.ok(JSON.stringify(sessions).includes(sid), 'the session is listed');
  });

  it('fail(status, count) fails exactly the next count batches', T, async () => {
    await suite.collector.fail(503, 2);
    const sid = newSessionId();
    const vid = newVisitorId();
    assert.equal((await post(suite.collector, [event(sid, vid, 'a')])).status, 503);
    assert.equal((await post(suite.collector, [event(sid, vid, 'b')])).status, 503);
    assert.equal((await post(suite.collector, [event(sid, vid, 'c')])).status, 200);
    assert.deepEqual((await suite.collector.events(sid)).map((e) => e.name), ['c']);
  });

  it('restart() and kill() keep the port and the database', T, async () => {
    const sid = newSessionId();
    const vid = newVisitorId();
    assert.equal((await post(suite.collector, [event(sid, vid, 'before_restart')])).status, 200);
    const url = suite.collector.url;

    await suite.collector.restart();
    assert.equal(suite.collector.url, url);
    assert.deepEqual((await suite.collector.events(sid)).map((e) => e.name), ['before_restart']);

    await suite.collector.kill();
    assert.equal(suite.collector.running, false);
    await assert.rejects(fetch(`${url}/v1/sessions`), 'nothing answers after kill()');
    await suite.collector.restart();
    assert.equal(suite.collector.url, url);
    assert.equal(suite.collector.running, true);
    assert.deepEqual((await suite.collector.events(sid)).map((e) => e.name), ['before_restart']);
  });

  it('without hooks there is no fault route', T, async () => {
    const plain = await startCollector({ hooks: false });
    try {
      await assert.rejects(plain.fail(500, 1), /404/);
    } finally {
      await plain.stop();
    }
    assert.equal(plain.running, false);
  });
});

describe('e2e harness: browser', () => {
  // The tests make their own contexts: freshContext() is what they check.
  const suite = useSuite({ context: false });

  /** Runs `fn(t)` with a fresh context `t` of its own, closed afterwards. */
  async function inFreshContext(fn) {
    const t = await freshContext(suite.browser);
    try {
      await fn(t);
    } finally {
      await t.close();
    }
  }

  it('launch() opens the demo pages from the collector in headless Chromium', T, async () => {
    await inFreshContext(async (t) => {
      const page = await t.newPage();
      const res = await page.goto(`${suite.collector.url}/index.html`);
      assert.equal(res.status(), 200);
      assert.equal(await page.title(), 'sessionmark demo');
      const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
      assert.equal(csp, "script-src 'self' 'wasm-unsafe-eval'");
    });
  });

  it('freshContext() records errors thrown in the page', T, async () => {
    await inFreshContext(async (t) => {
      const page = await t.newPage();
      await page.goto(`${suite.collector.url}/index.html`);
      await page.evaluate(() => {
        setTimeout(() => {
          throw new Error('boom from the page');
        }, 0);
      });
      // Polled, bounded: the error reaches the harness when the page's task runs.
      const end = Date.now() + 5_000;
      while (!t.errors.some((e) => e.includes('boom from the page')) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(t.errors.some((e) => e.includes('boom from the page')), JSON.stringify(t.errors));
    });
  });

  it('page.clock moves time 30 minutes without waiting', T, async () => {
    await inFreshContext(async (t) => {
      const page = await t.newPage();
      await page.clock.install();
      await page.goto(`${suite.collector.url}/index.html`);
      const before = await page.evaluate(() => Date.now());
      const wall = Date.now();
      await page.clock.fastForward('30:00');
      const afterMs = await page.evaluate(() => Date.now());
      assert.ok(afterMs - before >= 30 * 60_000, `page time moved ${afterMs - before} ms`);
      assert.ok(Date.now() - wall < 10_000, 'and the test did not wait for it');
    });
  });

  it('launch({ bfcache: true }) gives a browser', T, async () => {
    const b = await launch({ bfcache: true });
    try {
      const page = await b.newPage();
      await page.goto(`${suite.collector.url}/index.html`);
      assert.equal(await page.title(), 'sessionmark demo');
    } finally {
      await b.close();
    }
  });
});
