// The dashboard (www/dashboard.html) under the collector's CSP: it survives
// any URL fragment, and against a collector with a read key it reads with
// the key from `#key=...`, keeps it in sessionStorage and takes it out of
// the address bar.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, useSuite, waitFor } from './harness.mjs';

const T = { timeout: 60_000 };
const suite = useSuite();

const status = (page) => page.textContent('#status');

/** Waits until the dashboard's status line says it refreshed (or failed). */
async function settled(page) {
  await page.waitForFunction(() => !/loading/.test(document.getElementById('status').textContent), null, { timeout: 10_000 });
  return status(page);
}

describe('the dashboard', () => {
  it('loads with no inline code under the served CSP and lists sessions', T, async () => {
    const page = await suite.t.newPage();
    const res = await page.goto(suite.collector.url + '/dashboard.html');
    assert.match(res.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
    assert.match(await settled(page), /sessions · updated/);
  });

  for (const fragment of ['#%E0%A4%A', '#%', '#key=%zz&session=%E0', '#session=' + 'x'.repeat(5000), '#a=b=c&&&']) {
    it(`survives the malformed fragment ${fragment.slice(0, 24)}`, T, async () => {
      const page = await suite.t.newPage();
      await page.goto(suite.collector.url + '/dashboard.html' + fragment);
      assert.match(await settled(page), /sessions · updated/);
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

  it('without the key says it needs one', T, async () => {
    const page = await suite.t.newPage();
    await page.goto(keyed.url + '/dashboard.html');
    assert.match(await settled(page), /read key/);
  });

  it('reads with the key of #key=, keeps it for the tab and removes it from the URL', T, async () => {
    const page = await suite.t.newPage();
    await page.goto(`${keyed.url}/dashboard.html#key=${KEY}`);
    assert.match(await settled(page), /sessions · updated/);
    assert.equal(new URL(page.url()).hash, '', 'the key left the address bar');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sessionmark_dashboard_key')), KEY);
    await page.reload();
    await waitFor(async () => /sessions · updated/.test(await status(page)), { timeout: 10_000, what: 'a reload reads with the kept key' });
  });
});
