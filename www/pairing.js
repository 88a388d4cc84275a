// Test page for backend pairing (tests/e2e/pairing.test.mjs): tracing
// headers, the ss_sid / ss_vid cookies, sealing and consent. Options come
// from the query string, because the collector's host:port (what
// tracingHeaders must list) is only known at run time:
//   clientId=x            the client id
//   trace=h1:p1,h2:p2     tracingHeaders
//   consent=1             requireConsent: true
//   refuse=1              setConsent(false) before init()
//   batchSize, batchTimeout, enableBatching
//   tracker=0             load no tracker at all (the baseline page)
// The API is window.sm (the module namespace; null without a tracker);
// window.pairingReady is true once it is set. A module file, not an inline
// script: the page runs under script-src 'self' 'wasm-unsafe-eval'.
const q = new URLSearchParams(location.search);
const status = document.getElementById('status');

if (q.get('tracker') === '0') {
  window.sm = null;
  status.textContent = 'no tracker on this page';
} else {
  // Imported only here, so the baseline page has no tracker code at all.
  const sm = await import('/dist/sessionmark.mjs');
  const options = {};
  if (q.has('clientId')) options.clientId = q.get('clientId');
  if (q.has('trace')) options.tracingHeaders = q.get('trace').split(',').filter(Boolean);
  if (q.get('consent') === '1') options.requireConsent = true;
  for (const name of ['batchSize', 'batchTimeout']) {
    if (q.has(name)) options[name] = Number(q.get(name));
  }
  if (q.has('enableBatching')) options.enableBatching = q.get('enableBatching') !== 'false';
  if (q.get('refuse') === '1') sm.setConsent(false);
  sm.init(options);
  window.sm = sm;
  status.textContent = `started with ${JSON.stringify(options)}`;
}
window.pairingReady = true;
