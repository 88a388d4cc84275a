#!/usr/bin/env node
// The demo shop (README "The demo"): three pages with the script tag, a
// single-page app built from the npm package, and the shop's own backend,
// which records each purchase in the buyer's browser session with the
// server SDK: `client.forRequest(req).track('purchase', { amount })`.
// Plain node:http, no framework.
//
// Environment:
//   SESSIONMARK_COLLECTOR   the collector's origin (required), e.g. http://127.0.0.1:8080
//   SESSIONMARK_SERVER_KEY  its server key, if it has one
//   PORT                    default 8081; 0 picks a free port
//   HOST                    default 127.0.0.1
//   SHOP_SPA_DIR            the built single-page app (scripts/build-spa.mjs), served at /spa/
// It prints `sessionmark demo shop listening on http://HOST:PORT` when ready.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRODUCTS } from './catalog.mjs';
import { createClient } from 'sessionmark/server';

const here = fileURLToPath(new URL('.', import.meta.url));
const collector = (process.env.SESSIONMARK_COLLECTOR || '').replace(/\/+$/, '');
if (!/^https?:\/\/[^/]+$/.test(collector)) {
  console.error('demo shop: SESSIONMARK_COLLECTOR must be the collector\'s origin, such as http://127.0.0.1:8080');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8081);
const host = process.env.HOST || '127.0.0.1';
const spaDir = process.env.SHOP_SPA_DIR ? resolve(process.env.SHOP_SPA_DIR) : null;

// One client for the process (README "Server SDK"): it queues server events
// and sends them to the collector in bulk. Imported by package name, as a
// site would.
const client = createClient({ endpoint: collector, key: process.env.SESSIONMARK_SERVER_KEY || undefined });

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
};
// The tracker's script and its batches come from the collector; nothing
// inline anywhere ('wasm-unsafe-eval': the tracker compiles its wasm).
const CSP = [
  "default-src 'self'",
  `script-src 'self' ${collector} 'wasm-unsafe-eval'`,
  `connect-src 'self' ${collector}`,
  "style-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');
// Each shop page: its <main> (pages/), its title, and its name on <body data-page>.
const HOME = { file: 'index.html', title: 'Home', name: 'home' };
const PAGES = {
  '/': HOME,
  '/index.html': HOME,
  '/product.html': { file: 'product.html', title: 'Product', name: 'product' },
  '/about.html': { file: 'about.html', title: 'About', name: 'about' },
};

function send(res, status, type, body, extra = {}) {
  res.writeHead(status, { 'content-type': type, 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache', ...extra });
  res.end(body);
}
const json = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));

/** An HTML file with the collector's origin written in (`__COLLECTOR__`). */
async function html(res, file, fill = (text) => text) {
  send(res, 200, TYPES['.html'], fill(await readFile(file, 'utf8')).replaceAll('__COLLECTOR__', collector));
}

/** A shop page: layout.html around the page's own <main>. */
async function shopPage(res, { file, title, name }) {
  const main = await readFile(join(here, 'pages', file), 'utf8');
  // Functions as replacements: a `$` in the page is not a pattern.
  await html(res, join(here, 'layout.html'), (layout) =>
    layout.replace('__TITLE__', () => title).replace('__PAGE__', () => name).replace('__MAIN__', () => main),
  );
}

/** A file under `dir`, or null when there is none (never a path outside it). */
async function fileUnder(dir, urlPath) {
  const file = normalize(join(dir, urlPath));
  if (!file.startsWith(dir + sep)) return null;
  try {
    return { file, body: await readFile(file) };
  } catch {
    return null;
  }
}

async function readJson(req, limit = 16 * 1024) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error('body too large');
  }
  return body ? JSON.parse(body) : {};
}

let orders = 0;

/** `POST /api/buy` `{"product":"espresso"}`: the order, and its purchase event in the buyer's session. */
async function buy(req, res) {
  const { product } = await readJson(req);
  const item = Object.hasOwn(PRODUCTS, product) ? PRODUCTS[product] : null;
  if (!item) return json(res, 400, { error: 'no such product' });
  const orderId = `order-${Date.now().toString(36)}-${++orders}`;
  // The session comes from the X-Session-ID header the page sent (else the
  // ss_sid cookie); the amount is what the dashboard adds up as revenue.
  client.forRequest(req).track('purchase', { amount: item.price, product, order_id: orderId });
  // A demo wants the conversion on the dashboard at once; a real shop can
  // leave the batching to the client.
  await client.flush();
  json(res, 200, { order_id: orderId, product, amount: item.price });
}

/** `POST /api/login` `{"user":"ada"}`: a pretend sign-in; the site's user id is `user_<name>`. */
async function login(req, res) {
  const { user } = await readJson(req);
  const name = typeof user === 'string' ? user.trim().toLowerCase() : '';
  if (!/^[a-z0-9._-]{1,64}$/.test(name)) return json(res, 400, { error: 'a user name is letters, digits, . _ or -' });
  const userId = `user_${name}`;
  client.forRequest(req).identify(userId);
  await client.flush();
  json(res, 200, { user_id: userId });
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://shop.invalid');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/api/buy') return await buy(req, res);
    if (req.method === 'POST' && path === '/api/login') return await login(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (Object.hasOwn(PAGES, path)) return await shopPage(res, PAGES[path]);
    if (path === '/spa' || path.startsWith('/spa/')) return await spa(res, path);
    const found = await fileUnder(join(here, 'public'), decodeURIComponent(path));
    if (found) return send(res, 200, TYPES[extname(found.file)] ?? 'application/octet-stream', found.body);
    json(res, 404, { error: 'not found' });
  } catch (e) {
    if (!res.headersSent) json(res, e instanceof SyntaxError ? 400 : 500, { error: e instanceof SyntaxError ? 'body is not JSON' : 'shop error' });
    if (!(e instanceof SyntaxError)) console.error('demo shop:', e);
  }
});

/** The single-page app: its files, and index.html for every other path (client-side routes). */
async function spa(res, path) {
  if (!spaDir) return send(res, 404, 'text/plain; charset=utf-8', 'the single-page app is not built: run node scripts/build-spa.mjs');
  const rest = decodeURIComponent(path.slice('/spa'.length)) || '/';
  const found = rest !== '/' && (await fileUnder(spaDir, rest));
  if (found && !found.file.endsWith('.html')) return send(res, 200, TYPES[extname(found.file)] ?? 'application/octet-stream', found.body, { 'cache-control': 'public, max-age=3600' });
  return html(res, join(spaDir, 'index.html'));
}

server.listen(port, host, () => {
  const a = server.address();
  console.log(`sessionmark demo shop listening on http://${a.address}:${a.port}`);
});

// Events still queued are sent before the process ends.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    server.close();
    await client.shutdown();
    process.exit(0);
  });
}
