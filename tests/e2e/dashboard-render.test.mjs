// The dashboard page (www/dashboard.html) in headless Chromium against a
// stand-in of the read API answering hand-made data (metrics-stub.mjs):
// how it writes each figure, the key from the fragment, the pickers, live
// refresh on a fake clock, errors and odd URLs. The figures of a real
// database are compared in dashboard.test.mjs.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshContext, launch, waitFor } from './harness.mjs';
import { fixtureMetrics, startStub } from './metrics-stub.mjs';
import { FIGURES } from '../../dashboard/figures.js';
import { TABLES } from '../../dashboard/tables.js';
import { formatCount } from '../../dashboard/format.js';
import { NEEDS_KEY } from '../../dashboard/api.js';

const KEY = 'read-key-for-the-dashboard-tests';
const T = { timeout: 60_000 };
const TZ = 'Asia/Kolkata';
let stub;
let browser;
let t;

before(async () => {
  stub = await startStub({ key: KEY });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await stub?.stop();
});
beforeEach(async () => {
  stub.set({ metrics: fixtureMetrics, status: 0, missing: [], sessions: [], events: {} });
  stub.requests.length = 0;
  t = await freshContext(browser, { locale: 'en-US', timezoneId: TZ, viewport: { width: 1400, height: 1000 } });
});
afterEach(async () => {
  await t.close();
  assert.deepEqual(t.errors, [], 'the dashboard threw or broke the CSP');
});

/** Opens the dashboard at `hash` and waits for its `n`th refresh to finish. */
async function open(hash = `#key=${KEY}`, { search = '', page } = {}) {
  const p = page ?? (await t.newPage());
  await p.goto(`${stub.url}/dashboard.html${search}${hash}`);
  await refreshed(p, 1);
  return p;
}
const refreshed = (page, n) => page.waitForFunction((k) => Number(document.documentElement.dataset.refreshes) >= k, n, { timeout: 10_000 });
const metricsRequests = () => stub.requests.filter((r) => r.path === '/v1/metrics');
const text = (page, sel) => page.locator(sel).innerText();
const visible = (page, sel) => page.locator(sel).isVisible();

