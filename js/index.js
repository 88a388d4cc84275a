// npm entry (ESM): import { init, getSessionId } from 'sessionmark'.
export { init, track, setGlobalProperties, flush, getSessionId, getAnonymousId, clear, getTracker } from './shim.js';
