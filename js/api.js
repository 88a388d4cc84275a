// The public API: each call is one input to the core (js/inputs.js), whose
// answer it returns. Before init(), and while consent is pending, the
// getters return null.
import { guard, input } from './wasm.js';
import * as Input from './inputs.js';
import { page, scroll } from './inputs.js';
import { propsFields, resetGlobals, setGlobals } from './props.js';
import { HEADER } from './tracing.js';
import { settled, start } from './transport.js';

// A value the core takes only as a string: its `typeof`, and the value if
// it is one (the core refuses anything else with a warning).
const typed = (v) => [typeof v, typeof v === 'string' ? v : ''];

// URLSearchParams, a query string or a plain object -> a query string.
const query = (p) => (p == null ? '' : new URLSearchParams(p).toString());

// Options as the core reads them: `name=value` lines, values written the
// way data- attributes are (arrays comma-joined, no line breaks). A value
// of another type (an object, a function, null) goes as its name alone,
// and options that are not an object as `init()`: the core warns.
const oneLine = (s) => String(s).replace(/\n/g, ' ');
const optionLines = (o) =>
  typeof o != 'object' || Array.isArray(o)
    ? 'init()'
    : Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .map((k) => {
          const v = o[k];
          const t = typeof v;
          return (
            oneLine(k) +
            (Array.isArray(v)
              ? '=' + oneLine(v.map(String).join(','))
              : t == 'string' || t == 'number' || t == 'boolean'
                ? '=' + oneLine(v)
                : '')
          );
        })
        .join('\n');

/** init() for the script tag, whose `src` gives the default endpoint's origin. */
export const initFrom = guard((options, scriptSrc) => {
  const l = location;
  input(Input.Init, [l.search, l.hostname, l.protocol, scriptSrc || '', optionLines(options == null ? {} : options)]);
});

/** Starts the tracker (once per page). */
export const init = (options) => initFrom(options);

/**
 * With requireConsent: true starts the tracker and runs the held calls;
 * false drops them, and after a grant stops tracking, sending and the
 * tracing headers on this page and removes what the tracker stored.
 */
export const setConsent = guard((granted) => {
  input(Input.Consent, [typeof granted, granted === true]);
});

/** A page view of the current URL, with optional properties (SPA routers that do not use history). */
export const screenView = guard((props) => {
  input(Input.PageView, [...page(), ...scroll(), true, ...propsFields(props)]);
});

/** Engaged time of the current page view (visible and focused), ms; null before init(). */
export const getEngagedTime = guard(() => input(Input.EngagedTimeRead, []), null);

/** getEngagedTime() in whole seconds. */
export const getEngagedTimeSeconds = guard(() => {
  const ms = input(Input.EngagedTimeRead, []);
  return ms == null ? null : Math.floor(ms / 1000);
}, null);

/** Tracks an event with optional properties (a JSON-able object). */
export const track = guard((name, props) => {
  input(Input.Track, [...page(), ...propsFields(props), ...typed(name)]);
});

/** Links later events to the site's own user id (a string of 1..256 bytes), kept across reloads until clear(). */
export const identify = guard((userId) => {
  input(Input.Identify, typed(userId));
});

/** Properties merged into every later event (replaces earlier ones). */
export const setGlobalProperties = guard((props) => {
  input(Input.Globals, setGlobals(props));
});

/** Sends everything queued now; resolves when it was delivered or kept for a later retry. */
export const flush = guard(() => {
  input(Input.Flush, []);
  start();
  return settled();
}, Promise.resolve());

/** The session id to forward as X-Session-ID; null before init(). */
export const getSessionId = guard((params) => input(Input.SessionIdRead, [query(params)]), null);

/** `{ 'X-Session-ID': id }` for your own requests' headers; `{}` before init() or without consent. */
export const getSessionHeaders = () => {
  const id = getSessionId();
  return id ? { [HEADER]: id } : {};
};

/** The visitor id; null before init(). */
export const getAnonymousId = guard((params) => input(Input.VisitorIdRead, [query(params)]), null);

/** Logout: new visitor and session ids; the ids, session keys, cookies and global properties are replaced. */
export const clear = guard(() => {
  resetGlobals();
  input(Input.Clear, scroll());
});

/** Page count and session start of this tab; null before init(). */
export const getTracker = guard(() => {
  const answer = input(Input.TrackerRead, []);
  return answer && { pageCount: answer[0], sessionStartTime: answer[1], getEngagedTime, getEngagedTimeSeconds };
}, null);
