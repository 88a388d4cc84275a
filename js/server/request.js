// sessionmark/server, the request side: read the tracker's session and
// visitor ids from an incoming request, whatever the framework. Plain ES
// module, no dependencies, no Node built-ins: runs on Node 18+, Deno, Bun
// and workers.
//
// Id formats mirror src/ids.rs exactly:
//   session: "sess_" + lowercase hyphenated UUIDv7 (variant 8, 9, a or b)
//   visitor: "anon_" + lowercase hyphenated UUID of any version (same variant)

/** The request header carrying one tab's session id (lower case). */
export const SESSION_HEADER = 'x-session-id';
/** The cookie holding the session of the tab the user is using. */
export const SESSION_COOKIE = 'ss_sid';
/** The cookie holding the visitor id. */
export const VISITOR_COOKIE = 'ss_vid';

/** Header and cookie strings longer than this are ignored as a whole. */
const MAX_INPUT = 16 * 1024;

const SESSION_RE = /^sess_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const VISITOR_RE = /^anon_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ID_LEN = 41;

/** True when `s` is a session id: `sess_` + lowercase hyphenated UUIDv7. */
export function isSessionId(s) {
  return typeof s === 'string' && s.length === ID_LEN && SESSION_RE.test(s);
}

/** True when `s` is a visitor id: `anon_` + lowercase hyphenated UUID. */
export function isVisitorId(s) {
  return typeof s === 'string' && s.length === ID_LEN && VISITOR_RE.test(s);
}

function nothing() {
  return { sessionId: null, visitorId: null, source: null };
}

function isObj(v) {
  return (typeof v === 'object' || typeof v === 'function') && v !== null;
}

/** `o[k]`, or undefined when `o` is not an object or the getter throws. */
function prop(o, k) {
  if (!isObj(o)) return undefined;
  try {
    return o[k];
  } catch {
    return undefined;
  }
}

/** `o[k]` when it is an own property (never inherited, never a prototype key). */
function own(o, k) {
  if (!isObj(o)) return undefined;
  try {
    return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
  } catch {
    return undefined;
  }
}

/** `fn.call(self, arg)`, or undefined when it throws. */
function call(self, fn, arg) {
  try {
    return fn.call(self, arg);
  } catch {
    return undefined;
  }
}

/**
 * A Fetch `Headers` (from any realm, or a polyfill). Told apart from cookie
 * stores, which also have `get`, by `append`: no cookie store has one.
 */
function isHeaders(h) {
  return (
    isObj(h) &&
    typeof prop(h, 'get') === 'function' &&
    typeof prop(h, 'has') === 'function' &&
    typeof prop(h, 'append') === 'function'
  );
}

