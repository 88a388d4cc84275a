// Script-tag entry: options from the tag's data- attributes, the API on
// window.sessionmark, and calls queued on window.sessionmark.q replayed.
import * as api from './shim.js';

const script = document.currentScript;
const prior = window.sessionmark;
const queue = prior && Array.isArray(prior.q) ? prior.q : [];
const options = {};

if (script) {
  // dataset turns data-batch-size into batchSize: the option's own name.
  for (const key in script.dataset) options[key] = script.dataset[key];
  // endpoint defaults to /v1/batch on the script's own origin.
  if (!options.endpoint && script.src) options.endpoint = new URL('/v1/batch', script.src).href;
}

function run(call) {
  const f = Array.isArray(call) && call[0] !== 'init' && api[call[0]];
  if (f) return f.apply(null, call.slice(1));
  if (!Array.isArray(call) || call[0] !== 'init') console.warn('sessionmark: unknown queued call', call);
}

// Options of a queued init() win over the data- attributes.
for (const call of queue) if (Array.isArray(call) && call[0] === 'init') Object.assign(options, call[1]);

// Calls pushed after start-up run at once.
window.sessionmark = Object.assign({}, api, { q: { push: run } });
api.init(options);
for (const call of queue) run(call);
