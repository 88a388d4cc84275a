// The bench's page server: bench pages, the trackers' scripts, and a stub
// for every tracker's endpoint that answers success and counts which of a
// sample's events arrived (each page's loop tracks i = 0..n-1; the stub
// collects the distinct `i` values it finds in the bodies of that sample's
// requests, whatever their encoding).
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

// Start-up marks for every page: performance.now() at the first script, and
// the wasm work of whatever the tracker compiles (WebAssembly.Module and
// WebAssembly.Instance timed from outside, their memories kept so the heap
// figure can count wasm linear memory). The same for every tracker.
const INSTRUMENT = `
window.__b = { t0: performance.now(), modules: [], instances: [], memories: [] };
(function () {
  var b = window.__b, W = window.WebAssembly;
  if (!W) return;
  function keep(instance, imports) {
    try {
      var found = [];
      for (var k in instance.exports) found.push(instance.exports[k]);
      for (var m in imports || {}) for (var n in imports[m]) found.push(imports[m][n]);
      found.forEach(function (x) { if (x instanceof W.Memory && b.memories.indexOf(x) < 0) b.memories.push(x); });
    } catch (e) {}
  }
  W.Module = new Proxy(W.Module, { construct: function (T, a, nt) {
    var t = performance.now(), r = Reflect.construct(T, a, nt);
    b.modules.push({ start: t, end: performance.now(), bytes: a[0] && a[0].byteLength });
    return r;
  } });
  W.Instance = new Proxy(W.Instance, { construct: function (T, a, nt) {
    var t = performance.now(), r = Reflect.construct(T, a, nt);
    b.instances.push({ start: t, end: performance.now() });
    keep(r, a[1]);
    return r;
  } });
  ['instantiate', 'instantiateStreaming'].forEach(function (f) {
    var orig = W[f];
    if (orig) W[f] = function (src, imports) {
      return orig.apply(this, arguments).then(function (r) { keep(r.instance || r, imports); return r; });
    };
  });
})();
`;

function pageHtml(t, origin, sample) {
  const fill = (s) => (s || '').replace(/ORIGIN/g, origin).replace(/SAMPLE/g, sample);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>bench ${t.key}</title><link rel="icon" href="data:,">
<script>${INSTRUMENT}${t.pre || ''}</script>
<script src="/t/${t.key}.js" ${fill(t.attrs)}></script>
<script>
(function () {
  var b = window.__b;
  b.tScript = performance.now();
  try { ${fill(t.init)} } catch (e) { b.initError = String(e); }
  function ready() { try { return ${t.ready}; } catch (e) { return false; } }
  function done(v) { b.tReady = performance.now(); b.value = String(v); }
  var v = ready();
  if (v) done(v);
  else {
    // Not usable right after the script: poll on a message channel (not clamped like setTimeout).
    var ch = new MessageChannel(), tries = 0;
    ch.port1.onmessage = function () { var v = ready(); if (v) done(v); else if (++tries < 1e6) ch.port2.postMessage(0); };
    ch.port2.postMessage(0);
  }
  window.__bench = function (n) {
    var t = performance.now();
    for (var i = 0; i < n; i++) { ${t.track}; }
    return performance.now() - t;
  };
  window.__wasmBytes = function () {
    return b.memories.reduce(function (n, m) { return n + m.buffer.byteLength; }, 0);
  };
})();
</script>
</head><body><p>bench: ${t.label}</p></body></html>
`;
}

// The decode phase, measured apart: the bundle's own wasm literal as a
// script of its own, then turned into bytes the way the shim does
// (js/wasm.js): natively by btoa and Uint8Array.fromBase64 where the
// browser has it; one charCodeAt per byte otherwise, and for an older build
// (--ours) whose bytes are xored with a key (the first character: the
// wasm's first byte is 0).
const DECODE_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>bench decode</title><link rel="icon" href="data:,">
<script>window.__d = { t0: performance.now() };</script>
<script src="/t/wasm-literal.js"></script>
<script>
(function () {
  var d = window.__d, s = window.__wasmLiteral;
  d.tLiteral = performance.now();
  var t = performance.now();
  var k = s.charCodeAt(0), bytes;
  if (!k && Uint8Array.fromBase64) bytes = Uint8Array.fromBase64(btoa(s));
  else {
    bytes = new Uint8Array(s.length);
    for (var i = 0; i < bytes.length; i++) bytes[i] = s.charCodeAt(i) ^ k;
  }
  d.native = !k && !!Uint8Array.fromBase64;
  d.decodeMs = performance.now() - t;
  d.bytes = bytes.length;
  d.valid = WebAssembly.validate(bytes);
})();
</script>
</head><body></body></html>
`;

/** Numbers (or digit strings) under key `i` anywhere in a decoded body. */
function collectI(value, into, depth = 0) {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const v of value) collectI(v, into, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === 'i' && (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v)))) into.add(Number(v));
    else if (typeof v === 'string' && v.length > 1 && (v[0] === '{' || v[0] === '[')) {
      // a JSON value inside a field (properties sent as text)
      try {
        collectI(JSON.parse(v), into, depth + 1);
      } catch {
        // not JSON
      }
    } else collectI(v, into, depth + 1);
  }
}

