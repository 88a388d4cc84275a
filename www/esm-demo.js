// The npm way in, as a bundler-free module import of the built ESM bundle.
import { init, getSessionId, getAnonymousId, clear, getTracker } from '/dist/sessionmark.mjs';

init({ clientId: 'demo-esm' });

// For the end-to-end tests and for poking at it from the console.
window.sm = { init, getSessionId, getAnonymousId, clear, getTracker };
