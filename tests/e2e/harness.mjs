// End-to-end harness: the real collector (release build) and headless Chromium
// driven by playwright-core. One collector and one browser per test file, one
// fresh browser context per test.
//
//   const suite = useSuite();                        // registers the node:test hooks
//   it('…', async () => {
//     const page = await suite.t.newPage();          // this test's fresh context
//     await page.goto(suite.collector.url + '/');
//   });                                              // afterEach: no page errors
//
// or by hand:
//
//   const collector = await startCollector();       // PORT=0, fresh temp DB
//   const browser = await launch();                  // /usr/bin/chromium
//   const t = await freshContext(browser);           // context + error capture
//   const page = await t.newPage();
//   await page.goto(collector.url + '/');
//   ... await t.close(); await browser.close(); await collector.stop();
//
// Every process started here is killed when the test process exits, however
// it exits (normal end, uncaught error, SIGINT/SIGTERM from the test runner).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, beforeEach } from 'node:test';
import { chromium } from 'playwright-core';
import { startClickHouse } from '../../scripts/clickhouse.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repoRoot, 'target');
export const collectorBin = join(targetDir, 'release', 'sessionmark-collector');
export const chromiumPath = process.env.SESSIONMARK_CHROMIUM || '/usr/bin/chromium';

/** Chromium flags the project's machines need (no sandbox as root, no network chatter). */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

const READY = /sessionmark collector listening on (http:\/\/\S+)/;
const START_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------------------
// Cleanup at exit
const liveChildren = new Set();
const tempDirs = new Set();
let exitHooked = false;

function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      // 'exit' handlers above do the killing.
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

