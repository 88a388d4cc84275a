// One fresh page per sample (bench/README.md, "What is measured"): start-up
// marks, heap and CDP metrics, the track() loop and how many of its events
// reached the stub; and the decode phase in a page of its own.
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../tests/e2e/harness.mjs';

/** track() calls of a sample's loop. */
export const EVENTS = 1000;
/**
 * track() calls of the smaller loop: a burst every peer delivers.
 * Plausible sends each event as its own keepalive fetch, and Chromium
 * holds a page's keepalive requests in flight to 64 KiB of bodies in all:
 * about 300 of its events, so most of a burst of 1000 is refused.
 */
export const BURST = 200;
const SETTLE_MS = 300; // after load, before reading CDP metrics: the trackers' deferred start-up work
const DELIVERY_WAIT_MS = 12_000; // after the loop, at most, for the events to reach the stub
const DELIVERY_QUIET_MS = 6_000; // ... and no longer than this once nothing new arrives (batch timers: ours 5 s, PostHog's 3 s)
const CLOSE_GRACE_MS = 1000; // after closing an incomplete page: what its pagehide sends
export const WAITS = { settleMs: SETTLE_MS, deliveryWaitMs: DELIVERY_WAIT_MS, deliveryQuietMs: DELIVERY_QUIET_MS, closeGraceMs: CLOSE_GRACE_MS };

/** Chromium with the harness's flags; every host but 127.0.0.1 resolves to "not found". */
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
}

/** The user agent of a desktop Chrome of the same version (headless says "HeadlessChrome", which trackers filter). */
export const desktopUserAgent = (version) =>
  `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version.split('.')[0]}.0.0.0 Safari/537.36`;

const isLocal = (url) => {
  try {
    const u = new URL(url);
    return u.protocol === 'data:' || u.hostname === '127.0.0.1';
  } catch {
    return true;
  }
};

let sampleCounter = 0;

/** JS heap in use after a full garbage collection (CDP), bytes. */
async function jsHeap(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

/**
 * One fresh page (fresh context: empty storage and cache, a first visit)
 * loading one tracker; with `trackEvents`, then that many track() calls
 * in one loop and the count of them that reached the stub.
 */
export async function startupSample(browser, pages, t, { trackEvents, userAgent }) {
  const sample = `smpl${++sampleCounter}`;
  const context = await browser.newContext({ userAgent });
  try {
    const page = await context.newPage();
    const other = { local: 0, blocked: [], consoleErrors: [], pageErrors: [] };
    page.on('request', (r) => {
      const p = new URL(r.url()).pathname;
      if (isLocal(r.url()) && p !== `/page/${t.key}.html` && p !== `/t/${t.key}.js`) other.local++;
    });
    page.on('requestfailed', (r) => {
      if (!isLocal(r.url())) other.blocked.push(new URL(r.url()).host);
    });
    page.on('console', (m) => m.type() === 'error' && other.consoleErrors.push(m.text().slice(0, 200)));
    page.on('pageerror', (e) => other.pageErrors.push(String(e.message).slice(0, 200)));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${pages.url}/page/${t.key}.html?sample=${sample}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__b && window.__b.tReady !== undefined, null, { timeout: 10_000 });
    await page.waitForTimeout(SETTLE_MS);
    const b = await page.evaluate((key) => {
      const r = performance.getEntriesByType('resource').find((e) => e.name.endsWith(`/t/${key}.js`));
      const w = window.__b;
      return {
        tReady: w.tReady,
        tScript: w.tScript,
        initError: w.initError,
        value: w.value,
        modules: w.modules,
        instances: w.instances,
        wasmBytes: window.__wasmBytes(),
        responseEnd: r ? r.responseEnd : null,
      };
    }, t.key);
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const heapJs = await jsHeap(cdp);
    const own = b.responseEnd != null ? b.tReady - b.responseEnd : null;
    const mod = b.modules[0];
    const inst = b.instances[0];
    const s = {
      sample,
      readyMs: b.tReady,
      evalMs: b.responseEnd != null ? b.tScript - b.responseEnd : null,
      initMs: b.tReady - b.tScript,
      ownMs: own,
      cdpScriptMs: metrics.ScriptDuration * 1000,
      cdpTaskMs: metrics.TaskDuration * 1000,
      heapJs,
      wasmBytes: b.wasmBytes,
      // From outside the bundle: when it compiled and instantiated its wasm.
      wasm:
        mod && inst && own != null
          ? {
              compileMs: mod.end - mod.start,
              instantiateMs: inst.end - inst.start,
              initMs: b.tReady - inst.end,
              // eval+init less the wasm's own phases: parse, decode, the page's wait
              restMs: own - (mod.end - mod.start) - (inst.end - inst.start) - (b.tReady - inst.end),
              moduleBytes: mod.bytes,
            }
          : null,
      initError: b.initError || null,
      value: b.value,
      ...other,
    };
    if (trackEvents) {
      s.trackEvents = trackEvents;
      s.trackMs = await page.evaluate((n) => window.__bench(n), trackEvents);
      const t0 = Date.now();
      let last = -1;
      let lastChange = t0;
      while (pages.delivered(sample) < trackEvents && Date.now() - t0 < DELIVERY_WAIT_MS && Date.now() - lastChange < DELIVERY_QUIET_MS) {
        await page.waitForTimeout(50);
        if (pages.delivered(sample) !== last) [last, lastChange] = [pages.delivered(sample), Date.now()];
      }
      s.deliveredOpen = pages.delivered(sample);
      s.deliveredWithinMs = Date.now() - t0;
      s.heapJsAfter = await jsHeap(cdp);
      s.wasmBytesAfter = await page.evaluate(() => window.__wasmBytes());
      if (s.deliveredOpen < trackEvents) {
        // What the tracker sends when the page goes away counts too.
        await page.close({ runBeforeUnload: true });
        const t1 = Date.now();
        while (pages.delivered(sample) < trackEvents && Date.now() - t1 < CLOSE_GRACE_MS) await new Promise((r) => setTimeout(r, 50));
      }
      s.delivered = pages.delivered(sample);
      s.requests = pages.requests(sample);
    }
    return s;
  } finally {
    await context.close().catch(() => {});
  }
}

/** The decode phase apart: the bundle's wasm literal as its own script, then its decode (fresh page each). */
export async function decodeSample(browser, pages) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${pages.url}/page/decode.html`, { waitUntil: 'load' });
    return await page.evaluate(() => {
      const r = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/t/wasm-literal.js'));
      const d = window.__d;
      return { decodeMs: d.decodeMs, literalScriptMs: r ? d.tLiteral - r.responseEnd : null, bytes: d.bytes, valid: d.valid, native: d.native };
    });
  } finally {
    await context.close().catch(() => {});
  }
}
