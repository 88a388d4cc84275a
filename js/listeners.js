// The page's listeners: each turns a DOM event into an input. One
// AbortController signal is on all of them, so withdrawn consent removes
// them all (the History API wrappers are put back with js/wrap.js).
import { guard, input } from './wasm.js';
import * as Input from './inputs.js';
import { page, presence, scroll } from './inputs.js';
import { keepFetch } from './transport.js';
import { wrap } from './wrap.js';

let controller;

const visible = () => document.visibilityState === 'visible';
// An automatic page view of the current URL (the core drops one of the
// URL already in view, and takes the global properties itself).
const view = () => input(Input.PageView, [...page(), ...scroll(), false, '', '']);
// The page is shown: at the start, and when a prerendered page is.
const shown = () => input(Input.PageShown, [...presence(), ...page(), ...scroll()]);

export function listen() {
  if (controller) return;
  keepFetch();
  controller = new AbortController();
  const on = (target, type, f) =>
    target.addEventListener(type, guard(f), { capture: true, passive: true, signal: controller.signal });
  // pagehide, not unload: an unload listener blocks the back/forward cache.
  on(window, 'pagehide', () => input(Input.PageHide, scroll()));
  on(window, 'pageshow', (e) => e.persisted && input(Input.PageRestore, [...presence(), ...scroll()]));
  on(document, 'visibilitychange', () => input(Input.Visibility, [visible()]));
  for (const type of ['focus', 'blur']) on(window, type, (e) => e.target === window && input(Input.Focus, [type === 'focus']));
  for (const type of ['pointerdown', 'keydown', 'touchstart']) on(window, type, () => input(Input.Interaction, []));
  // The user's scroll is activity; the load's depth once laid out is a
  // measurement, not activity.
  for (const type of ['scroll', 'load']) on(window, type, () => input(Input.Scroll, [...scroll(), type === 'scroll']));
  // SPA navigation: back/forward, hash changes (the core counts those only
  // with trackHashChanges), and the History API.
  for (const type of ['popstate', 'hashchange']) on(window, type, view);
  on(document, 'prerenderingchange', shown);
  for (const method of ['pushState', 'replaceState'])
    wrap(history, method, (original) => function () {
      const result = original.apply(this, arguments);
      guard(view)();
      return result;
    });
  shown();
}

export function unlisten() {
  if (controller) controller.abort();
}
