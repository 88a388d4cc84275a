// npm entry (ESM): import { init, getSessionId } from 'sessionmark'.
export { init, getSessionId, getAnonymousId, clear, getTracker } from './shim.js';