/** Spaces and tabs around a header value (HTTP's optional whitespace). */
function trimOws(s) {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

/**
 * Header `name` (lower case) of one candidate object: a `Headers`, or an
 * object whose `headers` is a `Headers` or a plain map (Node style, own
 * properties only, names matched case-insensitively). Returns a string, an
 * array of values (Node), or undefined when absent.
 */
function headerOf(c, name) {
  if (!isObj(c)) return undefined;
  const hs = isHeaders(c) ? c : prop(c, 'headers');
  if (!isObj(hs)) return undefined;
  if (isHeaders(hs)) {
    const v = call(hs, prop(hs, 'get'), name);
    return typeof v === 'string' ? v : undefined;
  }
  let v = own(hs, name);
  if (v === undefined) {
    let keys;
    try {
      keys = Object.keys(hs);
    } catch {
      return undefined;
    }
    for (const k of keys) {
      if (k.length === name.length && k.toLowerCase() === name) {
        v = own(hs, k);
        break;
      }
    }
  }
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v;
  return undefined;
}

/** The objects that may carry headers, most direct first. */
function candidates(x) {
  const req = prop(x, 'req');
  return [
    x,
    prop(x, 'request'), // SvelteKit event, Koa ctx
    req, // Koa ctx.req, h3 v2 event.req
    prop(x, 'raw'), // Fastify request.raw, HonoRequest.raw
    prop(prop(x, 'node'), 'req'), // h3 v1 / Nuxt event
    prop(req, 'raw'), // Hono context: c.req.raw
  ];
}

/** First candidate on which header `name` is present. */
function findHeader(cs, name) {
  for (const c of cs) {
    const v = headerOf(c, name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The session id carried by an `X-Session-ID` value, or null. */
function sessionFromHeader(v) {
  if (Array.isArray(v)) {
    // Sent twice: ambiguous, so not used.
    if (v.length !== 1) return null;
    v = v[0];
  }
  if (typeof v !== 'string' || v.length > MAX_INPUT) return null;
  const s = trimOws(v);
  return isSessionId(s) ? s : null;
}

/** A cookie value as written in a header: quotes dropped, percent-decoded only if that makes it an id. */
function cookieValue(raw, valid) {
  let v = raw;
  if (v.length >= 2 && v[0] === '"' && v[v.length - 1] === '"') v = v.slice(1, -1);
  if (valid(v)) return v;
  if (v.indexOf('%') !== -1) {
    let d;
    try {
      d = decodeURIComponent(v);
    } catch {
      return null;
    }
    if (valid(d)) return d;
  }
  return null;
}

/**
 * Reads cookie `name` from a `Cookie` header string: pairs split on `;`,
 * trimmed, the first `=` separating name from value; names match exactly.
 * The first occurrence decides. Returns undefined when absent, null when
 * present but not a valid id.
 */
function cookieFromHeader(header, name, valid) {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (trimOws(part.slice(0, eq)) !== name) continue;
    return cookieValue(trimOws(part.slice(eq + 1)), valid);
  }
  return undefined;
}

/** A Cookie header (string or Node array of strings) as one string, or undefined if absent or oversized. */
function cookieHeaderString(v) {
  if (Array.isArray(v)) {
    let total = 0;
    const parts = [];
    for (const p of v) {
      if (typeof p !== 'string') continue;
      total += p.length + 2;
      if (total > MAX_INPUT + 2) return undefined;
      parts.push(p);
    }
    v = parts.join('; ');
  }
  if (typeof v !== 'string' || v.length > MAX_INPUT) return undefined;
  return v;
}

/** A value read from a parsed cookie store: a string, or `{ value }` (Next.js, Astro). */
function storeValue(v) {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  const inner = prop(v, 'value');
  if (typeof inner === 'string') return inner === '' ? undefined : inner;
  return v; // present, but not a string: fails validation
}

/**
 * Cookie `name` from a parsed store: a `cookies.get(name)` object (not a
 * `Headers`), or a plain map (own properties only). Undefined when absent.
 */
function cookieFromStore(store, name) {
  if (!isObj(store) || isHeaders(store)) return undefined;
  const get = prop(store, 'get');
  if (typeof get === 'function') return storeValue(call(store, get, name));
  return storeValue(own(store, name));
}

/** An object that is nothing but a cookie store: `.get(name)` and no request parts. */
function isBareStore(x) {
  if (typeof prop(x, 'get') !== 'function' || isHeaders(x)) return false;
  for (const k of ['headers', 'request', 'req', 'raw', 'node', 'cookies']) {
    if (prop(x, k) !== undefined) return false;
  }
  return true;
}

function read(req) {
  if (typeof req === 'string') {
    const header = cookieHeaderString(req);
    if (header === undefined) return nothing();
    const sessionId = cookieFromHeader(header, SESSION_COOKIE, isSessionId) ?? null;
    const visitorId = cookieFromHeader(header, VISITOR_COOKIE, isVisitorId) ?? null;
    return { sessionId, visitorId, source: sessionId ? 'cookie' : null };
  }
  if (!isObj(req)) return nothing();

  const cs = candidates(req);
  const stores = isBareStore(req) ? [req] : [prop(req, 'cookies')];
  let header; // the Cookie header, parsed only when a store lacks the cookie
  let headerRead = false;
  const cookie = (name, valid) => {
    for (const s of stores) {
      const v = cookieFromStore(s, name);
      if (v !== undefined) return valid(v) ? v : null;
    }
    if (!headerRead) {
      headerRead = true;
      header = cookieHeaderString(findHeader(cs, 'cookie'));
    }
    if (header === undefined) return null;
    return cookieFromHeader(header, name, valid) ?? null;
  };

  const visitorId = cookie(VISITOR_COOKIE, isVisitorId);
  const fromHeader = sessionFromHeader(findHeader(cs, SESSION_HEADER));
  if (fromHeader) return { sessionId: fromHeader, visitorId, source: 'header' };
  const sessionId = cookie(SESSION_COOKIE, isSessionId);
  return { sessionId, visitorId, source: sessionId ? 'cookie' : null };
}

/**
 * The session and visitor ids of an incoming request. Never throws; see
 * js/server.d.ts for the accepted shapes and the rules.
 */
export function sessionFromRequest(req) {
  try {
    return read(req);
  } catch {
    return nothing();
  }
}
