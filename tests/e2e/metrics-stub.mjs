// A stand-in for the collector's read API, answering from hand-made data:
// the dashboard's rendering tests use it for what a real database cannot
// easily be made to say (large figures, errors, a missing route). It serves
// www/ like the collector and records every request it gets.
//
//   const stub = await startStub({ key: 'k'.repeat(20) });
//   stub.url; stub.requests;
//   stub.set({ metrics: {...} | (q) => ({...}), status: 500, missing: ['/v1/metrics'] });
//   await stub.stop();
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { repoRoot } from './harness.mjs';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.mjs': 'text/javascript' };
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A metrics answer (contract of `GET /v1/metrics`) with large, odd figures for the range asked. */
export function fixtureMetrics({ client_id = null, from, to }) {
  const interval = to - from <= 2 * DAY ? 'hour' : 'day';
  const step = interval === 'hour' ? HOUR : DAY;
  const series = [];
  let i = 0;
  for (let t = Math.floor(from / step) * step; t < to; t += step, i++) {
    const visits = 40 + ((i * 37) % 29) + (i % 7 === 5 ? 30 : 0);
    series.push({ t, visits, visitors: Math.round(visits * 0.8), pageviews: visits * 3 });
  }
  return {
    client_id, from, to, interval,
    visits: 12345, unique_visitors: 9876, pageviews: 45678, pages_per_visit: 3.7002,
    bounce_rate: 0.41234, avg_visit_ms: 185_432, avg_engaged_ms: 65_400, visitors_now: 7,
    conversions: 321, conversion_rate: 0.026, revenue: 16049.5, average_order_value: 49.99844,
    top_pages: [
      { value: '/', count: 14001 }, { value: '/product/espresso', count: 9120 }, { value: '/cart', count: 4410 },
      { value: '/about', count: 2003 }, { value: '/product/grinder', count: 1804 }, { value: '/checkout', count: 990 },
      { value: '/blog/how-to-brew', count: 700 }, { value: '/contact', count: 412 }, { value: '/faq', count: 230 },
      { value: '/legal/privacy', count: 12 },
    ],
    entry_pages: [{ value: '/', count: 8001 }, { value: '/product/espresso', count: 2200 }, { value: '/blog/how-to-brew', count: 1300 }],
    exit_pages: [{ value: '/checkout', count: 3002 }, { value: '/product/espresso', count: 2900 }, { value: '/', count: 2100 }],
    referrers: [{ value: '(direct)', count: 6100 }, { value: 'www.google.com', count: 4210 }, { value: 'news.ycombinator.com', count: 1312 }, { value: 'duckduckgo.com', count: 402 }],
    series,
  };
}

export const fixtureSites = [
  { client_id: 'shop', events: 54321, last_seen: 0 },
  { client_id: 'blog', events: 1200, last_seen: 0 },
];

export async function startStub({ key = null } = {}) {
  const state = { metrics: fixtureMetrics, sites: fixtureSites, sessions: [], events: {}, status: 0, missing: [] };
  const requests = [];
  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://stub');
    if (url.pathname.startsWith('/v1/')) {
      requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: req.headers.authorization ?? null });
      if (key && req.headers.authorization !== `Bearer ${key}`) return json(res, 401, { error: 'missing or wrong read key' });
      if (state.status) return json(res, state.status, { error: 'stub failure' });
      if (state.missing.includes(url.pathname)) return json(res, 404, { error: 'no such route' });
      const now = Date.now();
      if (url.pathname === '/v1/metrics') {
        const to = Number(url.searchParams.get('to') ?? now);
        const from = Number(url.searchParams.get('from') ?? to - 7 * DAY);
        const m = typeof state.metrics === 'function' ? state.metrics({ client_id: url.searchParams.get('client_id'), from, to }) : state.metrics;
        return json(res, 200, m);
      }
      if (url.pathname === '/v1/sites') return json(res, 200, state.sites);
      if (url.pathname === '/v1/sessions') return json(res, 200, state.sessions);
      if (url.pathname === '/v1/events') return json(res, 200, state.events[url.searchParams.get('session_id')] ?? []);
      return json(res, 404, { error: 'no such route' });
    }
    const path = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(repoRoot, 'www', path === '/' ? 'index.html' : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-security-policy': CSP });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    set: (patch) => Object.assign(state, patch),
    stop: () => new Promise((r) => server.close(r)),
  };
}
