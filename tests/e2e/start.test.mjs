// `npm start` (scripts/start.sh) as a newcomer runs it: it prints the URLs
// to open and nothing else, they answer, and Ctrl-C (SIGINT) stops every
// process it started. scripts/test.sh has built everything before, so
// "build what is missing" finds nothing to do.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waitFor } from './harness.mjs';

const T = { timeout: 120_000 };

describe('npm start', () => {
  it('prints the shop, app and dashboard URLs, serves them, and stops everything on Ctrl-C', T, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sessionmark-start-'));
    const env = { ...process.env, PORT: '0', SHOP_PORT: '0', SESSIONMARK_DB: join(dir, 'db.sqlite'), SESSIONMARK_LOG_DIR: join(dir, 'logs') };
    delete env.SESSIONMARK_READ_KEY;
    delete env.SESSIONMARK_SERVER_KEY;
    const child = spawn('bash', ['scripts/start.sh'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    try {
      await waitFor(() => /Ctrl-C stops everything/.test(out), { timeout: 100_000, what: `the URLs (output so far:\n${out})` });
      const url = (label) => new RegExp(`^  ${label}: +(\\S+)$`, 'm').exec(out)?.[1];
      const shop = url('shop');
      const app = url('app \\(SPA\\)');
      const dashboard = url('dashboard');
      assert.match(shop, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(app, `${shop}spa/`);
      assert.match(dashboard, /^http:\/\/127\.0\.0\.1:\d+\/dashboard\.html#key=[A-Za-z0-9_-]{32}$/, 'a generated read key');
      // Quiet: one line before the URLs, no build output.
      assert.equal(out.split('\n')[0], `npm start: building what is missing (log: ${join(dir, 'logs')}/build.log)`);
      assert.ok(out.split('\n').length <= 10, `only the URLs are printed:\n${out}`);

      const home = await fetch(shop);
      assert.equal(home.status, 200);
      assert.match(await home.text(), /<script src="http:\/\/127\.0\.0\.1:\d+\/dist\/sessionmark\.js" data-client-id="shop" async>/);
      assert.match(await (await fetch(app)).text(), /<script type="module" crossorigin src="\/spa\/assets\/index-[\w-]+\.js">/);
      const page = await fetch(dashboard);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script src="\/assets\/dashboard\.js" defer>/);
      assert.equal((await fetch(new URL('/assets/dashboard.js', dashboard))).status, 200);
      // The collector runs with the generated read key: reads need the one printed.
      const sessions = new URL('/v1/sessions', dashboard);
      const key = new URL(dashboard).hash.slice('#key='.length);
      assert.equal((await fetch(sessions)).status, 401);
      assert.equal((await fetch(sessions, { headers: { authorization: `Bearer ${key}` } })).status, 200);

      child.kill('SIGINT');
      const { code } = await exited;
      assert.equal(code, 130);
      for (const u of [shop, dashboard]) await assert.rejects(fetch(u), `${u} still answers after Ctrl-C`);
    } finally {
      // A failed test still stops what start.sh started (its trap does that on SIGINT).
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
