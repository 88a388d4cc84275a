// Delivery against the real collector (sessionmark only): a burst of
// track() calls then flush(), its requests and bytes, and what was stored.
// Section 4 of `npm run bench`; `node bench/delivery.mjs` runs it alone (a
// fresh collector, Chromium) and prints its rows, e.g. the bytes per event
// of the wire's compact shape (README "Wire protocol"). Needs
// dist/sessionmark.js and target/release/sessionmark-collector.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCollector, waitFor } from '../tests/e2e/harness.mjs';
import { EVENTS, launchBrowser } from './samples.mjs';

export function deliveryPage(clientId, batching) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>bench delivery</title><link rel="icon" href="data:,">
<script src="/dist/sessionmark.js" data-client-id="${clientId}"${batching ? '' : ' data-enable-batching="false"'}></script>
</head><body><p>bench delivery (${batching ? 'default batching' : 'enableBatching: false'})</p></body></html>
`;
}

export async function deliveryRun(browser, collector, { name, batching }) {
  const clientId = `bench-${name}`;
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e.message).slice(0, 200)));
    await page.goto(`${collector.url}/bench-${name}.html`, { waitUntil: 'load' });
    await page.waitForFunction(() => typeof window.sessionmark?.getSessionId?.() === 'string', null, { timeout: 10_000 });
    const sessionId = await page.evaluate(() => window.sessionmark.getSessionId());
    // The load's screen_view goes first, so the burst's requests hold only the burst.
    await page.evaluate(() => window.sessionmark.flush());
    await waitFor(async () => (await collector.events(sessionId)).some((e) => e.name === 'screen_view'), {
      what: `the screen_view of ${clientId}`,
      timeout: 15_000,
    });

    const reqs = [];
    const failed = [];
    const statuses = {};
    const isBatch = (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/batch';
    page.on('request', (r) => isBatch(r) && reqs.push(r));
    page.on('requestfailed', (r) => isBatch(r) && failed.push(r.failure()?.errorText || 'failed'));
    page.on('requestfinished', async (r) => {
      if (!isBatch(r)) return;
      const res = await r.response().catch(() => null);
      const s = res ? res.status() : 'none';
      statuses[s] = (statuses[s] || 0) + 1;
    });

    const t0 = Date.now();
    const inPage = await page.evaluate(async (n) => {
      const t = performance.now();
      for (let i = 0; i < n; i++) window.sessionmark.track('e', { i });
      const t1 = performance.now();
      await window.sessionmark.flush();
      return { trackMs: t1 - t, flushMs: performance.now() - t1 };
    }, EVENTS);
    let stored = [];
    let timedOut = false;
    try {
      stored = await waitFor(
        async () => {
          const evs = (await collector.events(sessionId)).filter((e) => e.name === 'e');
          return evs.length >= EVENTS && evs;
        },
        { what: `${EVENTS} stored events of ${clientId}`, timeout: 45_000, interval: 50 },
      );
    } catch {
      timedOut = true;
      stored = (await collector.events(sessionId)).filter((e) => e.name === 'e');
    }
    const deliveredMs = Date.now() - t0;
    await page.waitForTimeout(300); // stragglers (retries) still count

    const byClient = (await collector.allEvents({ clientId })).filter((e) => e.name === 'e');
    const distinct = new Set(stored.map((e) => e.properties?.i)).size;
    const types = {};
    let bodyBytes = 0;
    let hiddenBodies = 0;
    for (const r of reqs) {
      types[r.resourceType()] = (types[r.resourceType()] || 0) + 1;
      const buf = r.postDataBuffer();
      if (buf && buf.length) bodyBytes += buf.length;
      else hiddenBodies++;
    }
    return {
      mode: batching ? 'default batching' : 'enableBatching: false',
      clientId,
      requests: reqs.length,
      requestsPer1000: (reqs.length * 1000) / EVENTS,
      bodyBytes,
      bytesPerEvent: bodyBytes / EVENTS,
      hiddenBodies,
      resourceTypes: types,
      statuses,
      failed: failed.length,
      failures: [...new Set(failed)],
      stored: stored.length,
      storedDistinct: distinct,
      storedByClientListing: byClient.length,
      deliveredMs,
      timedOut,
      trackMs: inPage.trackMs,
      flushMs: inPage.flushMs,
      pageErrors,
    };
  } finally {
    await context.close().catch(() => {});
  }
}

/** Section 4 alone: both modes against a fresh collector, one line each. */
async function main() {
  const www = mkdtempSync(join(tmpdir(), 'sessionmark-bench-delivery-'));
  const browser = await launchBrowser();
  let collector;
  try {
    writeFileSync(join(www, 'bench-batched.html'), deliveryPage('bench-batched', true));
    writeFileSync(join(www, 'bench-unbatched.html'), deliveryPage('bench-unbatched', false));
    collector = await startCollector({ hooks: false, env: { SESSIONMARK_WWW: www } });
    for (const [name, batching] of [['batched', true], ['unbatched', false]]) {
      const d = await deliveryRun(browser, collector, { name, batching });
      console.log(
        `${d.mode}: ${d.requests} requests, ${d.bodyBytes} body bytes, ${d.bytesPerEvent.toFixed(1)} B / event, ` +
          `stored ${d.stored}/${EVENTS}, failed ${d.failed}, hidden bodies ${d.hiddenBodies}, delivered in ${d.deliveredMs} ms` +
          (d.pageErrors.length ? `, page errors: ${d.pageErrors.join(' | ')}` : ''),
      );
    }
  } finally {
    await collector?.stop().catch(() => {});
    await browser.close().catch(() => {});
    rmSync(www, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
