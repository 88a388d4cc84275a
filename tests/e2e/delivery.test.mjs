// Delivery, end to end: the built tracker (ES module, www/delivery.html) in
// headless Chromium against the real collector. Every assertion is about what
// the COLLECTOR stored (GET /v1/events?client_id=), never about what went over
// the wire: beacons show empty bodies to Playwright, and only storage proves
// delivery. Each test uses a client id of its own, so no test sees another's
// events, and every test checks that each tracked event was stored exactly once.
//
// Timing rules are driven by page.clock (the tracker's timers are setTimeout +
// Date.now); the only real-time waits are bounded polls of the collector.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useSuite } from './harness.mjs';

const T = { timeout: 120_000 };
/** The name of every event the tests track; the load's own screen_view is left out of counts. */
const EVENT = 'delivery_probe';
/** Fields each stored event must carry (README "Delivery"). */
const FIELDS = ['event_id', 'name', 'session_id', 'anonymous_id', 'timestamp', 'path', 'title', 'referrer', 'client_id', 'properties'];

const suite = useSuite({ consoleLog: true });

// ---------------------------------------------------------------------------
// Helpers

let seq = 0;
/** A client id no other test (or earlier run against the same collector) uses. */
const newClientId = (tag) => `dlv-${tag}-${process.pid}-${Date.now().toString(36)}-${++seq}`;

/** Opens www/delivery.html with these tracker options and waits for window.sm. */
async function openPage(page, options) {
  const q = new URLSearchParams(Object.entries(options).map(([k, v]) => [k, String(v)]));
  await page.goto(`${suite.collector.url}/delivery.html?${q}`);
  await page.waitForFunction(() => typeof window.sm?.track === 'function', null, { timeout: 10_000 });
}

/**
 * Freezes the page clock (installed before goto) just ahead of the page's
 * current time. The installed clock runs meanwhile, so a target it already
 * passed is refused ("Cannot fast-forward to the past"): retry a bit later.
 */
async function pauseClock(page) {
  for (let attempt = 1; ; attempt++) {
    const now = await page.evaluate(() => Date.now());
    try {
      await page.clock.pauseAt(now + 200);
      return;
    } catch (e) {
      if (attempt >= 5 || !/past/i.test(e.message)) throw e;
    }
  }
}

/**
 * The load queues a screen_view first; send it now and wait until it is stored,
 * so the batches the test makes hold only the test's own events.
 */
async function drainLoad(page, clientId) {
  await page.evaluate(() => window.sm.flush());
  await until(async () => (await suite.collector.allEvents({ clientId })).some((e) => e.name === 'screen_view'), {
    what: `the page load's screen_view of ${clientId}`,
    clientId,
  });
}

/**
 * A new page of this test's context on www/delivery.html with these options,
 * the load's screen_view already stored. `pausedClock`: page.clock installed
 * before the load and paused after it, so no tracker timer fires until the
 * test moves the clock.
 */
async function readyPage(options, { pausedClock = false } = {}) {
  const page = await suite.t.newPage();
  if (pausedClock) await page.clock.install();
  await openPage(page, options);
  if (pausedClock) await pauseClock(page);
  await drainLoad(page, options.clientId);
  return page;
}

/** The site loaded again in a new page of this test's context (same localStorage, so the same outbox). */
async function nextPageLoad(options) {
  const page = await suite.t.newPage();
  await openPage(page, options);
  return page;
}

/** How many probe events an outbox text (did_outbox) holds. */
const probesIn = (text) => (text || '').split('\n').filter((line) => line.includes(`"name":${JSON.stringify(EVENT)}`)).length;

/**
 * How many probe events did_outbox holds, read from a page of the site that
 * runs no tracker (so nothing resends or removes them meanwhile).
 */
async function outboxCount() {
  const page = await suite.t.newPage();
  await page.goto(`${suite.collector.url}/style.css`);
  const text = await page.evaluate(() => localStorage.getItem('did_outbox'));
  await page.close();
  return probesIn(text);
}

/** Runs `fn` with the collector killed; starts it again (same port and database) however `fn` ends. */
async function whileCollectorDown(fn) {
  await suite.collector.kill();
  try {
    await fn();
  } finally {
    await suite.collector.restart();
  }
}

/** Tracks events i = from..to-1 in the page, in one go (synchronously, one turn). */
function trackRange(page, from, to, { pad = 0 } = {}) {
  return page.evaluate(
    ({ from, to, name, pad }) => {
      const filler = 'x'.repeat(pad);
      for (let i = from; i < to; i++) window.sm.track(name, pad ? { i, pad: filler } : { i });
    },
    { from, to, name: EVENT, pad },
  );
}

