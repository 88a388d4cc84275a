// The collector's read API as the dashboard uses it: same origin, the read
// key as `Authorization: Bearer`, and every failure turned into a sentence
// a site owner can act on.
import { isUsableKey } from './location.js';

/** A failed read: `message` is what the page shows. */
export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export const NEEDS_KEY = 'this dashboard needs the read key: open the URL npm start printed (it ends with #key=...)';
export const WRONG_KEY = 'the read key in this tab is not the collector\'s: open the URL npm start printed (it ends with #key=...)';

/** What the page says for an answer that is not 2xx. */
export function explainStatus(status, serverMessage, path, hasKey) {
  if (status === 401 || status === 403) return hasKey ? WRONG_KEY : NEEDS_KEY;
  const route = path.split('?')[0];
  if (status === 404) return `this collector has no ${route} route: run the current collector (npm start builds it)`;
  const detail = serverMessage ? `: ${serverMessage}` : '';
  if (status === 400) return `the collector refused the request${detail}`;
  if (status === 429) return 'the collector asks to slow down (429); the next refresh tries again';
  return `the collector answered ${status} for ${route}${detail}`;
}

/**
 * `get(path)` resolves to the parsed JSON of a 2xx answer, or rejects with
 * an ApiError; `getPage(path)` also gives the paging cursor. `getKey()` is
 * read on every request, so a key stored later counts at the next refresh.
 */
export function createApi({ getKey, fetchImpl = (...a) => fetch(...a) } = {}) {
  async function request(path) {
    const key = getKey ? getKey() : null;
    const hasKey = isUsableKey(key);
    const headers = { accept: 'application/json' };
    if (hasKey) headers.authorization = `Bearer ${key}`;
    let res;
    try {
      res = await fetchImpl(path, { headers, cache: 'no-store', credentials: 'omit' });
    } catch {
      throw new ApiError(`cannot reach the collector (${path.split('?')[0]}): is it running?`);
    }
    const text = await res.text().catch(() => '');
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!res.ok) {
      const serverMessage = body && typeof body.error === 'string' ? body.error : '';
      throw new ApiError(explainStatus(res.status, serverMessage, path, hasKey), res.status);
    }
    if (body === null) throw new ApiError(`the collector's answer to ${path.split('?')[0]} is not JSON`, res.status);
    return { body, headers: res.headers };
  }
  return {
    get: async (path) => (await request(path)).body,
    /** A paged read (contract of `GET /v1/events`): `{ body, next }`, `next` the cursor or null. */
    getPage: async (path) => {
      const { body, headers } = await request(path);
      return { body, next: headers.get('x-next-cursor') || null };
    },
  };
}

/** The query string of a read: only the parameters that are set. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
