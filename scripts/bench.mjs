#!/usr/bin/env node
// sessionmark against its peers (Databuddy, PostHog, Plausible), in one run
// (bench/README.md says what each figure means):
//   1. size of each script-tag bundle: raw, gzip -9, brotli 11, and the budget;
//   2. start-up in headless Chromium, median of N fresh pages: time to ready,
//      the script's own cost, main-thread script time, heap (JS heap over
//      the empty page plus wasm linear memory); sessionmark's phases (parse,
//      decode, compile, instantiate, init) measured from outside the bundle;
//   3. 1000 track() calls, median of 5 fresh pages, each page's events
//      counted at the stub: a tracker delivering under 99 % is not compared;
//   4. delivery (sessionmark only, the real collector): 1000 events in a burst
//      then flush(), batched and unbatched: requests, body bytes, stored count.
// Every figure is printed with its ratio to sessionmark's (peer / sessionmark).
// Writes dist/bench.json (every sample) and bench/results.md. Not part of
// `npm test`.
//
// Peers come from the npm registry (`npm pack name@version`, pinned) and, for
// Databuddy, from a git copy of its public repository (--databuddy-git DIR),
// cached in .cache/bench/. Nothing else leaves the machine: Chromium resolves
// every host name but 127.0.0.1 to "not found", so a peer reaching for its
// cloud fails at once; no request interception sits on the measured path.
//
// Usage: node scripts/bench.mjs [--samples N] [--startup-only] [--databuddy-git DIR] [--ours FILE]   (npm run bench)
// --startup-only: sections 1, 2 and 2b alone (no track() loops, no
// delivery), every sample in dist/bench-startup.json; bench/results.md is
// left as it is.
// Needs dist/sessionmark.js and target/release/sessionmark-collector (built
// here when missing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { constants as zc, brotliCompressSync, gzipSync } from 'node:zlib';
import { chromiumPath, collectorBin, repoRoot, startCollector } from '../tests/e2e/harness.mjs';
import { deliveryPage, deliveryRun } from '../bench/delivery.mjs';
import { startPageServer } from '../bench/pages.mjs';
import { cell, f0, f1, f2, kb, markdownTable, maxOf, median, minOf, textTable, times } from '../bench/report.mjs';
import { BURST, EVENTS, WAITS, decodeSample, desktopUserAgent, launchBrowser, startupSample } from '../bench/samples.mjs';
import { EMPTY, OURS, loadPeers, sha256, wasmLiteral } from '../bench/trackers.mjs';

const argv = process.argv.slice(2);
const argValue = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const argN = (name, dflt) => (Number(argValue(name)) > 0 ? Math.floor(Number(argValue(name))) : dflt);
const STARTUP_SAMPLES = argN('--samples', 15);
const STARTUP_ONLY = argv.includes('--startup-only');
const TRACK_SAMPLES = STARTUP_ONLY ? 0 : Math.min(5, STARTUP_SAMPLES);
const VALID_DELIVERY = 0.99; // a row delivering less is marked, not compared
const BUDGET_BROTLI = 16_384; // dist/sessionmark.js, the size goal
const HARD_LIMIT_MS = 420_000; // the bench stops itself past this, whatever it is doing

const CACHE = join(repoRoot, '.cache', 'bench');
// --ours FILE: another build of the script tag to measure as sessionmark (default: this checkout's).
const OURS_FILE = argValue('--ours') ? resolve(argValue('--ours')) : join(repoRoot, 'dist', 'sessionmark.js');
const OUT_JSON = join(repoRoot, 'dist', 'bench.json');
const OUT_MD = join(repoRoot, 'bench', 'results.md');
const OUT_STARTUP_JSON = join(repoRoot, 'dist', 'bench-startup.json');

