// The trackers `npm run bench` compares, how each is obtained, and how each
// is configured so that it really sends (README "Benchmarks", bench/README.md).
//
// A tracker: `key`, `label`; `attrs`: the script tag's attributes, `pre`:
// page script before the tag, `init`: after it (part of start-up), `ready`:
// an expression truthy once the API answers, `track`: one capture call with
// `i` in scope. In `attrs` and `init`, SAMPLE is replaced by the page's
// sample token and ORIGIN by the page's origin: each sample's events reach
// the stub under their own token, so stragglers of one page never count for
// the next.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runInNewContext } from 'node:vm';
import * as esbuild from 'esbuild';

export const OURS = {
  key: 'sessionmark',
  label: 'sessionmark',
  file: 'dist/sessionmark.js',
  // Default options; the endpoint is the stub's /v1/batch with the sample token.
  attrs: 'data-client-id="bench" data-endpoint="ORIGIN/v1/batch?sample=SAMPLE"',
  init: '',
  ready: "typeof sessionmark.getSessionId() === 'string' && sessionmark.getSessionId()",
  readyMeans: 'sessionmark.getSessionId() returns a string',
  track: "sessionmark.track('e', { i: i })",
  config: 'script tag, default options (batches of 10)',
};

// The floor: the same page loading an empty script, for what navigation and
// the page itself cost. Shown in the start-up table only.
export const EMPTY = {
  key: 'empty',
  label: '(empty script)',
  attrs: '',
  init: '',
  ready: 'true',
  readyMeans: 'nothing: the page with an empty script, the floor of "ready"',
  track: '',
  served: Buffer.from('/* empty */\n'),
};

// Databuddy's script-tag tracker is not on npm (its SDK's loader injects it
// from Databuddy's CDN). Its public source repository holds it as one file;
// its own build (`bun build ... --minify`) is a plain minification, done
// here with esbuild. Pinned to one commit of that repository.
const DATABUDDY_REPO = 'https://github.com/databuddy-analytics/Databuddy';
const DATABUDDY_COMMIT = 'a377c59c';
const DATABUDDY_PATH = 'apps/dashboard/public/databuddy.js';

export const PEERS = [
  {
    key: 'databuddy',
    label: 'Databuddy',
    source: 'git',
    id: `Databuddy@${DATABUDDY_COMMIT}`,
    fileInPkg: `${DATABUDDY_PATH} (minified with esbuild)`,
    // Its bot check reads navigator.webdriver (true under Playwright) and has
    // no switch of its own: the page hides it. Batching on (its
    // enableBatching option, batches of 10 like ours): unbatched it sends
    // each event as its own beacon, which a burst exhausts.
    pre: "Object.defineProperty(Navigator.prototype, 'webdriver', { get: function () { return false; } });",
    attrs: 'data-client-id="bench-SAMPLE" data-api-url="ORIGIN/stub/databuddy/SAMPLE" data-enable-batching="true" data-batch-size="10"',
    init: '',
    ready: "window.databuddy && typeof window.databuddy.track === 'function'",
    readyMeans: 'window.databuddy.track is a function (it starts at DOMContentLoaded)',
    track: "window.databuddy.track('e', { i: i })",
    config: 'navigator.webdriver hidden (no bot-filter switch), enableBatching with batches of 10',
  },
  {
    key: 'posthog',
    label: 'PostHog',
    pkg: 'posthog-js',
    version: '1.449.2',
    // The CDN's script-tag bundle (what the snippet loads); extensions load lazily.
    find: (dir) => existing(join(dir, 'dist', 'array.js')),
    attrs: '',
    // opt_out_useragent_filter: it drops every capture() as a bot under a
    // headless browser otherwise. rate_limiting: its client-side limiter
    // (10 events/s, bursts of 100) would drop 900 of the 1000.
    init:
      "posthog.init('phc_bench', { api_host: 'ORIGIN/stub/posthog/SAMPLE', opt_out_useragent_filter: true, autocapture: false, " +
      'capture_pageleave: false, disable_session_recording: true, disable_surveys: true, capture_performance: false, ' +
      'rate_limiting: { events_per_second: 100000, events_burst_limit: 100000 } });',
    ready: "typeof posthog.get_session_id() === 'string' && posthog.get_session_id()",
    readyMeans: 'posthog.init(...) then posthog.get_session_id() returns a string',
    track: "posthog.capture('e', { i: i })",
    config: 'opt_out_useragent_filter, autocapture/recording/surveys off, client rate limit raised',
  },
  {
    key: 'plausible',
    label: 'Plausible',
    pkg: '@plausible-analytics/tracker',
    version: '0.4.6',
    // An ES module (`export { init, track }`); served wrapped in an IIFE that
    // puts them on window.PlausibleNpm, so it loads by a classic tag like the others.
    find: (dir) => existing(join(dir, 'plausible.js')),
    wrap: 'esm',
    // Without this the tracker ignores every event under a webdriver-driven browser.
    pre: 'window.__plausible = true;',
    attrs: '',
    init:
      "PlausibleNpm.init({ domain: 'bench.local', endpoint: 'ORIGIN/stub/plausible/SAMPLE/api/event', captureOnLocalhost: true, logging: false });",
    ready: "typeof window.plausible === 'function'",
    readyMeans: 'PlausibleNpm.init(...) then window.plausible is a function (no client-side session id exists)',
    track: "PlausibleNpm.track('e', { props: { i: i } })",
    config: 'window.__plausible = true, captureOnLocalhost',
  },
];

