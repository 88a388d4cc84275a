// tracingHeaders: X-Session-ID on fetch and XHR requests to the listed
// hosts (exact `host` or `host:port`), nothing else of a request touched.
import { input } from './wasm.js';
import { SessionIdRead } from './inputs.js';
import { keepFetch } from './transport.js';
import { wrap } from './wrap.js';

export const HEADER = 'X-Session-ID';
let tracing;

/** Wraps fetch and XHR for `hosts` (the core's `trace` command); js/wrap.js puts them back. */
export function trace(hosts) {
  if (tracing || !hosts.length) return;
  tracing = true;
  // Relative URLs resolve against the document base, as fetch and XHR do;
  // anything that is no URL (or throws when read as text) is not traced.
  const wanted = (url) => {
    try {
      return hosts.includes(new URL(url, document.baseURI).host);
    } catch (e) {
      return false;
    }
  };
  const sessionId = () => input(SessionIdRead, ['']);
  // The tracker's own batches go through the fetch as it was before.
  keepFetch();
  wrap(window, 'fetch', (pageFetch) => function (resource, init) {
    try {
      // Duck-typed: a Request from another realm (an iframe) is one too.
      const isRequest =
        resource != null && typeof resource === 'object' && typeof resource.url === 'string' && resource.headers != null;
      const id = wanted(isRequest ? resource.url : resource) && sessionId();
      if (id) {
        // Headers given in init replace the Request's own, so start
        // from whichever the browser would have used; a value the page
        // set itself stays.
        const headers = new Headers(
          init && init.headers !== undefined ? init.headers : isRequest ? resource.headers : undefined,
        );
        if (!headers.has(HEADER)) {
          headers.set(HEADER, id);
          // Every other field is read through to the caller's init,
          // inherited ones included.
          init = Object.create(init != null && typeof init === 'object' ? init : null, {
            headers: { value: headers, enumerable: true },
          });
        }
      }
    } catch (e) {}
    return pageFetch.call(this, resource, init);
  });
  const xhr = XMLHttpRequest.prototype;
  const setHeader = xhr.setRequestHeader;
  // Per request: true while it is to be traced; false for another host,
  // or once the page set the header itself (XHR appends repeated headers:
  // never a second value).
  const traced = new WeakMap();
  wrap(xhr, 'open', (open) => function (method, url) {
    try {
      traced.set(this, wanted(url));
    } catch (e) {}
    return open.apply(this, arguments);
  });
  wrap(xhr, 'setRequestHeader', (set) => function (name) {
    try {
      if (String(name).toLowerCase() === 'x-session-id') traced.set(this, false);
    } catch (e) {}
    return set.apply(this, arguments);
  });
  wrap(xhr, 'send', (send) => function () {
    try {
      const id = traced.get(this) && sessionId();
      if (id) setHeader.call(this, HEADER, id);
    } catch (e) {}
    return send.apply(this, arguments);
  });
}