function waitExit(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

// ---------------------------------------------------------------------------
// ClickHouse (SESSIONMARK_TEST_STORE=clickhouse)

let clickHouse = null;

/**
 * `clickhouse://host:port/DB` for a fresh database: on the server named by
 * SESSIONMARK_TEST_CLICKHOUSE (scripts/test.sh starts one for the run), else
 * on one this process starts (scripts/clickhouse.mjs) and stops at exit.
 */
export async function clickHouseStoreUrl() {
  hookExit();
  if (!clickHouse) {
    const given = process.env.SESSIONMARK_TEST_CLICKHOUSE;
    clickHouse = given ? Promise.resolve({ url: given.replace(/\/$/, '') }) : startClickHouse();
    // A server of our own dies with this process (the exit hook kills what
    // is in liveChildren and removes tempDirs).
    clickHouse.then(
      (ch) => {
        if (!ch.pid) return;
        liveChildren.add({ kill: () => process.kill(ch.pid, 'SIGKILL') });
        tempDirs.add(ch.dir);
      },
      () => {},
    );
  }
  const { url } = await clickHouse;
  const database = `e2e_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
  return `clickhouse://${new URL(url).host}/${database}`;
}

// ---------------------------------------------------------------------------
// Collector

/**
 * Starts the release collector on a free port with a fresh temporary database,
 * serving www/ at / and dist/ at /dist/.
 * @param {{ hooks?: boolean, env?: Record<string,string> }} [opts]
 */
export async function startCollector({ hooks = true, env = {} } = {}) {
  hookExit();
  if (!existsSync(collectorBin)) {
    throw new Error(`${collectorBin} is missing: run \`cargo build --release -p sessionmark-collector\` first (scripts/test.sh does)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sessionmark-e2e-'));
  tempDirs.add(dir);
  const db = join(dir, 'sessionmark.db');
  // SESSIONMARK_TEST_STORE=clickhouse: the collector runs on ClickHouse, in
  // a fresh database of the test run's server (scripts/test.sh runs the
  // end-to-end tests on both stores).
  const store = process.env.SESSIONMARK_TEST_STORE === 'clickhouse' ? await clickHouseStoreUrl() : null;

  let child = null;
  let port = 0;
  let url = null;
  let log = '';

  const appendLog = (chunk) => {
    log += chunk;
    if (log.length > 64_000) log = log.slice(-32_000);
  };

  async function spawnOnce() {
    const childEnv = {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SESSIONMARK_DB: db,
      ...(store ? { SESSIONMARK_STORE: store } : {}),
      SESSIONMARK_WWW: join(repoRoot, 'www'),
      SESSIONMARK_DIST: join(repoRoot, 'dist'),
      // The pairing tests fetch the collector under its other loopback name
      // (127.0.0.1 and localhost are two origins); the served CSP allows it.
      SESSIONMARK_CSP_CONNECT_SRC: 'http://127.0.0.1:* http://localhost:*',
      ...env,
    };
    if (hooks) childEnv.SESSIONMARK_TEST_HOOKS = '1';
    else delete childEnv.SESSIONMARK_TEST_HOOKS;

    // setpriv --pdeathsig: the kernel kills the collector if this process
    // dies without running its exit hooks (SIGKILL, OOM). setpriv execs, so
    // the pid stays the collector's.
    const [cmd, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', collectorBin]] : [collectorBin, []];
    const c = spawn(cmd, args, { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(c);
    c.once('exit', () => liveChildren.delete(c));
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    // Keep draining both pipes for the collector's whole life: a full pipe
    // would block its logging and so its requests.
    c.stderr.on('data', appendLog);

    const found = await new Promise((res, rej) => {
      let buf = '';
      const timer = setTimeout(() => {
        rej(new Error(`collector did not print its listening line within ${START_TIMEOUT_MS} ms; output:\n${log}`));
      }, START_TIMEOUT_MS);
      const onData = (chunk) => {
        appendLog(chunk);
        buf += chunk;
        const m = READY.exec(buf);
        if (m) {
          clearTimeout(timer);
          c.off('exit', onExit);
          c.stdout.off('data', onData);
          // Later stdout still goes to the log.
          c.stdout.on('data', appendLog);
          res(m[1]);
        }
      };
      const onExit = (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`collector exited (${code ?? signal}) before listening; output:\n${log}`));
      };
      c.stdout.on('data', onData);
      c.once('exit', onExit);
      c.once('error', (e) => {
        clearTimeout(timer);
        rej(e);
      });
    });
    child = c;
    url = found.replace(/\/$/, '');
    port = Number(new URL(url).port);
  }

  await spawnOnce();

  async function getJson(path) {
    const res = await fetch(url + path);
    const text = await res.text();
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  }

  /** Every page of a `GET /v1/events` listing, following `X-Next-Cursor`. */
  async function getEvents(query) {
    const all = [];
    let cursor = null;
    do {
      const q = new URLSearchParams(query);
      if (cursor) q.set('cursor', cursor);
      const path = `/v1/events?${q}`;
      const res = await fetch(url + path);
      const text = await res.text();
      if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${text}`);
      all.push(...JSON.parse(text));
      cursor = res.headers.get('x-next-cursor');
    } while (cursor);
    return all;
  }

  const api = {
    get url() {
      return url;
    },
    get port() {
      return port;
    },
    db,
    /** Output the collector printed so far (stdout + stderr), for failure messages. */
    logs: () => log,
    /** Stored events of one session (`GET /v1/events?session_id=`, every page). */
    events: (sessionId) => getEvents({ session_id: sessionId }),
    /** Every stored event (`GET /v1/events`, every page), optionally of one client id. */
    allEvents: ({ clientId } = {}) => getEvents(clientId ? { client_id: clientId } : {}),
    /** `GET /v1/sessions`. */
    sessions: () => getJson('/v1/sessions'),
    /** Makes the next `count` batch posts answer `status` (test hook). */
    async fail(status, count) {
      const res = await fetch(url + '/v1/_test/fail', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status, count }),
      });
      if (!res.ok) throw new Error(`POST /v1/_test/fail: ${res.status} ${await res.text()}`);
      return res.json();
    },
    /** Graceful stop (SIGTERM, then SIGKILL after 5 s). */
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = waitExit(c);
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
    /** Crash stop: SIGKILL, no chance to flush anything. */
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = waitExit(c);
      c.kill('SIGKILL');
      await exited;
    },
    /** Stops the collector if it runs, then starts it again on the same port and database. */
    async restart() {
      await api.stop();
      await spawnOnce();
    },
    /** True while the collector process is alive. */
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
  };
  return api;
}

// ---------------------------------------------------------------------------
// Demo shop (demo/shop/server.mjs): the shop pages and their Node backend

const SHOP_READY = /sessionmark demo shop listening on (http:\/\/\S+)/;
/** Where scripts/build-spa.mjs puts the single-page app (scripts/test.sh builds it). */
export const spaDir = join(repoRoot, '.cache', 'spa');

/**
 * Starts the demo shop on a free port against `collector` (startCollector()'s
 * API), with the server key `serverKey` if given. Returns `{ url, logs(), stop() }`.
 */
