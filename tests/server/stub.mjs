// A stand-in collector for the server SDK's tests: a node:http server on a
// free port that records every request and answers from a script.
//
//   const stub = await startStub();
//   stub.answer({ status: 503, headers: { 'retry-after': '5' } }, 'reset');  // next answers, in order
//   ... client sends ...
//   await stub.until(2);            // resolves once 2 requests have arrived (no sleeping)
//   stub.requests[0].body.events    // parsed JSON bodies
//   await stub.close();
//
// An answer is `{ status, headers, body }` (default: 200 with the collector's
// usual JSON, every event accepted), 'reset' (the socket is destroyed: a
// network error), or 'hold' (no answer until release()).
import { createServer } from 'node:http';

export async function startStub() {
  const requests = [];
  const script = [];
  const held = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        // recorded as null: a test asserting on it fails with a clear diff
      }
      requests.push({ method: req.method, url: req.url, headers: req.headers, text, body });
      const a = script.length ? script.shift() : {};
      if (a === 'reset') req.socket.destroy();
      else if (a === 'hold') held.push(res);
      else {
        const n = Array.isArray(body?.events) ? body.events.length : 0;
        const answer = a.body ?? { accepted: n, duplicates: 0, rejected: [] };
        res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...(a.headers || {}) });
        res.end(typeof answer === 'string' ? answer : JSON.stringify(answer));
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (requests.length >= waiters[i].n) waiters.splice(i, 1)[0].resolve();
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    /** Every event of every request, in arrival order. */
    get events() {
      return requests.flatMap((r) => r.body?.events ?? []);
    },
    /** The next answers, in order (then the default). */
    answer(...answers) {
      script.push(...answers);
    },
    /** Resolves once `n` requests have arrived. */
    until(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    /** Answers the held requests with `status`. */
    release(status = 200) {
      for (const res of held.splice(0)) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{"accepted":0,"duplicates":0,"rejected":[]}');
      }
    },
    close() {
      this.release(503);
      server.closeAllConnections?.();
      return new Promise((ok) => server.close(ok));
    },
  };
}
