// The inputs the core takes (src/input.rs, `Code`: the same order), and
// the groups of page facts several of them carry.
export const Init = 0;
export const Consent = 1;
export const Stored = 2;
export const PageShown = 3;
export const PageView = 4;
export const Visibility = 5;
export const Focus = 6;
export const Interaction = 7;
export const Scroll = 8;
export const PageHide = 9;
export const PageRestore = 10;
export const Track = 11;
export const Globals = 12;
export const Flush = 13;
export const Clear = 14;
export const SessionIdRead = 15;
export const VisitorIdRead = 16;
export const TrackerRead = 17;
export const EngagedTimeRead = 18;
export const Sent = 19;
export const Beacon = 20;
export const Timer = 21;
export const Identify = 22;

/** Where the page is. */
export function page() {
  const l = location;
  return [l.pathname, l.search, l.hash, l.href, document.title, document.referrer];
}

/** How far the page is scrolled, and whether it is still loading. */
export function scroll() {
  // While loading the core ignores the depth, and reading the sizes would
  // force a style and layout pass (the script runs in <head>): zeros then.
  return document.readyState === 'loading'
    ? [0, 0, 0, true]
    : [scrollY, innerHeight, document.documentElement.scrollHeight, false];
}

/** Whether the page is visible, focused, prerendered. */
export function presence() {
  const d = document;
  return [d.visibilityState === 'visible', d.hasFocus(), !!d.prerendering];
}
