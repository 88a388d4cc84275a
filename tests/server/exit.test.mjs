// sessionmark/server in a real process: events still queued when the
// process runs out of work are sent before it exits (beforeExit), and the
// client's timer never keeps the process alive. Real clock, real child
// processes, a stub collector on a free port.
// Run: node --test tests/server/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { startStub } from './stub.mjs';

const S1 = 'sess_018e0e5c-5a00-7abc-8def-0123456789ab';
const child = fileURLToPath(new URL('./fixtures/track-and-exit.mjs', import.meta.url));

/** Runs the fixture; resolves with its exit code and output. */
function run(endpoint, count) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, endpoint, S1, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (c) => (output += c));
    p.stderr.on('data', (c) => (output += c));
    p.once('error', reject);
    p.once('exit', (code, signal) => resolve({ code: code ?? signal, output }));
  });
}

test('a process that tracks and simply ends sends its queued events first, and exits at once', async (t) => {
  const stub = await startStub();
  t.after(() => stub.close());
  const started = Date.now();
  const { code, output } = await run(stub.url, 3);
  assert.equal(code, 0, output);
  assert.equal(output, '');
  assert.deepEqual(stub.events.map((e) => [e.name, e.properties.i, e.session_id]), [
    ['exit-test', 0, S1],
    ['exit-test', 1, S1],
    ['exit-test', 2, S1],
  ]);
  // flushInterval is 60 s: had its timer kept the process alive, it would still run.
  assert.ok(Date.now() - started < 30_000);
});

test('a process with a client and nothing queued exits without sending', async (t) => {
  const stub = await startStub();
  t.after(() => stub.close());
  const { code } = await run(stub.url, 0);
  assert.equal(code, 0);
  assert.equal(stub.requests.length, 0);
});

test('a process whose collector is briefly down retries at exit and still delivers', async (t) => {
  const stub = await startStub();
  t.after(() => stub.close());
  stub.answer({ status: 503 }, 'reset');
  const { code, output } = await run(stub.url, 2);
  assert.equal(code, 0, output);
  assert.equal(stub.requests.length, 3);
  assert.deepEqual(stub.requests[2].body.events.map((e) => e.event_id), stub.requests[0].body.events.map((e) => e.event_id));
});
