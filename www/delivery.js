// Test page for delivery (tests/e2e/delivery.test.mjs): starts the ES module
// build with options read from this page's query string and exposes the API
// on window.sm. A module file, not an inline script: the page runs under
// script-src 'self' 'wasm-unsafe-eval'.
import { init, track, flush, getSessionId, getAnonymousId, setGlobalProperties } from '/dist/sessionmark.mjs';

const q = new URLSearchParams(location.search);
const options = {};
if (q.has('clientId')) options.clientId = q.get('clientId');
if (q.has('endpoint')) options.endpoint = q.get('endpoint');
for (const name of ['batchSize', 'batchTimeout']) {
  if (q.has(name)) options[name] = Number(q.get(name));
}
if (q.has('enableBatching')) options.enableBatching = q.get('enableBatching') !== 'false';

init(options);

window.sm = { init, track, flush, getSessionId, getAnonymousId, setGlobalProperties, options };
document.getElementById('status').textContent = `started with ${JSON.stringify(options)}`;
