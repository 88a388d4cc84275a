/** Options of `init()`; on a script tag each is a `data-` attribute (`batchSize` → `data-batch-size`). */
export interface Options {
  /** Your site's id, sent with every event. */
  clientId?: string;
  /** Where batches are posted. Default: `/v1/batch` on the script's origin (npm: the page's origin). */
  endpoint?: string;
  /** Inactivity that ends a session, ms (default 1800000 = 30 min; 60000..86400000). */
  sessionTimeout?: number;
  /** Longest session, ms (default and maximum 86400000 = 24 h; minimum 60000). */
  maxSessionLength?: number;
  /** Batch events (default true). */
  enableBatching?: boolean;
  /** Events per batch (default 10; 1..50). */
  batchSize?: number;
  /** Longest wait before a batch goes, ms (default 5000; 100..30000). */
  batchTimeout?: number;
  /** Count hash-only URL changes as page views (default false). */
  trackHashChanges?: boolean;
  /** Domain attribute of the `ss_sid`/`ss_vid` cookies: the page's host or a parent of it (default: none, host-only). */
  cookieDomain?: string;
  /** Hosts (`host` or `host:port`) whose `fetch`/XHR requests get the `X-Session-ID` header; a string is comma-separated. */
  tracingHeaders?: string[] | string;
  /** Store, send and set nothing until `setConsent(true)` (default false). */
  requireConsent?: boolean;
}

/** Event properties: a plain object of JSON values. Functions, symbols, BigInt and cycles are dropped with a warning. */
export type Properties = Record<string, unknown>;

/** Query parameters that may carry a cross-domain `sessionId` / `anonId`. */
export type UrlParams = URLSearchParams | string | Record<string, string>;

export interface TrackerInfo {
  /** Pages viewed in this session (kept across reloads of the tab). */
  pageCount: number;
  /** When the session started, ms since epoch. */
  sessionStartTime: number;
  /** Engaged time of the current page view, ms (visible and focused). */
  getEngagedTime(): number | null;
  /** The same in whole seconds. */
  getEngagedTimeSeconds(): number | null;
}

/** Starts the tracker; later calls are ignored with a warning. */
export function init(options?: Options): void;
/** Queues event `name` (1..128 bytes) with properties (at most 16 KiB as JSON). */
export function track(name: string, props?: Properties): void;
/** A page view of the current URL (for routers that do not use the History API). */
export function screenView(props?: Properties): void;
/** Properties merged into every later event; replaces the previous set. */
export function setGlobalProperties(props: Properties): void;
/** Sends everything queued; resolves when it was delivered or kept for a retry. */
export function flush(): Promise<void>;
/** Engaged time of the current page view, ms; null before `init()`. */
export function getEngagedTime(): number | null;
/** Engaged time of the current page view, whole seconds; null before `init()`. */
export function getEngagedTimeSeconds(): number | null;
/** `sess_` + UUIDv7: forward it as the `X-Session-ID` header. Null before `init()`. */
export function getSessionId(urlParams?: UrlParams): string | null;
/** The `X-Session-ID` header of your own requests, as `fetch`'s `headers` take it. */
export type SessionHeaders = { 'X-Session-ID'?: string };
/**
 * `{ 'X-Session-ID': id }`, or `{}` before `init()` or without consent:
 * `fetch(url, { headers: getSessionHeaders() })`.
 */
export function getSessionHeaders(): SessionHeaders;
/** `anon_` + UUID, the visitor id. Null before `init()`. */
export function getAnonymousId(urlParams?: UrlParams): string | null;
/**
 * `true` starts a tracker held by `requireConsent` and sends the events tracked meanwhile;
 * `false` drops them, or, once granted, stops tracking and removes what the tracker stored.
 */
export function setConsent(granted: boolean): void;
/**
 * Links every later event to your own user id (`user_id`, 1..256 bytes; anything else is refused
 * with a warning). Kept across reloads (localStorage `did_user`) until `clear()`.
 */
export function identify(userId: string): void;
/** Logout: new visitor and session ids; the stored ids and page count are replaced (undelivered events are kept). */
export function clear(): void;
/** Page count and session start; null before `init()`. */
export function getTracker(): TrackerInfo | null;

/** The API: the exports above, and `window.sessionmark` once the script tag has run. */
export interface Sessionmark {
  init: typeof init;
  track: typeof track;
  screenView: typeof screenView;
  setGlobalProperties: typeof setGlobalProperties;
  flush: typeof flush;
  getSessionId: typeof getSessionId;
  getSessionHeaders: typeof getSessionHeaders;
  getAnonymousId: typeof getAnonymousId;
  clear: typeof clear;
  getTracker: typeof getTracker;
  getEngagedTime: typeof getEngagedTime;
  getEngagedTimeSeconds: typeof getEngagedTimeSeconds;
  setConsent: typeof setConsent;
  identify: typeof identify;
}

/** A call for `window.sessionmark.q`: the name of an API function, then its arguments. */
export type QueuedCall = { [Name in keyof Sessionmark]: [Name, ...Parameters<Sessionmark[Name]>] }[keyof Sessionmark];

declare global {
  interface Window {
    /**
     * The script tag's API. A page may set it to `{ q: [] }` before the script
     * has run and queue calls there (they run in order when it starts); once it
     * has run, it holds the API and `q.push(call)` runs a call at once.
     */
    sessionmark?: (Sessionmark & { q: { push(call: QueuedCall): void } }) | { q: QueuedCall[] };
  }
}