/** A request body as JSON, whatever the tracker made of it: plain, gzip, or PostHog's `data=<base64>` form. */
function decodeBody(buf) {
  if (!buf.length) return null;
  const tries = [];
  if (buf[0] === 0x1f && buf[1] === 0x8b) tries.push(() => gunzipSync(buf).toString('utf8'));
  const text = buf.toString('utf8');
  if (text.startsWith('data=')) tries.push(() => Buffer.from(new URLSearchParams(text).get('data') || '', 'base64').toString('utf8'));
  tries.push(() => text);
  for (const f of tries) {
    try {
      return JSON.parse(f());
    } catch {
      // next encoding
    }
  }
  return null;
}

const SAMPLE_RE = /smpl\d+/;

/**
 * Starts the server. `trackers`: those with `served` bytes; `literal`: the
 * source text of sessionmark's wasm literal (or null). Returns `{ url,
 * delivered(sample), requests(sample), close() }`.
 */
export function startPageServer(trackers, literal) {
  const files = new Map();
  for (const t of trackers) files.set(`/t/${t.key}.js`, { type: 'text/javascript; charset=utf-8', body: t.served });
  if (literal) files.set('/t/wasm-literal.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(`\ufeffwindow.__wasmLiteral=${literal};\n`) });
  const pages = new Map(trackers.map((t) => [`/page/${t.key}.html`, t]));
  const seen = new Map(); // sample -> { ids: Set, requests }
  let origin = '';

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const path = url.pathname;
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const headers = { 'cache-control': 'no-store' };
      if (req.method === 'GET') {
        const f = files.get(path);
        if (f) {
          res.writeHead(200, { ...headers, 'content-type': f.type, 'content-length': f.body.length });
          return res.end(f.body);
        }
        const t = pages.get(path);
        if (t || path === '/page/decode.html') {
          const body = Buffer.from(t ? pageHtml(t, origin, url.searchParams.get('sample') || 'smpl0') : DECODE_PAGE);
          res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
          return res.end(body);
        }
      }
      if (req.method === 'POST') {
        const sample = (SAMPLE_RE.exec(req.url) || [null])[0];
        const body = decodeBody(Buffer.concat(chunks));
        if (sample) {
          const s = seen.get(sample) || { ids: new Set(), requests: 0 };
          s.requests++;
          collectI(body, s.ids);
          seen.set(sample, s);
        }
        if (path === '/v1/batch') {
          const n = Array.isArray(body?.events) ? body.events.length : 0;
          res.writeHead(200, { ...headers, 'content-type': 'application/json' });
          return res.end(JSON.stringify({ accepted: n, duplicates: 0, rejected: [], sealed: [] }));
        }
      }
      if (path.startsWith('/stub/') || path === '/') {
        // Any peer endpoint: an empty success (a script for *.js, e.g. PostHog's remote config).
        const js = path.endsWith('.js');
        res.writeHead(200, { ...headers, 'content-type': js ? 'text/javascript' : 'application/json' });
        return res.end(js ? '' : '{}');
      }
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      res.end('not found');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.keepAliveTimeout = 1000;
      origin = `http://127.0.0.1:${server.address().port}`;
      resolve({
        url: origin,
        /** Distinct loop events of `sample` that reached the stub. */
        delivered: (sample) => seen.get(sample)?.ids.size ?? 0,
        /** POST requests of `sample`. */
        requests: (sample) => seen.get(sample)?.requests ?? 0,
        close() {
          server.closeAllConnections?.();
          server.close();
        },
      });
    });
  });
}