describe('dashboard rendering', () => {
  it('shows every headline figure and table row of the answer, written for people', T, async () => {
    const page = await open();
    const asked = metricsRequests().at(-1);
    const m = fixtureMetrics({ from: Number(asked.query.from), to: Number(asked.query.to) });
    for (const f of FIGURES) assert.equal(await text(page, `[data-figure="${f.key}"] .figure-value`), f.format(m[f.key], 'en-US'), f.key);
    // The units the site owner reads, spelled out once.
    assert.equal(await text(page, '[data-figure="visits"] .figure-value'), '12,345');
    assert.equal(await text(page, '[data-figure="bounce_rate"] .figure-value'), '41.2%');
    assert.equal(await text(page, '[data-figure="avg_visit_ms"] .figure-value'), '3m 05s');
    assert.equal(await text(page, '[data-figure="revenue"] .figure-value'), '16,049.50');
    for (const tb of TABLES) {
      const rows = await page.locator(`[data-table="${tb.key}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText)));
      assert.deepEqual(rows, m[tb.key].map((r) => [r.value, formatCount(r.count, 'en-US')]), tb.key);
    }
    assert.equal(await page.locator('#chart canvas').count(), 1, 'the chart is drawn');
    assert.equal(await text(page, '#interval'), '(per day)');
  });

  it('takes the key from the fragment, sends it as a bearer token and keeps it out of the URL', T, async () => {
    const page = await open(`#key=${KEY}&range=30d`);
    assert.equal(new URL(page.url()).hash, '#range=30d');
    assert.ok(stub.requests.every((r) => r.authorization === `Bearer ${KEY}`));
    assert.ok(stub.requests.every((r) => !JSON.stringify(r.query).includes(KEY)), 'the key never goes in a query');
    // A reload (no key in the URL any more) keeps working from sessionStorage.
    await page.reload();
    await refreshed(page, 1);
    assert.equal(await visible(page, '#alert'), false);
    assert.equal(stub.requests.at(-1).authorization, `Bearer ${KEY}`);
  });

  it('without the key it says to open the URL npm start printed', T, async () => {
    const page = await open('');
    assert.equal(await text(page, '#alert'), NEEDS_KEY);
    assert.equal(await text(page, '#status'), 'not updated');
  });

  it('says what went wrong when the collector fails, and recovers at the next refresh', T, async () => {
    stub.set({ status: 500 });
    const page = await open();
    assert.match(await text(page, '#alert'), /the collector answered 500 for \/v1\/metrics: stub failure/);
    stub.set({ status: 0 });
    await page.locator('button[data-range="30d"]').click();
    await refreshed(page, 2);
    assert.equal(await visible(page, '#alert'), false);
    assert.equal(await text(page, '[data-figure="visits"] .figure-value'), '12,345');
  });

  it('a collector without /v1/metrics still shows its sessions, and says what is missing', T, async () => {
    stub.set({ missing: ['/v1/metrics', '/v1/sites'], sessions: [{ session_id: 'sess_019a8f2d-0b4a-7c11-8e2f-35d4c6a1b209', anonymous_id: 'anon_x', first_seen: Date.now() - 1000, last_seen: Date.now(), event_count: 1 }] });
    const page = await open();
    assert.match(await text(page, '#alert'), /this collector has no \/v1\/metrics route/);
    assert.equal(await page.locator('#sessions tbody tr').count(), 1);
  });

  it('survives a malformed fragment and an odd query string', T, async () => {
    const page = await t.newPage();
    await page.goto(`${stub.url}/dashboard.html?a=%%&b&=&c=%E0%A4#%E0%A4%A&key&session=%ZZ&&range=%`);
    await refreshed(page, 1);
    assert.equal(await text(page, '#alert'), NEEDS_KEY);
    assert.equal(await page.locator('[data-figure]').count(), FIGURES.length);
    await open(`#key=${KEY}&%&%%%=1&range=nonsense`, { page });
    assert.equal(await visible(page, '#alert'), false);
    assert.equal(await page.locator('button[aria-pressed="true"]').innerText(), '7 days');
  });

  it('the range and site pickers ask for what they show', T, async () => {
    const page = await open();
    const first = metricsRequests().at(-1).query;
    assert.equal(Number(first.to) - Number(first.from), 7 * 86_400_000);
    assert.equal(first.client_id, undefined, 'all sites');

    await page.locator('button[data-range="today"]').click();
    await refreshed(page, 2);
    const today = metricsRequests().at(-1).query;
    const midnight = await page.evaluate(() => new Date(new Date().setHours(0, 0, 0, 0)).getTime());
    assert.equal(Number(today.from), midnight, 'today starts at local midnight');
    assert.equal(await text(page, '#interval'), '(per hour)');

    await page.locator('button[data-range="custom"]').click();
    await refreshed(page, 3);
    await page.locator('#from').fill('2026-03-01');
    await page.locator('#to').fill('2026-03-02');
    await page.locator('#to').dispatchEvent('change');
    // Filling #from asks once (with the old end) before #to changes: wait
    // for the request of the whole custom range, whose end is the day after
    // the last day, at local midnight.
    const customFrom = String(Date.parse('2026-03-01T00:00:00+05:30'));
    const customTo = String(Date.parse('2026-03-03T00:00:00+05:30'));
    await waitFor(() => metricsRequests().some((r) => r.query.from === customFrom && r.query.to === customTo), {
      what: 'the custom range request, the last day included, in local time',
    });
    assert.equal(metricsRequests().at(-1).query.to, customTo, 'no later request asked for another range');
    assert.match(new URL(page.url()).hash, /range=custom&from=2026-03-01&to=2026-03-02/);

    const sites = await page.locator('#site option').allInnerTexts();
    assert.deepEqual(sites, ['All sites', 'shop · 54,321 events', 'blog · 1,200 events']);
    await page.locator('#site').selectOption('blog');
    await waitFor(() => metricsRequests().at(-1).query.client_id === 'blog', { what: 'a request for the picked site' });
    // The view is in the URL: a reload shows the same site and range.
    await page.reload();
    await refreshed(page, 1);
    assert.equal(await page.locator('#site').inputValue(), 'blog');
    assert.equal(await page.locator('#from').inputValue(), '2026-03-01');
  });

  it('refreshes every 10 s while visible, not while hidden, and at once when shown again', T, async () => {
    const page = await t.newPage();
    await page.clock.install();
    await open(`#key=${KEY}`, { page });
    const now = await page.evaluate(() => Date.now());
    await page.clock.pauseAt(now + 100);
    const before = metricsRequests().length;
    await page.clock.runFor(10_000);
    await refreshed(page, 2);
    assert.equal(metricsRequests().length, before + 1);

    const setHidden = (hidden) =>
      page.evaluate((h) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await page.clock.runFor(60_000);
    assert.equal(metricsRequests().length, before + 1, 'no refresh while the tab is hidden');
    await setHidden(false);
    await refreshed(page, 3);
    assert.equal(metricsRequests().length, before + 2, 'shown again: refreshed at once');
    // Live off: no more refreshes.
    await page.locator('#live').uncheck();
    await page.clock.runFor(30_000);
    assert.equal(metricsRequests().length, before + 2);
  });

  it('shows the session explorer in local time, server events marked', T, async () => {
    const start = Date.now() - 20 * 60_000;
    const id = 'sess_019a8f2d-0b4a-7c11-8e2f-35d4c6a1b209';
    stub.set({
      sessions: [{ session_id: id, anonymous_id: 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7', first_seen: start, last_seen: start + 65_000, event_count: 2, sealed_at: null }],
      events: {
        [id]: [
          { event_id: 'b', name: 'purchase', timestamp: start + 65_000, path: '', source: 'server', client_id: 'server', properties: { amount: 42 } },
          { event_id: 'a', name: 'screen_view', timestamp: start, path: '/product', page_count: 1 },
        ],
      },
    });
    const page = await open();
    const row = page.locator(`#sessions tr[data-session="${id}"]`);
    const local = (ms, o) => new Date(ms).toLocaleString('en-US', { timeZone: TZ, ...o });
    assert.equal(await row.locator('td').nth(0).innerText(), local(start, { dateStyle: 'medium', timeStyle: 'short' }));
    assert.equal(await row.locator('td').nth(1).innerText(), '1m 05s');
    await row.click();
    await waitFor(async () => (await page.locator('#events tbody tr').count()) === 2, { what: 'the timeline' });
    const cells = await page.locator('#events tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].slice(0, 4).map((c) => c.innerText)));
    const time = (ms) => new Date(ms).toLocaleTimeString('en-US', { timeZone: TZ, hour: 'numeric', minute: '2-digit', second: '2-digit' });
    assert.deepEqual(cells, [
      [time(start), '+0s', 'screen_view', '/product'],
      [time(start + 65_000), '+1m 05s', 'purchase server', ''],
    ]);
    assert.equal(await page.locator('#events tbody tr.server .badge').innerText(), 'server');
    assert.match(new URL(page.url()).hash, new RegExp(`session=${id}`));
  });

  it('an empty collector says how to add the script tag', T, async () => {
    const zero = (q) => ({ ...fixtureMetrics(q), visits: 0, unique_visitors: 0, pageviews: 0, series: [], top_pages: [], entry_pages: [], exit_pages: [], referrers: [] });
    stub.set({ metrics: zero, sites: [] });
    try {
      const page = await open();
      assert.equal(await visible(page, '#onboarding'), true);
      assert.equal(await text(page, '#snippet'), `<script src="${stub.url}/dist/sessionmark.js" data-client-id="my-site" async></script>`);
      assert.equal(await visible(page, '#chart-empty'), true);
      assert.equal(await text(page, '[data-figure="visits"] .figure-value'), '0');
    } finally {
      stub.set({ sites: (await import('./metrics-stub.mjs')).fixtureSites });
    }
  });
});