function existing(p) {
  return existsSync(p) ? p : null;
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** A peer from the npm registry (`npm pack name@version`), cached under `cache`. */
function fromNpm(peer, cache) {
  const id = `${peer.pkg}@${peer.version}`;
  const dir = join(cache, 'pkgs', id.replace(/\//g, '__'));
  const done = join(dir, '.extracted');
  if (!existsSync(done)) {
    rmSync(dir, { recursive: true, force: true });
    const tgzDir = join(cache, 'tgz');
    mkdirSync(tgzDir, { recursive: true });
    mkdirSync(dir, { recursive: true });
    let tgz;
    try {
      const out = execFileSync('npm', ['pack', id, '--json', '--pack-destination', tgzDir], {
        cwd: cache,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 90_000,
      });
      tgz = join(tgzDir, JSON.parse(out.slice(out.indexOf('[')))[0].filename);
    } catch (e) {
      return { ...peer, id, error: `npm pack ${id} failed: ${String(e.stderr || e.message).trim().split('\n').slice(-2).join(' ')}` };
    }
    execFileSync('tar', ['xzf', tgz, '-C', dir], { timeout: 60_000 });
    writeFileSync(done, '');
  }
  const pkgDir = join(dir, 'package');
  const path = peer.find(pkgDir);
  if (!path) return { ...peer, id, error: `${id} has no browser bundle where expected` };
  const source = readFileSync(path);
  let served = source;
  if (peer.wrap === 'esm') {
    const text = source.toString('utf8');
    const m = /\bexport\s*\{([^}]*)\}\s*;?\s*$/.exec(text);
    if (!m) return { ...peer, id, error: `${id}: ${relative(pkgDir, path)} is not the single-export ES module expected` };
    const names = m[1].split(',').map((s) => s.trim()).filter(Boolean);
    served = Buffer.from(`(function(){${text.slice(0, m.index)}\nwindow.PlausibleNpm={${names.join(',')}};})();\n`);
  }
  return { ...peer, id, fileInPkg: relative(pkgDir, path), source, served };
}

/**
 * Databuddy's tracker from a git copy of its repository (`--databuddy-git
 * DIR`, a clone or bare repository), cached under `cache` once read.
 */
function fromGit(peer, cache, gitDir) {
  const dir = join(cache, 'databuddy');
  const src = join(dir, `databuddy-${DATABUDDY_COMMIT}.js`);
  if (!existsSync(src)) {
    if (!gitDir) {
      return {
        ...peer,
        error:
          `not on npm (its SDK loads databuddy.js from its CDN); clone ${DATABUDDY_REPO} and pass ` +
          '--databuddy-git DIR once (the file is then cached in .cache/bench/)',
      };
    }
    let text;
    try {
      text = execFileSync('git', ['--git-dir', gitDirOf(gitDir), 'show', `${DATABUDDY_COMMIT}:${DATABUDDY_PATH}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 16 << 20,
      });
    } catch (e) {
      return { ...peer, error: `git show ${DATABUDDY_COMMIT}:${DATABUDDY_PATH} in ${gitDir} failed: ${String(e.stderr || e.message).trim()}` };
    }
    mkdirSync(dir, { recursive: true });
    writeFileSync(src, text);
  }
  const original = readFileSync(src, 'utf8');
  const built = esbuild.transformSync(original, { minify: true, target: 'es2020', legalComments: 'none' }).code;
  const source = Buffer.from(built);
  return { ...peer, sourceSha256: sha256(Buffer.from(original)), source, served: source };
}

function gitDirOf(dir) {
  return existsSync(join(dir, '.git')) ? join(dir, '.git') : dir;
}

/** Every peer, fetched or with the reason it could not be had (`error`). */
export function loadPeers(cache, { databuddyGit } = {}) {
  mkdirSync(cache, { recursive: true });
  return PEERS.map((p) => (p.source === 'git' ? fromGit(p, cache, databuddyGit) : fromNpm(p, cache)));
}

/**
 * The wasm inlined in a bundle: the one string literal starting with the
 * wasm magic (`"\0asm`), as its source text and as bytes. Null when the
 * bundle carries its wasm some other way.
 */
export function wasmLiteral(bundle) {
  const text = bundle.toString('utf8').replace(/^\ufeff/, '');
  // The longest string or template literal: the wasm (scripts/build.mjs).
  let best = null;
  for (let i = 0; i < text.length; i++) {
    const quote = text[i];
    if (quote !== '"' && quote !== '`') continue;
    let j = i + 1;
    while (j < text.length && text[j] !== quote) j += text[j] === '\\' ? 2 : 1;
    if (!best || j - i > best[1] - best[0]) best = [i, j];
    i = j;
  }
  if (!best || best[1] >= text.length) return null;
  const source = text.slice(best[0], best[1] + 1);
  let value;
  try {
    value = runInNewContext(source);
  } catch {
    return null;
  }
  // Each byte is xored with the build's key; the wasm's first byte is 0,
  // so the first character is the key itself.
  const key = value.charCodeAt(0);
  const bytes = Buffer.from(value, 'latin1').map((b) => b ^ key);
  if (bytes.length !== value.length || !WebAssembly.validate(bytes)) return null;
  return { source, bytes };
}

export { sha256 };
