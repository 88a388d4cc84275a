// The dashboard (www/dashboard.html) served by the real collector under its
// CSP: it loads with no inline code and lists the stored sessions, it
// survives any URL fragment, and against a collector with a read key it
// reads with the key from `#key=...`, keeps it in sessionStorage and takes
// it out of the address bar. (How it renders figures: dashboard-render.test.mjs.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newSessionId, newVisitorId, startCollector, useSuite, uuidv7, waitFor } from './harness.mjs';
import { NEEDS_KEY, WRONG_KEY } from '../../dashboard/api.js';
import { FIGURES } from '../../dashboard/figures.js';
import { KEY_STORAGE } from '../../dashboard/location.js';

const T = { timeout: 60_000 };
const suite = useSuite();

const refreshed = (page, n = 1) =>
  page.waitForFunction((k) => Number(document.documentElement.dataset.refreshes) >= k, n, { timeout: 10_000 });
const alertText = async (page) => ((await page.locator('#alert').isVisible()) ? page.locator('#alert').innerText() : '');

/** One stored page view, so the explorer has a session to list. */
async function storeOneView(base) {
  const now = Date.now();
  const event = {
    event_id: uuidv7(now), name: 'screen_view', session_id: newSessionId(now), anonymous_id: newVisitorId(),
    timestamp: now, path: '/', title: 'Home', referrer: '', client_id: 'dashboard-e2e', properties: {},
  };
  const res = await fetch(`${base}/v1/batch`, { method: 'POST', body: JSON.stringify({ events: [event] }) });
  assert.equal(res.status, 200);
  return event.session_id;
}

describe('the dashboard', () => {
  let sessionId;
  before(async () => {
    sessionId = await storeOneView(suite.collector.url);
  });

  it('loads with no inline code under the served CSP and lists sessions', T, async () => {
    const page = await suite.t.newPage();
    const res = await page.goto(suite.collector.url + '/dashboard.html');
    assert.match(res.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
    assert.doesNotMatch(res.headers()['content-security-policy'], /unsafe-inline/);
    await refreshed(page);
    await page.locator(`#sessions tr[data-session="${sessionId}"]`).waitFor();
    assert.doesNotMatch(await alertText(page), /read key/);
  });

  for (const fragment of ['#%E0%A4%A', '#%', '#key=%zz&session=%E0', '#session=' + 'x'.repeat(5000), '#a=b=c&&&']) {
    it(`survives the malformed fragment ${fragment.slice(0, 24)}`, T, async () => {
      const page = await suite.t.newPage();
      await page.goto(suite.collector.url + '/dashboard.html' + fragment);
      await refreshed(page);
      assert.equal(await page.locator('[data-figure]').count(), FIGURES.length);
      await page.locator(`#sessions tr[data-session="${sessionId}"]`).waitFor();
    });
  }
});

describe('the dashboard with a read key', () => {
  const KEY = 'dashboard-e2e-read-key-0123456789';
  let keyed;
  before(async () => {
    keyed = await startCollector({ env: { SESSIONMARK_READ_KEY: KEY, SESSIONMARK_SERVER_KEY: KEY + '-server' } });
  });
  after(() => keyed?.stop());

  it('without the key says to open the URL npm start printed; with a wrong one says so', T, async () => {
    const page = await suite.t.newPage();
    await page.goto(keyed.url + '/dashboard.html');
    await refreshed(page);
    assert.equal(await alertText(page), NEEDS_KEY);
    await page.goto(keyed.url + '/dashboard.html?again#key=not-the-key-of-this-collector');
    await refreshed(page);
    assert.equal(await alertText(page), WRONG_KEY);
  });

  it('reads with the key of #key=, keeps it for the tab and removes it from the URL', T, async () => {
    const page = await suite.t.newPage();
    await page.goto(`${keyed.url}/dashboard.html#key=${KEY}`);
    await refreshed(page);
    assert.doesNotMatch(await alertText(page), /read key/);
    assert.equal(new URL(page.url()).hash, '', 'the key left the address bar');
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), KEY_STORAGE), KEY);
    await page.reload();
    await refreshed(page);
    await waitFor(async () => !/read key/.test(await alertText(page)), { timeout: 10_000, what: 'a reload reads with the kept key' });
  });
});
