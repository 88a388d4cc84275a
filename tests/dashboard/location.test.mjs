// The dashboard's URL fragment: the read key and the view (dashboard/location.js).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_STORAGE, fragmentOf, isUsableKey, parseFragment, takeLocation, viewOf } from '../../dashboard/location.js';

function fakeWindow(url, stored = {}) {
  const u = new URL(url);
  const storage = new Map(Object.entries(stored));
  const win = {
    location: { pathname: u.pathname, search: u.search, hash: u.hash },
    history: {
      state: null,
      replaceState: (_s, _t, next) => {
        win.shown = next;
      },
    },
    sessionStorage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v) },
    storage,
    shown: null,
  };
  return win;
}

describe('dashboard location', () => {
  it('a key in the fragment is stored for the tab and taken out of the URL', () => {
    const win = fakeWindow('http://c.example/dashboard.html?x=1#key=abcdefghijklmnop1234&range=30d');
    const { key, view } = takeLocation(win);
    assert.equal(key, 'abcdefghijklmnop1234');
    assert.equal(win.storage.get(KEY_STORAGE), 'abcdefghijklmnop1234');
    assert.equal(win.shown, '/dashboard.html?x=1#range=30d');
    assert.deepEqual(view, { range: '30d' });
  });

  it('without a key in the URL the stored one is used', () => {
    const win = fakeWindow('http://c.example/dashboard.html', { [KEY_STORAGE]: 'storedkeystoredkey' });
    assert.equal(takeLocation(win).key, 'storedkeystoredkey');
    assert.equal(win.shown, '/dashboard.html');
  });

  it('a malformed fragment is survived: bad escapes kept as written, unknown names dropped', () => {
    const fields = parseFragment('#%E0%A4%A&key=%ZZ&&=x&session=sess_1&session=second&range');
    assert.equal(fields.get('key'), '%ZZ');
    assert.equal(fields.get('session'), 'sess_1');
    assert.deepEqual(viewOf(fields), { session: 'sess_1' });
    assert.deepEqual(viewOf(parseFragment(`#site=${'a'.repeat(600)}`)), {});
    assert.doesNotThrow(() => takeLocation(fakeWindow('http://c.example/d.html#%%%&key')));
  });

  it('storage that throws leaves the key in memory', () => {
    const win = fakeWindow('http://c.example/d.html#key=abcdefghijklmnopq');
    win.sessionStorage.setItem = () => {
      throw new Error('quota');
    };
    assert.equal(takeLocation(win).key, 'abcdefghijklmnopq');
  });

  it('the view round-trips through the fragment', () => {
    const view = { site: 'my shop', range: 'custom', from: '2026-03-01', to: '2026-03-09', session: 'sess_x' };
    assert.deepEqual(viewOf(parseFragment(fragmentOf(view))), view);
    assert.equal(fragmentOf({}), '');
  });

  it('only a visible-ASCII key goes into the Authorization header', () => {
    assert.ok(isUsableKey('abc-DEF_123.~'));
    for (const bad of ['', 'has space', 'ключ', 'a\nb', null, 42]) assert.ok(!isUsableKey(bad), String(bad));
  });
});
