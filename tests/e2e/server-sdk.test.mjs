// The server SDK (sessionmark/server createClient) end to end: a browser
// session made by the built tracker in Chromium, then server events recorded
// in it by the SDK against the real collector, each stored once, through
// failures: a proxy between the SDK and the collector answers 503 instead of
// forwarding, or forwards a request and then drops its answer (the collector
// stored the batch; the SDK never learns it and sends it again).
//
// The SDK's retry waits are its real ones here (0.5 s, then 1 s, jittered);
// its timing rules are proven with a fake clock in tests/server/.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';

import { createClient } from '../../js/server.js';
import { SESSION_ID_RE, useSuite, waitFor } from './harness.mjs';

const suite = useSuite();

/** A browser session the collector knows: the demo page, its first batch stored. */
async function browserSession() {
  const page = await suite.t.newPage();
  await page.goto(`${suite.collector.url}/`);
  await page.waitForFunction(() => typeof window.sessionmark?.getSessionId?.() === 'string');
  const [sessionId, visitorId] = await page.evaluate(() => [window.sessionmark.getSessionId(), window.sessionmark.getAnonymousId()]);
  await page.evaluate(() => window.sessionmark.flush());
  await waitFor(async () => (await suite.collector.events(sessionId)).length > 0, { what: 'the browser batch stored' });
  return { page, sessionId, visitorId };
}

const serverEvents = async (sessionId) => (await suite.collector.events(sessionId)).filter((e) => e.source === 'server');

/**
 * A proxy to the collector. `plan`: what to do with each request in turn:
 * 'forward', 503 (answer that status, forward nothing), or 'lose' (forward,
 * then destroy the connection instead of answering); then 'forward'. Keeps
 * the collector's answers it passed on.
 */
async function proxy(plan) {
  const target = new URL(suite.collector.url);
  const answers = [];
  let n = 0;
  const server = createServer((req, res) => {
    const step = plan[n++] ?? 'forward';
    if (typeof step === 'number') {
      req.resume();
      res.writeHead(step, { 'content-type': 'application/json', 'retry-after': '1' });
      return res.end('{"error":"injected"}');
    }
    const out = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        answers.push({ step, status: answer.statusCode, body: JSON.parse(body.toString('utf8') || 'null') });
        if (step === 'lose') return req.socket.destroy();
        res.writeHead(answer.statusCode, answer.headers);
        res.end(body);
      });
    });
    req.pipe(out);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: () => n,
    answers,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

it('track, identify and captureError on forRequest(req) are stored in the browser session, once each, through two 503s', async () => {
  const { sessionId, visitorId } = await browserSession();
  const p = await proxy([503, 503]);
  const client = createClient({ endpoint: p.url });
  try {
    const visit = client.forRequest(new Request('https://shop.example/buy', { headers: { 'X-Session-ID': sessionId } }));
    const ids = [
      visit.track('purchase', { amount: 42, currency: 'EUR' }),
      visit.identify('user-7'),
      visit.captureError(new TypeError('card declined'), { level: 'critical' }),
    ];
    await client.flush();
    assert.equal(p.requests(), 3, 'two refused attempts, then the one that went through');
    assert.deepEqual(p.answers.map((a) => [a.status, a.body.accepted, a.body.rejected]), [[200, 3, []]]);

    const stored = await serverEvents(sessionId);
    assert.deepEqual(stored.map((e) => e.event_id).sort(), [...ids].sort());
    const byName = Object.fromEntries(stored.map((e) => [e.name, e]));
    assert.deepEqual(byName.purchase.properties, { amount: 42, currency: 'EUR' });
    assert.equal(byName.identify.user_id, 'user-7');
    assert.equal(byName.error.user_id, 'user-7', 'the request’s events after identify carry the user');
    assert.equal(byName.error.properties.message, 'card declined');
    assert.equal(byName.error.properties.type, 'TypeError');
    assert.equal(byName.error.properties.level, 'critical');
    for (const e of stored) {
      assert.equal(e.session_id, sessionId);
      assert.equal(e.anonymous_id, visitorId, 'the collector found the visitor from the stored session');
    }
    // The identify linked the browser's visitor to the user.
    const session = (await suite.collector.sessions()).find((s) => s.session_id === sessionId);
    assert.equal(session.user_id, 'user-7');
  } finally {
    await client.shutdown({ timeout: 0 });
    await p.close();
  }
});

it('a bulk request the collector stored but whose answer was lost is sent again and stored once', async () => {
  const { sessionId } = await browserSession();
  const p = await proxy(['lose']);
  const client = createClient({ endpoint: p.url, batchSize: 5 });
  try {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(client.track('server-step', { i }, { sessionId }));
    await client.flush();
    assert.deepEqual(
      p.answers.map((a) => [a.step, a.body.accepted, a.body.duplicates]),
      [['lose', 5, 0], ['forward', 0, 5]],
      'the resend carried the same event ids: all five duplicates',
    );
    const stored = await serverEvents(sessionId);
    assert.deepEqual(stored.map((e) => e.event_id).sort(), [...ids].sort());
    assert.deepEqual(stored.map((e) => e.properties.i).sort(), [0, 1, 2, 3, 4]);
  } finally {
    await client.shutdown({ timeout: 0 });
    await p.close();
  }
});

it('a request’s ss_vid cookie lets the collector take an event for a session it has not seen yet', async () => {
  const p = await proxy([]);
  const client = createClient({ endpoint: p.url });
  // A session the browser minted but has not delivered anything of yet.
  const sessionId = 'sess_019ad000-0000-7000-8000-000000000001';
  const visitorId = 'anon_7c9e6679-7425-40de-944b-e07fc1f90ae7';
  assert.match(sessionId, SESSION_ID_RE);
  assert.deepEqual(await suite.collector.events(sessionId), []);
  try {
    const visit = client.forRequest({ headers: { cookie: `ss_sid=${sessionId}; ss_vid=${visitorId}` } });
    const id = visit.track('signup');
    await client.flush();
    const [stored] = await serverEvents(sessionId);
    assert.equal(stored.event_id, id);
    assert.equal(stored.anonymous_id, visitorId);
  } finally {
    await client.shutdown({ timeout: 0 });
    await p.close();
  }
});
