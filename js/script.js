// Script-tag entry: options from the tag's data- attributes, the API on
// window.sessionmark, and calls queued on window.sessionmark.q replayed.
import {
  init,
  track,
  screenView,
  setGlobalProperties,
  flush,
  getSessionId,
  getSessionHeaders,
  getAnonymousId,
  clear,
  getTracker,
  getEngagedTime,
  getEngagedTimeSeconds,
  setConsent,
  identify,
  initFrom,
} from './api.js';

// The npm exports (js/index.js), as a plain object: `import * as` would
// make esbuild build a namespace of getters with a helper (44 B brotli).
// tests/e2e/session.test.mjs checks the two lists agree.
const api = {
  init,
  track,
  screenView,
  setGlobalProperties,
  flush,
  getSessionId,
  getSessionHeaders,
  getAnonymousId,
  clear,
  getTracker,
  getEngagedTime,
  getEngagedTimeSeconds,
  setConsent,
  identify,
};

const script = document.currentScript;
const prior = window.sessionmark;

if (prior && prior.q && !Array.isArray(prior.q)) {
  // A second copy of the script: the first one tracks; this one must not
  // send every event again.
  console.warn('sessionmark: the script was loaded twice; the second copy does nothing');
} else {
  const queue = prior && Array.isArray(prior.q) ? prior.q : [];
  const options = {};

  if (script) {
    // dataset turns data-batch-size into batchSize: the option's own name.
    for (const key in script.dataset) options[key] = script.dataset[key];
  }

  // Calls pushed after start-up run at once (a late init() warns).
  const run = (call) => {
    const f = Array.isArray(call) && api[call[0]];
    if (f) return f.apply(null, call.slice(1));
    console.warn('sessionmark: unknown queued call', call);
  };
  const isInit = (call) => Array.isArray(call) && call[0] === 'init';

  // Options of a queued init() win over the data- attributes (options that
  // are not an object: the core warns about `init()`).
  for (const call of queue) {
    const o = isInit(call) ? call[1] : null;
    if (o != null) Object.assign(options, typeof o == 'object' && !Array.isArray(o) ? o : { 'init()': null });
  }

  window.sessionmark = Object.assign({}, api, { q: { push: run } });
  // The core puts the default endpoint on the script's own origin.
  initFrom(options, script && script.src);
  for (const call of queue) if (!isInit(call)) run(call);
}