/** This client's stored probe events, in the collector's order (timestamp, then arrival). */
async function stored(clientId) {
  return (await suite.collector.allEvents({ clientId })).filter((e) => e.name === EVENT);
}

/** A short description of what is stored, for failure messages. */
function describeStored(evs) {
  const ids = evs.map((e) => e.event_id);
  const dupIds = ids.length - new Set(ids).size;
  // i values in stored order, runs of consecutive values shortened: 0-19,25,20-24
  const runs = [];
  for (const i of evs.map((e) => e.properties?.i)) {
    const last = runs[runs.length - 1];
    if (last && typeof i === 'number' && i === last[1] + 1) last[1] = i;
    else runs.push([i, i]);
  }
  const order = runs.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
  return `${evs.length} stored, ${dupIds} repeated event_ids, properties.i in stored order = [${order}]`;
}

function diagnostics() {
  const tail = (s, n) => (s.length > n ? '…' + s.slice(-n) : s);
  return `\npage console:\n${tail(suite.consoleLog.join('\n'), 3000) || '(nothing)'}\ncollector output:\n${tail(suite.collector.logs(), 3000) || '(nothing)'}`;
}

/**
 * Polls `check` until it returns truthy or `timeout` ms pass; on timeout the
 * error says what was awaited and what the collector had stored.
 */