export async function startShop(collector, { serverKey, env = {} } = {}) {
  hookExit();
  let log = '';
  const childEnv = {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    SESSIONMARK_COLLECTOR: collector.url,
    SHOP_SPA_DIR: spaDir,
    ...(serverKey ? { SESSIONMARK_SERVER_KEY: serverKey } : {}),
    ...env,
  };
  const script = join(repoRoot, 'demo', 'shop', 'server.mjs');
  const [cmd, args] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', '--', process.execPath, script]] : [process.execPath, [script]];
  const c = spawn(cmd, args, { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(c);
  c.once('exit', () => liveChildren.delete(c));
  c.stdout.setEncoding('utf8');
  c.stderr.setEncoding('utf8');
  c.stderr.on('data', (d) => (log += d));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the demo shop did not start within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
    c.stdout.on('data', (d) => {
      log += d;
      const m = SHOP_READY.exec(log);
      if (m) {
        clearTimeout(timer);
        res(m[1]);
      }
    });
    c.once('exit', (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`the demo shop exited (${code ?? signal}) before listening:\n${log}`));
    });
  });
  return {
    url,
    logs: () => log,
    async stop() {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = waitExit(c);
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------
// Browser

/**
 * Headless Chromium from /usr/bin/chromium (never a downloaded browser).
 * @param {{ bfcache?: boolean }} [opts] bfcache: keep the back/forward cache
 *   on (Playwright disables it by default).
 */
export async function launch({ bfcache = false } = {}) {
  hookExit();
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/setup.sh (apt-get install chromium chromium-driver)`);
  }
  const options = {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
  };
  if (bfcache) options.ignoreDefaultArgs = ['--disable-back-forward-cache'];
  // playwright-core kills the browsers it launched when this process exits.
  return chromium.launch(options);
}

/**
 * A fresh browser context that records what the page threw: uncaught errors
 * (`pageerror`) and console errors about the Content-Security-Policy, for every
 * page of the context, popups included.
 */
export async function freshContext(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const errors = [];
  const watch = (page) => {
    page.on('pageerror', (e) => errors.push(`pageerror on ${page.url()}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) {
        errors.push(`CSP on ${page.url()}: ${m.text()}`);
      }
    });
  };
  context.on('page', watch);
  return {
    context,
    errors,
    newPage: () => context.newPage(),
    close: () => context.close().catch(() => {}),
  };
}

// ---------------------------------------------------------------------------
// Test file lifecycle

/**
 * Registers the node:test hooks of a test file (or of the describe it is
 * called in): one collector and one browser for all its tests, a fresh
 * context per test, and after each test the check that no page threw or broke
 * the CSP. Returns an object whose fields are the current ones: read them
 * inside tests and hooks, never copy them at load time.
 *
 *   - `collector`: startCollector()'s API.
 *   - `browser`: launch()'s browser; `bfBrowser`: a second one with the
 *     back/forward cache on (`bfcache: true`).
 *   - `t`: this test's context, freshContext()'s `{ context, errors, newPage, close }`
 *     (`context: false`: none; the test makes its own with `newContext`).
 *   - `newContext(browser?)`: one more fresh context for this test, closed and
 *     checked for page errors with `t`.
 *   - `consoleLog`: what this test's pages printed, `[type] text` a line
 *     (`consoleLog: true`), for failure messages.
 *
 * `browser: false`: the collector alone (no browser, no per-test context).
 */
export function useSuite({ browser = true, bfcache = false, context = true, consoleLog = false } = {}) {
  let contexts = [];
  const suite = {
    collector: null,
    browser: null,
    bfBrowser: null,
    t: null,
    consoleLog: [],
    async newContext(b = suite.browser) {
      const c = await freshContext(b);
      contexts.push(c);
      if (consoleLog) c.context.on('page', (p) => p.on('console', (m) => suite.consoleLog.push(`[${m.type()}] ${m.text()}`)));
      return c;
    },
  };

  before(async () => {
    suite.collector = await startCollector();
    if (browser) suite.browser = await launch();
    if (bfcache) suite.bfBrowser = await launch({ bfcache: true });
  });

  after(async () => {
    await suite.browser?.close();
    await suite.bfBrowser?.close();
    await suite.collector?.stop();
  });

  if (!browser) return suite;

  beforeEach(async () => {
    suite.consoleLog = [];
    suite.t = context ? await suite.newContext() : null;
  });

  afterEach(async () => {
    const errors = contexts.flatMap((c) => c.errors);
    for (const c of contexts) await c.close();
    contexts = [];
    assert.deepEqual(errors, [], 'the tracker threw into the page or broke the CSP');
  });

  return suite;
}

// ---------------------------------------------------------------------------
// Helpers for tests

/** Polls `fn` until it returns a truthy value; throws with `what` on timeout. */
export async function waitFor(fn, { timeout = 15_000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const SESSION_ID_RE = /^sess_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const VISITOR_ID_RE = /^anon_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Milliseconds since the epoch encoded in a `sess_` + UUIDv7 id. */
export function sessionIdTime(id) {
  return parseInt(id.slice('sess_'.length).replace(/-/g, '').slice(0, 12), 16);
}

/** A lowercase UUIDv7 with the given timestamp. */
export function uuidv7(ms = Date.now()) {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A valid session id minted now (or at `ms`). */
export const newSessionId = (ms) => `sess_${uuidv7(ms)}`;
/** A valid visitor id. */
export const newVisitorId = () => `anon_${crypto.randomUUID()}`;
