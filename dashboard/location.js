// What the dashboard keeps in its URL fragment, and its read key.
//
// The fragment is never sent to the server, which is why the key travels
// in it (`/dashboard.html#key=...`, the URL `npm start` prints). The key is
// moved to sessionStorage (this tab only) and taken out of the visible URL
// at once, so a copied link or a screenshot does not leak it. The rest of
// the fragment is the view (`site`, `range`, `from`, `to`, `session`), so a
// reload or a shared link shows the same thing.
//
// Any fragment is survivable: malformed percent escapes, unknown names and
// odd values are ignored, never thrown.

export const KEY_STORAGE = 'sessionmark_read_key';
const VIEW_FIELDS = ['site', 'range', 'from', 'to', 'session'];
const MAX_FIELD = 512;

/** Name/value pairs of a fragment ("#a=1&b=2"); bad escapes are kept as written. */
export function parseFragment(hash) {
  const out = new Map();
  const text = typeof hash === 'string' ? hash.replace(/^#/, '') : '';
  for (const part of text.split('&')) {
    if (!part) continue;
    const at = part.indexOf('=');
    const name = decode(at < 0 ? part : part.slice(0, at));
    const value = at < 0 ? '' : decode(part.slice(at + 1));
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

function decode(s) {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** The view named by a fragment: only known fields, of sane length. */
export function viewOf(fields) {
  const view = {};
  for (const name of VIEW_FIELDS) {
    const v = fields.get(name);
    if (typeof v === 'string' && v && v.length <= MAX_FIELD) view[name] = v;
  }
  return view;
}

/** The fragment of a view ("#range=7d&site=shop"), or "" when it is empty. */
export function fragmentOf(view) {
  const parts = [];
  for (const name of VIEW_FIELDS) {
    const v = view[name];
    if (typeof v === 'string' && v) parts.push(`${name}=${encodeURIComponent(v)}`);
  }
  return parts.length ? `#${parts.join('&')}` : '';
}

/** A bearer token is visible ASCII without spaces; anything else cannot go in a header. */
export function isUsableKey(key) {
  return typeof key === 'string' && /^[\x21-\x7e]{1,4096}$/.test(key);
}

/**
 * Reads the page's fragment once at start: moves a `key` into
 * sessionStorage, rewrites the URL without it, and returns the view and
 * the key to use (the stored one when the URL has none).
 * `win` is the window (a parameter for the tests).
 */
export function takeLocation(win) {
  const fields = parseFragment(win.location.hash);
  const view = viewOf(fields);
  let key = null;
  if (fields.has('key')) {
    key = fields.get('key');
    try {
      win.sessionStorage.setItem(KEY_STORAGE, key);
    } catch {
      // storage refused (private mode, quota): the key lives in memory only
    }
  } else {
    try {
      key = win.sessionStorage.getItem(KEY_STORAGE);
    } catch {
      key = null;
    }
  }
  showView(win, view);
  return { view, key };
}

/** Writes the view into the URL (no history entry, never the key). */
export function showView(win, view) {
  try {
    const { pathname, search } = win.location;
    win.history.replaceState(win.history.state, '', `${pathname}${search}${fragmentOf(view)}`);
  } catch {
    // a sandboxed document may refuse; the view still works
  }
}