async function until(check, { what, clientId, timeout = 20_000, interval = 100 }) {
  const end = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end) {
      let got = '';
      try {
        got = describeStored(await stored(clientId));
      } catch (e) {
        got = `(could not read the collector: ${e.message})`;
      }
      throw new Error(
        `timed out after ${timeout} ms waiting for ${what}; collector has: ${got}` +
          (lastError ? `; last error: ${lastError.message}` : '') +
          diagnostics(),
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits until at least `n` probe events of `clientId` are stored; returns them. */
function waitStored(clientId, n, what, timeout) {
  return until(
    async () => {
      const evs = await stored(clientId);
      return evs.length >= n && evs;
    },
    { what: `${n} stored events (${what})`, clientId, timeout },
  );
}

/**
 * Checks for `ms` of real time that the stored count stays `n`. Where it
 * guards a timing rule ("not before batchTimeout") the page clock is paused,
 * so no tracker timer can fire meanwhile: it bounds a "nothing (more) was
 * sent" check, it never measures a timing window.
 */
async function staysAt(clientId, n, why, ms = 1_000) {
  const end = Date.now() + ms;
  do {
    const evs = await stored(clientId);
    assert.equal(evs.length, n, `${why}: expected exactly ${n} stored, collector has ${describeStored(evs)}${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < end);
}

/** Each of the events i = 0..n-1 is stored exactly once, with every field. */
function assertExactlyOnce(evs, n, clientId) {
  const what = describeStored(evs);
  const ids = evs.map((e) => e.event_id);
  assert.equal(new Set(ids).size, ids.length, `event_ids are unique: ${what}`);
  assert.equal(evs.length, n, `stored exactly the ${n} tracked: ${what}`);
  const is = new Set(evs.map((e) => e.properties?.i));
  assert.equal(is.size, n, `${n} distinct properties.i (the collector dedups by event_id only): ${what}`);
  for (let i = 0; i < n; i++) assert.ok(is.has(i), `event i=${i} stored: ${what}`);
  for (const e of evs) {
    for (const f of FIELDS) assert.ok(f in e, `stored event has ${f}: ${JSON.stringify(e).slice(0, 300)}`);
    assert.equal(e.client_id, clientId);
  }
}

/** The end of a test: for `ms` nothing more arrives, and each of the events i = 0..n-1 is stored exactly once. */
async function assertNoMoreAndEachOnce(clientId, n, ms = 500) {
  await staysAt(clientId, n, 'nothing more arrives', ms);
  assertExactlyOnce(await stored(clientId), n, clientId);
}

/** Makes the page hidden the way a tab switch does (Playwright cannot for one page). */
function hide(page) {
  return page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

// ---------------------------------------------------------------------------

describe('batching', () => {
  it('25 events at batchSize 10: 20 go at once (10 + 10), the last 5 only after batchTimeout', T, async () => {
    const clientId = newClientId('batch25');
    const page = await readyPage({ clientId, batchSize: 10, batchTimeout: 5000 }, { pausedClock: true });

    await trackRange(page, 0, 25);
    const first = await waitStored(clientId, 20, 'two full batches of 10 go without waiting');
    assert.deepEqual(
      first.map((e) => e.properties.i).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
      `the two full batches are the first 20 tracked: ${describeStored(first)}`,
    );
    await staysAt(clientId, 20, 'the partial batch of 5 waits while the clock stands still');

    await page.clock.fastForward(4000);
    await staysAt(clientId, 20, 'the partial batch of 5 still waits 4 s after its first event (timeout 5 s)');

    await page.clock.fastForward(1000);
    const all = await waitStored(clientId, 25, 'the partial batch goes at batchTimeout');
    assertExactlyOnce(all, 25, clientId);
    // All 25 carry the same (paused) timestamp, so the collector lists them in
    // arrival order, and it stores each request in one transaction: a batch
    // is a contiguous run. The two full batches may arrive in either order
    // (two requests in flight at once); the partial one is last.
    const order = all.map((e) => e.properties.i);
    const run = (from, len) => Array.from({ length: len }, (_, k) => from + k);
    const batches = [order.slice(0, 10), order.slice(10, 20), order.slice(20)];
    assert.deepEqual(batches[2], run(20, 5), `the last 5 tracked arrive last, as one batch: ${describeStored(all)}`);
    for (const b of batches.slice(0, 2)) {
      assert.ok(
        [0, 10].some((from) => JSON.stringify(b) === JSON.stringify(run(from, 10))),
        `the first 20 arrive as two batches of 10 tracked in a row (0-9 and 10-19): ${describeStored(all)}`,
      );
    }
  });

  it('a batch goes the moment it holds batchSize events, not before', T, async () => {
    const clientId = newClientId('batchfull');
    const page = await readyPage({ clientId, batchSize: 10, batchTimeout: 5000 }, { pausedClock: true });

    await trackRange(page, 0, 9);
    await staysAt(clientId, 0, '9 events are one short of a batch', 700);
    await trackRange(page, 9, 10);
    await waitStored(clientId, 10, 'the 10th event fills the batch');
    await trackRange(page, 10, 19);
    await staysAt(clientId, 10, 'the second batch holds 9: nothing more goes', 700);
    await trackRange(page, 19, 20);
    const all = await waitStored(clientId, 20, 'the 20th event fills the second batch');
    assertExactlyOnce(all, 20, clientId);
  });
});

describe('leaving the page', () => {
  it('hiding the page delivers everything queued by beacon, without the clock moving', T, async () => {
    const clientId = newClientId('hidden');
    const page = await readyPage({ clientId, batchSize: 10, batchTimeout: 30000 }, { pausedClock: true });

    await trackRange(page, 0, 7);
    await staysAt(clientId, 0, 'before hiding, the 7 wait for the 30 s batch timeout', 500);
    await hide(page);
    await waitStored(clientId, 7, 'visibilitychange to hidden sends the queue');
    await assertNoMoreAndEachOnce(clientId, 7);
  });

  it('closing the tab delivers everything queued', T, async () => {
    const clientId = newClientId('close');
    const page = await readyPage({ clientId, batchSize: 10, batchTimeout: 30000 }, { pausedClock: true });

    await trackRange(page, 0, 7);
    await staysAt(clientId, 0, 'before closing, the 7 wait for the 30 s batch timeout', 500);
    await page.close();
    await waitStored(clientId, 7, 'pagehide on close sends the queue');
    await assertNoMoreAndEachOnce(clientId, 7);
  });
});

describe('volume', () => {
  for (const batchSize of [10, 50]) {
    it(`300 events of ~1 KB each (~300 KB, far over the 64 KiB keepalive budget) all arrive, batchSize ${batchSize}`, T, async () => {
      const clientId = newClientId(`bulk${batchSize}`);
      const page = await readyPage({ clientId, batchSize, batchTimeout: 5000 });

      await trackRange(page, 0, 300, { pad: 1000 });
      await page.evaluate(() => window.sm.flush());
      // Real time runs here: a request the browser refused would be retried
      // after ~1 s, which the deadline covers.
      const all = await waitStored(clientId, 300, 'every large event arrives', 45_000);
      await assertNoMoreAndEachOnce(clientId, 300);
      for (const e of all) assert.equal(e.properties.pad?.length, 1000, `event i=${e.properties.i} kept its 1 KB property intact`);
    });
  }
});

describe('volume while leaving the page', () => {
  it('hiding the page right after a burst of 300 ~1 KB events loses nothing', T, async () => {
    const clientId = newClientId('bursthide');
    const page = await readyPage({ clientId, batchSize: 50, batchTimeout: 5000 });

    // Same turn: the keepalive budget is taken by the first batches, the
    // rest are plain fetches or still queued when the page hides.
    await page.evaluate(
      ({ name }) => {
        const pad = 'x'.repeat(1000);
        for (let i = 0; i < 300; i++) window.sm.track(name, { i, pad });
        Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
        Object.defineProperty(document, 'hidden', { value: true, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      },
      { name: EVENT },
    );
    // Real time: whatever the browser refused is retried (~1 s backoff).
    await waitStored(clientId, 300, 'every event of the burst arrives', 45_000);
    await assertNoMoreAndEachOnce(clientId, 300);
  });

  it('closing the tab right after a burst of 300 ~1 KB events: the rest arrives with the next page load', T, async () => {
    const clientId = newClientId('burstclose');
    const opts = { clientId, batchSize: 50, batchTimeout: 5000 };
    const page = await readyPage(opts);

    await trackRange(page, 0, 300, { pad: 1000 });
    await page.close();
    // Plain fetches in flight die with the page; what they carried was kept
    // in did_outbox, which the next load of the site resends.
    await nextPageLoad(opts);
    await waitStored(clientId, 300, 'every event of the burst arrives, at the latest from the outbox', 45_000);
    await assertNoMoreAndEachOnce(clientId, 300);
  });
});

describe('failures', () => {
  it('the collector answering 500 three times, then recovering, loses nothing', T, async () => {
    const clientId = newClientId('fail500');
    const page = await readyPage({ clientId, batchSize: 10, batchTimeout: 5000 }, { pausedClock: true });

    await suite.collector.fail(500, 3);
    await trackRange(page, 0, 12);
    // flush() resolves once the requests were answered (500) and their
    // events kept for a retry.
    await page.evaluate(() => window.sm.flush());
    await staysAt(clientId, 0, 'both first posts (10, then 2 flushed) were answered 500', 300);

    let all;
    const steps = [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000];
    const advanced = [];
    for (const step of steps) {
      await page.clock.fastForward(step);
      advanced.push(step);
      const evs = await stored(clientId);
      if (evs.length >= 12) {
        all = evs;
        break;
      }
      // Give the retry fired by this step time to be answered before moving on.
      all = await until(async () => {
        const e = await stored(clientId);
        return e.length >= 12 && e;
      }, { what: 'retries', clientId, timeout: 2_000 }).catch(() => undefined);
      if (all) break;
    }
    if (!all) {
      const evs = await stored(clientId);
      assert.fail(`after moving the clock ${advanced.join(' + ')} ms, the collector has ${describeStored(evs)}; expected all 12${diagnostics()}`);
    }
    await assertNoMoreAndEachOnce(clientId, 12, 300);
    const outbox = await page.evaluate(() => localStorage.getItem('did_outbox'));
    assert.ok(!outbox, `delivered events leave the outbox; did_outbox = ${outbox?.slice(0, 300)}`);
  });

  it('a request that never answers: flush() settles after 10 s, its events kept in the outbox and delivered by the retry', T, async () => {
    const clientId = newClientId('hang');
    const page = await readyPage({ clientId, batchSize: 10, batchTimeout: 5000 }, { pausedClock: true });
    // Every batch post hangs: the route neither answers it nor lets it through.
    const hung = [];
    await page.route('**/v1/batch', (route) => hung.push(route));

    await trackRange(page, 0, 3);
    await page.evaluate(() => {
      window.flushed = false;
      window.sm.flush().then(() => (window.flushed = true));
    });
    await until(() => hung.length === 1, { what: 'the flushed request reaching the route', clientId });
    await page.clock.fastForward(9_000);
    assert.equal(await page.evaluate(() => window.flushed), false, 'flush() waits while the request may still be answered');
    await page.clock.fastForward(1_000);
    await until(() => page.evaluate(() => window.flushed), { what: 'flush() settling 10 s after its request', clientId, timeout: 5_000 });
    assert.equal(probesIn(await page.evaluate(() => localStorage.getItem('did_outbox'))), 3, 'the 3 events kept in did_outbox');

    await page.unroute('**/v1/batch');
    // The retry after the first failure: 0.5-1 s.
    await page.clock.fastForward(1_000);
    await waitStored(clientId, 3, 'the retry delivers the events of the hung request');
    await assertNoMoreAndEachOnce(clientId, 3);
  });

  it('the collector down while the tab closes, up at the next page load: nothing lost', T, async () => {
    const clientId = newClientId('down');
    const opts = { clientId, batchSize: 10, batchTimeout: 30000 };
    const page = await readyPage(opts, { pausedClock: true });

    await trackRange(page, 0, 7);
    await whileCollectorDown(() => page.close()); // pagehide: beacons to a dead collector, events kept in did_outbox
    // Not "nothing stored yet": a beacon the browser sends only after the
    // collector came back may land, and the check below allows it.
    assert.equal(await outboxCount(), 7, 'the close kept all 7 in did_outbox');

    // Same context: localStorage (and so the outbox) survives.
    await nextPageLoad(opts);
    const all = await waitStored(clientId, 7, 'the next page load resends the outbox');
    await assertNoMoreAndEachOnce(clientId, 7);
    assert.equal(new Set(all.map((e) => e.session_id)).size, 1, 'all 7 keep the session they were tracked in');
  });

  it('the collector down during a burst of 300 ~1 KB events, then the tab closes, up at the next load: nothing lost', T, async () => {
    const clientId = newClientId('downburst');
    const opts = { clientId, batchSize: 50, batchTimeout: 5000 };
    const page = await readyPage(opts, { pausedClock: true });

    await whileCollectorDown(async () => {
      await trackRange(page, 0, 300, { pad: 1000 });
      await page.evaluate(() => window.sm.flush());
      await page.close();
    });
    // A beacon of the close may land once the collector is back (see above).
    assert.equal(await outboxCount(), 300, 'the failed requests and the close kept all 300 in did_outbox');

    // ~400 KB of outbox, under its 512 KB / 500 event bound: all of it is resent.
    await nextPageLoad(opts);
    await waitStored(clientId, 300, 'the next page load resends the whole outbox', 45_000);
    await assertNoMoreAndEachOnce(clientId, 300);
  });

  it('the collector down while the page is open (retries fail), then the tab closes, up at the next load: nothing lost', T, async () => {
    const clientId = newClientId('downopen');
    const opts = { clientId, batchSize: 10, batchTimeout: 5000 };
    const page = await readyPage(opts, { pausedClock: true });

    await whileCollectorDown(async () => {
      await trackRange(page, 0, 12);
      // Network errors: flush() resolves once the events were kept for a retry.
      await page.evaluate(() => window.sm.flush());
      // Two retry rounds fail as well.
      for (const step of [1000, 2000]) {
        await page.clock.fastForward(step);
        await page.evaluate(() => window.sm.flush());
      }
      const kept = probesIn(await page.evaluate(() => localStorage.getItem('did_outbox')));
      assert.equal(kept, 12, 'the failed requests kept all 12 in did_outbox');
      await page.close();
    });
    // Not "nothing stored yet": the close's beacon can reach the collector
    // once it is back (seen in CI); the check below allows it.

    await nextPageLoad(opts);
    await waitStored(clientId, 12, 'the next page load resends the outbox');
    await assertNoMoreAndEachOnce(clientId, 12);
  });
});

describe('a tampered outbox', () => {
  it('one outbox line that passes the check but is not JSON: the good events of its request are stored once, one warning', T, async () => {
    const clientId = newClientId('tampered');
    const opts = { clientId, batchSize: 10, batchTimeout: 5000 };
    // An earlier page whose requests fail (network errors) keeps its 9
    // events in did_outbox. Its clock stands still, so it never retries,
    // and it stays open, so no page hide sends them meanwhile.
    const earlier = await readyPage(opts, { pausedClock: true });
    await earlier.route('**/v1/batch', (route) => route.abort());
    await trackRange(earlier, 0, 9);
    await earlier.evaluate(() => window.sm.flush());
    const good = await earlier.evaluate(() => localStorage.getItem('did_outbox'));
    assert.equal(probesIn(good), 9, `the failed request kept all 9 in did_outbox: ${good}`);

    // Another script (or an extension, or the user) adds a line that passes
    // the outbox's check ({"event_id":"<uuid>" ... }) but is not JSON: the
    // body of the request that resends the outbox is then not JSON either.
    const lines = good.trimEnd().split('\n');
    lines.splice(4, 0, `{"event_id":"${crypto.randomUUID()}",garbage}`);
    await earlier.evaluate((text) => localStorage.setItem('did_outbox', text), lines.join('\n') + '\n');

    const next = await nextPageLoad(opts);
    await waitStored(clientId, 9, 'the next page load resends the good lines of the outbox');
    const refused = () => suite.consoleLog.filter((l) => l.startsWith('[warning]') && l.includes('refused a batch'));
    await until(() => refused().length >= 1, { what: 'the warning for the dropped line', clientId });
    await until(() => next.evaluate(() => localStorage.getItem('did_outbox') === null), {
      what: 'the outbox emptied: good lines delivered, the tampered one dropped',
      clientId,
    });
    await assertNoMoreAndEachOnce(clientId, 9);
    assert.equal(refused().length, 1, `one warning, for the tampered line: ${refused().join('\n')}${diagnostics()}`);
  });
});
