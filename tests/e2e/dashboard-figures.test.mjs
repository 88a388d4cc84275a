// The dashboard's figures against the real collector and a database seeded through
// its ingest (seed.mjs): every headline figure and top-10 row on screen is
// the figure of `GET /v1/metrics`, the site picker's figures for the
// hand-worked site are the known ones, and an empty database shows the
// empty state. With SESSIONMARK_SCREENSHOT=docs/dashboard.png it also
// writes the README's screenshot.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freshContext, repoRoot, startCollector, useSuite } from './harness.mjs';
import { seedKnown, seedWeek } from './seed.mjs';
import { FIGURES } from '../../dashboard/figures.js';
import { TABLES } from '../../dashboard/tables.js';
import { formatCount } from '../../dashboard/format.js';
import { resolve } from 'node:path';

const T = { timeout: 90_000 };
const suite = useSuite({ context: false });
const VIEW = { locale: 'en-US', timezoneId: 'Europe/Berlin', viewport: { width: 1400, height: 1000 } };

/** Runs `fn(context)` in a fresh context of the viewer's locale and zone; no page may throw. */
async function viewing(fn) {
  const t = await freshContext(suite.browser, VIEW);
  try {
    await fn(t.context);
    assert.deepEqual(t.errors, [], 'the dashboard threw or broke the CSP');
  } finally {
    await t.close();
  }
}

/** Opens the dashboard at `hash` on `base`; resolves to the page and the metrics answer it showed. */
async function openDashboard(context, base, hash = '') {
  const page = await context.newPage();
  // The page's clock stands still: the live refresh (every 10 s, over a range
  // ending at the page's now) never redraws the figures while they are read,
  // however slow the machine, so the screen stays the answer below.
  await page.clock.install();
  await page.clock.pauseAt(Date.now());
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/metrics');
  await page.goto(`${base}/dashboard.html${hash}`);
  const res = await answered;
  await page.waitForFunction(() => Number(document.documentElement.dataset.refreshes) >= 1);
  return { page, metrics: await res.json(), url: res.url() };
}

/** What the page shows: each figure's text and each table's rows. */
async function onScreen(page) {
  const figures = {};
  for (const f of FIGURES) figures[f.key] = await page.locator(`[data-figure="${f.key}"] .figure-value`).innerText();
  const tables = {};
  for (const t of TABLES) {
    tables[t.key] = await page.locator(`[data-table="${t.key}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText)));
  }
  return { figures, tables };
}

/** What the page must show for a metrics answer. */
function expected(m) {
  const figures = {};
  for (const f of FIGURES) figures[f.key] = f.format(m[f.key], 'en-US');
  const tables = {};
  for (const t of TABLES) tables[t.key] = m[t.key].slice(0, 10).map((r) => [r.value, formatCount(r.count, 'en-US')]);
  return { figures, tables };
}

describe('the dashboard on a seeded database', () => {
  before(async () => {
    const now = Date.now();
    await seedWeek(suite.collector.url, { now });
    await seedKnown(suite.collector.url, { now });
  });

  it('every headline figure and table row on screen is the API\'s', T, () => viewing(async (context) => {
    const { page, metrics, url } = await openDashboard(context, suite.collector.url);
    // The answer the page got is what anyone asking the same gets.
    const again = await (await fetch(url)).json();
    assert.deepEqual({ ...again, visitors_now: 0 }, { ...metrics, visitors_now: 0 });
    assert.ok(metrics.visits > 100, `a week of visits (${metrics.visits})`);
    assert.deepEqual(await onScreen(page), expected(metrics));
    assert.equal(await page.locator('#chart canvas').count(), 1);
    assert.equal(await page.locator('#onboarding').isVisible(), false);
    if (process.env.SESSIONMARK_SCREENSHOT) {
      // The longest visit of the list makes the fullest timeline.
      const rows = page.locator('#sessions tbody tr');
      const counts = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.cells[2].innerText.replace(/,/g, ''))));
      await rows.nth(counts.indexOf(Math.max(...counts))).click();
      await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length > 0);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.mouse.move(10, 10);
      await page.screenshot({ path: resolve(repoRoot, process.env.SESSIONMARK_SCREENSHOT), fullPage: true });
    }
  }));

  it('the hand-worked site shows the figures worked out by hand', T, () => viewing(async (context) => {
    const { page, metrics } = await openDashboard(context, suite.collector.url, '#site=known');
    assert.equal(metrics.client_id, 'known', 'asked for the picked site');
    const screen = await onScreen(page);
    assert.deepEqual(screen, expected(metrics));
    const f = screen.figures;
    assert.deepEqual(
      [f.visits, f.unique_visitors, f.pageviews, f.pages_per_visit, f.bounce_rate, f.avg_visit_ms, f.avg_engaged_ms, f.conversions, f.conversion_rate, f.revenue, f.average_order_value],
      ['3', '2', '5', '1.67', '33.3%', '1m 04s', '42s', '2', '66.7%', '267.90', '133.95'],
    );
    assert.deepEqual(screen.tables.top_pages, [['/', '2'], ['/product.html', '2'], ['/about.html', '1']]);
    assert.deepEqual(screen.tables.entry_pages, [['/', '2'], ['/about.html', '1']]);
    assert.deepEqual(screen.tables.exit_pages, [['/product.html', '2'], ['/about.html', '1']]);
    // Referrers by host, without `www.` (README, Metrics definitions).
    assert.deepEqual(screen.tables.referrers, [['(direct)', '2'], ['google.com', '1']]);
    assert.equal(await page.locator('#site').inputValue(), 'known');
  }));
});

describe('the dashboard on an empty database', () => {
  let empty;
  before(async () => {
    empty = await startCollector();
  });
  after(async () => {
    await empty?.stop();
  });

  it('says how to add the script tag, and shows zeros, not errors', T, () => viewing(async (context) => {
    const { page, metrics } = await openDashboard(context, empty.url);
    assert.equal(metrics.visits, 0);
    assert.equal(await page.locator('#onboarding').isVisible(), true);
    assert.equal(await page.locator('#snippet').innerText(), `<script src="${empty.url}/dist/sessionmark.js" data-client-id="my-site" async></script>`);
    assert.equal(await page.locator('#alert').isVisible(), false);
    assert.equal(await page.locator('[data-figure="visits"] .figure-value').innerText(), '0');
    assert.equal(await page.locator('[data-figure="bounce_rate"] .figure-value').innerText(), '0.0%');
  }));
});
