// identify(userId), end to end (README "API", "What is stored where"): the
// built tracker in headless Chromium against the real collector. After
// identify() the stored events carry user_id, across a reload and from the
// script tag's queue; clear() ends it; the collector counts one user seen
// from two browsers as one unique visitor.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useSuite, waitFor } from './harness.mjs';

const T = { timeout: 60_000 };
const suite = useSuite();

/** Opens www/index.html, with `queue` (calls queued before the script) if given. */
async function open(page, queue) {
  if (queue) await page.addInitScript((q) => (window.sessionmark = { q }), queue);
  await page.goto(suite.collector.url + '/');
  await page.waitForFunction(() => typeof window.sessionmark?.getSessionId === 'function', null, { timeout: 10_000 });
}

/** The stored events of the page's visitor once `done(events)` holds. */
function storedWhen(visitorId, clientId, done, what) {
  return waitFor(
    async () => {
      const evs = (await suite.collector.allEvents({ clientId })).filter((e) => e.anonymous_id === visitorId);
      return done(evs) && evs;
    },
    { what, timeout: 20_000 },
  );
}

const byName = (evs, name) => evs.find((e) => e.name === name);

describe('identify()', () => {
  it('later events carry user_id, across a reload, until clear()', T, async () => {
    const page = await suite.t.newPage();
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await open(page);
    const visitor = await page.evaluate(() => {
      const sm = window.sessionmark;
      sm.track('before_login');
      sm.identify('user-7');
      sm.track('after_login');
      sm.flush();
      return sm.getAnonymousId();
    });
    assert.equal(await page.evaluate(() => localStorage.getItem('did_user')), 'user-7');
    await page.reload();
    await page.waitForFunction(() => typeof window.sessionmark?.track === 'function');
    await page.evaluate(() => {
      window.sessionmark.track('after_reload');
      window.sessionmark.clear();
      window.sessionmark.track('after_logout');
      return window.sessionmark.flush();
    });
    const evs = await storedWhen(visitor, 'demo', (es) => byName(es, 'after_reload'), 'the events before clear()');
    assert.equal(byName(evs, 'before_login').user_id, undefined);
    assert.equal(byName(evs, 'after_login').user_id, 'user-7');
    assert.equal(byName(evs, 'after_reload').user_id, 'user-7', 'the reload kept the user');
    assert.ok(
      evs.filter((e) => e.name === 'screen_view').every((e) => e.user_id === undefined || e.user_id === 'user-7'),
    );
    const newVisitor = await page.evaluate(() => window.sessionmark.getAnonymousId());
    assert.notEqual(newVisitor, visitor);
    const after = await storedWhen(newVisitor, 'demo', (es) => byName(es, 'after_logout'), 'the event after clear()');
    assert.ok(after.every((e) => e.user_id === undefined), JSON.stringify(after));
    assert.equal(await page.evaluate(() => localStorage.getItem('did_user')), null, 'clear() removed did_user');
    assert.deepEqual(warnings, []);
  });

  it('a queued identify runs in order, and one user in two browsers is one unique visitor', T, async () => {
    const clientId = 'identify-two-browsers';
    const visitors = [];
    for (const n of [1, 2]) {
      const c = await suite.newContext();
      const page = await c.newPage();
      await open(page, [
        ['init', { clientId }],
        ['track', 'anonymous_' + n],
        ['identify', 'user-twice'],
        ['track', 'known_' + n],
        ['flush'],
      ]);
      const visitor = await page.evaluate(() => window.sessionmark.getAnonymousId());
      const evs = await storedWhen(visitor, clientId, (es) => byName(es, 'known_' + n), 'the queued events');
      assert.equal(byName(evs, 'anonymous_' + n).user_id, undefined);
      assert.equal(byName(evs, 'known_' + n).user_id, 'user-twice');
      visitors.push(visitor);
    }
    assert.notEqual(visitors[0], visitors[1], 'two browsers, two visitor ids');
    const res = await fetch(`${suite.collector.url}/v1/metrics?client_id=${clientId}`);
    assert.equal(res.status, 200);
    const m = await res.json();
    assert.equal(m.visits, 2);
    assert.equal(m.unique_visitors, 1, 'the collector links both visitors to the one user');
  });
});
