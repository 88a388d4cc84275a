#!/usr/bin/env node
// Start-up of several builds of the script tag side by side, interleaved in
// one run, with Plausible and the empty script (bench/README.md, "Start-up,
// A against B"):
//   node bench/startup-ab.mjs [--samples N] [--no-plausible] LABEL=FILE ...
// e.g. node bench/startup-ab.mjs --samples 20 before=/tmp/old.js after=dist/sessionmark.js
// Each sample is a fresh page (fresh context: a first visit) of the bench's
// own page for that build, traced: *eval+init* (wall clock, the script's
// responseEnd to the API answering, as in `npm run bench`) and *main-thread
// CPU* (the thread time of the script's evaluation and of the page's next
// script, which calls init and reads the API): the work itself, which a
// busy machine stretches in wall time but hardly in CPU time. Also the
// background parse's CPU (script streaming). Median and best of each.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../tests/e2e/harness.mjs';
import { median, minOf } from './report.mjs';
import { startPageServer } from './pages.mjs';
import { desktopUserAgent, launchBrowser } from './samples.mjs';
import { EMPTY, OURS, loadPeers } from './trackers.mjs';

const argv = process.argv.slice(2);
const at = argv.indexOf('--samples');
const samples = at >= 0 ? Math.max(1, Number(argv[at + 1]) || 1) : 15;
const builds = argv
  .filter((a, i) => a.includes('=') && !(at >= 0 && i === at + 1))
  .map((a, i) => {
    const [label, file] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    return { ...OURS, key: `build${i}`, label, file, served: readFileSync(file) };
  });
if (!builds.length) {
  console.error('usage: node bench/startup-ab.mjs [--samples N] [--no-plausible] LABEL=FILE ...');
  process.exit(2);
}
const peers = argv.includes('--no-plausible')
  ? []
  : loadPeers(join(repoRoot, '.cache', 'bench')).filter((p) => p.key === 'plausible' && !p.error);
const all = [EMPTY, ...builds, ...peers];

/** One fresh traced page of tracker `t`: { wallMs, cpuMs, parseCpuMs }. */
async function sample(browser, pages, userAgent, t, i) {
  const context = await browser.newContext({ userAgent });
  try {
    const page = await context.newPage();
    // Same origin first, so the traced navigation stays in this renderer.
    await page.goto(`${pages.url}/page/empty.html?warm`);
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-v8.compile'] });
    await page.goto(`${pages.url}/page/${t.key}.html?sample=ab${i}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__b && window.__b.tReady !== undefined, null, { timeout: 10_000 });
    const b = await page.evaluate(
      (key) => ({
        tReady: window.__b.tReady,
        responseEnd: performance.getEntriesByType('resource').find((e) => e.name.endsWith(`/t/${key}.js`))?.responseEnd,
      }),
      t.key,
    );
    const events = JSON.parse(await browser.stopTracing()).traceEvents;
    const evaluations = events.filter((e) => e.name === 'EvaluateScript' && e.ph === 'X').sort((x, y) => x.ts - y.ts);
    const k = evaluations.findIndex((e) => (e.args?.data?.url || '').endsWith(`/t/${t.key}.js`));
    const thread = (e) => (e?.tdur || 0) / 1000;
    const parse = events.filter((e) => e.name === 'BackgroundCompileTask::Run').reduce((sum, e) => sum + thread(e), 0);
    return { wallMs: b.tReady - b.responseEnd, cpuMs: thread(evaluations[k]) + thread(evaluations[k + 1]), parseCpuMs: parse };
  } finally {
    await context.close().catch(() => {});
  }
}

const pages = await startPageServer(all, null);
const browser = await launchBrowser();
const loadStart = loadavg()[0];
try {
  const userAgent = desktopUserAgent(browser.version());
  for (const t of all) t.ab = [];
  for (let i = 0; i < samples; i++) {
    // Round robin from a different tracker each round: drift spreads alike.
    for (let j = 0; j < all.length; j++) {
      const t = all[(i + j) % all.length];
      t.ab.push(await sample(browser, pages, userAgent, t, i));
    }
  }
} finally {
  await browser.close().catch(() => {});
  pages.close();
}

const cell = (t, k) => `${median(t.ab.map((s) => s[k])).toFixed(2).padStart(6)} /${minOf(t.ab.map((s) => s[k])).toFixed(2).padStart(6)}`;
console.log(`start-up, ${samples} fresh pages each, interleaved; load average ${loadStart.toFixed(2)} -> ${loadavg()[0].toFixed(2)} on ${cpus().length} cores`);
console.log(`${'tracker'.padEnd(16)} ${'eval+init, ms'.padStart(15)} ${'main-thread CPU'.padStart(15)} ${'parse CPU (bg)'.padStart(15)}`);
console.log(`${''.padEnd(16)} ${'median / best'.padStart(15)} ${'median / best'.padStart(15)} ${'median / best'.padStart(15)}`);
for (const t of all) console.log(`${t.label.padEnd(16)} ${cell(t, 'wallMs')} ${cell(t, 'cpuMs')} ${cell(t, 'parseCpuMs')}`);
