/**
 * `sessionmark/server`: read the tracker's session and visitor ids from an
 * incoming request, whatever the framework ({@link sessionFromRequest}), and
 * record server events in that browser session ({@link createClient}). No
 * dependencies; runs on Node 18+, Deno, Bun and workers.
 *
 * @module
 */

/** A session id: `sess_` + a lowercase hyphenated UUIDv7 (variant `8`, `9`, `a` or `b`). */
export type SessionId = `sess_${string}`;
/** A visitor id: `anon_` + a lowercase hyphenated UUID of any version (variant `8`, `9`, `a` or `b`). */
export type VisitorId = `anon_${string}`;

/** Where the session id came from. */
export type SessionSource = 'header' | 'cookie';

/** What {@link sessionFromRequest} found. */
export type RequestSession =
  | {
      /** The session id: from `X-Session-ID` (exactly the calling tab's) or `ss_sid` (the tab the user was last using). */
      sessionId: SessionId;
      /** The visitor id from the `ss_vid` cookie, or null. */
      visitorId: VisitorId | null;
      /** `'header'`: `X-Session-ID`; `'cookie'`: the `ss_sid` cookie. */
      source: SessionSource;
    }
  | {
      /** No valid session id in the request. */
      sessionId: null;
      /** The visitor id from the `ss_vid` cookie, or null. */
      visitorId: VisitorId | null;
      source: null;
    };

/** The request header carrying one tab's session id, in lower case: `'x-session-id'`. */
export declare const SESSION_HEADER: 'x-session-id';
/** The cookie holding the session of the tab the user is using: `'ss_sid'`. */
export declare const SESSION_COOKIE: 'ss_sid';
/** The cookie holding the visitor id: `'ss_vid'`. */
export declare const VISITOR_COOKIE: 'ss_vid';

/** True when `s` is a session id (`sess_` + lowercase hyphenated UUIDv7 with a RFC 9562 variant). */
export function isSessionId(s: unknown): s is SessionId;
/** True when `s` is a visitor id (`anon_` + lowercase hyphenated UUID with a RFC 9562 variant). */
export function isVisitorId(s: unknown): s is VisitorId;

/** A Fetch `Headers`, or anything with the same `get`. */
export interface HeadersLike {
  get(name: string): string | null;
}

/** Node-style headers: lower-case names (matched case-insensitively here), a string or an array of strings each. */
export type NodeHeaders = Record<string, string | string[] | undefined>;

/** A parsed cookie store with `get(name)`: SvelteKit `Cookies`, Koa `ctx.cookies`, Next.js / Astro cookies (`{ value }`). */
export interface CookieStore {
  get(name: string): string | { value: string } | null | undefined;
}

/**
 * The request shapes {@link sessionFromRequest} understands, for reference
 * (its parameter is `unknown`: anything else just gives all-null).
 */
export type RequestLike =
  /** A Fetch `Request`: Next.js App Router, SvelteKit `request`, Hono `c.req.raw`, Remix, Workers, Deno, Bun. */
  | { headers: HeadersLike }
  /** A Node `IncomingMessage`, raw or under Express / Fastify / Koa. */
  | { headers: NodeHeaders }
  /** Express + cookie-parser, Next.js Pages Router, Fastify + @fastify/cookie: `req.cookies` is preferred over the `Cookie` header. */
  | { headers?: NodeHeaders; cookies?: Record<string, unknown> }
  /** SvelteKit event `{ request, cookies }`, Koa `ctx` (`ctx.cookies.get`, `ctx.headers`, `ctx.request.headers`). */
  | { request?: unknown; headers?: NodeHeaders; cookies: CookieStore }
  /** An h3 / Nuxt event: `event.node.req` (v1), `event.headers` or `event.req` (v2). */
  | { node: { req: { headers: NodeHeaders } } }
  /** A `Headers` on its own: read as request headers, never as a cookie store. */
  | HeadersLike
  /** A cookie store on its own (an object with `get(name)` and no request parts). */
  | CookieStore
  /** A raw `Cookie` header value: `'a=b; ss_sid=sess_...'`. */
  | string;

/**
 * The session and visitor ids of an incoming request.
 *
 * - `sessionId`: the `X-Session-ID` header first (exactly the calling tab's
 *   session; `source: 'header'`), else the `ss_sid` cookie (the session of
 *   the tab the user was last using; `source: 'cookie'`), else null.
 *   A header that is present but malformed (including `"null"` from
 *   forwarding a missing id, or the header sent twice) is ignored and the
 *   cookie is tried.
 * - `visitorId`: the `ss_vid` cookie, or null.
 *
 * Ids must have the exact formats ({@link isSessionId}, {@link isVisitorId}):
 * anything else (upper case, another prefix, a UUIDv4 session id, extra
 * characters) gives null and is never passed on.
 *
 * Accepted shapes are duck-typed (see {@link RequestLike}); header names are
 * case-insensitive; only own properties of header and cookie maps are read.
 * Cookies: a parsed store (`cookies.get(name)` or a `req.cookies` map) is
 * used when it has the cookie, else the `Cookie` header is parsed: pairs
 * split on `;`, trimmed, name and value split at the first `=`, names
 * matched exactly (case-sensitive), quotes around a value dropped, a value
 * percent-decoded only when that yields a valid id. The FIRST occurrence of
 * a cookie name decides (browsers send the most specific path first): if it
 * is malformed the result is null, later duplicates are not tried. A
 * `Cookie` or `X-Session-ID` value longer than 16 KiB is ignored whole.
 *
 * Never throws: null, numbers, throwing getters and other oddities give
 * all-null.
 *
 * @example Express (with or without cookie-parser)
 * ```js
 * import express from 'express';
 * import { sessionFromRequest } from 'sessionmark/server';
 *
 * const app = express();
 * app.post('/api/checkout', (req, res) => {
 *   const { sessionId, visitorId, source } = sessionFromRequest(req);
 *   console.log('checkout', { sessionId, visitorId, source });
 *   res.json({ ok: true });
 * });
 * ```
 *
 * @example A Fetch handler (Hono with `c.req.raw`, Cloudflare Workers, Deno, Bun, Next.js App Router)
 * ```js
 * import { sessionFromRequest } from 'sessionmark/server';
 *
 * export default {
 *   async fetch(request) {
 *     const { sessionId } = sessionFromRequest(request);
 *     return Response.json({ sessionId });
 *   },
 * };
 * ```
 */
