// Known events for the dashboard's end-to-end tests, sent through the
// collector's own ingest (`POST /v1/batch`, server events through
// `POST /v1/server-events`), so the figures the collector computes come
// from ordinary stored events.
//
//   await seedKnown(collector.url, { now })   three visits of two visitors, figures known by hand
//   await seedWeek(collector.url, { now })    a week of a small shop (deterministic), for the screenshot
import { newSessionId, newVisitorId, uuidv7 } from './harness.mjs';

const MIN = 60_000;
const HOUR = 60 * MIN;

async function post(base, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** A browser event as the tracker sends it. */
function event(visit, name, at, fields = {}) {
  return {
    event_id: uuidv7(at),
    name,
    session_id: visit.sessionId,
    anonymous_id: visit.visitorId,
    timestamp: at,
    path: fields.path ?? '',
    title: fields.title ?? '',
    referrer: fields.referrer ?? '',
    client_id: visit.clientId,
    properties: fields.properties ?? {},
    ...(fields.extra ?? {}),
  };
}

/**
 * One visit: page views of `pages` (`[path, seconds on the page, engaged ms]`),
 * each with its page_exit; `referrer` on the first view; `purchase` (an
 * amount) as a browser event after the last view, or `serverPurchase` as a
 * server event of the same session.
 */
export function visitEvents(visit, { start, pages, referrer = '', purchase, extra = [] }) {
  const events = [];
  let at = start;
  pages.forEach(([path, seconds, engaged], i) => {
    const page_count = i + 1;
    events.push(event(visit, 'screen_view', at, { path, title: path, referrer: i === 0 ? referrer : '', extra: { page_count } }));
    for (const name of extra.filter((x) => x.at === i).map((x) => x.name)) events.push(event(visit, name, at + 1000, { path }));
    if (purchase !== undefined && i === pages.length - 1) events.push(event(visit, 'purchase', at + 2000, { path, properties: { amount: purchase } }));
    at += seconds * 1000;
    events.push(event(visit, 'page_exit', at, { path, extra: { page_count, time_on_page: seconds, engaged_time: engaged, scroll_depth: 80, interaction_count: 3 } }));
    at += 500;
  });
  return events;
}

async function store(base, events) {
  for (let i = 0; i < events.length; i += 100) {
    const answer = await post(base, '/v1/batch', { events: events.slice(i, i + 100) });
    if (answer.rejected.length) throw new Error(`seed events rejected: ${JSON.stringify(answer.rejected)}`);
  }
}

/** A purchase recorded by the backend at `at`, through bulk server events. */
async function serverPurchase(base, visit, amount, at) {
  const bulk = { events: [{ event_id: uuidv7(at), name: 'purchase', session_id: visit.sessionId, properties: { amount }, timestamp: at }] };
  const answer = await post(base, '/v1/server-events', bulk, { 'content-type': 'application/json' });
  if (answer.accepted !== 1) throw new Error(`seed server event not stored: ${JSON.stringify(answer)}`);
}

const newVisit = (clientId, visitorId, start) => ({ clientId, visitorId, sessionId: newSessionId(start) });

/**
 * Site `known`: visitor A visits twice (from Google: / then /product.html,
 * bought 249.00 by server event; then /about.html directly, one page), visitor
 * B once (/ then /product.html, bought 18.90 in the browser). All within the
 * last three hours of `now`.
 *
 * By hand: 3 visits, 2 unique visitors, 5 page views, bounce rate 1/3 (the
 * visit to /about.html), average visit (120.5 s + 15 s + 55.5 s) / 3 = 63,667 ms,
 * average engaged (80 s + 9 s + 38 s) / 3 = 42,333 ms, 2 conversions,
 * revenue 267.90, average order value 133.95; top pages / 2,
 * /product.html 2, /about.html 1; entry pages / 2, /about.html 1; exit
 * pages /product.html 2, /about.html 1; referrers (direct) 2, google.com 1
 * (the host without `www.`).
 */
export async function seedKnown(base, { now = Date.now(), clientId = 'known' } = {}) {
  const a = newVisitorId();
  const b = newVisitorId();
  const v1 = newVisit(clientId, a, now - 3 * HOUR);
  const v2 = newVisit(clientId, a, now - 2 * HOUR);
  const v3 = newVisit(clientId, b, now - 1 * HOUR);
  await store(base, [
    ...visitEvents(v1, { start: now - 3 * HOUR, referrer: 'https://www.google.com/search?q=espresso', pages: [['/', 30, 20_000], ['/product.html', 90, 60_000]] }),
    ...visitEvents(v2, { start: now - 2 * HOUR, pages: [['/about.html', 15, 9_000]] }),
    ...visitEvents(v3, { start: now - 1 * HOUR, pages: [['/', 10, 8_000], ['/product.html', 45, 30_000]], purchase: 18.9 }),
  ]);
  await serverPurchase(base, v1, 249, now - 3 * HOUR + 100_000);
  return { clientId, visits: [v1, v2, v3] };
}

/** A small deterministic random source (mulberry32). */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PAGES = ['/', '/product.html', '/about.html', '/cart.html', '/blog/brewing-guide', '/product/grinder', '/faq'];
const REFERRERS = ['', '', '', 'https://www.google.com/', 'https://www.google.com/', 'https://duckduckgo.com/', 'https://news.ycombinator.com/item?id=1', 'https://www.reddit.com/r/coffee/'];
const PRICES = [249, 89.5, 18.9, 18.9, 37.8];

/**
 * Site `shop`: a week of visits ending at `now` (more in the afternoon and
 * on the weekend), a few returning visitors, about 6 % buying, half of
 * those through the backend. Deterministic for a given `seed`.
 */
export async function seedWeek(base, { now = Date.now(), clientId = 'shop', seed = 7 } = {}) {
  const rnd = random(seed);
  const pick = (list) => list[Math.floor(rnd() * list.length)];
  const visitors = Array.from({ length: 140 }, () => newVisitorId());
  const events = [];
  const server = [];
  for (let day = 6; day >= 0; day--) {
    const dayStart = now - (day + 1) * 24 * HOUR;
    const count = 24 + Math.floor(rnd() * 14) + (day % 7 === 2 ? 12 : 0);
    for (let i = 0; i < count; i++) {
      const start = Math.min(now - 10 * MIN, dayStart + Math.floor(rnd() * 24 * HOUR));
      const visit = newVisit(clientId, rnd() < 0.25 ? visitors[Math.floor(rnd() * 20)] : pick(visitors), start);
      const n = rnd() < 0.38 ? 1 : 2 + Math.floor(rnd() * 4);
      const pages = Array.from({ length: n }, (_, k) => [k === 0 ? pick(PAGES.slice(0, 5)) : pick(PAGES), 5 + Math.floor(rnd() * 120), 2000 + Math.floor(rnd() * 60_000)]);
      const buys = n > 1 && rnd() < 0.12;
      const amount = pick(PRICES);
      const inBrowser = buys && rnd() < 0.5;
      events.push(...visitEvents(visit, { start, pages, referrer: pick(REFERRERS), purchase: inBrowser ? amount : undefined }));
      if (buys && !inBrowser) server.push([visit, amount, start + 60_000]);
    }
  }
  // Two visitors on the site right now.
  for (let i = 0; i < 2; i++) {
    const visit = newVisit(clientId, pick(visitors), now - 2 * MIN);
    events.push(...visitEvents(visit, { start: now - 2 * MIN, pages: [['/', 20, 15_000], ['/product.html', 30, 20_000]] }));
  }
  await store(base, events);
  for (const [visit, amount, at] of server) await serverPurchase(base, visit, amount, at);
}
