// The harness itself against the real collector and Chromium: if these fail,
// every other end-to-end failure is suspect.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshContext, launch, newSessionId, newVisitorId, startCollector, uuidv7 } from './harness.mjs';

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
  let collector;
  before(async () => {
    collector = await startCollector();
  });
  after(async () => {
    await collector?.stop();
  });

  it('listens on a free port and serves the demo site', T, async () => {
    assert.match(collector.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(collector.port > 0);
    const res = await fetch(`${collector.url}/index.html`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<script src="\/dist\/sessionmark\.js"/);
  });

  it('events(), allEvents() and sessions() read what a batch stored', T, async () => {
    const sid = newSessionId();
    const vid = newVisitorId();
    const sent = [event(sid, vid, 'screen_view'), event(sid, vid, 'harness_check')];
    const r = await post(collector, sent);
    assert.equal(r.status, 200);
    assert.equal(r.body.accepted, 2);

    const stored = await collector.events(sid);
    assert.deepEqual(stored.map((e) => e.event_id), sent.map((e) => e.event_id));
    assert.equal(stored[1].name, 'harness_check');
    assert.equal(stored[1].anonymous_id, vid);
    assert.deepEqual(await collector.events(newSessionId()), []);
    assert.ok((await collector.allEvents()).some((e) => e.event_id === sent[0].event_id));
    assert.ok((await collector.allEvents({ clientId: 'harness' })).length >= 2);
    assert.deepEqual(await collector.allEvents({ clientId: 'nobody' }), []);
    const sessions = await collector.sessions();
    assert.ok(Array.isArray(sessions));
    assert.ok(JSON.stringify(sessions).includes(sid), 'the session is listed');
  });

  it('fail(status, count) fails exactly the next count batches', T, async () => {
    await collector.fail(503, 2);
    const sid = newSessionId();
    const vid = newVisitorId();
    assert.equal((await post(collector, [event(sid, vid, 'a')])).status, 503);
    assert.equal((await post(collector, [event(sid, vid, 'b')])).status, 503);
    assert.equal((await post(collector, [event(sid, vid, 'c')])).status, 200);
    assert.deepEqual((await collector.events(sid)).map((e) => e.name), ['c']);
  });

  it('restart() and kill() keep the port and the database', T, async () => {
    const sid = newSessionId();
    const vid = newVisitorId();
    assert.equal((await post(collector, [event(sid, vid, 'before_restart')])).status, 200);
    const url = collector.url;

    await collector.restart();
    assert.equal(collector.url, url);
    assert.deepEqual((await collector.events(sid)).map((e) => e.name), ['before_restart']);

    await collector.kill();
    assert.equal(collector.running, false);
    await assert.rejects(fetch(`${url}/v1/sessions`), 'nothing answers after kill()');
    await collector.restart();
    assert.equal(collector.url, url);
    assert.equal(collector.running, true);
    assert.deepEqual((await collector.events(sid)).map((e) => e.name), ['before_restart']);
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
  let collector;
  let browser;
  before(async () => {
    collector = await startCollector();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await collector?.stop();
  });

  it('launch() opens the demo pages from the collector in headless Chromium', T, async () => {
    const t = await freshContext(browser);
    try {
      const page = await t.newPage();
      const res = await page.goto(`${collector.url}/index.html`);
      assert.equal(res.status(), 200);
      assert.equal(await page.title(), 'sessionmark demo');
      const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
      assert.equal(csp, "script-src 'self' 'wasm-unsafe-eval'");
    } finally {
      await t.close();
    }
  });

  it('freshContext() records errors thrown in the page', T, async () => {
    const t = await freshContext(browser);
    try {
      const page = await t.newPage();
      await page.goto(`${collector.url}/index.html`);
      await page.evaluate(() => {
        setTimeout(() => {
          throw new Error('boom from the page');
        }, 0);
      });
      await page.waitForTimeout(200);
      assert.ok(t.errors.some((e) => e.includes('boom from the page')), JSON.stringify(t.errors));
    } finally {
      await t.close();
    }
  });

  it('page.clock moves time 30 minutes without waiting', T, async () => {
    const t = await freshContext(browser);
    try {
      const page = await t.newPage();
      await page.clock.install();
      await page.goto(`${collector.url}/index.html`);
      const before = await page.evaluate(() => Date.now());
      const wall = Date.now();
      await page.clock.fastForward('30:00');
      const afterMs = await page.evaluate(() => Date.now());
      assert.ok(afterMs - before >= 30 * 60_000, `page time moved ${afterMs - before} ms`);
      assert.ok(Date.now() - wall < 10_000, 'and the test did not wait for it');
    } finally {
      await t.close();
    }
  });

  it('launch({ bfcache: true }) gives a browser', T, async () => {
    const b = await launch({ bfcache: true });
    try {
      const page = await b.newPage();
      await page.goto(`${collector.url}/index.html`);
      assert.equal(await page.title(), 'sessionmark demo');
    } finally {
      await b.close();
    }
  });
});