export function sessionFromRequest(req: unknown): RequestSession;

/** Event properties: a plain object of JSON values (at most 16 KiB as JSON). */
export type Properties = Record<string, unknown>;

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The collector's origin, such as `'https://collector.example'` (a path prefix is kept); events go to `POST {endpoint}/v1/server-events`. */
  endpoint: string;
  /** The collector's server key (`SESSIONMARK_SERVER_KEY`), sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** A batch is sent as soon as this many events are queued (default 50; 1..100). */
  batchSize?: number;
  /** A batch is sent at the latest this many ms after the first event queued (default 2000). */
  flushInterval?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** The session to record the event in; wins over the session of `forRequest(req)`. Must be `sess_` + UUIDv7. */
  sessionId?: string;
  /** The site's own user id (1..256 bytes), sent as the event's `user_id`. */
  userId?: string;
  /** When it happened, ms since the epoch or a `Date` (default: the time of the call). */
  timestamp?: number | Date;
}

/** How bad a captured error is. */
export type ErrorLevel = 'critical' | 'error' | 'warning';

/** Options of `captureError`. */
export interface ErrorOptions extends CallOptions {
  /** Default `'error'`; any other value is replaced by `'error'` with a warning. */
  level?: ErrorLevel;
  /** More properties for the `error` event (`message`, `stack`, `type` and `level` win). */
  properties?: Properties;
}

/**
 * The calls that record events. Each returns the event's `event_id` once it
 * is queued, or `null` when the event was dropped (one console warning says
 * why: no valid session, a bad name, properties that are not a plain JSON
 * object or over 16 KiB, the client shut down). None of them throws.
 */
export interface EventCalls {
  /** Records event `name` (1..128 bytes) with `properties`. */
  track(name: string, properties?: Properties, options?: CallOptions): string | null;
  /**
   * Records an `identify` event carrying `user_id: userId` (1..256 bytes): the
   * collector links the session's visitor to that user. On a
   * `forRequest(req)` object, the request's later events carry the user too.
   */
  identify(userId: string, options?: Omit<CallOptions, 'userId'>): string | null;
  /**
   * Records an `error` event with properties `message`, `stack` (when the
   * value has one), `type` (its `name`, such as `'TypeError'`) and `level`.
   * `error` may be anything thrown.
   */
  captureError(error: unknown, options?: ErrorOptions): string | null;
}

/** {@link EventCalls} bound to one incoming request's browser session. */
export interface RequestClient extends EventCalls {
  /** The request's session id ({@link sessionFromRequest}), or null: its events are then dropped unless a call passes `sessionId`. */
  readonly sessionId: SessionId | null;
  /** The request's visitor id (the `ss_vid` cookie), sent as the events' `anonymous_id`, or null. */
  readonly visitorId: VisitorId | null;
  /** Where the session id came from. */
  readonly source: SessionSource | null;
}

/** A server-side client; see {@link createClient}. */
export interface Client extends EventCalls {
  /** The calls bound to `req`'s session: the `X-Session-ID` header first, then the `ss_sid` cookie (any shape {@link sessionFromRequest} reads). */
  forRequest(req: unknown): RequestClient;
  /** Sends everything queued now; resolves (never rejects) once each of those events was stored or given up. */
  flush(): Promise<void>;
  /**
   * Stops the timer, sends everything queued and resolves (never rejects)
   * when done or after `timeout` ms (default 10000), giving up what is left
   * with a warning. Later calls drop their events with a warning.
   */
  shutdown(options?: { timeout?: number }): Promise<void>;
}

/**
 * A client that records server events in the browser's session and sends
 * them to the collector in bulk.
 *
 * Events are queued in memory and sent as `POST {endpoint}/v1/server-events`
 * with `{"events":[...]}` when `batchSize` are queued, `flushInterval` ms
 * after the first one, on `flush()`, on `shutdown()`, and on Node's
 * `beforeExit` (a process that ends by running out of work sends what is
 * queued first; `process.exit()` skips that: call `shutdown()` before it).
 * Its timers never keep a process alive (only while `shutdown()` or the
 * exit flush is sending, up to its timeout). Network errors, 408, 429 and 5xx
 * are retried with capped exponential backoff and jitter (429 and 503 wait
 * at least their `Retry-After`); each event carries its own `event_id`, so
 * a retried request is stored once. Never throws, not even for bad options:
 * a bad `endpoint` gives a client that drops everything, with one warning.
 *
 * @example Express
 * ```js
 * import { createClient } from 'sessionmark/server';
 * const sessionmark = createClient({ endpoint: 'https://collector.example', key: process.env.SESSIONMARK_SERVER_KEY });
 *
 * app.post('/api/checkout', (req, res) => {
 *   sessionmark.forRequest(req).track('purchase', { amount: 42 });
 *   res.json({ ok: true });
 * });
 * process.on('SIGTERM', async () => {
 *   await sessionmark.shutdown();
 *   process.exit(0);
 * });
 * ```
 */
export function createClient(options: ClientOptions): Client;
