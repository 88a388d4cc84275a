// Server-side rendering: the npm build (dist/sessionmark.mjs) imported in
// plain Node, where there is no window and no document. Every API call does
// nothing and answers as before init(), nothing throws, and there is one
// clear console warning in all (README "API").
// Needs the build (node scripts/build.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { repoRoot } from '../e2e/harness.mjs';

test('imported in Node, init() and every API call do nothing, with one warning in all', async () => {
  assert.equal(typeof window, 'undefined');
  assert.equal(typeof document, 'undefined');
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.map(String).join(' '));
  try {
    const sm = await import(pathToFileURL(join(repoRoot, 'dist', 'sessionmark.mjs')).href);
    const answers = {
      init: sm.init({ clientId: 'ssr', requireConsent: false }),
      setConsent: sm.setConsent(true),
      track: sm.track('rendered', { on: 'server' }),
      screenView: sm.screenView({ a: 1 }),
      setGlobalProperties: sm.setGlobalProperties({ plan: 'pro' }),
      identify: sm.identify('user-1'),
      flush: await sm.flush(),
      getSessionId: sm.getSessionId('sessionId=x'),
      getSessionHeaders: sm.getSessionHeaders(),
      getAnonymousId: sm.getAnonymousId(),
      clear: sm.clear(),
      getTracker: sm.getTracker(),
      getEngagedTime: sm.getEngagedTime(),
      getEngagedTimeSeconds: sm.getEngagedTimeSeconds(),
    };
    assert.deepEqual(Object.keys(answers).sort(), Object.keys(sm).sort(), 'every export is called');
    assert.deepEqual(answers, {
      init: undefined,
      setConsent: undefined,
      track: undefined,
      screenView: undefined,
      setGlobalProperties: undefined,
      identify: undefined,
      flush: undefined,
      getSessionId: null,
      getSessionHeaders: {},
      getAnonymousId: null,
      clear: undefined,
      getTracker: null,
      getEngagedTime: null,
      getEngagedTimeSeconds: null,
    });
    // The same again: still nothing, and no second warning.
    sm.init();
    sm.track('again');
    assert.deepEqual(warnings, ['sessionmark: no document here (server-side rendering?); the tracker does nothing']);
  } finally {
    console.warn = warn;
  }
});
