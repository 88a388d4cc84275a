// The package as a new user gets it: `npm pack` (its prepack script builds
// dist/), the tarball installed into a fresh folder with nothing else, an
// import type-checked with `tsc --strict` (Node and bundler resolution),
// bundled with Vite, and the bundle run in Chromium against the real
// collector; `sessionmark/server` imported from the installed package by Node.
// Needs the release collector (scripts/test.sh builds it first).
// Run: node --test tests/package/
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build as viteBuild } from 'vite';

import { freshContext, launch, repoRoot, startCollector, waitFor } from '../e2e/harness.mjs';

const work = mkdtempSync(join(tmpdir(), 'sessionmark-package-'));
const app = join(work, 'app');
let tarball;
let packedFiles;

/** Runs a command; on failure the assertion shows its output. */
function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// What a user writes: the browser API and the server SDK, with strict types.
const BROWSER_TS = `import { init, track, getSessionId, getSessionHeaders, flush, type Options } from 'sessionmark';

const options: Options = { clientId: 'package-test', batchSize: 10 };
init(options);
track('packed', { via: 'vite', n: 1 });

const id: string | null = getSessionId();
// The README's way to tie a request to the session.
export const request = new Request('/api/cart', { headers: getSessionHeaders() });
export const merged = fetch('/api/cart', { headers: { ...getSessionHeaders(), 'Content-Type': 'application/json' } });
// @ts-expect-error: getSessionId() may be null, which a header cannot be
export const unchecked = new Request('/api/cart', { headers: { 'X-Session-ID': getSessionId() } });
document.body.dataset.headers = JSON.stringify(getSessionHeaders());

// @ts-expect-error: an event needs a name
track();

document.body.dataset.session = id ?? '';
Object.assign(window, { packageFlush: (): Promise<void> => flush() });
`;

// The script tag's global, as README "Adding it to a site" uses it.
const SCRIPT_TS = `import type {} from 'sessionmark';

window.sessionmark = window.sessionmark || { q: [] };
window.sessionmark.q.push(['track', 'signup_clicked', { plan: 'pro' }]);
window.sessionmark.q.push(['identify', 'user-123']);
window.sessionmark.q.push(['init', { clientId: 'my-site', batchSize: 20 }]);
// @ts-expect-error: not a call of the API
window.sessionmark.q.push(['nope']);
// @ts-expect-error: track() needs a name
window.sessionmark.q.push(['track']);

// Once the script has run, the global holds the API.
const sm = window.sessionmark;
if (sm && 'getSessionHeaders' in sm) {
  void fetch('/api/cart', { headers: sm.getSessionHeaders() });
  const id: string | null = sm.getSessionId();
  void id;
}
`;

const SERVER_TS = `import { createClient, sessionFromRequest, type Client, type RequestClient } from 'sessionmark/server';

const client: Client = createClient({ endpoint: 'https://collector.example', key: 'sk_test', batchSize: 20 });
const visit: RequestClient = client.forRequest(new Request('https://shop.example/buy', { headers: { cookie: 'ss_sid=x' } }));
const id: string | null = visit.track('purchase', { amount: 42 });
visit.identify('user-1');
visit.captureError(new Error('declined'), { level: 'critical' });
// @ts-expect-error: not a level
visit.captureError(new Error('declined'), { level: 'fatal' });
client.track('direct', undefined, { sessionId: 'sess_x', timestamp: new Date() });

const found = sessionFromRequest('ss_sid=x');
if (found.sessionId !== null) {
  const source: 'header' | 'cookie' = found.source;
  void source;
}
export async function stop(): Promise<void> {
  await client.flush();
  await client.shutdown({ timeout: 1000 });
  void id;
}
`;

