// One bulk request to the collector and what its answer means for the
// events in it: delivered, retry (when), or dropped (why). Fetch only.

/** First retry after this long; each further one doubles it. */
export const RETRY_BASE_MS = 500;
/** Longest wait between two attempts (Retry-After included). */
export const RETRY_CAP_MS = 30_000;
/** Attempts of one request before its events are given up. */
export const MAX_ATTEMPTS = 10;
/** A request that has not answered after this long counts as a network error. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The wait before attempt `attempt + 1` (attempt 1 failed: about
 * RETRY_BASE_MS): doubling, capped, jittered to 50-100 % so that many
 * servers retrying after one outage do not arrive together.
 */
export function backoffMs(attempt, random = Math.random) {
  const full = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 30));
  return Math.round(full * (0.5 + 0.5 * random()));
}

/** A `Retry-After` value (seconds, or an HTTP date) in ms from `nowMs`, or null. */
export function retryAfterMs(value, nowMs) {
  if (typeof value !== 'string' || value === '') return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

// The request timeout uses AbortSignal.timeout where it exists (Node 17.3+,
// Deno, Bun, workers): it needs no timer of ours, so a pending request's
// timeout never keeps a process alive on its own.
function timeoutSignal() {
  try {
    return typeof AbortSignal !== 'undefined' && typeof AbortSignal.timeout === 'function'
      ? AbortSignal.timeout(REQUEST_TIMEOUT_MS)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * POSTs `body` to `url` and reads the answer. Never rejects. Resolves to
 * one of:
 * - `{ ok: true, rejected }`: stored; `rejected` the collector's list of
 *   `{ index, reason }` it refused (not worth resending);
 * - `{ retry: true, status, after }`: network error, timeout, 408, 429 or
 *   5xx; `after` the server's Retry-After in ms (429 and 503), or null;
 * - `{ tooLarge: true }`: 413, the body must be split;
 * - `{ drop: why }`: any other answer; resending would fail the same way.
 */
export async function postBatch(url, headers, body, nowMs) {
  let res;
  try {
    const f = globalThis.fetch;
    if (typeof f !== 'function') return { drop: 'this runtime has no global fetch' };
    res = await f(url, { method: 'POST', headers, body, signal: timeoutSignal() });
  } catch (e) {
    return { retry: true, status: 0, why: (e && (e.cause?.code || e.name)) || 'network error', after: null };
  }
  const status = res.status;
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the answer's body is not needed to judge it
  }
  if (status >= 200 && status < 300) {
    let rejected = [];
    try {
      const answer = JSON.parse(text);
      if (answer && Array.isArray(answer.rejected)) rejected = answer.rejected;
    } catch {
      // a 2xx without the usual JSON still means stored
    }
    return { ok: true, rejected };
  }
  if (status === 408 || status === 429 || status >= 500) {
    const after = status === 429 || status === 503 ? retryAfterMs(res.headers.get('retry-after'), nowMs()) : null;
    return { retry: true, status, why: `HTTP ${status}`, after };
  }
  if (status === 413) return { tooLarge: true };
  let detail = '';
  try {
    const e = JSON.parse(text);
    if (e && typeof e.error === 'string') detail = `: ${e.error.slice(0, 200)}`;
  } catch {
    // no detail
  }
  const hint = status === 401 || status === 403 ? ' (check the key: createClient({ key }))' : '';
  return { drop: `the collector answered HTTP ${status}${detail}${hint}` };
}
