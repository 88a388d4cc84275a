// npm entry (ESM): import { init, getSessionId } from 'sessionmark'.
export {
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
} from './api.js';