before(() => {
  // prepack builds dist/ (scripts/setup.sh, then scripts/build.mjs); its
  // output shares npm's stdout, so the tarball is found on disk.
  run('npm', ['pack', '--pack-destination', work], repoRoot);
  const [name] = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  tarball = join(work, name);
  packedFiles = run('tar', ['-tzf', tarball], work)
    .split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''))
    .sort();

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2));
  // The tarball has no dependencies: nothing but the file is needed.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], app);
  writeFileSync(join(app, 'main.ts'), BROWSER_TS);
  writeFileSync(join(app, 'server.ts'), SERVER_TS);
  writeFileSync(join(app, 'script.ts'), SCRIPT_TS);
  writeFileSync(
    join(app, 'index.html'),
    '<!doctype html>\n<html><head><meta charset="utf-8"><title>package test</title></head>\n<body><script type="module" src="/main.ts"></script></body></html>\n',
  );
});

after(() => rmSync(work, { recursive: true, force: true }));

test('npm pack builds the package: the bundles, their types and the server SDK, nothing else', () => {
  assert.deepEqual(
    packedFiles.filter((f) => f !== 'package.json' && f !== 'README.md'),
    [
      'dist/sessionmark.d.ts',
      'dist/sessionmark.js',
      'dist/sessionmark.mjs',
      'js/server.d.ts',
      'js/server.js',
      ...readdirSync(join(repoRoot, 'js', 'server')).map((f) => `js/server/${f}`).sort(),
    ],
  );
});

for (const resolution of ['nodenext', 'bundler']) {
  test(`an import of sessionmark and sessionmark/server, and the script tag's global, pass tsc --strict (moduleResolution ${resolution})`, () => {
    const config = join(app, `tsconfig.${resolution}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: resolution === 'bundler' ? 'esnext' : 'nodenext',
          moduleResolution: resolution,
          lib: ['es2022', 'dom'],
          types: [],
          skipLibCheck: false,
        },
        files: ['main.ts', 'server.ts', 'script.ts'],
      }),
    );
    run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', config], app);
  });
}

test('Vite bundles the installed package, and the bundle tracks in Chromium against the collector', async () => {
  await viteBuild({ root: app, logLevel: 'warn', build: { outDir: join(app, 'dist'), emptyOutDir: true } });
  const collector = await startCollector({ env: { SESSIONMARK_WWW: join(app, 'dist') } });
  const browser = await launch();
  try {
    const t = await freshContext(browser);
    const page = await t.newPage();
    await page.goto(`${collector.url}/`);
    await page.waitForFunction(() => document.body.dataset.session);
    const sessionId = await page.evaluate(() => document.body.dataset.session);
    assert.deepEqual(JSON.parse(await page.evaluate(() => document.body.dataset.headers)), { 'X-Session-ID': sessionId });
    await page.evaluate(() => window.packageFlush());
    const stored = await waitFor(
      async () => {
        const evs = await collector.events(sessionId);
        return evs.some((e) => e.name === 'packed') && evs;
      },
      { what: 'the packed event stored' },
    );
    assert.deepEqual(stored.find((e) => e.name === 'packed').properties, { via: 'vite', n: 1 });
    assert.ok(stored.some((e) => e.name === 'screen_view'));
    assert.deepEqual(t.errors, []);
    await t.close();
  } finally {
    await browser.close();
    await collector.stop();
  }
});

test('Node imports sessionmark/server from the installed package', () => {
  const out = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import * as s from 'sessionmark/server'; const c = s.createClient({ endpoint: 'http://127.0.0.1:9' });" +
        "console.log(JSON.stringify([Object.keys(s).sort(), typeof c.forRequest, s.sessionFromRequest('x').source])); await c.shutdown({ timeout: 0 });",
    ],
    { cwd: app, encoding: 'utf8' },
  );
  assert.deepEqual(JSON.parse(out), [
    ['SESSION_COOKIE', 'SESSION_HEADER', 'VISITOR_COOKIE', 'createClient', 'isSessionId', 'isVisitorId', 'sessionFromRequest'],
    'function',
    null,
  ]);
});
