#!/usr/bin/env node
// The cost of track() in several builds of the script tag side by side
// (bench/README.md, "track(), A against B"):
//   node bench/track-ab.mjs [--calls N] [--pages P] LABEL=FILE ...
// e.g. node bench/track-ab.mjs --calls 200 --pages 25 before=/tmp/old.js after=dist/sessionmark.js
// Each page is fresh (a first visit) and loads one build, the builds taking
// turns; once the API answers, N track() calls in one synchronous loop
// (the first burst: it pays for compiling what the calls reach first),
// then, 100 ms later, N more (the second). The collector is a stub that
// answers every batch. Prints the median and best µs per call of each.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { median, minOf } from './report.mjs';
import { launchBrowser } from './samples.mjs';

const argv = process.argv.slice(2);
const option = (name, dflt) => {
  const at = argv.indexOf(name);
  return at >= 0 ? Math.max(1, Number(argv[at + 1]) || dflt) : dflt;
};
const calls = option('--calls', 200);
const pages = option('--pages', 15);
const builds = argv
  .filter((a) => a.includes('='))
  .map((a) => {
    const at = a.indexOf('=');
    return { label: a.slice(0, at), served: readFileSync(a.slice(at + 1)), first: [], second: [] };
  });
if (!builds.length) {
  console.error('usage: node bench/track-ab.mjs [--calls N] [--pages P] LABEL=FILE ...');
  process.exit(2);
}

let current;
const server = createServer((req, res) => {
  if (req.url === '/tracker.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    return res.end(current.served);
  }
  if (req.url.startsWith('/collect')) {
    req.resume();
    return req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><html><head><meta charset="utf-8"><title>track bench</title>' +
    '<script src="/tracker.js" data-endpoint="/collect"></script></head><body><p>track bench</p></body></html>');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const loadStart = loadavg()[0];
const browser = await launchBrowser();
try {
  for (let i = 0; i < pages; i++) {
    for (const b of builds) {
      current = b;
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(`${origin}/?page=${i}`);
        await page.waitForFunction(() => window.sessionmark && window.sessionmark.getSessionId(), null, { timeout: 10_000 });
        const loop = (n) =>
          page.evaluate((n) => {
            const t0 = performance.now();
            for (let i = 0; i < n; i++) window.sessionmark.track('e', { i });
            return ((performance.now() - t0) * 1000) / n;
          }, calls);
        b.first.push(await loop());
        await page.waitForTimeout(100);
        b.second.push(await loop());
      } finally {
        await context.close();
      }
    }
  }
} finally {
  await browser.close();
  server.close();
}

console.log(`track(): ${calls} calls in one loop, ${pages} fresh pages each, builds taking turns; load average ${loadStart.toFixed(2)} -> ${loadavg()[0].toFixed(2)}`);
console.log('build'.padEnd(14) + 'first burst, µs/call'.padEnd(24) + 'second, µs/call');
console.log(''.padEnd(14) + 'median / best'.padEnd(24) + 'median / best');
const cell = (xs) => `${median(xs).toFixed(1).padStart(6)} / ${minOf(xs).toFixed(1).padStart(5)}`.padEnd(24);
for (const b of builds) console.log(b.label.padEnd(14) + cell(b.first) + cell(b.second));