const hardStop = setTimeout(() => {
  console.error(`\nbench: still running after ${HARD_LIMIT_MS / 1000} s, giving up (every process it started is killed on exit)`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

const log = (s = '') => console.log(s);
const note = (s) => console.error(`  · ${s}`);
const tables = []; // for bench/results.md
function show(t) {
  tables.push(t);
  log(`\n${textTable(t)}`);
}

function sizes(buf) {
  return {
    raw: buf.length,
    gzip: gzipSync(buf, { level: 9 }).length,
    brotli: brotliCompressSync(buf, {
      params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: buf.length },
    }).length,
  };
}

// ---------------------------------------------------------------------------
// Prerequisites

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function ensureBuilt() {
  if (argValue('--ours')) {
    if (!existsSync(OURS_FILE)) throw new Error(`--ours ${OURS_FILE}: no such file`);
  } else if (!existsSync(OURS_FILE)) {
    log('dist/sessionmark.js is missing: running node scripts/build.mjs');
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the build failed');
  } else {
    const built = statSync(OURS_FILE).mtimeMs;
    const src = Math.max(newestMtime(join(repoRoot, 'js')), newestMtime(join(repoRoot, 'src')));
    if (src > built) note('dist/sessionmark.js is older than js/ or src/: these are the figures of the last build (npm run build)');
  }
  if (!existsSync(collectorBin)) {
    log('the release collector is missing: running cargo build --release -p sessionmark-collector');
    const r = spawnSync('cargo', ['build', '--release', '-p', 'sessionmark-collector'], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('the collector build failed');
  }
}

/** The package version and the commit dist/ was built from (as far as git can tell: "+changes" when the tree differs). */
function buildVersion() {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const git = (args) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() || '';
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'js', 'Cargo.toml', 'Cargo.lock', 'scripts/build.mjs']) !== '';
  return `${version}${commit ? ` at ${commit}${dirty ? '+changes' : ''}` : ''}`;
}

// ---------------------------------------------------------------------------

function summarize(t, floor) {
  const s = t.samples;
  const pick = (k) => s.map((x) => x[k]);
  t.startup = {
    readyMs: median(pick('readyMs')),
    readyMin: minOf(pick('readyMs')),
    readyMax: maxOf(pick('readyMs')),
    evalMs: median(pick('evalMs')),
    initMs: median(pick('initMs')),
    ownMs: median(pick('ownMs')),
    ownMin: minOf(pick('ownMs')),
    cdpScriptMs: median(pick('cdpScriptMs')),
    cdpTaskMs: median(pick('cdpTaskMs')),
    heapJs: median(pick('heapJs')),
    wasmBytes: median(pick('wasmBytes')),
    otherLocalRequests: median(pick('local')),
    blockedRequests: median(s.map((x) => x.blocked.length)),
    blockedHosts: [...new Set(s.flatMap((x) => x.blocked))],
    consoleErrors: [...new Set(s.flatMap((x) => x.consoleErrors))],
    pageErrors: [...new Set(s.flatMap((x) => x.pageErrors))],
    initErrors: [...new Set(s.map((x) => x.initError).filter(Boolean))],
  };
  if (floor) {
    t.startup.heapOverEmpty = t.startup.heapJs - floor.startup.heapJs + t.startup.wasmBytes;
    t.startup.overEmptyMs = t.startup.readyMs - floor.startup.readyMs;
  }
  t.perEvent = loopFigures(s, EVENTS, floor);
  t.perBurst = loopFigures(s, BURST, floor);
  const phases = s.map((x) => x.wasm).filter(Boolean);
  if (phases.length) {
    const each = (f) => ({
      compileMs: f(phases.map((p) => p.compileMs)),
      instantiateMs: f(phases.map((p) => p.instantiateMs)),
      initMs: f(phases.map((p) => p.initMs)),
      restMs: f(phases.map((p) => p.restMs)),
    });
    t.wasmPhases = { ...each(median), moduleBytes: phases[0].moduleBytes };
    t.wasmPhasesBest = each(minOf);
  }
}

/** The figures of the samples' loops of `n` track() calls, or undefined without any. */
function loopFigures(samples, n, floor) {
  const runs = samples.filter((x) => x.trackEvents === n);
  if (!runs.length) return undefined;
  const delivered = runs.map((x) => x.delivered);
  const trackMs = median(runs.map((x) => x.trackMs));
  return {
    events: n,
    trackMs,
    samples: runs.map((x) => x.trackMs),
    usPerEvent: (trackMs * 1000) / n,
    delivered,
    deliveredMin: minOf(delivered),
    valid: minOf(delivered) >= VALID_DELIVERY * n,
    deliveredWithinMs: median(runs.map((x) => x.deliveredWithinMs)),
    requests: median(runs.map((x) => x.requests)),
    heapAfter: floor ? median(runs.map((x) => x.heapJsAfter + x.wasmBytesAfter)) - floor.startup.heapJs : null,
  };
}

async function main() {
  const started = Date.now();
  ensureBuilt();
  mkdirSync(CACHE, { recursive: true });

  const oursSource = readFileSync(OURS_FILE);
  const ours = argValue('--ours')
    ? { ...OURS, id: 'sessionmark (--ours)', file: OURS_FILE, source: oursSource, served: oursSource }
    : { ...OURS, id: `sessionmark ${buildVersion()}`, source: oursSource, served: oursSource };
  const literal = wasmLiteral(oursSource);
  const peers = loadPeers(CACHE, { databuddyGit: argValue('--databuddy-git') || process.env.SESSIONMARK_BENCH_DATABUDDY_GIT });
  const avail = peers.filter((p) => !p.error);
  const trackers = [ours, ...avail];

  const loadStart = loadavg()[0];
  const machine = `${cpus()[0]?.model?.trim() || 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}`;
  log(`sessionmark bench: ${new Date().toISOString()}, node ${process.version}, ${basename(chromiumPath)} (headless), ${machine}, load average ${loadStart.toFixed(2)}`);
  if (loadStart > cpus().length / 2) {
    note(`the machine is busy (load ${loadStart.toFixed(2)} on ${cpus().length} cores): timings will be noisy; sizes and counts are not affected`);
  }
  log('peers (pinned; cached in .cache/bench/):');
  for (const p of peers) log(`  ${p.label.padEnd(10)} ${p.error ? `NOT AVAILABLE: ${p.error}` : `${p.id}  ${p.fileInPkg}`}`);
  log('every figure: value (peer / sessionmark); n/c = not compared (under 99 % of its events delivered)');

  // 1. Size ------------------------------------------------------------------
  for (const t of trackers) t.size = sizes(t.source);
  const o = ours.size;
  show({
    title: '1. Size of the script-tag bundle, bytes',
    head: ['tracker', 'file', 'raw', 'gzip -9', 'brotli 11'],
    rows: [
      ...trackers.map((t) => [
        t.label,
        t === ours ? t.file : `${t.id} ${t.fileInPkg}`,
        cell(f0(t.size.raw), t.size.raw, o.raw),
        cell(f0(t.size.gzip), t.size.gzip, o.gzip),
        cell(f0(t.size.brotli), t.size.brotli, o.brotli),
      ]),
      ...peers.filter((p) => p.error).map((p) => [p.label, 'not available', '-', '-', '-']),
    ],
    align: ['l', 'l', 'r', 'r', 'r'],
    notes: [
      `budget: dist/sessionmark.js ${f0(o.brotli)} B brotli against ${f0(BUDGET_BROTLI)} B (${times(o.brotli, BUDGET_BROTLI)} of it): ${o.brotli <= BUDGET_BROTLI ? 'met' : 'NOT MET'}` +
        (literal ? `; of which the inlined wasm: ${f0(literal.bytes.length)} B raw` : ''),
    ],
  });

  // 2 + 3. Start-up and per-event ------------------------------------------
  const pages = await startPageServer([EMPTY, ...trackers], literal && literal.source);
  const browser = await launchBrowser();
  const browserVersion = browser.version();
  const userAgent = desktopUserAgent(browserVersion);
  let collector;
  try {
    const loaded = [EMPTY, ...trackers];
    for (const t of loaded) t.samples = [];
    const decodes = [];
    // Round robin, so drift (CPU heat, other load) spreads over every tracker alike.
    for (let i = 0; i < STARTUP_SAMPLES; i++) {
      for (const t of loaded) {
        // The first pages also run the loop of 1000, the next ones the burst.
        const trackEvents = t === EMPTY ? 0 : i < TRACK_SAMPLES ? EVENTS : i < 2 * TRACK_SAMPLES ? BURST : 0;
        t.samples.push(await startupSample(browser, pages, t, { trackEvents, userAgent }));
      }
      if (literal) decodes.push(await decodeSample(browser, pages));
    }
    summarize(EMPTY, null);
    for (const t of trackers) summarize(t, EMPTY);
    const os = ours.startup;

    show({
      title: `2. Start-up in headless Chromium ${browserVersion}: blank page, classic <script> tag, median of ${STARTUP_SAMPLES} fresh pages`,
      head: ['tracker', 'ready, ms', '(min-max)', 'over empty, ms', 'eval, ms', 'init, ms', 'eval+init, ms', 'CDP script, ms', 'heap, KB', 'other reqs', 'blocked'],
      rows: loaded.map((t) => {
        const s = t.startup;
        const r = (text, v, mine) => (t === EMPTY ? text : cell(text, v, mine));
        return [
          t.label,
          r(f1(s.readyMs), s.readyMs, os.readyMs),
          `${f1(s.readyMin)}-${f1(s.readyMax)}`,
          t === EMPTY ? '-' : cell(f1(s.overEmptyMs), s.overEmptyMs, os.overEmptyMs),
          r(f1(s.evalMs), s.evalMs, os.evalMs),
          r(f2(s.initMs), s.initMs, os.initMs),
          r(f1(s.ownMs), s.ownMs, os.ownMs),
          r(f1(s.cdpScriptMs), s.cdpScriptMs, os.cdpScriptMs),
          t === EMPTY ? `${kb(s.heapJs)} (JS heap)` : cell(kb(s.heapOverEmpty), s.heapOverEmpty, os.heapOverEmpty),
          s.otherLocalRequests,
          s.blockedRequests,
        ];
      }),
      notes: [
        'ready: navigation start to the API answering; eval: script response end to script done; init: the documented init call and the first answer;',
        'eval+init: script response end to the API answering (the tracker\'s own start-up); CDP script: main-thread ScriptDuration up to load + 300 ms;',
        `eval+init at its best: ${trackers.map((t) => `${t.label} ${f1(t.startup.ownMin)}`).join(', ')} ms`,
        'heap: JS heap in use after a GC over the empty page\'s, plus wasm linear memory (sessionmark: ' +
          `${kb(os.wasmBytes)} KB of it); other reqs / blocked: requests the tracker made at start-up (local stubs / outside, refused)`,
        ...loaded.map((t) => `ready means, ${t.label}: ${t.readyMeans}`),
      ],
    });

    // sessionmark's phases, from outside the bundle.
    const plausible = avail.find((p) => p.key === 'plausible');
    const goal = plausible ? os.ownMs <= plausible.startup.ownMs : null;
    const ph = ours.wasmPhases;
    const pickDecode = (k) => decodes.map((d) => d[k]);
    // The page's own wait for a script, at its best: subtracting a median of
    // other pages would let one slow page of the floor swing parse.
    const floorMs = EMPTY.startup.ownMin;
    if (ph) {
      const decode = literal ? median(pickDecode('decodeMs')) : null;
      const parse = ph.restMs - floorMs - (decode ?? 0);
      const share = (ms) => (ms == null || !os.ownMs ? 'n/a' : `${Math.round((ms / os.ownMs) * 100)} %`);
      ours.phases = { floorMs, parseMs: parse, literalScriptMs: literal ? median(pickDecode('literalScriptMs')) : null, decodeMs: decode, ...ph, totalMs: os.ownMs };
      const best = ours.wasmPhasesBest;
      show({
        title: `2b. sessionmark start-up phases, ms (script response end to the API answering): median and best of ${STARTUP_SAMPLES} fresh pages`,
        head: ['phase', 'median', 'share', 'best', 'measured as'],
        rows: [
          ['parse (the rest)', f2(parse), share(parse), f2(best.restMs - floorMs - (literal ? minOf(pickDecode('decodeMs')) : 0)), 'per page, eval+init minus compile, instantiate and init; then minus decode and the floor: parsing the script, its top-level code'],
          ['  (the wasm literal alone)', f2(ours.phases.literalScriptMs), share(ours.phases.literalScriptMs), f2(minOf(pickDecode('literalScriptMs'))), 'a script holding only that literal, in a page of its own: most of parse'],
          ['decode', f2(decode), share(decode), f2(minOf(pickDecode('decodeMs'))), `that literal to bytes as the shim does (${decodes[0]?.native ? 'btoa and Uint8Array.fromBase64' : 'one charCodeAt per byte'}), in the same page (${f0(literal?.bytes.length)} B of wasm)`],
          ['compile', f2(ph.compileMs), share(ph.compileMs), f2(best.compileMs), 'new WebAssembly.Module, timed by the page'],
          ['instantiate', f2(ph.instantiateMs), share(ph.instantiateMs), f2(best.instantiateMs), 'new WebAssembly.Instance, timed by the page'],
          ['init', f2(ph.initMs), share(ph.initMs), f2(best.initMs), "the instance to the API answering: the glue, options, the core's start, storage and cookies"],
          ['floor', f2(floorMs), share(floorMs), f2(floorMs), "eval+init of an empty script at its best: the page's own wait for a script to run"],
          ['total (eval+init)', f2(os.ownMs), '100 %', f2(os.ownMin), ''],
        ],
        align: ['l', 'r', 'r', 'r', 'l'],
        notes: [
          'each row is the median of its own samples, so the rows add up to the total only roughly',
          plausible
            ? `start-up goal: at most Plausible's in the same run: sessionmark ${f1(os.ownMs)} ms, Plausible ${f1(plausible.startup.ownMs)} ms ` +
              `(sessionmark / Plausible = ${times(os.ownMs, plausible.startup.ownMs)}): ${goal ? 'met' : 'NOT MET'}`
            : "start-up goal (at most Plausible's): Plausible not available",
        ],
      });
    } else {
      note('sessionmark compiled no wasm the page could see: no phases');
    }

    if (STARTUP_ONLY) {
      const loadEnd = loadavg()[0];
      const result = {
        date: new Date().toISOString(),
        machine,
        chromium: browserVersion,
        loadAverage: { start: loadStart, end: loadEnd, cores: cpus().length },
        samples: { startup: STARTUP_SAMPLES },
        startupGoal: plausible ? { ours: os.ownMs, plausible: plausible.startup.ownMs, met: goal } : null,
        phases: ours.phases || null,
        phasesBest: ours.wasmPhasesBest || null,
        decodeSamples: decodes,
        trackers: loaded.map((t) => ({ label: t.label, startup: t.startup, startupSamples: t.samples })),
      };
      writeFileSync(OUT_STARTUP_JSON, JSON.stringify(result, null, 2) + '\n');
      log(`\nload average at the end: ${loadEnd.toFixed(2)} (at the start: ${loadStart.toFixed(2)})`);
      log(`wrote ${relative(repoRoot, OUT_STARTUP_JSON)} (--startup-only: bench/results.md left as it is); bench took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return;
    }

    // 3 and 3b: the loop of 1000, then the burst every peer delivers.
    for (const [title, key] of [['3.', 'perEvent'], ['3b.', 'perBurst']].filter(([, k]) => ours[k])) {
      const n = ours[key].events;
      show({
        title: `${title} ${n} track() calls in one synchronous loop, median of ${ours[key].samples.length} fresh pages; events counted at the stub`,
        head: ['tracker', 'call', `${n} calls, ms`, 'µs / call', 'delivered (worst page)', 'requests', 'heap after, KB'],
        rows: trackers.map((t) => {
          const p = t[key];
          const valid = p.valid && ours[key].valid;
          return [
            t.label,
            t.track.replace(/\s+/g, ' '),
            t === ours ? f2(p.trackMs) : cell(f2(p.trackMs), p.trackMs, ours[key].trackMs, { valid }),
            f2(p.usPerEvent),
            `${p.deliveredMin}/${n}${p.valid ? '' : ' UNDER 99 %: not compared'}`,
            f0(p.requests),
            t === ours ? kb(p.heapAfter) : cell(kb(p.heapAfter), p.heapAfter, ours[key].heapAfter, { valid }),
          ];
        }),
        align: ['l', 'l', 'r', 'r', 'l', 'r', 'r'],
        notes: [
          `delivered: distinct events of the loop that reached the stub with the page open (at most ${WAITS.deliveryWaitMs / 1000} s, ` +
            `or ${WAITS.deliveryQuietMs / 1000} s without a new one) ` +
            `(then, if short, what closing the page sent); the worst of the pages`,
          'requests: POSTs of the page to the stub (median); heap after: as in 2, after the loop and its sends',
          ...(key === 'perBurst'
            ? [`${n} calls: a burst every peer delivers (Plausible's keepalive fetches share a 64 KiB in-flight budget, about 300 of its events)`]
            : trackers.map((t) => `${t.label}: ${t.config}`)),
        ],
      });
    }

    // 4. Delivery ------------------------------------------------------------
    const www = join(CACHE, 'www');
    mkdirSync(www, { recursive: true });
    writeFileSync(join(www, 'bench-batched.html'), deliveryPage('bench-batched', true));
    writeFileSync(join(www, 'bench-unbatched.html'), deliveryPage('bench-unbatched', false));
    collector = await startCollector({ hooks: false, env: { SESSIONMARK_WWW: www } });
    const delivery = [];
    delivery.push(await deliveryRun(browser, collector, { name: 'batched', batching: true }));
    delivery.push(await deliveryRun(browser, collector, { name: 'unbatched', batching: false }));

    show({
      title: `4. Delivery (sessionmark only): ${EVENTS} track() in a burst, then flush(), against the real collector`,
      head: ['mode', 'POST /v1/batch', 'per 1000 ev', 'body bytes', 'bytes / event', 'failed', 'statuses', 'stored', 'by client_id', 'delivered in'],
      rows: delivery.map((d) => [
        d.mode,
        d.requests,
        f1(d.requestsPer1000),
        d.bodyBytes,
        f1(d.bytesPerEvent),
        d.failed,
        Object.entries(d.statuses).map(([k, v]) => `${k}x${v}`).join(' ') || '-',
        `${d.stored}/${EVENTS}${d.storedDistinct !== d.stored ? ` (${d.storedDistinct} distinct)` : ''}`,
        d.storedByClientListing,
        `${d.deliveredMs} ms${d.timedOut ? ' (TIMED OUT)' : ''}`,
      ]),
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r'],
      notes: delivery.map((d) => {
        const kinds = Object.entries(d.resourceTypes).map(([k, v]) => `${k} ${v}`).join(', ');
        return `${d.mode}: request kinds ${kinds || 'none'}; ${d.hiddenBodies} bodies not visible to Playwright (beacons)` +
          `${d.failures.length ? `; failures: ${d.failures.join(', ')}` : ''}; track loop ${f1(d.trackMs)} ms, flush() ${f1(d.flushMs)} ms`;
      }),
    });

    // Ratios -----------------------------------------------------------------
    const nc = (ok, v) => (ok ? v : 'n/c');
    // track() at least 10x cheaper than Plausible's, in the burst both deliver.
    const trackGoal =
      plausible && plausible.perBurst && ours.perBurst && plausible.perBurst.valid && ours.perBurst.valid
        ? { ours: ours.perBurst.trackMs, plausible: plausible.perBurst.trackMs, met: plausible.perBurst.trackMs >= 10 * ours.perBurst.trackMs }
        : null;
    show({
      title: 'Ratios: peer / sessionmark (above 1x: the peer is bigger, slower or heavier)',
      head: ['peer', 'raw', 'gzip', 'brotli', 'ready', 'eval+init', 'CDP script', 'heap', `${EVENTS} track()`, 'heap after', `${BURST} track()`],
      rows: [
        ...avail.map((p) => {
          const ok = p.perEvent.valid && ours.perEvent.valid;
          const burstOk = Boolean(p.perBurst && ours.perBurst && p.perBurst.valid && ours.perBurst.valid);
          return [
            p.label,
            times(p.size.raw, o.raw),
            times(p.size.gzip, o.gzip),
            times(p.size.brotli, o.brotli),
            times(p.startup.readyMs, os.readyMs),
            times(p.startup.ownMs, os.ownMs),
            times(p.startup.cdpScriptMs, os.cdpScriptMs),
            times(p.startup.heapOverEmpty, os.heapOverEmpty),
            nc(ok, times(p.perEvent.trackMs, ours.perEvent.trackMs)),
            nc(ok, times(p.perEvent.heapAfter, ours.perEvent.heapAfter)),
            nc(burstOk, burstOk && times(p.perBurst.trackMs, ours.perBurst.trackMs)),
          ];
        }),
        ...peers.filter((x) => x.error).map((p) => [p.label, ...Array(10).fill('n/a')]),
      ],
      notes: [
        `budget: sessionmark brotli ${f0(o.brotli)} B / ${f0(BUDGET_BROTLI)} B = ${times(o.brotli, BUDGET_BROTLI)}`,
        plausible ? `start-up goal: sessionmark eval+init / Plausible's = ${times(os.ownMs, plausible.startup.ownMs)} (goal: at most 1x)` : 'start-up goal: Plausible not available',
        trackGoal ? `track() goal: Plausible's ${BURST} calls / sessionmark's = ${times(trackGoal.plausible, trackGoal.ours)} (goal: at least 10x)` : 'track() goal: not compared (a burst not delivered, or Plausible not available)',
      ],
    });

    // Notes ------------------------------------------------------------------
    const notes = [];
    for (const t of trackers) {
      const s = t.startup;
      if (s.blockedHosts.length) notes.push(`${t.label} tried to reach ${s.blockedHosts.join(', ')} (blocked)`);
      if (s.initErrors.length) notes.push(`${t.label} init threw: ${s.initErrors.join(' | ')}`);
      if (s.pageErrors.length) notes.push(`${t.label} page errors: ${s.pageErrors.slice(0, 3).join(' | ')}`);
      if (s.consoleErrors.length) notes.push(`${t.label} console errors (${s.consoleErrors.length} distinct): ${s.consoleErrors.slice(0, 2).join(' | ')}`);
    }
    for (const d of delivery) if (d.pageErrors.length) notes.push(`delivery ${d.mode} page errors: ${d.pageErrors.join(' | ')}`);
    if (notes.length) {
      log('\nNotes:');
      for (const n of notes) log(`  - ${n}`);
    }

    const loadEnd = loadavg()[0];
    const result = {
      date: new Date().toISOString(),
      machine,
      node: process.version,
      chromium: browserVersion,
      userAgent,
      loadAverage: { start: loadStart, end: loadEnd, cores: cpus().length },
      samples: { startup: STARTUP_SAMPLES, track: TRACK_SAMPLES, events: EVENTS, burst: BURST, settleMs: WAITS.settleMs },
      budget: { brotli: BUDGET_BROTLI, actual: o.brotli, met: o.brotli <= BUDGET_BROTLI },
      startupGoal: plausible ? { ours: os.ownMs, plausible: plausible.startup.ownMs, met: goal } : null,
      trackGoal,
      phases: ours.phases || null,
      decodeSamples: decodes,
      emptyPage: { startup: EMPTY.startup, startupSamples: EMPTY.samples },
      trackers: trackers.map((t) => ({
        key: t.key,
        label: t.label,
        source: t === ours ? null : t.id,
        file: t === ours ? t.file : t.fileInPkg,
        sha256: sha256(t.source),
        config: t.config,
        readyMeans: t.readyMeans,
        trackCall: t.track,
        size: t.size,
        startup: t.startup,
        perEvent: t.perEvent,
        perBurst: t.perBurst,
        startupSamples: t.samples,
      })),
      unavailable: peers.filter((p) => p.error).map((p) => ({ label: p.label, reason: p.error })),
      delivery,
      notes,
      elapsedMs: Date.now() - started,
    };
    writeFileSync(OUT_JSON, JSON.stringify(result, null, 2) + '\n');
    writeFileSync(OUT_MD, resultsMarkdown(result, trackers, peers));
    log(`\nload average at the end: ${loadEnd.toFixed(2)} (at the start: ${loadStart.toFixed(2)})`);
    log(`wrote ${relative(repoRoot, OUT_JSON)} and ${relative(repoRoot, OUT_MD)}; bench took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await browser.close().catch(() => {});
    await collector?.stop().catch(() => {});
    pages.close();
  }
}

function resultsMarkdown(r, trackers, peers) {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (\`node scripts/bench.mjs\`) on ${r.date}; what each figure means: bench/README.md.`,
    'Each figure is followed by its ratio to sessionmark\'s (peer / sessionmark); n/c: not compared (the peer delivered under 99 % of its events).',
    '',
    `- Machine: ${r.machine}; load average ${r.loadAverage.start.toFixed(2)} at the start, ${r.loadAverage.end.toFixed(2)} at the end`,
    `- Node ${r.node}; Chromium ${r.chromium} (headless), user agent \`${r.userAgent}\``,
    `- Samples: start-up ${r.samples.startup} fresh pages per tracker, ${r.samples.track} of them also ${r.samples.events} track() calls, ${r.samples.track} more ${r.samples.burst}`,
    ...trackers.map((t) => `- ${t.label}: ${t.id}, ${t.fileInPkg || t.file}; ${t.config}`),
    ...peers.filter((p) => p.error).map((p) => `- ${p.label}: not measured (${p.error})`),
    `- Size budget: ${r.budget.actual} B brotli against ${r.budget.brotli} B: ${r.budget.met ? 'met' : 'not met'}`,
    r.startupGoal
      ? `- Start-up goal (at most Plausible's eval+init in the same run): ${r.startupGoal.ours.toFixed(1)} ms against ${r.startupGoal.plausible.toFixed(1)} ms: ${r.startupGoal.met ? 'met' : 'not met'}`
      : '- Start-up goal: Plausible not available',
    r.trackGoal
      ? `- track() goal (at least 10x cheaper per call than Plausible's, in the burst of ${r.samples.burst} both deliver): ${(r.trackGoal.plausible / r.trackGoal.ours).toFixed(1)}x: ${r.trackGoal.met ? 'met' : 'not met'}`
      : '- track() goal: not compared',
    '',
    ...tables.map(markdownTable),
  ];
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench failed: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  },
);
